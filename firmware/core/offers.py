"""Contacts and offers: the server's contact events, accepting and rejecting offers, RONA, call
variables."""
from __future__ import annotations

from dataclasses import replace

from . import calls, campaigns
from . import events as ev
from .agent import set_state
from .effects import CcAccept, CcReject, Effects, SipHangup, Step
from .model import Model, OfferPopover, ReasonScreen, RonaPopover, VarsScreen
from .navigation import find, pop, push, replace_top, show
from .vocab import Action, ContactStatus

# the contact leaves the agent
LEAVING: frozenset[ContactStatus] = frozenset({"rona", "withdrawn", "ended", "wrapped_up",
                                               "skipped", "removed"})


def contact_event(m: Model, e: ev.CcContact) -> Step:
    c = e.contact
    known = m.contact(c.id) is not None
    if m.agent is None:
        return m, ()                    # logged out
    if c.status in LEAVING and not known:
        return _unreject(m, c.id), ()   # not (or no longer) ours, or one the agent rejected
    if c.status not in LEAVING:
        if (c.id, c.token) in m.rejected:
            return m, ()                # the attempt the agent turned down: on its way back
        contacts = (tuple(c if x.id == c.id else x for x in m.contacts) if known
                    else m.contacts + (c,))
        # the consult asked for is the server's now (its token has come)
        asked = m.consult_asked - {c.id} if c.consult is not None else m.consult_asked
        return replace(_unreject(m, c.id), contacts=contacts, consult_asked=asked), ()
    m = replace(m, contacts=tuple(x for x in m.contacts if x.id != c.id),
                answer_on_arrival=m.answer_on_arrival - {c.id},
                consult_asked=m.consult_asked - {c.id},
                wrapped_locally=m.wrapped_locally - {c.id})
    m, fx = _reject_ringing(m, c.id)
    if c.status == "rona" and find(m, RonaPopover) is None:
        m = show(m, RonaPopover())
    return m, fx


def _reject_ringing(m: Model, contact_id: str) -> Step:
    """The server took the contact back: its call must not ring on (nor be answered later)."""
    gone = tuple(c for c in m.ringing() if c.contact == contact_id)
    if not gone:
        return m, ()
    m = replace(m, calls=tuple(c for c in m.calls if c not in gone))
    m, stop = calls.quiet_ringer(m)
    return m, stop + tuple(SipHangup(c.id) for c in gone)


# -- taking offers -------------------------------------------------------------------------------
def accept(m: Model, contact_id: str, park: bool = False) -> Step:
    """Take an offer: answer its call, or answer it when it arrives."""
    contact = m.contact(contact_id)
    if contact is None or contact.status != "offered":
        return m, ()
    call = m.call_of(contact_id)
    if call is None:
        m = replace(m, answer_on_arrival=m.answer_on_arrival | {contact_id})
        return m, (CcAccept(contact_id),)
    if call.accepted:
        return m, ()
    m, fx = calls.answer(m, call, park)
    m, stop = calls.quiet_ringer(m)
    return m, fx + (CcAccept(contact_id),) + stop


def reject(m: Model, contact_id: str, why: str = "") -> Step:
    """Turn an offer down: it leaves the popover at once (the next offer shows, or home), its
    call stops ringing and is refused, and the server is told: it takes the call back, routes
    the contact again and sets the agent's state (Idle "rejected"), which the phone then shows.
    The server's "rona" for it is no missed call: the agent chose it (or the phone did, for
    ``why``: firmware.core.emergency)."""
    contact = m.contact(contact_id)
    call = m.call_of(contact_id)
    if contact is None or contact.status not in ("reserved", "offered") or (
            call is not None and call.accepted):
        return m, ()
    m = replace(m, contacts=tuple(c for c in m.contacts if c.id != contact_id),
                answer_on_arrival=m.answer_on_arrival - {contact_id},
                rejected=m.rejected | {(contact_id, contact.token)})
    m, fx = _reject_ringing(m, contact_id)
    return m, (CcReject(contact_id, why),) + fx     # the server first: it withdraws the call too


def _unreject(m: Model, contact_id: str) -> Model:
    """The server has moved past a rejected attempt (or offers the contact anew)."""
    if not any(r == contact_id for r, _token in m.rejected):
        return m
    return replace(m, rejected=frozenset(r for r in m.rejected if r[0] != contact_id))


def accept_all(m: Model) -> Step:
    """The oldest offer is answered; the others are answered and held (or when they arrive)."""
    effects: Effects = ()
    for i, offer in enumerate(m.offers()):
        m, fx = accept(m, offer.id, park=i > 0)
        effects += fx
    return m, effects


def auto_answer(m: Model) -> Step:
    """The auto-answer beeps ended: the offer is answered where they played (unless the agent
    answered it meanwhile, or it went away)."""
    pending, m = m.auto_answering, replace(m, auto_answering=None)
    if pending is None:
        return m, ()
    call = m.call(pending[0])
    if call is None or call.state != "ringing" or call.accepted:
        return m, ()
    return accept(replace(m, hands_free=pending[1]), call.contact)


def can_pick_up(m: Model) -> bool:
    return find(m, OfferPopover) is not None or bool(m.ringing())


def pick_up(m: Model) -> Step:
    """Off-hook, speaker or headset: take the offer on show, else the call that rings."""
    popover = find(m, OfferPopover)
    if popover is not None:
        return accept(m, popover.contact)
    ringing = m.ringing()
    if not ringing:
        return m, ()
    contact = m.contact(ringing[0].contact)
    if contact is not None and contact.status == "offered":
        return accept(m, contact.id)
    m, fx = calls.answer(m, ringing[0])
    m, stop = calls.quiet_ringer(m)
    return m, fx + stop


# -- screens -------------------------------------------------------------------------------------
STACK_SHOWN = 5        # offers the agent can page through; more show as "1-5 of <total>"


def shown_variables(m: Model, contact_id: str) -> tuple[tuple[str, str], ...]:
    """(label, value) of the contact's variables in the admin's layout order; secure ones (and
    any the layout doesn't name, whose secrecy is unknown) are left out."""
    contact = m.contact(contact_id)
    if contact is None or m.agent is None:
        return ()
    values = dict(contact.variables)
    return tuple((v.label, values[v.name]) for v in m.agent.layout
                 if not v.secure and v.name in values)


CONSULT_LINES = 9      # a consult offer: who asked (three lines) and the variables, at most this


def consult_lines(m: Model, contact_id: str) -> tuple[tuple[str, str], ...] | None:
    """A consulted agent's contact (``primary`` false): (label, value) of who asked (name,
    extension, team), then the variables shown (never secure ones), CONSULT_LINES at most;
    None for any other contact."""
    contact = m.contact(contact_id)
    if contact is None or contact.primary:
        return None
    asked = contact.requested_by
    defaults = (("From", asked.name), ("Ext", calls.user_part(asked.extension)),
                ("Team", asked.team)) if asked else ()
    return (defaults + shown_variables(m, contact_id))[:CONSULT_LINES]


def detail_count(m: Model, contact_id: str) -> int:
    """How many caller and variable lines the contact's popover and call data have."""
    lines = consult_lines(m, contact_id)
    contact = m.contact(contact_id)
    if contact is not None and contact.kind == "campaign":    # who, the number, the fields
        return 2 + len(campaigns.fields(m, contact))
    return len(lines) if lines is not None else 1 + len(shown_variables(m, contact_id))


def _scrolled(m: Model, s: OfferPopover | VarsScreen, step: int) -> Step:
    """Scroll the caller and variable lines by one row of the display (which may hold several
    lines side by side), stopping where the last line shows."""
    lines = detail_count(m, s.contact)          # the caller (who asked), then the variables
    return replace_top(m, replace(s, scroll=m.info.display.scrolled(lines, s.scroll, step))), ()


def offer_key(m: Model, s: OfferPopover, action: Action) -> Step:
    if action in ("accept", "ok"):
        return accept(m, s.contact)
    if action == "accept_all":
        return accept_all(m)
    if action == "reject":
        return reject(m, s.contact)
    if action == "vars":
        return push(m, VarsScreen(s.contact)), ()
    if action in ("up", "down"):
        return _scrolled(m, s, 1 if action == "down" else -1)
    if action in ("left", "right"):          # through the first STACK_SHOWN; the rest wait
        ids = [c.id for c in m.offers()][:STACK_SHOWN]
        i = ids.index(s.contact) if s.contact in ids else 0
        shown = ids[(i + (1 if action == "right" else -1)) % len(ids)]
        return replace_top(m, OfferPopover(shown)), ()
    return m, ()


def rona_key(m: Model, _s: RonaPopover, action: Action) -> Step:
    if action == "available":
        return set_state(pop(m), "available")
    if action == "idle" and m.agent is not None and m.agent.idle_codes:
        return replace_top(m, ReasonScreen("idle")), ()
    if action in ("idle", "ok", "back"):          # stays Idle (RONA)
        return pop(m), ()
    return m, ()


def vars_key(m: Model, s: VarsScreen, action: Action) -> Step:
    if action in ("up", "down"):
        return _scrolled(m, s, 1 if action == "down" else -1)
    if action in ("back", "ok"):
        return pop(m), ()
    return m, ()
