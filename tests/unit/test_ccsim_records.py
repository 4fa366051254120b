"""ccsim's campaign records while the agent is on them (docs/cc-protocol.md, "Campaigns": "While
on the record"; tools/ccsim/campaigns.py): the campaign's script and last day, the record's
alternate numbers (a preview call to one), the call limit on a preview's call, a reschedule
(the customer's local time, checked; the record back in the list until then, in the database
too) and the campaign's editable fields saved on the record. Driven like
test_ccsim_campaigns.py (its script lines, a fake clock: 2023-11-14 22:13:20 UTC).

More script lines:
    reschedule A C AT                 -- the agent reschedules contact C to AT
    set A C NAME VALUE VERSION        -- set_variable (_ for spaces in VALUE)
"""
import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import aiohttp
import msgspec
import pytest

from firmware.cc import protocol as p
from tests.unit import test_ccsim_campaigns as previews
from tests.unit import test_ccsim_dialer as dialer
from tests.unit import test_ccsim_engine as base
from tools.ccsim.campaigns import recall_time
from tools.ccsim.engine import Engine, Refused
from tools.ccsim.scenario import ScenarioError, parse
from tools.ccsim.server import CcServer
from tools.ccsim.store import Store

SCRIPT = "Hello, this is Ana from Acme.\nMay I have two minutes of your time?"
CAMPAIGN = '''
[outbound]
call_limit = {call_limit}

[[campaigns]]
id = "spring"
name = "Spring offer"
mode = "preview"
agents = ["1001", "1002"]
started = false
preview_s = 30
timeout_action = "{timeout_action}"
script = """
Hello, this is Ana from Acme.
May I have two minutes of your time?"""
ends = "{ends}"
tz = "Europe/Madrid"
dispositions = [{{code = "sold", label = "Sold"}}, {{code = "callback", label = "Call back"}},
                {{code = "do_not_call", label = "Do not call"}}]
fields = [{{name = "account", label = "Account"}},
          {{name = "product", label = "Product", editable = true}},
          {{name = "since", label = "Customer since", editable = true, kind = "date"}}]

[[campaigns.records]]
name = "Ana Ruiz"
number = "5550101"
alternates = ["5550111", "5550121"]
variables = {{account = "A-1", product = "Fibre"}}

[[campaigns.records]]
name = "Tom Becker"
number = "5550102"
tz = "America/New_York"
variables = {{account = "A-2"}}
'''
RULES = {"call_limit": "0", "timeout_action": "skip", "ends": "2024-06-30"}


def campaign(**rules) -> str:
    return CAMPAIGN.format(**{**RULES, **rules})


def at_madrid(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Europe/Madrid")).timestamp()


class Desk(previews.Desk):
    def __init__(self, db=":memory:", clock=None, **rules):
        self.scenario = parse(base.SCENARIO.format(settings="") + campaign(**rules),
                              "test.toml")
        self.clock, self.customers = clock or base.Clock(), base.Customers()
        self.store = Store(db)
        self.engine = Engine(self.scenario, self.store, self.clock, self.customers)
        self.sent, self.seen, self.customers_seen = {}, {}, 0
        self.drain()

    def step(self, op, *a):
        if op == "reschedule":
            self.engine.reschedule(*a)
        elif op == "set":
            agent, contact, name, value, version = a
            self.engine.set_variable(agent, contact, name, value.replace("_", " "),
                                     int(version))
        else:
            super().step(op, *a)

    def refusal(self, operation, *args) -> Refused:
        with pytest.raises(Refused) as e:
            operation(*args)
        self.drain()
        return e.value


run = base.play


PREVIEWING = previews.PREVIEWING
# c-1 (Ana Ruiz, record 0) called and answered by 1001
TALKING = PREVIEWING + """
    preview 1001 c-1 call
    call 1001 c-1 answered
    told 1001 contact:dialing contact:assigned agent_state:talking
"""


# -- script and last day -------------------------------------------------------------------
def test_the_script_and_the_last_day_go_to_the_phone():
    desk = run(Desk(), "hello 1001\nstart spring")
    [c] = desk.engine.snapshot("1001").campaigns
    assert (c.script, c.ends) == (SCRIPT, "2024-06-30")
    [event] = desk.messages("1001", p.CampaignUpdate)
    assert (event.campaign.script, event.campaign.ends) == (SCRIPT, "2024-06-30")
    assert [(f.name, f.editable, f.kind) for f in c.fields] == [
        ("account", False, "text"), ("product", True, "text"), ("since", True, "date")]
    info = desk.engine.campaign_info("spring")
    assert (info["script"], info["ends"]) == (SCRIPT, "2024-06-30")
    assert info["fields"][1] == {"name": "product", "label": "Product", "editable": True,
                                 "kind": "text"}
    assert [r["alternates"] for r in info["records"]] == [["5550111", "5550121"], []]


def test_a_campaign_with_no_script_or_end_sends_none():
    text = base.SCENARIO.format(settings="") + previews.campaign()
    engine = Engine(parse(text, "t.toml"), Store(":memory:"), base.Clock())
    engine.hello("1001", "1234")
    [c] = engine.snapshot("1001").campaigns
    assert (c.script, c.ends) == ("", "")
    assert b"script" not in msgspec.json.encode(c) and b"ends" not in msgspec.json.encode(c)


# -- alternate numbers ----------------------------------------------------------------------
def test_the_record_s_alternates_go_with_its_contact():
    desk = run(Desk(), PREVIEWING + """
        preview 1001 c-1 skip
        last 1001 c-2 ani=5550102 status=preview
    """)
    assert desk.last("1001", "c-1").alternates == ["5550111", "5550121"]
    assert desk.last("1001", "c-2").alternates == []


def test_a_call_to_an_alternate_dials_it_and_the_attempt_says_so():
    desk = run(Desk(), PREVIEWING + """
        preview 1001 c-1 call 5550121
        told 1001 contact:dialing
        last 1001 c-1 status=dialing ani=5550121
        record spring 0 dialing
        call 1001 c-1 answered
        last 1001 c-1 status=assigned ani=5550121
    """)
    assert desk.last("1001", "c-1").alternates == ["5550111", "5550121"]
    [attempt] = desk.records("spring")[0]["attempts"]
    assert (attempt["number"], attempt["outcome"]) == ("5550121", "answered")
    assert desk.engine.contact_info("c-1")["ani"] == "5550121"
    assert desk.records("spring")[0]["number"] == "5550101"        # the record's own stays


def test_a_call_to_the_record_s_own_number_by_name_records_no_alternate():
    desk = run(Desk(), PREVIEWING + """
        preview 1001 c-1 call 5550101
        last 1001 c-1 status=dialing ani=5550101
    """)
    assert "number" not in desk.records("spring")[0]["attempts"][0]


def test_a_call_to_a_number_not_the_record_s_is_refused():
    desk = run(Desk(), PREVIEWING)
    e = desk.refusal(desk.engine.preview, "1001", "c-1", "call", "5550199")
    assert e.code == "not_allowed" and "not one of the record's numbers" in e.message
    run(desk, """
        told 1001
        contact c-1 preview 1001
        record spring 0 previewing
        preview 1001 c-1 call 5550102 !not_allowed
        preview 1001 c-1 call 5550111
        last 1001 c-1 ani=5550111
    """)


# -- the call limit -------------------------------------------------------------------------
def test_a_preview_call_at_the_call_limit_is_refused():
    desk = run(Desk(call_limit="1"), """
        hello 1002
        dial 1002 5550199 5550199 c-1
        contact c-1 dialing 1002
        hello 1001
        available 1001
        start spring
        contact c-2 preview 1001
    """)
    e = desk.refusal(desk.engine.preview, "1001", "c-2", "call")
    assert (e.code, e.message) == ("call_limit", "call limit reached (1 calls)")
    run(desk, """
        contact c-2 preview 1001
        record spring 0 previewing
        call 1002 c-1 answered
        preview 1001 c-2 call !call_limit
        call 1002 c-1 ended
        preview 1001 c-2 call
        contact c-2 dialing 1001
        wrapup 1002 c-1 sale
        dial 1002 5550100 !call_limit
    """)


def test_the_countdown_s_call_at_the_call_limit_leaves_the_record_in_preview():
    desk = run(Desk(call_limit="1", timeout_action="call"), """
        hello 1002
        dial 1002 5550199 5550199 c-1
        call 1002 c-1 answered
        hello 1001
        available 1001
        start spring
        contact c-2 preview 1001
        wait 30
        contact c-2 preview 1001
        record spring 0 previewing
    """)
    c = desk.last("1001", "c-2")
    assert (c.status, c.expires_at) == ("preview", 0)          # no countdown any more
    assert desk.messages("1001", p.Notice)[-1].text == (
        "Not called: call limit reached (1 calls)")
    run(desk, """
        wait 60
        contact c-2 preview 1001
        call 1002 c-1 ended
        preview 1001 c-2 call
        contact c-2 dialing 1001
    """)


# -- reschedule -----------------------------------------------------------------------------
def test_a_reschedule_is_taken_and_the_record_waits_for_its_time():
    desk = run(Desk(), TALKING + """
        reschedule 1001 c-1 2023-11-20T10:30
        told 1001 contact:assigned
        record spring 0 dialing
    """)
    c = desk.last("1001", "c-1")
    assert (c.rescheduled, c.status) == ("2023-11-20T10:30", "assigned")
    recall = at_madrid("2023-11-20T10:30")
    r = desk.records("spring")[0]
    assert (r["not_before"], r["rescheduled"]) == (recall, "2023-11-20T10:30")
    assert desk.engine.contact_info("c-1")["rescheduled"] == "2023-11-20T10:30"
    # wrapped up (the disposition still owed): back in the list, not before its time
    run(desk, """
        call 1001 c-1 ended
        told 1001 contact:ended contact:wrapup agent_state:wrapup
        last 1001 c-1 status=wrapup
        wrapup 1001 c-1 callback
        record spring 0 pending
        last 1001 c-2 status=preview customer=Tom_Becker
        preview 1001 c-2 remove
        told 1001 contact:wrapped_up agent_state:available contact:preview agent_state:reserved
        told 1001 contact:removed agent_state:available
        told 1001
        agent 1001 available
    """)
    assert desk.last("1001", "c-1").rescheduled == "2023-11-20T10:30"     # wrapped_up
    r = desk.records("spring")[0]
    assert (r["state"], r["not_before"], r["disposition"]) == ("pending", recall, None)
    assert r["attempts"][0]["disposition"] == "callback"
    assert desk.engine.campaigns_info()[0]["counts"]["pending"] == 1
    desk.run(f"wait {recall - desk.clock.now - 1}")
    run(desk, """
        told 1001
        available 1001
        agent 1001 available
        wait 1
        told 1001 contact:preview agent_state:reserved
        last 1001 c-3 status=preview ani=5550101 customer=Ana_Ruiz
        record spring 0 previewing
    """)
    assert desk.last("1001", "c-3").rescheduled == ""
    # called again and wrapped up without a reschedule: done
    run(desk, """
        preview 1001 c-3 call
        call 1001 c-3 answered
        call 1001 c-3 ended
        wrapup 1001 c-3 sold
        record spring 0 done sold
    """)
    r = desk.records("spring")[0]
    assert (r["not_before"], r["rescheduled"], len(r["attempts"])) == (None, None, 2)


def test_a_reschedule_in_the_wrap_up_or_while_dialing_and_a_second_one_replaces_it():
    desk = run(Desk(), PREVIEWING + """
        preview 1001 c-1 call
        reschedule 1001 c-1 2023-11-20T10:30
        fail 1001 c-1 no answer
        reschedule 1001 c-1 2023-11-21T09:00
        last 1001 c-1 status=wrapup
        wrapup 1001 c-1 callback
        record spring 0 pending
    """)
    assert desk.records("spring")[0]["not_before"] == at_madrid("2023-11-21T09:00")
    assert desk.records("spring")[0]["attempts"][0]["outcome"] == "no answer"


def test_a_do_not_call_disposition_wins_over_a_reschedule():
    desk = run(Desk(), TALKING + """
        reschedule 1001 c-1 2023-11-20T10:30
        call 1001 c-1 ended
        wrapup 1001 c-1 do_not_call
        record spring 0 done do_not_call
    """)
    assert desk.records("spring")[0]["not_before"] is None


@pytest.mark.parametrize("at,rule", [
    ("2023-11-14T23:00", "In the past"),               # 22:00 UTC: before the clock's 22:13
    ("2024-07-01T09:00", "After the campaign's end"),
    ("2023-11-20 10:30", "Not a date and time"),
    ("2023-11-20T10:30:00", "Not a date and time"),
    ("2023-02-30T10:00", "Not a date and time"),
    ("tomorrow", "Not a date and time"),
    ("", "Not a date and time"),
    ("2024-03-31T02:30", "Not a time there (DST)"),      # Madrid skips 02:00-03:00
])
def test_a_reschedule_breaking_a_rule_is_refused_bad_value(at, rule):
    desk = run(Desk(), TALKING)
    e = desk.refusal(desk.engine.reschedule, "1001", "c-1", at)
    assert (e.code, e.message) == ("bad_value", rule)
    run(desk, "told 1001")
    assert desk.records("spring")[0]["not_before"] is None
    assert desk.last("1001", "c-1").rescheduled == ""


def test_the_campaign_s_last_day_itself_is_fine_and_the_record_s_own_zone_counts():
    desk = run(Desk(), TALKING + "reschedule 1001 c-1 2024-06-30T20:00")
    assert desk.last("1001", "c-1").rescheduled == "2024-06-30T20:00"
    # Tom Becker's zone is New York's: its DST gap is another night than Madrid's
    run(desk, """
        call 1001 c-1 ended
        wrapup 1001 c-1 callback
        preview 1001 c-2 call
        reschedule 1001 c-2 2024-03-31T02:30
    """)
    e = desk.refusal(desk.engine.reschedule, "1001", "c-2", "2024-03-10T02:30")
    assert e.message == "Not a time there (DST)"
    recall = datetime(2024, 3, 31, 2, 30, tzinfo=ZoneInfo("America/New_York")).timestamp()
    assert desk.records("spring")[1]["not_before"] == recall


def test_only_the_agent_s_campaign_record_on_its_call_or_wrap_up_is_rescheduled():
    run(Desk(), PREVIEWING + """
        reschedule 1001 c-1 2023-11-20T10:30 !not_allowed
        reschedule 1001 c-9 2023-11-20T10:30 !unknown_contact
        hello 1002
        reschedule 1002 c-1 2023-11-20T10:30 !unknown_contact
        preview 1001 c-1 skip
        post support
        available 1002
        call 1002 c-3 answered
        contact c-3 assigned 1002
        reschedule 1002 c-3 2023-11-20T10:30 !not_allowed
    """)


def test_recall_time_rules():
    now = 1_700_000_000.0
    assert recall_time("2023-11-15T00:00", "UTC", "", now) == datetime(
        2023, 11, 15, tzinfo=UTC).timestamp()
    assert recall_time("2099-01-01T00:00", "UTC", "", now) > now      # no end: any day
    # the hour a DST end repeats: its first time
    first = recall_time("2024-10-27T02:30", "Europe/Madrid", "", now)
    assert first == datetime(2024, 10, 27, 0, 30, tzinfo=UTC).timestamp()
    with pytest.raises(ValueError, match="In the past"):
        recall_time("2023-11-14T22:13", "UTC", "", now)


def test_a_restart_keeps_the_recall(tmp_path):
    db = tmp_path / "cc.db"
    first = run(Desk(db=db), TALKING + """
        reschedule 1001 c-1 2023-11-20T10:30
        call 1001 c-1 ended
        wrapup 1001 c-1 callback
        preview 1001 c-2 remove
        agent 1001 available
    """)
    first.store.close()
    recall = at_madrid("2023-11-20T10:30")
    second = run(Desk(db=db, clock=first.clock), """
        record spring 0 pending
        agent 1001 available
        told 1001
    """)
    r = second.records("spring")[0]
    assert (r["not_before"], r["rescheduled"]) == (recall, "2023-11-20T10:30")
    assert second.engine.next_deadline() == recall
    second.run(f"wait {recall - second.clock.now}")
    run(second, """
        told 1001 contact:preview agent_state:reserved
        last 1001 c-3 ani=5550101 customer=Ana_Ruiz
    """)


def test_a_reschedule_on_the_contact_survives_a_restart_before_the_wrap_up(tmp_path):
    db = tmp_path / "cc.db"
    first = run(Desk(db=db), TALKING + """
        reschedule 1001 c-1 2023-11-20T10:30
        call 1001 c-1 ended
    """)
    first.store.close()
    second = run(Desk(db=db, clock=first.clock), """
        contact c-1 wrapup 1001
        wrapup 1001 c-1 sold
        record spring 0 pending
    """)
    assert second.records("spring")[0]["not_before"] == at_madrid("2023-11-20T10:30")


def test_the_dialer_skips_a_record_until_its_recall():
    desk = dialer.run(dialer.Desk(records='records = [{name = "Ana Ruiz", number = "5550101"}]'),
                      """
        hello 1001
        available 1001
        start winter
        dials c-1.c:5550101
        bridge c-1.c answered
        bridge c-1.a1 answered
        contact c-1 assigned 1001
    """)
    desk.engine.reschedule("1001", "c-1", "2023-11-15T09:00")     # the campaign's zone: UTC
    dialer.run(desk, """
        call 1001 c-1 ended
        wrapup 1001 c-1 sold
        record 0 pending
        dials
        wait 30000
        dials
    """)
    recall = datetime(2023, 11, 15, 9, tzinfo=UTC).timestamp()
    desk.run(f"wait {recall - desk.clock.now}")
    dialer.run(desk, "dials c-2.c:5550101")


# -- the record's fields --------------------------------------------------------------------
def test_an_editable_field_is_saved_on_the_contact_and_the_record():
    desk = run(Desk(), TALKING + """
        set 1001 c-1 product Fibre_1000 1
        told 1001 contact:assigned
        set 1001 c-1 product Mobile_S 1 !variable_changed
        set 1001 c-1 account A-9 1 !not_editable
        set 1001 c-1 customer X 1 !not_editable
        set 1001 c-1 since yesterday 1 !bad_value
        set 1001 c-1 since 2019-04-01 1
    """)
    c = desk.last("1001", "c-1")
    assert (c.variables["product"], c.versions["product"]) == ("Fibre 1000", 2)
    assert desk.records("spring")[0]["variables"] == {
        "account": "A-1", "product": "Fibre 1000", "since": "2019-04-01"}
    # in the wrap-up too; the next attempt (a reschedule's) shows the values
    run(desk, """
        reschedule 1001 c-1 2023-11-15T09:00
        call 1001 c-1 ended
        set 1001 c-1 product TV_Plus 2
        wrapup 1001 c-1 callback
        set 1001 c-1 product TV 3 !unknown_contact
        preview 1001 c-2 remove
    """)
    desk.run(f"wait {at_madrid('2023-11-15T09:00') - desk.clock.now}")
    assert desk.last("1001", "c-3").variables == {
        "account": "A-1", "product": "TV Plus", "since": "2019-04-01"}


def test_a_field_is_not_edited_in_preview_and_the_record_keeps_it_across_a_restart(tmp_path):
    db = tmp_path / "cc.db"
    first = run(Desk(db=db), PREVIEWING + """
        set 1001 c-1 product TV 1 !unknown_contact
        preview 1001 c-1 call
        set 1001 c-1 product TV 1
    """)
    first.store.close()
    second = Desk(db=db, clock=first.clock)
    assert second.records("spring")[0]["variables"]["product"] == "TV"


# -- the scenario ---------------------------------------------------------------------------
@pytest.mark.parametrize("old,new,error", [
    ('ends = "2024-06-30"', 'ends = "2024-02-30"', "campaigns[0].ends: expected a date"),
    ('ends = "2024-06-30"', 'ends = "30/06/2024"', "campaigns[0].ends: expected a date"),
    ('ends = "2024-06-30"', 'ends = 2024-06-30', "campaigns[0].ends: expected a string"),
    ('alternates = ["5550111", "5550121"]', 'alternates = ["5550101"]',
     "campaigns[0].records[0].alternates[0]: '5550101' is the record's number"),
    ('alternates = ["5550111", "5550121"]', 'alternates = ["5550111", "5550111"]',
     "campaigns[0].records[0].alternates[1]"),
    ('alternates = ["5550111", "5550121"]', 'alternates = ["1", "2", "3", "4", "5", "6"]',
     "campaigns[0].records[0].alternates: at most 5 numbers, got 6"),
    ('alternates = ["5550111", "5550121"]', 'alternates = "5550111"',
     "campaigns[0].records[0].alternates: expected a list of strings"),
    ('editable = true}', 'editable = "yes"}', "campaigns[0].fields[1].editable: expected true"),
    ('kind = "date"', 'kind = "money"', "campaigns[0].fields[2].kind: one of text, date"),
])
def test_scenario_mistakes(old, new, error):
    text = base.SCENARIO.format(settings="") + campaign()
    assert old in text
    with pytest.raises(ScenarioError, match=error.replace("[", r"\[").replace("]", r"\]")):
        parse(text.replace(old, new, 1), "test.toml")


def test_a_script_too_long_or_with_control_characters_is_refused():
    text = base.SCENARIO.format(settings="") + previews.campaign()
    ok = text.replace("logout_delay_s = 5", f'logout_delay_s = 5\nscript = "{"x" * 4000}"')
    assert parse(ok, "t.toml").campaigns[0].script == "x" * 4000
    with pytest.raises(ScenarioError, match=r"campaigns\[0\].script: 4001 characters, at most"):
        parse(ok.replace('"x', '"xx'), "t.toml")
    with pytest.raises(ScenarioError, match=r"campaigns\[0\].script: a control character"):
        parse(text.replace("logout_delay_s = 5", 'logout_delay_s = 5\nscript = "a\\u0007"'),
              "t.toml")


def test_the_demo_s_spring_campaign_has_a_script_an_end_an_editable_field_and_an_alternate():
    from tools.ccsim.scenario import load
    s = load("tools/ccsim/scenarios/demo.toml")
    c = next(c for c in s.campaigns if c.id == "spring")
    assert "\n" in c.script and len(c.script) <= p.MAX_SCRIPT_CHARS
    assert c.ends == "2099-12-31"
    assert [f.name for f in c.fields if f.editable] == ["product"]
    alternates = [a for r in c.records for a in r.alternates]
    assert alternates and set(alternates) <= set(s.customers.answer)


# -- the server: a phone's preview call to an alternate and its reschedule ---------------------
def test_a_phone_calls_an_alternate_and_reschedules_over_the_websocket(tmp_path):
    scenario = parse(base.SCENARIO.format(settings="") + campaign(ends="2099-12-31"),
                     "test.toml")

    async def scenario_run():
        server = CcServer(scenario, tmp_path / "cc.db")
        ws_url, api = await server.start("127.0.0.1", 0)
        try:
            async with aiohttp.ClientSession() as http, http.ws_connect(ws_url) as ws:
                async def send(message):
                    await ws.send_str(p.encode(message))

                async def receive(kind):
                    while True:
                        m = p.decode_server(await ws.receive_str(timeout=5))
                        if isinstance(m, kind):
                            return m

                await send(p.Hello(id="h", agent="1001", pin="1234"))
                [c] = (await receive(p.Snapshot)).campaigns
                assert (c.script, c.ends) == (SCRIPT, "2099-12-31")
                await send(p.SetState(id="s", state="available"))
                await receive(p.Ack)
                async with http.post(api + "/campaigns/spring/start") as r:
                    assert r.status == 200
                contact = (await receive(p.ContactUpdate)).contact
                assert contact.alternates == ["5550111", "5550121"]
                await send(p.Preview(id="x", contact=contact.id, action="call",
                                     number="5550199"))
                assert (await receive(p.Error)).code == "not_allowed"
                await send(p.Preview(id="p", contact=contact.id, action="call",
                                     number="5550111"))
                assert (await receive(p.Ack)).id == "p"
                dialing = (await receive(p.ContactUpdate)).contact
                assert (dialing.status, dialing.ani) == ("dialing", "5550111")
                await send(p.Reschedule(id="r1", contact=contact.id, at="2000-01-01T10:00"))
                error = await receive(p.Error)
                assert (error.id, error.code, error.message) == ("r1", "bad_value",
                                                                 "In the past")
                await send(p.Reschedule(id="r2", contact=contact.id, at="2099-06-01T10:00"))
                assert (await receive(p.Ack)).id == "r2"
                assert (await receive(p.ContactUpdate)).contact.rescheduled == (
                    "2099-06-01T10:00")
                async with http.get(api + "/campaigns/spring") as r:
                    shown = await r.json()
                first = shown["records"][0]
                assert (first["rescheduled"], first["not_before"]) == (
                    "2099-06-01T10:00", at_madrid("2099-06-01T10:00"))
                assert first["attempts"][0]["number"] == "5550111"
                assert first["alternates"] == ["5550111", "5550121"]
        finally:
            await server.stop()

    asyncio.run(scenario_run())
