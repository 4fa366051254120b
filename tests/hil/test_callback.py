"""A callback through the service console (pytest-embedded): a web callback posted to ccsim's
admin API is offered to the console's phone (agent 1001) as `Callback`, answered, the bridge
calls the customer back on that call (a number the lab's customers answer), then the call is
ended and wrapped up. The lab is loopback-only, so this runs on the sim board only."""
import pytest

from tests.hil.test_agent import send, status, until_lcd

pytestmark = pytest.mark.hil


@pytest.fixture
def phone_config(lab):
    return lab.phone_config("1001")


def test_a_web_callback_answered_and_the_customer_called_back_through_the_console(phone, lab):
    lab.wait_for(lambda: (s := status(phone))["cc"] == "up" and s["sip"] == "registered",
                 desc="logged in and registered")
    send(phone, "key soft1")                     # State
    send(phone, "key 1")                         # Available
    cb = lab.ccsim.call("POST", "/callbacks", {"name": "Ivo Horvat", "number": "5550102",
                                                "queue": "sales", "reason": "Upgrade"})
    shown = until_lcd(phone, "Callback", lab)
    assert "Ivo Horvat" in shown and "5550102" in shown
    send(phone, "key soft1")                     # Accept: the bridge calls Ivo on this call
    until_lcd(phone, "Talking", lab)
    done = lab.wait_for(lambda: (c := lab.ccsim.call("GET", f"/callbacks/{cb['id']}"))
                        ["status"] == "done" and c, desc="the callback connected")
    assert done["outcome"] == "connected"
    send(phone, "key soft2")                     # End
    until_lcd(phone, "Wrap-up", lab)
    send(phone, "key soft1")
    lab.wait_for(lambda: status(phone)["agent"] != "WRAPUP", desc="wrapped up")
