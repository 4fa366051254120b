"""The sim board's room: what its mics hear when the phone sits on a desk on a busy floor.

A board file's ``[sim.room]`` section describes it (data, so a test names the room it wants
and a real rig's figures can be written the same way):

    [sim.room]
    drift_ppm = 0          # the sound card's clock against the wall (and so the call's)
    noise = "pink"         # the floor: "pink" (air conditioning), "white", "floor" (pink
                           # plus keyboard clicks), "none", or a raw file (babble) looped
    noise_dbfs = -50       # its RMS level at the mic

    [sim.room.speaker]     # one table per route whose sound reaches a mic
    mic = "mic"            # the mic route that hears it
    gain_db = -6           # the echo path's gain (all of the response's energy)
    delay_ms = 10          # the direct sound's delay (the distance)
    rt60_ms = 120          # reverberation: the time the tail takes to fall 60 dB
    length_ms = 120        # the response's length
    drive = 1.5            # the small speaker's nonlinearity, y = tanh(drive x) / drive

Each mic then hears: the agent (``voice-<mic pcm>.raw`` in the audio directory, looped; the
tests write it), plus what each coupled route played through its speaker nonlinearity and
impulse response, plus the floor noise. ``Room`` is that model, pure and clocked by the
caller (the benches run it on a virtual clock); ``LiveRoom`` runs it in real time under the
real ALSA PCMs: the coupled playback PCMs write into FIFOs it drains into a ``CardBuffer``
each (a card's buffer, with its start threshold), the mic PCMs read from FIFOs it fills one
period per tick of its own clock, as a sound card would. Each second it writes the playback
cards' counters (periods lost to a full card, ticks it ran dry) to ``room.json`` there.
"""
from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import stat
import struct
import termios
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..sidetone import STATE_FILE as SIDETONE_FILE
from ..sidetone import read_sim_state

log = logging.getLogger("hardphone.sim")

PERIOD_S = 0.020
NOISES = ("none", "white", "pink", "floor")
CARD_PERIODS = 4         # a playback card holds this much; beyond it, what is played is lost
START_PERIODS = 2        # a card plays once it holds this much (its start threshold), so a
                         # write a little late finds it still playing, not run dry
STATS_TICKS = 50         # the cards' counters are written to STATS_FILE this often (1 s)
STATS_FILE = "room.json"
EAR_KEEP_S = 30          # ear-<pcm>.raw keeps about this much of what reached the ear
SIDETONE_MIC = {"handset": "mic", "headset": "headset_mic"}    # the codec's loop, per ear
MIC_PERIODS = 2          # recorded periods a mic holds for a reader that is not reading
STALL_S = 0.010          # a tick of the room this late: the host held the phone's process


class RoomError(ValueError):
    pass


@dataclass(frozen=True)
class EchoPath:
    route: str
    mic: str = "mic"
    gain_db: float = -6.0
    delay_ms: float = 10.0
    rt60_ms: float = 120.0
    length_ms: float = 120.0
    drive: float = 1.5

    def response(self, rate: int, seed: int = 7) -> np.ndarray:
        """The impulse response: the direct sound, then a tail of reflections decaying by
        60 dB in rt60_ms, scaled so its energy is gain_db."""
        n = max(1, int(self.length_ms * rate / 1000))
        d = min(n - 1, int(self.delay_ms * rate / 1000))
        t = np.arange(n - d) / rate
        rng = np.random.default_rng(seed)
        tail = rng.standard_normal(n - d) * np.exp(-6.9 * t / (self.rt60_ms / 1000)) * 0.3
        tail[0] = 1.0
        ir = np.zeros(n)
        ir[d:] = tail
        return ir * (10 ** (self.gain_db / 20) / np.sqrt(np.sum(ir ** 2)))

    def speaker(self, x: np.ndarray) -> np.ndarray:
        """A small speaker driven hard: soft clipping (normalised samples in, out)."""
        return np.tanh(self.drive * x) / self.drive if self.drive > 0 else x


@dataclass(frozen=True)
class RoomSpec:
    paths: tuple[EchoPath, ...] = ()
    noise: str = "none"
    noise_dbfs: float = -50.0
    drift_ppm: float = 0.0
    noise_file: Path | None = field(default=None)

    @classmethod
    def from_board(cls, data: dict, board_dir: Path) -> RoomSpec:
        """``data``: the board's [sim.room] table. Bad values say which and why."""
        def num(t: dict, key: str, default: float, lo: float, hi: float, where: str) -> float:
            v = t.get(key, default)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
                raise RoomError(f"[{where}] {key}: must be a number {lo:g} to {hi:g}, got {v!r}")
            return float(v)

        paths = []
        for route, t in data.items():
            if not isinstance(t, dict):
                continue
            if route not in ("handset", "headset", "speaker"):
                raise RoomError(f"[sim.room.{route}]: not a route that plays "
                                f"(handset, headset, speaker)")
            where = f"sim.room.{route}"
            mic = t.get("mic", "headset_mic" if route == "headset" else "mic")
            if mic not in ("mic", "headset_mic"):
                raise RoomError(f"[{where}] mic: must be mic or headset_mic, got {mic!r}")
            paths.append(EchoPath(route, mic, num(t, "gain_db", -6, -90, 20, where),
                                  num(t, "delay_ms", 10, 0, 200, where),
                                  num(t, "rt60_ms", 120, 1, 2000, where),
                                  num(t, "length_ms", 120, 1, 500, where),
                                  num(t, "drive", 1.5, 0, 10, where)))
        noise = data.get("noise", "none")
        noise_file = None
        if not isinstance(noise, str):
            raise RoomError(f"[sim.room] noise: must be a string, got {noise!r}")
        if noise not in NOISES:
            noise_file = (board_dir / noise).resolve()
            if not noise_file.is_file():
                raise RoomError(f"[sim.room] noise: {noise!r} is neither one of "
                                f"{', '.join(NOISES)} nor a file")
        return cls(tuple(paths), noise, num(data, "noise_dbfs", -50, -120, 0, "sim.room"),
                   num(data, "drift_ppm", 0, -5000, 5000, "sim.room"), noise_file)


def _to_float(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768


def _to_pcm(x: np.ndarray) -> bytes:
    return (np.clip(x, -1, 32767 / 32768) * 32768).astype("<i2").tobytes()


class Noise:
    """The floor's noise, one period at a time, at an RMS of ``dbfs``."""

    def __init__(self, kind: str, dbfs: float, rate: int, sample: bytes | None = None,
                 seed: int = 11) -> None:
        self._kind, self._rate = kind, rate
        self._rms = 10 ** (dbfs / 20)
        self._rng = np.random.default_rng(seed)
        self._pink_state = np.zeros(3)
        self._clicks_left = 0
        self._sample = _to_float(sample) if sample else None
        self._at = 0
        if self._sample is not None and len(self._sample):
            self._sample *= self._rms / max(1e-9, float(np.sqrt(np.mean(self._sample ** 2))))

    def period(self, n: int) -> np.ndarray:
        if self._sample is not None and len(self._sample):
            idx = (self._at + np.arange(n)) % len(self._sample)
            self._at = (self._at + n) % len(self._sample)
            return self._sample[idx]
        if self._kind == "none":
            return np.zeros(n)
        white = self._rng.standard_normal(n)
        if self._kind == "white":
            return white * self._rms
        out = self._pink(white) * self._rms
        if self._kind == "floor":
            out += self._clicks(n)
        return out

    def _pink(self, white: np.ndarray) -> np.ndarray:
        # Paul Kellett's economy filter: three one-pole stages sum to about -3 dB/octave
        b = self._pink_state
        out = np.empty_like(white)
        for i, w in enumerate(white):
            b[0] = 0.99765 * b[0] + w * 0.0990460
            b[1] = 0.96300 * b[1] + w * 0.2965164
            b[2] = 0.57000 * b[2] + w * 1.0526913
            out[i] = b[0] + b[1] + b[2] + w * 0.1848
        return out / 3.4                      # about unit RMS

    def _clicks(self, n: int) -> np.ndarray:
        """Keyboards: a decaying click now and then, 10 dB over the floor."""
        out = np.zeros(n)
        if self._rng.random() < 0.15:
            at = int(self._rng.integers(0, n))
            k = np.arange(n - at)
            out[at:] = (self._rng.standard_normal(n - at) * np.exp(-k / (0.002 * self._rate))
                        * self._rms * 3)
        return out


class Room:
    """The room's sound, period by period: ``hear(mic, played)`` where ``played`` maps each
    coupled route to what its speaker played during the period (bytes; missing = silence)."""

    def __init__(self, spec: RoomSpec, rate: int) -> None:
        self.spec, self.rate = spec, rate
        self.period = int(rate * PERIOD_S)
        self._paths = {p.route: p for p in spec.paths}
        self._irs = {p.route: p.response(rate) for p in spec.paths}
        self._history = {p.route: np.zeros(len(self._irs[p.route]) - 1) for p in spec.paths}
        sample = spec.noise_file.read_bytes() if spec.noise_file else None
        self._noise = {mic: Noise(spec.noise, spec.noise_dbfs, rate, sample, seed=11 + i)
                       for i, mic in enumerate(("mic", "headset_mic"))}

    def echo(self, route: str, played: bytes) -> np.ndarray:
        """What the mic hears of ``route``'s period ``played`` (normalised floats)."""
        x = self._paths[route].speaker(_to_float(played))
        full = np.concatenate([self._history[route], x])
        self._history[route] = full[len(x):]
        return np.convolve(full, self._irs[route], mode="valid")

    def hear(self, mic: str, voice: bytes, played: dict[str, bytes]) -> bytes:
        """One period at ``mic``: the agent's ``voice`` plus the echoes plus the floor."""
        n = self.period
        out = _to_float(voice) if voice else np.zeros(n)
        for path in self.spec.paths:
            if path.mic == mic:
                pcm = played.get(path.route, b"").ljust(n * 2, b"\0")[:n * 2]
                out = out + self.echo(path.route, pcm)
        return _to_pcm(out + self._noise[mic].period(n))


class CardBuffer:
    """A playback card's buffer, period by period: what is written waits in it; each tick
    of the card's clock plays one period once START_PERIODS are in (and again after it ran
    dry: an underrun); beyond CARD_PERIODS the oldest is lost, as a full card loses it."""

    def __init__(self, period_bytes: int) -> None:
        self._period = period_bytes
        self._buf = bytearray()
        self._playing = False
        self.lost = 0            # periods written that the card had no room for
        self.underruns = 0       # ticks it ran dry while playing

    @property
    def queued(self) -> int:
        """Bytes written and not played yet."""
        return len(self._buf)

    def write(self, written: bytes) -> None:
        """``written`` comes in; beyond CARD_PERIODS the oldest is lost."""
        buf, period = self._buf, self._period
        buf += written
        if len(buf) > CARD_PERIODS * period:
            self.lost += (len(buf) - CARD_PERIODS * period) // period
            del buf[:len(buf) - CARD_PERIODS * period]

    def play(self, written: bytes = b"") -> bytes:
        """This tick's period, after ``written`` (what came in since the last tick); empty
        while the card is not playing."""
        self.write(written)
        buf, period = self._buf, self._period
        self._playing = self._playing or len(buf) >= START_PERIODS * period
        if not self._playing:
            return b""
        if len(buf) < period:
            self.underruns += 1
            self._playing = False
            return b""
        out = bytes(buf[:period])
        del buf[:period]
        return out


def _make_fifo(path: Path) -> None:
    if path.exists() and not stat.S_ISFIFO(path.stat().st_mode):
        path.unlink()
    if not path.exists():
        os.mkfifo(path)


def _queued(fd: int) -> int:
    return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]


class LiveRoom:
    """The room in real time between the sim's ALSA PCMs (a background service)."""

    def __init__(self, spec: RoomSpec, rate: int, audio_dir: Path, pcm: dict[str, str]):
        self.room = Room(spec, rate)
        self._dir, self._pcm = Path(audio_dir), pcm
        self._period_bytes = self.room.period * 2
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._mics = sorted({p.mic for p in spec.paths} | {"mic"})
        self.mics = tuple(self._mics)      # the mic routes it fills, at its card's clock
        self._routes = [p.route for p in spec.paths]
        self._dir.mkdir(parents=True, exist_ok=True)
        for name in [pcm[m] for m in self._mics] + [pcm[r] for r in self._routes]:
            _make_fifo(self._dir / f"{name}.raw")
        # open both ends' partners now, so the PCMs' opens never block
        self._played_fd = {r: os.open(self._dir / f"{pcm[r]}.raw", os.O_RDONLY | os.O_NONBLOCK)
                           for r in self._routes}
        self._mic_fd = {m: os.open(self._dir / f"{pcm[m]}.raw", os.O_RDWR) for m in self._mics}
        self._cards = {r: CardBuffer(self._period_bytes) for r in self._routes}
        self._voices: dict[str, tuple[float, bytes, int]] = {}
        self._sidetone: tuple[float, str | None, float] = (-1.0, None, 0.0)  # mtime, route, gain
        # times the host held this process (the room's tick STALL_S late): a card's writer in
        # it was held as long, which a real card's DMA would not wait for either
        self.stalls = 0

    async def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sim-room", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        for fd in [*self._played_fd.values(), *self._mic_fd.values()]:
            os.close(fd)

    def _voice(self, mic: str) -> bytes:
        """The next period the agent says into ``mic`` (its voice file, looped)."""
        path = self._dir / f"voice-{self._pcm[mic]}.raw"
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            return b""
        known = self._voices.get(mic)
        if known is None or known[0] != mtime:
            known = (mtime, path.read_bytes(), 0)
        _, data, at = known
        if len(data) < self._period_bytes:
            return b""
        chunk = (data[at:] + data)[:self._period_bytes]
        self._voices[mic] = (mtime, data, (at + self._period_bytes) % len(data))
        return chunk

    def _drain(self, route: str) -> bytes:
        """This period's sound from ``route``'s card."""
        buf = bytearray()
        while True:
            try:
                chunk = os.read(self._played_fd[route], 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            buf += chunk
        return self._cards[route].play(bytes(buf))

    def _write_stats(self) -> None:
        """The playback cards' counters, for tests: ``{"cards": {route: {"lost": n,
        "underruns": n}}, "stalls": n}`` in the audio dir (replaced whole, never half-written)."""
        cards = {r: {"lost": c.lost, "underruns": c.underruns} for r, c in self._cards.items()}
        path = self._dir / STATS_FILE
        try:
            path.with_suffix(".tmp").write_text(json.dumps({"cards": cards,
                                                            "stalls": self.stalls}))
            path.with_suffix(".tmp").replace(path)
        except OSError as e:
            log.error("sim room: %s: %s", path, e)

    def _sidetone_now(self) -> tuple[str | None, float]:
        """(route, linear gain) of the codec's sidetone loop as the phone set it last."""
        try:
            mtime = (self._dir / SIDETONE_FILE).stat().st_mtime
        except OSError:
            return None, 0.0
        if mtime != self._sidetone[0]:
            route, db = read_sim_state(self._dir)
            self._sidetone = (mtime, route, 0.0 if db is None else 10 ** (db / 20))
        return self._sidetone[1], self._sidetone[2]

    def _to_ear(self, played: dict[str, bytes], heard: dict[str, bytes]) -> None:
        """What reaches the ear of each coupled route this tick, what its card played plus
        the sidetone, appended to ``ear-<pcm>.raw`` (for tests; restarted past EAR_KEEP_S)."""
        route_on, gain = self._sidetone_now()
        for route in self._routes:
            ear = _to_float(played[route] or bytes(self._period_bytes))
            mic = SIDETONE_MIC.get(route)
            if route == route_on and mic in heard:
                ear = ear + gain * _to_float(heard[mic])
            path = self._dir / f"ear-{self._pcm[route]}.raw"
            try:
                mode = "ab" if path.exists() and path.stat().st_size < (
                    EAR_KEEP_S * self._period_bytes / PERIOD_S) else "wb"
                with open(path, mode) as f:
                    f.write(_to_pcm(ear))
            except OSError as e:
                log.error("sim room: %s: %s", path, e)

    def _run(self) -> None:
        tick = PERIOD_S / (1 + self.room.spec.drift_ppm * 1e-6)
        start, n, stalled = time.monotonic(), 0, False
        while not self._stop.is_set():
            late = time.monotonic() - (start + n * tick) > STALL_S
            self.stalls += late and not stalled
            stalled = late
            played = {r: self._drain(r) for r in self._routes}
            heard: dict[str, bytes] = {}
            for mic in self._mics:
                pcm = heard[mic] = self.room.hear(mic, self._voice(mic), played)
                fd = self._mic_fd[mic]
                try:
                    if _queued(fd) > MIC_PERIODS * self._period_bytes:
                        os.read(fd, self._period_bytes)      # nobody reads: the card overruns
                    os.write(fd, pcm)
                except OSError as e:
                    if e.errno != errno.EAGAIN:
                        log.error("sim room: mic %s: %s", mic, e)
            self._to_ear(played, heard)
            n += 1
            if n % STATS_TICKS == 0:
                self._write_stats()
            delay = start + n * tick - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            elif delay < -0.5:                  # the machine stalled: start the clock again
                start, n = time.monotonic(), 0
