"""ccsim's personal calls (tools/ccsim/personal.py): an agent's call forwarding checked at every
rule's bounds (a number a phone can dial, not the agent's own, no loop through a chain of
agents, no_answer_s 5-120), told to the phone and kept across restarts in the table Kamailio
reads; the voicemail boxes' messages and counts (snapshot, ``voicemail`` events, a full box);
and both over the admin API of a real CcServer."""
import asyncio
import sqlite3

import aiohttp
import pytest

from firmware.cc import protocol as p
from tests.unit.test_ccsim_engine import Clock, Customers
from tools.ccsim.engine import Engine, Refused
from tools.ccsim.personal import BoxFull, check_forwarding
from tools.ccsim.scenario import parse
from tools.ccsim.server import CcServer
from tools.ccsim.store import Store

AGENT = """
[[agents]]
id = "{id}"
name = "Agent {id}"
pin = "1234"
team = "Blue"
extension = "sip:{ext}@pbx"
queues = ["sales"]
"""
TAIL = """
[[queues]]
name = "sales"

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

[voicemail]
enabled = {voicemail}
number = "*97"
max_messages = 2
"""
# agent "sam" is at extension 2005: an agent's id and its extension both reach it
AGENTS = (("1001", "1001"), ("1002", "1002"), ("1003", "1003"), ("1004", "1004"),
          ("sam", "2005"))


def scenario_text(agents=AGENTS, voicemail=True) -> str:
    return ("".join(AGENT.format(id=a, ext=e) for a, e in agents)
            + TAIL.format(voicemail=str(voicemail).lower()))


class Centre:
    """An engine on a database with its agents' messages recorded."""

    def __init__(self, db=":memory:", agents=AGENTS, voicemail=True):
        self.store = Store(db)
        self.engine = Engine(parse(scenario_text(agents, voicemail), "test.toml"), self.store,
                             Clock(), Customers())
        self.sent: dict[str, list] = {}

    def told(self, agent: str) -> list:
        for who, message, _ in self.engine.take_outbox():
            self.sent.setdefault(who, []).append(message)
        return self.sent.pop(agent, [])

    def hello(self, agent: str) -> p.Snapshot:
        snapshot = self.engine.hello(agent, "1234")
        self.told(agent)
        return snapshot

    def table(self) -> dict[str, tuple]:
        """Kamailio's view: ext -> (always, busy, no_answer, no_answer_s)."""
        rows = self.store.db.execute("SELECT ext, always, busy, no_answer, no_answer_s "
                                     "FROM forwarding")
        return {ext: tuple(rest) for ext, *rest in rows}


def refused_fields(operation, *args) -> dict[str, str]:
    with pytest.raises(Refused) as e:
        operation(*args)
    assert e.value.code == "bad_value", e.value.message
    return e.value.fields


def fw(**fields) -> p.Forwarding:
    return p.Forwarding(**fields)


# -- the rules -------------------------------------------------------------------------------
@pytest.mark.parametrize("field", ["always", "busy", "no_answer"])
@pytest.mark.parametrize("number, ok", [
    ("", True),                                 # none
    ("5", True),
    ("5" * p.MAX_DIAL_CHARS, True),             # 32
    ("5" * (p.MAX_DIAL_CHARS + 1), False),      # 33
    ("+15551234567", True),
    ("*97", True),                              # the voicemail number: to voicemail
    ("a.b_c~d-e", True),
    ("555#", False),                            # no SIP user holds a #
    ("555 0100", False),
    ("sip:5550100@pbx", False),
    ("555;x=1", False),
    ("ß", False),
])
def test_a_target_is_a_number_a_phone_can_dial(field, number, ok):
    c = Centre()
    if ok:
        kept = c.engine.change_forwarding("1001", fw(**{field: number}))
        assert getattr(kept, field) == number
        assert c.table()["1001"][("always", "busy", "no_answer").index(field)] == number
    else:
        assert refused_fields(c.engine.change_forwarding, "1001",
                              fw(**{field: number})) == {field: "bad_number"}
        assert c.engine.forwarding_of("1001") == fw()
        assert c.table()["1001"] == ("", "", "", 20)


@pytest.mark.parametrize("agent, number", [("1001", "1001"), ("sam", "2005"), ("sam", "sam")])
def test_the_agents_own_extension_or_id_is_refused(agent, number):
    c = Centre()
    for field in ("always", "busy", "no_answer"):
        assert refused_fields(c.engine.change_forwarding, agent,
                              fw(**{field: number})) == {field: "own_number"}


def test_another_agents_id_is_kept_as_its_extension():
    c = Centre()
    assert c.engine.change_forwarding("1001", fw(busy="sam")).busy == "2005"
    assert c.table()["1001"] == ("", "2005", "", 20)


@pytest.mark.parametrize("seconds, ok", [(4, False), (5, True), (20, True), (120, True),
                                         (121, False), (0, False), (-5, False)])
def test_no_answer_s_is_5_to_120(seconds, ok):
    c = Centre()
    if ok:
        assert c.engine.change_forwarding("1001", fw(no_answer_s=seconds)).no_answer_s == seconds
        assert c.table()["1001"][3] == seconds
    else:
        assert refused_fields(c.engine.change_forwarding, "1001",
                              fw(no_answer_s=seconds)) == {"no_answer_s": "no_answer_s"}


def test_a_forward_back_to_the_agent_is_a_loop_directly_or_through_a_chain():
    c = Centre()
    c.engine.change_forwarding("1002", fw(busy="1001"))
    # 1001 -> 1002 -(busy)-> 1001
    for field in ("always", "busy", "no_answer"):
        assert refused_fields(c.engine.change_forwarding, "1001",
                              fw(**{field: "1002"})) == {field: "loop"}
    # 1003 -> 1004 -(no answer)-> sam -(always)-> 1003, each hop a different kind
    c.engine.change_forwarding("1004", fw(no_answer="2005"))
    c.engine.change_forwarding("sam", fw(always="1003"))
    assert refused_fields(c.engine.change_forwarding, "1003",
                          fw(busy="1004")) == {"busy": "loop"}
    assert refused_fields(c.engine.change_forwarding, "1003",
                          fw(no_answer="sam")) == {"no_answer": "loop"}
    # a chain that ends elsewhere (sam -> 1003 -> a number) is no loop for 1004
    c.engine.change_forwarding("1003", fw(always="5550100"))
    assert c.engine.change_forwarding("1001", fw(busy="1004")).busy == "1004"


def test_a_chain_that_loops_without_the_agent_is_no_loop_for_it():
    extensions = {"a": "1", "b": "2", "c": "3"}
    current = {"b": fw(always="3"), "c": fw(always="2")}        # b <-> c (old data)
    kept, problems = check_forwarding("a", fw(always="2"), extensions, current)
    assert problems == {} and kept.always == "2"


def test_every_broken_rule_is_named_at_once_and_nothing_changes():
    c = Centre()
    c.engine.change_forwarding("1001", fw(always="5550100"))
    c.engine.change_forwarding("1002", fw(always="1001"))
    fields = refused_fields(c.engine.change_forwarding, "1001",
                            fw(always="1001", busy="1002", no_answer="5 5", no_answer_s=121))
    assert fields == {"always": "own_number", "busy": "loop", "no_answer": "bad_number",
                      "no_answer_s": "no_answer_s"}
    assert c.engine.forwarding_of("1001") == fw(always="5550100")


# -- the phone's request ---------------------------------------------------------------------
def test_the_phone_sets_it_and_gets_the_event_and_the_snapshot_has_it():
    c = Centre()
    with pytest.raises(Refused) as e:
        c.engine.set_forwarding("1001", fw(always="5550100"))
    assert e.value.code == "not_logged_in"
    assert c.hello("1001").forwarding == fw()
    c.engine.set_forwarding("1001", fw(busy="1002", no_answer_s=30))
    [event] = c.told("1001")
    assert isinstance(event, p.ForwardingUpdate)
    assert event.forwarding == fw(busy="1002", no_answer_s=30)
    assert c.engine.snapshot("1001").forwarding == fw(busy="1002", no_answer_s=30)
    refused_fields(c.engine.set_forwarding, "1001", fw(busy="1001"))
    assert c.told("1001") == []                         # refused: no event, no change
    c.engine.change_forwarding("1001", fw())            # the admin: the phone is told too
    assert [m.forwarding for m in c.told("1001")] == [fw()]
    c.engine.change_forwarding("1002", fw(always="5550100"))    # logged out: nothing sent
    assert c.told("1002") == []
    assert c.engine.change_forwarding("nobody", fw()) is None


def test_restart_keeps_it_and_rewrites_kamailios_table_for_the_scenarios_agents(tmp_path):
    db = tmp_path / "cc.db"
    c = Centre(db)
    assert c.table() == {ext: ("", "", "", 20) for _, ext in AGENTS}   # a row: an agent's
    c.engine.change_forwarding("1001", fw(busy="5550100", no_answer="2005", no_answer_s=5))
    c.engine.change_forwarding("1004", fw(always="5550101"))
    c.store.close()

    again = Centre(db, agents=AGENTS[:3] + (("sam", "2099"),))      # 1004 gone, sam moved
    assert again.engine.forwarding_of("1001") == fw(busy="5550100", no_answer="2005",
                                                    no_answer_s=5)
    assert again.hello("1001").forwarding == again.engine.forwarding_of("1001")
    assert again.table() == {"1001": ("", "5550100", "2005", 5),
                             "1002": ("", "", "", 20), "1003": ("", "", "", 20),
                             "2099": ("", "", "", 20)}
    # another connection (Kamailio's) reads what was committed
    with sqlite3.connect(db) as kamailio:
        assert kamailio.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert kamailio.execute("SELECT busy, no_answer, no_answer_s FROM forwarding WHERE "
                                "ext = '1001'").fetchone() == ("5550100", "2005", 5)


# -- voicemail -------------------------------------------------------------------------------
def test_messages_count_in_the_snapshot_and_events_and_a_full_box_takes_no_more():
    c = Centre()
    e = c.engine
    snapshot = c.hello("1001")
    assert (snapshot.voicemail_waiting, snapshot.voicemail_messages,
            snapshot.voicemail_number) == (0, 0, "*97")
    first = e.voicemail_add("1001", "+15551234567", 4.2, "/vm/1001/a.raw")
    assert first["id"] == "vm-1" and not first["heard"]
    assert [(m.waiting, m.messages) for m in c.told("1001")] == [(1, 1)]
    second = e.voicemail_add("1001", "5550100", 1.0, "/vm/1001/b.raw")
    with pytest.raises(BoxFull):                         # max_messages = 2
        e.voicemail_add("1001", "5550101", 1.0, "/vm/1001/c.raw")
    box = e.voicemail_box_info("1001")
    assert [m["id"] for m in box["messages"]] == [second["id"], first["id"]]   # newest first
    assert (box["waiting"], box["count"], box["full"]) == (2, 2, True)
    e.voicemail_heard("1001", first["id"], True)
    e.voicemail_heard("1001", first["id"], True)         # again: no news
    assert [(m.waiting, m.messages) for m in c.told("1001")] == [(2, 2), (1, 2)]
    assert e.voicemail_delete("1001", second["id"])
    assert not e.voicemail_delete("1001", second["id"])
    assert [(m.waiting, m.messages) for m in c.told("1001")] == [(0, 1)]
    s = e.snapshot("1001")
    assert (s.voicemail_waiting, s.voicemail_messages) == (0, 1)
    assert e.voicemail_box_info("1002")["messages"] == []
    assert e.voicemail_heard("1002", first["id"], True) is None     # not 1002's
    assert e.voicemail_box_info("2005")["agent"] == "sam"           # by extension or id
    assert e.voicemail_box_info("sam")["ext"] == "2005"
    assert e.voicemail_box_info("5550100") is None


@pytest.mark.parametrize("caller, duration_s, file, problem", [
    (5, 1.0, "/f", "caller"), ("x" * 65, 1.0, "/f", "caller"), ("a\nb", 1.0, "/f", "caller"),
    ("1", -1, "/f", "duration_s"), ("1", True, "/f", "duration_s"), ("1", "2", "/f", "duration_s"),
    ("1", 3601, "/f", "duration_s"), ("1", 1.0, "", "file"), ("1", 1.0, None, "file"),
])
def test_a_message_with_a_bad_field_is_refused(caller, duration_s, file, problem):
    c = Centre()
    with pytest.raises(ValueError, match=f"^{problem}"):
        c.engine.voicemail_add("1001", caller, duration_s, file)
    assert c.engine.voicemail_box_info("1001")["count"] == 0


def test_the_voicemail_number_is_an_internal_call_and_without_boxes_there_is_none():
    c = Centre()
    c.hello("1001")
    assert c.engine.dial("1001", "*97") == ("*97", "")
    off = Centre(voicemail=False)
    snapshot = off.hello("1001")
    assert snapshot.voicemail_number == "" and snapshot.voicemail_messages == 0
    assert off.engine.voicemail_box_info("1001") is None
    assert off.engine.voicemail_add("1001", "1", 1.0, "/f") is None
    assert off.engine.dial("1001", "*97")[1]             # just a number: an outbound contact


def test_the_voicemail_number_cannot_be_an_agents_extension():
    from tools.ccsim.scenario import ScenarioError
    with pytest.raises(ScenarioError, match="voicemail.number"):
        parse(scenario_text().replace('number = "*97"', 'number = "2005"'), "test.toml")


# -- the admin API ---------------------------------------------------------------------------
def serve(db, test):
    async def run():
        server = CcServer(parse(scenario_text(), "test.toml"), db)
        ws_url, api = await server.start("127.0.0.1", 0)
        try:
            async with aiohttp.ClientSession() as http:
                await test(http, api, ws_url)
        finally:
            await server.stop()
    asyncio.run(run())


async def call(http, method, url, body=None, status=200):
    async with http.request(method, url, json=body) as r:
        assert r.status == status, await r.text()
        return await r.json()


def test_admin_api_forwarding_and_voicemail(tmp_path):
    async def test(http, api, ws_url):
        ws = await http.ws_connect(ws_url)
        await ws.send_str(p.encode(p.Hello(id="1", agent="1001", pin="1234")))

        async def receive(kind):
            while True:
                m = p.decode_server(await ws.receive_str(timeout=5))
                if isinstance(m, kind):
                    return m
        await receive(p.Snapshot)

        assert await call(http, "GET", f"{api}/agents/1001/forwarding") == {
            "always": "", "busy": "", "no_answer": "", "no_answer_s": 20}
        kept = await call(http, "PUT", f"{api}/agents/1001/forwarding",
                          {"busy": "sam", "no_answer_s": 30})
        assert kept == {"always": "", "busy": "2005", "no_answer": "", "no_answer_s": 30}
        assert (await receive(p.ForwardingUpdate)).forwarding == fw(busy="2005", no_answer_s=30)
        bad = await call(http, "PUT", f"{api}/agents/1001/forwarding",
                         {"always": "1001", "no_answer_s": 4}, status=400)
        assert bad["fields"] == {"always": "own_number", "no_answer_s": "no_answer_s"}
        assert "always" in bad["error"]
        for body in ({"no_answer_s": "20"}, {"always": 5}, [1]):
            assert "error" in await call(http, "PUT", f"{api}/agents/1001/forwarding", body,
                                         status=400)
        await call(http, "PUT", f"{api}/agents/nobody/forwarding", {}, status=404)
        await call(http, "GET", f"{api}/agents/nobody/forwarding", status=404)

        # the phone's own request: ack, then the event
        await ws.send_str(p.encode(p.SetForwarding(id="2", forwarding=fw(always="1001"))))
        error = await receive(p.Error)
        assert (error.code, error.fields) == ("bad_value", {"always": "own_number"})
        await ws.send_str(p.encode(p.SetForwarding(id="3", forwarding=fw(always="5550100"))))
        assert (await receive(p.Ack)).id == "3"
        assert (await receive(p.ForwardingUpdate)).forwarding == fw(always="5550100")

        message = await call(http, "POST", f"{api}/voicemail/1001",
                             {"caller": "+15551234567", "duration_s": 3.5,
                              "file": "/vm/1001/1.raw"}, status=201)
        event = await receive(p.Voicemail)
        assert (event.waiting, event.messages) == (1, 1)
        box = await call(http, "GET", f"{api}/voicemail/1001")
        assert box["messages"] == [message] and box["waiting"] == 1
        await call(http, "POST", f"{api}/voicemail/1001",
                   {"caller": "1", "duration_s": 1, "file": "/f", "x": 1}, status=400)
        await call(http, "POST", f"{api}/voicemail/1001", {"caller": "1", "duration_s": 1,
                                                           "file": "/f"}, status=201)
        full = await call(http, "POST", f"{api}/voicemail/1001",
                          {"caller": "1", "duration_s": 1, "file": "/g"}, status=409)
        assert "full" in full["error"]
        heard = await call(http, "PATCH", f"{api}/voicemail/1001/{message['id']}",
                           {"heard": True})
        assert heard["heard"] is True
        await call(http, "PATCH", f"{api}/voicemail/1001/{message['id']}", {"heard": 1},
                   status=400)
        await call(http, "PATCH", f"{api}/voicemail/1001/vm-99", {"heard": True}, status=404)
        assert await call(http, "DELETE", f"{api}/voicemail/1001/{message['id']}") == {
            "id": message["id"], "deleted": True}
        await call(http, "DELETE", f"{api}/voicemail/1001/{message['id']}", status=404)
        await call(http, "GET", f"{api}/voicemail/5550100", status=404)
        last = (await call(http, "GET", f"{api}/agents/1001/events"))["events"][-1]["message"]
        assert last == {"type": "voicemail", "seq": last["seq"], "waiting": 1, "messages": 1}
        await ws.close()
    serve(tmp_path / "cc.db", test)
