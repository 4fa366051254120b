"""Recording on the phone (docs/cc-protocol.md, "Recording"), as rules: the server says the
contact records; the call screen shows REC, or REC‖ with the time until the pause resumes by
itself; the 4th softkey pauses and resumes (the server does it: the phone records nothing);
in a consult or a conference it is refused in words, and so are the server's refusals."""
import pytest

from firmware.core import events as ev
from firmware.core.effects import CcPauseRecording, CcResumeRecording
from firmware.core.events import Conference, ConsultLeg, Recording
from firmware.ui.glyphs import PAUSED as PAUSED_GLYPH
from tests.unit.test_agent_rules import NOW, agent, contact, offered, run
from tests.unit.test_conference import PEOPLE
from tests.unit.test_consult import CONSULT_TOKEN, consult_invite, lcd, softkeys

ON, PAUSED = Recording(), Recording(paused=True, resumes_at=NOW + 42)


def recorded(rec=ON, **kw):
    """Talking on c1, which the server records (``rec``)."""
    return agent(*offered("c1", "k1"), ev.Key("soft1"), ev.SipCallState("k1", "established"),
                 ev.CcContact(contact("c1", "assigned", recording=rec, **kw)))


def test_a_recorded_call_shows_rec_and_a_pause_key():
    m = recorded()
    assert lcd(m)[2].endswith(" REC")
    assert softkeys(m).split() == ["Hold", "End", "Vars", "Pause"]


def test_pause_asks_the_server_which_pauses_it_then_rec_paused_counts_down():
    m, fx = run(recorded(), ev.Key("soft4"))
    assert fx == (CcPauseRecording("c1"),)
    m, _ = run(m, ev.CcContact(contact("c1", "assigned", recording=PAUSED)))
    assert lcd(m)[2].endswith("REC" + PAUSED_GLYPH + " 00:42")
    assert softkeys(m).split()[-1] == "Resum"
    m, _ = run(m, ev.Tick(NOW + 12))
    assert lcd(m)[2].endswith("REC" + PAUSED_GLYPH + " 00:30")
    m, fx = run(m, ev.Key("soft4"))
    assert fx == (CcResumeRecording("c1"),)


def test_a_call_not_recorded_shows_no_rec_and_keeps_its_state_key():
    m = recorded(rec=None)
    assert "REC" not in lcd(m)[2]
    assert softkeys(m).split() == ["Hold", "End", "Vars", "More"]


def test_no_pause_during_a_consult():
    m = recorded()
    m, _ = run(m, ev.CcContact(contact("c1", "assigned", recording=ON, consult=ConsultLeg(
        "Ben Okafor", "agent", "talking", NOW, CONSULT_TOKEN))), consult_invite(),
        ev.SipCallState("k1", "held"), ev.SipCallState("k2", "established"), ev.Key("left"))
    assert m.screen.call == "k1" and softkeys(m).split()[-1] == "Pause"
    m, fx = run(m, ev.Key("soft4"))
    assert fx == () and m.active_notice() == "No rec pause: consult"


def test_no_pause_in_a_conference():
    m = recorded(participants=PEOPLE, control="1001", conference=Conference(NOW - 5))
    assert lcd(m)[0].startswith("Conference 3")
    assert softkeys(m).split() == ["Hold", "End", "Who", "Pause"]
    m, fx = run(m, ev.Key("soft4"))
    assert fx == () and m.active_notice() == "No rec pause: conf"


@pytest.mark.parametrize("request_", ["pause_recording", "resume_recording"])
def test_the_server_s_refusal_is_said(request_):
    m, _ = run(recorded(), ev.Key("soft4"))
    m, fx = run(m, ev.CcRefused(request_, "not_allowed", "no recording pause in a conference"))
    assert fx == () and m.active_notice() == "Rec pause not allowed"


def test_offline_the_recording_goes_on_as_it_is():
    m, _ = run(recorded(), ev.CcLink("down"))
    m, fx = run(m, ev.Key("soft4"))
    assert fx == () and m.active_notice() == "No server: rec as is"
