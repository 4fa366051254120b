"""The centre's pre-recorded messages and follow-ups, end to end (docs/cc-protocol.md): on a
call the bridge holds, More -> Message plays "Privacy notice" to the customer, who hears it
instead of the agent and then the agent again, and the phone is told it has played. A
follow-up set from a call for the next whole minute comes back at its time, on the phone until
OK; one in the past is refused on the phone. (One that comes due while ccsim is away: fired once
after its restart, tests/unit/test_ccsim_followups.py; brought back by the snapshot and shown
once, tests/unit/test_desk_requests.py: a run of it here waits a minute of CI for each.)"""
import time
import tomllib
from datetime import datetime, timedelta

import pytest

from tests.audio import customer_hears, speak
from tools.lab import Desk

AGENT_HZ = 1000                 # what the agent says (the sim mic)
PRIVACY_HZ = 1250               # demo.toml's message-privacy.raw, 3.5 s
NUMBER = "+15551234567"
NOTE = "Call back"


def talking(desk: Desk, lab) -> str:
    """A customer calls agent 1001 through the sales queue (the bridge holds the call), who
    answers; the contact's id."""
    return desk.answer_customer(lab, ani=NUMBER, talk_s=120)


def next_minute(margin_s: float = 8) -> datetime:
    """The next whole minute at least ``margin_s`` away (the keys take a moment to type)."""
    at = (datetime.now() + timedelta(minutes=1)).replace(second=0, microsecond=0)
    return at if (at - datetime.now()).total_seconds() >= margin_s else at + timedelta(minutes=1)


def fill_follow_up(desk: Desk, at: datetime, note: str = NOTE):
    """On the empty follow-up form: the date, the time and the note, then Save."""
    desk.wait_lcd("Date", "YYYY-MM-DD")
    desk.type(at.strftime("%Y%m%d"))            # the dashes typed for the agent
    desk.wait_lcd(at.strftime("%Y-%m-%d"))
    desk.key("soft2")                           # Next
    desk.type(at.strftime("%H%M"))
    desk.wait_lcd(at.strftime("%H:%M"))
    desk.key("soft2")                           # Next: the note, multi-tap
    desk.spell(note)
    desk.key("soft1")                           # Save


def follow_ups(lab) -> list[dict]:
    return lab.ccsim.call("GET", "/followups?agent=1001")["follow_ups"]


def wait_due(desk: Desk, at: datetime, *also: str, timeout: float) -> str:
    """The phone shows the follow-up: ``Follow-up  HH:MM`` on top, then its note (and ...)."""
    lcd = desk.wait_lcd("Follow-up", at.strftime("%H:%M"), NOTE, *also, timeout=timeout)
    assert lcd.splitlines()[0].split() == ["Follow-up", at.strftime("%H:%M")]
    return lcd


def test_a_recorded_message_is_played_to_the_customer_then_the_agent_again(lab, desk):
    scenario = tomllib.loads(lab.ccsim.scenario.read_text())
    assert {(m["code"], m["label"]) for m in scenario.get("messages", [])} >= {
        ("hold_on", "Please hold"), ("privacy", "Privacy notice")}, "the lab has no messages"
    speak(desk, AGENT_HZ)
    cid = talking(desk, lab)
    customer_hears(lab, cid, AGENT_HZ)

    desk.key("soft4", "7")                      # More -> Message
    desk.wait_lcd("< Please hold", "1/2 >")
    desk.key("right")
    desk.wait_lcd("< Privacy noti", "2/2 >")       # 20 columns: cut
    desk.key("soft1")                           # Save: play it
    desk.wait_shown("Playing Privacy notice")
    started = time.monotonic()
    customer_hears(lab, cid, PRIVACY_HZ, timeout=3)      # the message, not the agent
    customer_hears(lab, cid, AGENT_HZ, timeout=8)        # then the agent again
    assert time.monotonic() - started > 2.5     # (3.5 s of message)
    desk.wait_shown("Message played: Privacy notice", timeout=5)
    contact = lab.contact(cid)
    assert [m["code"] for m in contact["messages_played"]] == ["privacy"]
    assert contact["state"] == "assigned"       # still on the call
    assert desk.lcd()[-1].split() == ["Hold", "End", "Vars", "More"]   # the call's softkeys


@pytest.mark.slow
def test_a_follow_up_set_on_a_call_comes_back_at_its_time(lab, desk):
    cid = talking(desk, lab)
    desk.key("soft4", "8")                      # More -> Follow-up
    past = datetime.now() - timedelta(minutes=2)
    fill_follow_up(desk, past)
    desk.wait_shown("Time: not in the future")     # the phone's own check: nothing sent
    assert follow_ups(lab) == []

    at = next_minute()
    desk.key("soft3")                           # Clear the date (the draft is kept)
    desk.type(at.strftime("%Y%m%d"))
    desk.key("soft2", "soft3")                  # Next, Clear the time
    desk.type(at.strftime("%H%M"))
    desk.key("soft1")                           # Save
    desk.wait_shown(f"Follow-up set for {at:%m-%d %H:%M}")
    [f] = lab.wait_for(lambda: follow_ups(lab), desc="the follow-up at ccsim")
    assert (f["state"], f["contact"], f["customer"], f["note"]) == (
        "scheduled", cid, NUMBER, NOTE)
    assert abs(f["at"] - at.timestamp()) < 1    # on the server's clock: the phone's skew

    desk.key("soft2")                           # End
    desk.wait_lcd("Type 3+ to search")          # the wrap-up
    desk.key("soft1")                           # OK: its first code
    lab.wait_for(lambda: lab.contact(cid)["wrapup"], desc="wrapped up")

    wait_due(desk, at, NUMBER, timeout=at.timestamp() - time.time() + 10)
    assert lab.ccsim.call("GET", f"/followups/{f['id']}")["state"] == "due"
    desk.key("soft1")                           # OK
    done = lab.wait_for(lambda: (g := lab.ccsim.call("GET", f"/followups/{f['id']}"))
                        ["state"] == "done" and g, desc="done at ccsim")
    assert done["due_at"] >= at.timestamp() and done["done_at"] >= done["due_at"]
    assert "Follow-up" not in desk.text()
