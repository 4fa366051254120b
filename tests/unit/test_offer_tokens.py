"""The offer token end to end, without sockets: ccsim makes a secret per offer attempt, sends it
to the agent's phone with the contact and to the customer's call; it is never logged, stored in
the event log, or returned by the admin API; the phone's link hands it to the rules unlogged."""
import json
import logging
import sqlite3

import pytest

from firmware.cc import protocol as p
from firmware.cc.client import CcClient
from firmware.core import events as ev
from firmware.core.effects import CcLogin
from tools.ccsim import customers
from tools.ccsim.store import Store

from .test_ccsim_engine import Desk, script


def offered_contacts(desk, agent="1001"):
    return [m.contact for m in desk.sent.get(agent, []) if isinstance(m, p.ContactUpdate)]


def test_each_offer_attempt_gets_its_own_unguessable_token_sent_to_the_phone_and_the_call(
        caplog):
    caplog.set_level(logging.DEBUG)
    desk = Desk()
    for line in script("""
        hello 1001
        hello 1003
        available 1001
        available 1003
        post sales
        post sales
    """):
        desk.run(line)
    ((_, first),) = [t for t in desk.customers.tokens if t[0] == "c-1"]
    assert len(first) >= 22                                    # >= 128 bits, URL-safe base64
    reserved = offered_contacts(desk)[0]
    assert (reserved.id, reserved.status, reserved.token) == ("c-1", "reserved", first)
    assert desk.engine.snapshot("1001").contacts[0].token == first
    other = dict(desk.customers.tokens)["c-2"]
    assert other != first                                      # not derived from the id

    desk.run("wait 10")                                        # RONA: both back to the queue
    desk.run("available 1003")                                 # c-1 again, to 1003
    retry = [t for c, t in desk.customers.tokens if c == "c-1"]
    assert len(retry) == 2 and retry[1] != first               # a new secret for the new attempt
    rona = [c for c in offered_contacts(desk) if c.status == "rona"]
    assert rona and all(c.token == "" for c in rona)           # leaving: no token

    texts = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (first, other, *retry):
        assert secret not in texts                             # never logged
        for agent in ("1001", "1003"):                         # nor kept in the event log
            assert all(secret not in body for _, _, body in desk.store.events(agent))
        assert secret not in repr(desk.engine.contact_info("c-1"))   # nor in the admin API


def test_the_token_goes_while_the_call_is_up_and_not_after_it():
    desk = Desk()
    for line in script("""
        hello 1001
        available 1001
        post sales
        call 1001 c-1 ringing
        call 1001 c-1 answered
        call 1001 c-1 ended
    """):
        desk.run(line)
    tokens = {c.status: c.token for c in offered_contacts(desk)}
    secret = desk.customers.tokens[0][1]
    assert tokens["reserved"] == tokens["offered"] == tokens["assigned"] == secret
    assert tokens["ended"] == tokens["wrapup"] == ""
    assert desk.engine.snapshot("1001").contacts[0].token == ""


def test_a_restarted_server_still_knows_the_token(tmp_path):
    first = Desk(db=tmp_path / "cc.db")
    for line in script("hello 1001\navailable 1001\npost sales"):
        first.run(line)
    secret = first.customers.tokens[0][1]
    first.store.close()
    second = Desk(db=tmp_path / "cc.db")
    assert second.engine.snapshot("1001").contacts[0].token == secret


def test_a_database_from_before_tokens_opens(tmp_path):
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as old:
        old.execute("CREATE TABLE contacts (id TEXT PRIMARY KEY, n INTEGER NOT NULL UNIQUE, "
                    "queue TEXT NOT NULL, ani TEXT NOT NULL, variables TEXT NOT NULL, talk_s REAL, "
                    "created_at REAL NOT NULL, status TEXT NOT NULL, agent TEXT NOT NULL, "
                    "offered_at REAL NOT NULL, deadline REAL NOT NULL, wrapup TEXT NOT NULL, "
                    "attempts TEXT NOT NULL)")
        old.execute("INSERT INTO contacts VALUES ('c-1', 1, 'sales', '+1', '{}', NULL, 0, "
                    "'queued', '', 0, 0, '', '[]')")
    store = Store(db)
    (c,) = store.live_contacts()
    assert (c.id, c.token) == ("c-1", "")


def test_the_phones_link_hands_the_token_to_the_rules_and_never_logs_it(caplog):
    caplog.set_level(logging.DEBUG)
    secret = "Q2x8vW-y7Rk_t3NmP0aZs1UeLh9BcJdF4gXoKiV5nHq"
    session = CcClient()
    session.request(CcLogin("1001", "1234"))
    session.connection_made()
    snapshot = p.Snapshot(seq=1, agent=p.Agent("1001", "Ana", "Blue", "sip:1001@pbx"),
                          state="available")
    session.receive(p.encode(snapshot))
    contact = p.Contact(id="c-1", status="reserved", queue="sales", ani="+1", token=secret)
    events, _ = session.receive(p.encode(p.ContactUpdate(seq=2, contact=contact)))
    (event,) = events
    assert isinstance(event, ev.CcContact) and event.contact.token == secret
    assert secret not in repr(event)
    assert all(secret not in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("line,headers", [
    ('{"op":"dial","contact":"c-1","to":"sip:1001@pbx","token":"abc_-9"}',
     {"X-CC-Contact-Id": "c-1", "X-CC-Token": "abc_-9"}),
    ('{"op":"dial","contact":"c-1","to":"sip:1001@pbx"}', {"X-CC-Contact-Id": "c-1"}),
    ('{"op":"dial","contact":"b-1","to":"sip:1001@pbx","personal":true}', {}),
])
def test_the_customers_process_puts_the_token_on_the_call(line, headers):
    assert customers.dial_headers(customers.parse(line)) == headers


@pytest.mark.parametrize("token", ["has space", "x" * 257, 987654, "line\nbreak", "é"])
def test_a_bad_token_is_refused_without_being_quoted(token):
    with pytest.raises(ValueError) as e:
        customers.parse(json.dumps({"op": "dial", "contact": "c-1", "to": "sip:1@pbx",
                                    "token": token}))
    assert "token" in str(e.value) and str(token) not in str(e.value)


@pytest.mark.parametrize("hz", [99, 3401, "440", 440.5, True])
def test_a_callers_tone_outside_the_phone_band_is_refused(hz):
    with pytest.raises(ValueError, match="hz must be"):
        customers.parse(json.dumps({"op": "dial", "contact": "c-1", "to": "sip:1@pbx",
                                    "hz": hz}))
    assert customers.parse(json.dumps({"op": "dial", "contact": "c-1", "to": "sip:1@pbx",
                                       "hz": 443}))["hz"] == 443


@pytest.mark.parametrize("level", [0, -0.5, 1.01, "1", True])
def test_a_callers_level_past_full_scale_is_refused(level):
    with pytest.raises(ValueError, match="level must be"):
        customers.parse(json.dumps({"op": "dial", "contact": "c-1", "to": "sip:1@pbx",
                                    "level": level}))
