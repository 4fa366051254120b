"""Acoustic shock protection end to end: a caller whose line sends a tone at full scale (a fax
tone, a shriek) reaches agent 1001's handset no louder than the board's ceiling (-6 dBFS on
the sim board), while a caller at an ordinary level is heard as sent. The caller is a
customers process of the test's own, on a personal call through the lab's proxy."""
import numpy as np

from firmware.audio.limiter import ceiling_of
from tests.audio import RATE, near, played_hz
from tools.lab import Desk

CEILING = ceiling_of(-6.0)              # board/sim: [audio.limit_dbfs] left at the default


def handset_peak(desk: Desk, seconds: float = 0.5) -> int:
    raw = desk.phone.workdir / "state" / "run" / "audio" / "handset.raw"
    pcm = np.frombuffer(raw.read_bytes()[-int(seconds * RATE) * 2:], "<i2").astype(np.int32)
    return int(np.max(np.abs(pcm)))


def call_in(lab, desk: Desk, caller, contact: str, hz: int, level: float) -> None:
    caller.send(op="dial", contact=contact, to=lab.extension_uri("1001"), ani="+15550009999",
                personal=True, talk_s=30, hz=hz, level=level)
    desk.wait_lcd("+15550009999")
    desk.hook(True)                                     # answered on the handset
    lab.wait_for(lambda: near(played_hz(desk, "handset"), hz), timeout=10,
                 desc=f"the handset playing the caller's {hz} Hz")


def test_a_full_scale_tone_reaches_the_ear_at_the_ceiling_and_a_voice_as_sent(lab, desk):
    caller = lab.customers_process()
    try:
        call_in(lab, desk, caller, "loud", 2100, 1.0)
        # the handset as loud as it goes (10: received audio as it came), so only the limiter
        # stands between the burst and the ear
        desk.key(*["volup"] * 5)
        desk.wait_lcd("Handset volume 10")
        lab.wait_for(lambda: handset_peak(desk) > 0.9 * CEILING, timeout=5,
                     desc="the burst at full volume")
        loud = handset_peak(desk)
        assert 0.9 * CEILING < loud <= CEILING, loud    # held down, still heard
        desk.hook(False)
        caller.wait(lambda e: e.get("contact") == "loud" and e["event"] == "ended")
        lab.wait_for(lambda: desk.status()["calls"] == "0", desc="the call over")

        call_in(lab, desk, caller, "quiet", 440, 0.3)
        # still at 10 (kept); -10.5 dBFS is under the ceiling: as sent, once the window holds
        # this call only
        lab.wait_for(lambda: abs(handset_peak(desk) - 0.3 * 32767) < 0.05 * 32767, timeout=5,
                     desc="the voice-level tone played as sent")
        desk.hook(False)
    finally:
        caller.close()
