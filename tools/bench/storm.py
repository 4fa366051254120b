"""Reconnect storm: N phones' contact-center links (the firmware's own CcConnection) logged in
to a real ccsim; ccsim is killed (-9) and started again; every link reconnects and resyncs.

Prints the peak connection rate ccsim saw (its /api/stats counter, sampled every 0.1 s), the
peak rate of attempts the phones made (refused ones too, while ccsim was down), and how long
after ccsim was back all N had their snapshot: with the firmware's jittered backoff, and with
the same backoff without jitter, for comparison.

Here the N links share one process and ccsim the same 2 cores, so the process itself spreads
what it sends (a handshake costs CPU): the rates measured at ccsim flatten either way. So the
bench also prints the attempts as the backoff scheduled them (when each link meant to try
again), which is what N separate phones would send.
"""
from __future__ import annotations

import asyncio
import json
import tempfile
import time
import urllib.request
from pathlib import Path

from firmware.cc.connection import Backoff, CcConnection
from firmware.core import effects as fx
from firmware.core import events as ev
from tools.lab import Ccsim, free_port

from .table import table


def scenario(n: int) -> str:
    agents = "\n".join(
        f'[[agents]]\nid = "a{i:04d}"\nname = "Agent {i}"\npin = "1"\nteam = "T"\n'
        f'extension = "sip:a{i:04d}@127.0.0.1:5062"\nqueues = ["q"]\n' for i in range(n))
    return ('[settings]\nrona_s = 30\n[[queues]]\nname = "q"\n'
            '[[idle_codes]]\ncode = "break"\nlabel = "Break"\n'
            '[[wrapup_codes]]\ncode = "done"\nlabel = "Done"\n'
            + ''.join(f'[[layout]]\nname = "v{i}"\nlabel = "V{i}"\n' for i in range(3)) + agents)


class RecordingBackoff(Backoff):
    """The firmware's backoff, noting when each wait ends (the attempt it schedules)."""

    def __init__(self, scheduled: list, **kw):
        super().__init__(**kw)
        self._scheduled = scheduled

    def next(self) -> float:
        wait = super().next()
        self._scheduled.append(time.monotonic() + wait)
        return wait


def _stats(ccsim: Ccsim) -> dict:
    with urllib.request.urlopen(ccsim.api + "/stats", timeout=2) as r:
        return json.loads(r.read())


async def _storm(ccsim: Ccsim, n: int, jitter: bool, down_s: float) -> list:
    synced: dict[int, int] = {}
    want = [1]
    all_synced = asyncio.Event()

    def post_for(i):
        def post(event):
            if isinstance(event, ev.CcSnapshot):
                synced[i] = synced.get(i, 0) + 1
                if sum(1 for v in synced.values() if v >= want[0]) >= n:
                    all_synced.set()
        return post

    links, scheduled = [], []
    for i in range(n):
        backoff = (RecordingBackoff(scheduled) if jitter
                   else RecordingBackoff(scheduled, rng=lambda: 1.0))
        link = CcConnection(ccsim.ws_url, post_for(i), backoff=backoff)
        links.append(link)
        link.start()
        link.request(fx.CcLogin(f"a{i:04d}", "1"))
    await asyncio.wait_for(all_synced.wait(), 120)

    want[0], all_synced = 2, asyncio.Event()
    phone_samples = []                             # (t, attempts made by all phones)
    server_samples = []                            # (t, connects_total seen by ccsim)

    async def sample_phones():
        while True:
            phone_samples.append((time.monotonic(), sum(link.connects for link in links)))
            await asyncio.sleep(0.02)

    sampler = asyncio.get_running_loop().create_task(sample_phones())
    scheduled.clear()
    await asyncio.to_thread(ccsim.kill)
    await asyncio.sleep(down_s)
    await asyncio.to_thread(ccsim.start)
    t_back = time.monotonic()
    while not all_synced.is_set():
        try:
            stats = await asyncio.to_thread(_stats, ccsim)
            server_samples.append((time.monotonic(), stats["connects_total"]))
        except OSError:
            pass
        try:
            await asyncio.wait_for(all_synced.wait(), 0.1)
        except TimeoutError:
            if time.monotonic() - t_back > 60:
                raise RuntimeError(f"only {sum(1 for v in synced.values() if v >= 2)} of {n} "
                                   "resynced within 60 s") from None
    t_all = time.monotonic()
    server_samples.append((t_all, (await asyncio.to_thread(_stats, ccsim))["connects_total"]))
    sampler.cancel()
    for link in links:
        await link.stop()
    return ["full jitter" if jitter else "none (for comparison)", n,
            round(_peak(server_samples, 0.1)), round(_peak(server_samples, 1.0)),
            round(_peak(phone_samples, 0.1)),
            round(_peak_scheduled([t for t in scheduled if t_back <= t <= t_all], 0.1)),
            t_all - t_back]


def _peak_scheduled(times: list[float], window: float) -> float:
    """The most attempts scheduled within any ``window`` seconds, per second."""
    times = sorted(times)
    most, j = 0, 0
    for i, t in enumerate(times):
        while times[j] < t - window:
            j += 1
        most = max(most, i - j + 1)
    return most / window


def _peak(samples, window: float) -> float:
    """The highest rate (per second) over any ``window`` seconds of (time, count) samples."""
    peak = 0.0
    for i, (t0, c0) in enumerate(samples):
        for t1, c1 in samples[i + 1:]:
            if t1 - t0 >= window:
                peak = max(peak, (c1 - c0) / (t1 - t0))
                break
    return peak


def run(n: int = 1000, down_s: float = 3.0) -> str:
    rows = []
    for jitter in (True, False):
        work = Path(tempfile.mkdtemp(prefix="bench-storm-"))
        (work / "scenario.toml").write_text(scenario(n))
        ccsim = Ccsim(work, work / "scenario.toml", free_port())
        ccsim.start()
        try:
            rows.append(asyncio.run(_storm(ccsim, n, jitter, down_s)))
        finally:
            ccsim.stop()
    return table(f"Reconnect storm: {n} phone links, ccsim killed, "
                 f"started again {down_s:g} s later",
                 ["jitter", "phones", "peak connects/s at ccsim (0.1 s window)",
                  "(1 s window)", "peak attempts/s by phones (0.1 s)",
                  "peak attempts/s as scheduled, ccsim back (0.1 s)",
                  "all resynced after ccsim back, s"],
                 rows)
