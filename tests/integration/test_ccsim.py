"""ccsim as a real process: fake agent phones on raw WebSockets speaking the protocol, the
admin API over HTTP, and a kill -9 in the middle of a call."""
import asyncio
import functools
import itertools
import os
import re
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from firmware.cc import protocol as p
from tests.waits import until
from tools.process import start as start_process

REPO = Path(__file__).resolve().parents[2]

SCENARIO = """
[server]
host = "127.0.0.1"
port = 0

[settings]
rona_s = {rona_s}

[[agents]]
id = "1001"
name = "Ana Diaz"
pin = "1234"
team = "Blue"
extension = "sip:1001@127.0.0.1:5062"
queues = ["sales", "support"]

[[agents]]
id = "1002"
name = "Ben Okafor"
pin = "5678"
team = "Blue"
extension = "sip:1002@127.0.0.1:5062"
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
label = "Card number"
secure = true
"""


class CcSim:
    """``python -m tools.ccsim`` in its own process; ``start`` waits for its ready line."""

    def __init__(self, workdir: Path, rona_s: float = 15, sip: str = "127.0.0.1:5062",
                 extra: str = ""):
        self.workdir = workdir
        self.config = workdir / "scenario.toml"
        text = SCENARIO.format(rona_s=rona_s).replace("127.0.0.1:5062", sip)
        self.config.write_text(text + extra)
        self.db = workdir / "ccsim.db"
        self.proc = None

    def start(self, timeout: float = 15):
        self.process = start_process(
            [sys.executable, "-m", "tools.ccsim", "--config", str(self.config),
             "--db", str(self.db)], ready=r"^ccsim: ready ", timeout=timeout,
            cwd=REPO, stderr=self.workdir / "ccsim.log",
            env={**os.environ, "PYTHONPATH": str(REPO)})
        self.proc = self.process.popen
        self.ready_line = self.process.ready.string
        _, _, self.ws_url, self.api = self.ready_line.split(" ")
        return self

    def log(self) -> str:
        return (self.workdir / "ccsim.log").read_text()[-3000:]

    def kill(self):
        self.process.kill()

    def stop(self):
        if self.proc:
            self.process.stop(5)


@pytest.fixture
def ccsim(tmp_path):
    sim = CcSim(tmp_path).start()
    yield sim
    sim.stop()


@pytest.fixture
def quick_rona(tmp_path):
    sim = CcSim(tmp_path, rona_s=0.8).start()
    yield sim
    sim.stop()


def asynchronous(test):
    @functools.wraps(test)
    def run(*args, **kwargs):
        asyncio.run(test(*args, **kwargs))
    return run


class Phone:
    """A fake agent phone: one raw WebSocket; every frame it gets must decode as the protocol."""

    def __init__(self, http: aiohttp.ClientSession, url: str):
        self.http, self.url = http, url
        self.inbox: list = []
        self._ids = itertools.count(1)

    async def connect(self):
        self.ws = await self.http.ws_connect(self.url)
        return self

    async def receive(self, timeout: float = 5):
        frame = await self.ws.receive(timeout)
        assert frame.type == aiohttp.WSMsgType.TEXT, frame
        return p.decode_server(frame.data)

    async def request(self, kind, **fields):
        """Send a request; its ack or error (events arriving first are kept for expect)."""
        rid = str(next(self._ids))
        await self.ws.send_str(p.encode(kind(id=rid, **fields)))
        return await self.reply(rid)

    async def reply(self, rid: str):
        while True:
            m = await self.receive()
            if isinstance(m, (p.Ack, p.Error, p.VariableValue)) and m.id == rid:
                return m
            self.inbox.append(m)

    async def ok(self, kind, **fields):
        reply = await self.request(kind, **fields)
        assert isinstance(reply, p.Ack), reply
        return reply

    async def refused(self, kind, **fields) -> str:
        reply = await self.request(kind, **fields)
        assert isinstance(reply, p.Error), reply
        return reply.code

    async def hello(self, agent: str, pin: str) -> p.Snapshot:
        await self.ok(p.Hello, agent=agent, pin=pin, client="test")
        return await self.expect(p.Snapshot)

    async def expect(self, kind, test=lambda m: True, timeout: float = 5):
        """The first message of this kind that passes ``test`` (others are kept)."""
        for i, m in enumerate(self.inbox):
            if isinstance(m, kind) and test(m):
                return self.inbox.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            m = await self.receive(max(0.01, deadline - time.monotonic()))
            if isinstance(m, kind) and test(m):
                return m
            self.inbox.append(m)

    async def contact(self, status: str) -> p.Contact:
        return (await self.expect(p.ContactUpdate, lambda m: m.contact.status == status)).contact

    async def state(self, state: str) -> p.AgentState:
        return await self.expect(p.AgentState, lambda m: m.state == state)


class Admin:
    def __init__(self, http: aiohttp.ClientSession, base: str):
        self.http, self.base = http, base

    async def call(self, method: str, path: str, **kw) -> tuple[int, dict]:
        async with self.http.request(method, self.base + path, **kw) as r:
            return r.status, await r.json()

    async def new_contact(self, queue="sales", **extra) -> str:
        status, body = await self.call("POST", "/contacts", json={
            "queue": queue, "ani": "+15550134567",
            "variables": {"customer": "Maria Garcia", "account": "AC-1", "card": "4111 1111"},
            **extra})
        assert status == 201, body
        return body["id"]

    async def get(self, path: str) -> dict:
        status, body = await self.call("GET", path)
        assert status == 200, body
        return body


@asynchronous
async def test_ready_line_and_admin_refusals(ccsim):
    m = re.fullmatch(r"ccsim: ready ws://127\.0\.0\.1:(\d+)/agent/v1 http://127\.0\.0\.1:(\d+)/api",
                     ccsim.ready_line)
    assert m and m[1] == m[2] and int(m[1]) > 0
    async with aiohttp.ClientSession() as http:
        admin = Admin(http, ccsim.api)
        assert (await admin.call("POST", "/contacts", data=b"{nope"))[0] == 400
        status, body = await admin.call("POST", "/contacts", json={"queue": "billing", "ani": "1"})
        assert (status, body) == (400, {"error": "unknown queue 'billing'"})
        status, body = await admin.call("POST", "/contacts", json={"queue": "sales"})
        assert (status, body) == (400, {"error": "ani: expected a string"})
        status, _ = await admin.call("POST", "/contacts", json={"queue": "sales", "ani": "1",
                                                                "variables": {"a": 1}})
        assert status == 400
        assert (await admin.call("GET", "/contacts/c-999"))[0] == 404
        assert (await admin.call("POST", "/contacts/c-999/hangup"))[0] == 404
        assert (await admin.call("GET", "/agents/4242"))[0] == 404


@asynchronous
async def test_an_agent_takes_a_contact_from_offer_to_wrap_up(ccsim):
    async with aiohttp.ClientSession() as http:
        admin, ana = Admin(http, ccsim.api), await Phone(http, ccsim.ws_url).connect()
        snap = await ana.hello("1001", "1234")
        assert (snap.state, snap.reason, snap.seq) == ("idle", "login", 0)
        assert [v.name for v in snap.layout if v.secure] == ["card"]
        assert {"lunch", "rona", "login"} <= {c.code for c in snap.idle_codes}
        assert snap.settings.rona_s == 15

        await ana.ok(p.SetState, state="available")
        await ana.state("available")
        cid = await admin.new_contact()
        reserved = await ana.contact("reserved")
        assert (reserved.id, reserved.ani) == (cid, "+15550134567")
        assert reserved.variables["card"] == ""     # a secure value goes by name only
        await ana.state("reserved")

        await ana.ok(p.CallEvent, contact=cid, event="ringing")
        offered = await ana.contact("offered")
        assert 14 < offered.expires_at - time.time() <= 15
        await ana.state("ringing")
        await ana.ok(p.Accept, contact=cid)
        await ana.contact("assigned")
        await ana.state("talking")
        # the agent on the call fetches it (Show); another agent is refused it
        value = await ana.request(p.GetVariable, contact=cid, name="card")
        assert isinstance(value, p.VariableValue) and value.value == "4111 1111", value
        ben = await Phone(http, ccsim.ws_url).connect()
        await ben.hello("1002", "5678")
        assert await ben.refused(p.GetVariable, contact=cid, name="card") == "unknown_contact"
        await ana.ok(p.CallEvent, contact=cid, event="ended")
        await ana.contact("ended")
        await ana.contact("wrapup")
        await ana.state("wrapup")
        assert await ana.refused(p.WrapUp, contact=cid, code="nap") == "unknown_code"
        await ana.ok(p.WrapUp, contact=cid, code="sale")
        await ana.contact("wrapped_up")
        await ana.state("available")

        contact = await admin.get(f"/contacts/{cid}")
        assert {k: contact[k] for k in ("state", "agent", "wrapup", "queue")} == {
            "state": "wrapped_up", "agent": "1001", "wrapup": "sale", "queue": "sales"}
        assert [a["outcome"] for a in contact["attempts"]] == ["answered"]
        assert await admin.get("/agents/1001") == {"id": "1001", "state": "available", "reason": "",
                                                   "pending": None, "connected": True}
        assert (await admin.get("/stats"))["offers"] == 1

        await ana.ok(p.Logout, reason="end of shift")
        assert (await ana.expect(p.LoggedOut)).reason == "end of shift"
        assert await ana.refused(p.SetState, state="available") == "not_logged_in"
        assert (await admin.get("/agents/1001"))["state"] == "logged_out"


@asynchronous
async def test_rona_sends_the_contact_to_the_next_agent(quick_rona):
    async with aiohttp.ClientSession() as http:
        admin = Admin(http, quick_rona.api)
        ana, ben = [await Phone(http, quick_rona.ws_url).connect() for _ in range(2)]
        await ana.hello("1001", "1234")
        await ben.hello("1002", "5678")
        await ana.ok(p.SetState, state="available")
        await ben.ok(p.SetState, state="available")
        cid = await admin.new_contact()
        assert (await ana.contact("reserved")).id == cid       # Available longest
        await ana.ok(p.CallEvent, contact=cid, event="ringing")
        await ana.contact("offered")

        assert (await ana.contact("rona")).id == cid
        assert (await ana.state("idle")).reason == "rona"
        assert (await ben.contact("reserved")).id == cid
        assert await ana.refused(p.Accept, contact=cid) == "unknown_contact"
        await ben.ok(p.Accept, contact=cid)
        attempts = (await admin.get(f"/contacts/{cid}"))["attempts"]
        assert [(a["agent"], a["outcome"]) for a in attempts] == [
            ("1001", "rona"), ("1002", "answered")]


@asynchronous
async def test_bad_frames_get_errors_and_drop_nobody(ccsim):
    async with aiohttp.ClientSession() as http:
        ana, ben = [await Phone(http, ccsim.ws_url).connect() for _ in range(2)]
        assert await ana.refused(p.SetState, state="available") == "not_logged_in"
        assert await ana.refused(p.Hello, agent="1001", pin="0000") == "auth_failed"
        assert await ana.refused(p.Hello, agent="9999", pin="1234") == "auth_failed"
        await ana.hello("1001", "1234")               # the same connection, retried
        await ben.hello("1002", "5678")
        for frame in ["not json", "[1, 2]", '{"type": "dance", "id": "1"}',
                      '{"type": "accept", "id": "2"}', '{"type": "set_state", "id": 3}']:
            await ana.ws.send_str(frame)
            error = await ana.receive()
            assert (type(error), error.code, error.id) == (p.Error, "bad_message", ""), frame
        await ana.ws.send_bytes(b'{"type": "resync", "id": "4"}')
        assert (await ana.receive()).code == "bad_message"
        pad = "x" * p.MAX_MESSAGE_BYTES
        await ana.ws.send_str('{"type": "resync", "id": "5", "pad": "' + pad + '"}')
        assert (await ana.receive()).code == "too_large"
        assert await ana.refused(p.SetState, state="idle", reason="nap") == "unknown_code"

        await ana.ok(p.SetState, state="idle", reason="lunch")
        await ben.ok(p.SetState, state="available")
        stats = await Admin(http, ccsim.api).get("/stats")
        assert (stats["connected_agents"], stats["connects_total"]) == (2, 2)


@asynchronous
async def test_a_second_connection_takes_over_the_same_session(ccsim):
    async with aiohttp.ClientSession() as http:
        admin = Admin(http, ccsim.api)
        first = await Phone(http, ccsim.ws_url).connect()
        await first.hello("1001", "1234")
        await first.ok(p.SetState, state="available")
        second = await Phone(http, ccsim.ws_url).connect()
        snap = await second.hello("1001", "1234")
        # the same session, taken over, not a new one; but a login starts Not Ready: nobody
        # may be at the desk that logged in (a phone back from a power cut logs in at boot)
        assert (snap.state, snap.reason, snap.seq) == ("idle", "login", 1)
        while (frame := await first.ws.receive(5)).type == aiohttp.WSMsgType.TEXT:
            pass                                        # what was sent before the takeover
        assert frame.type == aiohttp.WSMsgType.CLOSE and frame.data == 4001
        await second.ok(p.SetState, state="available")
        cid = await admin.new_contact()
        update = await second.expect(p.ContactUpdate)
        assert update.contact.id == cid and update.seq > snap.seq
        stats = await admin.get("/stats")
        assert (stats["connected_agents"], stats["connects_total"]) == (1, 2)


@asynchronous
async def test_only_a_login_takes_over_and_a_reconnect_of_an_older_session_is_refused(tmp_path):
    sim = CcSim(tmp_path).start()
    try:
        async with aiohttp.ClientSession() as http:
            first = await Phone(http, sim.ws_url).connect()
            s1 = (await first.hello("1001", "1234")).session
            again = await Phone(http, sim.ws_url).connect()   # its old socket half-open
            await again.ok(p.Hello, agent="1001", pin="1234", resume=s1)
            assert (await again.expect(p.Snapshot)).session == s1
            assert p.decode_server((await first.ws.receive(5)).data).code == "taken_over"
            assert (await first.ws.receive(5)).data == 4001
            sim.kill()
            sim.start()                                 # the id survives a restart
            first = await Phone(http, sim.ws_url).connect()
            await first.ok(p.Hello, agent="1001", pin="1234", resume=s1)
            await first.ok(p.SetState, state="available")

            other = await Phone(http, sim.ws_url).connect()   # a login on another phone
            s2 = (await other.hello("1001", "1234")).session
            assert s2 != s1
            late = await Phone(http, sim.ws_url).connect()    # the first phone back online
            assert await late.refused(p.Hello, agent="1001", pin="1234",
                                      resume=s1) == "taken_over"
            with pytest.raises(asyncio.TimeoutError):           # nothing for the holder
                await other.ws.receive(0.5)
            admin = Admin(http, sim.api)
            assert (await admin.get("/agents/1001"))["connected"]
            await other.ok(p.SetState, state="idle", reason="lunch")

            await other.ok(p.Logout)                    # the session ends
            assert await late.refused(p.Hello, agent="1001", pin="1234",
                                      resume=s2) == "not_logged_in"
            assert (await admin.get("/agents/1001"))["state"] == "logged_out"
    finally:
        sim.stop()


@asynchronous
async def test_the_customer_hanging_up_withdraws_the_offer(ccsim):
    async with aiohttp.ClientSession() as http:
        admin, ana = Admin(http, ccsim.api), await Phone(http, ccsim.ws_url).connect()
        await ana.hello("1001", "1234")
        await ana.ok(p.SetState, state="available")
        cid = await admin.new_contact()
        await ana.contact("reserved")
        assert await ana.refused(p.Logout) == "not_allowed"
        status, body = await admin.call("POST", f"/contacts/{cid}/hangup")
        assert (status, body) == (200, {"id": cid, "state": "abandoned"})
        await ana.contact("withdrawn")
        await ana.state("available")


@asynchronous
async def test_killed_ccsim_restarts_with_its_contacts_sessions_and_timers(tmp_path):
    sim = CcSim(tmp_path, rona_s=1.5).start()
    try:
        async with aiohttp.ClientSession() as http:
            ana = await Phone(http, sim.ws_url).connect()
            await ana.hello("1001", "1234")
            await ana.ok(p.SetState, state="available")
            ringing = await Admin(http, sim.api).new_contact()
            await ana.ok(p.CallEvent, contact=ringing, event="ringing")
            waiting = await Admin(http, sim.api).new_contact("support")
            sim.kill()

            sim.start()                                 # the same db, a new port
            admin = Admin(http, sim.api)
            agent = await admin.get("/agents/1001")
            assert (agent["state"], agent["connected"]) == ("ringing", False)
            assert (await admin.get(f"/contacts/{waiting}"))["state"] == "queued"

            async def rona():                            # the RONA timer was re-armed
                return (await admin.get("/agents/1001"))["reason"] == "rona"
            await until(rona, 5, "a RONA after the restart", every=0.1)
            events = (await admin.get("/agents/1001/events?after=4"))["events"]
            assert [(e["seq"], e["message"]["type"]) for e in events] == [
                (5, "agent_state"), (6, "contact"), (7, "agent_state")]
            assert events[1]["message"]["contact"]["status"] == "rona"

            ana = await Phone(http, sim.ws_url).connect()
            snap = await ana.hello("1001", "1234")
            assert (snap.state, snap.reason, snap.seq) == ("idle", "rona", 7)
            await ana.ok(p.SetState, state="available")
            assert (await ana.contact("reserved")).id == ringing     # the oldest first
    finally:
        sim.stop()


@asynchronous
async def test_simulated_customers_ring_the_agents_sip_phones(tmp_path):
    """[customers] on: a real customers process dials the agent's extension through Kamailio
    with X-CC-Contact-Id and X-CC-Token (the token the agent's phone got with the contact, a new
    one for each attempt); its ringing and answer drive the contact; a RONA hangs up and dials
    the next agent; the customer hangs up after talk_s."""
    baresip = pytest.importorskip("baresip")
    from tools.kamailio import Kamailio
    from tools.lab import free_port

    kamailio = Kamailio(free_port(span=2), password="secret", workdir=tmp_path / "kamailio")
    kamailio.start()
    sim = CcSim(tmp_path, rona_s=1.5, sip=kamailio.address, extra=(
        f'[customers]\nenabled = true\nproxy = "{kamailio.address}"\npassword = "secret"\n'
        f'listen = "127.0.0.1:{free_port(span=2)}"\n'))
    stack = baresip.Runtime()
    try:
        sim.start()
        await stack.start(baresip.Config(
            net_interface="127.0.0.1", max_concurrent_calls=None,
            expose_headers=("X-CC-Contact-Id", "X-CC-Token"),
            extra_config_text=f"sip_listen 127.0.0.1:{free_port(span=2)}\n"))
        rings = {"1001": asyncio.Queue(), "1002": asyncio.Queue()}
        for agent, calls in rings.items():                # the agents' SIP phones
            ua = await baresip.UserAgent.create(stack, baresip.Account(
                user=agent, domain=kamailio.address, password="secret", reg_interval=60))
            await ua.register()
            ua.on_incoming(calls.put_nowait)
        async with aiohttp.ClientSession() as http:
            ana, ben = [await Phone(http, sim.ws_url).connect() for _ in range(2)]
            await ana.hello("1001", "1234")
            await ben.hello("1002", "5678")
            await ana.ok(p.SetState, state="available")
            await ben.ok(p.SetState, state="available")
            cid = await Admin(http, sim.api).new_contact(talk_s=1)

            reserved = await ana.contact("reserved")
            assert reserved.id == cid and len(reserved.token) >= 22     # >= 128 random bits
            call = await asyncio.wait_for(rings["1001"].get(), 5)
            assert call.headers.get("X-CC-Contact-Id") == cid
            assert call.headers.get("X-CC-Token") == reserved.token
            await ana.contact("offered")                    # the customer heard it ring
            await ana.contact("rona")                       # nobody picked up
            call = await asyncio.wait_for(rings["1002"].get(), 5)
            assert call.headers.get("X-CC-Contact-Id") == cid
            token = call.headers.get("X-CC-Token")
            assert token and token != reserved.token                   # a new attempt, a new one
            assert (await ben.contact("offered")).token == token
            await call.answer()
            await ben.contact("assigned")                   # the customer heard the answer
            await ben.state("talking")
            await ben.contact("ended")                      # talk_s later, the customer hangs up
            await ben.contact("wrapup")
            await ben.ok(p.WrapUp, contact=cid, code="sale")
    finally:
        await stack.close()
        sim.stop()
        kamailio.stop()
