"""Automatic level control end to end: agent 1001 speaking quietly, then loudly, into the sim
board's handset mic reaches a caller (a customers process of the test's own, through the
lab's proxy) at similar levels, as the caller measures what it hears."""
from firmware.audio.level import HIGH_DBFS, LOW_DBFS
from tests.audio import voice
from tools.lab import Desk


def say(desk: Desk, level: float) -> None:
    """The agent speaks a 1 kHz tone at ``level`` of full scale into the handset's mic."""
    audio = desk.phone.workdir / "state" / "run" / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    (audio / "mic.raw").write_bytes(voice(1000, 60, level))


def heard_at(lab, desk: Desk, caller, contact: str, want) -> dict:
    caller.send(op="dial", contact=contact, to=lab.extension_uri("1001"), ani="+15550008888",
                personal=True, talk_s=30)
    desk.wait_lcd("+15550008888")
    desk.hook(True)
    report = caller.wait(lambda e: e.get("contact") == contact and e["event"] == "audio"
                         and e["hz"] is not None and abs(e["hz"] - 1000) < 50
                         and want(e["level_dbfs"]), timeout=15)
    desk.hook(False)
    caller.wait(lambda e: e.get("contact") == contact and e["event"] == "ended")
    lab.wait_for(lambda: desk.status()["calls"] == "0", desc="the call over")
    return report


def test_a_quiet_agent_and_a_loud_one_reach_the_caller_at_similar_levels(lab, desk):
    caller = lab.customers_process()
    try:
        say(desk, 0.02)                                 # -37 dBFS: a quiet agent
        quiet = heard_at(lab, desk, caller, "quiet", lambda dbfs: dbfs >= LOW_DBFS - 2)
        say(desk, 0.9)                                  # -4 dBFS: a loud one
        loud = heard_at(lab, desk, caller, "loud", lambda dbfs: dbfs <= HIGH_DBFS + 2)
        # 33 dB apart as spoken; within the band's 10 dB (plus the codec's) as heard
        assert loud["level_dbfs"] - quiet["level_dbfs"] <= HIGH_DBFS - LOW_DBFS + 4
    finally:
        caller.close()
