"""ccsim's recording rules (docs/cc-protocol.md, "Recording") with the bridge holding the calls,
in test_ccsim_consult.py's script: a recorded queue's contact is recorded by the bridge from
when the customer and the agent first talk until the call is over; the agent in control pauses
and resumes it, never in a consult or a conference; a pause resumes by itself after the
admin's time; everything survives a restart.

More script lines (besides test_ccsim_conference's):
    pause A C | resume A C                        -- the agent's requests
    rec A C -|on|paused[:SECONDS_LEFT]            -- the recording as A's phone has it
    recorded C STATE PAUSES                       -- the admin view: state, pauses so far
"""
import pytest

from tests.unit import test_ccsim_conference as conference
from tests.unit import test_ccsim_consult as consult
from tests.unit import test_ccsim_engine as base
from tools.ccsim.scenario import parse

RECORDED = """
[recording]
dir = "{dir}"
auto_resume_s = 30
"""

TALKING = consult.TALKING.replace(
    "bridged music:in-1:off join:c-1:in-1 join:c-1:c-1.a1",
    "bridged music:in-1:off join:c-1:in-1 join:c-1:c-1.a1 record:c-1")


class Desk(conference.Desk):
    def __init__(self, tmp_path, recorded=True, **kw):
        self._dir, self._recorded = tmp_path, recorded
        super().__init__(**kw)

    def step(self, op, *a):
        e = self.engine
        if op == "pause":
            e.pause_recording(*a)
        elif op == "resume":
            e.resume_recording(*a)
        elif op == "rec":
            rec = self.last(a[0], a[1]).recording
            seen = ("-" if rec is None else f"paused:{rec.resumes_at - self.clock.now:g}"
                    if rec.paused else "on")
            assert seen == a[2], (seen, rec)
        elif op == "recorded":
            info = e.contact_info(a[0])["recording"]
            assert info["state"] == a[1], info
            assert len(info["pauses"]) == int(a[2]), info
            assert info["file"] == str(self._dir / f"{a[0]}.wav")
        else:
            super().step(op, *a)


@pytest.fixture(autouse=True)
def recorded_scenario(monkeypatch, tmp_path):
    """Every Desk here parses its scenario with the sales queue recorded."""
    def recorded(text, name):
        text = text.replace('name = "sales"', 'name = "sales"\nrecord = true', 1)
        return parse(text + RECORDED.format(dir=tmp_path), name)
    monkeypatch.setattr("tests.unit.test_ccsim_bridged.parse", recorded)


def _record_ops(bridge):
    bridge.record = lambda room, file: bridge.said.append(f"record:{room}")
    bridge.record_pause = lambda room, paused: bridge.said.append(
        f"record_pause:{room}:{'on' if paused else 'off'}")
    bridge.record_stop = lambda room: bridge.said.append(f"record_stop:{room}")


def desk(tmp_path, **kw) -> Desk:
    d = Desk(tmp_path, **kw)
    _record_ops(d.bridge)
    return d


CASES = {
    "recorded from the first talk; the agent pauses, resumes; the end stops it": TALKING + """
        rec 1001 c-1 on
        recorded c-1 on 0
        pause 1001 c-1
        bridged record_pause:c-1:on
        rec 1001 c-1 paused:30
        wait 10
        rec 1001 c-1 paused:20
        pause 1001 c-1 !not_allowed
        resume 1001 c-1
        bridged record_pause:c-1:off
        rec 1001 c-1 on
        resume 1001 c-1 !not_allowed
        recorded c-1 on 1
        hangup c-1
        bridged record_stop:c-1 hangup:c-1.a1 hangup:in-1
        recorded c-1 stopped 1
    """,
    "a pause resumes by itself after the admin's time": TALKING + """
        pause 1001 c-1
        bridged record_pause:c-1:on
        wait 29
        rec 1001 c-1 paused:1
        wait 1
        bridged record_pause:c-1:off
        rec 1001 c-1 on
        recorded c-1 on 1
    """,
    "no pause or resume during a consult, nor in a conference": TALKING + """
        pause 1001 c-1
        bridged record_pause:c-1:on
        available 1002
        consult 1001 c-1 agent 1002
        bridged leave:in-1 music:in-1:on dial:c-1.t2:sip:1002@pbx dial:c-1.k2:sip:1001@pbx
        resume 1001 c-1 !not_allowed
        pause 1001 c-1 !not_allowed
        bridge c-1.k2 answered
        bridge c-1.t2 answered
        bridged music:c-1.k2:on music:c-1.k2:off join:c-1.k:c-1.k2 join:c-1.k:c-1.t2
        conference 1001 c-1
        bridged hangup:c-1.k2 music:in-1:off join:c-1:in-1 join:c-1:c-1.t2
        resume 1001 c-1 !not_allowed
        pause 1002 c-1 !not_allowed
        rec 1002 c-1 paused:30
    """,
}


@pytest.mark.parametrize("name", CASES)
def test_recording(tmp_path, name):
    consult.run(desk(tmp_path), CASES[name])


def test_a_queue_not_recorded_has_no_recording(tmp_path, monkeypatch):
    monkeypatch.setattr("tests.unit.test_ccsim_bridged.parse", parse)
    d = desk(tmp_path)
    consult.run(d, consult.TALKING + """
        rec 1001 c-1 -
        pause 1001 c-1 !not_allowed
    """)
    assert d.engine.contact_info("c-1")["recording"] is None


def test_a_pause_and_its_time_left_survive_a_restart(tmp_path):
    db = str(tmp_path / "ccsim.db")
    d = desk(tmp_path, db=db)
    consult.run(d, TALKING + """
        pause 1001 c-1
        bridged record_pause:c-1:on
        wait 12
    """)
    again = desk(tmp_path, db=db, clock=d.clock)
    info = again.engine.contact_info("c-1")["recording"]
    assert info["state"] == "paused" and info["resumes_at"] == d.clock.now + 18
    d.clock.now += 18
    again.engine.expire()
    assert again.bridge.said == ["record_pause:c-1:off"]
    assert again.engine.contact_info("c-1")["recording"]["state"] == "on"


def test_the_scenario_says_the_bridge_records():
    text = base.SCENARIO.format(settings="").replace(
        'name = "sales"', 'name = "sales"\nrecord = true', 1)
    with pytest.raises(Exception, match="the bridge records"):
        parse(text, "test.toml")
