"""The link's sans-I/O core and the two ways the server ends a login: too many wrong PINs
(``locked_out``) and another phone taking the agent over (``taken_over``)."""
from firmware.cc import protocol as p
from firmware.cc.client import CcClient
from firmware.core import effects as fx
from firmware.core import events as ev

from .test_cc_client import online, sent, snapshot


def test_locked_out_hands_the_wait_to_the_rules_and_stops_retrying():
    s = CcClient()
    s.request(fx.CcLogin("1001", "0000"))
    hello = sent(s.connection_made())[0]
    events, frames = s.receive(p.encode(p.Error(id=hello["id"], code="locked_out",
                                                message="try again in 30 s", retry_after=30)))
    assert events == [ev.CcRefused("hello", "locked_out", "try again in 30 s", 30)]
    assert frames == [] and not s.wants_connection          # no hello on the next connection
    s.connection_lost()
    assert s.connection_made() == []


def test_taken_over_stays_off_the_server_and_drops_what_that_session_owed():
    s, saves = online()
    s.connection_lost()
    s.request(fx.CcSetState("idle", "lunch"))               # queued offline
    s.connection_made()
    s.receive(snapshot())
    _, frames = s.request(fx.CcSetState("available"))       # in flight when taken over
    assert sent(frames)[0]["type"] == "set_state"
    events, frames = s.receive(p.encode(p.Error(code="taken_over",
                                                message="agent 1001 logged in on another phone")))
    assert events == [ev.CcTakenOver()] and frames == []
    assert not s.wants_connection
    s.connection_lost()
    assert s.connection_made() == [] and saves[-1] == []   # nothing replayed at the next login
    s.request(fx.CcLogin("1001", "1234"))                  # the agent logs in here again
    assert [f["type"] for f in sent(s.connection_made())] == ["hello"]


def test_the_close_code_alone_also_means_taken_over():
    s, _ = online()
    assert s.taken_over() == [ev.CcTakenOver()] and not s.wants_connection
    assert s.taken_over() == []                             # once


def test_a_link_closed_as_taken_over_is_not_reopened():
    """A real WebSocket closed with 4001 and no error frame (lost, or an older server): the
    phone's link stays down until a login, where it used to reconnect (and take the agent back)
    within a second or two."""
    import asyncio

    from firmware.cc.connection import CcConnection
    from tools.ws_server import ThreadedWsServer

    hellos = []

    async def server(ws):
        async for frame in ws:
            hellos.append(p.decode_client(frame.data))
            await ws.send_str(snapshot())
            await ws.close(code=p.CLOSE_TAKEN_OVER, message=b"taken_over")

    async def phone(url):
        posted = []
        link = CcConnection(url, posted.append)
        link.start()
        link.request(fx.CcLogin("1001", "1234"))
        await asyncio.sleep(3)
        await link.stop()
        return posted

    srv = ThreadedWsServer(server)
    try:
        posted = asyncio.run(phone(srv.url))
    finally:
        srv.close()
    assert len(hellos) == 1
    assert ev.CcTakenOver() in posted
    assert posted[-1] == ev.CcLink("down")
