"""What a sim phone says and plays, for the tests that check a call's audio: a tone written
into the sim board's mic files (the agent speaking) and the pitch of what a route's PCM file
played last (the agent hearing)."""
from __future__ import annotations

import numpy as np
import pytest

from tools.ccsim.customers import tones
from tools.lab import Desk

RATE = 8000                         # the sim board's PCMs: 8 kHz mono S16_LE

# A test that times audio in real time (a card's ticks against the stack's, a jitter buffer's
# wait, a canceller's adaptation) on a shared host: the host holding a process a few ms at the
# wrong moment fails it, and CI's two cores run the lab, the phone and the customers at once.
# Its assertions stay as strict as the phone is; it runs again, up to twice, when it fails (the
# summary's "R"). A fault of the phone fails all three.
REALTIME = pytest.mark.flaky(reruns=2, reruns_delay=1)


def tone(hz: float, seconds: float, level: float = 0.3) -> bytes:
    t = np.arange(int(seconds * RATE)) / RATE
    return (level * 32767 * np.sin(2 * np.pi * hz * t)).astype("<i2").tobytes()


def voice(hz: float, seconds: float, level: float = 0.3) -> bytes:
    """A tone that talks as a voice does: 400 ms syllables, 100 ms pauses between them (the
    level control tells a voice from a room's steady hum by them)."""
    t = np.arange(int(seconds * RATE)) / RATE
    on = (t % 0.5) < 0.4
    return (level * 32767 * np.sin(2 * np.pi * hz * t) * on).astype("<i2").tobytes()


def speak(desk: Desk, hz: float, seconds: float = 60, mic: str = "mic") -> None:
    """The agent says ``hz`` into ``mic`` (the handset's, which hands-free uses too, or
    ``headset_mic``) from the start of each call."""
    audio = desk.phone.workdir / "state" / "run" / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    (audio / f"{mic}.raw").write_bytes(tone(hz, seconds))


def played_hz(desk: Desk, route: str, seconds: float = 0.5) -> int | None:
    """The loudest frequency (10 Hz steps) of the last ``seconds`` the phone played on
    ``route`` (handset, speaker, headset); None while it played less than that."""
    raw = desk.phone.workdir / "state" / "run" / "audio" / f"{route}.raw"
    if not raw.exists() or raw.stat().st_size < seconds * RATE * 2:
        return None
    pcm = np.frombuffer(raw.read_bytes()[-int(seconds * RATE) * 2:], dtype="<i2")
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm))))
    return int(round(np.argmax(spectrum) * RATE / len(pcm) / 10) * 10)


def played_tones(desk: Desk, route: str, seconds: float = 0.5) -> list[int]:
    """The tones of the last ``seconds`` the phone played on ``route``, lowest first (the
    spectrum's peaks, tools/ccsim/customers.tones: a conference's mix); [] before that."""
    raw = desk.phone.workdir / "state" / "run" / "audio" / f"{route}.raw"
    if not raw.exists() or raw.stat().st_size < seconds * RATE * 2:
        return []
    return tones(raw.read_bytes()[-int(seconds * RATE) * 2:], RATE)


def near(got: float | None, want: float | None) -> bool:
    """``got`` within 3 % of ``want`` (None wants None: silence)."""
    return got is None if want is None else got is not None and abs(got - want) < want * 0.03


def customer_hears(lab, cid: str, hz: float | None, timeout: float = 10) -> dict:
    """Wait until the lab's customer of contact ``cid`` hears ``hz`` (None: silence); their
    latest report."""
    return lab.wait_for(lambda: (h := lab.heard(cid)) and near(h["hz"], hz) and h,
                        timeout=timeout, desc=f"the customer hearing {hz or 'silence'}")
