"""Callbacks end to end (docs/cc-protocol.md, "Callbacks"): a web callback posted to ccsim's
admin API is offered to agent 1001's sim phone like a call, and once the agent answers, ccsim's
bridge calls the customer (a number the lab's customers answer) and joins them: audio both
ways, wrapped up, the callback done. And one scheduled on the phone's keypad from a call, its
rules checked by the phone and by ccsim, kept in ccsim's database."""
from datetime import UTC, datetime, timedelta

from tests.audio import near, speak
from tools.lab import Desk

AGENT_HZ = 1000


def available(desk: Desk) -> None:
    desk.key("soft1", "1")                  # State -> Available


def test_a_web_callback_is_offered_and_the_customer_called_back_on_the_agent_s_call(lab, desk):
    available(desk)
    speak(desk, AGENT_HZ)
    cb = lab.ccsim.call("POST", "/callbacks", {"name": "Zoë Ærø", "number": "555 0101",
                                                "queue": "sales", "reason": "Quote",
                                                "dnis": "shop.example"})
    desk.wait_lcd("Callback", "Zoe ?r?", "555 0101", timeout=15)   # the A00 ROM: no Æ, ø
    desk.key("soft1")                       # Accept
    desk.wait_lcd("Talking", timeout=20)    # Calling while the bridge rings her, then hers
    number = lab.ccsim.call("GET", "/numbers/5550101")     # the bridge called her
    assert number["incoming"]["from"] == "cc-bridge"
    cid = number["incoming"]["headers"]["X-CC-Contact-Id"]
    shown = lab.ccsim.call("GET", f"/callbacks/{cb['id']}")
    assert (shown["status"], shown["outcome"], shown["attempts"]) == ("done", "connected", 1)
    assert lab.contact(cid)["state"] == "assigned"
    lab.wait_for(lambda: (h := lab.heard(cid)) and near(h["hz"], AGENT_HZ), timeout=15,
                 desc="the customer hearing the agent")
    lab.wait_for(lambda: int(desk.calls()[0]["rx_packets"]) > 25, desc="the agent hearing")
    desk.key("soft2")                       # End
    desk.wait_lcd("Wrap-up")
    desk.key("soft1")                       # the first code
    lab.wait_for(lambda: lab.contact(cid)["wrapup"], desc="wrapped up")
    history = lab.ccsim.call("GET", f"/callbacks/{cb['id']}")["history"]
    assert [h["event"] for h in history] == ["created", "offered", "completed"]


def test_a_callback_scheduled_on_the_keypad_from_a_call(lab, desk):
    available(desk)
    cid = lab.post_contact("sales", "+15551234567")
    desk.wait_lcd("Call 1 of 1")
    desk.key("soft1")                       # Accept
    desk.wait_lcd("Talking")
    desk.key("soft4", "2")                  # More -> Callback
    desk.wait_lcd("Number*", "+15551234567")     # filled in from the call
    desk.key("down")
    desk.type("2662")                       # Name: A n a (multi-tap; another key commits)
    desk.key("down")
    at = datetime.now(UTC) + timedelta(hours=2)
    desk.type(at.strftime("%Y%m%d"))       # Date (the dashes typed for the agent)
    desk.key("down")
    desk.type(at.strftime("%H%M"))          # From
    desk.key("down")
    desk.type("0000")                       # To: midnight, before it starts
    desk.key("soft1")                       # Save: the phone's own check
    desk.wait_lcd("To: ends before it", "starts")   # wrapped on two rows
    desk.key("soft3")                       # Clear
    desk.type((at + timedelta(hours=1)).strftime("%H%M") if at.hour < 23 else "2359")
    desk.key("soft1")                       # Save: to ccsim
    desk.wait_lcd("Callback " + at.strftime("%Y-%m-%d"))
    [cb] = lab.ccsim.call("GET", "/callbacks")["callbacks"]
    assert (cb["name"], cb["number"], cb["queue"], cb["kind"], cb["created_by"]) == (
        "Ana", "+15551234567", "sales", "scheduled", "1001")
    assert cb["start_local"] == at.strftime("%H:%M") and cb["tz"] == "UTC"
    desk.key("soft4", "3")                  # More -> Callbacks: the customer's
    desk.wait_lcd(at.strftime("%m-%d %H:%M") + " Ana")
    assert lab.contact(cid)["state"] == "assigned"
