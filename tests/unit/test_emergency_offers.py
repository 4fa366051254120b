"""No offer over an emergency call, as rules: an offer that comes while 911 is up (or one
ringing when it is dialed) is turned down at once with the ordinary reject, never shows or
rings, and the LCD says so on one row without hiding `EMERGENCY 911`."""
from dataclasses import replace

from firmware.core import events as ev
from firmware.core.effects import (CcAccept, CcCallEvent, CcReject, PlayTone, SipAnswer, SipDial,
                                   SipHangup, SipRefuse, StopTone)
from firmware.core.emergency import WHY
from firmware.core.model import (CallScreen, ConnectingPopover, DeviceInfo, Display, IdleScreen,
                                 OfferPopover, RonaPopover)
from firmware.ui.view import render
from tests.unit.test_agent_rules import (NOW, agent, contact, invite, keys, offered, run,
                                         snapshot, talking)

DECLINED = CcReject("c1", WHY)
REJECTED = "the agent rejected the offer"


def on_911(m=None):
    """Agent 1001 (Available) talking to the emergency centre: 911 typed at home."""
    m, _ = run(m or agent(), *keys("9", "1", "1"), ev.SipDialed("dial-1", "e1"),
               ev.SipCallState("e1", "established"))
    assert [(c.id, c.emergency, c.state) for c in m.calls] == [("e1", True, "talking")]
    return m


def rows(m):
    return render(m).rows


def shows_only_the_emergency_call(m):
    assert isinstance(m.screen, CallScreen) and m.screen.call == "e1"
    assert not any(isinstance(s, (OfferPopover, ConnectingPopover, RonaPopover))
                   for s in m.screens)
    assert not m.ringer and m.contacts == () and [c.id for c in m.calls] == ["e1"]


def test_an_offer_during_the_emergency_call_is_turned_down_at_once_and_never_rings():
    m, fx = run(on_911(), ev.CcContact(contact("c1", "offered")))
    assert fx == (DECLINED,)                  # the ordinary reject: the server routes it on
    shows_only_the_emergency_call(m)
    assert m.active_notice() == "Offer declined: 911"
    lcd = rows(m)                             # one row: the emergency line stays in view
    assert lcd[0].startswith("Offer declined: 911") and lcd[1].startswith("EMERGENCY 911")
    m, fx = run(m, invite())                  # its call, when it comes, is refused unrung
    assert fx == (SipRefuse("k1", "c1", REJECTED),)
    shows_only_the_emergency_call(m)


def test_its_call_arriving_first_is_hung_up_without_ringing():
    m, fx = run(on_911(), invite(), ev.CcContact(contact("c1", "offered")))
    assert fx == (CcCallEvent("c1", "ringing", NOW), DECLINED, SipHangup("k1"))   # no PlayTone
    shows_only_the_emergency_call(m)


def test_a_reserved_contact_is_turned_down_before_connecting_shows():
    m, fx = run(on_911(), ev.CcContact(contact("c1", "reserved")))
    assert fx == (DECLINED,)
    shows_only_the_emergency_call(m)


def test_the_server_putting_the_agent_idle_rejected_is_no_missed_call():
    m, _ = run(on_911(), ev.CcContact(contact("c1", "offered")))
    m, fx = run(m, ev.CcContact(contact("c1", "rona", token="")),
                ev.CcAgentState("idle", "rejected"))
    assert fx == ()
    shows_only_the_emergency_call(m)
    assert m.agent_status == "IDLE"
    m, _ = run(m, ev.SipCallState("e1", "ended", "remote hangup"), ev.Tick(NOW + 10))
    assert isinstance(m.screen, IdleScreen) and "Idle: Rejected" in "\n".join(rows(m))


def test_an_offer_ringing_when_911_is_dialed_is_turned_down_too():
    m = agent(*offered("c1", "k1"), *offered("c2", "k2", offered_at=NOW))
    assert m.ringer and isinstance(m.screen, OfferPopover)
    m, fx = run(m, *keys("9", "1", "1"))      # digits on the popover: the dial pad
    assert fx == (StopTone("ringer"), SipDial("dial-1", "911", True),   # the emergency first
                  CcReject("c1", WHY), SipHangup("k1"), CcReject("c2", WHY), SipHangup("k2"))
    assert isinstance(m.screen, CallScreen) and m.contacts == () and not m.ringer
    assert not any(isinstance(s, OfferPopover) for s in m.screens)
    assert rows(m)[1].startswith("EMERGENCY 911")


def test_an_offer_while_the_emergency_call_is_held_neither_rings_nor_shows():
    m, _ = run(on_911(), ev.Key("hold"), ev.SipCallState("e1", "held"))
    m, fx = run(m, invite(), ev.CcContact(contact("c1", "offered")))
    assert fx == (CcCallEvent("c1", "ringing", NOW), DECLINED, SipHangup("k1"))   # no PlayTone
    assert not any(isinstance(s, OfferPopover) for s in m.screens)


def test_offers_in_a_snapshot_after_a_reconnect_are_turned_down():
    m, _ = run(on_911(), ev.CcLink("down"), ev.CcLink("up"))
    m, fx = run(m, snapshot(contacts=(contact("c1", "offered"),)))
    assert fx == (DECLINED,)
    shows_only_the_emergency_call(m)


def test_an_offer_the_agent_accepted_before_dialing_is_kept():
    """Accepted before its call came: the agent took it, so it is answered (held behind the
    emergency call), not turned down."""
    m, fx = run(agent(ev.CcContact(contact("c1", "offered"))), ev.Key("soft1"))
    assert fx == (CcAccept("c1"),)
    m, fx = run(on_911(m), invite())
    assert not any(isinstance(e, CcReject) for e in fx)
    assert [(c.id, c.accepted, c.hold_when_up) for c in m.calls] == [("e1", True, False),
                                                                       ("k1", True, True)]
    assert SipAnswer("k1") in fx and m.contact("c1") is not None


def test_a_customer_already_talked_to_is_untouched():
    m, _ = run(agent(*talking()), ev.Key("hold"), ev.SipCallState("k1", "held"))
    m, fx = run(m, *keys("9", "1", "1"))
    assert not any(isinstance(e, CcReject) for e in fx)
    assert m.contact("c1") is not None and m.contact("c1").status == "assigned"


def test_offers_show_and_ring_again_once_the_emergency_call_is_over():
    m, _ = run(on_911(), ev.SipCallState("e1", "ended", "remote hangup"))
    m, fx = run(m, *offered("c2", "k2"))
    assert isinstance(m.screen, OfferPopover) and m.ringer
    assert any(isinstance(e, PlayTone) for e in fx) and not any(isinstance(e, CcReject)
                                                                for e in fx)


def test_a_long_local_number_gives_a_shorter_notice_on_one_row():
    info = DeviceInfo("1.2.3", "sim", "a", Display(), emergency=("911", "112", "0118999881999"))
    m = agent()
    m = replace(m, info=info)
    m, _ = run(m, *keys(*"0118999881999"), ev.SipDialed("dial-1", "e1"),
               ev.SipCallState("e1", "established"))
    m, _ = run(m, ev.CcContact(contact("c1", "offered")))
    assert m.active_notice() == "Offer declined"
    assert rows(m)[1] == "EMERGENCY 0118999881"      # the display's 20 columns
