"""An INVITE is a contact's call only with the token the server sent for that contact.

Anyone who can reach the phone through the proxy can send an INVITE naming a contact id, and the
ids are sequential. These are the phone's rules that keep such a call from ending the agent's
customer call (a forged CANCEL) or from being the call the agent answers (the next id, sent
before the offer), while the real call still works when its INVITE overtakes the offer."""
from firmware.core import events as ev
from firmware.core.calls import WAIT_FOR_CONTACT_S
from firmware.core.effects import CcAccept, CcCallEvent, PlayTone, SipAnswer, SipRefuse
from firmware.core.events import CcSettings
from firmware.core.model import OfferPopover
from firmware.ui.view import render

from .test_agent_rules import (NOW, agent, contact, invite, keys, offered, run, snapshot, talking,
                               token)

STRANGER = "sip:+19998887777@pbx"


def forged(call="k6", cid="c1", **kw):
    return invite(call, cid, STRANGER, token=kw.get("token", ""))


def shown(m) -> str:
    return "\n".join(render(m).rows)


def reported(fx) -> list:
    return [f for f in fx if isinstance(f, CcCallEvent)]


def test_a_forged_invite_for_an_offered_contact_is_refused_and_the_genuine_one_answered():
    m = agent(ev.CcContact(contact("c1", "offered")))
    for fake, why in ((forged("k6"), "no token"),
                      (forged("k7", token="c1"), "wrong token"),
                      (forged("k8", token=token("c1")[:-1]), "wrong token")):
        m, fx = run(m, fake)
        assert fx == (SipRefuse(fake.call, "c1", why),)      # never rings, never reported
        assert m.calls == () and not m.ringer
        assert "8887777" not in shown(m) and render(m).leds == render(agent(
            ev.CcContact(contact("c1", "offered")))).leds
    m, fx = run(m, invite("k1", "c1"))                        # the customer's call
    assert fx == (PlayTone("ring", "ringer", 6), CcCallEvent("c1", "ringing", NOW))
    m, fx = run(m, ev.Key("soft1"))                           # Accpt
    assert fx[0] == SipAnswer("k1") and CcAccept("c1") in fx
    assert m.call_of("c1").id == "k1"


def test_a_forged_cancel_on_a_live_contact_changes_nothing():
    m = agent(*talking("c1", "k1"), ev.CcAgentState("talking"))
    before = m
    m, fx = run(m, forged("k6", "c1"), ev.SipCallState("k6", "ended", "remote hangup"))
    assert fx == (SipRefuse("k6", "c1", "no token"),)        # no "ended" for c1
    assert m == before
    assert m.agent_status == "TALKING" and m.call("k1").state == "talking"
    assert "Wrap-up" not in shown(m)


def test_an_invite_naming_the_next_contact_before_its_offer_cannot_take_the_call():
    m = agent()                                               # Available, nothing offered yet
    idle_frame = render(m)
    m, fx = run(m, forged("k6", "c2", token="guess"))         # the stranger guesses c-2
    assert fx == () and m.calls == () and not m.ringer        # waits: silent, unshown
    assert render(m) == idle_frame and m.agent_status == "AVAILABLE"
    m, fx = run(m, invite("k2", "c2"))                        # the real call overtakes its offer
    assert fx == () and m.calls == ()
    m, fx = run(m, ev.CcContact(contact("c2", "offered")))    # the offer comes
    assert SipRefuse("k6", "c2", "wrong token") in fx
    assert reported(fx) == [CcCallEvent("c2", "ringing", NOW)]
    assert [(c.id, c.contact) for c in m.calls] == [("k2", "c2")] and m.waiting == ()
    assert m.screen == OfferPopover("c2")
    m, fx = run(m, ev.Hook(True))                             # the agent lifts the handset
    assert fx[0] == SipAnswer("k2")
    assert m.call_of("c2").id == "k2"


def test_a_stranger_first_then_the_offer_then_the_real_call():
    m, fx = run(agent(), forged("k6", "c2"), ev.CcContact(contact("c2", "reserved")))
    assert fx == (SipRefuse("k6", "c2", "no token"),) and m.calls == ()
    m, fx = run(m, ev.Key("soft1"), invite("k2", "c2"), ev.CcContact(contact("c2", "offered")))
    assert m.call_of("c2").id == "k2"


def test_accepted_before_any_invite_only_the_genuine_one_is_answered():
    m = agent(ev.CcContact(contact("c1", "offered")), ev.Key("soft1"))
    assert "c1" in m.answer_on_arrival
    m, fx = run(m, forged("k6", "c1", token="x" * 43))
    assert fx == (SipRefuse("k6", "c1", "wrong token"),)
    assert "c1" in m.answer_on_arrival                       # still owed to the real call
    m, fx = run(m, invite("k1", "c1"))
    assert SipAnswer("k1") in fx


def test_a_waiting_invite_whose_contact_never_comes_is_refused_in_time():
    m, fx = run(agent(), forged("k6", "c9", token="guess"), ev.Tick(NOW + WAIT_FOR_CONTACT_S - 1))
    assert fx == () and len(m.waiting) == 1
    m, fx = run(m, ev.Tick(NOW + WAIT_FOR_CONTACT_S))
    assert fx == (SipRefuse("k6", "c9", "no such contact in time"),) and m.waiting == ()
    m, fx = run(m, ev.SipCallState("k6", "ended"))           # its end: nothing to anyone
    assert fx == () and m.calls == ()


def test_a_waiting_invite_cancelled_is_forgotten_silently():
    m, fx = run(agent(), forged("k6", "c2", token="guess"), ev.SipCallState("k6", "ended"))
    assert fx == () and m.waiting == ()
    m, fx = run(m, *offered("c2", "k2"))                      # the real one still works
    assert m.call_of("c2").id == "k2"


def test_a_snapshot_binds_a_waiting_invite_too():
    m, fx = run(agent(), invite("k2", "c2"), forged("k6", "c2"),
                snapshot(contacts=[contact("c2", "offered")]))
    assert fx[-1] == SipRefuse("k6", "c2", "no token")
    assert [c.id for c in m.calls] == ["k2"]


def test_a_contact_without_a_token_binds_nothing():
    m, fx = run(agent(ev.CcContact(contact("c1", "offered", token=""))), invite("k1", "c1"))
    assert fx == (SipRefuse("k1", "c1", "wrong token"),) and m.calls == ()


def test_personal_calls_ring_as_before():
    m, fx = run(agent(), ev.SipIncoming("k9", "", "sip:1002@pbx"))
    assert [c.id for c in m.calls] == ["k9"] and m.ringer and reported(fx) == []


def test_the_token_is_never_shown_nor_in_a_logged_repr():
    secret = token("c1")
    m, _ = run(agent(), forged("k6", "c2", token="guess-me"), *offered("c1", "k1"),
               *keys("soft1"))
    assert secret not in shown(m) and secret not in repr(m) and "guess-me" not in repr(m)
    assert secret not in repr(invite("k1", "c1")) and secret not in repr(contact("c1"))


def test_unbound_calls_cannot_take_the_slots_offers_need():
    # calls anyone on the proxy can make: personal calls, INVITEs naming an unknown contact
    m, fx = run(agent(), invite("p1", "", "sip:2001@pbx"), invite("p2", "", "sip:2002@pbx"),
                forged("k6", "c9", token="guess"))
    assert not [f for f in fx if isinstance(f, SipRefuse)]
    assert [c.id for c in m.calls] == ["p1", "p2"]
    assert [w.id for w in m.waiting] == ["k6"]
    m, fx = run(m, invite("p3", "", "sip:2003@pbx"))            # a third personal call
    assert fx == (SipRefuse("p3", "", "too many personal calls ringing"),)
    m, fx = run(m, forged("k7", "c10", token="guess"), forged("k8", "c11", token="guess"))
    assert fx == () and len(m.waiting) == 3                     # one offer to come (max_offers
    m, fx = run(m, forged("k9", "c12", token="guess"))          # 1), and room for guesses
    assert fx == (SipRefuse("k9", "c12", "too many INVITEs waiting for their offer"),)
    assert [c.id for c in m.calls] == ["p1", "p2"] and len(m.waiting) == 3
    m, fx = run(m, ev.CcContact(contact("c1", "offered")), invite("k1", "c1"))  # an offer
    assert m.call_of("c1").id == "k1"                         # still rings
    m, _ = run(m, ev.SipCallState("p1", "ended", "remote hangup"))
    m, fx = run(m, invite("p4", "", "sip:2004@pbx"))           # room again
    assert "p4" in [c.id for c in m.calls]


def test_invites_overtaking_every_stacked_offer_all_wait_and_ring():
    # three offers at once: all three INVITEs may come before their contacts (seen in CI)
    m = agent(settings=CcSettings(max_offers=3, accept_all=True))
    m, fx = run(m, forged("k9", "c2", token="guess"), invite("k1", "c1"), invite("k2", "c2"),
                invite("k3", "c3"))                             # a stranger's guess among them
    assert fx == () and len(m.waiting) == 4
    m, fx = run(m, forged("k8", "c4", token="guess"))           # max_offers + 1 wait at most
    assert fx == (SipRefuse("k8", "c4", "too many INVITEs waiting for their offer"),)
    m, fx = run(m, *(ev.CcContact(contact(c, "offered")) for c in ("c1", "c2", "c3")))
    assert [(c.id, c.contact) for c in m.calls] == [("k1", "c1"), ("k2", "c2"), ("k3", "c3")]
    assert m.waiting == () and [f for f in fx if isinstance(f, SipRefuse)] == [
        SipRefuse("k9", "c2", "wrong token")]
