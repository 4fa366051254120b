"""ccsim's conference rules (docs/cc-protocol.md, "Conference") with the media bridge holding
the calls, in test_ccsim_consult.py's script: from a consult whose party answered, everyone
talks in the contact's room (the bridge's mix-minus); at most 8; leaving passes control to
the agent on the call longest; the customer leaving is post call; the last one ends it.

More script lines (besides test_ccsim_consult's):
    conference A C | exitconf A C
    last A C conf=-|on|post ...                 -- the contact's conference as A has it
"""
import pytest

from firmware.cc import protocol as p
from tests.unit import test_ccsim_consult as consult

CONSULTING = consult.CONSULTING
# ... then the conference: 1001 (in control), the customer and 1002 in room c-1
CONFERENCE = CONSULTING + """
    conference 1001 c-1
    bridged hangup:c-1.k2 music:in-1:off join:c-1:in-1 join:c-1:c-1.t2
    call 1001 c-1 resumed
    bridged
    contact c-1 assigned 1001
"""


class Desk(consult.Desk):
    def step(self, op, *a):
        if op == "conference":
            self.engine.conference(*a)
        elif op == "exitconf":
            self.engine.exit_conference(*a)
        else:
            super().step(op, *a)

    def check_last(self, agent, contact, expected):
        conf = [item for item in expected if item.startswith("conf=")]
        if conf:
            c = self.last(agent, contact).conference
            seen = "-" if c is None else "post" if c.post_call else "on"
            assert conf == [f"conf={seen}"], (conf, c)
        super().check_last(agent, contact, [item for item in expected if item not in conf])


def run(desk, text):
    return consult.run(desk, text)


CASES = {
    "a conference from a consult: the three talk in the contact's room; 1001 keeps control":
    CONSULTING + """
        conference 1001 c-1
        bridged hangup:c-1.k2 music:in-1:off join:c-1:in-1 join:c-1:c-1.t2
        last 1001 c-1 status=held conf=on control=1001 consult=- \
            people=customer:talking,agent:held,agent:talking
        last 1002 c-1 status=assigned primary=False conf=on control=1001
        participants c-1 customer:answered:c-1 agent:answered:c-1 party:answered:c-1
        call 1001 c-1 resumed
        bridged
        last 1001 c-1 status=assigned people=customer:talking,agent:talking,agent:talking
        agent 1001 talking
        agent 1002 talking
        conference 1001 c-1 !not_allowed
        transfer 1001 c-1 !not_allowed
        conference 1002 c-1 !not_allowed
    """,
    "no conference without a consulted party talking": consult.TALKING + """
        conference 1001 c-1 !not_allowed
        available 1002
        consult 1001 c-1 agent 1002
        bridge c-1.k2 answered
        bridge c-1.t2 ringing
        conference 1001 c-1 !not_allowed
        exitconf 1001 c-1 !not_allowed
    """,
    "the controller leaves: control passes to the party, the leaver owes the wrap-up":
    CONFERENCE + """
        exitconf 1001 c-1
        bridged hangup:c-1.a1
        last 1001 c-1 status=wrapup conf=-
        agent 1001 wrapup
        last 1002 c-1 status=assigned primary=True control=1002 conf=-
        contact c-1 assigned 1002
        participants c-1 customer:answered:c-1 agent:answered:c-1
        wrapup 1001 c-1 sale
        agent 1001 available
        call 1002 c-1 ended
        bridged hangup:c-1.t2 hangup:in-1
        contact c-1 wrapup 1002
    """,
    "the controller's phone hangs up: the same as leaving": CONFERENCE + """
        call 1001 c-1 ended
        bridged hangup:c-1.a1
        agent 1001 wrapup
        contact c-1 assigned 1002
    """,
    "a party leaves (or hangs up): it owes nothing; two left is a plain call": CONFERENCE + """
        exitconf 1002 c-1
        bridged hangup:c-1.t2
        last 1002 c-1 status=wrapped_up conf=-
        agent 1002 available
        last 1001 c-1 status=assigned conf=- control=1001 people=customer:talking,agent:talking
        wrapup 1002 c-1 sale !unknown_contact
        exitconf 1001 c-1 !not_allowed
    """,
    "a party's leg ends (its network gone): the others go on": CONFERENCE + """
        available 1003
        consult 1001 c-1 agent 1003
        bridge c-1.k3 answered
        bridge c-1.t3 answered
        call 1003 c-1 answered
        conference 1001 c-1
        call 1001 c-1 resumed
        participants c-1 customer:answered:c-1 agent:answered:c-1 party:answered:c-1 \
            party:answered:c-1
        bridge c-1.t2 ended
        last 1002 c-1 status=ended conf=-
        agent 1002 available
        last 1001 c-1 conf=on people=customer:talking,agent:talking,agent:talking
        last 1003 c-1 conf=on primary=False
    """,
    "the customer leaves: post call, the agents talk on, nobody is added; the last ends it":
    CONFERENCE + """
        bridge in-1 ended
        bridged
        last 1001 c-1 conf=post status=assigned
        last 1002 c-1 conf=post
        participants c-1 agent:answered:c-1 party:answered:c-1
        available 1003
        consult 1001 c-1 agent 1003 !not_allowed
        call 1002 c-1 ended
        bridged hangup:c-1.t2 hangup:c-1.a1
        last 1002 c-1 status=wrapped_up
        contact c-1 wrapup 1001
        agent 1002 available
    """,
    "with no agent left, the numbers keep the customer; the customer leaving ends it all":
    CONFERENCE + """
        exitconf 1002 c-1
        bridged hangup:c-1.t2
        consult 1001 c-1 number 5550100
        bridge c-1.k3 answered
        bridge c-1.t3 answered
        conference 1001 c-1
        call 1001 c-1 resumed
        consult 1001 c-1 number 5550101
        bridge c-1.k4 answered
        bridge c-1.t4 answered
        conference 1001 c-1
        call 1001 c-1 resumed
        participants c-1 customer:answered:c-1 agent:answered:c-1 party:answered:c-1 \
            party:answered:c-1
        exitconf 1001 c-1
        agent 1001 wrapup
        contact c-1 transferred
        participants c-1 customer:answered:c-1 agent:answered:c-1 party:answered:c-1
        bridge in-1 ended
        contact c-1 wrapped_up
        participants c-1
    """,
}


@pytest.mark.parametrize("text", CASES.values(), ids=list(CASES))
def test_conference_rules(text):
    run(Desk(), text)


def test_a_ninth_is_refused_the_consult_too():
    """The customer, 1001 and six numbers make eight: a seventh number can't be consulted
    (conference_full), nor joined if its consult came before the sixth was."""
    desk = run(Desk(), consult.TALKING)
    for i in range(6):
        n = i + 2                                   # attempt 1 was 1001's offer
        run(desk, f"""
            consult 1001 c-1 number 555020{i}
            bridge c-1.k{n} answered
            bridge c-1.t{n} answered
            conference 1001 c-1
            call 1001 c-1 resumed
        """)
    info = desk.engine.contact_info("c-1")
    assert len(info["participants"]) == p.MAX_PARTICIPANTS == 8
    assert [m["number"] for m in info["conference"]["members"]] == [
        f"555020{i}" for i in range(6)]
    run(desk, "consult 1001 c-1 number 5550299 !conference_full")
    assert len(desk.last("1001", "c-1").participants) == 8


def test_the_admin_view_shows_the_conference_and_who_has_control():
    desk = run(Desk(), CONFERENCE)
    info = desk.engine.contact_info("c-1")
    assert info["control"] == "1001"
    assert [(m["agent"], m["leg"]) for m in info["conference"]["members"]] == [("1002", "c-1.t2")]
    assert info["conference"]["post_call"] is False
    assert "token" not in str(info)


def test_a_restart_keeps_the_conference(tmp_path):
    db = tmp_path / "cc.db"
    first = run(Desk(db=db), CONFERENCE)
    first.store.close()
    listing = {"legs": [
        {"leg": "in-1", "direction": "in", "state": "answered", "contact": "c-1", "room": "c-1"},
        {"leg": "c-1.a1", "direction": "out", "state": "answered", "contact": "c-1",
         "room": "c-1"},
        {"leg": "c-1.t2", "direction": "out", "state": "answered", "contact": "c-1",
         "room": "c-1"}]}
    second = Desk(db=db, clock=first.clock, adopt=listing)
    run(second, """
        bridged
        contact c-1 assigned 1001
        agent 1002 talking
        participants c-1 customer:answered:c-1 agent:answered:c-1 party:answered:c-1
    """)
    assert second.engine.snapshot("1002").contacts[0].conference is not None
    run(second, """
        exitconf 1001 c-1
        bridged hangup:c-1.a1
        contact c-1 assigned 1002
    """)


def test_a_restart_finds_a_partys_leg_gone_it_left(tmp_path):
    db = tmp_path / "cc.db"
    first = run(Desk(db=db), CONFERENCE)
    first.store.close()
    second = Desk(db=db, clock=first.clock, adopt={"legs": [
        {"leg": "in-1", "direction": "in", "state": "answered", "contact": "c-1", "room": "c-1"},
        {"leg": "c-1.a1", "direction": "out", "state": "answered", "contact": "c-1",
         "room": "c-1"}]})
    run(second, """
        last 1002 c-1 status=ended
        agent 1002 available
        last 1001 c-1 conf=- status=assigned
    """)
