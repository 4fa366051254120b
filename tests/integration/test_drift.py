"""Clock drift end to end: agent 1001's sim phone on board/sim-room with its card's clock 1,800
ppm off (nine times a bad crystal, so seconds show what minutes at 200 ppm would), talking on
a call: the phone measures the card's clock against its own from when the mic's periods
arrive (the console's card_ppm), and the caller hears the agent throughout. (Following the
drift with a resampler is firmware/audio/drift.py's ClockFollower, measured on a virtual
hour by tools/bench drift; the send path does not use it yet: README, "Clock drift".)"""
from pathlib import Path

import pytest

from tests.audio import voice
from tools.lab import Desk

CALLER = "+15550005555"


def drifting_board(tmp_path: Path, ppm: int) -> str:
    text = (Path(__file__).parents[2] / "board" / "sim-room" / "board.toml").read_text()
    text = text.replace("drift_ppm = 0 ", f"drift_ppm = {ppm} ")
    assert f"drift_ppm = {ppm} " in text
    board = tmp_path / "board.toml"
    board.write_text(text)
    return str(board)


@pytest.mark.parametrize("ppm", [1800, -1800])
def test_a_drifting_card_is_measured(lab, tmp_path, ppm):
    desk = Desk(lab.phone("1001", board=drifting_board(tmp_path, ppm)))
    caller = lab.customers_process()
    try:
        desk.wait_status(agent="IDLE", cc="up", sip="registered")
        audio = desk.phone.workdir / "state" / "run" / "audio"
        (audio / "voice-mic.raw").write_bytes(voice(1000, 30, 0.3))
        caller.send(op="dial", contact="drift", to=lab.extension_uri("1001"), ani=CALLER,
                    personal=True, talk_s=40)
        desk.wait_lcd(CALLER)
        desk.hook(True)

        def at(seconds: float) -> dict[str, str]:
            caller.wait(lambda e: e.get("contact") == "drift" and e["event"] == "audio"
                        and e["heard_s"] >= seconds, timeout=seconds + 15)
            return desk.calls()[0]

        early, later = at(6), at(20)
        assert early["card_ppm"] != "-" and abs(int(early["card_ppm"]) - ppm) < 150, early
        assert abs(int(later["card_ppm"]) - ppm) < 30, later       # closer, the longer
        heard = caller.wait(lambda e: e.get("contact") == "drift" and e["event"] == "audio"
                            and e["heard_s"] >= 21, timeout=5)
        assert heard["hz"] is not None and abs(heard["hz"] - 1000) < 50, heard
        desk.hook(False)
    finally:
        caller.close()
        desk.close()
