"""Forwarding and voicemail from the phone's keypad, every part real (the lab's Kamailio routes
personal calls from ccsim's forwarding table; the voicemail service takes what the phone does
not): the agent sets Forwarding on the form (its own number refused there), a customer's
personal call then reaches the forwarded-to number and never the phone, and the home screen
says so; with forwarding off and a 5 s ring, a call the agent lets ring goes to voicemail, the
message lamp lights with `New voicemail (1)`, and Menu -> Voicemail calls the box, which plays
the message: heard, the lamp goes out."""
import pytest

from tools.lab import Desk

pytestmark = [pytest.mark.slow, pytest.mark.voicemail]

CALLER = "+15550007777"
TARGET = "5550100"              # a number the lab's customers answer


def leds(desk: Desk) -> dict[str, str]:
    line = desk.link.command("leds")[0]
    return dict(p.split("=") for p in line.split()[1:])


def forwarding_form(desk: Desk) -> None:
    desk.key("soft2", *["down"] * 13, "ok")     # Menu -> Forwarding (its 14th item)
    desk.wait_lcd("Always")


def test_forwarding_set_on_the_keypad_sends_personal_calls_elsewhere(lab, desk):
    desk.wait_status(agent="IDLE", cc="up", sip="registered")
    lab.wait_for(lambda: lab.ccsim.call("GET", f"/numbers/{TARGET}"), desc="the target up")
    forwarding_form(desk)
    desk.type("1001")                           # the agent's own extension
    desk.key("soft1")                           # Save: the phone's own check
    desk.wait_lcd("Always: your own")          # (wrapped: "number" on the next row)
    desk.key("soft3")                           # Clear
    desk.type(TARGET)
    desk.key("soft1")
    desk.wait_lcd("Forwarding on")
    assert lab.ccsim.call("GET", "/agents/1001/forwarding")["always"] == TARGET
    desk.key("soft4")                           # out of the menu
    desk.wait_lcd(f"Fwd → {TARGET}", timeout=12)

    before = lab.ccsim.call("GET", f"/numbers/{TARGET}")["calls"]
    caller = lab.customers_process()
    try:
        caller.send(op="dial", contact="fwd", to=lab.extension_uri("1001"), ani=CALLER,
                    personal=True, talk_s=3)
        caller.wait(lambda e: e.get("contact") == "fwd" and e["event"] == "answered")
        assert lab.ccsim.call("GET", f"/numbers/{TARGET}")["calls"] == before + 1
        assert desk.calls() == []               # the phone never rang
    finally:
        caller.close()

    forwarding_form(desk)
    desk.key("soft3")                           # Clear Always
    desk.key("soft1")
    desk.wait_lcd("Forwarding off")
    assert lab.ccsim.call("GET", "/agents/1001/forwarding")["always"] == ""


def test_a_call_let_ring_goes_to_voicemail_the_lamp_lights_and_the_box_plays_it(lab, desk):
    desk.wait_status(agent="IDLE", cc="up", sip="registered")
    forwarding_form(desk)
    desk.key("down", "down", "down")            # After s
    desk.key("soft3")                           # Clear
    desk.type("5")
    desk.key("soft1")
    desk.wait_lcd("Forwarding off")
    assert lab.ccsim.call("GET", "/agents/1001/forwarding")["no_answer_s"] == 5
    desk.key("soft4")
    assert leds(desk)["mwi"] == "off"

    caller = lab.customers_process()
    try:
        caller.send(op="dial", contact="vm", to=lab.extension_uri("1001"), ani=CALLER,
                    personal=True, talk_s=3)
        desk.wait_lcd(CALLER)                   # it rings: the agent lets it
        caller.wait(lambda e: e.get("contact") == "vm" and e["event"] == "answered",
                    timeout=15)                 # the box, after 5 s
        caller.wait(lambda e: e.get("contact") == "vm" and e["event"] in ("ended", "failed"),
                    timeout=30)
    finally:
        caller.close()
    box = lab.wait_for(lambda: (b := lab.voicemail_box("1001"))["waiting"] and b,
                       timeout=15, desc="the message in the box")
    assert box["messages"][0]["caller"].endswith(CALLER.lstrip("+"))
    desk.wait_lcd("New voicemail (1)")
    assert leds(desk)["mwi"] == "on"

    desk.key("soft2", *["down"] * 12, "ok")     # Menu -> Voicemail: calls the box
    lab.wait_for(lambda: [c["state"] for c in desk.calls()] == ["talking"], timeout=15,
                 desc="the box answering")
    lab.wait_for(lambda: lab.voicemail_box("1001")["waiting"] == 0, timeout=30,
                 desc="the message played to its end")
    lab.wait_for(lambda: leds(desk)["mwi"] == "off", desc="the lamp out")
    desk.key("soft2")                           # End
    lab.wait_for(lambda: desk.calls() == [], desc="the call over")
