"""Automatic level control on the agent's voice: a quiet agent and a loud one reach the
customer at similar levels, without pumping.

The gain follows the voice's level (RMS of each 20 ms period) only while the agent speaks
(a period above SPEECH_DBFS and ABOVE_FLOOR_DB over the room's floor, so a noisy room's
steady hum, or an echo's remains, is never taken for a quiet voice and raised; until its
first pause a voice cannot be told from a hum, so the first syllable leaves the gain), and
only to bring it into the band LOW_DBFS..HIGH_DBFS: inside the band it is left alone, so a
voice already at a good level is sent as spoken. It moves at
most STEP_DB a period (6 dB a second): slow enough that syllables and pauses don't make it
breathe, quick enough to settle within a few seconds of speech. In pauses it holds, so room
noise is never raised. It is bounded (MAX_BOOST_DB, MAX_CUT_DB) and never drives a peak past
full scale. Within a period the gain ramps from the last period's, so a change makes no step.

Pure stdlib (array): this runs on the phone.
"""
from __future__ import annotations

import math
from array import array

from .pcm import FULL_SCALE, s16le
from .pcm import samples as pcm_samples
LOW_DBFS, HIGH_DBFS = -22.0, -12.0     # the band the voice is brought into (RMS)
SPEECH_DBFS = -50.0                    # quieter than this is a pause: the gain holds
STEP_DB = 0.12                         # per 20 ms period: 6 dB a second at most
MAX_BOOST_DB, MAX_CUT_DB = 20.0, -12.0
ABOVE_FLOOR_DB = 10.0                  # speech stands this far over the floor's noise
FLOOR_RISE_DB = 0.02                   # per period (1 dB/s): the floor follows a louder room


def rms_dbfs(pcm: array) -> float:
    if not pcm:
        return -120.0
    rms = math.sqrt(sum(x * x for x in pcm) / len(pcm))
    return 20 * math.log10(max(rms, 1e-3) / FULL_SCALE)


class LevelControl:
    """One mic's level control; its gain carries from one period to the next."""

    def __init__(self) -> None:
        self.gain_db = 0.0
        self.floor_db: float | None = None    # the room's noise: the quietest lately

    def process(self, samples: bytes) -> bytes:
        """One period of the agent's voice (mono S16_LE), at the level it should be sent."""
        pcm = pcm_samples(samples)
        peak = max(max(pcm), -min(pcm)) if pcm else 0
        room = 20 * math.log10(FULL_SCALE / peak) if peak else MAX_BOOST_DB
        before = min(self.gain_db, room)       # a shout after a quiet spell: down at once
        self.gain_db = before
        level = rms_dbfs(pcm)
        floor = level if self.floor_db is None else min(level, self.floor_db + FLOOR_RISE_DB)
        self.floor_db = floor
        if level > max(SPEECH_DBFS, floor + ABOVE_FLOOR_DB):
            heard = level + before
            want = before + (LOW_DBFS - heard if heard < LOW_DBFS
                             else HIGH_DBFS - heard if heard > HIGH_DBFS else 0.0)
            want = max(MAX_CUT_DB, min(MAX_BOOST_DB, want))
            step = max(-STEP_DB, min(STEP_DB, want - before))
            self.gain_db = min(before + step, room)
        if before == self.gain_db == 0.0:
            return samples
        g0, g1 = 10 ** (before / 20), 10 ** (self.gain_db / 20)
        ramp = (g1 - g0) / len(pcm)
        return s16le(array("h", (max(-FULL_SCALE, min(FULL_SCALE, int(x * (g0 + ramp * i))))
                                 for i, x in enumerate(pcm))))
