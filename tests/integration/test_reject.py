"""Reject on the offer popover, end to end: a customer's call (the customers process, through
Kamailio) offered to a sim phone, the agent pressing Reject on its console, ccsim routing the
contact on and putting the agent in Idle "rejected"."""
import time

from tools.lab import Desk

REJECT = "soft4"                                 # the offer popover's last softkey


def available(desk, lab, agent):
    desk.key("soft1", "1")                       # State -> Available
    desk.wait_lcd("Available")
    lab.wait_for(lambda: lab.agent(agent)["state"] == "available", desc=f"{agent} available")


def rejected(desk, lab, cid):
    """Reject the offer on show; the phone is home at once, with no call left."""
    assert "Rejct" in desk.lcd()[-1]
    desk.key(REJECT)
    assert "Call 1 of 1" not in desk.text()      # gone when the key press is handled
    assert desk.calls() == []                    # the ringing call declined, nothing rings
    assert ("line", "off") in _leds(desk)
    agent = lab.wait_for(lambda: (a := lab.agent("1001"))["state"] == "idle" and a,
                         desc="1001 idle at ccsim")
    assert agent["reason"] == "rejected" and agent["pending"] is None
    shown = desk.wait_lcd("Idle: Rejected")
    assert "Missed call" not in shown            # the agent chose it: no missed-call popover
    assert desk.lcd()[-1].split() == ["State", "Menu", "Out", "Info"]
    assert desk.status()["agent"] == "IDLE" and desk.calls() == []
    attempts = lab.contact(cid)["attempts"]
    assert (attempts[0]["agent"], attempts[0]["outcome"]) == ("1001", "rejected")


def test_a_rejected_offer_goes_to_the_next_agent_and_the_agent_is_idle_rejected(lab, desk):
    ben = Desk(lab.phone("1002", pin="5678"))
    try:
        ben.wait_status(agent="IDLE", cc="up", sip="registered")
        available(desk, lab, "1001")             # 1001 waits longest: offered first
        available(ben, lab, "1002")
        cid = lab.post_contact("support", "+15557654321", {"customer": "Jo Smith"})
        desk.wait_lcd("Call 1 of 1", "Customer: Jo Smith")
        lab.wait_for(lambda: desk.calls() and desk.calls()[0]["state"] == "ringing",
                     desc="the customer's call ringing on 1001")

        rejected(desk, lab, cid)

        ben.wait_lcd("Call 1 of 1", "Customer: Jo Smith")    # routed on at once
        contact = lab.wait_for(lambda: (c := lab.contact(cid))["agent"] == "1002" and c,
                               desc="offered to 1002")
        assert contact["state"] in ("reserved", "offered") and len(contact["attempts"]) == 2
        ben.key("soft1")                                     # Ben takes it
        ben.wait_lcd("Talking")
        lab.wait_for(lambda: lab.contact(cid)["state"] == "assigned", desc="assigned to 1002")
        assert desk.calls() == [] and "Idle: Rejected" in desk.text()
    finally:
        ben.close()


def test_a_rejected_offer_waits_in_the_queue_not_offered_again_until_available(lab, desk):
    available(desk, lab, "1001")
    cid = lab.post_contact("sales", "+15551234567", {"customer": "Jo Smith"})
    desk.wait_lcd("Call 1 of 1")
    rejected(desk, lab, cid)
    assert lab.contact(cid)["state"] == "queued"
    # not offered back on its own: nobody else serves the queue, and the agent is Not Ready
    _still(lambda: lab.contact(cid)["state"] == "queued" and "Idle: Rejected" in desk.text(),
           seconds=1.5)
    assert desk.calls() == []
    desk.key("soft1", "1")                       # Available: the waiting contact comes back
    desk.wait_lcd("Call 1 of 1")
    lab.wait_for(lambda: len(lab.contact(cid)["attempts"]) == 2, desc="a second attempt")


def _still(cond, seconds):
    """``cond`` holds all along for ``seconds``."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        assert cond()
        time.sleep(0.1)


def _leds(desk):
    line = desk.link.command("leds")[0]
    return [tuple(part.split("=", 1)) for part in line.split()[1:]]
