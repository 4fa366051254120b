"""Acoustic shock protection: what a call plays at the agent's ear (handset, headset) never
peaks above the board's ceiling for that route, whatever arrives (a fax or modem tone, a
shriek of feedback, a line fault) and whatever the volume.

The gain is set for each 1 ms block before the block is played, from the block's own peak: a
burst is held under the ceiling from its first sample (no overshoot, no look-ahead delay, as
the whole 20 ms period is in hand). Afterwards the gain comes back up at RELEASE_DB_S, so the
voice after a burst is not pumped. Audio under the ceiling passes untouched.

Pure stdlib (array): this runs on the phone.
"""
from __future__ import annotations

from array import array

from .pcm import FULL_SCALE, s16le
from .pcm import samples as pcm_samples

BLOCK_S = 0.001              # the gain is set per 1 ms block
RELEASE_DB_S = 20.0          # after a burst the gain rises this fast: 20 dB back in a second


def ceiling_of(dbfs: float) -> int:
    """The sample peak ``dbfs`` decibels below full scale (0 dBFS = 32767)."""
    return round(FULL_SCALE * 10 ** (dbfs / 20))


class Limiter:
    """One route's limiter; its gain carries from one period to the next."""

    def __init__(self, ceiling_dbfs: float, rate: int):
        self.ceiling = ceiling_of(ceiling_dbfs)
        self._block = max(1, round(rate * BLOCK_S))
        self._rise = 10 ** (RELEASE_DB_S * BLOCK_S / 20)
        self.gain = 1.0
        self.limited_blocks = 0        # blocks turned down: how much a burst was held back

    def process(self, samples: bytes) -> bytes:
        """``samples`` (mono S16_LE) with every peak at or under the ceiling."""
        pcm = pcm_samples(samples)
        n, changed = self._block, False
        for i in range(0, len(pcm), n):
            block = pcm[i:i + n]
            peak = max(max(block), -min(block))
            gain = min(1.0, self.gain * self._rise)
            if peak * gain > self.ceiling:
                gain = self.ceiling / peak
                self.limited_blocks += 1
            self.gain = gain
            if gain < 1.0:
                pcm[i:i + n] = array("h", (int(x * gain) for x in block))
                changed = True
        return s16le(pcm) if changed else samples
