"""ccsim's rules with the media bridge holding the customers' calls ([bridge] enabled), driven
without sockets like test_ccsim_engine.py: a fake bridge records what ccsim told it, and the
script feeds back what the bridge would report.

More script lines (besides test_ccsim_engine's):
    incoming LEG CONTACT [right|wrong|none]   -- a call to the bridge for CONTACT, carrying the
                                                 key the customer was given (right), another
                                                 one, or no key
    bridge LEG EVENT [ROOM]                   -- the bridge reports ringing|answered|ended|
                                                 joined|left for LEG
    bridged OP:LEG[:ARG] ...                  -- the next commands the bridge was given (none:
                                                 it was given no more): dial:LEG:TO, answer,
                                                 refuse, join:ROOM:LEG, leave, music:LEG:on|off,
                                                 hangup
    participants C [WHO:STATE:ROOM ...]       -- the contact's legs in the admin view
"""
import pytest

from tests.unit import test_ccsim_engine as base
from tools.ccsim.engine import Engine
from tools.ccsim.legs import key_digest
from tools.ccsim.scenario import ScenarioError, parse
from tools.ccsim.store import Store

BRIDGE = """
[customers]
enabled = true
proxy = "127.0.0.1:5062"

[bridge]
enabled = true
"""


class FakeBridge:
    def __init__(self):
        self.said = []
        self.headers = {}               # leg -> the headers its dial carried

    def dial(self, leg, to, headers=None, ring_s=60.0):
        self.said.append(f"dial:{leg}:{to}")
        self.headers[leg] = dict(headers or {})

    def answer(self, leg):
        self.said.append(f"answer:{leg}")

    def refuse(self, leg):
        self.said.append(f"refuse:{leg}")

    def join(self, room, leg):
        self.said.append(f"join:{room}:{leg}")

    def leave(self, leg):
        self.said.append(f"leave:{leg}")

    def hold_music(self, leg, on):
        self.said.append(f"music:{leg}:{'on' if on else 'off'}")

    def hangup(self, leg):
        self.said.append(f"hangup:{leg}")


class Desk(base.Desk):
    """test_ccsim_engine's Desk, bridged."""

    def __init__(self, settings="", db=":memory:", clock=None, adopt: dict | None = None,
                 more: str = "", bridge: bool = True):
        """``more``: scenario tables besides; ``bridge`` False: the same centre without it."""
        text = base.SCENARIO.format(settings=settings) + more
        self.scenario = parse(text + (BRIDGE if bridge else ""), "test.toml")
        self.clock, self.customers, self.bridge = clock or base.Clock(), base.Customers(), \
            FakeBridge()
        self.store = Store(db)
        self.engine = Engine(self.scenario, self.store, self.clock, self.customers,
                             self.bridge if bridge else None)
        self.sent, self.seen, self.customers_seen, self.bridge_seen = {}, {}, 0, 0
        if adopt is not None:
            self.engine.adopt(adopt)
        self.drain()

    def step(self, op, *a):
        e = self.engine
        if op == "incoming":
            key = dict(self.customers.tokens).get(a[1], "")
            how = a[2] if len(a) > 2 else "right"
            digest = {"right": key_digest(key), "wrong": key_digest(key + "x"), "none": ""}[how]
            e.bridge_event({"event": "incoming", "leg": a[0], "from": "+15550001234",
                            "headers": {"X-CC-Contact-Id": a[1]}, "token_sha256": digest})
        elif op == "bridge":
            event = {"event": a[1], "leg": a[0], "reason": "test"}
            if len(a) > 2:
                event["room"] = a[2]
            e.bridge_event(event)
        elif op == "bridged":               # the next commands; none given: no more
            said = self.bridge.said[self.bridge_seen:self.bridge_seen + len(a) or None]
            self.bridge_seen += len(said)
            assert said == list(a), said
        elif op == "participants":
            got = [f"{p['who']}:{p['state']}:{p['room']}"
                   for p in e.contact_info(a[0])["participants"]]
            assert got == list(a[1:]), got
        else:
            super().step(op, *a)


run = base.play


CASES = {
    "the customer calls the bridge, hears music while queued; answered: one room; hold, end": """
        hello 1001
        post sales
        customers dial:c-1:sip:cc-bridge@127.0.0.1:5062
        incoming in-1 c-1
        bridged answer:in-1
        participants c-1 customer:incoming:None
        bridge in-1 answered
        bridged music:in-1:on
        contact c-1 queued
        available 1001
        contact c-1 reserved 1001
        bridged dial:c-1.a1:sip:1001@pbx
        customers
        bridge c-1.a1 ringing
        contact c-1 offered 1001
        agent 1001 ringing
        bridge c-1.a1 answered
        contact c-1 assigned 1001
        agent 1001 talking
        bridged music:in-1:off join:c-1:in-1 join:c-1:c-1.a1
        participants c-1 customer:answered:c-1 agent:answered:c-1
        call 1001 c-1 answered
        call 1001 c-1 held
        bridged leave:in-1 music:in-1:on
        participants c-1 customer:answered:None agent:answered:c-1
        call 1001 c-1 resumed
        bridged music:in-1:off join:c-1:in-1
        call 1001 c-1 ended
        contact c-1 wrapup 1001
        bridged hangup:c-1.a1 hangup:in-1
        participants c-1
        bridge c-1.a1 ended
        bridge in-1 ended
        customer c-1 ended
        contact c-1 wrapup 1001
        bridged
        wrapup 1001 c-1 sale
        agent 1001 available
        customers
    """,
    "the phone's answer may come before the bridge's: the room waits for the bridge's": """
        hello 1001
        available 1001
        post sales
        incoming in-1 c-1
        bridge in-1 answered
        bridged dial:c-1.a1:sip:1001@pbx answer:in-1 music:in-1:on
        call 1001 c-1 answered
        contact c-1 assigned 1001
        bridged
        bridge c-1.a1 answered
        bridged music:in-1:off join:c-1:in-1 join:c-1:c-1.a1
    """,
    "the agent answers before the customer's call is up: joined once it is": """
        hello 1001
        available 1001
        post sales
        bridge c-1.a1 answered
        contact c-1 assigned 1001
        bridged dial:c-1.a1:sip:1001@pbx
        incoming in-1 c-1
        bridge in-1 answered
        bridged answer:in-1 join:c-1:in-1 join:c-1:c-1.a1
    """,
    "RONA: only the agent's leg is hung up; the customer stays on music, the next agent rings": """
        hello 1001
        hello 1003
        available 1001
        wait 1
        available 1003
        post sales
        incoming in-1 c-1
        bridge in-1 answered
        bridged dial:c-1.a1:sip:1001@pbx answer:in-1 music:in-1:on
        bridge c-1.a1 ringing
        wait 10
        agent 1001 idle rona
        contact c-1 reserved 1003
        bridged hangup:c-1.a1 dial:c-1.a2:sip:1003@pbx
        participants c-1 customer:answered:None agent:dialing:None
        bridge c-1.a1 ended
        contact c-1 reserved 1003
        bridge c-1.a2 answered
        contact c-1 assigned 1003
        bridged music:in-1:off join:c-1:in-1 join:c-1:c-1.a2
        customers dial:c-1:sip:cc-bridge@127.0.0.1:5062
    """,
    "a reject, and an agent leg that fails, are RONAs too; the customer stays": """
        hello 1001
        hello 1003
        available 1001
        post sales
        incoming in-1 c-1
        bridge in-1 answered
        bridged dial:c-1.a1:sip:1001@pbx answer:in-1 music:in-1:on
        reject 1001 c-1
        agent 1001 idle rejected
        contact c-1 queued
        bridged hangup:c-1.a1
        available 1003
        bridged dial:c-1.a2:sip:1003@pbx
        bridge c-1.a2 ended
        agent 1003 idle rona
        contact c-1 queued
        bridged
        customers dial:c-1:sip:cc-bridge@127.0.0.1:5062
    """,
    "an answered call that goes wrong at the bridge: the agent's leg ends -> wrap-up": """
        hello 1001
        available 1001
        post sales
        incoming in-1 c-1
        bridge in-1 answered
        bridge c-1.a1 answered
        bridged dial:c-1.a1:sip:1001@pbx answer:in-1 music:in-1:on
        bridged music:in-1:off join:c-1:in-1 join:c-1:c-1.a1
        bridge c-1.a1 ended
        contact c-1 wrapup 1001
        agent 1001 wrapup
        bridged hangup:in-1
        call 1001 c-1 ended
        contact c-1 wrapup 1001
    """,
    "the customer hangs up: queued -> abandoned, offered -> withdrawn, talking -> wrap-up": """
        hello 1001
        post sales
        incoming in-1 c-1
        bridge in-1 answered
        bridge in-1 ended
        contact c-1 abandoned
        available 1001
        post sales
        incoming in-2 c-2
        bridge in-2 answered
        bridge c-2.a1 ringing
        bridge in-2 ended
        contact c-2 abandoned
        told 1001 agent_state:available contact:reserved agent_state:reserved contact:offered
        told 1001 agent_state:ringing contact:withdrawn agent_state:available
        agent 1001 available
        post sales
        incoming in-3 c-3
        bridge in-3 answered
        bridge c-3.a1 answered
        bridged answer:in-1 music:in-1:on dial:c-2.a1:sip:1001@pbx answer:in-2 music:in-2:on
        bridged hangup:c-2.a1 dial:c-3.a1:sip:1001@pbx answer:in-3 music:in-3:on
        bridged music:in-3:off join:c-3:in-3 join:c-3:c-3.a1
        bridge in-3 ended
        contact c-3 wrapup 1001
        bridged hangup:c-3.a1
    """,
    "a customer's call that never reached the bridge ends the contact": """
        hello 1001
        post sales
        customer c-1 failed
        contact c-1 abandoned
        bridged
    """,
    "the admin hangs the customer up: the customers process and both legs": """
        hello 1001
        available 1001
        post sales
        incoming in-1 c-1
        bridge in-1 answered
        bridge c-1.a1 answered
        customers dial:c-1:sip:cc-bridge@127.0.0.1:5062
        bridged dial:c-1.a1:sip:1001@pbx answer:in-1 music:in-1:on
        bridged music:in-1:off join:c-1:in-1 join:c-1:c-1.a1
        hangup c-1
        contact c-1 wrapup 1001
        customers hangup:c-1
        bridged hangup:c-1.a1 hangup:in-1
    """,
    "strangers are refused: no such contact, a wrong or no key, a second call": """
        hello 1001
        post sales
        incoming in-1 c-9
        incoming in-2 c-1 wrong
        incoming in-3 c-1 none
        bridged refuse:in-1 refuse:in-2 refuse:in-3
        contact c-1 queued
        participants c-1
        incoming in-4 c-1
        incoming in-5 c-1
        bridged answer:in-4 refuse:in-5
        bridge in-5 ended
        participants c-1 customer:incoming:None
    """,
}


@pytest.mark.parametrize("text", CASES.values(), ids=list(CASES))
def test_bridged_rules(text):
    run(Desk(), text)


def test_each_offer_attempt_carries_its_own_token_and_the_customer_key_is_another():
    desk = run(Desk(), """
        hello 1001
        hello 1003
        available 1001
        post sales
        wait 10
        available 1003
    """)
    first, second = desk.bridge.headers["c-1.a1"], desk.bridge.headers["c-1.a2"]
    assert first["X-CC-Contact-Id"] == second["X-CC-Contact-Id"] == "c-1"
    assert first["X-CC-Token"] != second["X-CC-Token"]
    assert second["X-CC-Token"] == desk.engine._live["c-1"].token    # what the phone was sent
    key = dict(desk.customers.tokens)["c-1"]
    assert len(key) >= 43 and key not in (first["X-CC-Token"], second["X-CC-Token"])


def test_a_restarted_ccsim_takes_the_bridge_s_legs_back(tmp_path):
    db = tmp_path / "cc.db"
    first = run(Desk(db=db), """
        hello 1001
        hello 1003
        available 1001
        available 1003
        post sales
        post sales
        post sales
        post sales
        incoming in-1 c-1
        incoming in-2 c-2
        incoming in-4 c-4
        bridge in-1 answered
        bridge in-2 answered
        bridge in-4 answered
        bridge c-1.a1 answered
        bridge c-2.a1 ringing
        contact c-1 assigned 1001
        contact c-2 offered 1003
        contact c-3 queued
        contact c-4 queued
    """)
    first.store.close()                         # killed: the bridge keeps the calls up

    listing = {"rooms": {"c-1": ["in-1", "c-1.a1"]}, "legs": [
        {"leg": "in-1", "direction": "in", "state": "answered", "contact": "c-1", "room": "c-1",
         "hold_music": False},
        {"leg": "c-1.a1", "direction": "out", "state": "answered", "contact": "c-1",
         "room": "c-1", "hold_music": False},
        # c-2's customer is still there, but its offer's leg ended meanwhile (rejected)
        {"leg": "in-2", "direction": "in", "state": "answered", "contact": "c-2", "room": None,
         "hold_music": True},
        # c-3's customer hung up while ccsim was away; c-4's waits on
        {"leg": "in-4", "direction": "in", "state": "answered", "contact": "c-4", "room": None,
         "hold_music": True},
        {"leg": "stray", "direction": "out", "state": "answered", "contact": "c-77",
         "room": None, "hold_music": False},
        {"leg": "in-9", "direction": "in", "state": "incoming", "contact": "c-3", "room": None,
         "hold_music": False}]}
    second = Desk(db=db, clock=first.clock, adopt=listing)
    run(second, """
        bridged hangup:stray refuse:in-9
        contact c-1 assigned 1001
        participants c-1 customer:answered:c-1 agent:answered:c-1
        contact c-2 queued
        agent 1003 idle rona
        participants c-2 customer:answered:None
        contact c-3 abandoned
        contact c-4 queued
        bridge c-1.a1 ended
        contact c-1 wrapup 1001
        bridged hangup:in-1
        wrapup 1001 c-1 sale
        contact c-2 reserved 1001
        contact c-4 queued
        bridged dial:c-2.a2:sip:1001@pbx
        bridged
    """)
    attempts = second.engine.contact_info("c-2")["attempts"]
    assert [(a["agent"], a["outcome"]) for a in attempts] == [("1003", "failed"), ("1001", "")]


def test_a_restarted_ccsim_routes_nothing_until_it_knows_the_bridge_s_legs(tmp_path):
    db = tmp_path / "cc.db"
    first = run(Desk(db=db), """
        hello 1001
        post sales
        incoming in-1 c-1
        bridge in-1 answered
    """)
    first.store.close()
    second = Desk(db=db, clock=first.clock)
    run(second, """
        available 1001
        contact c-1 queued
        bridged
    """)
    second.engine.adopt({"rooms": {}, "legs": [
        {"leg": "in-1", "direction": "in", "state": "answered", "contact": "c-1",
         "room": None, "hold_music": True}]})
    run(second, """
        contact c-1 reserved 1001
        bridged dial:c-1.a1:sip:1001@pbx
    """)


@pytest.mark.parametrize("extra,error", [
    ('[bridge]\nenabled = true\n', "test.toml: bridge.enabled: the bridge holds the customers' "
                                   "calls: [customers] enabled must be true too"),
    ('[customers]\nenabled = true\n[bridge]\nuser = "1002"\n',
     "test.toml: bridge.user: '1002' is already a called number or an agent's extension"),
    ('[bridge]\nlisten = "nowhere"\n', "test.toml: bridge.listen: expected HOST:PORT"),
    ('[bridge]\nuser = "a b"\n', "test.toml: bridge.user: not a SIP user"),
    ('[bridge]\nenable = true\n', "test.toml: bridge: unknown field 'enable'"),
])
def test_bridge_table_mistakes_name_the_field(extra, error):
    with pytest.raises(ScenarioError) as e:
        parse(base.SCENARIO.format(settings="") + extra, "test.toml")
    assert str(e.value).startswith(error)


def test_bridge_table_defaults_off():
    scenario = parse(base.SCENARIO.format(settings=""), "test.toml")
    assert not scenario.bridge.enabled and scenario.bridge.user == "cc-bridge"
