"""ccsim's preview campaigns (docs/cc-protocol.md, "Campaigns"; tools/ccsim/campaigns.py),
driven like test_ccsim_engine.py: the phones' requests, the admin's start and stop, the clock.

More script lines (besides test_ccsim_engine's):
    start CAMPAIGN | stop CAMPAIGN | preview A C ACTION
    fail A C REASON...                       -- the phone's call ended before an answer
    record CAMPAIGN INDEX STATE [DISPOSITION] -- a record's state now
    order CAMPAIGN INDEX...                   -- the campaign's list order now
    last A C FIELD=VALUE ...                  -- the latest contact event A got for C: status,
                                                 ani, campaign, customer, failed (_ for spaces)
"""
import asyncio
import json

import aiohttp
import pytest

from firmware.cc import protocol as p
from tests.unit import test_ccsim_engine as base
from tools.ccsim.engine import Engine
from tools.ccsim.scenario import ScenarioError, parse
from tools.ccsim.server import CcServer
from tools.ccsim.store import Store

CAMPAIGN = """
[[campaigns]]
id = "spring"
name = "Spring offer"
mode = "preview"
agents = ["1001", "1002"]
started = {started}
preview_s = {preview_s}
timeout_action = "{timeout_action}"
skip = {skip}
remove = {remove}
logout_delay_s = 5
dispositions = [{{code = "sold", label = "Sold"}}, {{code = "no_sale", label = "No sale"}},
                {{code = "busy", label = "Busy"}}, {{code = "no_answer", label = "No answer"}}]
fields = [{{name = "account", label = "Account"}}, {{name = "product", label = "Product"}}]
records = [
    {{name = "Ana Ruiz", number = "5550101", variables = {{account = "A-1", product = "Fibre"}}}},
    {{name = "Tom Becker", number = "5550102", variables = {{account = "A-2"}}}},
    {{name = "Mei Chen", number = "5550103"}},
]
"""
RULES = {"started": "false", "preview_s": "30", "timeout_action": "skip", "skip": "true",
         "remove": "true"}


def campaign(**rules) -> str:
    return CAMPAIGN.format(**{**RULES, **rules})


class Desk(base.Desk):
    def __init__(self, db=":memory:", clock=None, settings="", **rules):
        self.scenario = parse(base.SCENARIO.format(settings=settings) + campaign(**rules),
                              "test.toml")
        self.clock, self.customers = clock or base.Clock(), base.Customers()
        self.store = Store(db)
        self.engine = Engine(self.scenario, self.store, self.clock, self.customers)
        self.sent, self.seen, self.customers_seen = {}, {}, 0
        self.drain()

    def step(self, op, *a):
        e = self.engine
        if op == "start":
            assert e.start_campaign(a[0])
        elif op == "stop":
            assert e.stop_campaign(a[0])
        elif op == "preview":
            e.preview(*a)
        elif op == "fail":
            e.call_event(a[0], a[1], "ended", "customer", " ".join(a[2:]))
        elif op == "record":
            r = self.records(a[0])[int(a[1])]
            assert [r["state"], r["disposition"]][:len(a) - 2] == list(a[2:]), r
        elif op == "order":
            got = [str(r["index"]) for r in e.campaign_info(a[0])["records"]]
            assert got == list(a[1:]), got
        elif op == "last":
            m = self.last(a[0], a[1])
            fields = {"status": m.status, "ani": m.ani, "campaign": m.campaign,
                      "customer": m.customer, "failed": m.failed, "kind": m.kind}
            for item in a[2:]:
                key, value = item.split("=", 1)
                assert fields[key] == value.replace("_", " "), (item, m)
        else:
            super().step(op, *a)

    def records(self, campaign_id) -> dict[int, dict]:
        return {r["index"]: r for r in self.engine.campaign_info(campaign_id)["records"]}

    def last(self, agent, contact) -> p.Contact:
        return [m.contact for m in self.sent.get(agent, [])
                if isinstance(m, p.ContactUpdate) and m.contact.id == contact][-1]

    def messages(self, agent, kind):
        return [m for m in self.sent.get(agent, []) if isinstance(m, kind)]


run = base.play


# 1001 Available in the started campaign: record 0 (Ana Ruiz) in preview as c-1
PREVIEWING = """
    hello 1001
    available 1001
    start spring
    told 1001 agent_state:available campaign notice contact:preview agent_state:reserved
    contact c-1 preview 1001
    record spring 0 previewing
"""


def test_the_snapshot_lists_the_agents_campaigns():
    desk = run(Desk(), "hello 1001\nhello 1003")
    [c] = desk.engine.snapshot("1001").campaigns
    assert c == p.Campaign(
        id="spring", name="Spring offer", mode="preview", status="stopped", preview_s=30.0,
        timeout_action="skip", skip=True, remove=True, cancel=False,
        dispositions=[p.Code("sold", "Sold"), p.Code("no_sale", "No sale"),
                      p.Code("busy", "Busy"), p.Code("no_answer", "No answer")],
        fields=[p.VariableLayout("account", "Account"), p.VariableLayout("product", "Product")])
    assert desk.engine.snapshot("1003").campaigns == []          # not assigned
    desk.run("start spring")
    assert desk.engine.snapshot("1001").campaigns[0].status == "started"


def test_a_start_tells_the_agents_and_previews_to_the_available_one_only():
    desk = run(Desk(), """
        hello 1001
        hello 1002
        hello 1003
        available 1001
        start spring
        told 1001 agent_state:available campaign notice contact:preview agent_state:reserved
        told 1002 campaign notice
        told 1003
        agent 1001 reserved
        agent 1002 idle login
    """)
    [notice] = desk.messages("1001", p.Notice)
    assert notice.text == "Campaign Spring offer started, you are assigned"
    assert desk.messages("1001", p.CampaignUpdate)[0].campaign.status == "started"
    c = desk.last("1001", "c-1")
    assert (c.kind, c.status, c.campaign, c.customer, c.ani, c.queue) == (
        "campaign", "preview", "spring", "Ana Ruiz", "5550101", "")
    assert c.variables == {"account": "A-1", "product": "Fibre"}
    assert c.expires_at == desk.clock.now + 30
    run(desk, """
        available 1002
        told 1002 agent_state:available contact:preview agent_state:reserved
        last 1002 c-2 ani=5550102 customer=Tom_Becker
        stop spring
        told 1001 campaign
        told 1002 campaign
        contact c-1 preview 1001
    """)


def test_call_answered_ended_wrapped_up_with_a_disposition_then_the_next_record():
    desk = run(Desk(), PREVIEWING + """
        preview 1001 c-1 call
        told 1001 contact:dialing
        agent 1001 reserved
        record spring 0 dialing
        call 1001 c-1 answered
        told 1001 contact:assigned agent_state:talking
        call 1001 c-1 ended
        told 1001 contact:ended contact:wrapup agent_state:wrapup
        wrapup 1001 c-1 sale !unknown_code
        wrapup 1001 c-1 sold
        told 1001 contact:wrapped_up agent_state:available contact:preview agent_state:reserved
        record spring 0 done sold
        contact c-1 wrapped_up
        last 1001 c-2 status=preview ani=5550102 customer=Tom_Becker campaign=spring
    """)
    [attempt] = desk.records("spring")[0]["attempts"]
    assert attempt == {"at": desk.clock.now, "agent": "1001", "outcome": "answered",
                       "disposition": "sold"}
    info = desk.engine.contact_info("c-1")
    assert (info["kind"], info["campaign"], info["customer"], info["failed"]) == (
        "campaign", "spring", "Ana Ruiz", None)


def test_an_inbound_contact_waits_for_a_preview_and_comes_before_the_next_record():
    run(Desk(), PREVIEWING + """
        post sales
        contact c-2 queued
        preview 1001 c-1 skip
        told 1001 contact:skipped agent_state:available contact:reserved agent_state:reserved
        contact c-2 reserved 1001
    """)


def test_skip_hands_out_the_next_record_and_the_skipped_one_comes_back_last():
    desk = run(Desk(), PREVIEWING + """
        preview 1001 c-1 skip
        told 1001 contact:skipped agent_state:available contact:preview agent_state:reserved
        record spring 0 pending
        order spring 1 2 0
        last 1001 c-2 ani=5550102
        preview 1001 c-2 skip
        last 1001 c-3 ani=5550103
        preview 1001 c-3 skip
        last 1001 c-4 ani=5550101 customer=Ana_Ruiz
        order spring 0 1 2
    """)
    assert desk.records("spring")[0]["attempts"] == []          # a skip is no attempt


def test_remove_takes_the_record_out_for_good():
    run(Desk(), PREVIEWING + """
        preview 1001 c-1 remove
        told 1001 contact:removed agent_state:available contact:preview agent_state:reserved
        record spring 0 removed
        preview 1001 c-2 remove
        preview 1001 c-3 remove
        told 1001 contact:removed agent_state:available contact:preview agent_state:reserved
        told 1001 contact:removed agent_state:available
        told 1001
        agent 1001 available
    """)


def test_refusals():
    run(Desk(skip="false", remove="false"), PREVIEWING + """
        preview 1001 c-1 skip !not_allowed
        preview 1001 c-1 remove !not_allowed
        preview 1001 c-9 call !unknown_contact
        hello 1002
        preview 1002 c-1 call !unknown_contact
        accept 1001 c-1 !not_allowed
        preview 1001 c-1 call
        preview 1001 c-1 call !not_allowed
        preview 1001 c-1 skip !not_allowed
    """)


@pytest.mark.parametrize("action,told,state", [
    ("skip", "contact:skipped", "pending"),
    ("remove", "contact:removed", "removed"),
])
def test_the_preview_running_out_skips_or_removes(action, told, state):
    run(Desk(timeout_action=action, skip="false", remove="false"), PREVIEWING + f"""
        wait 29.5
        told 1001
        wait 0.5
        told 1001 {told} agent_state:available contact:preview agent_state:reserved
        record spring 0 {state}
        last 1001 c-2 ani=5550102
    """)


def test_the_preview_running_out_calls():
    run(Desk(timeout_action="call"), PREVIEWING + """
        wait 30
        told 1001 contact:dialing
        record spring 0 dialing
        call 1001 c-1 answered
        told 1001 contact:assigned agent_state:talking
    """)


def test_no_countdown_without_preview_s():
    desk = run(Desk(preview_s="0"), PREVIEWING + """
        wait 3600
        told 1001
        contact c-1 preview 1001
    """)
    assert desk.last("1001", "c-1").expires_at == 0


def test_a_failed_attempt_is_wrapped_up_with_a_disposition_and_counted():
    desk = run(Desk(), PREVIEWING + """
        preview 1001 c-1 call
        fail 1001 c-1 busy (486)
        told 1001 contact:dialing contact:ended contact:wrapup agent_state:wrapup
        last 1001 c-1 status=wrapup failed=busy_(486)
        wrapup 1001 c-1 sale !unknown_code
        wrapup 1001 c-1 busy
        record spring 0 done busy
        last 1001 c-2 status=preview failed=
    """)
    [attempt] = desk.records("spring")[0]["attempts"]
    assert attempt["outcome"] == "busy (486)"
    assert desk.engine.contact_info("c-1")["failed"] == "busy (486)"


def test_a_call_nobody_reports_fails_no_answer_after_the_dial_give_up():
    run(Desk(), PREVIEWING + """
        preview 1001 c-1 call
        wait 90
        told 1001 contact:dialing contact:ended contact:wrapup agent_state:wrapup
        last 1001 c-1 failed=no_answer
    """)


def test_a_logout_is_negotiated_the_preview_withdrawn():
    desk = run(Desk(), PREVIEWING + """
        logout 1001 shift
        told 1001 contact:withdrawn agent_state:idle
        agent 1001 idle pending=logged_out/shift
        record spring 0 pending
        wait 4
        told 1001
        agent 1001 idle pending=logged_out/shift
        post sales
        contact c-2 queued
        wait 1
        told 1001 logged_out
        agent 1001 logged_out
    """)
    state = desk.messages("1001", p.AgentState)[-1]
    assert state.pending == p.Pending("logged_out", "shift", at=desk.clock.now)


def test_a_logout_waits_for_the_call_and_its_wrapup():
    desk = run(Desk(), PREVIEWING + """
        preview 1001 c-1 call
        call 1001 c-1 answered
        logout 1001
        told 1001 contact:dialing contact:assigned agent_state:talking agent_state:talking
        agent 1001 talking pending=logged_out/
        wait 60
        told 1001
        call 1001 c-1 ended
        wrapup 1001 c-1 sold
        told 1001 contact:ended contact:wrapup agent_state:wrapup contact:wrapped_up logged_out
        record spring 1 pending
    """)
    assert desk.engine.agent_info("1001")["pending"] is None


def test_a_call_over_before_its_time_logs_out_no_sooner():
    run(Desk(), PREVIEWING + """
        preview 1001 c-1 call
        logout 1001
        fail 1001 c-1 no answer
        wrapup 1001 c-1 no_answer
        told 1001 contact:dialing agent_state:reserved contact:ended contact:wrapup
        told 1001 agent_state:wrapup contact:wrapped_up agent_state:idle
        wait 4.9
        told 1001
        wait 0.1
        told 1001 logged_out
        record spring 1 pending
    """)


def test_an_inbound_offer_still_refuses_a_logout_and_a_stopped_campaign_negotiates_none():
    run(Desk(), """
        hello 1001
        start spring
        post sales
        available 1001
        contact c-1 reserved 1001
        logout 1001 !not_allowed
        stop spring
        call 1001 c-1 answered
        logout 1001
        agent 1001 talking pending=logged_out/
    """)


def test_a_login_is_told_of_the_started_campaigns_after_its_snapshot():
    desk = Desk(started="true")
    snapshot = desk.engine.hello("1001", "1234")
    desk.drain()
    [notice] = desk.messages("1001", p.Notice)
    assert notice.text == "Campaign Spring offer started, you are assigned"
    assert notice.seq == snapshot.seq + 1 and snapshot.campaigns[0].status == "started"
    desk.engine.hello("1001", "1234", resume=snapshot.session)
    desk.drain()
    assert len(desk.messages("1001", p.Notice)) == 1              # a resume: none again


def test_a_restart_keeps_the_records_and_hands_out_none_twice(tmp_path):
    db = tmp_path / "cc.db"
    first = run(Desk(db=db), PREVIEWING + """
        hello 1002
        available 1002
        preview 1002 c-2 call
        record spring 1 dialing
    """)
    first.store.close()

    second = run(Desk(db=db, clock=first.clock), """
        record spring 0 previewing
        record spring 1 dialing
        record spring 2 pending
        contact c-1 preview 1001
        contact c-2 dialing 1002
        agent 1001 reserved
        preview 1001 c-1 skip
        last 1001 c-3 ani=5550103
        call 1002 c-2 answered
        call 1002 c-2 ended
        wrapup 1002 c-2 sold
        record spring 1 done sold
        last 1002 c-4 ani=5550101
    """)
    assert second.engine.snapshot("1001").campaigns[0].status == "started"   # the database's
    assert len(second.records("spring")[1]["attempts"]) == 1


def test_a_negotiated_logout_survives_a_restart(tmp_path):
    db = tmp_path / "cc.db"
    first = run(Desk(db=db), PREVIEWING + "logout 1001")
    first.store.close()
    second = run(Desk(db=db, clock=first.clock), """
        agent 1001 idle pending=logged_out/
        wait 5
        agent 1001 logged_out
    """)
    assert second.engine.next_deadline() is None


def test_a_progressive_campaign_needs_the_bridge_to_start():
    text = base.SCENARIO.format(settings="") + campaign().replace(
        'mode = "preview"', 'mode = "progressive"')
    engine = Engine(parse(text, "t.toml"), Store(":memory:"), base.Clock())
    engine.hello("1001", "1234")
    engine.set_state("1001", "available")
    with pytest.raises(ValueError, match="dialed by the media bridge"):
        engine.start_campaign("spring")
    assert engine.snapshot("1001").contacts == []
    assert engine.campaigns_info()[0]["mode"] == "progressive"


@pytest.mark.parametrize("old,new,error", [
    ('agents = ["1001", "1002"]', 'agents = ["1001", "9999"]',
     "campaigns[0].agents: unknown agent '9999'"),
    ('timeout_action = "skip"', 'timeout_action = "dial"',
     "campaigns[0].timeout_action: one of skip, remove, call"),
    ('mode = "preview"', 'mode = "robo"', "campaigns[0].mode: one of preview"),
    ('preview_s = 30', 'preview_s = -1', "campaigns[0].preview_s: must be >= 0"),
    ("remove = true", "remove = true\nbogus = 1", "campaigns[0]: unknown field 'bogus'"),
])
def test_scenario_mistakes(old, new, error):
    text = base.SCENARIO.format(settings="") + campaign()
    with pytest.raises(ScenarioError, match=error.replace("[", r"\[").replace("]", r"\]")):
        parse(text.replace(old, new, 1), "test.toml")


def test_scenario_needs_dispositions_and_unique_ids():
    text = base.SCENARIO.format(settings="") + campaign()
    start = text.index("dispositions = [")
    end = text.index("fields = [")
    with pytest.raises(ScenarioError, match=r"campaigns\[0\].dispositions: at least one"):
        parse(text[:start] + "dispositions = []\n" + text[end:], "test.toml")
    with pytest.raises(ScenarioError, match=r"campaigns\[1\].id: duplicate 'spring'"):
        parse(text + campaign(), "test.toml")


def test_the_demo_has_a_preview_campaign_not_started():
    from tools.ccsim.scenario import load
    s = load("tools/ccsim/scenarios/demo.toml")
    c = next(c for c in s.campaigns if c.id == "spring")
    assert (c.mode, c.started, len(c.records)) == ("preview", False, 5)
    assert {"sale", "no_sale", "callback", "no_answer", "busy", "answering_machine",
            "do_not_call"} <= {d.code for d in c.dispositions}
    called = set(s.customers.answer) | set(s.customers.refuse) | set(s.customers.ring)
    assert all(r.number in called for r in c.records)


# -- the server: the admin API and a phone's preview over the WebSocket ---------------------
def test_admin_api_and_a_phone_previewing(tmp_path):
    scenario = parse(base.SCENARIO.format(settings="") + campaign(preview_s="0"), "test.toml")

    async def scenario_run():
        server = CcServer(scenario, tmp_path / "cc.db")
        ws_url, api = await server.start("127.0.0.1", 0)
        try:
            async with aiohttp.ClientSession() as http:
                async def get(path, status=200):
                    async with http.get(api + path) as r:
                        assert r.status == status, await r.text()
                        return await r.json()

                async def post(path, status=200):
                    async with http.post(api + path) as r:
                        assert r.status == status, await r.text()
                        return await r.json()

                [listed] = (await get("/campaigns"))["campaigns"]
                assert listed == {"id": "spring", "name": "Spring offer", "mode": "preview",
                                  "status": "stopped", "agents": ["1001", "1002"],
                                  "counts": {"pending": 3, "previewing": 0, "dialing": 0,
                                             "done": 0, "removed": 0}}
                await get("/campaigns/nope", 404)
                await post("/campaigns/nope/start", 404)
                async with http.ws_connect(ws_url) as ws:
                    async def send(message):
                        await ws.send_str(p.encode(message))

                    async def receive(kind):
                        while True:
                            m = p.decode_server(await ws.receive_str(timeout=5))
                            if isinstance(m, kind):
                                return m

                    await send(p.Hello(id="h", agent="1001", pin="1234"))
                    assert [c.id for c in (await receive(p.Snapshot)).campaigns] == ["spring"]
                    await send(p.SetState(id="s", state="available"))
                    await receive(p.Ack)
                    shown = await post("/campaigns/spring/start")
                    assert shown["status"] == "started"
                    assert (await receive(p.Notice)).text.startswith("Campaign Spring offer")
                    contact = (await receive(p.ContactUpdate)).contact
                    assert (contact.status, contact.customer) == ("preview", "Ana Ruiz")
                    await send(p.Preview(id="p", contact=contact.id, action="call"))
                    assert (await receive(p.Ack)).id == "p"
                    assert (await receive(p.ContactUpdate)).contact.status == "dialing"
                    await send(p.CallEvent(id="c", contact=contact.id, event="ended",
                                           reason="busy (486)"))
                    wrapup = [(await receive(p.ContactUpdate)).contact for _ in range(2)][1]
                    assert (wrapup.status, wrapup.failed) == ("wrapup", "busy (486)")
                    await send(p.Preview(id="q", contact=contact.id, action="skip"))
                    assert (await receive(p.Error)).code == "not_allowed"
                shown = await get("/campaigns/spring")
                assert shown["counts"]["dialing"] == 1
                first = shown["records"][0]
                assert (first["index"], first["name"], first["number"], first["state"]) == (
                    0, "Ana Ruiz", "5550101", "dialing")
                assert first["attempts"][0]["outcome"] == "busy (486)"
                assert (await post("/campaigns/spring/stop"))["status"] == "stopped"
                events = await get("/agents/1001/events")
                assert any(e["message"]["type"] == "campaign" for e in events["events"])
                assert json.dumps(shown)            # plain JSON all through
        finally:
            await server.stop()

    asyncio.run(scenario_run())
