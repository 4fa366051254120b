"""ccsim's dialer (tools/ccsim/dialer.py): progressive and predictive campaigns, driven like
test_ccsim_bridged.py (a fake bridge records what ccsim told it; the script feeds back what
the bridge would report) with a fake clock.

More script lines (besides test_ccsim_bridged's and test_ccsim_engine's):
    start CAMPAIGN | stop CAMPAIGN
    ended LEG REASON...                 -- the bridge: LEG ended, with that reason
    dials [LEG:NUMBER ...]              -- the calls to customers the bridge was told to place
                                           since last asked (agents' legs left out)
    record INDEX STATE [DISPOSITION]    -- the campaign's record now
    outcomes INDEX [OUTCOME ...]        -- its attempts' outcomes (_: none yet)
"""
from pathlib import Path

import pytest

from firmware.cc import protocol as p
from tests.unit import test_ccsim_bridged as bridged
from tests.unit import test_ccsim_engine as base
from tools.ccsim.customers import LAB_MODES, call_mode
from tools.ccsim.dialer import lab_outcome
from tools.ccsim.engine import Engine
from tools.ccsim.scenario import LAB_OUTCOMES, ScenarioError, campaign_from_json, parse
from tools.ccsim.store import Store

RECORDS = """records = [
    {name = "Ana Ruiz", number = "5550101"},
    {name = "Tom Becker", number = "5550102"},
    {name = "Mei Chen", number = "5550103"},
]"""
CAMPAIGN = """
[[campaigns]]
id = "winter"
name = "Winter deals"
mode = "{mode}"
agents = ["1001", "1002"]
started = false
ring_s = 20
max_attempts = 2
retry_s = {retry_s}
abandon_s = 2
message_s = 5
dispositions = [{{code = "sold", label = "Sold"}}, {{code = "do_not_call", label = "Do not call"}}]
{more}
{records}
"""


class Desk(bridged.Desk):
    def __init__(self, mode="progressive", more="", records=RECORDS, db=":memory:",
                 clock=None, adopt=None, retry_s=0):
        self.campaign = CAMPAIGN.format(mode=mode, more=more, records=records, retry_s=retry_s)
        super().__init__(db=db, clock=clock, more=self.campaign,
                         adopt={"legs": []} if adopt is None else adopt)
        self.dials_seen = 0

    def step(self, op, *a):
        e = self.engine
        if op == "start":
            assert e.start_campaign(a[0])
        elif op == "stop":
            assert e.stop_campaign(a[0])
        elif op == "ended":
            e.bridge_event({"event": "ended", "leg": a[0], "reason": " ".join(a[1:])})
        elif op == "dials":
            said = [s for s in self.bridge.said if s.startswith("dial:") and ".c:" in s]
            got = [f"{s.split(':')[1]}:{s.split(':')[3].split('@')[0]}"
                   for s in said[self.dials_seen:]]
            self.dials_seen = len(said)
            assert got == list(a), got
        elif op == "record":
            r = self.records()[int(a[0])]
            assert [r["state"], r["disposition"]][:len(a) - 1] == list(a[1:]), r
        elif op == "outcomes":
            r = self.records()[int(a[0])]
            assert [x["outcome"] or "_" for x in r["attempts"]] == list(a[1:]), r
        else:
            super().step(op, *a)

    def records(self) -> dict[int, dict]:
        return {r["index"]: r for r in self.engine.campaign_info("winter")["records"]}

    def stats(self) -> dict:
        return self.engine.campaign_info("winter")["stats"]

    def last(self, agent, contact) -> p.Contact:
        return [m.contact for m in self.sent.get(agent, [])
                if isinstance(m, p.ContactUpdate) and m.contact.id == contact][-1]


run = base.play


def test_progressive_dials_one_call_per_free_agent_and_offers_the_answered_customer():
    desk = run(Desk(), """
        hello 1001
        hello 1002
        available 1001
        dials
        start winter
        dials c-1.c:5550101
        record 0 dialing
        contact c-1 dialing
        available 1002
        dials c-2.c:5550102
        bridge c-1.c ringing
        dials
        bridge c-1.c answered
        contact c-1 reserved 1001
        outcomes 0 answered
        bridge c-1.a1 ringing
        contact c-1 offered 1001
        bridge c-1.a1 answered
        contact c-1 assigned 1001
        outcomes 0 connected
        participants c-1 customer:answered:c-1 agent:answered:c-1
    """)
    assert desk.bridge.headers["c-1.c"] == {"X-CC-Contact-Id": "c-1"}
    offer = next(m.contact for m in desk.sent["1001"]
                 if isinstance(m, p.ContactUpdate) and m.contact.status == "offered")
    assert (offer.kind, offer.campaign, offer.customer, offer.ani, offer.queue,
            offer.auto_answer) == ("campaign", "winter", "Ana Ruiz", "5550101", "", False)
    assert offer.token == desk.bridge.headers["c-1.a1"]["X-CC-Token"]
    # the call ends; wrapped up with a disposition: done, and the freed agent gets the next
    run(desk, """
        call 1001 c-1 ended
        contact c-1 wrapup 1001
        wrapup 1001 c-1 sale !unknown_code
        wrapup 1001 c-1 sold
        record 0 done sold
        dials c-3.c:5550103
    """)
    stats = desk.stats()
    assert (stats["dialed"], stats["answered"], stats["connected"], stats["abandoned"]) == (
        3, 1, 1, 0)


def test_answered_with_no_agent_free_waits_on_music_in_progressive():
    desk = run(Desk(), """
        hello 1001
        available 1001
        start winter
        dials c-1.c:5550101
        idle 1001 lunch
        bridge c-1.c answered
        contact c-1 queued
        participants c-1 customer:answered:None
        wait 60
        contact c-1 queued
        available 1001
        contact c-1 reserved 1001
        dials
    """)
    assert desk.stats()["abandoned"] == 0


def test_a_busy_number_is_retried_then_done_busy():
    desk = run(Desk(records='records = [{name = "Omar Haddad", number = "5550199"}]'), """
        hello 1001
        available 1001
        start winter
        dials c-1.c:5550199
        ended c-1.c busy (486)
        contact c-1 failed
        outcomes 0 busy _
        dials c-2.c:5550199
        record 0 dialing
        ended c-2.c busy (486)
        record 0 done busy
        outcomes 0 busy busy
        dials
        agent 1001 available
    """)
    assert desk.records()[0]["attempts"][0]["reason"] == "busy (486)"
    assert desk.stats()["failed"] == {"busy": 2}


def test_no_answer_and_a_failed_call_map_to_their_outcomes_and_wait_for_retry_s():
    run(Desk(retry_s=30), """
        hello 1001
        available 1001
        start winter
        dials c-1.c:5550101
        ended c-1.c no answer
        outcomes 0 no_answer
        dials c-2.c:5550102
        ended c-2.c not found (404)
        outcomes 1 failed
        dials c-3.c:5550103
        ended c-3.c no answer
        dials
        wait 10
        dials
        wait 25
        dials c-4.c:5550101
    """)


def test_the_dialer_gives_up_a_call_the_bridge_never_reports():
    run(Desk(), """
        hello 1001
        available 1001
        start winter
        dials c-1.c:5550101
        wait 31
        contact c-1 failed
        outcomes 0 no_answer
        dials c-2.c:5550102
    """)


def test_a_customer_who_hangs_up_waiting_is_abandoned_and_retried():
    desk = run(Desk(), """
        hello 1001
        available 1001
        start winter
        idle 1001 lunch
        bridge c-1.c answered
        ended c-1.c far end hung up
        contact c-1 abandoned
        record 0 pending
        outcomes 0 abandoned
    """)
    assert desk.stats()["abandon_rate"] == 1.0


def test_predictive_abandons_a_customer_no_agent_took_within_abandon_s():
    desk = run(Desk(mode="predictive"), """
        hello 1001
        available 1001
        start winter
        dials c-1.c:5550101
        idle 1001 lunch
        bridge c-1.c answered
        contact c-1 queued
        wait 1
        contact c-1 queued
        wait 1
        contact c-1 abandoned
        outcomes 0 abandoned
        record 0 pending
        wait 4
    """)
    assert "hangup:c-1.c" not in desk.bridge.said          # the message (hold music) plays
    run(desk, "wait 1")
    assert desk.bridge.said[-1] == "hangup:c-1.c"
    stats = desk.stats()
    assert (stats["answered"], stats["abandoned"], stats["abandon_rate"]) == (1, 1, 1.0)


def test_predictive_offers_auto_answer_and_dials_more_than_the_free_agents():
    desk = run(Desk(mode="predictive", records="""records = [
        {name = "R0", number = "5550100"}, {name = "R1", number = "5550101"},
        {name = "R2", number = "5550102"}, {name = "R3", number = "5550103"},
        {name = "R4", number = "5550104"}, {name = "R5", number = "5550105"}]"""), """
        hello 1001
        available 1001
        start winter
        dials c-1.c:5550100
        ended c-1.c no answer
        dials c-2.c:5550101
        bridge c-2.c answered
        contact c-2 reserved 1001
        bridge c-2.a1 answered
        contact c-2 assigned 1001
        call 1001 c-2 ended
        wrapup 1001 c-2 sold
        dials c-3.c:5550102 c-4.c:5550103
    """)
    offer = [m.contact for m in desk.sent["1001"]
             if isinstance(m, p.ContactUpdate) and m.contact.id == "c-2"]
    assert [c.auto_answer for c in offer if c.status in ("reserved", "offered")] == [True]
    assert not any(c.auto_answer for c in offer if c.status not in ("reserved", "offered"))


def test_calling_hours_in_each_record_s_time_zone():
    # the clock: 2023-11-14 22:13 UTC, 17:13 in New York
    desk = run(Desk(more='calling_hours = "09:00-21:00"', records="""records = [
        {name = "Ana Ruiz", number = "5550101"},
        {name = "Tom Becker", number = "5550102", tz = "America/New_York"}]"""), """
        hello 1001
        available 1001
        start winter
        dials c-1.c:5550102
        ended c-1.c busy (486)
        dials c-2.c:5550102
        ended c-2.c busy (486)
        record 1 done busy
        dials
        wait 36000
        dials
        wait 3600
        dials c-3.c:5550101
    """)
    assert desk.engine.campaign_info("winter")["calling_hours"] == "09:00-21:00"


def test_calling_hours_hold_for_previews_too():
    from tests.unit import test_ccsim_campaigns as previews
    desk = previews.Desk()
    text = (base.SCENARIO.format(settings="") + previews.campaign()
            + 'calling_hours = "09:00-17:00"\n')
    desk.engine = Engine(parse(text, "t.toml"), Store(":memory:"), desk.clock, desk.customers)
    previews.run(desk, """
        hello 1001
        available 1001
        start spring
        agent 1001 available
        wait 39600
        agent 1001 available
        available 1001
        agent 1001 reserved
    """)


def test_a_do_not_call_disposition_bars_the_number_for_the_whole_campaign():
    desk = run(Desk(records="""records = [
        {name = "Ana Ruiz", number = "5550101"},
        {name = "Tom Becker", number = "5550102"},
        {name = "Ana again", number = "5550101"}]"""), """
        hello 1001
        available 1001
        start winter
        dials c-1.c:5550101
        bridge c-1.c answered
        bridge c-1.a1 answered
        call 1001 c-1 ended
        wrapup 1001 c-1 do_not_call
        record 0 done do_not_call
        record 2 done do_not_call
        dials c-2.c:5550102
    """)
    assert desk.engine.campaign_info("winter")["do_not_call"] == ["do_not_call"]


def test_a_restart_mid_campaign_adopts_the_calls_and_dials_no_record_twice(tmp_path):
    db = tmp_path / "cc.db"
    first = run(Desk(db=db), """
        hello 1001
        hello 1002
        available 1001
        available 1002
        start winter
        dials c-1.c:5550101 c-2.c:5550102
        bridge c-1.c answered
        contact c-1 reserved 1001
    """)
    first.store.close()
    listing = {"legs": [
        {"leg": "c-1.c", "direction": "out", "state": "answered", "contact": "c-1"},
        {"leg": "c-1.a1", "direction": "out", "state": "ringing", "contact": "c-1"},
        {"leg": "c-2.c", "direction": "out", "state": "ringing", "contact": "c-2"}]}
    second = run(Desk(db=db, clock=first.clock, adopt=listing), """
        bridged music:c-1.c:on
        contact c-1 offered 1001
        contact c-2 dialing
        record 0 dialing
        record 1 dialing
        record 2 pending
        dials
        ended c-2.c busy (486)
        record 1 pending
        dials c-3.c:5550103
        bridge c-1.a1 answered
        contact c-1 assigned 1001
    """)
    assert [len(r["attempts"]) for r in second.records().values()] == [1, 1, 1]


def test_a_restart_finds_a_call_gone_and_counts_it_failed(tmp_path):
    db = tmp_path / "cc.db"
    first = run(Desk(db=db), """
        hello 1001
        available 1001
        start winter
        dials c-1.c:5550101
    """)
    first.store.close()
    second = run(Desk(db=db, clock=first.clock, adopt={"legs": []}), """
        contact c-1 failed
        outcomes 0 failed
        record 0 pending
        dials c-2.c:5550102
    """)
    assert second.engine.next_deadline() is not None            # the pace timer


def restarted_unadopted(first: Desk, db) -> Desk:
    """``first`` (a Desk on ``db``) gone, and a ccsim restarted on its database whose bridge's
    legs are not known yet (no ``adopt``)."""
    first.store.close()
    second = type(first).__new__(type(first))
    bridged.Desk.__init__(second, db=db, clock=first.clock, more=first.campaign, adopt=None)
    second.dials_seen = 0
    return second


def test_nothing_is_dialed_before_the_bridge_s_legs_are_known(tmp_path):
    db = tmp_path / "cc.db"
    second = restarted_unadopted(run(Desk(db=db), "hello 1001\nstart winter"), db)
    run(second, """
        available 1001
        dials
    """)
    second.engine.adopt({"legs": []})
    run(second, "dials c-1.c:5550101")


def test_a_dialing_campaign_needs_the_bridge():
    text = base.SCENARIO.format(settings="") + CAMPAIGN.format(
        mode="progressive", more="", records=RECORDS, retry_s=0)
    with pytest.raises(ScenarioError, match=r"campaigns\[0\]: a progressive campaign .*bridge"):
        parse(text.replace("started = false", "started = true"), "t.toml")
    engine = Engine(parse(text, "t.toml"), Store(":memory:"), base.Clock())
    with pytest.raises(ValueError, match="media bridge"):
        engine.start_campaign("winter")
    assert engine.campaigns_info()[0]["status"] == "stopped"


@pytest.mark.parametrize("more,error", [
    ('calling_hours = "9-17"', "calling_hours: expected HH:MM-HH:MM"),
    ('calling_hours = "10:00-10:00"', "calling_hours: an empty"),
    ('tz = "Mars/Olympus"', "tz: not a time zone"),
    ('do_not_call = ["nope"]', "do_not_call: 'nope' is not one of its dispositions"),
    ("max_ratio = 0.5", "max_ratio: must be >= 1"),
    ("abandon_limit = 2", "abandon_limit: a rate"),
    ('message = "jingle"', "message: one of music"),
    ("outcomes = {answer = 0.5, ringing = 0.5}", r"outcomes: unknown outcome 'ringing'"),
    ("outcomes = {answer = 1.5, busy = -0.5}", r"outcomes.answer: a rate, 0 to 1, got 1.5"),
    ("outcomes = {answer = 0.5, busy = -0.1, no_answer = 0.6}", r"outcomes.busy: a rate"),
    ("outcomes = {answer = true}", r"outcomes.answer: a rate, 0 to 1, got True"),
    ("outcomes = {answer = 0.5, busy = 0.4}", r"outcomes: the rates must add up to 1, got 0.9"),
    ("outcomes = 0.5", r"outcomes: expected a table of rates"),
])
def test_bad_dialer_keys_are_refused(more, error):
    text = (base.SCENARIO.format(settings="") + bridged.BRIDGE
            + CAMPAIGN.format(mode="predictive", more=more, records=RECORDS, retry_s=0))
    with pytest.raises(ScenarioError, match=error):
        parse(text, "t.toml")


def test_a_record_s_bad_time_zone_is_refused():
    text = (base.SCENARIO.format(settings="") + bridged.BRIDGE + CAMPAIGN.format(
        mode="progressive", more="", retry_s=0,
        records='records = [{name = "A", number = "1", tz = "Nowhere/Land"}]'))
    with pytest.raises(ScenarioError, match=r"records\[0\].tz: not a time zone"):
        parse(text, "t.toml")


def test_auto_answer_speaker_is_a_setting_the_phones_get():
    assert Desk().engine.settings.auto_answer_speaker is False
    scenario = parse(base.SCENARIO.format(settings="auto_answer_speaker = true"), "t.toml")
    assert scenario.settings.auto_answer_speaker is True
    engine = Engine(scenario, Store(":memory:"), base.Clock())
    engine.hello("1001", "1234")
    assert engine.snapshot("1001").settings.auto_answer_speaker is True


def test_the_demo_has_a_progressive_campaign_whose_numbers_answer():
    from tools.ccsim.scenario import load
    s = load("tools/ccsim/scenarios/demo.toml")
    winter = next(c for c in s.campaigns if c.id == "winter")
    assert (winter.mode, winter.started, winter.agents) == ("progressive", False, ("1001",))
    assert all(r.number in s.customers.answer + s.customers.machine for r in winter.records)


# -- the lab's simulated outcomes (a campaign's ``outcomes``) ------------------------------------
OUTCOMES = "outcomes = {answer = 0.5, busy = 0.1, no_answer = 0.3, machine = 0.1}"


def outcomes_of(more: str) -> tuple:
    return Desk(more=more).engine.scenario.campaigns[0].outcomes


def test_a_campaign_s_outcomes_are_kept_in_order_and_default_to_none():
    assert outcomes_of("") == ()
    assert outcomes_of("outcomes = {}") == ()
    assert outcomes_of("outcomes = {machine = 0.1, no_answer = 0.3, busy = 0.1, answer = 0.5}"
                       ) == (("answer", 0.5), ("busy", 0.1), ("no_answer", 0.3),
                             ("machine", 0.1))
    # rounding is forgiven (1e-6); a rate of 0 is a rate
    assert outcomes_of("outcomes = {answer = 0.7, busy = 0.2, no_answer = 0.1000004, "
                       "machine = 0}")[-1] == ("machine", 0.0)


def test_the_admin_api_s_campaign_takes_outcomes_too():
    body = {"id": "api", "name": "API", "mode": "progressive",
            "dispositions": [{"code": "sold", "label": "Sold"}],
            "outcomes": {"busy": 0.25, "answer": 0.75}}
    cfg = campaign_from_json(body, ["1001"], Path("."))
    assert cfg.outcomes == (("answer", 0.75), ("busy", 0.25))
    with pytest.raises(ScenarioError, match=r"^campaign.outcomes: the rates must add up to 1"):
        campaign_from_json({**body, "outcomes": {"answer": 0.75}}, ["1001"], Path("."))
    with pytest.raises(ScenarioError, match=r"^campaign.outcomes.busy: a rate"):
        campaign_from_json({**body, "outcomes": {"answer": 0.75, "busy": "a lot"}}, ["1001"],
                           Path("."))


def test_the_lab_outcome_is_the_same_for_the_same_call_and_drawn_at_the_rates():
    rates = (("answer", 0.5), ("busy", 0.1), ("no_answer", 0.3), ("machine", 0.1))
    assert lab_outcome((), "winter", 0, 1) is None
    assert lab_outcome({}, "winter", 0, 1) is None
    first = [lab_outcome(rates, "winter", i, 1) for i in range(200)]
    assert first == [lab_outcome(rates, "winter", i, 1) for i in range(200)]
    assert first == [lab_outcome(dict(reversed(rates)), "winter", i, 1) for i in range(200)]
    # another attempt, another campaign: other draws
    assert first != [lab_outcome(rates, "winter", i, 2) for i in range(200)]
    assert first != [lab_outcome(rates, "spring", i, 1) for i in range(200)]
    # seeded by "<campaign>:<record>:<attempt>": the same draws on every machine and run
    assert [lab_outcome(rates, "winter", i, a) for i, a in ((0, 1), (1, 1), (2, 1), (0, 2))] \
        == ["no_answer", "machine", "answer", "answer"]
    n = 10_000
    drawn = [lab_outcome(rates, "winter", i, 1 + i % 3) for i in range(n)]
    for outcome, rate in rates:
        assert abs(drawn.count(outcome) / n - rate) < 0.02, (outcome, drawn.count(outcome))
    assert {lab_outcome({"busy": 1.0}, "w", i, 1) for i in range(100)} == {"busy"}
    assert {lab_outcome({"answer": 0.0, "no_answer": 1.0}, "w", i, 1)
            for i in range(100)} == {"no_answer"}


def test_the_dialer_sends_its_lab_outcome_and_keeps_what_the_bridge_reports():
    desk = run(Desk(more=OUTCOMES), """
        hello 1001
        available 1001
        start winter
        dials c-1.c:5550101
        ended c-1.c no answer
        outcomes 0 no_answer
        dials c-2.c:5550102
        bridge c-2.c answered
        outcomes 1 answered
    """)
    cfg = desk.engine.scenario.campaigns[0]
    assert desk.bridge.headers["c-1.c"] == {"X-CC-Contact-Id": "c-1",
                                            "X-Lab-Outcome": lab_outcome(cfg.outcomes,
                                                                         "winter", 0, 1)}
    # drawn: a machine; what the bridge said (the number answered): the attempt's outcome
    assert desk.bridge.headers["c-2.c"]["X-Lab-Outcome"] == "machine" == lab_outcome(
        cfg.outcomes, "winter", 1, 1)
    # the record's second attempt draws again, as the second
    run(desk, """
        hello 1002
        available 1002
        dials c-3.c:5550103
        ended c-3.c busy (486)
        dials c-4.c:5550101
    """)
    assert desk.bridge.headers["c-4.c"]["X-Lab-Outcome"] == lab_outcome(cfg.outcomes,
                                                                          "winter", 0, 2)
    # whatever was drawn, the attempts' outcomes are the bridge's
    assert [a["outcome"] for a in desk.records()[0]["attempts"]] == ["no_answer", ""]


def test_a_campaign_with_one_certain_outcome_tells_it_on_every_call():
    desk = run(Desk(more="outcomes = {busy = 1.0}"), """
        hello 1001
        hello 1002
        available 1001
        available 1002
        start winter
        dials c-1.c:5550101 c-2.c:5550102
    """)
    assert [desk.bridge.headers[leg].get("X-Lab-Outcome") for leg in ("c-1.c", "c-2.c")] == [
        "busy", "busy"]


@pytest.mark.parametrize("mode,asked,then", [
    ("answer", "busy", "refuse"), ("answer", "no_answer", "ring"),
    ("answer", "machine", "machine"), ("answer", "answer", "answer"), ("answer", None, "answer"),
    ("answer", "voicemail", "answer"), ("refuse", "answer", "refuse"), ("ring", "machine", "ring"),
    ("machine", "busy", "machine"), ("ring", None, "ring"),
])
def test_an_answer_number_acts_out_the_lab_outcome_the_others_ignore_it(mode, asked, then):
    """customers.py: what a called number does with a call carrying X-Lab-Outcome."""
    headers = {"X-CC-Contact-Id": "c-1", **({"X-Lab-Outcome": asked} if asked else {})}
    assert call_mode(mode, headers) == then
    assert call_mode(mode, {k.lower(): v for k, v in headers.items()}) == then
    assert set(LAB_MODES) == set(LAB_OUTCOMES)
