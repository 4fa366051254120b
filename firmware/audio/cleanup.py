"""Voice cleanup, both ways: echo cancellation and noise removal on the agent's mic, noise
removal on the customer's audio the agent hears (speex.py does the signal processing).

Echo: on hands-free the mic hears the speaker. ``Played`` collects what the call's audio
thread puts on a route whose sound reaches a mic (the board's ``[audio] echo_routes``), and
the mic's thread takes one period of it for each period it records: the canceller learns
the path between the two up to TAIL_MS long: the room. The card's own latency (the board's
``[audio] echo_delay_ms``, a fixed property of its buffers) is a plain delay of the reference,
so the filter spends none of its length, nor its learning, on it.

The reference must stay in step with the card, period for period, for the whole call: one
period's slip moves the echo 20 ms against the filter, which then learns the room again
(a second or more, with the customer hearing themselves). So ``Played`` keeps its queue
the way a playback card keeps its buffer: it starts once START_PERIODS are in (and again
after it ran dry), so a write a few ms late is absorbed, not played as a gap on one side
only; and a backlog beyond MAX_QUEUED loses its oldest periods when the mic takes one, as
a full card loses what no longer fits.

After them, the echo gate (echo_gate.py) takes down what the canceller still leaves of the
echo while the customer talks alone: all of a fresh filter's first seconds, and the little a
linear filter can't remove of a speaker driven hard.

Processing works in FRAME_MS frames: the preprocessor (noise suppression and the echo
canceller's residual suppression) delays its output by one frame, and 10 ms keeps that
within the phone's 40 ms budget where 20 ms frames would not. Each mic route keeps its
cleanup from call to call: the room and the agent's desk don't change between calls, so the
canceller starts converged.
"""
from __future__ import annotations

import functools
import logging
import math
import threading
from array import array
from collections import deque

from .echo_gate import EchoGate
from .pcm import FULL_SCALE, s16le
from .pcm import samples as pcm_samples
from .speex import EchoState, Preprocessor, SpeexMissing

log = logging.getLogger("hardphone.audio")

FRAME_MS = 10
TAIL_MS = 120                # the room's reverberation a desk phone's mic hears, loudly
MAX_QUEUED = 4               # periods the card holds (pyalsaaudio's buffer: 4 periods)
START_PERIODS = 2            # periods a card waits for before it plays (its start threshold)
HOLD_PERIODS = 50            # played periods kept at most while no mic takes them (1 s)
# The customer's audio is cleaned in 5 ms frames: its path has 35 ms of the 40 ms budget
# already (the jitter buffer), and the suppressor does as well on 5 ms (tools/bench cleanup)
FAR_FRAME_MS = 5
NOISE_SUPPRESS_DB = -30      # how far stationary noise is taken down (speex's default: -15)
RUMBLE_HZ = 100              # below the voice: air conditioning, traffic, a desk's knocks


class Played:
    """What was played on an echo route, waiting for the mic that hears it. Written on the
    call audio's thread (before the card: the echo can't be heard before its reference is
    here), read on the mic's."""

    def __init__(self, period_bytes: int) -> None:
        self._period = period_bytes
        self._lock = threading.Lock()
        self._pending = bytearray()
        self._periods: deque[tuple[str, bytes]] = deque()
        self._route: str | None = None
        self._playing = False                # started: past the start threshold
        self.heard = self.missed = self.cut = 0      # periods taken, found empty, cut

    @property
    def route(self) -> str | None:
        """The echo route calls play on now, if any."""
        return self._route

    @route.setter
    def route(self, route: str | None) -> None:
        with self._lock:
            if route != self._route:         # what played elsewhere, or before, is not heard
                self._periods.clear()
                self._pending.clear()
                self._playing = False
            self._route = route

    def put(self, route: str, samples: bytes) -> None:
        with self._lock:
            self._pending += samples
            while len(self._pending) >= self._period:
                self._periods.append((route, bytes(self._pending[:self._period])))
                del self._pending[:self._period]
            while len(self._periods) > HOLD_PERIODS:
                self._periods.popleft()
                self.cut += 1

    def take(self) -> tuple[str | None, bytes]:
        """The period the card plays now, with its route: silence while it waits for its
        start threshold or has run dry (the canceller still runs: its timing stays the same),
        with no route when no call plays on an echo route."""
        with self._lock:
            self.heard += 1
            while len(self._periods) > MAX_QUEUED:
                self._periods.popleft()
                self.cut += 1
            self._playing = self._playing or len(self._periods) >= START_PERIODS
            if self._playing and self._periods:
                return self._periods.popleft()
            if self._route is not None and self._playing:
                self.missed += 1
            self._playing = False
            return self._route, bytes(self._period)


class Rumble:
    """A 2nd-order Butterworth high-pass at RUMBLE_HZ, the first step of noise removal.
    Half of a floor's air-conditioning noise lies below 100 Hz, where no voice is and where
    the spectral suppressor's wide low bands hardly reach; every phone filters it out."""

    def __init__(self, rate: int, hz: float = RUMBLE_HZ) -> None:
        w = 2 * math.pi * hz / rate
        alpha, cos = math.sin(w) / math.sqrt(2), math.cos(w)
        a0 = 1 + alpha
        self._b = ((1 + cos) / 2 / a0, -(1 + cos) / a0, (1 + cos) / 2 / a0)
        self._a = (-2 * cos / a0, (1 - alpha) / a0)
        self._x1 = self._x2 = self._y1 = self._y2 = 0.0

    def process(self, data: bytes) -> bytes:
        (b0, b1, b2), (a1, a2) = self._b, self._a
        x1, x2, y1, y2 = self._x1, self._x2, self._y1, self._y2
        out = array("h")
        for x in pcm_samples(data):
            y = b0 * x + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
            x2, x1, y2, y1 = x1, x, y1, y
            out.append(max(-FULL_SCALE, min(FULL_SCALE, int(y))))
        self._x1, self._x2, self._y1, self._y2 = x1, x2, y1, y2
        return s16le(out)


class MicCleanup:
    """One mic's echo canceller (one per route it hears) and noise removal."""

    def __init__(self, rate: int, period_bytes: int, delay_periods: int = 0,
                 coupling_db: float = 0.0) -> None:
        """``delay_periods``: how many periods after its write a played period reaches the
        mic (the card's buffers); ``coupling_db``: the loudest echo at the mic against what
        is played (echo_gate.py)."""
        self._rate, self._period_bytes = rate, period_bytes
        self._frame_bytes = rate * FRAME_MS // 1000 * 2
        if period_bytes % self._frame_bytes:
            raise ValueError(f"a {period_bytes}-byte period is not whole {FRAME_MS} ms frames")
        self._coupling_db = coupling_db
        self._cancellers: dict[str, tuple[EchoState, Preprocessor, EchoGate]] = {}
        self._rumble = Rumble(rate)
        self._card = deque([bytes(period_bytes)] * delay_periods)   # played, not yet heard
        self._denoiser: Preprocessor | None = None

    def restart(self) -> None:
        """The mic opens again (a new call): nothing played before is still on its way."""
        self._card = deque([bytes(self._period_bytes)] * len(self._card))

    def process(self, mic: bytes, played_on: str | None, played: bytes,
                denoise: bool) -> bytes:
        """One period of the mic: the echo of ``played`` (what ``played_on`` played while
        it was recorded; None: nothing) taken out, and the noise if ``denoise``."""
        if played_on is None:                # nothing plays here: nothing is on its way either
            self.restart()
            if not denoise:
                return mic
        elif self._card:
            self._card.append(played)
            played = self._card.popleft()
        frame = self._frame_bytes
        samples = self._rate * FRAME_MS // 1000
        if denoise:
            mic = self._rumble.process(mic)
        if played_on is not None:
            if played_on not in self._cancellers:
                echo = EchoState(self._rate, samples, TAIL_MS)
                self._cancellers[played_on] = (echo, Preprocessor(
                    self._rate, samples, denoise, NOISE_SUPPRESS_DB, echo=echo),
                    EchoGate(samples, TAIL_MS // FRAME_MS, self._coupling_db))
            echo, pre, gate = self._cancellers[played_on]
            pre.denoise = denoise
            out = []
            for i in range(0, len(mic), frame):
                heard, ref = mic[i:i + frame], played[i:i + frame]
                out.append(gate.process(heard, ref, pre.run(echo.cancel(heard, ref))))
            return b"".join(out)
        if self._denoiser is None:
            self._denoiser = Preprocessor(self._rate, samples, True, NOISE_SUPPRESS_DB)
        return b"".join(self._denoiser.run(mic[i:i + frame]) for i in range(0, len(mic), frame))


class NoiseRemoval:
    """Noise removal on audio that arrives in chunks of any length (the customer's): whole
    frames go through, the rest waits for the next chunk."""

    def __init__(self, rate: int, frame_ms: int = FAR_FRAME_MS) -> None:
        self._frame_bytes = rate * frame_ms // 1000 * 2
        self._pre = Preprocessor(rate, self._frame_bytes // 2, True, NOISE_SUPPRESS_DB)
        self._rumble = Rumble(rate)
        self._rest = b""

    def process(self, chunk: bytes) -> bytes:
        data, frame = self._rest + self._rumble.process(chunk), self._frame_bytes
        whole = len(data) - len(data) % frame
        self._rest = data[whole:]
        return b"".join(self._pre.run(data[i:i + frame]) for i in range(0, whole, frame))


@functools.cache
def available() -> bool:
    """Whether the cleanup can run here (libspeexdsp installed); says why once if not: calls
    then go on without it, as they did before it existed."""
    try:
        EchoState(8000, 80, 10)
    except SpeexMissing as e:
        log.error("voice cleanup off (no echo cancellation, no noise removal): %s", e)
        return False
    return True
