"""Resident memory of the phone process under random key presses from its board page."""
from __future__ import annotations

import asyncio
import json
import random
import time

import aiohttp
import psutil

from hal.keypad import KEY_NAMES
from tools import simphone

from .table import table

GOAL_MB = 60
PRESSES_PER_S = 8


async def _press_randomly(url: str, seconds: float, sample_every: float, proc, samples):
    rng = random.Random(42)
    keys = [k for k in KEY_NAMES if k not in ("volup", "voldown")] + ["volup", "voldown"]
    async with aiohttp.ClientSession() as s, s.ws_connect(url.rstrip("/") + "/ws") as ws:
        t0 = time.monotonic()
        next_sample = t0
        presses = 0
        while (now := time.monotonic()) - t0 < seconds:
            if now >= next_sample:
                samples.append((now - t0, proc.memory_info().rss / 2**20))
                next_sample += sample_every
            await ws.send_str(json.dumps({"tap": rng.choice(keys)}))
            presses += 1
            # drain pushed state so the socket buffer stays small
            try:
                while True:
                    await asyncio.wait_for(ws.receive(), 0.001)
            except asyncio.TimeoutError:
                pass
            await asyncio.sleep(1 / PRESSES_PER_S)
        samples.append((time.monotonic() - t0, proc.memory_info().rss / 2**20))
        return presses


def run(minutes: float) -> str:
    phone = simphone.start()
    try:
        proc = psutil.Process(phone.pid)
        start_mb = proc.memory_info().rss / 2**20
        samples: list[tuple[float, float]] = []
        seconds = minutes * 60
        presses = asyncio.run(_press_randomly(phone.page_url, seconds, max(5.0, seconds / 10),
                                              proc, samples))
        alive = phone.proc.poll() is None
    finally:
        phone.stop()
    rows = [[f"{t:.0f}", mb] for t, mb in samples]
    half = len(samples) // 2
    first, second = samples[: half or 1], samples[half:]
    drift = max(mb for _, mb in second) - max(mb for _, mb in first)
    summary = table(f"Memory: phone process RSS under {presses} random key presses "
                    f"over {minutes:g} min",
                    ["at READY MB", "end MB", "max MB", "2nd half max - 1st half max MB",
                     "goal MB", "phone alive"],
                    [[start_mb, samples[-1][1], max(mb for _, mb in samples), drift, GOAL_MB,
                      "yes" if alive else "NO"]])
    return table("RSS samples", ["t s", "RSS MB"], rows) + "\n" + summary
