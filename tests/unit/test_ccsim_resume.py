"""ccsim's session ids, driven without sockets on a fake clock: a login (hello without
``resume``) starts a new session and takes the agent over; a reconnect (hello with the id of
its latest snapshot) resumes only the agent's current session, so a phone that was offline
while the agent logged in elsewhere, or out, can't take the agent back by coming online."""
import sqlite3

import pytest

from firmware.cc import protocol as p
from tools.ccsim.engine import Refused

from .test_ccsim_engine import Desk, script

DESK_A, DESK_B = "10.0.0.21", "10.0.0.22"


def login(desk, source=DESK_A, agent="1001", pin="1234") -> str:
    """A login's session id (what its snapshot carries)."""
    return desk.engine.hello(agent, pin, p.VERSION, source).session


def resume(desk, session, source=DESK_A, pin="1234") -> str:
    """"ok" (with the snapshot's session id checked), or the refusal's code."""
    try:
        snap = desk.engine.hello("1001", pin, p.VERSION, source, session)
    except Refused as r:
        return r.code
    assert snap.session == session
    return "ok"


def test_each_login_gets_a_new_unguessable_session_id_and_a_reconnect_keeps_it():
    desk = Desk()
    first = login(desk)
    assert len(first) >= 22                              # 128 random bits, URL-safe base64
    assert resume(desk, first) == "ok"
    assert resume(desk, first) == "ok"                   # as often as the link drops
    assert desk.engine.agent_info("1001")["state"] == "idle"
    assert login(desk) != first                          # the same phone logging in again


def test_a_reconnect_after_a_login_elsewhere_is_refused_and_changes_nothing():
    desk = Desk()
    a = login(desk, DESK_A)
    desk.run("available 1001")
    desk.run("told 1001 agent_state:available")
    b = login(desk, DESK_B)                              # the agent logs in on phone B
    assert b != a
    assert resume(desk, a, DESK_A) == "taken_over"       # A's link comes back: refused
    assert resume(desk, a, DESK_A) == "taken_over"       # every time, not just once
    desk.run("told 1001")                                # B was sent nothing
    desk.run("agent 1001 idle login")                    # as B's login left it (a login
    assert resume(desk, b, DESK_B) == "ok"               # starts Not Ready), untouched
    assert desk.engine.logins.failures("1001") == 0      # the PIN was right: no throttling


def test_the_pin_is_checked_before_the_session_and_stays_throttled():
    desk = Desk()
    a = login(desk)
    assert resume(desk, a, pin="0000") == "auth_failed"  # the id alone opens nothing
    assert resume(desk, "made-up", pin="0000") == "auth_failed"
    assert desk.engine.logins.failures("1001") == 2


@pytest.mark.parametrize("how", ["logout", "pending logout applied by the auto wrap-up"])
def test_a_reconnect_to_a_session_that_is_over_does_not_log_the_agent_back_in(how):
    desk = Desk(settings="wrapup_s = 5")
    a = login(desk)
    if how == "logout":
        desk.run("logout 1001 break")
    else:                                                # all while the phone is offline
        for line in script("""
            available 1001
            post sales
            call 1001 c-1 ringing
            call 1001 c-1 answered
            logout 1001 break
            agent 1001 talking pending=logged_out/break
            customer c-1 ended
            wait 5
        """):
            desk.run(line)
    desk.run("agent 1001 logged_out")
    assert resume(desk, a) == "not_logged_in"
    desk.run("agent 1001 logged_out")                    # still: only a login logs in
    assert login(desk) and desk.engine.agent_info("1001")["state"] == "idle"


def test_a_restarted_server_still_recognizes_the_session(tmp_path):
    first = Desk(db=tmp_path / "cc.db")
    a = login(first)
    first.store.close()                                  # as after kill -9
    second = Desk(db=tmp_path / "cc.db")
    assert resume(second, a) == "ok"
    assert resume(second, "not-" + a) == "taken_over"


def test_the_session_id_is_neither_stored_in_events_nor_shown(tmp_path):
    desk = Desk(db=tmp_path / "cc.db")
    a = login(desk)
    desk.run("available 1001")
    assert a not in repr(desk.engine.agent_info("1001"))
    assert all(a not in body for _, _, body in desk.store.events("1001"))
    assert a not in repr(desk.store.agents())


def test_a_database_from_before_session_ids_opens_and_its_sessions_go_on(tmp_path):
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as old:
        old.execute("CREATE TABLE sessions (agent TEXT PRIMARY KEY, state TEXT NOT NULL, "
                    "reason TEXT NOT NULL, pending_state TEXT, pending_reason TEXT NOT NULL, "
                    "available_since REAL NOT NULL, seq INTEGER NOT NULL)")
        old.execute("INSERT INTO sessions VALUES ('1001', 'available', '', NULL, '', 0, 7)")
    desk = Desk(db=db)
    desk.run("agent 1001 available")
    a = login(desk)                                      # phones of then never resume
    assert desk.engine.hello("1001", "1234", p.VERSION, DESK_A, a).seq == 7   # the same one
    desk.store.close()
    assert resume(Desk(db=db), a) == "ok"
