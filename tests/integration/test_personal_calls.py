"""Personal calls through the lab, every part real: Kamailio routing them from ccsim's
forwarding table (tools/kamailio.py, ``personal_db``), ccsim (its admin API sets the
forwarding and keeps the voicemail boxes), the voicemail service (tools/voicemail.py) and
simulated customers (tools/ccsim/customers.py), which are both the callers and, registered as
agents' extensions, the "phones" (answering, ringing on, busy): no sim phone is needed.
Agents log in (where a test needs it) on a raw WebSocket.

The demo's agents plus 1004-1006 (no queue); boxes hold one message ([voicemail]
max_messages = 1). Each test uses extensions of its own.
"""
import contextlib
import time
from pathlib import Path

import pytest
from websockets.sync.client import connect

from firmware.cc import protocol as p
from tools.ccsim.customers import number_tone, tones
from tools.lab import DEMO_SCENARIO, Lab
from tools.voicemail import BEEP_HZ, GREETING_HZ

pytestmark = pytest.mark.slow

EXTRA_AGENTS = "".join(f"""
[[agents]]
id = "{n}"
name = "Agent {n}"
pin = "1234"
team = "Red"
extension = "sip:{n}@127.0.0.1:5062"
queues = []
""" for n in ("1004", "1005", "1006"))
PINS = {"1001": "1234", "1002": "5678"}
ANSWERING = ("5550100", "5550101", "5550102")     # the demo's numbers its customers answer


@pytest.fixture(scope="module")
def centre(tmp_path_factory):
    work = tmp_path_factory.mktemp("personal")
    scenario = work / "scenario-base.toml"
    scenario.write_text(DEMO_SCENARIO.read_text() + EXTRA_AGENTS)
    with Lab(work / "lab", scenario=scenario, voicemail={"max_messages": 1}) as lab:
        lab.start()
        # ccsim is ready before its customers' numbers are registered (then a call forwarded
        # to one would find nobody: 404): GET /numbers/<n> answers once one is
        for number in ANSWERING:
            lab.wait_for(lambda n=number: lab.ccsim.call("GET", f"/numbers/{n}"),
                         desc=f"{number} answering")
        yield lab


@pytest.fixture(scope="module")
def people(centre):
    """The callers, and the agents' "phones": 1001 and 1003 answer, 1004 rings on, 1005 is
    busy (486); 1002 and 1006 have no phone registered."""
    process = centre.customers_process("--answer", "1001,1003", "--ring", "1004",
                                       "--refuse", "1005")
    yield process
    process.close()


def dial(centre: Lab, people, contact: str, to: str, ani: str, **kw) -> float:
    """A personal call from ``ani``; when it was dialed (time.monotonic())."""
    uri = to if to.startswith("sip:") else centre.extension_uri(to)
    people.send(op="dial", contact=contact, to=uri, ani=ani, personal=True, **kw)
    return time.monotonic()


def outcome(people, contact: str, timeout: float = 15) -> dict:
    return people.wait(lambda e: e.get("contact") == contact
                       and e["event"] in ("answered", "failed"), timeout)


def ended(people, contact: str, timeout: float = 20) -> dict:
    return people.wait(lambda e: e.get("contact") == contact
                       and e["event"] in ("ended", "failed"), timeout)


def heard_tones(people, contact: str) -> list[list[int]]:
    """Each 0.5 s report's tones of what the caller heard, in order."""
    return [e["tones"] for e in people.events
            if e.get("contact") == contact and e["event"] == "audio"]


def heard(reports: list[list[int]], hz: float) -> bool:
    return any(abs(t - hz) <= hz * 0.03 for report in reports for t in report)


def number_calls(centre: Lab, number: str) -> dict:
    try:
        return centre.ccsim.call("GET", f"/numbers/{number}")
    except RuntimeError as e:
        assert ": 404 " in str(e), e
        return {"calls": 0, "incoming": None}


def incoming_for(people, number: str) -> list[dict]:
    return [e for e in people.events if e["event"] == "incoming" and e.get("number") == number]


def file_tones(path: str) -> list[list[int]]:
    """The tones of a kept message's middle, as one report."""
    pcm = Path(path).read_bytes()
    return [tones(pcm[len(pcm) // 4:len(pcm) * 3 // 4], 8000)]


class Agent:
    """An agent logged in on a raw WebSocket (the protocol, no phone)."""

    def __init__(self, centre: Lab, agent: str):
        self.stack = contextlib.ExitStack()
        self.ws = self.stack.enter_context(connect(centre.ccsim.ws_url))
        self.n = 0
        self.snapshot = self.request(p.Hello, p.Snapshot, agent=agent, pin=PINS.get(agent, "1234"))

    def request(self, kind, answer, **fields):
        self.n += 1
        self.ws.send(p.encode(kind(id=str(self.n), **fields)))
        while True:
            m = p.decode_server(self.ws.recv(timeout=5))
            if isinstance(m, p.Error):
                raise AssertionError(m)
            if isinstance(m, answer):
                return m

    def close(self):
        self.stack.close()


def events(centre: Lab, agent: str, kind: str) -> list[dict]:
    return [e["message"] for e in centre.ccsim.call("GET", f"/agents/{agent}/events")["events"]
            if e["message"]["type"] == kind]


# -- (a) forwarding ---------------------------------------------------------------------------
def test_forward_always_reaches_the_number_not_the_phone_and_busy_forwards_when_busy(
        centre, people):
    target = "5550101"                        # a number the lab's customers answer
    kept = centre.forward("1003", always=target)
    assert kept == {"always": target, "busy": "", "no_answer": "", "no_answer_s": 20}
    before = number_calls(centre, target)["calls"]
    dial(centre, people, "fwd-always", "1003", "+15550003001", talk_s=3)
    assert outcome(people, "fwd-always")["event"] == "answered"
    people.wait(lambda e: e.get("contact") == "fwd-always" and e["event"] == "audio"
                and heard([e["tones"]], number_tone(target)), timeout=5)
    ended(people, "fwd-always")
    number = number_calls(centre, target)
    assert number["calls"] == before + 1
    assert number["incoming"]["from"] == "+15550003001"
    diversion = number["incoming"]["headers"]["Diversion"]
    assert "sip:1003@" in diversion and "reason=unconditional" in diversion
    assert incoming_for(people, "1003") == []             # the phone never rang

    centre.forward("1005", busy="5550102")                # 1005's phone answers 486
    dial(centre, people, "fwd-busy", "1005", "+15550003002", talk_s=2)
    assert outcome(people, "fwd-busy")["event"] == "answered"
    assert incoming_for(people, "1005")                    # it rang, was busy ...
    number = number_calls(centre, "5550102")              # ... and the call went on
    assert number["incoming"]["from"] == "+15550003002"
    assert "reason=user-busy" in number["incoming"]["headers"]["Diversion"]
    ended(people, "fwd-busy")
    centre.forward("1003")
    centre.forward("1005")


# -- (b) voicemail: no phone, or a phone that does not answer --------------------------------
def test_no_phone_registered_goes_to_voicemail_which_records_and_counts_it(centre, people):
    agent = Agent(centre, "1002")                          # logged in: its events are sent
    try:
        assert (agent.snapshot.voicemail_waiting, agent.snapshot.voicemail_number) == (0, "*97")
        dialed = dial(centre, people, "vm-none", "1002", "+15550004001", talk_s=5, hz=880)
        answered = outcome(people, "vm-none")
        assert answered["event"] == "answered"
        ended(people, "vm-none")
        recorded = centre.voicemail.wait(lambda e: e["event"] == "recorded"
                                         and e["box"] == "1002")
        took = time.monotonic() - dialed
        reports = heard_tones(people, "vm-none")
        assert heard(reports, GREETING_HZ) and heard(reports, BEEP_HZ), reports

        box = centre.voicemail_box("1002")
        [message] = box["messages"]
        assert (message["id"], message["caller"], message["heard"]) == (
            recorded["id"], "+15550004001", False)
        assert 1.5 < message["duration_s"] < 3.5, message
        assert (box["waiting"], box["count"], box["full"]) == (1, 1, True)
        assert heard(file_tones(message["file"]), 880)     # what the caller said
        assert took < 10                                    # no ringing first: no phone
        lamp = events(centre, "1002", "voicemail")
        assert [(m["waiting"], m["messages"]) for m in lamp] == [(1, 1)]
        resync = agent.request(p.Resync, p.Snapshot)
        assert (resync.voicemail_waiting, resync.voicemail_messages) == (1, 1)
    finally:
        agent.close()


def test_a_phone_not_answering_rings_no_answer_s_then_voicemail_and_a_full_box_records_nothing(
        centre, people):
    centre.forward("1004", no_answer_s=5)
    dialed = dial(centre, people, "vm-ring", "1004", "+15550005001", talk_s=5, hz=1175)
    people.wait(lambda e: e["event"] == "incoming" and e.get("number") == "1004")
    assert outcome(people, "vm-ring")["event"] == "answered"
    rang = time.monotonic() - dialed
    assert 4.8 < rang < 8, rang                            # no_answer_s, then voicemail
    assert people.wait(lambda e: e["event"] == "ended" and e.get("number") == "1004")
    ended(people, "vm-ring")
    centre.voicemail.wait(lambda e: e["event"] == "recorded" and e["box"] == "1004")
    [message] = centre.voicemail_box("1004")["messages"]
    assert heard(file_tones(message["file"]), 1175)

    # (d) the box holds one: the next caller hears it is full, and nothing is recorded
    files = sorted((centre.voicemail_dir / "1004").iterdir())
    dial(centre, people, "vm-full", "1004", "+15550005002", talk_s=8, hz=1319)
    assert outcome(people, "vm-full", timeout=15)["event"] == "answered"
    gone = ended(people, "vm-full")
    centre.voicemail.wait(lambda e: e["event"] == "full" and e["box"] == "1004")
    assert gone["reason"] == "far end hung up"             # not after talk_s: the box hung up
    reports = heard_tones(people, "vm-full")
    assert not heard(reports, BEEP_HZ) and not heard(reports, GREETING_HZ), reports
    time.sleep(0.5)
    assert [m["id"] for m in centre.voicemail_box("1004")["messages"]] == [message["id"]]
    assert sorted((centre.voicemail_dir / "1004").iterdir()) == files
    centre.forward("1004")


# -- (c) queue calls ---------------------------------------------------------------------------
def test_a_queue_call_is_never_forwarded(centre, people):
    centre.forward("1001", always="5550100", busy="5550100", no_answer="5550100")
    before = number_calls(centre, "5550100")["calls"]
    agent = Agent(centre, "1001")
    try:
        agent.request(p.SetState, p.Ack, state="available")
        cid = centre.post_contact("sales", "+15550006001", talk_s=30)
        incoming = people.wait(lambda e: e["event"] == "incoming" and e.get("number") == "1001"
                               and e["headers"].get("X-CC-Contact-Id") == cid)
        assert "Diversion" not in incoming["headers"]
        centre.ccsim.call("POST", f"/contacts/{cid}/hangup")
    finally:
        agent.close()
        centre.forward("1001")
    time.sleep(0.5)
    assert number_calls(centre, "5550100")["calls"] == before
    assert not [e for e in centre.voicemail.events if e.get("box") == "1001"]


def test_an_emergency_call_from_a_desk_forwarded_always_still_reaches_the_centre(
        centre, people):
    centre.forward("1003", always="5550100")
    before = number_calls(centre, "5550100")["calls"]
    psap = centre.start_emergency_centre()
    try:
        dial(centre, people, "sos", "sip:911@" + centre.kamailio.address, "1003", talk_s=2)
        assert outcome(people, "sos")["event"] == "answered"
        incoming = psap.wait(lambda e: e["event"] == "incoming")
        assert incoming["from"] == "1003" and "Diversion" not in incoming["headers"]
        ended(people, "sos")
    finally:
        centre.forward("1003")
    assert number_calls(centre, "5550100")["calls"] == before


# -- the agent's own box, over the voicemail number --------------------------------------------
def test_the_voicemail_number_plays_the_box_and_its_keys_delete_and_record_a_greeting(
        centre, people):
    dial(centre, people, "vm-leave", "1006", "+15550007001", talk_s=5, hz=1319)
    assert outcome(people, "vm-leave")["event"] == "answered"
    ended(people, "vm-leave")
    left = centre.voicemail.wait(lambda e: e["event"] == "recorded" and e["box"] == "1006")

    # the agent (its SIP user 1006) dials *97: its own box, the new message first
    dial(centre, people, "box", f"sip:*97@{centre.kamailio.address}", "1006", talk_s=60,
         hz=523)
    assert outcome(people, "box")["event"] == "answered"
    centre.voicemail.wait(lambda e: e["event"] == "listen" and e["box"] == "1006")
    centre.voicemail.wait(lambda e: e["event"] == "played" and e["id"] == left["id"])
    assert heard(heard_tones(people, "box"), 1319)         # the message's caller
    box = centre.wait_for(lambda: (b := centre.voicemail_box("1006"))["waiting"] == 0 and b,
                          desc="the message heard at ccsim")     # the service tells it next
    assert box["messages"][0]["heard"] and box["count"] == 1

    people.send(op="dtmf", contact="box", digits="7")       # delete it
    centre.voicemail.wait(lambda e: e["event"] == "deleted" and e["id"] == left["id"])
    assert centre.voicemail_box("1006")["count"] == 0      # deleted at ccsim first
    assert not Path(left["file"]).exists()

    people.send(op="dtmf", contact="box", digits="9")       # a new greeting: the caller's
    centre.voicemail.wait(lambda e: e["event"] == "key" and e["digit"] == "9")
    time.sleep(2.5)                                         # tone, after the beep
    people.send(op="dtmf", contact="box", digits="#")
    greeting = centre.voicemail.wait(lambda e: e["event"] == "greeting" and e["box"] == "1006")
    assert greeting["seconds"] > 1.0
    people.send(op="hangup", contact="box")
    ended(people, "box")

    dial(centre, people, "vm-greeted", "1006", "+15550007002", talk_s=4, hz=1568)
    assert outcome(people, "vm-greeted")["event"] == "answered"
    ended(people, "vm-greeted")
    reports = heard_tones(people, "vm-greeted")
    assert heard(reports, 523) and not heard(reports, GREETING_HZ), reports   # its greeting

