"""Resident memory of the phone process under random key presses on its service console.

In service (the default) the phone is logged in to ccsim and registered to Kamailio, and a
customer calls every few seconds, so the random presses also accept, hold, end and wrap up
calls (with the mic sending), change states and miss offers; ``standalone`` runs the phone
with neither. The sim board runs without its board page unless ``page``: the page's web server
is a development aid the device does not have."""
from __future__ import annotations

import random
import time

import psutil

from hal.keypad import KEY_NAMES
from tools import simphone

from .table import table

GOAL_MB = 60
PRESSES_PER_S = 8
AVAILABLE_EVERY_S = 5      # in service: back to the home screen, State -> Available
TO_AVAILABLE = ("back", "back", "back", "soft1", "1")
LOG_IN = ("back", "back", "back", "soft1", "1", "0", "0", "1", "ok", "1", "2", "3", "4", "ok")


def _press_randomly(desk, seconds: float, sample_every: float, proc, samples,
                    in_service: bool) -> int:
    rng = random.Random(42)
    keys = list(KEY_NAMES)
    t0 = time.monotonic()
    next_sample = next_available = t0
    presses = 0
    while (now := time.monotonic()) - t0 < seconds:
        if now >= next_sample:
            samples.append((now - t0, *_mb(proc)))
            next_sample += sample_every
        taps = [rng.choice(keys)]
        if in_service and now >= next_available:     # so customers keep calling
            logged_out = desk.status()["agent"] == "LOGGED_OUT"   # a random Out did that
            taps = LOG_IN if logged_out else TO_AVAILABLE
            next_available += AVAILABLE_EVERY_S
        desk.key(*taps)                               # each one answered once handled
        presses += len(taps)
        time.sleep(1 / PRESSES_PER_S)
    samples.append((time.monotonic() - t0, *_mb(proc)))
    return presses


def _mb(proc) -> tuple[float, float]:
    """RSS, and USS: the pages only this process holds (RSS also counts shared library code,
    e.g. baresip's and OpenSSL's, which the kernel can drop and read back from the files)."""
    info = proc.memory_full_info()
    return info.rss / 2**20, info.uss / 2**20


def run(minutes: float, standalone: bool = False, page: bool = False) -> str:
    import tempfile

    from tools.lab import Desk, Lab
    lab = None
    page_port = 0 if page else None
    if standalone:
        phone = simphone.start(page_port=page_port)
    else:
        lab = Lab(tempfile.mkdtemp(prefix="bench-memory-"), traffic_every_s=3,
                  settings={"rona_s": 6}).start()
        phone = lab.phone("1001", page_port=page_port)
    desk = Desk(phone)
    try:
        proc = psutil.Process(phone.pid)
        start_mb, start_uss = _mb(proc)
        samples: list[tuple[float, float, float]] = []
        seconds = minutes * 60
        presses = _press_randomly(desk, seconds, max(5.0, seconds / 10), proc, samples,
                                  not standalone)
        alive = phone.proc.poll() is None
        offers = lab.ccsim.call("GET", "/stats")["offers"] if lab else 0
    finally:
        desk.close()
        phone.stop()
        if lab:
            lab.stop()
    rows = [[f"{t:.0f}", rss, uss] for t, rss, uss in samples]
    half = len(samples) // 2
    first, second = samples[: half or 1], samples[half:]
    drift = max(s[1] for s in second) - max(s[1] for s in first)
    uss_drift = max(s[2] for s in second) - max(s[2] for s in first)
    where = "standalone" if standalone else f"in service, {offers} offers from ccsim"
    where += ", with the board page" if page else ", no board page (as on the device)"
    summary = table(f"Memory: phone process RSS under {presses} random console key presses "
                    f"over {minutes:g} min ({where})",
                    ["", "at READY MB", "end MB", "max MB", "2nd half max - 1st half max MB",
                     "goal MB", "phone alive"],
                    [["RSS", start_mb, samples[-1][1], max(s[1] for s in samples), drift,
                      GOAL_MB, "yes" if alive else "NO"],
                     ["USS", start_uss, samples[-1][2], max(s[2] for s in samples), uss_drift,
                      "", ""]])
    return table("Memory samples", ["t s", "RSS MB", "USS MB"], rows) + "\n" + summary
