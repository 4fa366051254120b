"""Hands-free in a room, end to end (real Kamailio, ccsim, a customers process, and agent 1001's
sim phone on board/sim-room, whose mic hears its speaker through a small speaker and a room):
the caller hears the agent and not themselves. The same call on the same room with the echo
canceller off (a board without echo routes) plays the caller's own voice back to them: the
room is real, and the canceller is what removes it."""
import json
import math
from pathlib import Path

from tests.audio import RATE, REALTIME, tone
from tools import speech
from tools.lab import Desk

CALLER = "+15550006666"
CALLER_HZ, AGENT_HZ = 440, 1000


def room_board(tmp_path: Path, echo_routes: str, noise: str = "floor") -> str:
    """board/sim-room as it is, with its echo routes set to ``echo_routes`` (TOML) and the
    floor's ``noise``."""
    text = (Path(__file__).parents[2] / "board" / "sim-room" / "board.toml").read_text()
    text = text.replace('echo_routes = ["speaker"]', f"echo_routes = {echo_routes}")
    text = text.replace('noise = "floor"', f'noise = "{noise}"')
    board = tmp_path / "board.toml"
    board.write_text(text)
    return str(board)


def hands_free_call(lab, board: str, contact: str, noise_removal: bool = False,
                    voice: bytes = tone(AGENT_HZ, 30, 0.3), caller_level: float = 0.3
                    ) -> tuple[list[dict], list[dict], list[dict]]:
    """Agent 1001 takes a call hands-free at the speaker's top volume, with noise removal off
    (the canceller alone is measured) unless ``noise_removal``, from a caller sounding
    CALLER_HZ at ``caller_level``; silent for 6 s, then saying ``voice``. Returns what the
    caller heard (its reports every 0.5 s) in the call's first 2 s and from 4 to 6 s, the
    agent silent, and from 9 to 13 s, the agent talking."""
    desk = Desk(lab.phone("1001", board=board))
    caller = lab.customers_process()
    audio = desk.phone.workdir / "state" / "run" / "audio"
    said = audio / "voice-mic.raw"
    said.unlink(missing_ok=True)
    try:
        desk.wait_status(agent="IDLE", cc="up", sip="registered")
        if not noise_removal:                    # on for the speaker unless the agent says
            desk.key("ok", "1", "7")             # Menu -> Settings -> Noise removal
            desk.wait_lcd("Noise removal")
            desk.key("3")                        # off for the speaker
            desk.wait_lcd("Speaker         Off")
            desk.key("back", "back", "back")
        caller.send(op="dial", contact=contact, to=lab.extension_uri("1001"), ani=CALLER,
                    personal=True, talk_s=30, hz=CALLER_HZ, level=caller_level)
        desk.wait_lcd(CALLER)
        desk.key("speaker")
        desk.wait_status(calls="1", nr_voice="on" if noise_removal else "off")
        for _ in range(5):
            desk.key("volup")                    # the speaker as loud as it goes: 10

        def heard(since: float, until: float) -> list[dict]:
            caller.wait(lambda e: e.get("contact") == contact and e["event"] == "audio"
                        and e["heard_s"] >= until, timeout=until + 10)
            events = (json.loads(line) for line in list(caller.process.lines))
            return [e for e in events if e.get("contact") == contact
                    and e["event"] == "audio" and since <= e["heard_s"] <= until]

        first = heard(0, 2)
        silent = heard(4, 6)
        said.write_bytes(voice)
        talking = heard(9, 13)
        desk.key("speaker")                      # hang up
        caller.wait(lambda e: e.get("contact") == contact and e["event"] == "ended")
        return first, silent, talking
    finally:
        caller.close()
        desk.close()


def mean_dbfs(reports: list[dict]) -> float:
    return 10 * math.log10(sum(10 ** (r["level_dbfs"] / 10) for r in reports) / len(reports))


@REALTIME
def test_on_hands_free_the_caller_hears_the_agent_and_not_themselves(lab, tmp_path):
    first, silent, talking = hands_free_call(lab, room_board(tmp_path, '["speaker"]'), "aec")
    # the agent silent: nothing of the caller's tone comes back (it plays at -10 dBFS), from
    # the first call's start, while the canceller is still learning the room (the gate:
    # without it, -53 dBFS in these 2 s), and once it has
    assert max(r["own_dbfs"] for r in first) < -55, first
    assert max(r["own_dbfs"] for r in silent) < -50, silent
    # the agent talking: their tone, and still not the caller's
    for r in talking:
        assert r["hz"] is not None and abs(r["hz"] - AGENT_HZ) < 50, r
        assert CALLER_HZ not in r["tones"] and r["own_dbfs"] < -50, r


@REALTIME
def test_without_the_canceller_the_caller_hears_themselves(lab, tmp_path):
    _, silent, talking = hands_free_call(lab, room_board(tmp_path, "[]"), "no-aec")
    for r in silent:
        assert r["hz"] is not None and abs(r["hz"] - CALLER_HZ) < 30, r
        assert r["own_dbfs"] > -30, r
    assert all(r["own_dbfs"] > -30 and CALLER_HZ in r["tones"] for r in talking), talking


@REALTIME
def test_noise_removal_takes_the_floor_out_of_what_the_caller_hears(lab, tmp_path):
    """The room's air conditioning (steady pink noise at -45 dBFS) reaches the caller while
    the agent is silent; with noise removal on (the speaker's default) far less of it. (The
    caller hardly makes a sound: what they hear is the room, not their echo.)"""
    board = room_board(tmp_path, '["speaker"]', noise="pink")
    said = speech.agent(RATE)
    _, removed, cleaned = hands_free_call(lab, board, "quiet", noise_removal=True, voice=said,
                                       caller_level=0.001)
    _, kept, spoken = hands_free_call(lab, board, "noisy", voice=said,   # the agent turned it off
                                   caller_level=0.001)
    assert mean_dbfs(kept) - mean_dbfs(removed) >= 12, (kept, removed)
    # the agent's speech comes through it at much the level it has without it
    assert mean_dbfs(cleaned) > mean_dbfs(spoken) - 4, (cleaned, spoken)
