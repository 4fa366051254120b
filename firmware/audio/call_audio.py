"""A call's received audio, played on the route the agent chose (handset, headset, speaker)
at that route's volume, and at the ear never above the board's ceiling for the route
(limiter.py: acoustic shock protection, after the volume, so no volume gets past it). The SIP
stack hands over each chunk as it arrives; a thread of its own writes it to the PCM, so the
phone's loop never waits on the sound card.

On the way, the customer's noise is removed when the centre's admin asks for it
(``noise_removal``), the audio is resampled from the call's clock to the card's once the
card's drift is known (drift.py: ``clocks``, measured by the mic on the same card), and what
an echo route plays goes to ``played`` for the mic's echo canceller (cleanup.py)."""
from __future__ import annotations

import logging
import queue
import threading
from array import array

from .cleanup import NoiseRemoval, Played
from .cleanup import available as cleanup_available
from .drift import MIC_HEARING, CardClock, ClockFollower
from .limiter import Limiter
from .pcm import s16le
from .pcm import samples as pcm_samples
from .tones import TOP_PEAK, volume_gain

log = logging.getLogger("hardphone.audio")

QUEUE_CHUNKS = 50            # ~1 s at 20 ms: a stalled card drops audio, not the phone's memory


def scale(samples: bytes, level: int) -> bytes:
    """``samples`` (mono S16_LE) at volume ``level`` 0-10: 10 as received, each step 3 dB
    quieter, 0 silent."""
    gain = volume_gain(level) / TOP_PEAK
    if gain >= 1.0:
        return samples
    return s16le(array("h", (int(x * gain) for x in pcm_samples(samples))))


class CallAudio:
    def __init__(self, devices, cleanup: bool = True):
        """``cleanup``: False turns noise removal and the echo reference off (libspeexdsp
        missing, or a bench that measures the bare path)."""
        self._devices = devices
        self.clocks: dict[str, CardClock] = {}     # mic route -> its card's clock (CallMic)
        self._follower = ClockFollower("call audio")     # the call's clock -> the PCM's card
        audio = devices.audio
        self.played = Played(audio.period_frames * 2)      # for the mic's echo canceller
        self._echo_routes = frozenset(getattr(audio, "echo_routes", ())) if cleanup else ()
        self._cleanup = cleanup
        self.noise_removal = False       # remove the customer's noise (the centre's setting)
        self._denoiser: NoiseRemoval | None = None
        self._chunks: queue.Queue = queue.Queue(QUEUE_CHUNKS)
        self._route: tuple[str, int] | None = None        # (route, volume level)
        self._thread = threading.Thread(target=self._run, name="call-audio", daemon=True)
        self._thread.start()

    def route(self, route: str | None, level: int = 0):
        """Where received audio goes from now on (None: nowhere, no call is up)."""
        self._route = (route, level) if route else None
        self.played.route = route if route in self._echo_routes else None

    def feed(self, samples: bytes):
        """Received audio, as it arrives. Dropped while no route is set or the card lags."""
        if self._route is None:
            return
        try:
            self._chunks.put_nowait(samples)
        except queue.Full:
            log.warning("call audio: the %s PCM is not keeping up; dropped 20 ms",
                        self._route[0])

    def close(self):
        self._chunks.put(None)
        self._thread.join(2)

    def _limiter(self, route: str) -> Limiter | None:
        audio = self._devices.audio
        dbfs = audio.limit_dbfs.get(route)
        return None if dbfs is None else Limiter(dbfs, audio.rate)

    def _call_vs_card(self, route: str) -> float | None:
        """How fast the call's audio comes against how fast ``route``'s card plays it (ppm,
        +: the call's clock is faster), from the mic on the same card; None until known."""
        clock = self.clocks.get(MIC_HEARING.get(route, ""))
        drift = None if clock is None else clock.drift
        return None if drift is None else -drift

    def _run(self):
        stream = limiter = None
        while (samples := self._chunks.get()) is not None:
            target = self._route
            if stream is not None and (target is None or stream.route != target[0]):
                stream.close()
                stream = None
            if target is None:
                continue
            try:
                if stream is None:
                    stream = self._devices.audio.open_stream(target[0])
                    limiter = self._limiter(target[0])
                    self._follower = ClockFollower(f"call audio on {target[0]}")
                if self.noise_removal and self._cleanup and cleanup_available():
                    if self._denoiser is None:
                        self._denoiser = NoiseRemoval(self._devices.audio.rate)
                    samples = self._denoiser.process(samples)
                samples = scale(samples, target[1])
                if limiter:
                    samples = limiter.process(samples)
                samples = self._follower.follow(samples, self._call_vs_card(target[0]))
                if target[0] in self._echo_routes:     # first: the card may play it at once
                    self.played.put(target[0], samples)
                stream.write(samples)
            except Exception as e:             # noqa: BLE001 - a sound fault must not end calls
                log.error("call audio on %s: %s", target[0], e)
                if stream is not None:
                    stream.close()
                stream = None
        if stream is not None:
            stream.close()
