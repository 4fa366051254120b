"""A preview campaign through the service console (pytest-embedded): the demo's `spring`
campaign started through ccsim's admin API, the console's phone (agent 1001) goes Available,
is previewed a record, calls it (a number the lab's customers answer), ends the call and picks
a disposition. The lab is loopback-only, so this runs on the sim board only."""
import pytest

from tests.hil.test_agent import send, status, until_lcd

pytestmark = pytest.mark.hil


@pytest.fixture
def phone_config(lab):
    return lab.phone_config("1001")


def test_a_previewed_record_called_and_wrapped_up_through_the_console(phone, lab):
    lab.wait_for(lambda: (s := status(phone))["cc"] == "up" and s["sip"] == "registered",
                 desc="logged in and registered")
    lab.ccsim.call("POST", "/campaigns/spring/start")
    until_lcd(phone, "Campaign Spring", lab)
    send(phone, "key soft1")                     # State
    send(phone, "key 1")                         # Available
    until_lcd(phone, "Ana Ruiz", lab)
    shown = until_lcd(phone, "5550101", lab)     # under the start's notice, once it is gone
    assert "Spring offer" in shown
    send(phone, "key soft1")                     # Call
    until_lcd(phone, "Talking", lab)
    cid = next(r for r in lab.ccsim.call("GET", "/campaigns/spring")["records"]
               if r["name"] == "Ana Ruiz")["contact"]
    lab.wait_for(lambda: lab.contact(cid)["state"] == "assigned", desc="assigned at ccsim")
    send(phone, "key soft2")                     # End
    until_lcd(phone, "Disposition", lab)
    send(phone, "key soft1")                     # Sale
    lab.wait_for(lambda: lab.contact(cid)["wrapup"] == "sale", desc="wrapped up with Sale")
    until_lcd(phone, "Tom Becker", lab)          # the next record
