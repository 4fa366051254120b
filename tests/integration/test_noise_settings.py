"""Noise removal both ways, the settings end to end (real Kamailio, ccsim, a customers process and
a sim phone): the agent turns it off for the speaker in the menu and the console's status says
so on a hands-free call; the admin turns the customer's on through ccsim's admin API during
that call, and it reaches the phone without a new login."""
import pytest

from tools.lab import Desk

CALLER = "+15550007777"


def call_in(lab, desk: Desk, caller, contact: str) -> None:
    """A personal call to agent 1001, answered hands-free (the speaker key)."""
    caller.send(op="dial", contact=contact, to=lab.extension_uri("1001"), ani=CALLER,
                personal=True, talk_s=60)
    desk.wait_lcd(CALLER)
    desk.key("speaker")
    desk.wait_status(calls="1")
    caller.wait(lambda e: e.get("contact") == contact and e["event"] == "answered", timeout=10)


def test_the_agents_and_the_admins_settings_show_on_the_console(lab, desk):
    assert lab.ccsim.call("GET", "/settings")["customer_noise_removal"] is False
    desk.key("ok", "1", "7")                     # Menu -> Settings -> Noise removal
    desk.wait_lcd("Noise removal", "Handset         Off", "Headset          On")
    desk.key("3")                                # the speaker's: turned off
    desk.wait_lcd("Speaker         Off")
    desk.key("back", "back", "back")
    desk.wait_status(nr_voice="off", nr_customer="off")        # no call: nothing removed

    caller = lab.customers_process()
    try:
        call_in(lab, desk, caller, "nr")
        desk.wait_status(calls="1", nr_voice="off", nr_customer="off")   # the speaker: off
        desk.key("headset")
        desk.wait_status(calls="1", nr_voice="on", nr_customer="off")    # the headset: on
        desk.key("speaker")
        desk.wait_status(calls="1", nr_voice="off")

        changed = lab.ccsim.call("PATCH", "/settings", {"customer_noise_removal": True})
        assert changed["customer_noise_removal"] is True
        status = desk.wait_status(nr_customer="on", nr_voice="off")
        assert status["calls"] == "1" and status["agent"] != "LOGGED_OUT"   # no new login
        assert lab.ccsim.call("GET", "/settings")["customer_noise_removal"] is True

        with pytest.raises(RuntimeError, match="400"):            # refused, nothing changed
            lab.ccsim.call("PATCH", "/settings", {"customer_noise_removal": "off"})
        lab.ccsim.call("PATCH", "/settings", {"customer_noise_removal": False})
        desk.wait_status(nr_customer="off")
        assert desk.status()["calls"] == "1"
    finally:
        caller.close()


@pytest.mark.cc_settings({"customer_noise_removal": True})
def test_a_centre_that_removes_the_customers_noise_says_so_at_login(lab, desk):
    caller = lab.customers_process()
    try:
        call_in(lab, desk, caller, "nr-login")
        desk.wait_status(calls="1", nr_voice="on", nr_customer="on")     # speaker default: on
    finally:
        caller.close()
