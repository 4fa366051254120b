"""Contacts through ccsim's media bridge ([bridge] enabled: Lab(bridge=True)), every part a real
process on loopback: Kamailio, ccsim, its customers and its bridge (tools/ccsim/bridge.py), sim
phones. The customer calls the bridge and hears its hold music while queued; each offer is a
leg the bridge dials to the agent's phone; answered, the two legs talk through the bridge's
room. Audio is checked where it counts: what the customer hears (lab.heard) and what the
agent's handset plays (its PCM)."""
import time

import pytest

from tests.audio import customer_hears, near, played_hz, tone
from tools.ccsim.bridge import HOLD_NOTES
from tools.lab import Desk, Lab

pytestmark = pytest.mark.slow

CUSTOMER_HZ = 440                  # what a simulated customer plays
MIC_HZ = {"1001": 1000, "1002": 700}


@pytest.fixture
def lab(request, tmp_path):
    marker = request.node.get_closest_marker("cc_settings")
    with Lab(tmp_path, settings=marker.args[0] if marker else {}, bridge=True) as lab:
        lab.start()
        yield lab


def desk_for(lab, agent="1001", pin="1234") -> Desk:
    desk = Desk(lab.phone(agent, pin=pin))
    audio = desk.phone.workdir / "state" / "run" / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    (audio / "mic.raw").write_bytes(tone(MIC_HZ[agent], 60))   # what the agent says
    desk.wait_status(agent="IDLE", cc="up", sip="registered", timeout=20)
    return desk


def available(desk, lab, agent="1001"):
    desk.key("soft1", "1")                       # State -> Available
    desk.wait_lcd("Available")
    lab.wait_for(lambda: lab.agent(agent)["state"] == "available", desc=f"{agent} available")


def participants(lab, cid) -> list[tuple[str, str, str | None]]:
    return [(p["who"], p["state"], p["room"]) for p in lab.contact(cid)["participants"]]


def customer_leg(lab, cid) -> str:
    return next(p["leg"] for p in lab.contact(cid)["participants"] if p["who"] == "customer")


def hears_music(lab, cid, timeout=10):
    def music():
        h = lab.heard(cid)
        return (h and h["level_dbfs"] > -30 and h["tones"]
                and all(any(near(t, n) for n in HOLD_NOTES) for t in h["tones"]) and h)
    return lab.wait_for(music, timeout=timeout, desc="the customer hearing hold music")


def test_offer_answer_audio_both_ways_hold_music_end_wrapup(lab):
    desk = desk_for(lab)
    available(desk, lab)
    cid = lab.post_contact("sales", "+15551234567", {"customer": "Jo Smith"})
    desk.wait_lcd("Call 1 of 1", "Customer: Jo Smith", timeout=15)
    assert "+15551234567" in desk.text()         # the caller's number, not the bridge's
    # the customer's call is the center's: answered by the bridge, on hold music meanwhile
    lab.wait_for(lambda: ("customer", "answered", None) in participants(lab, cid),
                 desc="the customer's leg answered by the bridge")
    assert ("agent", "ringing", None) in participants(lab, cid)
    hears_music(lab, cid)

    desk.hook(True)                              # answer with the handset
    desk.wait_lcd("Talking")
    lab.wait_for(lambda: participants(lab, cid) == [("customer", "answered", cid),
                                                    ("agent", "answered", cid)],
                 desc="both legs in the contact's room")
    assert lab.contact(cid)["state"] == "assigned"
    assert customer_hears(lab, cid, MIC_HZ["1001"])["level_dbfs"] > -25     # the agent's voice
    assert lab.wait_for(lambda: played_hz(desk, "handset", 0.5) == CUSTOMER_HZ and 1,
                        desc="the customer in the handset")
    assert len(desk.calls()) == 1

    desk.key("hold")                             # held: the customer hears music, not silence
    desk.wait_lcd("Held")
    lab.wait_for(lambda: lab.contact(cid)["state"] == "held", desc="held at ccsim")
    hears_music(lab, cid)
    assert ("customer", "answered", None) in participants(lab, cid)
    desk.key("hold")
    desk.wait_lcd("Talking")
    customer_hears(lab, cid, MIC_HZ["1001"])

    desk.key("soft2")                            # End: the center hangs the customer up too
    desk.wait_lcd("Wrap-up")
    lab.wait_for(lambda: lab.contact(cid)["state"] == "wrapup", desc="wrap-up at ccsim")
    lab.wait_for(lambda: participants(lab, cid) == [], desc="both legs hung up")
    desk.type("7253")
    desk.wait_lcd("Sale made")
    desk.key("soft1")
    lab.wait_for(lambda: lab.contact(cid)["wrapup"] == "sale_made", desc="wrap-up recorded")
    desk.wait_lcd("Available")
    assert desk.status()["calls"] == "0"


@pytest.mark.cc_settings({"rona_s": 4})
def test_rona_keeps_the_customer_on_the_bridge_and_the_next_agent_talks_to_them(lab):
    first, second = desk_for(lab, "1001"), desk_for(lab, "1002", pin="5678")
    available(first, lab, "1001")
    cid = lab.post_contact("support", "+15551230002", {"customer": "Al Reyes"}, talk_s=120)
    first.wait_lcd("Call 1 of 1", timeout=15)
    lab.wait_for(lambda: ("customer", "answered", None) in participants(lab, cid),
                 desc="the customer on the bridge")
    leg = customer_leg(lab, cid)
    hears_music(lab, cid)

    # 1001 lets it ring: RONA; only 1001's leg goes, the customer stays on the bridge
    lab.wait_for(lambda: lab.agent("1001")["state"] == "idle", timeout=15, desc="RONA")
    assert lab.agent("1001")["reason"] == "rona"
    lab.wait_for(lambda: first.status()["calls"] == "0", desc="the offer withdrawn at 1001")
    assert lab.contact(cid)["state"] == "queued"
    assert participants(lab, cid) == [("customer", "answered", None)]
    assert customer_leg(lab, cid) == leg
    hears_music(lab, cid)                        # still connected: reports keep coming

    second.key("soft1", "1")                     # 1002 Available: gets the same customer
    second.wait_lcd("Call 1 of 1", "Customer: Al Reyes", timeout=15)
    second.hook(True)
    second.wait_lcd("Talking")
    lab.wait_for(lambda: participants(lab, cid) == [("customer", "answered", cid),
                                                    ("agent", "answered", cid)],
                 desc="the customer and 1002 in one room")
    assert customer_leg(lab, cid) == leg         # the very call the customer made
    customer_hears(lab, cid, MIC_HZ["1002"])
    assert lab.wait_for(lambda: played_hz(second, "handset", 0.5) == CUSTOMER_HZ and 1,
                        desc="the customer in 1002's handset")
    contact = lab.contact(cid)
    assert [(a["agent"], a["outcome"]) for a in contact["attempts"]] == [
        ("1001", "rona"), ("1002", "answered")]
    second.key("soft2")
    second.wait_lcd("Wrap-up")
    lab.wait_for(lambda: participants(lab, cid) == [], desc="both legs hung up")


def test_ccsim_killed_mid_call_the_bridge_keeps_talking_and_the_restarted_ccsim_ends_it(lab):
    desk = desk_for(lab)
    available(desk, lab)
    cid = lab.post_contact("sales", "+15551230003", {"customer": "Jo Smith"}, talk_s=120)
    desk.wait_lcd("Call 1 of 1", timeout=15)
    desk.hook(True)
    desk.wait_lcd("Talking")
    lab.wait_for(lambda: participants(lab, cid) == [("customer", "answered", cid),
                                                    ("agent", "answered", cid)],
                 desc="both legs in the room")
    customer_hears(lab, cid, MIC_HZ["1001"])
    leg = customer_leg(lab, cid)

    lab.ccsim.kill()
    desk.wait_status(cc="down")
    before = int(desk.calls()[0]["rx_packets"])
    time.sleep(2)
    assert int(desk.calls()[0]["rx_packets"]) - before > 80       # 50 packets/s at 20 ms
    assert played_hz(desk, "handset", 0.5) == CUSTOMER_HZ           # the agent hears the customer
    # the bridge, asked while ccsim is away: both legs still up in the room, and what it
    # sends the customer's leg is the agent's voice
    events = lab.bridge_command({"op": "legs"}, until=lambda e: e.get("event") == "audio"
                                and e.get("leg") == leg and near(e["hz"], MIC_HZ["1001"]))
    listing = next(e for e in events if e["event"] == "legs")
    assert listing["rooms"] == {cid: [leg, f"{cid}.a1"]}
    assert {(x["leg"], x["state"], x["contact"]) for x in listing["legs"]} == {
        (leg, "answered", cid), (f"{cid}.a1", "answered", cid)}

    lab.ccsim.start()                            # adopts the bridge, maps its legs back
    desk.wait_status(cc="up", timeout=10)
    assert lab.contact(cid)["state"] == "assigned"
    assert participants(lab, cid) == [("customer", "answered", cid), ("agent", "answered", cid)]
    assert "adopted" in (lab.workdir / "ccsim.log").read_text()
    before = int(desk.calls()[0]["rx_packets"])
    time.sleep(1)
    assert int(desk.calls()[0]["rx_packets"]) - before > 40

    desk.key("soft2")                            # the agent ends it: a later hangup works
    desk.wait_lcd("Wrap-up")
    lab.wait_for(lambda: lab.contact(cid)["state"] == "wrapup", desc="wrap-up at ccsim")
    lab.wait_for(lambda: participants(lab, cid) == [], desc="both legs hung up")
    desk.type("7253")
    desk.wait_lcd("Sale made")
    desk.key("soft1")
    lab.wait_for(lambda: lab.contact(cid)["wrapup"] == "sale_made", desc="wrap-up recorded")





