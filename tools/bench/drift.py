"""Clock drift over a simulated hour (firmware/audio/drift.py), on a virtual clock: the real
CardClock and ClockFollower between a sound card running ``ppm`` off the host and the call's
20 ms tick, both ways, into the phone's real code at each end.

- mic: the card's periods arrive at its pace, each late by the scheduler (0-4 ms, never
  early); the follower resamples them and the phone's CallMedia hands them to the stack
  (sip/media.py: a frame and a 1 ms margin kept queued, a standing backlog cut); the stack's
  tick takes a frame every 20 ms of host time, as baresip-python's does (``StackTx``).
  Padded: a packet sent padded or silent mid-flow, or a period skipped.
- playout: the call's audio arrives every 20 ms of host time; the follower resamples it by
  the same card's drift (its mic's clock: one crystal) into the card, the sim's ``CardBuffer``
  (start threshold 2 periods, 4 held), which plays a period every 20 ms of its own time.
  Padded: an underrun or a period lost to a full card.

Delay is what waits between the two, sampled at each take (ms): flat means the drift is
followed. The same hour without the follower is printed too, for comparison.
"""
from __future__ import annotations

import time

import numpy as np

from firmware.audio.drift import CardClock, ClockFollower
from firmware.sip.media import CallMedia
from hal.sim.room import CardBuffer

from .table import table

RATE = 8000
PERIOD = RATE // 50
TICK = 0.020


class StackTx:
    """baresip-python's transmit buffer for one call, as CallMedia sees it: writes queue;
    each tick sends a frame, padded when less is queued (starved), silent when nothing is."""

    def __init__(self, frame_bytes: int = 2 * PERIOD) -> None:
        self.frame = frame_bytes
        self.queued = bytearray()
        self.sent: list[bytes] = []
        self.silence = self.starved = 0

    def info(self):
        return _Info(len(self.queued))

    def stats(self):
        return _Stats(self.silence, self.starved, len(self.queued))

    def write(self, pcm: bytes) -> int:
        self.queued += pcm
        return len(pcm)

    def tick(self) -> None:
        frame = bytes(self.queued[:self.frame])
        self.silence += not frame
        self.starved += 0 < len(frame) < self.frame
        del self.queued[:self.frame]
        self.sent.append(frame.ljust(self.frame, b"\0"))


class _Info:
    tx_ready, tx_sample_rate, tx_channels, tx_ptime_ms = True, RATE, 1, 20

    def __init__(self, buffered: int) -> None:
        self.tx_buffered = buffered


class _Stats:
    def __init__(self, silence: int, starved: int, buffered: int) -> None:
        self.tx_silence_frames, self.tx_starved_frames = silence, starved
        self.tx_buffered = buffered


class _Call:
    def __init__(self) -> None:
        self.audio = StackTx()


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
    call, card = _Call(), CardBuffer(2 * PERIOD)
    media = CallMedia("bench", call)        # type: ignore[arg-type]
    cpu = 0.0
    delays: list[tuple[float, float]] = []
    # producer and consumer events, in time order
    if direction == "mic":
        produce, consume = t_card + late, t_host
    else:
        produce, consume = t_host, t_card
    i = j = 0
    while i < n and j < n:
        if produce[i] <= consume[j]:
            clock.arrived(t_card[i] + late[i], PERIOD)      # the card's mic, one crystal
            ppm_seen = clock.drift if direction == "mic" else (
                None if clock.drift is None else -clock.drift)
            c = time.process_time()
            out = follower.follow(period, ppm_seen) if follow else period
            cpu += time.process_time() - c
            if direction == "mic":
                media.send(out, RATE, produce[i], follower.active, clock.jitter_s)
            else:
                card.write(out)
            i += 1
        else:
            if direction == "mic":
                call.audio.tick()
                queued = len(call.audio.queued)
            else:
                card.play()
                queued = card.queued
            delays.append((consume[j], queued / 2 / RATE * 1000))
            j += 1
    if direction == "mic":
        stats = media.stats()
        padded = stats["tx_starved"] + stats["tx_skipped"]
    else:
        padded = card.underruns + card.lost
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
