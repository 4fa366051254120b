"""Emergency calls end to end: the sim phone dials 911, 112 or the config's 999 from the states
an agent may be in when it matters, through the real Kamailio, which routes the call to the
simulated emergency centre (a customers process registered as ``psap``) and tells ccsim's
front desk. The centre reports the INVITE's headers (priority, the desk's PIDF-LO) and what it
hears; the phone hears the centre."""
import time

import pytest

from firmware.sip.location import civic_address
from tests.audio import near, speak
from tools.lab import EMERGENCY_CENTRE, LAB_LOCATION, Desk

AGENT_HZ = 1000


def reaches_the_centre(lab, desk: Desk, number: str, extension: str = "1001") -> dict:
    """The call came to the centre with the phone's priority and location, both hear each
    other, and the phone shows it; returns the centre's `incoming` report."""
    centre = lab.emergency_centre
    incoming = centre.wait(lambda e: e["event"] == "incoming", timeout=10)
    assert incoming["number"] == EMERGENCY_CENTRE and incoming["from"] == extension
    assert incoming["headers"]["Priority"] == "emergency"
    assert civic_address(incoming["headers"]["Geolocation"]) == LAB_LOCATION
    centre.wait(lambda e: e["event"] == "answered", timeout=10)
    desk.wait_lcd(f"EMERGENCY {number}", "Talking")
    centre.wait(lambda e: e["event"] == "audio" and near(e["hz"], AGENT_HZ), timeout=10)
    lab.wait_for(lambda: int(desk.calls()[-1]["rx_packets"]) > 25, desc="the centre heard")
    return incoming


def front_desk_told(lab, number: str, agent: str = "1001", timeout: float = 10) -> dict:
    notice = lab.wait_for(lambda: [n for n in lab.emergencies() if n["dialed"] == number],
                          timeout=timeout, desc="the front desk's notice")[0]
    assert notice["extension"] == "1001" and notice["agent"] == agent
    assert notice["location"] == LAB_LOCATION and notice["location_error"] == ""
    return notice


def hang_up(lab, desk: Desk) -> None:
    desk.hook(False)
    lab.emergency_centre.wait(lambda e: e["event"] == "ended", timeout=10)
    lab.wait_for(lambda: desk.status()["calls"] == "0", desc="the call over on the phone")


def test_logged_out_with_no_pin_ever_typed_911_off_hook(lab):
    lab.start_emergency_centre()
    desk = Desk(lab.phone(agent=None))              # no agent, no PIN in the config
    desk.wait_status(agent="LOGGED_OUT", sip="registered")
    speak(desk, AGENT_HZ)
    desk.hook(True)
    desk.wait_lcd("Dial")
    desk.type("911")                                # no ok: it dials as soon as it is complete
    reaches_the_centre(lab, desk, "911")
    notice = front_desk_told(lab, "911")
    assert notice["agent_state"] == "logged_out"
    hang_up(lab, desk)
    desk.wait_lcd("Logged out")
    desk.close()


def test_in_wrap_up_112_off_hook_and_the_wrap_up_is_still_owed(lab, desk):
    lab.start_emergency_centre()
    desk.key("soft1", "1")
    lab.wait_for(lambda: lab.agent("1001")["state"] == "available", desc="available")
    cid = lab.post_contact("sales", "+15551234567")
    desk.wait_lcd("Call 1 of 1")
    desk.key("soft1")                                # Accept (on the speaker)
    desk.wait_lcd("Talking")
    desk.key("soft2")                                # End
    desk.wait_lcd("Wrap-up")
    lab.wait_for(lambda: lab.contact(cid)["state"] == "wrapup", desc="wrap-up at ccsim")
    speak(desk, AGENT_HZ)
    desk.hook(True)
    desk.type("112")
    reaches_the_centre(lab, desk, "112")
    assert front_desk_told(lab, "112")["agent_state"] == "wrapup"
    hang_up(lab, desk)
    desk.wait_lcd("Wrap-up")                         # still owed, nothing lost
    assert lab.contact(cid)["state"] == "wrapup"


def test_server_unreachable_999_on_the_dial_pad_and_the_front_desk_hears_once_it_is_back(lab,
                                                                                        desk):
    lab.start_emergency_centre()
    lab.ccsim.kill()
    desk.wait_status(cc="down")
    speak(desk, AGENT_HZ)
    desk.type("999")                                 # on-hook: hands-free on the speaker
    reaches_the_centre(lab, desk, "999")
    assert ("speaker", "on") in {tuple(p.split("=")) for p in
                                 desk.link.command("leds")[0].split()[1:]}
    lab.ccsim.start()                                # the call server's notice is retried
    front_desk_told(lab, "999", timeout=20)
    desk.key("soft2")                                # End
    lab.emergency_centre.wait(lambda e: e["event"] == "ended", timeout=10)


@pytest.mark.cc_settings({"mask_ani": True})
def test_with_a_customer_on_hold_the_emergency_call_goes_out_and_the_customer_stays(lab, desk):
    lab.start_emergency_centre()
    desk.key("soft1", "1")
    lab.wait_for(lambda: lab.agent("1001")["state"] == "available", desc="available")
    cid = lab.post_contact("sales", "+15551234567")
    desk.wait_lcd("Call 1 of 1")
    desk.hook(True)
    desk.wait_lcd("Talking")
    desk.key("hold")
    desk.wait_lcd("Held")
    speak(desk, AGENT_HZ)
    desk.type("911")                                 # digits on a held call: the dial pad
    reaches_the_centre(lab, desk, "911")
    front_desk_told(lab, "911")
    assert lab.contact(cid)["state"] == "held"       # the customer is still there
    desk.key("soft2")                                # End the emergency call
    lab.emergency_centre.wait(lambda e: e["event"] == "ended", timeout=10)
    desk.wait_lcd("Held")
    assert lab.contact(cid)["state"] == "held"


# -- no offer over an emergency call -------------------------------------------------------------
def _available(lab, desk: Desk, agent: str) -> None:
    desk.key("soft1", "1")                           # State -> Available
    lab.wait_for(lambda: lab.agent(agent)["state"] == "available", desc=f"{agent} available")


def _line_led(desk: Desk) -> str:
    leds = dict(p.split("=", 1) for p in desk.link.command("leds")[0].split()[1:])
    return leds["line"]


def _turned_down(lab, desk: Desk, cid: str) -> dict:
    """The phone turned the offer down by itself: the ordinary reject (outcome ``rejected``,
    the agent Idle "rejected" at ccsim), no missed call, the emergency call alone on the phone;
    returns the contact as the admin API shows it."""
    agent = lab.wait_for(lambda: (a := lab.agent("1001"))["state"] == "idle" and a,
                         desc="1001 idle at ccsim")
    assert agent["reason"] == "rejected"
    contact = lab.contact(cid)
    assert (contact["attempts"][0]["agent"], contact["attempts"][0]["outcome"]) == ("1001",
                                                                                   "rejected")
    shown = desk.text()
    assert "EMERGENCY 911" in shown and "Call 1 of 1" not in shown and "Missed" not in shown
    assert [c["state"] for c in desk.calls()] == ["talking"] and _line_led(desk) == "on"
    log = (desk.phone.workdir / "phone.log").read_text()
    assert f"offer {cid} turned down: emergency call" in log
    return contact


def _still_talking_to_the_centre(lab, desk: Desk) -> None:
    """The emergency call's audio goes on both ways after the offer came and went."""
    centre = lab.emergency_centre
    heard = max(e["heard_s"] for e in centre.events if e["event"] == "audio")
    centre.wait(lambda e: e["event"] == "audio" and e["heard_s"] > heard + 1
                and near(e["hz"], AGENT_HZ), timeout=10)
    rx = int(desk.calls()[0]["rx_packets"])
    lab.wait_for(lambda: int(desk.calls()[0]["rx_packets"]) > rx + 50, desc="the phone hears")


def test_an_offer_during_an_emergency_call_is_turned_down_at_once_and_goes_to_the_next_agent(
        lab, desk):
    lab.start_emergency_centre()
    ben = Desk(lab.phone("1002", pin="5678"))
    try:
        ben.wait_status(agent="IDLE", cc="up", sip="registered")
        _available(lab, desk, "1001")                # 1001 waits longest: offered first
        _available(lab, ben, "1002")
        speak(desk, AGENT_HZ)
        desk.hook(True)
        desk.type("911")
        reaches_the_centre(lab, desk, "911")

        cid = lab.post_contact("support", "+15557654321", {"customer": "Jo Smith"})
        deadline = time.monotonic() + 10
        while (contact := lab.contact(cid))["agent"] != "1002":   # no popover, no ringer
            assert "Call 1 of 1" not in desk.text() and "Connecting" not in desk.text()
            assert _line_led(desk) != "blink"
            assert time.monotonic() < deadline, contact
            time.sleep(0.05)
        contact = _turned_down(lab, desk, cid)
        first, second = contact["attempts"][:2]
        assert second["agent"] == "1002" and second["at"] - first["at"] < 3   # not rona_s (15)
        ben.wait_lcd("Call 1 of 1", "Customer: Jo Smith")
        _still_talking_to_the_centre(lab, desk)

        ben.key("soft1")                             # Ben takes the customer
        lab.wait_for(lambda: lab.contact(cid)["state"] == "assigned", desc="assigned to 1002")
        hang_up(lab, desk)
        desk.wait_lcd("Idle: Rejected")              # Not Ready, as after any reject
    finally:
        ben.close()


def test_an_offer_ringing_when_911_is_dialed_is_turned_down_and_waits_in_the_queue(lab, desk):
    lab.start_emergency_centre()
    _available(lab, desk, "1001")
    cid = lab.post_contact("sales", "+15551234567")
    desk.wait_lcd("Call 1 of 1")
    lab.wait_for(lambda: desk.calls() and desk.calls()[0]["state"] == "ringing",
                 desc="the customer's call ringing")
    speak(desk, AGENT_HZ)
    desk.type("911")                                 # digits on the popover: the dial pad
    reaches_the_centre(lab, desk, "911")
    _turned_down(lab, desk, cid)
    lab.wait_for(lambda: lab.contact(cid)["state"] == "queued", desc="back in the queue")
    _still_talking_to_the_centre(lab, desk)
    assert lab.contact(cid)["state"] == "queued"     # not offered back: the agent is Not Ready
    desk.key("soft2")                                # End (on the speaker: nothing to hang up)
    lab.emergency_centre.wait(lambda e: e["event"] == "ended", timeout=10)
    desk.wait_lcd("Idle: Rejected")
