"""Clock drift: a sound card's crystal and this host's clock (which the call's 20 ms RTP tick
keeps to) run a little apart, up to +-200 ppm: 0.7 s an hour. Unfollowed, the queue between
them runs dry now and then (a padded packet: a gap in a word) or fills (a delay that grows
until a period is thrown away).

``CardClock`` measures the card against the host from when its periods arrive: each arrival
is late by the scheduler's whim but never early, so the earliest arrival in each second is
the card's own time. A line through those over the last WINDOW_S seconds is the drift, found
to a few ppm within seconds and better the longer the call. No queue is watched, so no lead
has to be kept in one (the phone's send path keeps none: its latency budget).

``ClockFollower`` resamples a stream by that drift (resampler.py: libsamplerate, a new ratio
on every call): the mic's periods come out at the host's pace for the call, and the call's
audio goes to the card at the card's. It starts only once the drift is known and worth
following (MIN_PPM): a card in step with the host, and the sim's clockless file PCMs, pass
through untouched.
"""
from __future__ import annotations

import logging
from collections import deque

import numpy as np

from .resampler import Resampler, floats, s16le

log = logging.getLogger("hardphone.audio")

SETTLE_S = 5.0           # seconds of arrivals before the drift is trusted
WINDOW_S = 300.0         # the line is fitted over this much (older seconds are let go)
SURE_ERRORS = 3.0        # a drift is followed once it is this many standard errors from none
NOISE_S = 0.001          # ... and has moved the card this much against the host over the
                         # seconds measured (arrival times are that noisy on a busy host: a
                         # card in step read -21 ppm over 9 s, 3 errors out)
QUIET_DBFS = -40.0       # a stream starts following in a period this quiet (the filter's
MAX_WAIT_PERIODS = 100   # delay goes in unheard), or after this many periods anyway (2 s)
MIN_PPM = 20.0           # less is left alone (72 ms an hour at most; a busy host reads 10 off)
MAX_PPM = 2000.0         # more is not a crystal: a stalled or bursting source; not followed
# How late the host hands a card's periods over, beyond the card's own time (the line): the
# send path keeps that much lead for a followed voice (sip/media.py), so a period the host
# held back still makes the stack's tick. Judged over the last JITTER_PERIODS (10 s) at the
# JITTER_QUANTILE; at most MAX_JITTER_S (more is a stall, which no standing lead should pay for)
JITTER_PERIODS = 500
JITTER_QUANTILE = 99.0
MAX_JITTER_S = 0.012
# the mic that hears each route's sound: in its echo, and on its card (one crystal for both);
# the handset's mic serves hands-free too
MIC_HEARING = {"speaker": "mic", "handset": "mic", "headset": "headset_mic"}


class CardClock:
    """How fast one card's clock runs against the host's, in ppm (+: the card is fast)."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._frames = 0
        self._start: float | None = None
        self._second: int | None = None
        self._earliest = 0.0
        self._points: list[tuple[float, float]] = []      # (host s, earliest lateness s)
        self.ppm: float | None = None                     # None until SETTLE_S of arrivals
        self.error = 0.0                                  # the fit's standard error, ppm
        self.span_s = 0.0                                 # the seconds the fit spans
        self._line: tuple[float, float] | None = None     # the fit: lateness = a t + b
        self._behind: deque[float] = deque(maxlen=JITTER_PERIODS)   # lateness beyond it, s
        self.jitter_s = 0.0     # how late the host hands periods over (JITTER_QUANTILE), s

    def arrived(self, now: float, frames: int) -> None:
        """``frames`` more came in from the card at host time ``now`` (seconds)."""
        if self._start is None:
            self._start = now
        self._frames += frames
        t = now - self._start
        late = t - self._frames / self.rate       # grows when the card is slow
        if self._line is not None:
            self._behind.append(late - (self._line[0] * t + self._line[1]))
        second = int(t)
        if second != self._second:
            if self._second is not None:
                self._points.append((self._second + 0.5, self._earliest))
                while self._points and self._points[0][0] < t - WINDOW_S:
                    self._points.pop(0)
                self._fit()
                if len(self._behind) >= JITTER_PERIODS // 10:
                    q = float(np.percentile(self._behind, JITTER_QUANTILE))
                    self.jitter_s = min(MAX_JITTER_S, max(0.0, q))
            self._second, self._earliest = second, late
        else:
            self._earliest = min(self._earliest, late)

    def restart(self) -> None:
        """The stream stopped and starts again (a new call): the timeline starts again, what
        was learned of the drift is kept until the new one is known."""
        self._frames, self._start, self._second, self._points = 0, None, None, []
        self._line = None
        self._behind.clear()
        # (ppm, error, span_s and jitter_s stay as they were: the new fit replaces them)

    def _fit(self) -> None:
        if len(self._points) < SETTLE_S:
            return
        t = np.array([p[0] for p in self._points])
        late = np.array([p[1] for p in self._points])
        (slope, intercept), cov = np.polyfit(t, late, 1, cov=True)    # s late per second
        self._line = (float(slope), float(intercept))
        self.ppm = float(-slope * 1e6)
        self.error = float(np.sqrt(max(cov[0][0], 0.0)) * 1e6)
        self.span_s = float(t[-1] - t[0])

    @property
    def drift(self) -> float | None:
        """The drift to follow: ``ppm`` once it stands out of the measurement's noise (three
        standard errors from none, and NOISE_S of the card's time gained or lost over the
        seconds measured: a card in step, timed on a busy host, reads some ppm either way
        for a while), else None. What a call learned holds for the next until it is known
        again."""
        if self.ppm is None or abs(self.ppm) < SURE_ERRORS * self.error:
            return None
        if abs(self.ppm) * 1e-6 * self.span_s < NOISE_S:
            return None
        return self.ppm


class ClockFollower:
    """One stream resampled from one clock's pace to another's: ``ppm`` is how fast the
    producer runs against the consumer (+: it makes too many samples, some are taken out)."""

    def __init__(self, name: str = "") -> None:
        """``name``: the stream, for the log line that says it is followed from now on."""
        self.name = name
        self._resampler = Resampler()
        self.active = False
        self._started = False        # a period has come through, followed or not
        self._primed = False         # the resampler has had its first period
        self._waited = 0             # periods it has waited for a quiet one

    def follow(self, pcm: bytes, ppm: float | None) -> bytes:
        """``pcm`` (mono S16_LE) at the consumer's pace; unchanged while ``ppm`` is unknown
        or too small to matter, and until it first matters."""
        first, self._started = not self._started, True
        if not self.active:
            if ppm is None or not MIN_PPM <= abs(ppm) <= MAX_PPM:
                return pcm
            # the resampler's delay goes in when it starts: in a quiet period it is not heard
            # (a stream starting follows from its first period: what it learned holds)
            self._waited += 1
            if not first and self._waited < MAX_WAIT_PERIODS and not _quiet(pcm):
                return pcm
            self.active = True
            if self.name:
                log.info("%s: following the card's clock (%+.0f ppm)", self.name, ppm)
        ratio = 1.0 / (1.0 + max(-MAX_PPM, min(MAX_PPM, ppm or 0.0)) * 1e-6)
        x = floats(pcm)
        y = self._resampler.process(x, ratio)
        if not self._primed:            # what the filter holds back, given as silence once
            y = np.concatenate([np.zeros(max(0, round(len(x) * ratio) - len(y)),
                                         np.float32), y])
            self._primed = True
        return s16le(y)


def _quiet(pcm: bytes) -> bool:
    x = floats(pcm)
    return len(x) == 0 or 10 * np.log10(float(np.mean(x * x)) + 1e-12) < QUIET_DBFS


def stretched(pcm: bytes, frames: int) -> bytes:
    """Mono S16_LE ``pcm`` stretched (or squeezed) to ``frames`` samples by linear
    interpolation: for a sample or two, well below hearing (a 0.6% pitch change for 20 ms)."""
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    if len(x) < 2 or frames == len(x):
        return pcm
    at = np.linspace(0, len(x) - 1, frames)
    return np.round(np.interp(at, np.arange(len(x)), x)).astype("<i2").tobytes()
