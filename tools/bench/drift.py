"""Clock drift over a simulated hour (firmware/audio/drift.py), on a virtual clock: the real
CardClock and ClockFollower between a sound card running ``ppm`` off the host and the call's
20 ms tick, both ways.

- mic: the card's periods arrive at its pace, each late by the scheduler (0-2 ms, never
  early); the follower resamples them into the send queue; the call's tick takes a period
  every 20 ms of host time. Padded: a tick found less than a period queued.
- playout: the call's audio arrives every 20 ms of host time; the follower resamples it by
  the same card's drift (its mic's clock: one crystal) into the card's queue; the card takes
  a period every 20 ms of its own time. Padded: an underrun.

Delay is the queue between the two, sampled at each take (ms): flat means the drift is
followed. A tick that finds less than a period sends silence and leaves what is queued for the
next (as the stack's buffer does): the queue then holds that period as its lead. The same hour
without the follower is printed too, for comparison.

This is the design the phone's send path needs, not yet what it does: the phone keeps no lead
in the stack's queue (its 40 ms latency budget) and cuts one after a second, so each time the
two ticks' phases cross it loses a period (README, "Clock drift").
"""
from __future__ import annotations

import time

import numpy as np

from firmware.audio.drift import CardClock, ClockFollower

from .table import table

RATE = 8000
PERIOD = RATE // 50
TICK = 0.020


def simulate(ppm: float, seconds: float, direction: str = "mic", follow: bool = True,
             seed: int = 5) -> dict[str, float]:
    """One run; returns padded periods, delays (ms: after the first minute, at the end, max),
    the drift learned and the CPU per period of the follower."""
    rng = np.random.default_rng(seed)
    n = int(seconds / TICK)
    t_card = np.arange(n + 2) * TICK / (1 + ppm * 1e-6)           # the card's periods
    t_host = np.arange(n + 2) * TICK + rng.uniform(0, TICK)        # the call's ticks
    late = rng.exponential(0.0005, n + 2).clip(0, 0.004)            # scheduler lateness
    tone = (8000 * np.sin(2 * np.pi * 1000 * np.arange(PERIOD) / RATE)).astype("<i2")
    period = tone.tobytes()
    clock, follower = CardClock(RATE), ClockFollower()
    queued, padded, cpu = 0, 0, 0.0
    delays: list[tuple[float, float]] = []
    # producer and consumer events, in time order
    if direction == "mic":
        produce, consume = t_card + late, t_host
    else:
        produce, consume = t_host, t_card
    i = j = 0
    while i < n and j < n:
        if produce[i] <= consume[j]:
            if direction == "mic":
                clock.arrived(produce[i], PERIOD)
            else:                                   # the card's mic, same crystal
                clock.arrived(t_card[i] + late[i], PERIOD)
            ppm_seen = clock.ppm if direction == "mic" else (
                None if clock.ppm is None else -clock.ppm)
            c = time.process_time()
            out = follower.follow(period, ppm_seen) if follow else period
            cpu += time.process_time() - c
            queued += len(out) // 2
            i += 1
        else:
            if queued < PERIOD:          # silence goes out; what is queued waits a tick
                padded += i > 0              # (before the stream's first period: not a gap)
            else:
                queued -= PERIOD
            delays.append((consume[j], queued / RATE * 1000))
            j += 1
    after = [d for t, d in delays if t > 60]
    tail = [d for t, d in delays if t > seconds - 60]
    return {"padded": padded, "delay_start": float(np.mean(after[:3000])),
            "delay_end": float(np.mean(tail)), "delay_max": float(max(after)),
            "learned_ppm": float(clock.ppm or 0.0), "us": cpu / max(1, i) * 1e6}


def run(seconds: float = 3600.0) -> str:
    return "\n".join(runs(seconds, follow) for follow in (True, False))


def runs(seconds: float, follow: bool) -> str:
    rows = []
    for direction in ("mic", "playout"):
        for ppm in (-200.0, 0.0, 200.0):
            r = simulate(ppm, seconds, direction, follow)
            rows.append([f"{direction}: card {ppm:+g} ppm", r["padded"],
                         round(r["delay_start"], 2), round(r["delay_end"], 2),
                         round(r["delay_max"], 2), round(r["learned_ppm"], 1), round(r["us"])])
    return table(f"Clock drift over {seconds / 3600:g} simulated hour(s), 8 kHz, "
                 f"{'followed' if follow else 'NOT followed'} (goal: 0 padded, delay flat)",
                 ["stream", "padded", "delay min 1-2 ms", "last min ms", "max ms",
                  "drift learned ppm", "us/period"], rows)
