"""Standard and direct preview on the phone (firmware/core/reservation.py): the server's
reservation call is answered silently and the preview shows on it; `Call` lets the server dial
the customer on that call (standard) or hangs it up and dials (direct)."""
from dataclasses import replace

from firmware.core import events as ev
from firmware.core.calls import audio_route, voice_target
from firmware.core.effects import (CcCallEvent, CcPreview, SipAnswer, SipDial,
                                   SipHangup, SipRefuse)
from firmware.core.model import CallScreen, PreviewPopover, ReasonScreen

from .test_agent_rules import NOW, invite, keys, run, token
from .test_campaigns import SPRING, agent, record, rows

STANDARD = replace(SPRING, mode="standard_preview", cancel=True)
DIRECT = replace(SPRING, id="direct", name="Direct", mode="direct_preview")


def reserved(campaign="spring", *events, up=True):
    """A record of ``campaign`` previewed on its reservation call (answered; ``up``: the
    call established)."""
    c = record(campaign=campaign, reservation=True, token=token("c9"), expires_at=0.0)
    m, fx = agent(ev.CcContact(c), invite("r1", "c9"), campaigns=(STANDARD, DIRECT))
    assert fx == (SipAnswer("r1"),)                         # no ring, no tone
    if up:
        m, _ = run(m, ev.SipCallState("r1", "established"),
                   ev.CcContact(replace(c, expires_at=NOW + 30)))
    return run(m, *events)


def test_the_reservation_call_is_answered_silently_and_the_preview_shows_once_it_is_up():
    m, _ = reserved(up=False)
    assert not isinstance(m.screen, PreviewPopover)        # not before the call is up
    assert not m.ringer and m.calls == ()
    m, fx = run(m, ev.SipCallState("r1", "established"))
    assert isinstance(m.screen, PreviewPopover)
    assert fx == ()                                         # nothing reported about it
    assert audio_route(m) is None and voice_target(m) is None   # no speaker, no mic


def test_a_reservation_with_the_wrong_token_is_refused_and_never_shows():
    c = record(reservation=True, token=token("c9"))
    m, fx = agent(ev.CcContact(c), invite("r1", "c9", token="guess"),
                  ev.SipCallState("r1", "established"), campaigns=(STANDARD,))
    assert fx == (SipRefuse("r1", "c9", "wrong token"),)
    assert m.reservation is None and not isinstance(m.screen, PreviewPopover)


def test_standard_call_asks_the_server_which_dials_the_customer_on_the_reservation_call():
    m, fx = reserved("spring", ev.Key("soft1"))
    assert fx == (CcPreview("c9", "call"),)                 # no INVITE of the phone's own
    assert m.active_notice() == "Calling 5550101"
    m, fx = run(m, ev.CcContact(record(status="dialing", reservation=True)))
    assert fx == () and m.reservation is None
    call = m.calls[0]
    assert (call.id, call.state, call.server_dials) == ("r1", "calling", True)
    assert isinstance(m.screen, CallScreen) and rows(m)[0].startswith("Calling")
    assert audio_route(m) is None                           # nobody to hear yet
    m, fx = run(m, ev.CcContact(record(status="assigned", reservation=True)))
    assert m.calls[0].state == "talking"
    assert audio_route(m) == "speaker" and voice_target(m) == ("r1", "mic")
    m, fx = run(m, ev.Key("soft1"))                         # on the call, hold reports as any
    m, fx = run(m, ev.SipCallState("r1", "held"))
    assert fx == (CcCallEvent("c9", "held", NOW, "customer"),)


def test_a_standard_attempt_that_fails_says_why_in_the_wrapup_not_as_a_call_failure():
    m, _ = reserved("spring", ev.Key("soft1"),
                    ev.CcContact(record(status="dialing", reservation=True)))
    m, _ = run(m, ev.SipCallState("r1", "ended", "remote hangup"))
    assert not m.active_notice().startswith("Call failed")
    m, _ = run(m, ev.CcContact(record(status="wrapup", failed="busy (486)")),
               ev.Tick(NOW + 10))
    assert isinstance(m.screen, ReasonScreen) and "Failed: busy (486)" in rows(m)


def test_hanging_up_while_the_server_rings_the_customer_cancels_the_attempt():
    m, _ = reserved("spring", ev.Key("soft1"),
                    ev.CcContact(record(status="dialing", reservation=True)))
    assert rows(m)[-1] == "     Cancl"                     # the campaign allows it
    m, fx = run(m, ev.Key("soft2"))
    assert fx == (SipHangup("r1"),)
    m, fx = run(m, ev.SipCallState("r1", "ended", "local hangup"))
    assert CcCallEvent("c9", "ended", NOW, "customer", "cancelled") in fx


def test_direct_call_hangs_up_the_reservation_and_the_phone_dials():
    m, fx = reserved("direct", ev.Key("soft1"))
    assert fx[0] == SipHangup("r1") and fx[-1] == CcPreview("c9", "call")
    assert m.reservation is None and m.calls[0].awaiting
    m, fx = run(m, ev.SipCallState("r1", "ended"),         # its end reports nothing
                ev.CcContact(record(campaign="direct", status="dialing", reservation=True)))
    assert fx == (SipDial(m.calls[0].id, "5550101", False, "c9"),)


def test_the_countdowns_call_in_direct_preview_releases_the_reservation_too():
    _, fx = reserved("direct", ev.CcContact(record(campaign="direct", status="dialing",
                                                   reservation=True)))
    assert fx[0] == SipHangup("r1") and isinstance(fx[-1], SipDial)


def test_a_skipped_record_takes_its_reservation_call_with_it():
    m, fx = reserved("spring", ev.Key("soft2"))
    assert fx == (CcPreview("c9", "skip"),)
    m, fx = run(m, ev.CcContact(record(status="skipped", reservation=True)))
    assert fx == (SipHangup("r1"),) and m.reservation is None
    assert not isinstance(m.screen, PreviewPopover)
    m, fx = run(m, ev.SipCallState("r1", "ended"))
    assert fx == () and m.calls == ()


def test_the_server_ending_the_reservation_hides_the_preview():
    m, _ = reserved("spring", ev.SipCallState("r1", "ended"))
    assert m.reservation is None and not isinstance(m.screen, PreviewPopover)


def test_a_reservation_while_a_call_is_up_is_refused():
    c = record(reservation=True, token=token("c9"))
    m, _ = agent(*keys("5", "5", "5", "ok"), campaigns=(STANDARD,))
    m, fx = run(m, ev.CcContact(c), invite("r1", "c9"))
    assert SipRefuse("r1", "c9", "not free for a reservation") in fx


def test_a_direct_preview_whose_reservation_ended_shows_again_once_the_server_says_so():
    m, _ = reserved("direct", ev.SipCallState("r1", "ended"))
    assert not isinstance(m.screen, PreviewPopover)
    m, _ = run(m, ev.CcContact(record(campaign="direct")))     # reservation no more
    assert isinstance(m.screen, PreviewPopover)
    m, fx = run(m, ev.Key("soft1"))
    assert fx[-1] == CcPreview("c9", "call") and m.calls[0].awaiting
