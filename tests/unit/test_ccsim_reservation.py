"""ccsim's standard and direct preview (tools/ccsim/reservation.py): the preview shown on a
reservation call the bridge places to the agent first; in standard preview the bridge then
calls the customer on it. Driven like test_ccsim_dialer.py (its Desk: a fake bridge, a fake
clock; the campaign "winter", agents 1001 and 1002, ring_s 20, rona_s 10, preview_s 30).

More script lines (besides test_ccsim_dialer's, test_ccsim_bridged's, test_ccsim_engine's):
    preview A C ACTION                  -- the agent's answer to the preview (call, skip, remove)
    fail A C REASON...                  -- the phone's call ended, with that reason
    shown A C [FIELD=VALUE ...]         -- the latest contact event A got for C: status,
                                           reservation (yes/no), token (yes: the reservation
                                           leg's; no), expires (seconds from now, 0: none),
                                           failed (_ for spaces)
"""
import pytest

from tests.unit import test_ccsim_dialer as dialer
from tests.unit import test_ccsim_engine as base
from tools.ccsim.engine import Engine
from tools.ccsim.scenario import ScenarioError, parse
from tools.ccsim.store import Store

CUSTOMER_URI = "sip:5550101@127.0.0.1:5062"


class Desk(dialer.Desk):
    def __init__(self, mode="standard_preview", **kw):
        super().__init__(mode=mode, **kw)

    def step(self, op, *a):
        if op == "preview":
            self.engine.preview(*a)
        elif op == "fail":
            self.engine.call_event(a[0], a[1], "ended", "customer", " ".join(a[2:]))
        elif op == "shown":
            c = self.last(a[0], a[1])
            token = self.bridge.headers.get(f"{a[1]}.a1", {}).get("X-CC-Token")
            got = {"status": c.status, "reservation": "yes" if c.reservation else "no",
                   "token": "yes" if c.token and c.token == token else
                   "no" if not c.token else "other",
                   "expires": f"{c.expires_at - self.clock.now:g}" if c.expires_at else "0",
                   "failed": c.failed.replace(" ", "_")}
            for item in a[2:]:
                key, value = item.split("=", 1)
                assert got[key] == value, (item, got)
        else:
            super().step(op, *a)


run = base.play


# 1001 Available in the started campaign: record 0 (Ana Ruiz) on its reservation call, up
RESERVED = """
    hello 1001
    available 1001
    start winter
    contact c-1 preview 1001
    bridged dial:c-1.a1:sip:1001@pbx
    bridge c-1.a1 ringing
    bridge c-1.a1 answered
    bridged
"""
# ... then called (standard): the bridge rings the customer
CALLING = RESERVED + """
    preview 1001 c-1 call
    contact c-1 dialing 1001
    bridged dial:c-1.c:""" + CUSTOMER_URI + """
    record 0 dialing
"""


def test_the_reservation_call_carries_the_token_and_the_preview_counts_down_from_its_answer():
    desk = run(Desk(), """
        hello 1001
        available 1001
        start winter
        contact c-1 preview 1001
        agent 1001 reserved
        record 0 previewing
        bridged dial:c-1.a1:sip:1001@pbx
        shown 1001 c-1 status=preview reservation=yes token=yes expires=0
        wait 4
        bridge c-1.a1 ringing
        shown 1001 c-1 expires=0
        preview 1001 c-1 call !not_allowed
        bridge c-1.a1 answered
        shown 1001 c-1 status=preview reservation=yes token=yes expires=30
        bridged
        wait 29
        contact c-1 preview
        wait 1
        contact c-1 skipped
        bridged hangup:c-1.a1 dial:c-2.a1:sip:1001@pbx
        shown 1001 c-2 status=preview reservation=yes expires=0
    """)
    first = next(m.contact for m in desk.sent["1001"] if getattr(m, "contact", None))
    assert desk.bridge.headers["c-1.a1"] == {"X-CC-Contact-Id": "c-1", "X-CC-Token": first.token}
    assert first.token and desk.last("1001", "c-1").token == ""        # skipped
    assert desk.engine.contact_info("c-2")["reservation"] == "ringing"
    assert desk.records()[1]["reservation"] == "ringing"
    assert desk.records()[0]["reservation"] is None


@pytest.mark.parametrize("mode", ["standard_preview", "direct_preview"])
def test_a_reservation_not_answered_gives_the_record_back_in_its_place_and_the_agent_rona(mode):
    run(Desk(mode=mode), """
        hello 1001
        available 1001
        start winter
        bridged dial:c-1.a1:sip:1001@pbx
        bridge c-1.a1 ringing
        wait 9
        contact c-1 preview
        wait 1
        contact c-1 withdrawn
        agent 1001 idle rona
        record 0 pending
        bridged hangup:c-1.a1
        available 1001
        contact c-2 preview 1001
        bridged dial:c-2.a1:sip:1001@pbx
        ended c-2.a1 declined (603)
        contact c-2 withdrawn
        agent 1001 idle rona
        bridged
        record 0 pending
        outcomes 0
    """)


def test_an_agent_who_asked_for_idle_keeps_it_and_a_free_agent_gets_the_record():
    run(Desk(records='records = [{name = "Ana Ruiz", number = "5550101"}]'), """
        hello 1001
        hello 1002
        available 1001
        start winter
        bridged dial:c-1.a1:sip:1001@pbx
        available 1002
        agent 1002 available
        idle 1001 lunch
        agent 1001 reserved pending=idle/lunch
        wait 10
        agent 1001 idle lunch
        contact c-1 withdrawn
        contact c-2 preview 1002
        bridged hangup:c-1.a1 dial:c-2.a1:sip:1002@pbx
    """)


def test_standard_call_rings_the_customer_on_the_reservation_then_joins_them():
    desk = run(Desk(), CALLING + """
        shown 1001 c-1 status=dialing reservation=yes token=yes
        call 1001 c-1 ringing
        call 1001 c-1 answered
        contact c-1 dialing
        bridge c-1.c ringing
        bridged
        participants c-1 customer:ringing:None agent:answered:None
        bridge c-1.c answered
        contact c-1 assigned 1001
        agent 1001 talking
        outcomes 0 answered
        bridged join:c-1:c-1.c join:c-1:c-1.a1
        participants c-1 customer:answered:c-1 agent:answered:c-1
        call 1001 c-1 held
        bridged leave:c-1.c music:c-1.c:on
        call 1001 c-1 resumed
        bridged music:c-1.c:off join:c-1:c-1.c
        call 1001 c-1 ended
        contact c-1 wrapup 1001
        bridged hangup:c-1.a1 hangup:c-1.c
        bridge c-1.a1 ended
        wrapup 1001 c-1 sale !unknown_code
        wrapup 1001 c-1 sold
        record 0 done sold
        bridged dial:c-2.a1:sip:1001@pbx
    """)
    assert desk.bridge.headers["c-1.c"] == {"X-CC-Contact-Id": "c-1"}
    assert desk.engine.campaign_info("winter")["stats"]["connected"] == 1


def test_standard_the_countdown_s_call_rings_the_customer_too():
    run(Desk(more='timeout_action = "call"'), RESERVED + """
        wait 30
        contact c-1 dialing 1001
        bridged dial:c-1.c:""" + CUSTOMER_URI + """
        bridge c-1.c answered
        contact c-1 assigned 1001
    """)


def test_standard_the_customer_hanging_up_ends_the_agent_s_call():
    run(Desk(), CALLING + """
        bridge c-1.c answered
        bridged join:c-1:c-1.c join:c-1:c-1.a1
        ended c-1.c far end hung up
        contact c-1 wrapup 1001
        bridged hangup:c-1.a1
    """)


def test_standard_a_busy_customer_fails_the_attempt_and_ends_the_reservation():
    desk = run(Desk(), CALLING + """
        ended c-1.c busy (486)
        contact c-1 wrapup 1001
        shown 1001 c-1 status=wrapup failed=busy_(486) token=no
        bridged hangup:c-1.a1
        fail 1001 c-1 no answer
        shown 1001 c-1 failed=busy_(486)
        wrapup 1001 c-1 sold
        record 0 done sold
    """)
    assert desk.records()[0]["attempts"][0]["outcome"] == "busy (486)"


@pytest.mark.parametrize("hang_up,reason", [
    ("call 1001 c-1 ended", "cancelled"),
    ("fail 1001 c-1 cancelled (487)", "cancelled_(487)"),
    ("ended c-1.a1 normal", "cancelled"),
])
def test_standard_the_agent_hanging_up_while_the_customer_rings_cancels_it(hang_up, reason):
    run(Desk(), CALLING + f"""
        bridge c-1.c ringing
        {hang_up}
        contact c-1 wrapup 1001
        shown 1001 c-1 failed={reason}
        bridged hangup:c-1.c{'' if hang_up.startswith('ended') else ' hangup:c-1.a1'}
        ended c-1.a1 normal
        call 1001 c-1 ended
        bridge c-1.c answered
        contact c-1 wrapup 1001
        bridged
    """)


def test_standard_a_customer_the_bridge_never_reports_is_given_up_no_answer():
    run(Desk(), CALLING + """
        wait 29
        contact c-1 dialing
        wait 1
        contact c-1 wrapup 1001
        shown 1001 c-1 failed=no_answer
        bridged hangup:c-1.c hangup:c-1.a1
    """)


def test_standard_hanging_up_the_reservation_in_preview_is_a_reject():
    run(Desk(), RESERVED + """
        ended c-1.a1 normal
        contact c-1 withdrawn
        agent 1001 idle rejected
        record 0 pending
        bridged
    """)


@pytest.mark.parametrize("action,status,state", [("skip", "skipped", "pending"),
                                                 ("remove", "removed", "removed")])
def test_skip_and_remove_hang_the_reservation_up(action, status, state):
    run(Desk(), RESERVED + f"""
        preview 1001 c-1 {action}
        contact c-1 {status}
        record 0 {state}
        bridged hangup:c-1.a1 dial:c-2.a1:sip:1001@pbx
    """)


def test_a_negotiated_logout_hangs_the_reservation_up():
    run(Desk(), RESERVED + """
        logout 1001
        contact c-1 withdrawn
        record 0 pending
        bridged hangup:c-1.a1
        agent 1001 idle pending=logged_out/
    """)


def test_direct_call_hangs_the_reservation_up_and_the_phone_dials():
    desk = run(Desk(mode="direct_preview"), RESERVED + """
        preview 1001 c-1 call
        contact c-1 dialing 1001
        shown 1001 c-1 status=dialing reservation=no token=no
        bridged hangup:c-1.a1
        dials
        call 1001 c-1 answered
        contact c-1 assigned 1001
        call 1001 c-1 ended
        contact c-1 wrapup 1001
        bridged
        wrapup 1001 c-1 sold
        record 0 done sold
    """)
    assert desk.engine.contact_info("c-1")["reservation"] == "released"


def test_direct_a_reservation_ending_in_preview_leaves_the_preview_for_the_phone_to_dial():
    run(Desk(mode="direct_preview"), RESERVED + """
        ended c-1.a1 normal
        contact c-1 preview 1001
        shown 1001 c-1 status=preview reservation=no
        agent 1001 reserved
        preview 1001 c-1 call
        contact c-1 dialing 1001
        bridged
        fail 1001 c-1 busy (486)
        contact c-1 wrapup 1001
        shown 1001 c-1 failed=busy_(486)
    """)


def test_the_call_limit_counts_a_standard_preview_s_call():
    desk = run(Desk(records=dialer.RECORDS + "\n[outbound]\ncall_limit = 1\n"), CALLING + """
        dials c-1.c:5550101
        hello 1002
        available 1002
        bridge c-2.a1 answered
        preview 1002 c-2 call !call_limit
        ended c-1.c busy (486)
        preview 1002 c-2 call
        dials c-2.c:5550102
    """)
    assert desk.engine.contact_info("c-2")["state"] == "dialing"


# -- restart -----------------------------------------------------------------------------------
def restarted(first: Desk, db, legs: list[dict], mode="standard_preview") -> Desk:
    first.store.close()
    return Desk(mode=mode, db=db, clock=first.clock, adopt={"legs": legs})


def leg(name: str, state: str = "answered") -> dict:
    return {"leg": name, "direction": "out", "state": state, "contact": name.split(".")[0]}


@pytest.mark.parametrize("mode,status,agent", [
    ("standard_preview", "withdrawn", "idle rejected"),
    ("direct_preview", "preview", "reserved")])
def test_a_restart_finds_the_reservation_call_gone(tmp_path, mode, status, agent):
    db = tmp_path / "cc.db"
    second = restarted(run(Desk(mode=mode, db=db), RESERVED), db, [], mode)
    run(second, f"""
        contact c-1 {status}
        agent 1001 {agent}
        bridged
    """)


def test_a_restart_keeps_a_reservation_up_and_one_answered_meanwhile_shows(tmp_path):
    db = tmp_path / "cc.db"
    first = run(Desk(db=db), RESERVED + """
        hello 1002
        available 1002
        bridged dial:c-2.a1:sip:1002@pbx
    """)
    second = restarted(first, db, [leg("c-1.a1"), leg("c-2.a1")])
    run(second, """
        contact c-1 preview 1001
        contact c-2 preview 1002
        shown 1002 c-2 expires=30
        bridged
        preview 1001 c-1 call
        bridged dial:c-1.c:""" + CUSTOMER_URI + """
    """)


def test_a_restart_while_the_customer_rings(tmp_path):
    db = tmp_path / "cc.db"
    second = restarted(run(Desk(db=db), CALLING), db, [leg("c-1.a1"), leg("c-1.c", "ringing")])
    run(second, """
        contact c-1 dialing 1001
        bridged
        bridge c-1.c answered
        contact c-1 assigned 1001
        bridged join:c-1:c-1.c join:c-1:c-1.a1
    """)


@pytest.mark.parametrize("legs,failed,hung_up", [
    (["c-1.a1"], "ended_while_ccsim_was_away", "hangup:c-1.a1"),
    (["c-1.c"], "cancelled", "hangup:c-1.c"),
    ([], "ended_while_ccsim_was_away", None)])
def test_a_restart_finds_a_leg_of_the_standard_call_gone(tmp_path, legs, failed, hung_up):
    db = tmp_path / "cc.db"
    second = restarted(run(Desk(db=db), CALLING), db, [leg(n, "ringing") for n in legs])
    run(second, f"""
        contact c-1 wrapup 1001
        shown 1001 c-1 failed={failed}
        bridged {hung_up or ''}
    """)


def test_a_restart_answered_meanwhile_joins_them(tmp_path):
    db = tmp_path / "cc.db"
    second = restarted(run(Desk(db=db), CALLING), db, [leg("c-1.a1"), leg("c-1.c")])
    run(second, """
        contact c-1 assigned 1001
        bridged join:c-1:c-1.c join:c-1:c-1.a1
    """)


def test_no_reservation_is_placed_before_the_bridge_s_legs_are_known(tmp_path):
    db = tmp_path / "cc.db"
    second = dialer.restarted_unadopted(run(Desk(db=db), "hello 1001\nstart winter"), db)
    run(second, """
        available 1001
        agent 1001 available
        bridged
    """)
    second.engine.adopt({"legs": []})
    run(second, """
        contact c-1 preview 1001
        bridged dial:c-1.a1:sip:1001@pbx
    """)


# -- the scenario ------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["standard_preview", "direct_preview"])
def test_a_reserving_campaign_needs_the_bridge(mode):
    text = base.SCENARIO.format(settings="") + dialer.CAMPAIGN.format(
        mode=mode, more="", records=dialer.RECORDS, retry_s=0)
    with pytest.raises(ScenarioError, match=rf"campaigns\[0\]: a {mode} campaign calls its "
                                            "agents through the media bridge"):
        parse(text.replace("started = false", "started = true"), "t.toml")
    engine = Engine(parse(text, "t.toml"), Store(":memory:"), base.Clock())
    engine.hello("1001", "1234")
    engine.set_state("1001", "available")
    with pytest.raises(ValueError, match="calls its agents through the media bridge"):
        engine.start_campaign("winter")
    assert engine.campaigns_info()[0]["status"] == "stopped"
    assert engine.snapshot("1001").contacts == []
    cfg = engine.scenario.campaigns[0]
    assert (cfg.previews, cfg.reserves, cfg.dialer) == (True, True, False)


def test_the_demo_has_a_standard_preview_campaign_whose_numbers_answer():
    from tools.ccsim.scenario import load
    s = load("tools/ccsim/scenarios/demo.toml")
    autumn = next(c for c in s.campaigns if c.id == "autumn")
    assert (autumn.mode, autumn.started, autumn.agents) == ("standard_preview", False,
                                                            ("1001",))
    assert all(r.number in s.customers.answer for r in autumn.records)
