"""AudioDevices: play sample buffers through the phone's ALSA PCMs, one per route.

Routes (handset, headset, speaker, ringer; mic, headset_mic) name ALSA PCMs; only the ALSA
config differs between the device (board/rpi4/asound.conf) and the sim (hal/sim/asound.py,
file PCMs). The two mic routes are recorded from (``open_capture``), the others played to.

``play`` paces itself to the wall clock. A real card blocks the writer once its buffer is full,
but the sim's file PCM over the "null" slave has no clock and accepts everything at once, so a
ring would be "over" in a millisecond. Sleeping only while ahead of the wall clock keeps both
honest: on the card the sleeps keep the buffer about half full, in the sim they are the clock.
"""
from __future__ import annotations

import errno
import threading
import time

import alsaaudio

from .errors import HalError

CAPTURE_ROUTES = ("mic", "headset_mic")    # recorded from, never played to
PERIOD_S = 0.020             # one ALSA period; also how often ``stop`` is checked
LEAD_PERIODS = 2             # periods queued ahead of the wall clock (the buffer holds 4):
                             # rides out scheduling jitter without an underrun click
SAMPLE_BYTES = 2             # mono S16_LE


class AudioDevices:
    def __init__(self, pcm: dict[str, str], rate: int,
                 limit_dbfs: dict[str, float] | None = None,
                 echo_routes: tuple[str, ...] = (), echo_delay_ms: int = 0,
                 clocked_mics: tuple[str, ...] = (), sidetone_db: dict[str, float] | None = None,
                 sidetone_codec=None, echo_coupling_db: float = 0.0):
        """``pcm`` maps route names to ALSA PCM names; ``rate`` is the sample rate in Hz;
        ``limit_dbfs``: the loudest peak a call may play on each route at the ear (the board's
        [audio.limit_dbfs]; firmware/audio/limiter.py holds calls to it); ``echo_routes``:
        the routes a mic hears (the board's [audio] echo_routes; their echo is cancelled);
        ``echo_delay_ms``: how long the card holds what is played before it sounds, and
        ``echo_coupling_db`` how loud its echo can be at the mic against it (the board's);
        ``clocked_mics``: the mics whose PCM keeps time itself (a card's: the device passes
        them all; the sim's file PCMs have no clock, and their reads are paced to the wall
        clock here); ``sidetone_db``: the sidetone's level on each route at the ear (the
        board's [audio.sidetone]) and ``sidetone_codec`` what sets it (hal/sidetone.py; None:
        the board has none)."""
        self._pcm = dict(pcm)
        self.sidetone_db = dict(sidetone_db or {})
        self._sidetone_codec = sidetone_codec
        self._sidetone: str | None = ""            # the route it is on for; "": never set
        self.rate = int(rate)
        self.limit_dbfs = dict(limit_dbfs or {})
        self.echo_routes = tuple(echo_routes)
        self.echo_delay_ms = int(echo_delay_ms)
        self.echo_coupling_db = float(echo_coupling_db)
        self.clocked_mics = frozenset(clocked_mics)
        self.period_frames = round(self.rate * PERIOD_S)      # 160 at 8 kHz
        # route -> time.perf_counter() when its latest play's first period went into the PCM
        # (how soon a ring is heard; the benchmarks read it)
        self.started_at: dict[str, float] = {}

    def sidetone(self, route: str | None) -> None:
        """The agent's own voice at the ear of ``route`` from now on (at the board's level for
        it), or nowhere (None, or a route without sidetone: the speaker). Set only on a
        change: the codec's mixer is written once per change."""
        route = route if route in self.sidetone_db else None
        if route == self._sidetone or self._sidetone_codec is None:
            return
        self._sidetone = route
        self._sidetone_codec.set(route, self.sidetone_db.get(route) if route else None)

    def pcm_name(self, route: str) -> str:
        try:
            return self._pcm[route]
        except KeyError:
            raise ValueError(f"unknown audio route {route!r} "
                             f"(this board has {', '.join(sorted(self._pcm))})") from None

    def play(self, route: str, samples: bytes, stop: threading.Event | None = None) -> bool:
        """Play mono S16_LE ``samples`` at ``rate`` on ``route``; block until they have been
        heard. Returns False if ``stop`` was set first (checked every period; what is still
        queued in the card is dropped, so the sound ends within a period)."""
        if len(samples) % SAMPLE_BYTES:
            raise ValueError(f"{len(samples)} bytes is not a whole number of S16 samples")
        pcm, name = self._open(route)
        try:
            finished = self._play_paced(pcm, route, memoryview(samples), stop)
            if not finished:
                pcm.drop()
            return finished
        except alsaaudio.ALSAAudioError as e:
            raise HalError(f"audio {route}: PCM {name!r}: {e}") from e
        finally:
            pcm.close()          # drains the last few ms on a card; nothing is left after drop

    def open_stream(self, route: str) -> PcmStream:
        """A PCM on ``route`` held open for audio that arrives as it is heard (a call's far
        end): write each chunk as it comes; close when the call or the route ends."""
        pcm, name = self._open(route)
        return PcmStream(pcm, route, name)

    def open_capture(self, route: str) -> CaptureStream:
        """A mic PCM (``mic`` or ``headset_mic``) held open while a call needs it: each
        ``read`` returns the next period (20 ms) as it is spoken."""
        if route not in CAPTURE_ROUTES:
            self.pcm_name(route)                       # an unknown route says so
            raise ValueError(f"{route!r} is played to, not recorded from")
        pcm, name = self._open(route, alsaaudio.PCM_CAPTURE)
        return CaptureStream(pcm, route, name, self.rate, self.period_frames,
                             paced=route not in self.clocked_mics)

    def _open(self, route: str, direction=alsaaudio.PCM_PLAYBACK):
        name = self.pcm_name(route)
        if direction == alsaaudio.PCM_PLAYBACK and route in CAPTURE_ROUTES:
            raise ValueError(f"{route!r} is a capture route")
        try:
            pcm = alsaaudio.PCM(direction, device=name, channels=1, rate=self.rate,
                                format=alsaaudio.PCM_FORMAT_S16_LE,
                                periodsize=self.period_frames)
        except alsaaudio.ALSAAudioError as e:
            raise HalError(f"audio {route}: cannot open PCM {name!r}: {e}") from e
        try:
            self._check_setup(pcm, route, name)
        except Exception:
            pcm.close()
            raise
        return pcm, name

    def close(self):
        """Nothing is held open between plays; safe to call any number of times."""

    def _check_setup(self, pcm, route, name):
        # pyalsaaudio takes the nearest rate the PCM offers without complaint; a wrong rate
        # would ring at the wrong pitch, so insist (the device config puts a plug in front).
        info = pcm.info()
        got = (info.get("rate"), info.get("channels"), info.get("format_name"))
        if got != (self.rate, 1, "S16_LE"):
            raise HalError(f"audio {route}: PCM {name!r} set up as {got}, "
                           f"not ({self.rate}, 1, 'S16_LE')")

    def _play_paced(self, pcm, route: str, data: memoryview, stop) -> bool:
        period_bytes = self.period_frames * SAMPLE_BYTES
        lead_s = LEAD_PERIODS * PERIOD_S
        start = time.monotonic()
        frames = 0
        for offset in range(0, len(data), period_bytes):
            if stop is not None and stop.is_set():
                return False
            chunk = data[offset:offset + period_bytes]
            _write_all(pcm, chunk)
            if not frames:
                self.started_at[route] = time.perf_counter()
            frames += len(chunk) // SAMPLE_BYTES
            ahead = frames / self.rate - (time.monotonic() - start) - lead_s
            if ahead > 0 and _wait(stop, ahead):
                return False
        # The last LEAD_PERIODS are still in the card (or, in the sim, not yet "heard").
        ahead = frames / self.rate - (time.monotonic() - start)
        return not (ahead > 0 and _wait(stop, ahead))


class PcmStream:
    """An open playback PCM fed as audio arrives (see AudioDevices.open_stream)."""

    def __init__(self, pcm, route: str, name: str):
        self._pcm, self.route, self.name = pcm, route, name

    def write(self, samples: bytes):
        """Queue mono S16_LE samples; blocks only while the card's buffer is full."""
        try:
            _write_all(self._pcm, memoryview(samples))
        except alsaaudio.ALSAAudioError as e:
            raise HalError(f"audio {self.route}: PCM {self.name!r}: {e}") from e

    def close(self):
        self._pcm.close()


class CaptureStream:
    """An open mic PCM (see AudioDevices.open_capture)."""

    def __init__(self, pcm, route: str, name: str, rate: int, period_frames: int,
                 paced: bool = True):
        self._pcm, self.route, self.name, self._paced = pcm, route, name, paced
        self._rate, self._period_bytes = rate, period_frames * SAMPLE_BYTES
        self._start: float | None = None
        self._frames = 0

    def read(self) -> bytes:
        """The next period of mono S16_LE samples, returned once it has been spoken.

        A card blocks until the period is in, at its own clock (which may run a little off
        the host's: firmware/audio/drift.py follows it); the sim's file PCM has no clock and
        answers at once, so a ``paced`` stream keeps to the wall clock itself (as ``play``
        does): a caller never gets audio faster than it is spoken, on either."""
        data = bytearray()
        try:
            while len(data) < self._period_bytes:
                n, chunk = self._pcm.read()
                if n == -errno.EPIPE:
                    continue         # overrun: pyalsaaudio has re-prepared the stream
                if n < 0:
                    raise alsaaudio.ALSAAudioError(f"read failed ({n})")
                data += chunk
        except alsaaudio.ALSAAudioError as e:
            raise HalError(f"audio {self.route}: PCM {self.name!r}: {e}") from e
        period = bytes(data[:self._period_bytes])
        if not self._paced:
            return period
        now = time.monotonic()
        if self._start is None:
            self._start = now - PERIOD_S          # the first period was spoken just now
        self._frames += len(period) // SAMPLE_BYTES
        ahead = self._frames / self._rate - (now - self._start)
        if ahead > 0:
            time.sleep(ahead)
        elif ahead < -LEAD_PERIODS * PERIOD_S * 5:
            # a long stall (the reader was busy): start the clock again rather than burst
            self._start, self._frames = now - PERIOD_S, len(period) // SAMPLE_BYTES
        return period

    def close(self):
        self._pcm.close()


def _wait(stop: threading.Event | None, seconds: float) -> bool:
    """Sleep ``seconds``; True if ``stop`` was set meanwhile."""
    if stop is None:
        time.sleep(seconds)
        return False
    return stop.wait(seconds)


def _write_all(pcm, chunk: memoryview):
    while len(chunk):
        n = pcm.write(chunk)
        if n == -errno.EPIPE:
            continue         # underrun: pyalsaaudio has re-prepared the stream; write again
        if n <= 0:
            raise alsaaudio.ALSAAudioError(f"write accepted nothing ({n})")
        chunk = chunk[n * SAMPLE_BYTES:]
