"""The phone's side of session ids: a login's hello carries no ``resume``, every automatic
reconnect resumes the session of the latest snapshot, and a reconnect the server refuses
(the agent logged in elsewhere, or out, meanwhile) leaves the phone off the server."""
from firmware.cc import protocol as p
from firmware.cc.client import SESSION_OVER, CcClient
from firmware.core import effects as fx
from firmware.core import events as ev
from firmware.core.model import IdleScreen
from firmware.ui.view import render

from .test_agent_rules import agent, run
from .test_cc_client import AGENT, sent


def snapshot(session: str, seq: int = 5) -> str:
    return p.encode(p.Snapshot(seq=seq, agent=AGENT, state="idle", reason="login",
                               session=session))


def hello(s: CcClient) -> dict:
    (frame,) = sent(s.connection_made())
    assert frame["type"] == "hello"
    return frame


def logged_in(session="S1"):
    saves = []
    s = CcClient(save=saves.append)
    s.request(fx.CcLogin("1001", "1234"))               # configured at boot, or the keypad
    assert "resume" not in hello(s)
    s.receive(snapshot(session))
    return s, saves


def test_a_login_sends_no_resume_and_every_reconnect_resumes_the_snapshots_session():
    s, _ = logged_in("S1")
    for _ in range(3):                                   # the link drops again and again
        s.connection_lost()
        assert hello(s)["resume"] == "S1"
        s.receive(snapshot("S1", seq=6))
    s.connection_lost()
    s.request(fx.CcLogin("1001", "1234"))                # the agent logs in again: a login
    assert "resume" not in hello(s)


def test_a_login_whose_snapshot_never_came_is_still_a_login_on_the_next_connection():
    s = CcClient()
    s.request(fx.CcLogin("1001", "1234"))
    assert "resume" not in hello(s)
    s.connection_lost()                                  # before the snapshot
    assert "resume" not in hello(s)


def test_a_server_without_session_ids_gets_logins_as_before():
    s, _ = logged_in(session="")
    s.connection_lost()
    assert "resume" not in hello(s)


def test_a_reconnect_refused_as_taken_over_shows_it_and_stays_off():
    s, saves = logged_in("S1")
    s.connection_lost()
    s.request(fx.CcSetState("idle", "lunch"))            # queued while offline
    h = hello(s)
    events, frames = s.receive(p.encode(p.Error(id=h["id"], code="taken_over",
                                                message="agent 1001 logged in on another "
                                                        "phone since")))
    assert events == [ev.CcTakenOver()] and frames == []  # "Logged in elsewhere"
    assert not s.wants_connection and saves[-1] == []
    s.connection_lost()
    assert s.connection_made() == []                     # no hello until a login


def test_a_reconnect_to_a_session_that_is_over_logs_out_here_too():
    s, saves = logged_in("S1")
    s.connection_lost()
    s.request(fx.CcSetState("available"))                # queued while offline
    h = hello(s)
    events, frames = s.receive(p.encode(p.Error(id=h["id"], code="not_logged_in",
                                                message="the session is over")))
    assert events == [ev.CcLoggedOut(SESSION_OVER)] and frames == []
    assert not s.wants_connection and saves[-1] == []    # nothing replayed at the next login
    s.connection_lost()
    assert s.connection_made() == []                     # never logs the agent back in
    s.request(fx.CcLogin("1001", "1234"))
    assert "resume" not in hello(s)


def test_what_the_agent_sees_when_the_session_ended_offline():
    m, fx = run(agent(), ev.CcLoggedOut(SESSION_OVER), ev.CcLink("down"))
    assert fx == () and m.agent is None and m.agent_status == "LOGGED_OUT"
    assert isinstance(m.screen, IdleScreen)
    rows = render(m).rows
    assert rows[0].startswith("Logged out") and rows[3].startswith("Login")
    assert "Logged out: session ended" in " ".join(r.strip() for r in rows[1:3])
