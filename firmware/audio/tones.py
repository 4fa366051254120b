"""Ring tones as sample buffers: mono S16_LE, ready for ``AudioDevices.play``.

Pure functions, stdlib only (this runs on the phone, where numpy is not installed).
"""
from __future__ import annotations

import functools
import math
from array import array
from dataclasses import dataclass

from .pcm import FULL_SCALE, s16le

RATE = 8000                  # Hz; the boards' audio rate
VOLUME_MIN, VOLUME_MAX = 0, 10
TOP_PEAK = 0.9               # level 10's peak, as a fraction of full scale: headroom for the DAC
STEP_DB = 3.0                # one volume step; level 10 vs level 4 is 18 dB
FADE_S = 0.005               # raised-cosine ramp at each end of a burst: no click


@dataclass(frozen=True)
class RingPattern:
    """``freqs`` (Hz) sound together during each burst; ``cadence`` is seconds of
    on, off, on, off... for one cycle."""
    freqs: tuple[float, ...]
    cadence: tuple[float, ...]

    def __post_init__(self):
        if not self.freqs or not self.cadence:
            raise ValueError("a ring pattern needs frequencies and a cadence")
        if any(s <= 0 for s in self.cadence):
            raise ValueError(f"cadence durations must be positive: {self.cadence}")

    @property
    def cycle_s(self) -> float:
        return sum(self.cadence)


# The desk phone's ring: the North American ringback pair (440 + 480 Hz) in a double ring.
RING = RingPattern((440.0, 480.0), (0.4, 0.2, 0.4, 2.0))


def volume_gain(level: int) -> float:
    """Peak amplitude (fraction of full scale) at a volume level: 0 is silent, 10 is
    TOP_PEAK, each step below that STEP_DB quieter."""
    if not VOLUME_MIN <= level <= VOLUME_MAX:
        raise ValueError(f"volume level {level} is outside {VOLUME_MIN}..{VOLUME_MAX}")
    if level == 0:
        return 0.0
    return TOP_PEAK * 10 ** (-STEP_DB * (VOLUME_MAX - level) / 20)


def segment_lengths(pattern: RingPattern, rate: int = RATE) -> list[int]:
    """Samples in each cadence segment (on, off, on...)."""
    return [round(s * rate) for s in pattern.cadence]


def ring_samples(pattern: RingPattern, level: int, rate: int = RATE, cycles: int = 1) -> bytes:
    """``cycles`` cycles of ``pattern`` at volume ``level``: bursts peak at exactly
    volume_gain(level) of full scale, the gaps are zeros."""
    gain = volume_gain(level)
    if cycles < 1:
        raise ValueError(f"cycles must be at least 1, not {cycles}")
    out = array("h")
    for i, n in enumerate(segment_lengths(pattern, rate)):
        on = i % 2 == 0 and gain > 0
        out.extend(_burst(pattern.freqs, n, gain, rate) if on else [0] * n)
    out *= cycles
    return s16le(out)


def test_ring(level: int, rate: int = RATE) -> bytes:
    """One cycle of RING: what the settings menu plays as the ringer volume changes."""
    return ring_samples(RING, level, rate)


test_ring.__test__ = False   # type: ignore[attr-defined]  # pytest would collect the name


@functools.lru_cache(maxsize=VOLUME_MAX + 1)
def ring_cycle(level: int, rate: int = RATE) -> bytes:
    """One cycle of RING, kept: an incoming call starts ringing without computing a waveform."""
    return test_ring(level, rate)


# Two short beeps in the headset (or speaker) before the phone answers an offer by itself: the
# agent knows their mic is about to open.
AUTO_ANSWER = RingPattern((1000.0,), (0.12, 0.08, 0.12, 0.05))


@functools.lru_cache(maxsize=VOLUME_MAX + 1)
def auto_answer_beeps(level: int, rate: int = RATE) -> bytes:
    return ring_samples(AUTO_ANSWER, level, rate)


def _burst(freqs, n: int, gain: float, rate: int) -> list[int]:
    steps = [2 * math.pi * f / rate for f in freqs]
    wave = [sum(math.sin(w * k) for w in steps) for k in range(n)]
    fade = min(round(FADE_S * rate), n // 2)
    for k in range(fade):
        g = 0.5 - 0.5 * math.cos(math.pi * k / fade)
        wave[k] *= g
        wave[n - 1 - k] *= g
    # Scale after fading, so the loudest sample really is the level's peak.
    peak = max(map(abs, wave), default=0.0)
    scale = gain * FULL_SCALE / peak if peak else 0.0
    return [round(x * scale) for x in wave]
