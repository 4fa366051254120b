"""ccsim's follow-ups (tools/ccsim/followups.py): an agent's reminders, checked at their bounds
(the time, the note, the contact), fired by the engine's timers on a fake clock (a
``follow_up`` event; the snapshot lists the due ones until done), done, kept in SQLite across
restarts (none fired twice, none lost), and the admin API.

Driven like test_ccsim_assist.py (test_ccsim_engine's Desk: the engine with a fake clock and
customers, each agent's messages recorded), and over the wire against a real CcServer
(test_ccsim_campaign_load's ``serve``).
"""
import asyncio
import time

import pytest

from firmware.cc import protocol as p
from tests.unit import test_ccsim_assist as assist
from tests.unit import test_ccsim_campaign_load as load
from tests.unit import test_ccsim_engine as base
from tools.ccsim.followups import MAX_LISTED

DAY = 86400.0
MAX_AHEAD = p.FOLLOW_UP_MAX_DAYS * DAY
refused, told = assist.refused, assist.told
# 1001 talks with the customer of c-1 (+15550001234)
TALKING = """
    hello 1001
    available 1001
    post sales
    accept 1001 c-1
    call 1001 c-1 answered
    contact c-1 assigned 1001
"""


def desk(db=":memory:", clock=None, text="hello 1001") -> base.Desk:
    return base.play(base.Desk(db=db, clock=clock), text)


def due_events(d: base.Desk, agent: str) -> list[p.FollowUpDue]:
    return [m for m in told(d, agent) if isinstance(m, p.FollowUpDue)]


def wait(d: base.Desk, seconds: float):
    d.clock.now += seconds
    d.engine.expire()
    d.drain()


# -- the rules -------------------------------------------------------------------------------
@pytest.mark.parametrize("ahead, ok", [
    (-1.0, False),
    (0.0, False),                       # now: not in the future
    (1.0, True),
    (MAX_AHEAD, True),                  # 90 days
    (MAX_AHEAD + 1, False),             # 90 days and a second
])
def test_the_time_is_after_now_and_at_most_90_days_ahead(ahead, ok):
    d = desk()
    at = d.clock.now + ahead
    if ok:
        assert d.engine.schedule_follow_up("1001", at, "Call Ana back") == "f-1"
        assert d.engine.follow_up_record_info("f-1")["at"] == at
    else:
        message = refused("bad_value", d.engine.schedule_follow_up, "1001", at, "Call Ana back")
        assert message.startswith("at: ")
        assert d.engine.follow_ups_info() == []


@pytest.mark.parametrize("at", [float("nan"), float("inf"), float("-inf")])
def test_a_time_that_is_no_time_is_refused(at):
    d = desk()
    assert refused("bad_value", d.engine.schedule_follow_up, "1001", at, "x").startswith("at:")


@pytest.mark.parametrize("note, ok", [
    ("", False),
    ("x", True),
    ("x" * p.FOLLOW_UP_NOTE_MAX, True),
    ("x" * (p.FOLLOW_UP_NOTE_MAX + 1), False),
    ("ß" * p.FOLLOW_UP_NOTE_MAX, True),             # characters, not bytes
    ("✓" * (p.FOLLOW_UP_NOTE_MAX + 1), False),
    ("   ", False),                                  # only spaces
    ("\u00a0\u2003", False),
    (" Zoë: call back ", True),
    ("line\nbreak", False),                          # no control character at all
    ("tab\there", False),
    ("bell\x07", False),
    ("del\x7f", False),
    ("\x85next", False),
    ("lone \ud800", False),
])
def test_the_note(note, ok):
    d = desk()
    at = d.clock.now + 60
    if ok:
        d.engine.schedule_follow_up("1001", at, note)
        assert d.engine.follow_up_record_info("f-1")["note"] == note      # kept as typed
    else:
        assert refused("bad_value", d.engine.schedule_follow_up, "1001", at,
                       note).startswith("note: ")


def test_the_time_is_checked_first_then_the_note_then_the_contact():
    d = desk()
    now = d.clock.now
    assert refused("bad_value", d.engine.schedule_follow_up, "1001", now, "", "c-9").startswith(
        "at:")
    assert refused("bad_value", d.engine.schedule_follow_up, "1001", now + 1, "",
                   "c-9").startswith("note:")
    refused("unknown_contact", d.engine.schedule_follow_up, "1001", now + 1, "x", "c-9")
    assert d.engine.follow_ups_info() == []


def test_the_contact_is_one_the_agent_has_or_had_and_its_number_is_kept():
    d = desk(text=TALKING + "hello 1002")
    now = d.clock.now
    d.engine.schedule_follow_up("1001", now + 60, "During the call", "c-1")
    refused("unknown_contact", d.engine.schedule_follow_up, "1002", now + 60, "Not mine", "c-1")
    refused("unknown_contact", d.engine.schedule_follow_up, "1001", now + 60, "None", "c-77")
    base.play(d, """
        call 1001 c-1 ended
        wrapup 1001 c-1 sale
        contact c-1 wrapped_up
    """)
    d.engine.schedule_follow_up("1001", now + 60, "After the wrap-up", "c-1")
    d.engine.schedule_follow_up("1001", now + 60, "No contact")
    info = [(f["id"], f["contact"], f["customer"]) for f in d.engine.follow_ups_info("1001")]
    assert info == [("f-1", "c-1", "+15550001234"), ("f-2", "c-1", "+15550001234"),
                    ("f-3", None, None)]


def test_a_contact_the_agent_was_offered_counts_as_had():
    d = desk(text="""
        hello 1001
        hello 1003
        available 1001
        post sales
        contact c-1 reserved 1001
        reject 1001 c-1
        available 1003
        contact c-1 reserved 1003
    """)
    d.engine.schedule_follow_up("1001", d.clock.now + 60, "Missed one", "c-1")
    assert d.engine.follow_up_record_info("f-1")["customer"] == "+15550001234"


def test_a_request_needs_a_login():
    d = desk(text="")
    refused("not_logged_in", d.engine.schedule_follow_up, "1001", d.clock.now + 60, "x")
    refused("not_logged_in", d.engine.follow_up_done, "1001", "f-1")


# -- the scheduler ---------------------------------------------------------------------------
def test_it_comes_due_at_its_time_with_an_event_and_stays_in_the_snapshot_until_done():
    d = desk(text=TALKING)
    now = d.clock.now
    d.engine.schedule_follow_up("1001", now + 60, "Call Maria back", "c-1")
    told(d, "1001")
    assert d.engine.snapshot("1001").follow_ups == []
    assert d.engine.next_deadline() == now + 60
    wait(d, 59.5)
    assert due_events(d, "1001") == []
    refused("not_allowed", d.engine.follow_up_done, "1001", "f-1")      # not due yet
    wait(d, 0.5)
    expected = p.FollowUp(id="f-1", at=now + 60, note="Call Maria back", contact="c-1",
                          customer="+15550001234")
    [event] = due_events(d, "1001")
    assert event == p.FollowUpDue(seq=event.seq, follow_up=expected)
    snapshot = d.engine.snapshot("1001")
    assert snapshot.follow_ups == [expected] and snapshot.seq >= event.seq
    info = d.engine.follow_up_record_info("f-1")
    assert (info["state"], info["due_at"], info["done_at"]) == ("due", now + 60, None)
    wait(d, 3600)
    assert due_events(d, "1001") == []                  # once
    d.engine.follow_up_done("1001", "f-1")
    d.engine.follow_up_done("1001", "f-1")              # done again: still an ack
    assert d.engine.snapshot("1001").follow_ups == []
    info = d.engine.follow_up_record_info("f-1")
    assert (info["state"], info["done_at"]) == ("done", now + 3660)
    assert told(d, "1001") == []                        # done is acked, no event


def test_another_agent_s_follow_up_or_none_is_unknown():
    d = desk(text="hello 1001\nhello 1002")
    d.engine.schedule_follow_up("1001", d.clock.now + 10, "Mine")
    wait(d, 10)
    refused("unknown_follow_up", d.engine.follow_up_done, "1002", "f-1")
    for nonsense in ("f-2", "f-0", "f-01", "1", "", "f-" + "9" * 30, "h-1"):
        refused("unknown_follow_up", d.engine.follow_up_done, "1001", nonsense)
    assert d.engine.follow_up_record_info("f-1")["state"] == "due"
    assert d.engine.snapshot("1002").follow_ups == []


def test_several_come_due_in_their_order_and_the_snapshot_lists_the_soonest_first():
    d = desk()
    now = d.clock.now
    for i, ahead in enumerate((30, 10, 20, 10)):
        d.engine.schedule_follow_up("1001", now + ahead, f"n{i}")
    wait(d, 10)
    assert [e.follow_up.note for e in due_events(d, "1001")] == ["n1", "n3"]
    wait(d, 20)
    assert [e.follow_up.note for e in due_events(d, "1001")] == ["n2", "n0"]
    assert [f.note for f in d.engine.snapshot("1001").follow_ups] == ["n1", "n3", "n2", "n0"]


def test_the_snapshot_lists_at_most_max_listed():
    d = desk()
    for i in range(MAX_LISTED + 2):
        d.engine.schedule_follow_up("1001", d.clock.now + 1 + i, f"n{i}")
    wait(d, MAX_LISTED + 2)
    listed = d.engine.snapshot("1001").follow_ups
    assert len(listed) == MAX_LISTED and listed[0].note == "n0"
    assert len(d.engine.follow_ups_info("1001", "due")) == MAX_LISTED + 2
    assert len(p.encode(d.engine.snapshot("1001"))) < p.MAX_MESSAGE_BYTES


def test_one_due_while_logged_out_is_in_the_snapshot_at_the_next_login():
    d = desk()
    d.engine.schedule_follow_up("1001", d.clock.now + 60, "While away")
    base.play(d, "logout 1001")
    told(d, "1001")
    wait(d, 120)
    assert told(d, "1001") == []                        # nobody to tell
    assert d.engine.follow_up_record_info("f-1")["state"] == "due"
    snapshot = d.engine.hello("1001", base.PINS["1001"])
    assert [f.note for f in snapshot.follow_ups] == ["While away"]
    d.engine.follow_up_done("1001", "f-1")
    assert d.engine.snapshot("1001").follow_ups == []


# -- restarts --------------------------------------------------------------------------------
def test_one_due_while_ccsim_was_down_fires_once_at_startup(tmp_path):
    db = tmp_path / "cc.db"
    first = desk(db=db)
    now = first.clock.now
    first.engine.schedule_follow_up("1001", now + 60, "Due while down")
    first.engine.schedule_follow_up("1001", now + 600, "Due later")
    first.store.close()                                 # killed

    first.clock.now = now + 300                         # down for five minutes
    second = base.Desk(db=db, clock=first.clock)
    assert second.engine.next_deadline() == now + 60
    second.engine.expire()                              # the server's first timer
    second.drain()
    [event] = due_events(second, "1001")                # the agent is still logged in
    assert (event.follow_up.id, event.follow_up.at) == ("f-1", now + 60)
    assert second.engine.follow_up_record_info("f-1")["due_at"] == now + 300
    second.engine.expire()
    second.drain()
    assert due_events(second, "1001") == []
    second.store.close()

    third = base.Desk(db=db, clock=first.clock)         # again: f-1 is not fired twice
    third.engine.expire()
    third.drain()
    assert due_events(third, "1001") == []
    assert [f.id for f in third.engine.snapshot("1001").follow_ups] == ["f-1"]
    wait(third, 300)                                    # f-2 was not lost
    assert [e.follow_up.id for e in due_events(third, "1001")] == ["f-2"]
    third.engine.follow_up_done("1001", "f-1")
    third.store.close()

    fourth = base.Desk(db=db, clock=first.clock)
    assert [f.id for f in fourth.engine.snapshot("1001").follow_ups] == ["f-2"]
    assert fourth.engine.next_deadline() is None
    assert fourth.engine.follow_up_record_info("f-1")["state"] == "done"
    assert fourth.engine.schedule_follow_up("1001", first.clock.now + 1, "next") == "f-3"


def test_a_refused_request_leaves_nothing_behind(tmp_path):
    db = tmp_path / "cc.db"
    d = desk(db=db)
    refused("bad_value", d.engine.schedule_follow_up, "1001", d.clock.now + 60, "")
    d.store.close()
    again = base.Desk(db=db, clock=d.clock)
    assert again.engine.follow_ups_info() == [] and again.engine.next_deadline() is None


# -- the admin API and the wire --------------------------------------------------------------
def test_the_admin_lists_them_by_agent_and_state():
    d = desk(text="hello 1001\nhello 1002")
    now = d.clock.now
    d.engine.schedule_follow_up("1001", now + 20, "a")
    d.engine.schedule_follow_up("1002", now + 10, "b")
    d.engine.schedule_follow_up("1001", now + 30, "c")
    wait(d, 20)
    d.engine.follow_up_done("1001", "f-1")
    assert [f["id"] for f in d.engine.follow_ups_info()] == ["f-2", "f-1", "f-3"]
    assert [f["id"] for f in d.engine.follow_ups_info("1001")] == ["f-1", "f-3"]
    assert [f["id"] for f in d.engine.follow_ups_info("", "due")] == ["f-2"]
    assert [f["id"] for f in d.engine.follow_ups_info("1001", "scheduled")] == ["f-3"]
    assert d.engine.follow_ups_info("9999") == []
    assert d.engine.follow_up_record_info("f-1") == {
        "id": "f-1", "agent": "1001", "at": now + 20, "note": "a", "contact": None,
        "customer": None, "state": "done", "created": now, "due_at": now + 20,
        "done_at": now + 20}
    assert d.engine.follow_up_record_info("f-9") is None


def test_over_the_wire_and_the_admin_api(tmp_path):
    text = base.SCENARIO.format(settings="")

    async def test(api, ws_url, http):
        async with http.ws_connect(ws_url) as ws:
            phone = load.Phone(ws)
            await phone.send(p.Hello(id="h", agent="1001", pin="1234"))
            snap = await phone.receive(p.Snapshot)
            assert snap.follow_ups == []
            now = time.time()
            await phone.send(p.ScheduleFollowUp(id="s1", at=now - 1, note="late"))
            error = await phone.receive(p.Error)
            assert (error.id, error.code) == ("s1", "bad_value")
            await phone.send(p.ScheduleFollowUp(id="s2", at=now + 0.3, note="Soon"))
            assert await phone.receive(p.Ack) == p.Ack(id="s2")
            await phone.send(p.ScheduleFollowUp(id="s3", at=now + 3600, note="Later",
                                                contact="c-5"))
            assert (await phone.receive(p.Error)).code == "unknown_contact"
            await phone.send(p.ScheduleFollowUp(id="s4", at=now + 3600, note="Later"))
            assert (await phone.receive(p.Ack)).id == "s4"
            listed = (await api.get("/followups?agent=1001&state=scheduled"))["follow_ups"]
            assert [(f["id"], f["note"], f["state"]) for f in listed] == [
                ("f-1", "Soon", "scheduled"), ("f-2", "Later", "scheduled")]
            due = await phone.receive(p.FollowUpDue)        # its timer, on the real clock
            assert (due.follow_up.id, due.follow_up.note) == ("f-1", "Soon")
            assert due.seq == snap.seq + 1
            await phone.send(p.FollowUpDone(id="d0", follow_up="f-2"))
            assert (await phone.receive(p.Error)).code == "not_allowed"
            await phone.send(p.Resync(id="r"))
            assert [f.id for f in (await phone.receive(p.Snapshot)).follow_ups] == ["f-1"]
            for rid in ("d1", "d2"):
                await phone.send(p.FollowUpDone(id=rid, follow_up="f-1"))
                assert (await phone.receive(p.Ack)).id == rid
            await phone.send(p.FollowUpDone(id="d3", follow_up="f-9"))
            assert (await phone.receive(p.Error)).code == "unknown_follow_up"
        assert (await api.get("/followups/f-1"))["state"] == "done"
        assert [f["id"] for f in (await api.get("/followups"))["follow_ups"]] == ["f-1", "f-2"]
        assert (await api.get("/followups?state=due"))["follow_ups"] == []
        assert (await api.get("/followups?agent=1002"))["follow_ups"] == []
        await api.get("/followups?state=bogus", 400)
        await api.get("/followups/f-9", 404)
        await api.get("/followups/nope", 404)

    load.serve(tmp_path / "cc.db", test, text)


def test_a_phone_off_while_one_came_due_gets_it_in_the_snapshot_after_a_restart(tmp_path):
    db, text = tmp_path / "cc.db", base.SCENARIO.format(settings="")

    async def first(api, ws_url, http):
        async with http.ws_connect(ws_url) as ws:
            phone = load.Phone(ws)
            await phone.send(p.Hello(id="h", agent="1001", pin="1234"))
            await phone.receive(p.Snapshot)
            await phone.send(p.ScheduleFollowUp(id="s", at=time.time() + 0.5, note="Back"))
            await phone.receive(p.Ack)

    async def second(api, ws_url, http):
        await asyncio.sleep(0.2)                       # the timer's first turn fires it
        assert (await api.get("/followups/f-1"))["state"] == "due"
        async with http.ws_connect(ws_url) as ws:
            phone = load.Phone(ws)
            await phone.send(p.Hello(id="h", agent="1001", pin="1234"))
            assert [f.note for f in (await phone.receive(p.Snapshot)).follow_ups] == ["Back"]

    load.serve(db, first, text)
    time.sleep(0.6)                                     # ccsim is down when it comes due
    load.serve(db, second, text)
