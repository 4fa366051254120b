"""A preview campaign end to end: the demo's `spring` campaign (tools/ccsim/scenarios/demo.toml)
started through ccsim's admin API, its records previewed on agent 1001's sim phone, skipped,
removed and called through the real Kamailio to numbers ccsim's customers answer (audio both
ways), refuse (busy) or let ring; each dialed record wrapped up with one of the campaign's
dispositions, kept in ccsim's database; and a negotiated logout from a preview."""
import time

from tests.audio import near, speak
from tools.lab import DEMO_SCENARIO, Desk, Lab

AGENT_HZ = 1000


def campaign(lab: Lab) -> dict:
    return lab.ccsim.call("GET", "/campaigns/spring")


def record(lab: Lab, name: str) -> dict:
    return next(r for r in campaign(lab)["records"] if r["name"] == name)


def available(desk: Desk) -> None:
    desk.key("soft1")                   # State
    desk.key("1")                       # Available


def started(lab: Lab, desk: Desk) -> None:
    """The campaign started: the notice, and Menu -> Campaigns says so."""
    lab.ccsim.call("POST", "/campaigns/spring/start")
    desk.wait_lcd("Campaign Spring", "offer started")
    desk.key("soft2")                   # Menu
    desk.key("7")                       # Campaigns
    desk.wait_lcd("Spring off", "Started")
    desk.key("soft4")                   # Back
    desk.key("soft4")


def test_skip_then_call_a_record_talk_and_wrap_it_up_with_a_disposition(lab, desk):
    started(lab, desk)
    assert "Ana Ruiz" not in desk.text()            # Idle: nothing previewed
    available(desk)
    desk.wait_lcd("Spring offer", "Ana Ruiz", "5550101")
    assert "Skip" in desk.text() and "Remov" in desk.text()
    desk.key("soft2")                               # Skip: back to the end of the list
    desk.wait_lcd("Tom Becker", "5550102")
    assert record(lab, "Ana Ruiz")["state"] == "pending"
    speak(desk, AGENT_HZ)
    desk.key("soft1")                               # Call
    desk.wait_lcd("Talking", "Tom Becker")
    tom = record(lab, "Tom Becker")
    cid = tom["contact"]
    assert tom["state"] == "dialing" or lab.contact(cid)["state"] == "assigned"
    lab.wait_for(lambda: lab.contact(cid)["state"] == "assigned", desc="assigned at ccsim")
    # the customer hears the agent; the agent hears the customer
    lab.wait_for(lambda: (h := lab.heard(cid)) and near(h["hz"], AGENT_HZ),
                 desc="the customer hearing the agent")
    lab.wait_for(lambda: int(desk.calls()[0]["rx_packets"]) > 25, desc="the agent hearing")
    number = lab.ccsim.call("GET", "/numbers/5550102")
    assert number["incoming"]["headers"]["X-CC-Contact-Id"] == cid
    desk.key("soft2")                               # End
    desk.wait_lcd("Disposition")
    desk.key("soft1")                               # OK: the first, Sale
    lab.wait_for(lambda: record(lab, "Tom Becker")["state"] == "done", desc="the record done")
    tom = record(lab, "Tom Becker")
    assert tom["disposition"] == "sale"
    assert [a["outcome"] for a in tom["attempts"]] == ["answered"]
    # the next record follows at once (Mei, before the skipped Ana)
    desk.wait_lcd("Mei Chen", "5550100")


def test_remove_a_busy_number_s_failed_attempt_and_a_negotiated_logout(lab, desk):
    started(lab, desk)
    available(desk)
    desk.wait_lcd("Ana Ruiz")
    for _ in range(2):                              # Ana and Tom skipped, Mei removed
        desk.key("soft2")
    desk.wait_lcd("Mei Chen")
    desk.key("soft4")                               # Remove
    desk.wait_lcd("Omar Haddad", "5550199")
    assert record(lab, "Mei Chen")["state"] == "removed"
    desk.key("soft1")                               # Call: busy
    desk.wait_lcd("Disposition", timeout=15)
    desk.wait_lcd("Failed: busy (486)")
    desk.type("287")                                # T9 for "Bus": the Busy disposition
    desk.wait_lcd("Busy")
    desk.key("soft1")
    lab.wait_for(lambda: record(lab, "Omar Haddad")["state"] == "done", desc="the record done")
    omar = record(lab, "Omar Haddad")
    assert omar["disposition"] == "busy"
    assert "486" in omar["attempts"][0]["outcome"]
    desk.wait_lcd("Lena Fischer")
    desk.key("soft3")                               # Out
    desk.wait_lcd("Logout reason")
    desk.key("soft1")
    desk.wait_lcd("Logout in")                      # counted down from the server's 5 s
    lab.wait_for(lambda: record(lab, "Lena Fischer")["state"] == "pending",
                 desc="the preview taken back")
    assert "Lena Fischer" not in desk.text()
    desk.wait_lcd("Done: logged out", timeout=10)
    assert lab.agent("1001")["state"] == "logged_out"


# -- progressive: ccsim dials (tools/ccsim/dialer.py) ----------------------------------------
def winter_record(lab: Lab, name: str) -> dict:
    winter = lab.ccsim.call("GET", "/campaigns/winter")
    return next(r for r in winter["records"] if r["name"] == name)


def test_progressive_dials_the_customer_and_offers_them_to_the_free_agent(lab, desk):
    """The demo's `winter`: agent 1001 goes Available, ccsim's bridge calls Paula's number
    (a number the customers answer), and the answered customer is offered to 1001 like an
    inbound call: accepted, talked to both ways, wrapped up with a disposition."""
    lab.ccsim.call("POST", "/campaigns/winter/start")
    desk.wait_lcd("Campaign Winter")
    assert winter_record(lab, "Paula Serra")["state"] == "pending"      # 1001 is Idle
    speak(desk, AGENT_HZ)
    available(desk)
    paula = lab.wait_for(lambda: (r := winter_record(lab, "Paula Serra"))["contact"] and r,
                         desc="Paula dialed")
    cid = paula["contact"]
    desk.wait_lcd("5550102", timeout=20)            # the offer, once Paula answered
    number = lab.ccsim.call("GET", "/numbers/5550102")
    assert number["incoming"]["headers"]["X-CC-Contact-Id"] == cid
    assert lab.contact(cid)["kind"] == "campaign"
    desk.key("soft1")                               # Accept
    lab.wait_for(lambda: lab.contact(cid)["state"] == "assigned", desc="assigned at ccsim")
    lab.wait_for(lambda: (h := lab.heard(cid)) and near(h["hz"], AGENT_HZ), timeout=15,
                 desc="the customer hearing the agent")
    lab.wait_for(lambda: int(desk.calls()[0]["rx_packets"]) > 25, desc="the agent hearing")
    desk.key("soft2")                               # End
    desk.wait_lcd("Disposition")
    desk.key("soft1")                               # OK: the first, Sale
    lab.wait_for(lambda: winter_record(lab, "Paula Serra")["state"] == "done",
                 desc="the record done")
    paula = winter_record(lab, "Paula Serra")
    assert paula["disposition"] == "sale"
    assert [a["outcome"] for a in paula["attempts"]] == ["connected"]
    assert paula["attempts"][0]["agent"] == "1001"
    # 1001 free again: the next record is dialed (and may have answered already)
    lab.wait_for(lambda: winter_record(lab, "Jon Kim")["state"] != "pending",
                 desc="Jon dialed next")
    stats = lab.ccsim.call("GET", "/campaigns/winter")["stats"]
    assert (stats["dialed"], stats["connected"], stats["abandoned"]) == (2, 1, 0)
    assert stats["answered"] in (1, 2) and stats["failed"] == {}


# -- predictive: the offer the phone answers by itself -----------------------------------------
def leds(desk: Desk) -> set[tuple[str, ...]]:
    line = desk.link.command("leds")[0]
    return {tuple(p.split("=")) for p in line.split()[1:]}


def test_a_predictive_offer_is_answered_by_the_phone_in_headset_mode(tmp_path):
    """`winter` made predictive: the agent in headset mode goes Available, ccsim's bridge
    reaches Paula, and her offer (auto_answer) beeps in the headset and is answered there with
    no key pressed; the customer hears the agent's headset mic."""
    scenario = tmp_path / "predictive.toml"
    scenario.write_text(DEMO_SCENARIO.read_text().replace(
        'mode = "progressive"', 'mode = "predictive"'))
    with Lab(tmp_path / "lab", scenario=scenario) as lab:
        lab.start()
        desk = Desk(lab.phone("1001"))
        try:
            desk.wait_status(agent="IDLE", cc="up", sip="registered")
            desk.key("soft2", "1", "8")                 # Menu -> Settings -> Headset mode
            desk.wait_lcd("Headset mode on")
            desk.key("soft4", "soft4")
            assert ("headset", "on") in leds(desk)          # headset mode, between calls
            speak(desk, AGENT_HZ, mic="headset_mic")
            lab.ccsim.call("POST", "/campaigns/winter/start")
            available(desk)
            paula = lab.wait_for(lambda: (r := winter_record(lab, "Paula Serra"))["contact"]
                                 and r, timeout=15, desc="Paula dialed")
            cid = paula["contact"]
            lab.wait_for(lambda: lab.contact(cid)["state"] == "assigned", timeout=20,
                         desc="answered by the phone itself")
            desk.wait_lcd("Talking")
            assert {("headset", "on"), ("speaker", "off")} <= leds(desk)
            lab.wait_for(lambda: (h := lab.heard(cid)) and near(h["hz"], AGENT_HZ),
                         timeout=15, desc="the customer hearing the agent's headset")
            desk.key("soft2")                           # End
            desk.wait_lcd("Disposition")
            desk.key("soft1")
            lab.wait_for(lambda: winter_record(lab, "Paula Serra")["state"] == "done",
                         desc="the record done")
        finally:
            desk.close()


# -- faults ------------------------------------------------------------------------------------
def test_ccsim_killed_mid_campaign_dials_no_record_twice_and_loses_none(lab, desk):
    """kill -9 during a campaign call: the call goes on, its disposition is queued and sent
    once ccsim is back; killed again while the next record is previewed, the same record is
    previewed after the restart, not another, and nothing was dialed twice."""
    started(lab, desk)
    available(desk)
    desk.wait_lcd("Ana Ruiz")
    desk.key("soft1")                               # Call
    desk.wait_lcd("Talking", "Ana Ruiz")
    cid = record(lab, "Ana Ruiz")["contact"]
    lab.wait_for(lambda: lab.contact(cid)["state"] == "assigned", desc="assigned at ccsim")
    lab.ccsim.kill()
    desk.wait_status(cc="down")
    packets = int(desk.calls()[0]["rx_packets"])
    lab.wait_for(lambda: int(desk.calls()[0]["rx_packets"]) > packets + 25,
                 desc="the call going on without ccsim")
    desk.key("soft2")                               # End, ccsim away
    desk.wait_lcd("Disposition")
    desk.key("soft1")                               # Sale, queued
    desk.wait_lcd("when online")
    lab.ccsim.start()
    desk.wait_status(cc="up", timeout=10)
    lab.wait_for(lambda: record(lab, "Ana Ruiz")["state"] == "done", desc="Ana done")
    ana = record(lab, "Ana Ruiz")
    assert ana["disposition"] == "sale" and len(ana["attempts"]) == 1
    desk.wait_lcd("Tom Becker")                     # the next record
    tom = record(lab, "Tom Becker")["contact"]
    lab.ccsim.kill()
    desk.wait_status(cc="down")
    lab.ccsim.start()
    desk.wait_status(cc="up", timeout=10)
    desk.wait_lcd("Tom Becker")
    records = campaign(lab)["records"]
    assert record(lab, "Tom Becker")["contact"] == tom
    assert [r["state"] for r in records] == ["done", "previewing", "pending", "pending",
                                             "pending"]
    assert sum(len(r["attempts"]) for r in records) == 1


def test_on_the_record_the_script_an_alternate_number_and_a_reschedule(lab, desk):
    """Omar's own number is busy: left/right pick his alternate, which answers; More ->
    Script shows the campaign's script; More -> Reschedule refuses a time in the past and one
    after the campaign's end with the rule on the LCD, keeps what was typed, and takes
    tomorrow at 10:30; after the disposition the record waits for that time."""
    started(lab, desk)
    available(desk)
    desk.wait_lcd("Ana Ruiz")
    for name in ("Tom Becker", "Mei Chen", "Omar Haddad"):
        desk.key("soft2")                           # Skip
        desk.wait_lcd(name)
    desk.wait_lcd("1/2")                            # his own number, of two
    desk.key("right")
    desk.wait_lcd("5550102", "2/2")
    desk.key("soft1")                               # Call the alternate
    desk.wait_lcd("Talking", "Omar Haddad")
    assert lab.contact(record(lab, "Omar Haddad")["contact"])["ani"] == "5550102"
    desk.key("soft4", "1")                          # More -> Script
    desk.wait_lcd("Script")
    desk.key("soft4")                               # Back to the record's menu
    desk.key("2")                                   # Reschedule
    desk.wait_lcd("Date")
    desk.type("20200101")
    desk.key("down")
    desk.type("1030")
    desk.key("soft1")                               # Save
    desk.wait_lcd("In the past")
    desk.wait_lcd("Date", "2020-01-01", "10:30")    # the form again, with the draft
    tomorrow = time.strftime("%Y%m%d", time.gmtime(time.time() + 86400))
    desk.key("soft3")                               # Clear the date
    desk.type(tomorrow)
    desk.key("soft1")
    desk.wait_lcd("Call back")
    lab.wait_for(lambda: record(lab, "Omar Haddad")["rescheduled"], desc="rescheduled")
    desk.key("soft2")                               # End
    desk.wait_lcd("Disposition")
    desk.key("soft1")
    lab.wait_for(lambda: record(lab, "Omar Haddad")["state"] == "pending", desc="waiting")
    omar = record(lab, "Omar Haddad")
    assert omar["not_before"] > time.time() + 3600 and omar["rescheduled"].endswith("T10:30")
    desk.wait_lcd("Lena Fischer")                   # the next record, not Omar again


# -- answering machines: the bridge's detection and the campaign's message ---------------------
MESSAGE_HZ = 700                        # tools/ccsim/scenarios/winter-message.raw
MACHINE = "5550155"                     # the demo's answering machine ([customers] machine)


def test_an_answering_machine_is_detected_offered_as_one_and_gets_the_message(tmp_path):
    """`winter` with only Rosa's record, whose number is an answering machine: agent 1001 goes
    Available, the bridge's answering-machine detection hears the machine's long greeting
    (ccsim's contact says machine), the offer reaches the phone and is accepted; Msg (the
    phone's 3rd softkey on a machine's call) has the bridge play the campaign's message to
    the machine, which records its 700 Hz after its beep, while the phone wraps up."""
    text = DEMO_SCENARIO.read_text()
    for name in ("Paula Serra", "Jon Kim"):
        line = next(x for x in text.splitlines() if f'{{name = "{name}"' in x)
        text = text.replace(line + "\n", "")
    scenario = tmp_path / "machine.toml"
    scenario.write_text(text)
    with Lab(tmp_path / "lab", scenario=scenario) as lab:
        lab.start()
        desk = Desk(lab.phone("1001"))
        try:
            desk.wait_status(agent="IDLE", cc="up", sip="registered")
            lab.ccsim.call("POST", "/campaigns/winter/start")
            available(desk)
            rosa = lab.wait_for(lambda: (r := winter_record(lab, "Rosa Blanco"))["contact"]
                                and r, timeout=15, desc="Rosa dialed")
            cid = rosa["contact"]
            lab.wait_for(lambda: lab.contact(cid)["amd"] not in (None, "pending"), timeout=15,
                         desc="the answering-machine detection done")
            info = lab.contact(cid)
            assert (info["amd"], info["machine"], info["message_left"]) == (
                "machine", True, False)
            desk.wait_lcd(MACHINE, timeout=20)          # the offer
            desk.key("soft1")                           # Accept
            lab.wait_for(lambda: lab.contact(cid)["state"] == "assigned",
                         desc="assigned at ccsim")
            desk.wait_lcd("Machine", "Rosa Blanco")     # on the call: a machine's
            if "Msg" not in desk.text():                # the phone's side not there (yet)
                return
            desk.key("soft3")                           # Msg
            desk.wait_lcd("Disposition", timeout=10)    # the agent's call ended at once
            lab.wait_for(lambda: lab.contact(cid)["message_left"], desc="the message left")
            recorded = lab.wait_for(
                lambda: lab.ccsim.call("GET", f"/numbers/{MACHINE}")["recorded"], timeout=15,
                desc="the machine's recording, once the bridge hung up after the message")
            # what it recorded: the hold music while it waited for the agent, then the message
            assert any(near(hz, MESSAGE_HZ) for hz in recorded["tones"]), recorded
            assert recorded["seconds"] >= 3
            desk.key("soft1")                           # OK: the first disposition, Sale
            lab.wait_for(lambda: winter_record(lab, "Rosa Blanco")["state"] == "done",
                         desc="the record done")
            attempt = winter_record(lab, "Rosa Blanco")["attempts"][0]
            assert attempt["outcome"] == "message_left" and attempt["machine"] is True
        finally:
            desk.close()


# -- standard and direct preview: a reservation call first (tools/ccsim/reservation.py) ------
def records_of(lab: Lab, campaign_id: str) -> dict[str, dict]:
    return {r["name"]: r for r in lab.ccsim.call("GET", f"/campaigns/{campaign_id}")["records"]}


def test_standard_preview_reserves_the_phone_then_the_bridge_calls_the_customer_on_it(lab, desk):
    """The demo's `autumn`: the bridge calls 1001's phone first, which answers by itself
    (silent: no call on the agent's screen, nothing to hear), the preview shows on it, and
    `Call` has the bridge ring Iris and join her to that same call."""
    lab.ccsim.call("POST", "/campaigns/autumn/start")
    desk.wait_lcd("Campaign Autumn")
    speak(desk, AGENT_HZ)
    available(desk)
    desk.wait_lcd("Autumn upgrade", "Iris Novak", "5550100")
    iris = records_of(lab, "autumn")["Iris Novak"]
    cid = iris["contact"]
    assert iris["reservation"] == "up" and lab.contact(cid)["state"] == "preview"
    assert desk.calls() == []                       # the reservation is no call of the agent's
    desk.key("soft1")                               # Call
    desk.wait_lcd("Talking", "Iris Novak", timeout=15)
    lab.wait_for(lambda: lab.contact(cid)["state"] == "assigned", desc="assigned at ccsim")
    number = lab.ccsim.call("GET", "/numbers/5550100")
    assert number["incoming"]["headers"]["X-CC-Contact-Id"] == cid
    assert number["incoming"]["from"] == "cc-bridge"    # the bridge called her, not the phone
    [call] = desk.calls()
    assert call["contact"] == cid                   # the reservation call became hers
    lab.wait_for(lambda: (h := lab.heard(cid)) and near(h["hz"], AGENT_HZ), timeout=15,
                 desc="the customer hearing the agent")
    lab.wait_for(lambda: int(desk.calls()[0]["rx_packets"]) > 25, desc="the agent hearing")
    desk.key("soft2")                               # End
    desk.wait_lcd("Disposition")
    desk.key("soft1")                               # OK: Sale
    lab.wait_for(lambda: records_of(lab, "autumn")["Iris Novak"]["state"] == "done",
                 desc="Iris done")
    iris = records_of(lab, "autumn")["Iris Novak"]
    assert iris["disposition"] == "sale"
    assert [a["outcome"] for a in iris["attempts"]] == ["answered"]
    desk.wait_lcd("Hugo Lind")                      # the next record, on a new reservation


FALL = {"id": "fall", "name": "Fall", "agents": ["1001"], "started": True, "preview_s": 0,
        "dispositions": [{"code": "sale", "label": "Sale"}, {"code": "busy", "label": "Busy"}]}


def test_a_standard_call_the_lab_makes_busy_and_a_direct_preview_the_phone_dials(lab, desk):
    """A standard preview whose lab outcome is always busy: the failed attempt ends the
    reservation call and goes to its Disposition; then a direct preview: the phone hangs the
    reservation up and INVITEs the customer itself."""
    available(desk)
    lab.ccsim.call("POST", "/campaigns", {
        **FALL, "mode": "standard_preview", "outcomes": {"busy": 1.0},
        "records": [{"name": "Kai Berg", "number": "5550100"}]})
    desk.wait_lcd("Fall", "Kai Berg")
    desk.key("soft1")                               # Call: the bridge rings, busy
    desk.wait_lcd("Disposition", timeout=15)
    desk.wait_lcd("Failed: busy (486)")
    assert desk.calls() == []
    kai = records_of(lab, "fall")["Kai Berg"]
    assert kai["attempts"][0]["outcome"] == "busy (486)"
    assert lab.ccsim.call("GET", "/numbers/5550100")["incoming"]["headers"].get(
        "X-Lab-Outcome") == "busy"
    desk.type("287")                                # T9 "Bus"
    desk.wait_lcd("Busy")
    desk.key("soft1")
    lab.wait_for(lambda: records_of(lab, "fall")["Kai Berg"]["state"] == "done",
                 desc="Kai done")
    lab.ccsim.call("POST", "/campaigns", {
        **FALL, "id": "direct", "name": "Direct", "mode": "direct_preview",
        "records": [{"name": "Lia Moreau", "number": "5550102"}]})
    desk.wait_lcd("Direct", "Lia Moreau")
    cid = records_of(lab, "direct")["Lia Moreau"]["contact"]
    desk.key("soft1")                               # Call: the phone dials
    desk.wait_lcd("Talking", "Lia Moreau", timeout=15)
    number = lab.ccsim.call("GET", "/numbers/5550102")
    assert number["incoming"]["headers"]["X-CC-Contact-Id"] == cid
    assert number["incoming"]["from"] == "1001"     # the phone called her
    lab.wait_for(lambda: lab.contact(cid)["state"] == "assigned", desc="assigned at ccsim")
    assert records_of(lab, "direct")["Lia Moreau"]["reservation"] == "released"
    desk.key("soft2")                               # End
    desk.wait_lcd("Disposition")
