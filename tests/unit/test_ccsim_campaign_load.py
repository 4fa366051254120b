"""ccsim campaigns: a record with no valid number costs the campaign nothing but itself, and
campaigns (and records) loaded through the admin API (tools/ccsim/campaigns.py,
``load_campaign``, ``append_records``; server.py ``POST /api/campaigns``,
``POST /api/campaigns/<id>/records``)."""
import asyncio
import logging

import aiohttp
import pytest

from firmware.cc import protocol as p
from tests.unit import test_ccsim_campaigns as previews
from tests.unit import test_ccsim_engine as base
from tools.ccsim.engine import Engine
from tools.ccsim.scenario import ScenarioError, parse
from tools.ccsim.server import MAX_ADMIN_BODY, CcServer
from tools.ccsim.store import Store

BAD = 'number = "555 0102"'         # Tom Becker's (record 1's) number, not dialable


def scenario_text(old="", new="", **rules) -> str:
    text = base.SCENARIO.format(settings="") + previews.campaign(**rules)
    assert old in text
    return text.replace(old, new, 1)


class Desk(previews.Desk):
    def __init__(self, text: str, db=":memory:", clock=None):
        self.scenario = parse(text, "test.toml")
        self.clock, self.customers = clock or base.Clock(), base.Customers()
        self.store = Store(db)
        self.engine = Engine(self.scenario, self.store, self.clock, self.customers)
        self.sent, self.seen, self.customers_seen = {}, {}, 0
        self.drain()


# -- a record with no valid number -----------------------------------------------------------
def test_a_bad_number_loads_its_record_done_and_it_is_never_previewed(caplog):
    caplog.set_level(logging.WARNING, "ccsim")
    desk = Desk(scenario_text('number = "5550102"', BAD))
    bad = desk.records("spring")[1]
    assert bad == {"index": 1, "name": "Tom Becker", "number": "555 0102", "alternates": [],
                   "variables": {"account": "A-2"}, "state": "done",
                   "attempts": [{"outcome": "bad_number", "at": desk.clock.now, "agent": ""}],
                   "disposition": "bad_number", "contact": None, "not_before": None,
                   "rescheduled": None}
    assert [w for w in caplog.messages if "record 1 (Tom Becker)" in w and "'555 0102'" in w]
    assert desk.engine.campaigns_info()[0]["counts"] == {
        "pending": 2, "previewing": 0, "dialing": 0, "done": 1, "removed": 0}
    # the good ones are previewed, in turn, skipped round and round: never record 1
    previews.run(desk, previews.PREVIEWING + """
        preview 1001 c-1 skip
        record spring 2 previewing
        preview 1001 c-2 skip
        record spring 0 previewing
        preview 1001 c-3 skip
        record spring 2 previewing
        record spring 1 done bad_number
    """)
    assert {m.contact.customer for m in desk.messages("1001", p.ContactUpdate)} == {
        "Ana Ruiz", "Mei Chen"}


def test_a_bad_number_or_none_with_no_alternate_is_never_called_and_kept_across_a_restart(
        tmp_path):
    text = scenario_text('{name = "Mei Chen", number = "5550103"}', '{name = "Mei Chen"}')
    text = text.replace('number = "5550101"', 'number = "+1 (555) 0101"', 1)
    first = Desk(text, db=tmp_path / "cc.db")
    records = first.records("spring")
    assert [(r["number"], r["state"], r["disposition"]) for r in records.values()] == [
        ("+1 (555) 0101", "done", "bad_number"), ("5550102", "pending", None),
        ("", "done", "bad_number")]
    at = first.clock.now
    first.store.close()
    first.clock.now += 60
    second = Desk(text, db=tmp_path / "cc.db", clock=first.clock)
    assert second.records("spring")[0]["attempts"] == [
        {"outcome": "bad_number", "at": at, "agent": ""}]                # loaded once


def test_a_bad_number_with_a_dialable_alternate_takes_it_and_bad_alternates_are_dropped(
        caplog):
    caplog.set_level(logging.WARNING, "ccsim")
    text = scenario_text('{name = "Tom Becker", number = "5550102", ',
                         '{name = "Tom Becker", number = "555 0102", '
                         'alternates = ["x y", "5550112", "5550122"], ')
    text = text.replace('{name = "Mei Chen", number = "5550103"}',
                        '{name = "Mei Chen", number = "5550103", alternates = ["#?!"]}')
    desk = Desk(text)
    scenario_record = desk.scenario.campaigns[0].records[1]
    assert scenario_record.bad_number == "555 0102" and scenario_record.usable
    records = desk.records("spring")
    assert (records[1]["number"], records[1]["alternates"], records[1]["state"]) == (
        "5550112", ["5550122"], "pending")
    assert (records[2]["number"], records[2]["alternates"]) == ("5550103", [])
    assert any("alternate 'x y' dropped" in w for w in caplog.messages)
    assert any("alternate '#?!' dropped" in w for w in caplog.messages)
    assert any("'555 0102'" in w and "'5550112'" in w for w in caplog.messages)
    previews.run(desk, previews.PREVIEWING + """
        preview 1001 c-1 skip
        last 1001 c-2 customer=Tom_Becker ani=5550112
    """)


def test_everything_else_wrong_with_a_record_is_still_fatal():
    with pytest.raises(ScenarioError, match=r"records\[1\].number: expected a string"):
        parse(scenario_text('number = "5550102"', "number = 5550102"), "test.toml")
    with pytest.raises(ScenarioError, match=r"records\[1\]: unknown field 'phone'"):
        parse(scenario_text('number = "5550102"', 'number = "5550102", phone = "1"'),
              "test.toml")
    with pytest.raises(ScenarioError, match=r"records\[1\].alternates\[1\].*listed twice"):
        parse(scenario_text('number = "5550102"',
                            'number = "5", alternates = ["5550112", "5550112"]'), "test.toml")


# -- the admin API ---------------------------------------------------------------------------
def summer(**over) -> dict:
    body = {"id": "summer", "name": "Summer offer", "mode": "preview", "agents": ["1001"],
            "preview_s": 0, "dispositions": [{"code": "sold", "label": "Sold"}],
            "fields": [{"name": "account", "label": "Account"}],
            "records": [{"name": "Bad Number", "number": "555 0200"},
                        {"name": "Ana Ruiz", "number": "5550201", "variables": {"account": "S-1"}},
                        {"name": "Mei Chen", "number": "5550203", "alternates": ["5550213"]}]}
    return {**body, **over}


class Api:
    def __init__(self, http: aiohttp.ClientSession, url: str):
        self.http, self.url = http, url

    async def get(self, path, status=200):
        async with self.http.get(self.url + path) as r:
            assert r.status == status, await r.text()
            return await r.json()

    async def post(self, path, body=None, status=200, data=None):
        async with self.http.post(self.url + path, json=body, data=data) as r:
            assert r.status == status, await r.text()
            return await r.json()


def serve(db, test, text=None):
    """Run ``test(api, ws_url)`` against a CcServer on ``db``."""
    scenario = parse(text or scenario_text(), "test.toml")

    async def run():
        server = CcServer(scenario, db)
        ws_url, url = await server.start("127.0.0.1", 0)
        try:
            async with aiohttp.ClientSession() as http:
                await test(Api(http, url), ws_url, http)
        finally:
            await server.stop()

    asyncio.run(run())


class Phone:
    def __init__(self, ws):
        self.ws = ws

    async def send(self, message):
        await self.ws.send_str(p.encode(message))

    async def receive(self, kind):
        while True:
            m = p.decode_server(await self.ws.receive_str(timeout=5))
            if isinstance(m, kind):
                return m


def test_post_campaign_loads_it_with_its_bad_records_and_a_restart_keeps_it(tmp_path):
    db = tmp_path / "cc.db"

    async def first(api, _ws, _http):
        shown = await api.post("/campaigns", summer(), 201)
        assert shown["bad_records"] == [
            {"index": 0, "name": "Bad Number", "number": "555 0200",
             "why": shown["bad_records"][0]["why"]}]
        assert "not a number a phone can dial" in shown["bad_records"][0]["why"]
        assert (shown["id"], shown["name"], shown["status"], shown["agents"]) == (
            "summer", "Summer offer", "stopped", ["1001"])
        assert shown["counts"] == {"pending": 2, "previewing": 0, "dialing": 0, "done": 1,
                                   "removed": 0}
        assert shown["dispositions"] == [{"code": "sold", "label": "Sold"}]
        got = await api.get("/campaigns/summer")
        assert got == {k: v for k, v in shown.items() if k != "bad_records"}
        assert got["records"][0]["state"] == "done"
        assert got["records"][0]["disposition"] == "bad_number"
        assert got["records"][2]["alternates"] == ["5550213"]
        assert [c["id"] for c in (await api.get("/campaigns"))["campaigns"]] == [
            "spring", "summer"]
        added = await api.post("/campaigns/summer/records", {"records": [
            {"name": "Tom Becker", "number": "5550204", "alternates": ["bad one", "5550214"],
             "tz": "Europe/Madrid"},
            {"name": "No Number", "number": ""}]})
        assert (added["id"], added["added"]) == ("summer", 2)
        assert added["added_counts"]["pending"] == 1 and added["added_counts"]["done"] == 1
        assert added["counts"]["pending"] == 3 and added["counts"]["done"] == 2
        assert [(b["index"], b["name"], b["number"]) for b in added["bad_records"]] == [
            (4, "No Number", "")]
        await api.post("/campaigns/nope/records", {"records": [{"name": "A", "number": "1"}]},
                       404)
        error = await api.post("/campaigns/summer/records", {"records": []}, 400)
        assert error["error"] == "records: at least one is needed"
        error = await api.post("/campaigns/summer/records",
                               {"records": [{"name": "A", "number": "1", "variables": [1]}]},
                               400)
        assert error["error"].startswith("records[0].variables: expected a table")
        assert len((await api.get("/campaigns/summer"))["records"]) == 5   # nothing added
        await api.post("/campaigns/spring/records",          # the scenario's campaign too
                       {"records": [{"name": "Zoe Lamb", "number": "5550104"}]})

    async def second(api, _ws, _http):
        got = await api.get("/campaigns/summer")
        assert [(r["index"], r["name"], r["state"]) for r in got["records"]] == [
            (0, "Bad Number", "done"), (1, "Ana Ruiz", "pending"), (2, "Mei Chen", "pending"),
            (3, "Tom Becker", "pending"), (4, "No Number", "done")]
        assert got["records"][3]["alternates"] == ["5550214"]
        assert got["records"][0]["attempts"][0]["outcome"] == "bad_number"
        spring = await api.get("/campaigns/spring")
        assert spring["records"][3]["name"] == "Zoe Lamb"
        await api.post("/campaigns", summer(), 409)

    serve(db, first)
    serve(db, second)
    # a scenario that now defines "summer" itself: the scenario's wins
    text = scenario_text() + previews.campaign().replace('id = "spring"', 'id = "summer"', 1) \
        .replace('name = "Spring offer"', 'name = "Scenario summer"', 1)

    async def third(api, _ws, _http):
        assert (await api.get("/campaigns/summer"))["name"] == "Scenario summer"

    serve(db, third, text)


@pytest.mark.parametrize("over,error", [
    ({"mode": "robo"}, "campaign.mode: one of preview, standard_preview, direct_preview, "
                       "progressive, predictive, got 'robo'"),
    ({"agents": ["9999"]}, "campaign.agents: unknown agent '9999'"),
    ({"dispositions": []}, "campaign.dispositions: at least one is needed"),
    ({"preview_s": "30"}, "campaign.preview_s: expected a number"),
    ({"bogus": 1}, "campaign: unknown field 'bogus'"),
    ({"name": "\ud800"}, "not valid Unicode"),
    ({"records": [{"number": "5550201"}]}, "campaign.records[0].name: missing"),
    ({"mode": "progressive", "started": True}, "dialed by the media bridge"),
])
def test_post_campaign_refuses_what_the_scenario_refuses(tmp_path, over, error):
    async def test(api, _ws, _http):
        got = await api.post("/campaigns", summer(**over), 400)
        assert error in got["error"], got
        assert [c["id"] for c in (await api.get("/campaigns"))["campaigns"]] == ["spring"]

    serve(tmp_path / "cc.db", test)


def test_post_campaign_conflicts_and_bodies(tmp_path):
    async def test(api, _ws, http):
        assert "exists" in (await api.post("/campaigns", summer(id="spring"), 409))["error"]
        await api.post("/campaigns", summer(), 201)
        assert "exists" in (await api.post("/campaigns", summer(), 409))["error"]
        assert "not JSON" in (await api.post("/campaigns", data=b"{", status=400))["error"]
        assert "JSON object" in (await api.post("/campaigns", [1], 400))["error"]
        big = summer(id="big", script="x" * MAX_ADMIN_BODY)
        assert "over" in (await api.post("/campaigns", big, 400))["error"]

    serve(tmp_path / "cc.db", test)


def test_a_loaded_campaign_is_told_to_its_agents_and_a_started_one_previews(tmp_path):
    async def test(api, ws_url, http):
        async with http.ws_connect(ws_url) as ws, http.ws_connect(ws_url) as ws2:
            phone, other = Phone(ws), Phone(ws2)
            await phone.send(p.Hello(id="h", agent="1001", pin="1234"))
            assert [c.id for c in (await phone.receive(p.Snapshot)).campaigns] == ["spring"]
            await other.send(p.Hello(id="h", agent="1003", pin="3333"))
            await other.receive(p.Snapshot)
            await api.post("/campaigns", summer(), 201)
            update = await phone.receive(p.CampaignUpdate)
            assert (update.campaign.id, update.campaign.status) == ("summer", "stopped")
            await phone.send(p.SetState(id="s", state="available"))
            await phone.receive(p.Ack)
            await api.post("/campaigns", summer(id="autumn", name="Autumn", started=True),
                           201)
            update = await phone.receive(p.CampaignUpdate)
            assert (update.campaign.id, update.campaign.status) == ("autumn", "started")
            assert (await phone.receive(p.Notice)).text.startswith("Campaign Autumn started")
            contact = (await phone.receive(p.ContactUpdate)).contact
            assert (contact.status, contact.campaign, contact.customer, contact.ani) == (
                "preview", "autumn", "Ana Ruiz", "5550201")       # record 0 has no number
            await other.send(p.SetState(id="s2", state="available"))
            assert isinstance(await other.receive(p.Ack), p.Ack)
            events = (await api.get("/agents/1003/events"))["events"]
            assert not any(e["message"]["type"] == "campaign" for e in events)  # not its
        shown = await api.get("/campaigns/autumn")
        assert shown["status"] == "started" and shown["counts"]["previewing"] == 1

    serve(tmp_path / "cc.db", test)


def test_a_progressive_campaign_loaded_while_running_dials_for_its_available_agent():
    from tests.unit import test_ccsim_dialer as dialer
    desk = dialer.run(dialer.Desk(), "hello 1001\navailable 1001\nhello 1002")
    shown = desk.engine.load_campaign(summer(id="fall", mode="progressive", started=True,
                                             agents=["1001", "1002"]))
    desk.drain()
    assert shown["status"] == "started" and shown["dialer"]["ring_s"] == 25.0
    assert [m.campaign.id for m in desk.sent["1002"] if isinstance(m, p.CampaignUpdate)] == [
        "fall"]
    dialer.run(desk, """
        dials c-1.c:5550201
        bridge c-1.c answered
        contact c-1 reserved 1001
    """)
    assert desk.engine.campaign_info("fall")["records"][0]["state"] == "done"
