"""ccsim's consult and transfer rules (docs/cc-protocol.md, "Consult and transfer") with the
media bridge holding the calls, driven like test_ccsim_bridged.py: a fake bridge records what
ccsim told it, the script feeds back what the bridge and the phones report.

More script lines (besides test_ccsim_bridged's):
    consult A C KIND TARGET | transfer A C [KIND TARGET] | exit A C
    call A C EVENT consult                     -- the requesting phone's consult leg
    last A C FIELD=VALUE ...                   -- the latest contact event A got for C:
                                                  status, primary, consult (its status or -),
                                                  control (or -), by (requested_by's
                                                  extension or -), people (kind:state,...)
"""
import pytest

from firmware.cc import protocol as p
from tests.unit import test_ccsim_bridged as bridged
from tests.unit import test_ccsim_engine as base

DIRECTORY = """
[[entry_points]]
name = "Main line"
number = "8000"
queue = "sales"

[[entry_points]]
name = "Partners"
number = "8100"
queue = "support"
team_routing = "capacity"

[[dial_numbers]]
name = "Head office"
number = "5550100"
"""


class Desk(bridged.Desk):
    def __init__(self, settings="", db=":memory:", clock=None, adopt=None, bridge=True):
        super().__init__(settings, db, clock, adopt, more=DIRECTORY, bridge=bridge)

    def step(self, op, *a):
        e = self.engine
        if op == "consult":
            e.consult(*a)
        elif op == "transfer":
            e.transfer(a[0], a[1], *a[2:])
        elif op == "exit":
            e.exit_consult(*a)
        elif op == "last":
            self.check_last(a[0], a[1], a[2:])
        else:
            super().step(op, *a)

    def last(self, agent, contact) -> p.Contact:
        return [m.contact for m in self.sent.get(agent, [])
                if isinstance(m, p.ContactUpdate) and m.contact.id == contact][-1]

    def check_last(self, agent, contact, expected):
        m = self.last(agent, contact)
        fields = {"status": m.status, "primary": str(m.primary),
                  "consult": m.consult.status if m.consult else "-",
                  "control": m.control or "-",
                  "by": m.requested_by.extension if m.requested_by else "-",
                  "people": ",".join(f"{x.kind}:{x.state}" for x in m.participants) or "-"}
        for item in expected:
            key, value = item.split("=", 1)
            assert fields[key] == value, (item, m)


run = base.play


# 1001 talks with the customer of c-1 through the bridge; 1002 and 1003 are logged in
TALKING = """
    hello 1001
    hello 1002
    hello 1003
    available 1001
    post sales
    incoming in-1 c-1
    bridge in-1 answered
    bridge c-1.a1 answered
    call 1001 c-1 answered
    contact c-1 assigned 1001
    bridged dial:c-1.a1:sip:1001@pbx answer:in-1 music:in-1:on
    bridged music:in-1:off join:c-1:in-1 join:c-1:c-1.a1
"""
# ... and consults 1002, who answers
CONSULTING = TALKING + """
    available 1002
    consult 1001 c-1 agent 1002
    bridged leave:in-1 music:in-1:on dial:c-1.t2:sip:1002@pbx dial:c-1.k2:sip:1001@pbx
    bridge c-1.k2 answered
    bridge c-1.t2 ringing
    bridge c-1.t2 answered
    bridged music:c-1.k2:on music:c-1.k2:off join:c-1.k:c-1.k2 join:c-1.k:c-1.t2
    last 1001 c-1 status=held consult=talking control=1001
    last 1002 c-1 status=assigned primary=False by=1001
    agent 1002 talking
"""

CASES = {
    "consult an agent: customer on music, offer, consult leg; then consult transfer": TALKING + """
        available 1002
        consult 1001 c-1 agent 1002
        contact c-1 held 1001
        agent 1001 held
        agent 1002 reserved
        last 1001 c-1 status=held consult=dialing control=1001
        last 1002 c-1 status=reserved primary=False by=1001 control=1001
        bridged leave:in-1 music:in-1:on dial:c-1.t2:sip:1002@pbx dial:c-1.k2:sip:1001@pbx
        participants c-1 customer:answered:None agent:answered:c-1 consult:dialing:None \
            consulted:dialing:None
        bridge c-1.k2 answered
        bridged music:c-1.k2:on
        bridge c-1.t2 ringing
        last 1001 c-1 consult=ringing
        last 1002 c-1 status=offered primary=False
        agent 1002 ringing
        call 1002 c-1 answered
        last 1001 c-1 consult=talking
        agent 1002 talking
        bridged
        bridge c-1.t2 answered
        bridged music:c-1.k2:off join:c-1.k:c-1.k2 join:c-1.k:c-1.t2
        last 1001 c-1 people=customer:music,agent:held,agent:ringing
        transfer 1001 c-1
        bridged hangup:c-1.a1 hangup:c-1.k2 music:in-1:off join:c-1:in-1 join:c-1:c-1.t2
        told 1001 agent_state:available contact:reserved agent_state:reserved contact:assigned
        told 1001 agent_state:talking contact:held agent_state:held contact:held contact:held
        told 1001 contact:ended contact:wrapup agent_state:wrapup
        last 1002 c-1 status=assigned primary=True control=1002 by=- \
            people=customer:talking,agent:talking
        contact c-1 assigned 1002
        participants c-1 customer:answered:c-1 agent:answered:c-1
        call 1001 c-1 ended
        call 1001 c-1 ended consult
        bridged
        wrapup 1001 c-1 sale
        last 1001 c-1 status=wrapped_up
        agent 1001 available
        agent 1002 talking
        call 1002 c-1 ended
        contact c-1 wrapup 1002
        bridged hangup:c-1.t2 hangup:in-1
        wrapup 1002 c-1 sale
        contact c-1 wrapped_up
        agent 1002 available
    """,
    "consult a queue and an entry point: their longest-Available agent is offered it": TALKING + """
        consult 1001 c-1 queue support !not_allowed
        consult 1001 c-1 entry_point Partners !unsupported_destination
        consult 1001 c-1 number 8100 !unsupported_destination
        consult 1001 c-1 queue nowhere !unknown_target
        bridged
        available 1002
        consult 1001 c-1 queue support
        agent 1002 reserved
        bridged leave:in-1 music:in-1:on dial:c-1.t2:sip:1002@pbx dial:c-1.k2:sip:1001@pbx
        consult 1001 c-1 agent 1003 !not_allowed
        exit 1001 c-1
        bridged hangup:c-1.k2 hangup:c-1.t2
        last 1002 c-1 status=ended primary=False
        agent 1002 available
        available 1003
        consult 1001 c-1 entry_point 8000
        agent 1003 reserved
        bridged dial:c-1.t3:sip:1003@pbx dial:c-1.k3:sip:1001@pbx
    """,
    "consult a number, consult transfer to it: the customer talks with the number": TALKING + """
        consult 1001 c-1 number 5550100
        bridged leave:in-1 music:in-1:on dial:c-1.t2:sip:5550100@127.0.0.1:5062 \
            dial:c-1.k2:sip:1001@pbx
        last 1001 c-1 consult=dialing
        bridge c-1.t2 ringing
        bridge c-1.t2 answered
        bridge c-1.k2 answered
        last 1001 c-1 consult=talking people=customer:music,agent:held,number:talking
        bridged music:c-1.t2:on join:c-1.k:c-1.k2 music:c-1.t2:off join:c-1.k:c-1.t2
        transfer 1001 c-1
        bridged hangup:c-1.a1 hangup:c-1.k2 music:in-1:off join:c-1:in-1 join:c-1:c-1.t2
        contact c-1 transferred
        participants c-1 customer:answered:c-1 agent:answered:c-1
        agent 1001 wrapup
        bridge c-1.t2 ended
        bridged hangup:in-1
        contact c-1 wrapped_up
        agent 1001 wrapup
        wrapup 1001 c-1 sale
        agent 1001 available
    """,
    "swap: the phone holds one leg, resumes the other; a held leg hears music": CONSULTING + """
        call 1001 c-1 resumed
        bridged music:in-1:off join:c-1:in-1
        contact c-1 assigned 1001
        call 1001 c-1 held consult
        bridged leave:c-1.k2 music:c-1.k2:on leave:c-1.t2 music:c-1.t2:on
        call 1001 c-1 held
        bridged leave:in-1 music:in-1:on
        call 1001 c-1 resumed consult
        bridged music:c-1.k2:off join:c-1.k:c-1.k2 music:c-1.t2:off join:c-1.k:c-1.t2
        call 1002 c-1 held
        agent 1002 held
        bridged leave:c-1.k2 music:c-1.k2:on leave:c-1.t2 music:c-1.t2:on
        call 1002 c-1 resumed
        bridged music:c-1.k2:off join:c-1.k:c-1.k2 music:c-1.t2:off join:c-1.k:c-1.t2
    """,
    "the requester exits: the consult legs end; the customer comes back on resume": CONSULTING + """
        exit 1001 c-1
        bridged hangup:c-1.k2 hangup:c-1.t2
        last 1001 c-1 status=held consult=-
        last 1002 c-1 status=ended primary=False
        agent 1002 available
        contact c-1 held 1001
        call 1001 c-1 resumed
        bridged music:in-1:off join:c-1:in-1
        exit 1001 c-1 !not_allowed
        transfer 1001 c-1 !not_allowed
    """,
    "the consulted agent exits (or hangs up): no wrap-up, the consult is over": CONSULTING + """
        exit 1002 c-1
        bridged hangup:c-1.k2 hangup:c-1.t2
        last 1002 c-1 status=wrapped_up primary=False
        agent 1002 available
        last 1001 c-1 status=held consult=-
        wrapup 1002 c-1 sale !unknown_contact
        available 1002
        consult 1001 c-1 agent 1002
        bridged dial:c-1.t3:sip:1002@pbx dial:c-1.k3:sip:1001@pbx
        bridge c-1.t3 answered
        bridge c-1.t3 ended
        bridged
        last 1002 c-1 status=wrapped_up
        agent 1002 available
        last 1001 c-1 consult=-
    """,
    "a consult offer RONA'd or rejected ends the consult; the customer stays held": TALKING + """
        available 1002
        consult 1001 c-1 agent 1002
        bridge c-1.t2 ringing
        wait 10
        last 1002 c-1 status=rona primary=False
        agent 1002 idle rona
        last 1001 c-1 status=held consult=-
        bridged leave:in-1 music:in-1:on dial:c-1.t2:sip:1002@pbx dial:c-1.k2:sip:1001@pbx \
            hangup:c-1.k2 hangup:c-1.t2
        contact c-1 held 1001
        available 1003
        consult 1001 c-1 agent 1003
        reject 1003 c-1
        agent 1003 idle rejected
        last 1001 c-1 consult=-
        available 1002
        consult 1001 c-1 agent 1002
        bridge c-1.t4 ended
        agent 1002 idle rona
        last 1001 c-1 consult=-
    """,
    "the customer hangs up mid-consult: the consult goes on; wrap-up owed": CONSULTING + """
        bridge in-1 ended
        bridged hangup:c-1.a1
        last 1001 c-1 status=wrapup consult=talking
        agent 1001 wrapup
        agent 1002 talking
        transfer 1001 c-1 !not_allowed
        exit 1001 c-1
        bridged hangup:c-1.k2 hangup:c-1.t2
        last 1002 c-1 status=ended primary=False
        agent 1002 available
        wrapup 1001 c-1 sale
        contact c-1 wrapped_up
        agent 1001 available
    """,
    "blind transfer to an agent: offered as primary; the first agent wraps up": TALKING + """
        transfer 1001 c-1 agent 1003 !not_allowed
        available 1003
        transfer 1001 c-1 agent 1001 !not_allowed
        transfer 1001 c-1 agent 1009 !unknown_target
        bridged
        transfer 1001 c-1 agent 1003
        bridged hangup:c-1.a1 leave:in-1 music:in-1:on dial:c-1.a2:sip:1003@pbx
        told 1001 agent_state:available contact:reserved agent_state:reserved contact:assigned
        told 1001 agent_state:talking contact:ended contact:wrapup agent_state:wrapup
        last 1003 c-1 status=reserved primary=True
        bridge c-1.a2 answered
        contact c-1 assigned 1003
        bridged music:in-1:off join:c-1:in-1 join:c-1:c-1.a2
        wrapup 1001 c-1 sale
        agent 1001 available
        last 1001 c-1 status=wrapped_up
        call 1003 c-1 ended
        wrapup 1003 c-1 sale
        contact c-1 wrapped_up
    """,
    "blind transfer to an agent who rejects: the customer waits in their queue": TALKING + """
        available 1002
        transfer 1001 c-1 agent 1002
        reject 1002 c-1
        contact c-1 queued
        agent 1002 idle rejected
        bridged hangup:c-1.a1 leave:in-1 music:in-1:on dial:c-1.a2:sip:1002@pbx hangup:c-1.a2
        last 1001 c-1 status=wrapup
        wrapup 1001 c-1 sale
        contact c-1 reserved 1001
        agent 1001 reserved
        bridged dial:c-1.a3:sip:1001@pbx
    """,
    "blind transfer to a number: music until it answers; no answer: queued": TALKING + """
        transfer 1001 c-1 number 5550100
        bridged hangup:c-1.a1 leave:in-1 music:in-1:on dial:c-1.n2:sip:5550100@127.0.0.1:5062
        contact c-1 transferred
        agent 1001 wrapup
        bridge c-1.n2 ended
        contact c-1 queued
        bridged
        wrapup 1001 c-1 sale
        contact c-1 reserved 1001
        bridged dial:c-1.a3:sip:1001@pbx
        bridge c-1.a3 answered
        bridged music:in-1:off join:c-1:in-1 join:c-1:c-1.a3
        transfer 1001 c-1 number 5550100
        bridged hangup:c-1.a3 leave:in-1 music:in-1:on dial:c-1.n4:sip:5550100@127.0.0.1:5062
        bridge c-1.n4 answered
        bridged music:in-1:off join:c-1:in-1 join:c-1:c-1.n4
        participants c-1 customer:answered:c-1 agent:answered:c-1
        bridge in-1 ended
        bridged hangup:c-1.n4
        contact c-1 wrapped_up
        agent 1001 wrapup
        wrapup 1001 c-1 sale
        agent 1001 available
    """,
    "blind transfer to a queue or entry point: routed again; capacity teams refused": TALKING + """
        transfer 1001 c-1 entry_point Partners !unsupported_destination
        transfer 1001 c-1 queue support
        bridged hangup:c-1.a1 leave:in-1 music:in-1:on
        contact c-1 queued
        agent 1001 wrapup
        available 1002
        contact c-1 reserved 1002
        bridged dial:c-1.a2:sip:1002@pbx
        bridge c-1.a2 answered
        transfer 1002 c-1 entry_point 8000
        contact c-1 queued
        available 1003
        contact c-1 reserved 1003
    """,
    "a blind transfer during a consult, or of a call not answered, is refused": CONSULTING + """
        transfer 1001 c-1 agent 1003 !not_allowed
        consult 1001 c-1 agent 1003 !not_allowed
        transfer 1002 c-1 !not_allowed
        consult 1002 c-1 agent 1003 !not_allowed
    """,
}


@pytest.mark.parametrize("text", CASES.values(), ids=list(CASES))
def test_consult_and_transfer_rules(text):
    run(Desk(), text)


def test_without_the_bridge_consult_and_transfer_are_refused():
    run(Desk(bridge=False), """
        hello 1001
        hello 1002
        available 1001
        available 1002
        post sales
        call 1001 c-1 answered
        consult 1001 c-1 agent 1002 !not_allowed
        transfer 1001 c-1 agent 1002 !not_allowed
        transfer 1001 c-1 !not_allowed
        contact c-1 assigned 1001
    """)


def test_the_consult_leg_and_the_consult_offer_carry_their_own_tokens():
    desk = run(Desk(), CONSULTING)
    mine, theirs = desk.bridge.headers["c-1.k2"], desk.bridge.headers["c-1.t2"]
    assert mine["X-CC-Contact-Id"] == theirs["X-CC-Contact-Id"] == "c-1"
    assert mine["X-CC-Token"] == desk.last("1001", "c-1").consult.token
    assert theirs["X-CC-Token"] == desk.last("1002", "c-1").token
    tokens = {mine["X-CC-Token"], theirs["X-CC-Token"], desk.bridge.headers["c-1.a1"]["X-CC-Token"]}
    assert len(tokens) == 3 and all(len(t) >= 43 for t in tokens)
    # never in the stored events (the admin API shows them)
    for _seq, _at, body in desk.store.events("1001") + desk.store.events("1002"):
        assert mine["X-CC-Token"] not in body and theirs["X-CC-Token"] not in body


def test_the_admin_view_shows_control_the_consult_and_who_owes_a_wrap_up():
    desk = run(Desk(), CONSULTING)
    info = desk.engine.contact_info("c-1")
    assert info["control"] == "1001" and info["wrapup_owed"] == []
    assert {k: info["consult"][k] for k in ("who", "kind", "status", "requested_by", "agent")} \
        == {"who": "Ben Okafor", "kind": "agent", "status": "talking", "requested_by": "1001",
            "agent": "1002"}
    assert "token" not in str(info)
    run(desk, "transfer 1001 c-1")
    info = desk.engine.contact_info("c-1")
    assert (info["control"], info["consult"], info["wrapup_owed"]) == ("1002", None, ["1001"])


def test_a_restart_mid_consult_adopts_the_consult_legs_and_the_snapshot_keeps_it(tmp_path):
    db = tmp_path / "cc.db"
    first = run(Desk(db=db), CONSULTING)
    tokens = first.last("1001", "c-1").consult.token, first.last("1002", "c-1").token
    first.store.close()
    listing = {"legs": [
        {"leg": "in-1", "direction": "in", "state": "answered", "contact": "c-1", "room": None,
         "hold_music": True},
        {"leg": "c-1.a1", "direction": "out", "state": "answered", "contact": "c-1",
         "room": "c-1", "hold_music": False},
        {"leg": "c-1.k2", "direction": "out", "state": "answered", "contact": "c-1",
         "room": "c-1.k", "hold_music": False},
        {"leg": "c-1.t2", "direction": "out", "state": "answered", "contact": "c-1",
         "room": "c-1.k", "hold_music": False}]}
    second = Desk(db=db, clock=first.clock, adopt=listing)
    run(second, """
        bridged
        contact c-1 held 1001
        agent 1001 held
        agent 1002 talking
        participants c-1 customer:answered:None agent:answered:c-1 consult:answered:c-1.k \
            consulted:answered:c-1.k
    """)
    mine = second.engine.snapshot("1001").contacts[0]
    theirs = second.engine.snapshot("1002").contacts[0]
    assert (mine.status, mine.consult.status, mine.consult.token) == ("held", "talking", tokens[0])
    assert (theirs.status, theirs.primary, theirs.token) == ("assigned", False, tokens[1])
    assert theirs.requested_by == p.Requester("Ana Diaz", "1001", "Blue")
    run(second, """
        transfer 1001 c-1
        bridged hangup:c-1.a1 hangup:c-1.k2 music:in-1:off join:c-1:in-1 join:c-1:c-1.t2
        contact c-1 assigned 1002
    """)
    second.store.close()
    # and again, with the wrap-up 1001 owes and the call that is 1002's now
    third = Desk(db=db, clock=first.clock, adopt={"legs": [
        {"leg": "in-1", "direction": "in", "state": "answered", "contact": "c-1", "room": "c-1"},
        {"leg": "c-1.t2", "direction": "out", "state": "answered", "contact": "c-1",
         "room": "c-1"}]})
    assert [c.status for c in third.engine.snapshot("1001").contacts] == ["wrapup"]
    run(third, """
        bridged
        contact c-1 assigned 1002
        agent 1001 wrapup
        wrapup 1001 c-1 sale
        agent 1001 available
        call 1002 c-1 ended
        bridged hangup:c-1.t2 hangup:in-1
    """)


def test_a_restart_finds_the_consulted_leg_gone_the_consult_is_over(tmp_path):
    db = tmp_path / "cc.db"
    first = run(Desk(db=db), CONSULTING)
    first.store.close()
    second = Desk(db=db, clock=first.clock, adopt={"legs": [
        {"leg": "in-1", "direction": "in", "state": "answered", "contact": "c-1", "room": None,
         "hold_music": True},
        {"leg": "c-1.a1", "direction": "out", "state": "answered", "contact": "c-1",
         "room": "c-1"},
        {"leg": "c-1.k2", "direction": "out", "state": "answered", "contact": "c-1",
         "room": "c-1.k"}]})
    run(second, """
        bridged hangup:c-1.k2
        last 1001 c-1 status=held consult=-
        last 1002 c-1 status=wrapped_up
        agent 1002 available
        contact c-1 held 1001
    """)


def test_owed_wrap_up_is_automatic_after_wrapup_s():
    run(Desk(settings="wrapup_s = 30"), TALKING + """
        available 1003
        transfer 1001 c-1 agent 1003
        agent 1001 wrapup
        bridge c-1.a2 answered
        wait 31
        agent 1001 available
        last 1001 c-1 status=wrapped_up
        contact c-1 assigned 1003
    """)
