"""ccsim's callbacks (tools/ccsim/callbacks.py): the rules at the server
(firmware/core/callback_rules.py with the server's clock, queues and teams), the scheduler on a
fake clock, the offer on which the bridge calls the customer back, edit, delete and list,
restarts, and the admin API.

Driven like test_ccsim_reservation.py (test_ccsim_dialer's Desk: a fake bridge, a fake clock,
the preview campaign "winter" of agents 1001 and 1002, not started) on test_ccsim_engine's
centre with these queue options: "sales" (dial number 8001, web callbacks cancellable),
"support" inactive, "chat" a chat queue; 1001 (Blue) serves sales, support and chat, 1002
(Blue) support, 1003 (Red) sales. The clock starts at 2027-03-01 09:00 UTC.

More script lines (besides test_ccsim_dialer's, test_ccsim_bridged's, test_ccsim_engine's):
    schedule A [FIELD=VALUE ...]        -- A schedules a callback: the draft's defaults (DRAFT)
                                           with these (``_`` for a space; contact=C)
    edit A CB [FIELD=VALUE ...]         -- ... changes CB to the defaults with these
    delete A CB
    listed A NUMBER|- [CB ...]          -- A's ``callbacks`` (of NUMBER; -: its own), in order
    web [QUEUE]                         -- a web callback posted (number +1 555 0100)
    courtesy C                          -- the customer of C chose a courtesy callback
    callback CB STATUS [FIELD=VALUE...] -- the callback now: attempts, outcome, contact
    shown A C [FIELD=VALUE ...]         -- the latest contact event A got for C: status, kind,
                                           callback, failed (_ for spaces), cancel (yes/no),
                                           token (yes: the agent's leg's; no)
"""
import logging
import re
import time
from datetime import UTC, datetime

import pytest

from firmware.core import callback_rules as rules
from firmware.cc import protocol as p
from tests.unit import test_ccsim_bridged as bridged
from tests.unit import test_ccsim_campaign_load as load
from tests.unit import test_ccsim_dialer as dialer
from tests.unit import test_ccsim_engine as base
from tools.ccsim.callbacks import CallbackRefused, NotWaiting, dialed_number
from tools.ccsim.engine import Engine, Refused
from tools.ccsim.scenario import ScenarioError, parse
from tools.ccsim.store import Store

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC).timestamp()
CUSTOMER = "dial:c-1.c:sip:+15550100@127.0.0.1:5062"
DRAFT = {"number": "+1 555 0100", "name": "Zoë Ærø", "date": "2027-03-01", "start": "10:00",
         "end": "11:00", "tz": "UTC", "queue": "sales", "reason": "Quote for the fibre plan",
         "assignee": ""}


def scenario_text(callbacks: str = "") -> str:
    text = base.SCENARIO.format(settings="")
    for old, new in (
            ('queues = ["sales", "support"]', 'queues = ["sales", "support", "chat"]'),
            ('[[queues]]\nname = "sales"',
             '[[queues]]\nname = "sales"\nnumber = "8001"\ncallback_cancel = true'),
            ('[[queues]]\nname = "support"',
             '[[queues]]\nname = "support"\nactive = false\n[[queues]]\nname = "chat"\n'
             'media = "chat"')):
        assert old in text
        text = text.replace(old, new, 1)
    return text + (f"\n[callbacks]\n{callbacks}\n" if callbacks else "")


def draft(**over) -> p.CallbackDraft:
    return p.CallbackDraft(**{**DRAFT, **over})


class Desk(dialer.Desk):
    def __init__(self, db=":memory:", clock=None, adopt: dict | None = None, bridge=True,
                 callbacks="retry_s = 300\nmax_attempts = 2\nring_s = 20", adopted=True,
                 cancel=True):
        """``cancel`` False: sales' web callbacks cannot be cancelled."""
        self.campaign = dialer.CAMPAIGN.format(mode="preview", more="", records=dialer.RECORDS,
                                               retry_s=0)
        text = scenario_text(callbacks) + self.campaign
        if not cancel:
            text = text.replace("callback_cancel = true", "")
        self.scenario = parse(text + (bridged.BRIDGE if bridge else ""), "test.toml")
        if clock is None:
            clock = base.Clock()
            clock.now = NOW
        self.clock, self.customers, self.bridge = clock, base.Customers(), bridged.FakeBridge()
        self.store = Store(db)
        self.engine = Engine(self.scenario, self.store, self.clock, self.customers,
                             self.bridge if bridge else None)
        self.sent, self.seen, self.customers_seen, self.bridge_seen = {}, {}, 0, 0
        self.dials_seen = 0
        if bridge and adopted:
            self.engine.adopt({"legs": []} if adopt is None else adopt)
        self.drain()

    def step(self, op, *a):
        e = self.engine
        if op == "schedule":
            fields = dict(item.replace("_", " ").split("=", 1) for item in a[1:])
            contact = fields.pop("contact", "")
            e.schedule_callback(a[0], draft(**fields), contact)
        elif op == "edit":
            fields = dict(item.replace("_", " ").split("=", 1) for item in a[2:])
            e.edit_callback(a[0], a[1], draft(**fields))
        elif op == "delete":
            e.delete_callback(a[0], a[1])
        elif op == "listed":
            number = "" if a[1] == "-" else a[1].replace("_", " ")
            got = [cb.id for cb in e.list_callbacks(a[0], number)]
            assert got == list(a[2:]), got
        elif op == "web":
            e.web_callback({"name": "Web Customer", "number": "+1 555 0100",
                            "queue": a[0] if a else "sales", "reason": "from the site"})
        elif op == "courtesy":
            e.courtesy_callback(a[0])
        elif op == "fail":
            e.call_event(a[0], a[1], "ended", "customer", " ".join(a[2:]))
        elif op == "callback":
            info = e.callback_info(a[0])
            assert info is not None, a[0]
            assert info["status"] == a[1], info
            for item in a[2:]:
                key, value = item.split("=", 1)
                assert str(info[key]) == value.replace("_", " "), (item, info)
        elif op == "shown":
            c = self.last(a[0], a[1])
            token = self.bridge.headers.get(f"{a[1]}.a1", {}).get("X-CC-Token")
            got = {"status": c.status, "kind": c.kind, "callback": c.callback,
                   "failed": c.failed.replace(" ", "_"), "cancel": "yes" if c.cancel else "no",
                   "token": "yes" if c.token and c.token == token else
                   "no" if not c.token else "other"}
            for item in a[2:]:
                key, value = item.split("=", 1)
                assert got[key] == value, (item, got)
        else:
            super().step(op, *a)

    def refused(self, **over) -> dict[str, str]:
        """The fields the server refuses in a draft of 1001's with these (none: {})."""
        try:
            self.engine.schedule_callback("1001", draft(**over))
        except Refused as e:
            assert e.code == "bad_value" and e.fields, (e.code, e.message)
            return e.fields
        return {}


run = base.play

# 1001 Available; a web callback for sales, offered to it; its leg answered: the bridge calls
# the customer
DIALING = """
    hello 1001
    available 1001
    web
    callback cb-1 offered contact=c-1
    contact c-1 reserved 1001
    bridged dial:c-1.a1:sip:1001@pbx
    bridge c-1.a1 ringing
    contact c-1 offered 1001
    bridge c-1.a1 answered
    contact c-1 dialing 1001
    agent 1001 reserved
    bridged """ + CUSTOMER + """
    callback cb-1 offered attempts=1
"""


def at(day: str, hhmm: str, tz: str = "UTC") -> float:
    from zoneinfo import ZoneInfo
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=ZoneInfo(tz)).timestamp()


# -- the rules at the server -----------------------------------------------------------------
@pytest.mark.parametrize("over,fields", [
    ({"number": "555 010"}, {}),                          # 7 characters
    ({"number": "555 01"}, {"number": "number_short"}),   # 6
    ({"number": "+1 555 0100 200"}, {}),                  # 15
    ({"number": "+1 555 0100 2000"}, {"number": "number_long"}),   # 16
    ({"number": "555-0100,2.1"}, {}),
    ({"number": "555 0100 x2"}, {"number": "number_chars"}),
    ({"number": "   "}, {"number": "required"}),
    ({"name": "Zoë"}, {}),                                # 3
    ({"name": "Zo"}, {"name": "name_short"}),             # 2
    ({"name": "ß" * 250}, {}),
    ({"name": "ß" * 251}, {"name": "name_long"}),
    ({"name": ""}, {"name": "required"}),
    ({"reason": "r" * 250}, {}),
    ({"reason": "r" * 251}, {"reason": "reason_long"}),
    ({"start": "09:30", "end": "10:00"}, {}),             # 30 minutes from now
    ({"start": "09:29", "end": "10:00"}, {"start": "too_soon"}),   # 29
    ({"date": "2027-04-01", "start": "09:00", "end": "09:30"}, {}),   # 31 days
    ({"date": "2027-04-01", "start": "09:01", "end": "09:30"}, {"start": "too_late"}),
    ({"tz": "Mars/Olympus_Mons"}, {"tz": "not_a_zone"}),
    ({"tz": "../etc/passwd"}, {"tz": "not_a_zone"}),
    ({"tz": "Europe/Berlin", "date": "2027-03-28", "start": "02:30", "end": "03:30"},
     {"start": "dst_gap"}),
    ({"tz": "Europe/Berlin", "date": "2027-03-28", "start": "01:30", "end": "02:30"},
     {"end": "dst_gap"}),
    ({"tz": "Europe/Berlin", "date": "2027-03-28", "start": "01:30", "end": "03:30"}, {}),
    ({"start": "11:00", "end": "10:00"}, {"end": "end_before_start"}),
    ({"date": "2027-02-30"}, {"date": "not_a_date"}),
    ({"start": "25:00"}, {"start": "not_a_time"}),
    ({"queue": "support"}, {"queue": "queue_inactive"}),  # 1001's, not active
    ({"queue": "chat"}, {"queue": "queue_unknown"}),      # 1001's, not voice
    ({"queue": "nope"}, {"queue": "queue_unknown"}),
    ({"queue": ""}, {"queue": "required"}),
    ({"assignee": "1002"}, {}),                           # Blue, as 1001
    ({"assignee": "1001"}, {}),
    ({"assignee": "1003"}, {"assignee": "assignee_unknown"}),   # Red
    ({"assignee": "9999"}, {"assignee": "assignee_unknown"}),
    ({"number": "1", "name": "", "reason": "r" * 251, "queue": "chat", "assignee": "1003",
      "start": "09:00"},
     {"number": "number_short", "name": "required", "reason": "reason_long",
      "queue": "queue_unknown", "assignee": "assignee_unknown", "start": "too_soon"}),
])
def test_every_rule_at_and_around_its_bounds_at_the_server(over, fields):
    desk = run(Desk(), "hello 1001")
    assert desk.refused(**over) == fields
    phone = rules.problems(draft(**over), desk.scenario.callbacks.rules, NOW)
    assert {k: v for k, v in fields.items() if k not in ("queue", "assignee")} == {
        k: v for k, v in phone.items() if k not in ("queue", "assignee")}   # the phone's own


def test_the_window_s_start_is_in_the_customer_s_zone_and_the_server_s_clock():
    desk = run(Desk(), "hello 1001")
    # 10:29 in New York (UTC-5) is 15:29 UTC: fine; 04:29 there is 09:29 UTC, too soon
    assert desk.refused(tz="America/New_York", start="10:29", end="11:00") == {}
    assert desk.refused(tz="America/New_York", start="04:29", end="05:00") == {
        "start": "too_soon"}
    cb = desk.engine.list_callbacks("1001")[0]
    assert (cb.start, cb.end) == (at("2027-03-01", "10:29", "America/New_York"),
                                  at("2027-03-01", "11:00", "America/New_York"))
    assert (cb.date, cb.start_local, cb.end_local, cb.tz) == (
        "2027-03-01", "10:29", "11:00", "America/New_York")


def test_the_scenario_s_limits_are_the_rules_and_the_snapshot_carries_them():
    desk = run(Desk(callbacks="number_min = 3\nname_max = 10\nlead_min_s = 0"),
               "hello 1001\nhello 1003")
    assert desk.refused(number="123", start="09:00") == {}
    assert desk.refused(name="Ana" * 4) == {"name": "name_long"}
    snap = desk.engine.snapshot("1001")
    assert snap.callback_rules == p.CallbackRules(number_min=3, name_max=10, lead_min_s=0)
    assert snap.callback_queues == [p.Code("sales", "sales")]
    assert snap.team == [p.Code("1001", "Ana Diaz"), p.Code("1002", "Ben Okafor")]
    snap = p.decode_server(p.encode(desk.engine.snapshot("1003")))
    assert (snap.callback_queues, snap.team) == ([p.Code("sales", "sales")],
                                                 [p.Code("1003", "Cleo Park")])


def test_a_refusal_names_each_field_in_the_phone_s_words():
    desk = run(Desk(), "hello 1001")
    with pytest.raises(Refused) as e:
        desk.engine.schedule_callback("1001", draft(number="12", queue="support"))
    assert e.value.fields == {"number": "number_short", "queue": "queue_inactive"}
    limits = desk.scenario.callbacks.rules
    assert e.value.message == (f"number: {rules.words('number_short', limits)}; "
                               f"queue: {rules.words('queue_inactive', limits)}")
    assert "7" in rules.words("number_short", limits)
    assert desk.engine.list_callbacks("1001") == []


def test_not_from_a_campaign_s_contact():
    run(Desk(), """
        hello 1001
        available 1001
        start winter
        contact c-1 preview 1001
        schedule 1001 contact=c-1 !not_allowed
        listed 1001 -
    """)
    desk = run(Desk(), "hello 1001")
    desk.engine.set_state("1001", "available")
    desk.engine.start_campaign("winter")
    with pytest.raises(Refused) as e:
        desk.engine.schedule_callback("1001", draft(), "c-1")
    assert (e.value.code, e.value.fields) == ("not_allowed", {"number": "campaign_contact"})


@pytest.mark.parametrize("text,error", [
    ("retry_s = -1", "callbacks.retry_s: must be >= 0"),
    ("max_attempts = 0", "callbacks.max_attempts: must be in 1..100"),
    ("ring_s = 0", "callbacks.ring_s: must be > 0"),
    ("number_min = 16", "callbacks.number_min: 16 is more than number_max (15)"),
    ("lead_min_s = 90000\nlead_max_s = 3600", "callbacks.lead_min_s: 90000 is more than"),
    ("name_max = 300", "callbacks.name_max: must be in 1..256"),
    ("bogus = 1", "callbacks: unknown field 'bogus'"),
])
def test_the_scenario_s_callbacks_table_is_checked(text, error):
    with pytest.raises(ScenarioError, match=re.escape(error)):
        parse(scenario_text(text), "t.toml")
    with pytest.raises(ScenarioError, match=r"queues\[0\].media: one of voice, chat, email"):
        parse(scenario_text().replace('number = "8001"', 'media = "fax"'), "t.toml")


def test_the_scenario_s_queue_options_and_callbacks_defaults():
    s = parse(scenario_text(), "t.toml")
    assert [(q.name, q.number, q.active, q.media, q.callback_cancel) for q in s.queue_options] \
        == [("sales", "8001", True, "voice", True), ("support", "", False, "voice", False),
            ("chat", "", True, "chat", False)]
    assert (s.callbacks.retry_s, s.callbacks.max_attempts, s.callbacks.ring_s) == (300, 3, 25)
    assert s.callbacks.rules == p.CallbackRules()


# -- the scheduler ---------------------------------------------------------------------------
def test_a_scheduled_callback_fires_at_its_start_not_before_and_once():
    desk = run(Desk(), """
        hello 1001
        available 1001
        schedule 1001
        callback cb-1 scheduled attempts=0 contact=None
        wait 3599
        callback cb-1 scheduled
        bridged
        wait 1
        callback cb-1 offered contact=c-1
        contact c-1 reserved 1001
        bridged dial:c-1.a1:sip:1001@pbx
        wait 600
        contact c-1 queued
        bridged hangup:c-1.a1
        wait 3600
        callback cb-1 offered contact=c-1
    """)
    assert desk.engine.contact_info("c-2") is None
    history = desk.engine.callback_info("cb-1")["history"]
    assert [(h["event"], h.get("agent"), h.get("detail")) for h in history] == [
        ("created", "1001", None), ("offered", None, "c-1")]
    assert history[1]["at"] == at("2027-03-01", "10:00")


def test_a_personal_callback_goes_to_its_assignee_only():
    run(Desk(), """
        hello 1001
        hello 1002
        hello 1003
        available 1001
        available 1003
        schedule 1001 assignee=1002
        wait 3600
        callback cb-1 offered contact=c-1
        contact c-1 queued
        agent 1001 available
        agent 1003 available
        bridged
        available 1002
        contact c-1 reserved 1002
        bridged dial:c-1.a1:sip:1002@pbx
        reject 1002 c-1
        contact c-1 queued
        agent 1001 available
        available 1002
        contact c-1 reserved 1002
    """)


def test_without_the_bridge_a_due_callback_waits_with_one_warning(caplog):
    caplog.set_level(logging.WARNING, "ccsim")
    desk = run(Desk(bridge=False), """
        hello 1001
        available 1001
        schedule 1001
        schedule 1001 start=10:30
        wait 7200
        callback cb-1 scheduled
        callback cb-2 scheduled
        agent 1001 available
    """)
    assert len([m for m in caplog.messages if "media bridge" in m]) == 1
    assert desk.engine.contact_info("c-1") is None


# -- restarts ----------------------------------------------------------------------------------
def restarted(first: Desk, db, legs: list[dict] | None = None, adopted=True) -> Desk:
    first.store.close()
    return Desk(db=db, clock=first.clock, adopt={"legs": legs or []}, adopted=adopted)


def test_killed_just_before_it_is_due_it_fires_once_after_the_restart(tmp_path):
    db = tmp_path / "cc.db"
    first = run(Desk(db=db), """
        hello 1001
        schedule 1001
        wait 3599
        callback cb-1 scheduled
    """)
    second = run(restarted(first, db), """
        callback cb-1 scheduled
        wait 1
        callback cb-1 offered contact=c-1
        contact c-1 queued
        wait 60
    """)
    third = run(restarted(second, db), """
        callback cb-1 offered contact=c-1
        contact c-1 queued
        wait 3600
        available 1001
        contact c-1 reserved 1001
    """)
    assert third.engine.contact_info("c-2") is None
    assert [h["event"] for h in third.engine.callback_info("cb-1")["history"]] == [
        "created", "offered"]


def test_a_callback_due_while_ccsim_was_down_fires_once_the_bridge_s_legs_are_known(tmp_path):
    db = tmp_path / "cc.db"
    first = run(Desk(db=db), "hello 1001\navailable 1001\nschedule 1001")
    first.clock.now += 7200
    second = restarted(first, db, adopted=False)
    run(second, """
        callback cb-1 scheduled
        wait 0
        callback cb-1 scheduled
        bridged
    """)
    second.engine.adopt({"legs": []})
    run(second, """
        callback cb-1 offered contact=c-1
        contact c-1 reserved 1001
        bridged dial:c-1.a1:sip:1001@pbx
    """)


OFFERED = DIALING.split("bridge c-1.a1 answered")[0]


def test_a_restart_while_offered_keeps_its_contact_and_the_offer(tmp_path):
    db = tmp_path / "cc.db"
    run(restarted(run(Desk(db=db), OFFERED), db, [dialer_leg("c-1.a1", "ringing")]), """
        callback cb-1 offered contact=c-1
        contact c-1 offered 1001
        bridged
        bridge c-1.a1 answered
        contact c-1 dialing 1001
        bridged """ + CUSTOMER + """
    """)


def test_a_restart_finds_the_offer_s_leg_gone_a_rona_the_callback_still_offered(tmp_path):
    db = tmp_path / "cc.db"
    run(restarted(run(Desk(db=db), OFFERED), db, []), """
        contact c-1 queued
        agent 1001 idle rona
        callback cb-1 offered contact=c-1 attempts=0
        available 1001
        contact c-1 reserved 1001
        bridged dial:c-1.a2:sip:1001@pbx
    """)


def dialer_leg(name: str, state: str = "answered") -> dict:
    return {"leg": name, "direction": "out", "state": state, "contact": name.split(".")[0]}


def test_a_restart_while_the_customer_rings(tmp_path):
    db = tmp_path / "cc.db"
    second = run(restarted(run(Desk(db=db), DIALING), db,
                           [dialer_leg("c-1.a1"), dialer_leg("c-1.c", "ringing")]), """
        contact c-1 dialing 1001
        bridged
        bridge c-1.c answered
        contact c-1 assigned 1001
        bridged join:c-1:c-1.c join:c-1:c-1.a1
        callback cb-1 done outcome=connected
    """)
    assert second.engine.contact_info("c-1")["callback"] == "cb-1"
    db2 = tmp_path / "b.db"
    run(restarted(run(Desk(db=db2), DIALING), db2, [dialer_leg("c-1.a1")]), """
        contact c-1 wrapup 1001
        shown 1001 c-1 failed=ended_while_ccsim_was_away
        bridged hangup:c-1.a1
        callback cb-1 scheduled attempts=1
    """)


# -- the offer -------------------------------------------------------------------------------
def test_the_offer_is_a_callback_and_the_bridge_calls_the_customer_once_the_agent_answers():
    desk = run(Desk(), DIALING + """
        shown 1001 c-1 status=dialing kind=callback callback=cb-1 cancel=yes token=yes
        call 1001 c-1 answered
        contact c-1 dialing
        bridge c-1.c ringing
        participants c-1 customer:ringing:None agent:answered:None
        bridge c-1.c answered
        contact c-1 assigned 1001
        agent 1001 talking
        bridged join:c-1:c-1.c join:c-1:c-1.a1
        callback cb-1 done outcome=connected attempts=1 contact=c-1
        call 1001 c-1 ended
        contact c-1 wrapup 1001
        bridged hangup:c-1.a1 hangup:c-1.c
        wrapup 1001 c-1 sale
        agent 1001 available
        callback cb-1 done outcome=connected
    """)
    offer = next(m.contact for m in desk.sent["1001"] if isinstance(m, p.ContactUpdate)
                 and m.contact.status == "offered")
    assert (offer.kind, offer.callback, offer.ani, offer.customer, offer.queue, offer.dnis,
            offer.cancel, offer.variables) == (
        "callback", "cb-1", "+1 555 0100", "Web Customer", "sales", "web", True,
        {"callback_reason": "from the site"})
    assert offer.token == desk.bridge.headers["c-1.a1"]["X-CC-Token"]
    assert desk.bridge.headers["c-1.c"] == {"X-CC-Contact-Id": "c-1"}
    info = desk.engine.contact_info("c-1")
    assert (info["kind"], info["callback"], info["customer"], info["dnis"]) == (
        "callback", "cb-1", "Web Customer", "web")
    history = desk.engine.callback_info("cb-1")["history"]
    assert [(h["event"], h.get("agent"), h.get("detail")) for h in history] == [
        ("created", None, "posted"), ("offered", None, "c-1"),
        ("completed", "1001", "connected")]


def test_a_busy_customer_fails_the_attempt_which_is_offered_again_after_retry_s():
    desk = run(Desk(), DIALING + """
        ended c-1.c busy (486)
        contact c-1 wrapup 1001
        shown 1001 c-1 status=wrapup failed=busy_(486) token=no
        bridged hangup:c-1.a1
        callback cb-1 scheduled attempts=1 contact=None
        wrapup 1001 c-1 sale
        agent 1001 available
        wait 299
        callback cb-1 scheduled
        wait 1
        callback cb-1 offered contact=c-2 attempts=1
        contact c-2 reserved 1001
        bridged dial:c-2.a1:sip:1001@pbx
        accept 1001 c-2
        contact c-2 dialing 1001
        bridged dial:c-2.c:sip:+15550100@127.0.0.1:5062
        ended c-2.c no answer
        contact c-2 wrapup 1001
        shown 1001 c-2 failed=no_answer
        callback cb-1 done attempts=2 outcome=failed contact=c-2
    """)
    assert desk.engine.callback_info("cb-1")["not_before"] == NOW + 300
    assert [(h["event"], h.get("detail")) for h in desk.engine.callback_info(
        "cb-1")["history"]][2:] == [("attempted", "busy (486)"), ("offered", "c-2"),
                                    ("attempted", "no answer"), ("completed", "2 attempts")]
    run(desk, "wait 3600")
    assert desk.engine.contact_info("c-3") is None


def test_a_customer_the_bridge_never_reports_is_given_up_no_answer():
    run(Desk(), DIALING + """
        wait 29
        contact c-1 dialing
        wait 1
        contact c-1 wrapup 1001
        shown 1001 c-1 failed=no_answer
        bridged hangup:c-1.a1 hangup:c-1.c
        callback cb-1 scheduled attempts=1
    """)


@pytest.mark.parametrize("hang_up,failed,hung_up", [
    ("call 1001 c-1 ended", "cancelled", "hangup:c-1.a1 hangup:c-1.c"),
    ("fail 1001 c-1 cancelled (487)", "cancelled_(487)", "hangup:c-1.a1 hangup:c-1.c"),
    ("ended c-1.a1 normal", "cancelled", "hangup:c-1.c"),
])
def test_the_agent_cancels_a_web_callback_while_the_customer_rings(hang_up, failed, hung_up):
    run(Desk(), DIALING + f"""
        bridge c-1.c ringing
        {hang_up}
        contact c-1 wrapup 1001
        shown 1001 c-1 failed={failed}
        bridged {hung_up}
        callback cb-1 done outcome=cancelled attempts=1
        bridge c-1.c answered
        contact c-1 wrapup 1001
        bridged
    """)


def test_a_scheduled_callback_hung_up_while_it_rings_is_a_failed_attempt():
    run(Desk(), """
        hello 1001
        available 1001
        schedule 1001
        wait 3600
        bridge c-1.a1 answered
        contact c-1 dialing 1001
        shown 1001 c-1 cancel=no
        call 1001 c-1 ended
        contact c-1 wrapup 1001
        shown 1001 c-1 failed=cancelled
        callback cb-1 scheduled attempts=1
    """)


def test_a_web_callback_of_a_queue_without_callback_cancel_cannot_be_cancelled():
    run(Desk(cancel=False), DIALING + """
        shown 1001 c-1 cancel=no
        call 1001 c-1 ended
        callback cb-1 scheduled attempts=1
    """)


def test_a_rona_puts_the_callback_back_in_its_queue_still_offered():
    run(Desk(), """
        hello 1001
        hello 1003
        available 1001
        web
        bridged dial:c-1.a1:sip:1001@pbx
        wait 10
        contact c-1 queued
        agent 1001 idle rona
        callback cb-1 offered contact=c-1 attempts=0
        bridged hangup:c-1.a1
        available 1003
        contact c-1 reserved 1003
        bridged dial:c-1.a2:sip:1003@pbx
        bridge c-1.a2 answered
        contact c-1 dialing 1003
        bridged """ + CUSTOMER + """
    """)


def test_a_web_callback_for_a_queue_nobody_serves_waits_and_the_admin_can_hang_it_up():
    desk = run(Desk(), """
        hello 1002
        available 1002
        web
        contact c-1 queued
        hangup c-1
        contact c-1 abandoned
        callback cb-1 done outcome=abandoned
    """)
    assert desk.engine.callback_info("cb-1")["history"][-1]["detail"] == "contact c-1 abandoned"


def test_the_number_dialed_is_its_digits():
    assert dialed_number("+1 555-0100,2.1") == "+1555010021"
    assert dialed_number("555 0100") == "5550100"


# -- edit, delete, list ------------------------------------------------------------------------
def test_edit_and_delete_before_the_start_not_after():
    desk = run(Desk(bridge=False), """
        hello 1001
        hello 1002
        hello 1003
        schedule 1001
        schedule 1001 start=10:30 end=11:00 assignee=1002
        edit 1001 cb-1 start=10:15 name=Zoë_Ærø-Smith
        callback cb-1 scheduled start_local=10:15 name=Zoë_Ærø-Smith
        edit 1001 cb-1 start=09:20 !bad_value
        edit 1003 cb-1 !unknown_callback
        delete 1002 cb-1 !unknown_callback
        edit 1002 cb-2 reason=Assignee_s_note assignee=1002 start=10:30
        edit 1001 cb-9 !unknown_callback
        wait 4500
        edit 1001 cb-1 date=2027-03-02 !not_allowed
        delete 1001 cb-1 !not_allowed
        callback cb-1 scheduled
        delete 1001 cb-2
        callback cb-2 deleted
        delete 1001 cb-2 !unknown_callback
        edit 1002 cb-2 !unknown_callback
    """)
    with pytest.raises(Refused) as e:
        desk.engine.edit_callback("1001", "cb-1", draft(number="12"))
    assert e.value.code == "not_allowed"                        # started: not looked at
    events = [(h["event"], h.get("agent"), h.get("detail"))
              for h in desk.engine.callback_info("cb-1")["history"]]
    assert events == [("created", "1001", None), ("edited", "1001", "name, start")]
    assert [h["event"] for h in desk.engine.callback_info("cb-2")["history"]] == [
        "created", "edited", "deleted"]
    assert desk.engine.callback_info("cb-1")["start"] == at("2027-03-01", "10:15")


def test_an_edit_moves_its_timer():
    run(Desk(), """
        hello 1001
        schedule 1001
        edit 1001 cb-1 start=11:00 end=12:00
        wait 3600
        callback cb-1 scheduled
        wait 3600
        callback cb-1 offered contact=c-1
        edit 1001 cb-1 !not_allowed
    """)


def test_an_offered_or_done_callback_is_not_changed():
    run(Desk(), DIALING + """
        delete 1001 cb-1 !unknown_callback
        bridge c-1.c answered
        callback cb-1 done
    """)
    run(Desk(), """
        hello 1001
        schedule 1001 start=09:30
        wait 1800
        callback cb-1 offered
        edit 1001 cb-1 start=12:00 !not_allowed
        delete 1001 cb-1 !not_allowed
    """)


def test_list_by_number_and_the_agent_s_own():
    desk = run(Desk(bridge=False), """
        hello 1001
        hello 1002
        hello 1003
        schedule 1001 start=12:00 end=13:00
        schedule 1001 start=10:00
        schedule 1001 number=555_0199 start=11:00 end=12:00
        schedule 1001 assignee=1002 start=10:30
        schedule 1003 start=14:00 end=15:00
        schedule 1003 start=15:00 end=16:00 date=2027-03-02
        listed 1001 +15550100 cb-2 cb-4 cb-1 cb-5 cb-6
        listed 1001 +1_(555)_0100 cb-2 cb-4 cb-1 cb-5 cb-6
        listed 1001 5550199 cb-3
        listed 1001 - cb-2 cb-4 cb-3 cb-1
        listed 1002 +15550100 cb-4
        listed 1002 - cb-4
        listed 1003 +15550100 cb-2 cb-1 cb-5 cb-6
        listed 1003 - cb-5 cb-6
        listed 1001 0000000
        delete 1001 cb-1
        wait 3600
        listed 1001 - cb-4 cb-3
        listed 1003 +15550100 cb-5 cb-6
    """)
    cb = desk.engine.list_callbacks("1001", "5550199")[0]
    assert cb == p.Callback(id="cb-3", kind="scheduled", number="555 0199", name="Zoë Ærø",
                            queue="sales", start=at("2027-03-01", "11:00"),
                            end=at("2027-03-01", "12:00"), tz="UTC",
                            reason="Quote for the fibre plan", status="scheduled",
                            date="2027-03-01", start_local="11:00", end_local="12:00")


def test_at_most_max_callbacks_are_listed_soonest_first():
    desk = run(Desk(bridge=False), "hello 1001")
    for i in range(p.MAX_CALLBACKS + 5):
        day = 2 + i // 20
        desk.engine.schedule_callback("1001", draft(date=f"2027-03-{day:02d}",
                                                    start=f"{10 + i % 20 // 2}:{i % 2 * 30:02d}",
                                                    end="21:00"))
    listed = desk.engine.list_callbacks("1001", "")
    assert len(listed) == p.MAX_CALLBACKS
    assert [cb.start for cb in listed] == sorted(cb.start for cb in listed)
    assert listed[0].id == "cb-1"


# -- the admin ---------------------------------------------------------------------------------
def test_a_courtesy_callback_hangs_the_waiting_customer_up_and_is_due_at_once():
    desk = run(Desk(), """
        hello 1002
        post sales
        contact c-1 queued
        courtesy c-1
        contact c-1 callback
        customers dial:c-1:sip:cc-bridge@127.0.0.1:5062 hangup:c-1
        callback cb-1 offered contact=c-2 number=+15550001234 kind=courtesy dnis=8001
        contact c-2 queued
    """)
    assert desk.engine.callback_info("cb-1")["history"][0]["detail"] == (
        "instead of waiting (contact c-1)")
    with pytest.raises(NotWaiting):
        desk.engine.courtesy_callback("c-2")            # a callback's contact
    with pytest.raises(NotWaiting, match="over"):
        desk.engine.courtesy_callback("c-1")
    assert desk.engine.courtesy_callback("c-99") is None
    run(desk, """
        available 1002
        hello 1001
        available 1001
        contact c-2 reserved 1001
    """)


def test_a_courtesy_callback_of_a_bridged_customer_hangs_its_leg_up():
    run(Desk(), """
        hello 1002
        post sales
        incoming in-1 c-1
        bridge in-1 answered
        bridged answer:in-1 music:in-1:on
        courtesy c-1
        bridged hangup:in-1
        contact c-1 callback
    """)


def test_a_web_callback_s_fields_are_checked_as_the_rules_say():
    desk = Desk()
    e = desk.engine
    for body, fields in [
        ({"name": "Al", "number": "123", "queue": "support", "reason": "r" * 251},
         {"name": "name_short", "number": "number_short", "queue": "queue_inactive",
          "reason": "reason_long"}),
        ({"name": "Web", "number": "5550100", "queue": "chat"}, {"queue": "queue_unknown"}),
        ({"name": "Web", "number": "5550100"}, {"queue": "required"}),
    ]:
        with pytest.raises(CallbackRefused) as refused:
            e.web_callback(body)
        assert refused.value.fields == fields
    for body, error in [({"name": 1, "number": "5550100", "queue": "sales"},
                         "name: expected a string"),
                        ({"name": "Web", "number": "5550100", "queue": "sales", "x": 1},
                         "unknown field 'x'")]:
        with pytest.raises(CallbackRefused, match=error):
            e.web_callback(body)
    assert e.callbacks_info() == []


def test_the_admin_api_lists_shows_and_takes_callbacks(tmp_path):
    text = scenario_text()

    async def test(api, ws_url, http):
        made = await api.post("/callbacks", {"name": "Web Customer", "number": "+1 555 0100",
                                             "queue": "sales", "dnis": "shop.example"}, 201)
        assert (made["id"], made["kind"], made["status"], made["dnis"], made["queue"]) == (
            "cb-1", "web", "scheduled", "shop.example", "sales")      # no bridge: it waits
        assert [h["event"] for h in made["history"]] == ["created"]
        refused = await api.post("/callbacks", {"name": "A", "number": "1", "queue": "x"}, 400)
        assert refused["fields"] == {"number": "number_short", "name": "name_short",
                                     "queue": "queue_unknown"}
        assert rules.words("number_short", p.CallbackRules()) in refused["error"]
        await api.post("/contacts", {"queue": "sales", "ani": "+15550001234"}, 201)
        courtesy = await api.post("/contacts/c-1/callback", None, 201)
        assert (courtesy["id"], courtesy["kind"], courtesy["number"], courtesy["dnis"]) == (
            "cb-2", "courtesy", "+15550001234", "8001")
        assert (await api.get("/contacts/c-1"))["state"] == "callback"
        await api.post("/contacts/c-1/callback", None, 409)
        await api.post("/contacts/c-9/callback", None, 404)
        async with http.ws_connect(ws_url) as ws:
            phone = load.Phone(ws)
            await phone.send(p.Hello(id="h", agent="1001", pin="1234"))
            snap = await phone.receive(p.Snapshot)
            assert snap.callback_queues == [p.Code("sales", "sales")]
            start = datetime.fromtimestamp(time.time() + 3 * 3600, UTC)
            good = draft(date=start.strftime("%Y-%m-%d"), start=f"{start.hour:02d}:00",
                         end=f"{start.hour:02d}:30")
            await phone.send(p.ScheduleCallback(id="s1", callback=draft(
                number="1", assignee="1003", date="2020-01-01")))
            error = await phone.receive(p.Error)
            assert (error.id, error.code, error.fields) == (
                "s1", "bad_value", {"number": "number_short", "assignee": "assignee_unknown",
                                    "start": "too_soon"})
            await phone.send(p.ScheduleCallback(id="s2", callback=good))
            answer = await phone.receive(p.CallbackAnswer)
            assert (answer.id, answer.callback.id, answer.callback.status) == (
                "s2", "cb-3", "scheduled")
            await phone.send(p.ListCallbacks(id="l", number="+15550100"))
            listed = await phone.receive(p.CallbacksAnswer)
            assert [cb.id for cb in listed.callbacks] == ["cb-3"]
            await phone.send(p.EditCallback(id="e", callback_id="cb-3",
                                            callback=p.CallbackDraft(**{
                                                **DRAFT, "date": good.date,
                                                "start": good.start, "end": good.end,
                                                "reason": "edited"})))
            assert (await phone.receive(p.CallbackAnswer)).callback.reason == "edited"
            await phone.send(p.DeleteCallback(id="d", callback_id="cb-9"))
            error = await phone.receive(p.Error)
            assert (error.id, error.code) == ("d", "unknown_callback")
            await phone.send(p.DeleteCallback(id="d2", callback_id="cb-3"))
            assert (await phone.receive(p.Ack)).id == "d2"
        listed = (await api.get("/callbacks"))["callbacks"]
        assert [(c["id"], c["status"]) for c in listed] == [
            ("cb-3", "deleted"), ("cb-2", "scheduled"), ("cb-1", "scheduled")]
        assert [c["id"] for c in (await api.get("/callbacks?status=deleted"))["callbacks"]] \
            == ["cb-3"]
        assert [c["id"] for c in (await api.get("/callbacks?limit=1"))["callbacks"]] == [
            "cb-3"]
        await api.get("/callbacks?status=nope", 400)
        await api.get("/callbacks?limit=x", 400)
        shown = await api.get("/callbacks/cb-3")
        assert [(h["event"], h.get("agent")) for h in shown["history"]] == [
            ("created", "1001"), ("edited", "1001"), ("deleted", "1001")]
        assert (shown["created_by"], shown["assignee"], shown["start_local"]) == (
            "1001", None, good.start)
        await api.get("/callbacks/cb-9", 404)

    load.serve(tmp_path / "cc.db", test, text)


def test_refused_carries_no_fields_by_default():
    assert Refused("not_allowed", "no").fields == {}
