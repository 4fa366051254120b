"""An agent's call through the service console: offer -> answer -> wrap-up (pytest-embedded).

The sim phone is configured against a lab on loopback (Kamailio + ccsim with its customers).
A real phone (--port) must be configured against a lab it can reach; this module's lab is
loopback-only, so it runs on the sim board only."""
import re

import pytest


pytestmark = pytest.mark.hil


@pytest.fixture
def phone_config(lab):
    return lab.phone_config("1001")


def lcd(dut) -> str:
    dut.write("lcd")
    m = dut.expect(r"lcd:0:(.*)\r?\nlcd:1:(.*)\r?\nlcd:2:(.*)\r?\nlcd:3:(.*)\r?\nlcd\.", timeout=5)
    return "\n".join(g.decode() for g in m.groups())


def until_lcd(dut, text, lab, timeout=10):
    return lab.wait_for(lambda: text in (shown := lcd(dut)) and shown, timeout=timeout,
                        desc=f"{text!r} on the LCD")


def send(dut, line):
    dut.write(line)
    dut.expect_exact("ok", timeout=5)


def status(dut) -> dict:
    dut.write("status")
    m = dut.expect(r"status (.*)\r?\n", timeout=5)
    return dict(p.split("=", 1) for p in m.group(1).decode().split())


def test_offer_answer_wrapup_through_the_console(phone, lab):
    lab.wait_for(lambda: (s := status(phone))["cc"] == "up" and s["sip"] == "registered",
                 desc="logged in and registered")
    send(phone, "key soft1")                     # State
    send(phone, "key 1")                         # Available
    lab.wait_for(lambda: lab.agent("1001")["state"] == "available", desc="available")

    cid = lab.post_contact("sales", "+15551234567", {"customer": "Jo Smith"})
    shown = until_lcd(phone, "Call 1 of 1", lab)
    assert "Customer: Jo Smith" in shown
    phone.write("leds")
    phone.expect(re.compile(rb"leds .*line=blink"), timeout=5)

    send(phone, "hook off")
    until_lcd(phone, "Talking", lab)
    assert status(phone)["agent"] == "TALKING"
    send(phone, "key soft2")                     # End
    until_lcd(phone, "Wrap-up", lab)
    for key in "7253":                           # "Sale" in T9
        send(phone, f"key {key}")
    until_lcd(phone, "Sale made", lab)
    send(phone, "key soft1")
    lab.wait_for(lambda: lab.contact(cid)["wrapup"] == "sale_made", desc="wrap-up at ccsim")
    until_lcd(phone, "Available", lab)
    send(phone, "hook on")
    assert status(phone)["calls"] == "0"


def test_an_emergency_call_from_the_console_reaches_the_centre_and_the_front_desk(phone, lab):
    """Off-hook and 9 1 1, nothing else: the centre answers with the desk's address in hand
    and the front desk is told."""
    from firmware.sip.location import civic_address
    from tools.lab import LAB_LOCATION
    centre = lab.start_emergency_centre()
    lab.wait_for(lambda: status(phone)["sip"] == "registered", desc="registered")
    send(phone, "hook off")
    until_lcd(phone, "Dial", lab)
    for key in "911":
        send(phone, f"key {key}")
    incoming = centre.wait(lambda e: e["event"] == "incoming", timeout=10)
    assert incoming["headers"]["Priority"] == "emergency"
    assert civic_address(incoming["headers"]["Geolocation"]) == LAB_LOCATION
    until_lcd(phone, "EMERGENCY 911", lab)
    until_lcd(phone, "Talking", lab)
    notice = lab.wait_for(lambda: lab.emergencies(), desc="the front desk's notice")[0]
    assert (notice["extension"], notice["dialed"]) == ("1001", "911")
    phone.write("calls")
    phone.expect(re.compile(rb"call \S+ state=talking "), timeout=5)
    send(phone, "hook on")
    centre.wait(lambda e: e["event"] == "ended", timeout=10)
    lab.wait_for(lambda: status(phone)["calls"] == "0", desc="the call over")
