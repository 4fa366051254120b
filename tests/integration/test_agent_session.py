"""An agent's session end to end, every part a real process on loopback: Kamailio, ccsim with
its simulated customers (baresip-python), and the firmware on the sim board, driven through
its service console the way a technician (or the HIL suite) would."""
import pytest

from tests.audio import near, played_hz, tone
from tools.lab import Desk

CARD = "4111111111111111"
VARIABLES = {"customer": "Jo Smith", "account": "AC-2291", "reason": "Upgrade",
             "tier": "Gold", "language": "English", "card": CARD}


def desk_for(lab, agent="1001", **kw) -> Desk:
    desk = Desk(lab.phone(agent, **kw))
    return desk


def available(desk, lab, agent="1001"):
    desk.key("soft1", "1")                       # State -> Available
    desk.wait_lcd("Available")
    lab.wait_for(lambda: lab.agent(agent)["state"] == "available", desc="available at ccsim")


def test_offer_answer_hold_end_wrapup_and_back_to_available(lab, desk):
    assert desk.lcd()[0].startswith("Idle")
    available(desk, lab)
    cid = lab.post_contact("sales", "+15551234567", VARIABLES)

    shown = desk.wait_lcd("Call 1 of 1", "Customer: Jo Smith")
    assert "+15551234567" in shown
    assert desk.status()["agent"] == "RINGING"
    assert ("line", "blink") in _leds(desk)
    assert lab.contact(cid)["state"] == "offered"

    desk.hook(True)                              # answer by lifting the handset
    desk.wait_lcd("Talking")
    lab.wait_for(lambda: lab.contact(cid)["state"] == "assigned", desc="assigned")
    lab.wait_for(lambda: int(desk.calls()[0]["rx_packets"]) > 20, desc="customer audio")
    assert desk.status()["agent"] == "TALKING" and ("line", "on") in _leds(desk)
    # the customer's 440 Hz tone is in the handset's PCM; the speaker key moves it there
    assert lab.wait_for(lambda: played_hz(desk, "handset", 0.5), desc="audio in the handset") == 440
    desk.key("speaker")
    assert lab.wait_for(lambda: played_hz(desk, "speaker", 0.5), desc="audio on the speaker") == 440
    assert ("speaker", "on") in _leds(desk)
    desk.key("speaker")                          # off again: back to the lifted handset
    assert ("speaker", "off") in _leds(desk) and desk.status()["calls"] == "1"

    desk.key("hold")
    desk.wait_lcd("Held")
    lab.wait_for(lambda: lab.contact(cid)["state"] == "held", desc="held at ccsim")
    desk.key("soft2")                            # End: refused while held
    desk.wait_lcd("Resume the call")
    assert desk.status()["calls"] == "1" and lab.contact(cid)["state"] == "held"
    desk.hook(False)                             # the handset down does not end a held call
    assert desk.status()["calls"] == "1"
    desk.key("hold")                             # resume
    desk.wait_lcd("Talking")
    desk.key("soft2")                            # End

    desk.wait_lcd("Wrap-up", "Type 3+ to search")
    lab.wait_for(lambda: lab.contact(cid)["state"] == "wrapup", desc="wrap-up at ccsim")
    desk.type("7253")                            # "Sale" in T9
    shown = desk.wait_lcd("Sale made")
    assert "Billing" not in shown                # filtered
    desk.key("soft1")                            # OK
    lab.wait_for(lambda: lab.contact(cid)["wrapup"] == "sale_made", desc="wrap-up recorded")
    desk.wait_lcd("Available")
    assert lab.agent("1001")["state"] == "available"
    assert desk.status()["calls"] == "0"


def test_the_customer_hears_the_agent_and_mute_holds_it_back_and_gets_dtmf(lab, desk):
    audio_dir = desk.phone.workdir / "state" / "run" / "audio"
    (audio_dir / "mic.raw").write_bytes(tone(1000, 30))          # said into the handset
    (audio_dir / "headset_mic.raw").write_bytes(tone(600, 30))   # and into the headset
    available(desk, lab)
    cid = lab.post_contact("sales", "+15551234567", VARIABLES)
    desk.wait_lcd("Call 1 of 1")
    desk.hook(True)
    desk.wait_lcd("Talking")

    def hearing(hz):
        """Wait until the customer hears ``hz`` (None: silence); return the report."""
        return lab.wait_for(lambda: (h := lab.heard(cid)) and near(h["hz"], hz) and h,
                            desc=f"the customer hearing {hz or 'silence'}")

    assert hearing(1000)["level_dbfs"] > -20                    # the handset's mic, as spoken
    desk.key("mute")
    desk.wait_lcd("Muted")
    assert ("mute", "on") in _leds(desk)
    hearing(None)
    desk.key("mute")
    desk.wait_lcd("Talking")
    assert ("mute", "off") in _leds(desk)
    hearing(1000)
    desk.key("headset")                                         # the headset's own mic
    hearing(600)
    desk.key("headset")
    hearing(1000)
    for i, k in enumerate("12#", 1):                            # keys to the customer's IVR
        desk.key(k)                                             # "ok" once the LCD shows it
        shown = desk.lcd()
        assert shown[2].rstrip() == f"Sent {i} " + "･" * i, shown   # that keys went, not which
        assert "#" not in "".join(shown) and "12" not in shown[2], shown
    lab.wait_for(lambda: lab.heard(cid)["dtmf"] == "12#", desc="the customer got 12#")
    desk.key("hold")
    desk.wait_lcd("Held")
    # a held customer hears no agent: the contact center's hold music instead (its bridge)
    lab.wait_for(lambda: (h := lab.heard(cid)) and not near(h["hz"], 1000)
                 and not any(near(t, 1000) for t in h.get("tones") or ()),
                 desc="the held customer no longer hearing the agent")
    desk.key("hold")
    desk.wait_lcd("Talking")
    assert hearing(1000)["heard_s"] > 1.0
    assert int(desk.calls()[0]["tx_packets"]) > 100
    desk.key("soft2")
    desk.wait_lcd("Wrap-up")


@pytest.mark.cc_settings({"mask_ani": True})
def test_caller_number_masked_and_secure_variables_never_shown(lab, desk):
    available(desk, lab)
    lab.post_contact("sales", "+15551234567", VARIABLES)
    seen = [desk.wait_lcd("Call 1 of 1")]
    for _ in range(6):                           # scroll through every variable
        desk.key("down")
        seen.append(desk.text())
    everything = "\n".join(seen)
    assert "*******4567" in everything and "555123" not in everything
    for label in ("Customer: Jo Smith", "Account: AC-2291", "Tier: Gold", "Language: English"):
        assert label in everything, label
    assert CARD not in everything and "1111" not in everything
    assert "Card" not in everything              # not even the secure variable's label


@pytest.mark.cc_settings({"rona_s": 2})
def test_rona_puts_the_agent_in_idle_and_requeues_the_contact(lab, desk):
    available(desk, lab)
    cid = lab.post_contact("sales", "+15559876543", VARIABLES)
    desk.wait_lcd("Call 1 of 1")
    desk.wait_lcd("Missed call", timeout=8)      # nobody answered within rona_s
    agent = lab.wait_for(lambda: (a := lab.agent("1001"))["state"] == "idle" and a,
                         desc="idle at ccsim")
    assert agent["reason"] == "rona"
    contact = lab.contact(cid)
    assert contact["attempts"][0]["agent"] == "1001" and contact["state"] != "offered"
    assert desk.status()["calls"] == "0"         # the ringing call was released
    desk.key("soft1")                            # Avail: the re-queued contact comes back
    lab.wait_for(lambda: len(lab.contact(cid)["attempts"]) == 2, desc="a second attempt")
    desk.wait_lcd("Call 1 of 1")


def test_pending_idle_is_applied_when_the_call_ends(lab, desk):
    available(desk, lab)
    cid = lab.post_contact("sales", "+15551234567", VARIABLES)
    desk.wait_lcd("Call 1 of 1")
    desk.key("soft1")                            # Accept
    desk.wait_lcd("Talking")
    desk.key("soft4", "1", "2")                  # More -> Next state -> Idle: the reasons
    desk.wait_lcd("Idle reason")
    desk.type("586")                             # "Lun(ch)"
    desk.wait_lcd("Lunch")
    desk.key("soft1")
    desk.wait_lcd("Next: Idle Lunch")
    pending = lab.wait_for(lambda: lab.agent("1001")["pending"], desc="pending at ccsim")
    assert pending["state"] == "idle" and pending["reason"] == "lunch"
    assert lab.agent("1001")["state"] == "talking"

    desk.key("soft2")                            # End
    desk.wait_lcd("Wrap-up")
    desk.type("245")                             # "Bil(ling question)"
    desk.wait_lcd("Billing question")
    desk.key("soft1")
    agent = lab.wait_for(lambda: (a := lab.agent("1001"))["state"] == "idle" and a,
                         desc="pending idle applied")
    assert agent["reason"] == "lunch" and agent["pending"] is None
    assert lab.contact(cid)["wrapup"] == "billing_question"
    desk.wait_lcd("Idle: Lunch")


@pytest.mark.cc_settings({"max_offers": 3, "accept_all": True})
def test_stacked_offers_page_and_accept_all(lab, desk):
    available(desk, lab)
    ids = [lab.post_contact("sales", f"+1555000000{i}", {"customer": f"Customer {i}"})
           for i in range(3)]
    shown = desk.wait_lcd("Call 1 of 3")
    assert "Customer 0" in shown                 # oldest on top
    desk.key("right")
    assert "Customer 1" in desk.wait_lcd("Call 2 of 3")
    desk.key("left")
    desk.wait_lcd("Call 1 of 3")
    desk.key("soft2")                            # All
    lab.wait_for(lambda: all(lab.contact(c)["state"] in ("assigned", "held") for c in ids),
                 desc="every offer accepted", timeout=15)
    calls = lab.wait_for(lambda: (c := desk.calls()) and len(c) == 3
                         and sorted(x["state"] for x in c) == ["held", "held", "talking"] and c,
                         desc="one talking, two held", timeout=15)
    assert {c["contact"] for c in calls} == set(ids)


def test_login_on_the_keypad_wrong_pin_then_right(lab):
    desk = desk_for(lab, agent=None)
    desk.wait_status(cc="off" if False else desk.status()["cc"])
    desk.wait_lcd("Logged out")
    desk.key("soft1")                            # Login
    desk.type("1001")
    desk.key("ok")
    desk.type("9999")
    desk.key("ok")
    desk.wait_lcd("Wrong agent ID")
    assert lab.agent("1001")["state"] in ("logged_out", None)
    desk.key("ok")                               # the agent id is kept: on to the PIN
    desk.type("1234")
    desk.key("ok")
    desk.wait_lcd("Idle")
    lab.wait_for(lambda: lab.agent("1001")["connected"], desc="connected at ccsim")
    desk.close()


def test_sip_digest_failure_is_shown(lab):
    desk = desk_for(lab, sip_password="wrong")
    desk.wait_status(sip="failed")
    desk.wait_lcd("401")
    assert "SIP" in desk.text()
    desk.close()


def test_logout_with_a_reason(lab, desk):
    desk.key("soft3")                            # Out
    desk.wait_lcd("Logout reason")
    desk.type("2")                               # "B(reak)"
    desk.wait_lcd("Break")
    desk.key("soft1")
    desk.wait_lcd("Logged out")
    lab.wait_for(lambda: lab.agent("1001")["state"] == "logged_out", desc="logged out at ccsim")








def _leds(desk):
    line = desk.link.command("leds")[0]
    return {tuple(p.split("=")) for p in line.split()[1:]}
