"""ccsim's dialer at scale (tools/ccsim/dialer.py, campaigns.py ``RecordBook``): pacing keeps
running counters and indexes of the campaign's records instead of reading them all on each
run. They must say what reading them all said (the reference functions below are the
dialer's before the books), through retries, do-not-call, abandons and a restart, and a run
must look at about as many records as it dials, whatever the size of the list.

Driven like test_ccsim_dialer.py (its Desk and script lines).
"""
from tests.unit import test_ccsim_engine as base
from tests.unit.test_ccsim_dialer import Desk, run
from tools.ccsim.campaigns import RecordBook


# -- the reference: what the dialer computed from all the records on each run ----------------
def old_dial_stats(e, cfg) -> dict:
    since = e.clock() - cfg.abandon_window_s
    dialed = answered = abandoned = connected = window_answered = window_abandoned = 0
    failed: dict[str, int] = {}
    for r in e._crecords[cfg.id]:
        for a in r.attempts:
            if not cfg.dialer and not a.get("outcome"):
                continue
            dialed += 1
            outcome = a.get("outcome", "")
            if outcome in ("answered", "connected", "abandoned"):
                answered += 1
                recent = a.get("answered_at", a.get("at", 0.0)) >= since
                window_answered += recent
                if outcome == "connected" or not cfg.dialer:
                    connected += 1
                elif outcome == "abandoned":
                    abandoned += 1
                    window_abandoned += recent
            elif outcome:
                failed[outcome] = failed.get(outcome, 0) + 1
    return {"dialed": dialed, "answered": answered, "abandoned": abandoned,
            "abandon_rate": window_abandoned / window_answered if window_answered else 0.0,
            "connected": connected, "failed": failed}


def old_do_not_call(e, campaign) -> set[str]:
    cfg = e._campaigns[campaign]
    return {r.number for r in e._crecords[campaign]
            if r.state == "done" and r.disposition in cfg.do_not_call
            and any(a.get("disposition") == r.disposition for a in r.attempts)}


def old_eligible(e, cfg, now) -> list:
    dnc = old_do_not_call(e, cfg.id)
    out = []
    for r in sorted(e._crecords[cfg.id], key=lambda r: r.order):
        if r.state != "pending" or r.number in dnc or not e._may_call(cfg, r, now):
            continue
        if r.attempts and now < r.attempts[-1].get("at", 0.0) + cfg.retry_s:
            continue
        out.append(r)
    return out


def agree(e):
    """The books say what the records say."""
    now = e.clock()
    for cid, cfg in e._campaigns.items():
        assert e._dial_stats(cfg) == old_dial_stats(e, cfg)
        assert e._do_not_call(cid) == old_do_not_call(e, cid)
        assert e._eligible(cfg, now) == old_eligible(e, cfg, now)
        assert e._eligible(cfg, now, 1) == old_eligible(e, cfg, now)[:1]
        records = e._crecords[cid]
        assert e._next_order(cid) == 1 + max(r.order for r in records)
        for r in records:
            assert e._books[cid].by_index[r.index] is r
        for c in e._live.values():
            if c.kind == "campaign" and c.campaign["id"] == cid:
                assert e._record_of(c) is next(r for r in records
                                               if r.index == c.campaign["record"])


def checked(desk: Desk, text: str) -> Desk:
    """Run the script, the books checked after each line."""
    for line in base.script(text):
        desk.run(line)
        agree(desk.engine)
    return desk


FIVE = """records = [
    {name = "Ana Ruiz", number = "5550101"},
    {name = "Tom Becker", number = "5550102"},
    {name = "Mei Chen", number = "5550103"},
    {name = "Ana again", number = "5550101"},
    {name = "Bo Lind", number = "5550105"},
]"""


def test_the_books_agree_with_the_records_through_a_day_and_a_restart(tmp_path):
    db = tmp_path / "cc.db"
    first = checked(Desk(mode="predictive", records=FIVE, db=db, retry_s=60), """
        hello 1001
        hello 1002
        available 1001
        available 1002
        start winter
        ended c-1.c busy (486)
        ended c-2.c no answer (480)
        bridge c-3.c answered
        bridge c-3.a1 answered
        call 1001 c-3 ended
        wrapup 1001 c-3 sold
        bridge c-4.c answered
        bridge c-4.a1 answered
        call 1002 c-4 ended
        wrapup 1002 c-4 do_not_call
        record 3 done do_not_call
        record 0 done do_not_call
        wait 61
    """)
    stats = first.stats()
    assert (stats["dialed"], stats["connected"], stats["failed"]) == (
        len([a for r in first.records().values() for a in r["attempts"]]), 2,
        {"busy": 1, "no_answer": 2})
    first.store.close()
    # a new Engine over the same store: the books are built again from the records
    second = checked(Desk(mode="predictive", records=FIVE, db=db, clock=first.clock,
                          retry_s=60, adopt={"legs": [
                              {"leg": c, "direction": "out", "state": "ringing",
                               "contact": c[:-2]}
                              for c in first.bridge.headers if c.endswith(".c")
                              and first.engine._live.get(c[:-2]) is not None
                              and first.engine._live[c[:-2]].status == "dialing"]}), """
        available 1001
        available 1002
        wait 61
    """)
    e = second.engine
    assert e._do_not_call("winter") == {"5550101"}
    assert e._dial_stats(e._campaigns["winter"]) == old_dial_stats(e, e._campaigns["winter"])
    # the books are what the records make of them, not what the first engine left behind
    fresh = RecordBook()
    cfg = e._campaigns["winter"]
    for r in e._crecords["winter"]:
        fresh.by_index[r.index] = r
    e._books["winter"], kept = fresh, e._books["winter"]
    for r in e._crecords["winter"]:
        e._index_record(r)
    assert (fresh.dnc, fresh.max_order, fresh.tally, fresh.failed, fresh.answered_at,
            fresh.abandoned_at) == (kept.dnc, kept.max_order, kept.tally, kept.failed,
                                    kept.answered_at, kept.abandoned_at)
    assert e._eligible(cfg, e.clock()) == old_eligible(e, cfg, e.clock())


def test_an_abandoned_customer_counts_in_the_window_until_it_slides_by():
    desk = checked(Desk(mode="predictive", more="abandon_window_s = 600", retry_s=3600), """
        hello 1001
        available 1001
        start winter
        idle 1001 lunch
        bridge c-1.c answered
        wait 3
        record 0 pending
    """)
    assert desk.stats()["abandoned"] == 1 and desk.stats()["abandon_rate"] == 1.0
    checked(desk, "wait 601")
    assert desk.stats()["abandoned"] == 1 and desk.stats()["abandon_rate"] == 0.0


class Untouchable(list):
    """A campaign's record list that pacing must not read through."""

    def __iter__(self):
        raise AssertionError("pacing walked all of the campaign's records")


def big(n: int, tz_first: int = 0) -> str:
    """n records; the first tz_first of them in Tokyo."""
    rows = ",\n".join(f'{{name = "R{i}", number = "5{i:07d}"'
                      + (', tz = "Asia/Tokyo"' if i < tz_first else "") + "}"
                      for i in range(n))
    return f"records = [\n{rows}]"


def test_pacing_a_campaign_of_20000_records_looks_at_what_it_dials():
    # the clock: 2023-11-14 22:13 UTC, 17:13 in New York, 07:13 (the 15th) in Tokyo
    desk = Desk(records=big(20_000, tz_first=10_000), retry_s=600,
                more='calling_hours = "09:00-21:00"\ntz = "America/New_York"')
    e = desk.engine
    e._crecords["winter"] = Untouchable(e._crecords["winter"])
    looked = e._records_looked
    run(desk, """
        hello 1001
        hello 1002
        available 1001
        available 1002
        start winter
        dials c-1.c:50010000 c-2.c:50010001
    """)
    # Tokyo's 10,000 records are outside their hours: skipped by zone, not one by one
    assert e._records_looked - looked == 2
    looked = e._records_looked
    run(desk, """
        ended c-1.c busy (486)
        dials c-3.c:50010002
        ended c-2.c busy (486)
        dials c-4.c:50010003
        ended c-3.c no answer (480)
        dials c-5.c:50010004
    """)
    # the busy ones wait for their retry at the end of the list: not looked at either
    assert e._records_looked - looked == 3
    looked = e._records_looked
    run(desk, """
        wait 36000
        ended c-4.c busy (486)
        ended c-5.c busy (486)
        dials c-6.c:50000000 c-7.c:50000001
    """)
    # 10 h later Tokyo is within its hours and New York is not
    assert e._records_looked - looked == 2
    e._crecords["winter"] = list(list.__iter__(e._crecords["winter"]))
    agree(e)


def test_a_do_not_call_number_and_a_reschedule_keep_the_books_right():
    desk = checked(Desk(records=FIVE), """
        hello 1001
        available 1001
        start winter
        bridge c-1.c answered
        bridge c-1.a1 answered
        call 1001 c-1 ended
        wrapup 1001 c-1 do_not_call
        record 3 done do_not_call
        bridge c-2.c answered
        bridge c-2.a1 answered
    """)
    e = desk.engine
    e.reschedule("1001", "c-2", "2023-11-15T10:00")
    agree(e)
    checked(desk, """
        call 1001 c-2 ended
        wrapup 1001 c-2 sold
        record 1 pending
        ended c-3.c busy (486)
    """)
    cfg = e._campaigns["winter"]
    r = e._crecords["winter"][1]
    assert r not in e._eligible(cfg, e.clock())
    assert r in e._eligible(cfg, r.not_before)
    assert e._eligible(cfg, r.not_before) == old_eligible(e, cfg, r.not_before)
