"""Calls: what the SIP stack reports, answering, hold/resume and ending, the call screen."""
from __future__ import annotations

import hmac
from dataclasses import replace

from . import calldata, dialpad, reservation
from . import events as ev
from .effects import (CcCallEvent, Effects, PlayTone, SaveSettings, SipAnswer, SipDtmf,
                      SipHangup, SipHold, SipRefuse, SipResume, Step, StopTone)
from .model import (VOLUME_OF, Call, CallScreen, HistoryEntry, MenuScreen, Model, ReasonScreen,
                    TaskScreen, WaitingCall, level_max, with_notice)
from .navigation import change, find, push, show, wrapup_screen
from .vocab import Action, CallDirection, CallLeg, CallReport, CallRoute, HandsFree, MicRoute

HELD_CANNOT_END = "Resume the call to end it"
# An INVITE may overtake its offer (the server's event and the customer's call travel apart);
# one naming a contact that hasn't come within this long is refused.
WAIT_FOR_CONTACT_S = 5.0
# Calls anyone who can reach the proxy can make may not take the SIP stack's call slots
# (sip.max_calls) that offers, a consult leg and an emergency call need: at most this many
# personal calls ring at once, and INVITEs wait for their contact a few at a time (room_to_wait).
MAX_PERSONAL_RINGING = 2
MIN_WAITING = 3
DTMF_KEYS = frozenset("0123456789*#")


def _put(m: Model, call: Call) -> Model:
    return replace(m, calls=tuple(call if c.id == call.id else c for c in m.calls))


def _in_front(c: Call) -> bool:
    """The call the agent talks on (or is about to): not held, not waiting to be held."""
    return ((c.state in ("talking", "calling") or (c.state == "ringing" and c.accepted))
            and not c.hold_when_up)


def _report(m: Model, call: Call, event: CallReport, reason: str = "") -> Effects:
    return (CcCallEvent(call.contact, event, m.now, call.leg, reason),) if call.contact else ()


def quiet_ringer(m: Model) -> Step:
    """Stop the ringer once no call is left ringing unanswered."""
    if m.ringer and not m.ringing():
        return replace(m, ringer=False), (StopTone("ringer"),)
    return m, ()


def focus(m: Model, call_id: str) -> Model:
    screen = find(m, CallScreen)
    if screen is None:
        return show(m, CallScreen(call_id))
    return change(m, screen, CallScreen(call_id))


# -- from the SIP stack --------------------------------------------------------------------------
def incoming(m: Model, e: ev.SipIncoming) -> Step:
    """An INVITE. Naming a contact makes it that contact's call only if it carries the token
    the server sent with the contact (its consult leg: the consult's token): anyone can send
    an INVITE naming a contact id."""
    if m.call(e.call) or any(w.id == e.call for w in m.waiting):
        return m, ()
    if not e.contact:                        # a personal call: nothing to bind
        if sum(1 for c in m.calls if not c.contact and c.state == "ringing") \
                >= MAX_PERSONAL_RINGING:
            return m, (SipRefuse(e.call, "", "too many personal calls ringing"),)
        return _ring(m, e.call, "", e.peer)
    contact = m.contact(e.contact)
    if contact is None and any(r == e.contact for r, _token in m.rejected):
        return m, (SipRefuse(e.call, e.contact, "the agent rejected the offer"),)
    if contact is None or _awaits_consult(m, contact, e.token):
        # before its offer (or its consult's token): wait for it, silent
        if not room_to_wait(m):
            return m, (SipRefuse(e.call, e.contact, "too many INVITEs waiting for their offer"),)
        waiting = WaitingCall(e.call, e.contact, e.peer, e.token, m.now)
        return replace(m, waiting=m.waiting + (waiting,)), ()
    return _bind(m, contact, e.call, e.peer, e.token)


def _awaits_consult(m: Model, contact: ev.Contact, token: str) -> bool:
    """The phone asked for a consult of ``contact`` whose token hasn't come: an INVITE that
    is not the customer's may be its consult leg, ahead of the server's event."""
    return (contact.id in m.consult_asked and contact.consult is None
            and leg_of(contact, token) is None)


def room_to_wait(m: Model) -> bool:
    """Whether one more INVITE may wait for its contact. Each genuine one is for an offer the
    server is about to make, and it stacks at most ``max_offers`` on the agent; one more (three
    at least) leaves room for a stranger's guess next to the genuine INVITEs, so a guess can't
    crowd the real call out. Each waits WAIT_FOR_CONTACT_S at most."""
    stacked = m.agent.cc.max_offers if m.agent else 1
    return len(m.waiting) < max(MIN_WAITING, stacked + 1)


def settle_waiting(m: Model) -> Step:
    """INVITEs that came before their contact: bound (or refused) once the contact is known,
    refused once it is WAIT_FOR_CONTACT_S late. Run after every server event and tick."""
    if not m.waiting:
        return m, ()
    waiting, m = m.waiting, replace(m, waiting=())
    effects: Effects = ()
    for w in waiting:
        contact = m.contact(w.contact)
        fx: Effects
        late = m.now - w.since >= WAIT_FOR_CONTACT_S
        if contact is not None and (late or not _awaits_consult(m, contact, w.token)):
            m, fx = _bind(m, contact, w.id, w.peer, w.token)
        elif late:
            fx = (SipRefuse(w.id, w.contact, "no such contact in time"),)
        else:
            m, fx = replace(m, waiting=m.waiting + (w,)), ()
        effects += fx
    return m, effects


def _same(expected: str, token: str) -> bool:
    """Constant-time: the time taken says nothing about how much of a guess was right."""
    return hmac.compare_digest(expected.encode("utf-8", "replace"),
                               token.encode("utf-8", "replace")) and bool(expected)


def leg_of(contact: ev.Contact, token: str) -> CallLeg | None:
    """Which of the contact's calls an INVITE carrying ``token`` is: the customer's (the
    offer's token), the consult leg (the consult's), or none. Both are always compared."""
    offer = _same(contact.token, token)
    consult = _same(contact.consult.token if contact.consult else "", token)
    return "consult" if consult else "customer" if offer else None


def _bind(m: Model, contact: ev.Contact, call_id: str, peer: str, token: str) -> Step:
    """Ring the call as ``contact``'s if its token is one the server sent (the consult leg's:
    answered by itself, the agent asked for it); else refuse it at once: it never rings, shows
    or reaches the server, and cannot displace the real call."""
    leg = leg_of(contact, token)
    if leg is None:
        why = "wrong token" if token else "no token"
        return m, (SipRefuse(call_id, contact.id, why),)
    if leg == "consult" and m.consult_of(contact.id) is not None:
        return m, (SipRefuse(call_id, contact.id, "consult leg already up"),)
    if leg == "customer" and reservation.rides_on_reservation(contact):
        return reservation.answer(m, contact, call_id, peer)
    return _ring(m, call_id, contact.id, peer, leg)


def _ring(m: Model, call_id: str, contact: str, peer: str, leg: CallLeg = "customer") -> Step:
    busy = any(_in_front(c) for c in m.calls)
    call = Call(call_id, contact, peer, "ringing", m.now, leg=leg)
    m = replace(m, calls=m.calls + (call,))
    fx = _report(m, call, "ringing")
    if leg == "consult":                # the agent asked for it: answered, the customer held
        m = replace(m, consult_asked=m.consult_asked - {contact})
        m, answered = answer(m, call)
        return m, fx + answered
    if contact and contact in m.answer_on_arrival:
        # Accepted before the INVITE came: answer now; behind a call already up, held at once.
        m = replace(m, answer_on_arrival=m.answer_on_arrival - {contact})
        m, answered = answer(m, call, park=busy)
        return m, fx + answered
    offer = m.contact(contact)
    if (offer is not None and offer.auto_answer and not busy and m.auto_answering is None
            and not m.emergency_call()):
        route = auto_answer_route(m)
        if route is not None:           # beeps where it will answer, then answers (offers.py)
            m = replace(m, auto_answering=(call_id, route))
            return m, fx + (PlayTone("auto_answer", route, m.settings.volume(route)),)
        m = with_notice(m, AUTO_NEEDS_HEADSET)
    # an offer never rings over an emergency call, even a held one (emergency.py turns it down)
    if not busy and not m.ringer and not (contact and m.emergency_call()):
        m = replace(m, ringer=True, ringing_test=False)
        fx = (PlayTone("ring", "ringer", m.settings.volume("ringer")),) + fx
    return m, fx


AUTO_NEEDS_HEADSET = "Auto-answer needs the headset"


def auto_answer_route(m: Model) -> HandsFree | None:
    """Where the phone may answer an offer by itself, opening the agent's mic: the headset
    (headset mode), the speaker only where the centre's admin allows it; None: it rings."""
    if m.hook_lifted:
        return None
    if m.settings.headset_mode:
        return "headset"
    if m.agent is not None and m.agent.cc.auto_answer_speaker:
        return "speaker"
    return None


def call_state(m: Model, e: ev.SipCallState) -> Step:
    held_for = reservation.call_state(m, e)
    if held_for is not None:
        return held_for
    call = m.call(e.call)
    if call is None:
        if e.state == "ended":               # a waiting INVITE cancelled: nothing to report
            m = replace(m, waiting=tuple(w for w in m.waiting if w.id != e.call))
        return m, ()
    if e.state == "ringing" and call.state == "calling":
        return _put(m, replace(call, far_ringing=True)), ()
    if e.state == "established" and call.state in ("ringing", "calling"):
        up = replace(call, state="talking", since=m.now, accepted=True)
        m = _put(m, up)
        if call.state == "ringing" and call.leg == "customer":
            m = _remember(m, call, "in")
        fx = _report(m, up, "answered")
        if up.hold_when_up:
            fx += (SipHold(up.id),)
        else:
            m = focus(m, up.id)
        m, stop = quiet_ringer(m)
        return m, fx + stop
    if e.state == "held" and call.state == "talking":
        m = _put(m, replace(call, state="held", since=m.now, hold_when_up=False))
        return m, _report(m, call, "held")
    if e.state == "resumed" and call.state == "held":
        m = _put(m, replace(call, state="talking", since=m.now))
        return m, _report(m, call, "resumed")
    if e.state == "ended":
        return _ended(m, call, e.reason)
    return m, ()


def _ended(m: Model, call: Call, reason: str = "") -> Step:
    m = replace(m, calls=tuple(c for c in m.calls if c.id != call.id))
    # a placed call that never got through says why, to the agent (not when the agent gave up
    # on it) and to the server (a campaign's attempt is counted by it)
    failed = ("" if call.state != "calling" else "cancelled" if reason == "local hangup"
              else reason or "no answer")
    # (a call the server dials: its contact's ``failed`` says why, in the wrap-up)
    if failed and failed != "cancelled" and not call.server_dials:
        m = with_notice(m, f"Call failed: {failed}")
    if not m.calls:
        m = replace(m, hands_free=None, muted=False)
    fx = _report(m, call, "ended", failed)
    m, stop = quiet_ringer(m)
    contact = m.contact(call.contact)
    answered = call.state in ("talking", "held")
    if call.state == "ringing" and not call.contact:    # a personal call nobody took
        m = _remember(m, call, "missed")
    # Wrap-up never waits for the server: it is owed as soon as the agent's call is over (both
    # of its legs, when the agent consulted: a transfer ends both).
    if (answered and contact and contact.primary and m.agent is not None
            and not any(c.contact == contact.id for c in m.calls)
            and contact.id not in m.wrapped_locally and wrapup_screen(m, contact.id) is None):
        m = show(m, ReasonScreen("wrapup", contact=contact.id))
        if not m.calls and m.agent is not None:  # the server does the same; shown while it is away
            m = replace(m, agent=replace(m.agent, state="wrapup"))
    return m, fx + stop


# -- the agent's actions -------------------------------------------------------------------------
def answer(m: Model, call: Call, park: bool = False) -> Step:
    """Answer a ringing call. The call in front is held first, unless this one is ``park``ed
    (answered, then held as soon as it is up)."""
    fx: Effects = () if park else tuple(SipHold(c.id) for c in m.calls if c.state == "talking"
                                        and not c.hold_when_up)
    m = _put(m, replace(call, accepted=True, hold_when_up=park))
    return m, fx + (SipAnswer(call.id),)


def _remember(m: Model, call: Call, direction: CallDirection) -> Model:
    contact = m.contact(call.contact)
    number = contact.ani if contact else user_part(call.peer)
    return dialpad.remember(m, HistoryEntry(number, direction, m.now, customer=bool(contact)))


def user_part(peer: str) -> str:
    """The user part of a SIP address ("sip:1002@pbx" -> "1002"); the address as is otherwise."""
    if "sip:" not in peer:
        return peer
    return peer.split("sip:", 1)[1].split("@", 1)[0].rstrip(">")


def _talked_on(m: Model) -> bool:
    return any(c.state in ("talking", "calling") for c in m.calls)


def shown_call(m: Model) -> Call | None:
    """The call the hold key and the call screen act on."""
    screen = find(m, CallScreen)
    call = m.call(screen.call) if screen else None
    if call is None or call.state in ("ringing", "calling"):
        call = next((c for c in m.calls if c.state in ("talking", "held")), None)
    return call


def toggle_hold(m: Model) -> Step:
    call = shown_call(m)
    if call is None:
        return m, ()
    if call.state == "talking":
        return m, (SipHold(call.id),)
    others = tuple(SipHold(c.id) for c in m.calls if c.state == "talking" and not c.hold_when_up)
    return focus(m, call.id), others + (SipResume(call.id),)


def end(m: Model, call: Call | None) -> Step:
    if call is None:
        return m, ()
    if call.awaiting:                   # not placed yet: given up here (go_ahead tells the server)
        return dialpad.drop(m, lambda c: c.id == call.id), ()
    if call.state == "held":            # a held customer is never cut off: resume first
        return with_notice(m, HELD_CANNOT_END), ()
    return m, (SipHangup(call.id),)


def audio_route(m: Model) -> CallRoute | None:
    """Where the call's audio goes: the headset or speaker when chosen, else the handset
    when lifted, else the speaker (a call answered with a softkey); None without a call up."""
    if not any(c.state in ("talking", "held") for c in m.calls):
        return None
    if m.hands_free:
        return m.hands_free
    return "handset" if m.hook_lifted else m.hands_free_route


def noise_removal(m: Model) -> tuple[bool, bool]:
    """(remove noise from the agent's voice, from the customer's audio) right now: the agent's
    setting for the route in use (Settings.noise_removal), and the centre's for what the agent
    hears (CcSettings.customer_noise_removal, while logged in); both off without a call up."""
    route = audio_route(m)
    if route is None:
        return False, False
    customer = m.agent is not None and m.agent.cc.customer_noise_removal
    return m.settings.noise_removal(route), customer


def call_volume(m: Model, action: Action) -> Step:
    """`volup`/`voldown` during a call: the volume of the route it plays on, a step at a time,
    kept like the menu's, and shown for a moment (at idle the keys set the ringer's). The ear's
    ceiling (audio/limiter.py) holds whatever the level."""
    route = audio_route(m)
    if route is None:
        return m, ()
    setting = VOLUME_OF[route]
    value = max(0, min(level_max(setting), m.settings.level(setting)
                       + (1 if action == "volup" else -1)))
    settings = m.settings.with_level(setting, value)
    m = with_notice(replace(m, settings=settings), f"{route.capitalize()} volume {value}")
    return m, (SaveSettings(settings),)


def voice_target(m: Model) -> tuple[str, MicRoute] | None:
    """(call, mic route) the agent's voice goes to: the call talked on, from the mic of the
    route in use (the headset's own, else the handset's); None while muted or no call is
    talked on (a held customer hears the hold, not the agent)."""
    if m.muted:
        return None
    talking = [c for c in m.calls if c.state == "talking" and not c.hold_when_up]
    if not talking:
        return None
    # Two talking calls is the moment of a switch (the other's hold is on its way): the voice
    # goes to the one on the screen, else the newest, never back to the customer being held.
    shown = shown_call(m)
    call = shown if shown is not None and shown in talking else talking[-1]
    return call.id, "headset_mic" if audio_route(m) == "headset" else "mic"


def sidetone_route(m: Model) -> str | None:
    """The route at whose ear the agent hears their own voice (sidetone): the route in use
    while the voice goes to a call (not muted, held or between calls); the devices leave
    out a route without sidetone (the speaker)."""
    return audio_route(m) if voice_target(m) is not None else None


def toggle_mute(m: Model) -> Step:
    """The mute key during a call; it stays on across hold and call switches until pressed
    again or the last call ends."""
    return replace(m, muted=not m.muted), ()


def hands_free_key(m: Model, key: HandsFree) -> Step:
    """``speaker`` / ``headset`` during a call: switch the audio there; pressed again, back to
    the handset, or, with the handset down, the call ends (as on any desk phone)."""
    if m.hands_free != key:
        return replace(m, hands_free=key), ()
    m = replace(m, hands_free=None)
    if m.hook_lifted:
        return m, ()
    return hook_replaced(m)


def hook_replaced(m: Model) -> Step:
    """Putting the handset down ends the call being talked on (unless the agent talks
    hands-free); a held call stays held."""
    if m.hands_free:
        return m, ()
    talking = next((c for c in m.calls if c.state in ("talking", "calling")), None)
    if talking is None:
        held = next((c for c in m.calls if c.state == "held"), None)
        return end(m, held)
    return end(m, talking)


def call_key(m: Model, s: CallScreen, action: Action) -> Step:
    call = m.call(s.call)
    if call is None:
        return m, ()
    if action in ("answer", "ok") and call.state == "ringing" and not call.accepted:
        m, fx = answer(m, call)
        m, stop = quiet_ringer(m)
        return m, fx + stop
    if action in DTMF_KEYS and call.state == "talking":
        m = _put(m, replace(call, dtmf_sent=call.dtmf_sent + 1))
        return m, (SipDtmf(call.id, action),)
    if action in DTMF_KEYS and call.state == "held" and not _talked_on(m):
        return dialpad.open_dial(m, action)       # a call on hold: a new one can be dialed
    if action == "hold":
        return toggle_hold(m)
    if action == "end":
        return end(m, call)
    if action == "vars" and m.contact(call.contact):
        return calldata.open_call_data(m, call.contact)
    if action == "ok":                  # every call and offer, to reach one behind this
        return push(m, TaskScreen()), ()
    if action == "state" and m.agent is not None:
        return push(m, MenuScreen("state")), ()
    if action in ("left", "right"):
        calls = m.shown_calls()
        i = next((i for i, c in enumerate(calls) if c.id == call.id), 0)
        step = 1 if action == "right" else -1
        return change(m, s, CallScreen(calls[(i + step) % len(calls)].id)), ()
    return m, ()
