"""The echo gate: takes down what the echo canceller leaves of the customer's echo while
the customer talks alone, in each frame by as much as the canceller fell short of GOAL_DB.

An adaptive filter needs seconds of the customer's speech to learn a room (speex: 6-9 s to
25 dB on the sim room); until then the customer would hear themselves at the start of the
first hands-free call. So, as hands-free phones do, a gate after the canceller lowers the
frames where only the echo can be at the mic, and opens at once when the agent talks. It
takes down only what the canceller left over GOAL_DB under the mic in that frame: a fresh
filter's frames by up to MAX_CUT_DB, a converged filter's not at all, and where a speaker
driven hard leaves more than a linear filter can remove, the gate tops it up.

Who is talking, per frame, while the customer does: the echo at the mic is never louder
than what was played in the last tail (the longest path) times the speaker's coupling to
the mic (the board's ``[audio] echo_coupling_db``, a property of the phone's design: the sim
room's echo peaks 3 dB under what it plays). The agent talks if the mic is louder than that
bound (Geigel's test, as in line echo cancellers), or if the canceller leaves NEAR_MARGIN_DB
more than its measured ERLE (on the frames judged echo alone) would, which finds a quiet
agent once the filter has learned the room. While the customer is silent the gate does
nothing, and a room's noise is not taken for the agent. After the first START_FRAMES of the
customer talking, it cuts only where the canceller shows there is an echo (its ERLE at least
CONVERGED_DB): with none to find, the mic's sound is the agent's (a phone whose speaker the
mic hardly hears; an agent talking over the customer all along, whom the level tests above
can't tell from an echo).
"""
from __future__ import annotations

import math
from collections import deque

import numpy as np

GOAL_DB = 32.0          # echo removed in all, filter and gate: 30 dB and a margin
MAX_CUT_DB = 30.0       # the most the gate takes down
NEAR_MARGIN_DB = 10.0   # the canceller's output this far over its expected residual: the agent
HANG_FRAMES = 25        # the gate stays open this long after the agent was last heard (250 ms)
FAR_DBFS = -50.0        # the customer is talking: the echo's bound louder than this at the mic
SMOOTH = 0.05           # per frame: the ERLE estimate follows the canceller over ~200 ms
# The gate cuts in the first START_FRAMES frames the customer talks on a route (the filter
# learning), and after them only while the canceller shows it has an echo to remove
# (CONVERGED_DB): where it finds none (no echo on this phone, or the agent never stops
# talking over the customer), what the mic hears is the agent, and is left alone
START_FRAMES = 200      # 2 s of the customer talking
CONVERGED_DB = 12.0
FLOOR_RISE_DB = 0.01    # per frame: the mic's floor estimate creeps up 1 dB a second
_FS = 32768.0 ** 2


def _dbfs(pcm: bytes) -> float:
    """A frame's power in dBFS."""
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    power = float(np.dot(x, x)) / len(x) if len(x) else 0.0
    return 10 * math.log10(max(power, 1e-3) / _FS)


class EchoGate:
    """One echo route's gate, frame by frame: ``process`` takes each mic frame with its
    played reference, and the frame the canceller and preprocessor give out now, which is
    the mic's frame ``delay`` frames back (the preprocessor's lag)."""

    def __init__(self, frame: int, tail_frames: int, coupling_db: float, delay: int = 1) -> None:
        self._frame = frame
        self._coupling_db = coupling_db
        self._played: deque[float] = deque(maxlen=tail_frames + 1)     # dBFS per frame
        self._heard: deque[tuple[float, float] | None] = deque([None] * delay)
        self.erle_db = 0.0               # what the canceller removes: nothing, until measured
        self._echo_p = self._left_p = 0.0    # the echo's power at the mic, and what is left of it
        self._floor_db = 0.0             # the mic's quietest lately (the room with nobody
                                         # talking): the first frame's, then lower
        self._hang = 0
        self._gain = 1.0
        self._far_frames = 0             # frames the customer talked in, so far

    def process(self, mic: bytes, played: bytes, out: bytes) -> bytes:
        self._played.append(_dbfs(played))
        mic_db = _dbfs(mic)
        self._floor_db = min(mic_db, self._floor_db + FLOOR_RISE_DB)
        self._heard.append((mic_db, max(self._played) + self._coupling_db))
        heard = self._heard.popleft()               # the frame that comes out now
        if heard is None:                           # the preprocessor's first: nothing yet
            return out
        return self._glide(out, self._cut_db(*heard, _dbfs(out)))

    def _cut_db(self, mic_db: float, bound_db: float, out_db: float) -> float:
        """How far to take down a frame: the mic heard ``mic_db`` while the echo could be
        at most ``bound_db``, and the canceller left ``out_db``."""
        far = bound_db > FAR_DBFS and bound_db > self._floor_db + 10
        # The agent is talking (over the customer: alone, the gate has nothing to do, and
        # any sound in the room is louder than the silence's echo)
        if far and (mic_db > bound_db or out_db > bound_db - self.erle_db + NEAR_MARGIN_DB):
            self._hang = HANG_FRAMES
        elif self._hang:
            self._hang -= 1
        if not far:
            return 0.0
        self._far_frames += 1
        if self._hang:
            return 0.0
        if mic_db > self._floor_db + 10:             # the echo stands out of the room's noise
            self._echo_p += (10 ** (mic_db / 10) - self._echo_p) * SMOOTH
            self._left_p += (10 ** (out_db / 10) - self._left_p) * SMOOTH
            self.erle_db = 10 * math.log10(self._echo_p / max(self._left_p, 1e-15))
        if self._far_frames > START_FRAMES and self.erle_db < CONVERGED_DB:
            return 0.0
        return min(MAX_CUT_DB, max(0.0, GOAL_DB - (mic_db - out_db)))

    def _glide(self, out: bytes, cut_db: float) -> bytes:
        """``out`` taken down by ``cut_db``, the gain gliding over the frame from the last
        frame's, so a change makes no click."""
        gain = 10 ** (-cut_db / 20)
        if gain == 1.0 and self._gain == 1.0:
            return out
        ramp = np.linspace(self._gain, gain, self._frame, endpoint=False)
        self._gain = gain
        x = np.frombuffer(out, dtype="<i2") * ramp
        return np.clip(np.round(x), -32768, 32767).astype("<i2").tobytes()
