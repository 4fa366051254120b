"""What an agent asks of the centre from the desk phone, end to end (docs/cc-protocol.md): a
wrap-up note typed during the call (More -> Note) that goes with the wrap-up, queued with it
while ccsim is away; a supervisor's help asked during a call and answered from ccsim's admin
API, and one asked from the menu and taken back; a call-quality report from the wrap-up with
the phone's own figures of the call; the phone's log sent from the menu, redacted."""
import os
import signal
import tomllib

from tools.lab import Desk

NOTE = "Refund"                 # e and f share a key: right commits the e
DTMF = "47#"


def talking(desk: Desk, lab) -> str:
    """A customer calls agent 1001, who answers and hears them; the contact's id."""
    cid = desk.answer_customer(lab, talk_s=60)
    lab.wait_for(lambda: int(desk.calls()[0]["rx_packets"]) > 50, desc="the customer heard")
    return cid


def write_note(desk: Desk):
    desk.key("soft4", "4")                      # More -> Note
    desk.wait_lcd("Note")
    desk.spell(NOTE)
    desk.wait_lcd(NOTE)
    desk.key("soft1")                           # Save
    desk.wait_shown("Note kept for the wrap-up")


def hang_up(desk: Desk):
    desk.key("soft2")                           # End
    desk.wait_lcd("Type 3+ to search")          # the wrap-up (a notice may cover its title
                                                # and its first code, Sale made)


def test_a_call_s_note_help_and_quality_report_then_the_phone_s_log(lab, desk):
    cid = talking(desk, lab)
    write_note(desk)

    desk.key("soft4", "5")                      # More -> Help
    lab.wait_for(lambda: desk.lcd()[2].strip() == "Help requested", desc="Help requested")
    [asked] = lab.ccsim.call("GET", "/help?state=open")["help"]
    assert (asked["agent"], asked["contact"]) == ("1001", cid)
    lab.ccsim.call("POST", f"/help/{asked['id']}/answer", {"supervisor": "Sam"})
    assert "Help requested" not in desk.wait_shown("Help: Sam is on it")
    assert lab.ccsim.call("GET", f"/help/{asked['id']}")["state"] == "answered"

    desk.type(DTMF)                             # keys to the customer's IVR
    lab.wait_for(lambda: lab.heard(cid)["dtmf"] == DTMF, desc=f"the customer got {DTMF}")
    hang_up(desk)
    desk.key("soft2", "3")                      # More -> Report call
    desk.wait_lcd("< Choppy ")
    desk.key("right")
    desk.wait_lcd("< Echo ", "2/6 >")
    desk.key("soft1")                           # Save
    desk.wait_shown("Report sent")
    [report] = lab.ccsim.call("GET", "/quality")["reports"]
    assert (report["agent"], report["contact"], report["problem"]) == ("1001", cid, "echo")
    quality = report["quality"]
    assert quality["rx_packets"] > 50 and 1 <= quality["mos"] <= 4.5 and quality["codec"]

    desk.wait_lcd("→Sale made")                 # the wrap-up is still owed
    desk.key("soft1")                           # OK: its first code
    contact = lab.wait_for(lambda: (c := lab.contact(cid))["wrapup"] and c, desc="wrapped up")
    assert (contact["wrapup"], contact["note"]) == ("sale_made", NOTE)

    desk.wait_lcd("Available")
    desk.key("ok", *["down"] * 10)              # Menu, its 11th item
    desk.wait_lcd("→Send logs")
    ccsim = lab.ccsim.proc.pid
    os.kill(ccsim, signal.SIGSTOP)              # a slow server: the part waits for its ack
    try:
        desk.key("ok")
        desk.wait_lcd("Sending logs 0%")
    finally:
        os.kill(ccsim, signal.SIGCONT)
    said = desk.wait_shown("Logs sent (")
    [upload] = lab.ccsim.call("GET", "/logs")["logs"]
    assert (upload["agent"], upload["parts"]) == ("1001", 1)
    assert f"Logs sent ({-(-upload['size'] // 1024)} KB)" in said
    text = lab.ccsim.call("GET", f"/logs/{upload['id']}")["text"]
    assert " INFO hardphone.sip: incoming call" in text and len(text.encode()) == upload["size"]
    config = tomllib.loads((desk.phone.workdir / "phone.toml").read_text())
    for secret in (config["cc"]["pin"], config["sip"]["password"], DTMF):
        assert secret not in text
    assert all("***" in line for line in text.splitlines() if "dtmf" in line.lower())


def test_help_from_the_menu_at_idle_then_taken_back(lab, desk):
    desk.key("ok", "9")                         # Menu -> Help
    desk.wait_shown("Help requested")
    desk.key("back")
    assert desk.wait_lcd("Idle").splitlines()[2].strip() == "Help requested"
    [asked] = lab.ccsim.call("GET", "/help?state=open")["help"]
    assert (asked["agent"], asked["contact"], asked["state"]) == ("1001", None, "open")

    desk.key("ok", "9")                         # Menu -> Help again: taken back
    desk.wait_shown("Help request cancelled")
    desk.key("back")
    assert "Help requested" not in desk.wait_lcd("Idle")
    closed = lab.wait_for(lambda: (h := lab.ccsim.call("GET", f"/help/{asked['id']}"))
                          ["state"] == "closed" and h, desc="closed at ccsim")
    assert closed["supervisor"] is None and closed["closed_at"]
    assert lab.ccsim.call("GET", "/help?state=open")["help"] == []


def test_a_note_is_queued_with_its_wrapup_while_ccsim_is_away(lab, desk):
    cid = talking(desk, lab)
    lab.ccsim.kill()
    desk.wait_status(cc="down")
    write_note(desk)                            # kept on the phone
    hang_up(desk)
    desk.key("soft1")                           # OK: the first code, Sale made
    desk.wait_lcd("when online")
    desk.key("ok", "9")                         # Menu -> Help: now or never
    desk.wait_shown("No server: can't ask for help")
    desk.key("back")
    lab.ccsim.start()
    desk.wait_status(cc="up", timeout=10)
    contact = lab.wait_for(lambda: (c := lab.contact(cid))["wrapup"] and c, desc="wrapped up")
    assert (contact["wrapup"], contact["note"], contact["state"]) == (
        "sale_made", NOTE, "wrapped_up")
    assert lab.ccsim.call("GET", "/help")["help"] == []
