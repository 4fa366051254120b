"""A conference through the service console (pytest-embedded): the console's phone (agent
1001) consults 1002 (a sim phone of the lab) and joins them into the customer's call with the
`conf` key, lists who is on it, then leaves it to 1002. The lab holds the customer's call on
ccsim's media bridge; it is loopback-only, so this runs on the sim board only."""
import pytest

from tests.hil.test_agent import lcd, send, status, until_lcd
from tools.lab import Desk, Lab

pytestmark = pytest.mark.hil


@pytest.fixture
def lab(request, tmp_path):
    if request.config.getoption("port", None):
        pytest.skip("a conference needs a lab the real phone can reach (loopback lab here)")
    with Lab(tmp_path / "lab", bridge=True) as lab:
        lab.start()
        yield lab


@pytest.fixture
def phone_config(lab):
    return lab.phone_config("1001")


def test_consult_conference_who_and_leave_through_the_console(phone, lab):
    ben = Desk(lab.phone("1002", pin="5678"))
    lab.wait_for(lambda: (s := status(phone))["cc"] == "up" and s["sip"] == "registered",
                 desc="logged in and registered")
    ben.wait_status(agent="IDLE", cc="up", sip="registered", timeout=20)
    send(phone, "key soft1")                     # State
    send(phone, "key 1")                         # Available
    lab.wait_for(lambda: lab.agent("1001")["state"] == "available", desc="1001 available")
    cid = lab.post_contact("sales", "+15551234567", {"customer": "Jo Smith"})
    until_lcd(phone, "Call 1 of 1", lab)
    send(phone, "hook off")
    until_lcd(phone, "Talking", lab)

    ben.key("soft1", "1")                        # 1002 Available, then consulted
    lab.wait_for(lambda: lab.agent("1002")["state"] == "available", desc="1002 available")
    send(phone, "key xfer")
    until_lcd(phone, "Consult", lab)
    for key in "1002":
        send(phone, f"key {key}")
    send(phone, "key ok")
    ben.wait_lcd("Consult")
    ben.hook(True)
    until_lcd(phone, "Consulting", lab)
    lab.wait_for(lambda: (lab.contact(cid)["consult"] or {}).get("status") == "talking",
                 desc="the consult talking")

    send(phone, "key conf")
    until_lcd(phone, "Conference 3", lab)
    ben.wait_lcd("Conference 3")
    send(phone, "key soft3")                     # Who
    shown = until_lcd(phone, "On the call", lab)
    assert "*Ana Diaz" in shown
    send(phone, "key back")
    until_lcd(phone, "Conference 3", lab)

    send(phone, "key soft2")                     # End: 1002 has the call, 1001 wraps up
    until_lcd(phone, "Wrap-up", lab)
    lab.wait_for(lambda: lab.contact(cid)["control"] == "1002", desc="1002 in control")
    ben.wait_lcd("Talking")
    assert "Conference" not in lcd(phone)
    send(phone, "hook on")
