"""Calls the agent dials on the keypad, end to end: the phone asks ccsim, which makes an outbound
contact (or says the call is internal, or refuses it at the centre's call limit), then the
phone's INVITE goes through the real Kamailio to a number the simulated customers answer,
refuse or let ring, or to another agent's phone. Audio is checked both ways."""
import re

import pytest

from tests.audio import near, speak
from tools.lab import DEMO_SCENARIO, Desk, Lab

ANSWERS, BUSY = "5550100", "5550199"
AGENT_HZ = 1000


def dial(desk: Desk, number: str) -> None:
    desk.type(number)
    desk.key("ok")


def outbound_contact(lab: Lab, agent: str = "1001") -> dict:
    """The agent's latest contact event, as ccsim stored it."""
    events = lab.ccsim.call("GET", f"/agents/{agent}/events?after=0")["events"]
    contacts = [e["message"]["contact"] for e in events if e["message"]["type"] == "contact"]
    return contacts[-1] if contacts else {}


def test_an_outbound_call_is_a_contact_with_audio_both_ways_and_a_wrap_up(lab, desk):
    speak(desk, AGENT_HZ)
    dial(desk, ANSWERS)
    desk.wait_lcd("Talking", ANSWERS)
    contact = lab.wait_for(lambda: (c := outbound_contact(lab)) and c.get("kind") == "outbound"
                           and c, desc="the outbound contact")
    cid = contact["id"]
    lab.wait_for(lambda: lab.contact(cid)["state"] == "assigned", desc="assigned at ccsim")
    assert lab.contact(cid)["kind"] == "outbound" and lab.contact(cid)["ani"] == ANSWERS
    assert lab.agent("1001")["state"] == "talking"
    # the number heard the agent's 1 kHz; the agent hears the number's own tone
    lab.wait_for(lambda: (h := lab.heard(cid)) and near(h["hz"], AGENT_HZ),
                 desc="the customer hearing the agent")
    lab.wait_for(lambda: int(desk.calls()[0]["rx_packets"]) > 25, desc="the agent hearing")
    number = lab.ccsim.call("GET", f"/numbers/{ANSWERS}")
    assert number["incoming"]["from"] == "1001"
    assert number["incoming"]["headers"]["X-CC-Contact-Id"] == cid
    desk.key("soft2")                                      # End
    desk.wait_lcd("Wrap-up")
    lab.wait_for(lambda: lab.contact(cid)["state"] == "wrapup", desc="wrap-up at ccsim")
    desk.type("7253")
    desk.wait_lcd("Sale made")
    desk.key("soft1")
    lab.wait_for(lambda: lab.contact(cid)["wrapup"] == "sale_made", desc="wrapped up")
    desk.wait_lcd("Idle")                                  # back to the Idle it dialed from


def test_a_busy_number_and_one_that_does_not_exist_say_why_and_leave_no_wrap_up(lab, desk):
    dial(desk, BUSY)
    desk.wait_lcd("Call failed", "(486)")
    lab.wait_for(lambda: desk.status()["calls"] == "0", desc="no call left")
    cid = outbound_contact(lab)["id"]
    lab.wait_for(lambda: lab.contact(cid)["state"] == "abandoned", desc="the contact over")
    dial(desk, "5550404")                                  # nobody registered it
    desk.wait_lcd("Call failed", "(404)")
    lab.wait_for(lambda: desk.status()["calls"] == "0", desc="no call left")
    assert "Wrap-up" not in desk.text() and desk.status()["agent"] == "IDLE"


def test_redial_calls_the_last_number_again(lab, desk):
    dial(desk, BUSY)
    desk.wait_lcd("Call failed", "(486)")
    lab.wait_for(lambda: desk.status()["calls"] == "0", desc="no call left")
    desk.key("redial")
    desk.wait_lcd("Call failed", "(486)")
    events = lab.ccsim.call("GET", "/agents/1001/events?after=0")["events"]
    dialed = {e["message"]["contact"]["id"] for e in events
              if e["message"]["type"] == "contact" and e["message"]["contact"].get("kind")}
    assert len(dialed) == 2                                 # two outbound contacts


def test_an_agent_is_an_internal_call_to_their_phone(lab, desk):
    other = Desk(lab.phone("1002", pin="5678"))
    other.wait_status(agent="IDLE", sip="registered")
    speak(desk, AGENT_HZ)
    dial(desk, "1002")
    other.wait_lcd("Ringing", "1001")
    other.hook(True)
    other.wait_lcd("Talking")
    desk.wait_lcd("Talking", "1002")
    lab.wait_for(lambda: int(other.calls()[0]["rx_packets"]) > 25, desc="1002 hearing 1001")
    lab.wait_for(lambda: int(desk.calls()[0]["rx_packets"]) > 25, desc="1001 hearing 1002")
    assert not any(e["message"]["type"] == "contact" for e in
                   lab.ccsim.call("GET", "/agents/1001/events?after=0")["events"])
    other.hook(False)
    lab.wait_for(lambda: desk.status()["calls"] == "0", desc="the call over on 1001")
    assert "Wrap-up" not in desk.text()
    other.close()


@pytest.fixture
def limited_lab(tmp_path):
    """A centre whose call limit is one outbound call."""
    scenario = tmp_path / "limit.toml"
    scenario.write_text(re.sub(r"call_limit = \d+", "call_limit = 1", DEMO_SCENARIO.read_text()))
    with Lab(tmp_path / "lab", scenario=scenario) as lab:
        lab.start()
        yield lab


def test_the_call_limit_refuses_with_its_reason_and_an_emergency_call_still_goes(limited_lab):
    lab = limited_lab
    first, second = Desk(lab.phone("1001")), Desk(lab.phone("1002", pin="5678"))
    for desk in (first, second):
        desk.wait_status(agent="IDLE", cc="up", sip="registered")
    dial(first, ANSWERS)
    first.wait_lcd("Talking")
    dial(second, "5550101")
    second.wait_lcd("Not dialed", "limit")
    assert second.status()["calls"] == "0"
    centre = lab.start_emergency_centre()
    second.type("911")                                    # at the limit: 911 needs no server
    centre.wait(lambda e: e["event"] == "answered", timeout=10)
    second.wait_lcd("EMERGENCY 911", "Talking")
    second.key("soft2")
    first.key("soft2")
    first.wait_lcd("Wrap-up")
    for desk in (first, second):
        desk.close()
