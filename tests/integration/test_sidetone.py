"""Sidetone end to end (real Kamailio, ccsim, a customers process and agent 1001's sim phone on
board/sim-room, whose codec loops the mic to the ear as the phone sets it: hal/sidetone.py):
on the handset the agent hears their own 1 kHz at the board's -18 dB under what the mic
hears, with the caller's 440 Hz; muted, not; on the speaker the loop is off."""
import math
import time
from pathlib import Path

from tests.audio import RATE, tone
from tools.ccsim.customers import tone_dbfs
from tools.lab import Desk

CALLER = "+15550007777"
AGENT_LEVEL = 0.3                # the agent's 1 kHz peak at the mic: -10.5 dBFS
WINDOW_S = 0.5


def at_the_ear(audio: Path) -> bytes:
    """The last WINDOW_S of what reached the handset's ear, after a fresh half second."""
    time.sleep(WINDOW_S + 0.2)
    return (audio / "ear-handset.raw").read_bytes()[-int(WINDOW_S * RATE) * 2:]


def test_the_agent_hears_their_own_voice_on_the_handset_and_not_when_muted(lab):
    board = str(Path(__file__).parents[2] / "board" / "sim-room" / "board.toml")
    desk = Desk(lab.phone("1001", board=board))
    caller = lab.customers_process()
    try:
        desk.wait_status(agent="IDLE", cc="up", sip="registered")
        audio = desk.phone.workdir / "state" / "run" / "audio"
        (audio / "voice-mic.raw").write_bytes(tone(1000, 30, AGENT_LEVEL))
        caller.send(op="dial", contact="side", to=lab.extension_uri("1001"), ani=CALLER,
                    personal=True, talk_s=30)
        desk.wait_lcd(CALLER)
        desk.hook(True)
        caller.wait(lambda e: e.get("contact") == "side" and e["event"] == "audio"
                    and e["heard_s"] >= 2, timeout=15)

        ear = at_the_ear(audio)
        own = tone_dbfs(ear, RATE, 1000)
        mic = 20 * math.log10(AGENT_LEVEL)
        assert abs(own - (mic - 18)) < 2, own                   # -28.5 dBFS: 18 dB under
        assert tone_dbfs(ear, RATE, 440) > -30                  # and the caller, louder

        desk.key("mute")
        assert tone_dbfs(at_the_ear(audio), RATE, 1000) < own - 30

        desk.key("mute")
        assert abs(tone_dbfs(at_the_ear(audio), RATE, 1000) - own) < 2

        desk.key("speaker")                                     # hands-free: the loop is off
        desk.hook(False)
        assert tone_dbfs(at_the_ear(audio), RATE, 1000) < own - 30
        desk.key("speaker")                                     # hang up
    finally:
        caller.close()
        desk.close()
