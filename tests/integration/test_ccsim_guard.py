"""ccsim as a real process against a hostile or careless client: PIN guessing on one raw
WebSocket, two phones on one agent, and admin requests that must change nothing."""
import json
import time

import aiohttp

from firmware.cc import protocol as p
from tests.integration.test_ccsim import Admin, Phone, asynchronous, ccsim  # noqa: F401


@asynchronous
async def test_one_connection_guessing_pins_gets_five_tries_then_waits(ccsim):  # noqa: F811
    async with aiohttp.ClientSession() as http:
        thief = await Phone(http, ccsim.ws_url).connect()
        codes: dict[str, int] = {}
        start, pin = time.monotonic(), 0
        while time.monotonic() - start < 2:                 # as fast as the server answers
            reply = await thief.request(p.Hello, agent="1001", pin=f"{pin:04}")
            codes[reply.code] = codes.get(reply.code, 0) + 1
            pin += 1
            if reply.code == "locked_out":
                assert 0 < reply.retry_after <= 30
        print(f"\none connection, 2 s of hellos: {pin} sent, {codes.get('auth_failed', 0)} "
              f"PINs checked, {codes.get('locked_out', 0)} refused unread")
        assert codes["auth_failed"] == 6 and codes["locked_out"] == pin - 6
        assert await thief.refused(p.Hello, agent="1001", pin="1234") == "locked_out"
        assert (await Admin(http, ccsim.api).get("/agents/1001"))["state"] == "logged_out"
    log = ccsim.log()
    assert log.count("login failed: agent '1001' from 127.0.0.1") == 6
    assert "locked out for 30 s" in log
    assert not any(f"{n:04}" in log for n in range(6))     # the PINs tried are never logged


@asynchronous
async def test_the_phone_taken_over_is_told_why_and_a_wrong_pin_takes_nothing(ccsim):  # noqa: F811
    async with aiohttp.ClientSession() as http:
        admin = Admin(http, ccsim.api)
        first = await Phone(http, ccsim.ws_url).connect()
        await first.hello("1001", "1234")
        second = await Phone(http, ccsim.ws_url).connect()
        assert await second.refused(p.Hello, agent="1001", pin="0000") == "auth_failed"
        await first.ok(p.SetState, state="available")      # still the first one's session
        await second.hello("1001", "1234")
        error = await first.expect(p.Error)
        assert (error.code, error.id) == ("taken_over", "")
        frame = await first.ws.receive(5)
        assert frame.type == aiohttp.WSMsgType.CLOSE and frame.data == p.CLOSE_TAKEN_OVER
        assert frame.extra == "taken_over"
        stats = await admin.get("/stats")
        assert (stats["connected_agents"], stats["connects_total"]) == (1, 2)
    assert "agent 1001: taken over by a login from 127.0.0.1" in ccsim.log()


@asynchronous
async def test_refused_admin_requests_change_nothing(ccsim):  # noqa: F811
    async with aiohttp.ClientSession() as http:
        admin = Admin(http, ccsim.api)

        async def post(body: bytes | dict) -> tuple[int, str]:
            kw = {"json": body} if isinstance(body, dict) else {"data": body}
            status, reply = await admin.call("POST", "/contacts", **kw)
            return status, reply.get("error", "")

        base = {"queue": "sales", "variables": {"customer": "Maria"}}
        refused = [
            ({**base, "ani": "\ud800"}, "ani: not valid Unicode (a lone surrogate)"),
            ({**base, "ani": "5" * (1 << 20)}, "the body is over 65536 bytes"),
            ({**base, "ani": "5" * 65}, "ani: at most 64 characters, got 65"),
            ({**base, "ani": "1", "variables": {"v": "x" * 300}},
             "variables.v: at most 256 characters, got 300"),
            (b"[" * 100_000 + b"]" * 100_000, "the body is over 65536 bytes"),
            (b'{"ani": ' + b"[" * 30_000 + b"]" * 30_000 + b"}", "the body is nested too deeply"),
            (b'{"queue": "sales", "ani": "1", "talk_s": NaN}', "the body is not JSON (NaN is"),
            (b'{"queue": "sales", "ani": "1", "talk_s": Infinity}', "the body is not JSON"),
            (b'{"queue": "sales", "ani": "1", "talk_s": 1e999}', "talk_s: expected a number"),
            (b'{"queue": "sales", "ani": "\xff"}', "the body is not JSON"),
        ]
        for body, error in refused:
            status, said = await post(body)
            assert status == 400 and said.startswith(error), (str(body)[:60], status, said)
        for after in ("9" * 30, "-1", "1e3"):
            status, reply = await admin.call("GET", f"/agents/1001/events?after={after}")
            assert status == 400 and reply["error"].startswith("after: expected"), (after, reply)
        assert (await admin.call("GET", "/contacts/c-1"))[0] == 404     # nothing was queued

        ana = await Phone(http, ccsim.ws_url).connect()                 # the agent still works
        snap = await ana.hello("1001", "1234")
        assert snap.contacts == []
        await ana.ok(p.SetState, state="available")
        await ana.state("available")
        cid = await admin.new_contact()
        assert (await ana.contact("reserved")).id == cid == "c-1"
        hello_again = await Phone(http, ccsim.ws_url).connect()
        snap = await hello_again.hello("1001", "1234")
        assert [c.id for c in snap.contacts] == ["c-1"]
        assert json.loads(p.encode(snap))["contacts"][0]["ani"] == "+15550134567"
    assert "Traceback" not in ccsim.log()
