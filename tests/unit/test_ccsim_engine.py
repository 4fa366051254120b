"""ccsim's contact-center rules, driven without sockets: each case is a little script of what
phones, customers and the clock do, with the states and messages an agent would see.

Script lines (one per step):
    hello A [PIN] | available A | idle A CODE | accept A C | reject A C | call A C EVENT
    dial A NUMBER [TO CONTACT]                      -- the answer (where to, which contact)
    wrapup A C CODE
    logout A [REASON] | post QUEUE | customer C EVENT | hangup C | wait SECONDS
    agent A STATE [REASON] [pending=STATE/REASON]   -- the agent's state now
    contact C STATUS [AGENT]                        -- the contact's state now
    told A [KIND[:DETAIL] ...]                      -- the agent's next messages (none: no more)
    customers OP:CONTACT[:TO] ...                   -- what customers were told since last asked
A step ending in ``!code`` must be refused with that protocol error code.
"""
from typing import TypeVar

import pytest

from tools.ccsim.engine import Engine, Refused
from tools.ccsim.scenario import ScenarioError, parse
from tools.ccsim.store import Store

SCENARIO = """
[settings]
rona_s = 10
{settings}

[[agents]]
id = "1001"
name = "Ana Diaz"
pin = "1234"
team = "Blue"
extension = "sip:1001@pbx"
queues = ["sales", "support"]

[[agents]]
id = "1002"
name = "Ben Okafor"
pin = "2222"
team = "Blue"
extension = "sip:1002@pbx"
queues = ["support"]

[[agents]]
id = "1003"
name = "Cleo Park"
pin = "3333"
team = "Red"
extension = "sip:1003@pbx"
queues = ["sales"]

[[queues]]
name = "sales"
[[queues]]
name = "support"

[[idle_codes]]
code = "lunch"
label = "Lunch"

[[wrapup_codes]]
code = "sale"
label = "Sale made"

[[layout]]
name = "customer"
label = "Customer"
[[layout]]
name = "account"
label = "Account"
[[layout]]
name = "card"
label = "Card"
secure = true
"""
PINS = {"1001": "1234", "1002": "2222", "1003": "3333"}


class Clock:
    def __init__(self):
        self.now = 1_700_000_000.0

    def __call__(self):
        return self.now


class Customers:
    def __init__(self):
        self.said = []
        self.tokens = []                # (contact, token) of each dial

    def dial(self, contact, to, ani, talk_s, token):
        self.said.append(f"dial:{contact}:{to}")
        self.tokens.append((contact, token))

    def hangup(self, contact):
        self.said.append(f"hangup:{contact}")


class Desk:
    """An engine with a clock, recorded customers and a per-agent log of what it was sent."""

    def __init__(self, settings="", db=":memory:", clock=None):
        self.scenario = parse(SCENARIO.format(settings=settings), "test.toml")
        self.clock, self.customers = clock or Clock(), Customers()
        self.store = Store(db)
        self.engine = Engine(self.scenario, self.store, self.clock, self.customers)
        self.sent: dict[str, list] = {}
        self.seen: dict[str, int] = {}
        self.customers_seen = 0
        self.drain()

    def drain(self):
        for agent, message, _ in self.engine.take_outbox():
            self.sent.setdefault(agent, []).append(message)

    def run(self, line: str):
        words = line.split()
        refusal = words.pop()[1:] if words[-1].startswith("!") else None
        try:
            self.step(*words)
        except Refused as e:
            assert refusal == e.code, f"{line}: refused {e.code} ({e.message})"
        else:
            assert refusal is None, f"{line}: was not refused"
        self.drain()

    def step(self, op, *a):
        e = self.engine
        if op == "hello":
            e.hello(a[0], a[1] if len(a) > 1 else PINS[a[0]])
        elif op == "available":
            e.set_state(a[0], "available")
        elif op == "idle":
            e.set_state(a[0], "idle", a[1])
        elif op == "accept":
            e.accept(a[0], a[1])
        elif op == "reject":
            e.reject(a[0], a[1])
        elif op == "dial":
            to, contact = e.dial(a[0], a[1])
            if len(a) > 2:
                assert (to, contact or "-") == (a[2], a[3]), (to, contact)
        elif op == "call":
            e.call_event(*a)
        elif op == "wrapup":
            e.wrapup(*a)
        elif op == "logout":
            e.logout(a[0], a[1] if len(a) > 1 else "")
        elif op == "post":
            e.new_contact(a[0], "+15550001234", {"customer": "Maria Garcia", "card": "4111"})
        elif op == "customer":
            e.customer_event(*a)
        elif op == "hangup":
            e.hang_up(a[0])
        elif op == "wait":
            self.clock.now += float(a[0])
            e.expire()
        elif op == "agent":
            self.check_agent(*a)
        elif op == "contact":
            info = e.contact_info(a[0])
            assert [info["state"], info["agent"]][:len(a) - 1] == list(a[1:]), info
        elif op == "told":
            self.check_told(a[0], a[1:])
        elif op == "customers":
            said = self.customers.said[self.customers_seen:]
            self.customers_seen = len(self.customers.said)
            assert said == list(a), said
        else:
            raise AssertionError(f"unknown step {op}")

    def check_agent(self, agent, state, *rest):
        info = self.engine.agent_info(agent)
        pending = next((r.split("=", 1)[1] for r in rest if r.startswith("pending=")), None)
        reason = next((r for r in rest if not r.startswith("pending=")), None)
        assert info["state"] == state, info
        if reason is not None:
            assert info["reason"] == reason, info
        got = info["pending"] and f"{info['pending']['state']}/{info['pending']['reason']}"
        assert got == pending, info

    def check_told(self, agent, expected):
        """The agent's next messages are these; with none given, it has no new messages."""
        start = self.seen.get(agent, 0)
        messages = self.sent.get(agent, [])[start:start + len(expected) or None]
        self.seen[agent] = start + len(messages)
        got = []
        for m in messages:
            kind = m.__struct_config__.tag
            if kind == "contact":
                got.append(f"contact:{m.contact.status}")
            elif kind == "agent_state":
                got.append(f"agent_state:{m.state}")
            else:
                got.append(kind)
        assert got == list(expected), got


D = TypeVar("D", bound="Desk")


def script(text: str) -> list[str]:
    return [line.strip() for line in text.strip().splitlines() if line.strip()]


def play(desk: D, text: str) -> D:
    """Each line of ``text`` a step of ``desk`` (any of the ccsim tests' Desks), in order."""
    for line in script(text):
        desk.run(line)
    return desk


CASES = {
    "first hello logs in idle, login; wrong pin or unknown agent refused": ("", """
        hello 1001 0000 !auth_failed
        hello 9999 1234 !auth_failed
        agent 1001 logged_out
        available 1001 !not_logged_in
        hello 1001
        agent 1001 idle login
        told 1001
    """),
    "idle needs a known code; available and idle apply at once when free": ("", """
        hello 1001
        idle 1001 nap !unknown_code
        idle 1001 lunch
        agent 1001 idle lunch
        available 1001
        agent 1001 available
        available 1001
        told 1001 agent_state:idle agent_state:available
        told 1001
    """),
    "a contact goes to the agent Available longest, and the agent is told": ("", """
        hello 1001
        hello 1003
        available 1003
        wait 1
        available 1001
        post sales
        contact c-1 reserved 1003
        agent 1003 reserved
        agent 1001 available
        told 1003 agent_state:available contact:reserved agent_state:reserved
        told 1003
        customers dial:c-1:sip:1003@pbx
    """),
    "contacts wait in their queue, oldest first, for an agent of that queue": ("", """
        hello 1001
        hello 1002
        post sales
        post support
        post support
        contact c-1 queued
        available 1002
        contact c-2 reserved 1002
        contact c-3 queued
        available 1001
        contact c-1 reserved 1001
    """),
    "the whole offer: reserved, offered, assigned, held, ended, wrap-up, Available again": ("", """
        hello 1001
        available 1001
        post sales
        call 1001 c-1 ringing
        agent 1001 ringing
        accept 1001 c-1
        agent 1001 talking
        call 1001 c-1 held
        agent 1001 held
        call 1001 c-1 resumed
        call 1001 c-1 ended
        agent 1001 wrapup
        contact c-1 wrapup 1001
        wrapup 1001 c-1 sale
        contact c-1 wrapped_up 1001
        agent 1001 available
        told 1001 agent_state:available contact:reserved agent_state:reserved contact:offered
        told 1001 agent_state:ringing contact:assigned agent_state:talking contact:held
        told 1001 agent_state:held contact:assigned agent_state:talking contact:ended
        told 1001 contact:wrapup agent_state:wrapup contact:wrapped_up agent_state:available
        told 1001
        customers dial:c-1:sip:1001@pbx hangup:c-1
    """),
    "a state asked for on a call is pending until the wrap-up": ("", """
        hello 1001
        available 1001
        post sales
        idle 1001 lunch
        agent 1001 reserved pending=idle/lunch
        call 1001 c-1 answered
        agent 1001 talking pending=idle/lunch
        call 1001 c-1 ended
        wrapup 1001 c-1 sale
        agent 1001 idle lunch
    """),
    "after a wrap-up the agent takes the next waiting contact": ("", """
        hello 1001
        available 1001
        post sales
        post sales
        contact c-2 queued
        accept 1001 c-1
        call 1001 c-1 ended
        wrapup 1001 c-1 sale
        contact c-2 reserved 1001
        agent 1001 reserved
    """),
    "wrap-up: known codes only, and only in wrap-up": ("", """
        hello 1001
        available 1001
        post sales
        accept 1001 c-1
        wrapup 1001 c-1 sale !not_allowed
        call 1001 c-1 ended
        wrapup 1001 c-1 nope !unknown_code
        wrapup 1001 c-9 sale !unknown_contact
        wrapup 1001 c-1 sale
    """),
    "auto wrap-up when wrapup_s passes": ("wrapup_s = 30", """
        hello 1001
        available 1001
        post sales
        accept 1001 c-1
        call 1001 c-1 ended
        wait 29
        agent 1001 wrapup
        wait 2
        agent 1001 available
        told 1001 agent_state:available contact:reserved agent_state:reserved contact:assigned
        told 1001 agent_state:talking contact:ended contact:wrapup agent_state:wrapup
        told 1001 contact:wrapped_up agent_state:available
        told 1001
    """),
    "RONA: back to the queue, to another agent; the first goes Idle rona": ("", """
        hello 1001
        hello 1003
        available 1001
        wait 1
        available 1003
        post sales
        call 1001 c-1 ringing
        wait 9
        contact c-1 offered 1001
        wait 1
        contact c-1 reserved 1003
        agent 1001 idle rona
        accept 1001 c-1 !unknown_contact
        told 1001 agent_state:available contact:reserved agent_state:reserved contact:offered
        told 1001 agent_state:ringing contact:rona agent_state:idle
        told 1001
        customers dial:c-1:sip:1001@pbx hangup:c-1 dial:c-1:sip:1003@pbx
    """),
    "RONA while only reserved; the RONA'd agent gets it again once Available": ("", """
        hello 1001
        available 1001
        post sales
        wait 10
        agent 1001 idle rona
        contact c-1 queued
        available 1001
        contact c-1 reserved 1001
    """),
    "RONA keeps an Idle the agent asked for while it rang": ("", """
        hello 1001
        available 1001
        post sales
        idle 1001 lunch
        wait 10
        agent 1001 idle lunch
    """),
    "the phone ending an unanswered call is a RONA (rejected)": ("", """
        hello 1001
        available 1001
        post sales
        call 1001 c-1 ringing
        call 1001 c-1 ended
        agent 1001 idle rona
        contact c-1 queued
    """),
    "a reject: back to the queue, to another agent; the agent goes Idle rejected": ("", """
        hello 1001
        hello 1003
        available 1001
        wait 1
        available 1003
        post sales
        call 1001 c-1 ringing
        reject 1001 c-1
        contact c-1 reserved 1003
        agent 1001 idle rejected
        told 1001 agent_state:available contact:reserved agent_state:reserved contact:offered
        told 1001 agent_state:ringing contact:rona agent_state:idle
        told 1001
        customers dial:c-1:sip:1001@pbx hangup:c-1 dial:c-1:sip:1003@pbx
        reject 1001 c-1 !unknown_contact
    """),
    "a rejected contact waits for the next agent, not offered back until Available": ("", """
        hello 1001
        available 1001
        post sales
        reject 1001 c-1
        agent 1001 idle rejected
        contact c-1 queued
        wait 30
        contact c-1 queued
        available 1001
        contact c-1 reserved 1001
    """),
    "a reject keeps an Idle the agent asked for while it rang": ("", """
        hello 1001
        available 1001
        post sales
        idle 1001 lunch
        reject 1001 c-1
        agent 1001 idle lunch
    """),
    "a stacked offer rejected is not stacked back; the agent is Idle after the rest": (
        "max_offers = 2", """
        hello 1003
        available 1003
        post sales
        post sales
        reject 1003 c-1
        contact c-1 queued
        contact c-2 reserved 1003
        agent 1003 reserved pending=idle/rejected
        post sales
        contact c-3 queued
        accept 1003 c-2
        call 1003 c-2 ended
        wrapup 1003 c-2 sale
        agent 1003 idle rejected
    """),
    "reject refused once the contact is taken, or not the agent's": ("", """
        hello 1001
        hello 1003
        available 1001
        post sales
        accept 1001 c-1
        reject 1001 c-1 !not_allowed
        reject 1003 c-1 !unknown_contact
        agent 1001 talking
        contact c-1 assigned 1001
    """),
    "logout: refused while offered, pending while on a call, at once when free": ("", """
        hello 1001
        available 1001
        post sales
        logout 1001 home !not_allowed
        accept 1001 c-1
        logout 1001 home
        agent 1001 talking pending=logged_out/home
        call 1001 c-1 ended
        wrapup 1001 c-1 sale
        agent 1001 logged_out home
        told 1001 agent_state:available contact:reserved agent_state:reserved contact:assigned
        told 1001 agent_state:talking agent_state:talking contact:ended contact:wrapup
        told 1001 agent_state:wrapup contact:wrapped_up logged_out
        told 1001
        available 1001 !not_logged_in
        hello 1001
        agent 1001 idle login
        logout 1001
        agent 1001 logged_out
        told 1001 logged_out
        told 1001
    """),
    "a second state asked for on a call replaces the first pending one": ("", """
        hello 1001
        available 1001
        post sales
        accept 1001 c-1
        idle 1001 lunch
        available 1001
        agent 1001 talking pending=available/
    """),
    "stacked offers up to max_offers, only while none is answered": ("max_offers = 2", """
        hello 1003
        available 1003
        post sales
        post sales
        post sales
        contact c-1 reserved 1003
        contact c-2 reserved 1003
        contact c-3 queued
        accept 1003 c-1
        accept 1003 c-2 !not_allowed
        wait 10
        contact c-2 queued
        agent 1003 talking pending=idle/rona
    """),
    "accept_all lets an agent take every stacked offer": ("max_offers = 2\naccept_all = true", """
        hello 1003
        available 1003
        post sales
        post sales
        accept 1003 c-1
        accept 1003 c-2
        contact c-2 assigned 1003
    """),
    "customer events drive the call: ringing, answered, hung up": ("", """
        hello 1001
        available 1001
        post sales
        customer c-1 ringing
        agent 1001 ringing
        customer c-1 answered
        agent 1001 talking
        customer c-1 ended
        agent 1001 wrapup
        contact c-1 wrapup 1001
    """),
    "a customer call that fails to reach the phone, or ends unanswered, is a RONA": ("", """
        hello 1001
        hello 1003
        available 1001
        available 1003
        post sales
        customer c-1 failed
        agent 1001 idle rona
        contact c-1 reserved 1003
        customer c-1 ended
        agent 1003 idle rona
        contact c-1 queued
    """),
    "a customer hanging up: abandoned in the queue, withdrawn from an offer": ("", """
        hello 1001
        post sales
        hangup c-1
        contact c-1 abandoned
        available 1001
        post sales
        hangup c-2
        contact c-2 abandoned 1001
        agent 1001 available
        told 1001 agent_state:available contact:reserved agent_state:reserved contact:withdrawn
        told 1001 agent_state:available
        told 1001
        customers hangup:c-1 dial:c-2:sip:1001@pbx hangup:c-2
    """),
    "a customer hanging up on the agent ends the call into wrap-up": ("", """
        hello 1001
        available 1001
        post sales
        accept 1001 c-1
        hangup c-1
        agent 1001 wrapup
        contact c-1 wrapup 1001
    """),
    "call events that no longer fit are ignored": ("", """
        hello 1001
        available 1001
        post sales
        call 1001 c-1 resumed
        call 1001 c-1 answered
        call 1001 c-1 ringing
        call 1001 c-1 answered
        accept 1001 c-1
        agent 1001 talking
        call 1001 c-2 held !unknown_contact
    """),
}


@pytest.mark.parametrize("settings,text", CASES.values(), ids=list(CASES))
def test_rules(settings, text):
    desk = Desk(settings)
    for line in script(text):
        desk.run(line)


def test_events_are_numbered_and_stored_and_hello_resumes():
    desk = Desk()
    for line in script("""
        hello 1001
        available 1001
        post sales
        call 1001 c-1 ringing
    """):
        desk.run(line)
    seqs = [m.seq for m in desk.sent["1001"]]
    assert seqs == list(range(1, len(seqs) + 1))
    assert [s for s, _, _ in desk.store.events("1001")] == seqs
    snap = desk.engine.hello("1001", "1234")
    assert snap.seq == seqs[-1] and snap.state == "ringing"
    assert [(c.id, c.status) for c in snap.contacts] == [("c-1", "offered")]
    assert snap.contacts[0].expires_at == desk.clock.now + 10
    # a secure value never goes with the contact (get_variable fetches it): its name does
    assert snap.contacts[0].variables["card"] == ""
    assert [c.code for c in snap.idle_codes] == ["lunch", "rona", "rejected", "login"]
    assert snap.agent.extension == "sip:1001@pbx"


def test_restart_keeps_sessions_queues_and_deadlines(tmp_path):
    db = tmp_path / "cc.db"
    first = Desk(db=db)
    for line in script("""
        hello 1001
        hello 1003
        available 1001
        post sales
        post sales
        call 1001 c-1 ringing
    """):
        first.run(line)
    first.store.close()                     # as after kill -9: only committed operations remain

    clock = Clock()
    clock.now = first.clock.now + 60        # the RONA deadline passed while ccsim was down
    second = Desk(db=db, clock=clock)
    for line in script("""
        agent 1001 ringing
        contact c-2 queued
        wait 0
        agent 1001 idle rona
        contact c-1 queued
        available 1003
        contact c-1 reserved 1003
        post support
        contact c-3 queued
    """):
        second.run(line)
    # the same session: 5 events before the restart, the RONA's two after it
    assert second.engine.hello("1001", "1234").seq == 7
    assert [seq for seq, _, _ in second.store.events("1001")] == [1, 2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize("old,new,error", [
    ('pin = "2222"', "pin = 2222", "test.toml: agents[1].pin: expected a string, got 2222"),
    ('queues = ["support"]', 'queues = ["billing"]',
     "test.toml: agents[1].queues: unknown queue 'billing'"),
    ("rona_s = 10", "rona_s = 0", "test.toml: settings.rona_s: must be > 0"),
    ('id = "1003"', 'id = "1001"', "test.toml: agents[2].id: duplicate '1001'"),
    ("secure = true", "secure = 1", "test.toml: layout[2].secure: expected true or false"),
    ("rona_s = 10", "rona_s = 10\nringtone = 1", "test.toml: settings: unknown field 'ringtone'"),
    ('[[layout]]\nname = "card"', '[[junk]]\nname = "card"', "test.toml: unknown table 'junk'"),
    ("[settings]", "[settings", "test.toml: not valid TOML"),
])
def test_scenario_mistakes_name_file_and_field(old, new, error):
    text = SCENARIO.format(settings="").replace(old, new, 1)
    with pytest.raises(ScenarioError) as e:
        parse(text, "test.toml")
    assert str(e.value).startswith(error)


def test_layout_needs_three_to_six_variables():
    text = SCENARIO.format(settings="").split("[[layout]]")[0] + \
        '[[layout]]\nname = "a"\nlabel = "A"\n'
    with pytest.raises(ScenarioError, match=r"test.toml: layout: 3 to 6 .* got 1"):
        parse(text, "test.toml")


def test_demo_scenario_loads():
    from tools.ccsim.scenario import load
    s = load("tools/ccsim/scenarios/demo.toml")
    assert [a.id for a in s.agents] == ["1001", "1002", "1003"]
    assert s.queues == ("sales", "support")
    assert len(s.idle_codes) >= 120 and len(s.wrapup_codes) >= 35
    assert len(s.layout) == 6 and [v.name for v in s.layout if v.secure] == ["card"]


def test_demo_traffic_calls_only_queues_with_an_available_agent():
    import random

    from tools.ccsim import traffic
    desk, rng = Desk(), random.Random(7)
    assert traffic.new_contact(desk.engine, desk.scenario, rng) is None      # nobody Available
    desk.run("hello 1002")
    desk.run("available 1002")
    cid = traffic.new_contact(desk.engine, desk.scenario, rng)
    info = desk.engine.contact_info(cid)
    assert (info["queue"], info["agent"]) == ("support", "1002")
    assert info["ani"].startswith("+1555") and len(info["ani"]) == 12


def test_demo_traffic_fills_the_layout_with_believable_values():
    import random

    from tools.ccsim import traffic
    layout = parse(SCENARIO.format(settings=""), "test.toml").layout
    for seed in range(20):
        values = traffic.variables(layout, random.Random(seed))
        assert list(values) == ["customer", "account", "card"]
        assert len(values["customer"].split()) == 2 and values["account"].startswith("AC-")
        digits = [int(d) for d in values["card"].replace(" ", "")]
        assert len(digits) == 16
        luhn = sum(d if i % 2 == 0 else (2 * d - 9 if d > 4 else 2 * d)
                   for i, d in enumerate(reversed(digits)))
        assert luhn % 10 == 0


def test_old_events_are_pruned_so_a_long_run_does_not_grow_without_end():
    store = Store(":memory:", keep_events=50)
    for seq in range(1, 301):
        store.add_event("1001", seq, float(seq), f'{{"n": {seq}}}')
    store.add_event("1002", 1, 1.0, "{}")
    kept = [seq for seq, _at, _body in store.events("1001")]
    assert kept == list(range(251, 301))                           # pruned at 300: the last 50
    assert [seq for seq, _, _ in store.events("1002")] == [1]      # per agent


def test_a_reject_counts_as_an_attempt_of_the_contact():
    desk = Desk()
    for line in script("""
        hello 1001
        hello 1003
        available 1001
        post sales
        reject 1001 c-1
        available 1003
    """):
        desk.run(line)
    info = desk.engine.contact_info("c-1")
    assert [(a["agent"], a["outcome"]) for a in info["attempts"]] == [
        ("1001", "rejected"), ("1003", "")]
    assert info["state"] == "reserved" and info["agent"] == "1003"


OUTBOUND = {
    "an outbound call is a contact: dialing, answered, wrapped up; back to the Idle it left": (
        "", """
        hello 1001
        idle 1001 lunch
        dial 1001 5550100 5550100 c-1
        contact c-1 dialing 1001
        agent 1001 reserved pending=idle/lunch
        call 1001 c-1 ringing
        contact c-1 dialing
        call 1001 c-1 answered
        contact c-1 assigned 1001
        agent 1001 talking pending=idle/lunch
        call 1001 c-1 ended
        contact c-1 wrapup
        wrapup 1001 c-1 sale
        agent 1001 idle lunch
    """),
    "an outbound call nobody answers ends without a wrap-up": ("", """
        hello 1001
        available 1001
        dial 1001 5550199 5550199 c-1
        call 1001 c-1 ended
        contact c-1 abandoned
        agent 1001 available
    """),
    "a phone that never says is given up on after 90 s": ("", """
        hello 1001
        available 1001
        dial 1001 5550177
        wait 89
        contact c-1 dialing
        wait 2
        contact c-1 abandoned
        agent 1001 available
    """),
    "the call limit refuses a dial until a call is over (wrap-up holds no call)": (
        "[outbound]\ncall_limit = 1", """
        hello 1001
        hello 1002
        dial 1001 5550100
        call 1001 c-1 answered
        dial 1002 5550101 !call_limit
        dial 1002 1001 1001 -
        call 1001 c-1 ended
        dial 1002 5550101 5550101 c-2
        dial 1001 5550102 !not_allowed
    """),
    "an agent's id or extension is an internal call: no contact, no state change": ("", """
        hello 1001
        available 1001
        dial 1001 1002 1002 -
        dial 1001 1003 1003 -
        agent 1001 available
    """),
    "no outbound call while on a contact; bad numbers refused": ("", """
        hello 1001
        available 1001
        post sales
        accept 1001 c-1
        dial 1001 5550100 !not_allowed
        dial 1001 1002 1002 -
        dial 1001 555;0100 !bad_number
        dial 1001 123456789012345678901234567890123 !bad_number
    """),
}


@pytest.mark.parametrize("settings,text", OUTBOUND.values(), ids=list(OUTBOUND))
def test_outbound(settings, text):
    desk = Desk(settings)
    for line in script(text):
        desk.run(line)


def test_an_outbound_contact_survives_a_restart(tmp_path):
    db = tmp_path / "cc.db"
    desk = Desk(db=str(db))
    for line in script("""
        hello 1001
        dial 1001 5550100
        call 1001 c-1 answered
    """):
        desk.run(line)
    desk.store.close()
    again = Desk(db=str(db))
    assert again.engine.contact_info("c-1")["kind"] == "outbound"
    assert again.engine.contact_info("c-1")["state"] == "assigned"
