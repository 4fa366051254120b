"""Nothing is offered over an emergency call.

While one is up (placed, ringing at the centre, talking or held), every offer the agent has not
taken is turned down at once with the ordinary reject (offers.reject): the server routes the
customer to the next agent now rather than after the offer rang out (RONA), and puts the agent
in Idle "rejected", as any reject does (Not Ready: no more offers until they choose Available).
No popover and no ringer: only a one-row notice, which leaves the call screen's
`EMERGENCY 911` line in view, and a line in the phone's log. An offer already ringing when the
emergency number is dialed goes the same way. Checked after every event (update.update), so
offers that come in a server snapshot (a reconnect) are turned down too.
"""
from __future__ import annotations

from . import offers
from .effects import Effects, Step
from .model import Call, Model, with_notice

WHY = "emergency call"          # the phone's log: "offer c-42 turned down: emergency call"
DECLINED = "Offer declined"


def untaken(m: Model) -> tuple[str, ...]:
    """The contacts offered to the agent and not taken: reserved (the popover would say
    `Connecting...`), or offered and neither accepted nor answered."""
    reserved = tuple(c.id for c in m.contacts if c.status == "reserved")
    return reserved + tuple(c.id for c in m.offers())


def turn_down_offers(m: Model) -> Step:
    """Reject every untaken offer while an emergency call is up."""
    call = m.emergency_call()
    ids = untaken(m) if call is not None else ()
    if call is None or not ids:
        return m, ()
    effects: Effects = ()
    for contact_id in ids:
        m, fx = offers.reject(m, contact_id, why=WHY)
        effects += fx
    return with_notice(m, _notice(m, call)), effects


def _notice(m: Model, call: Call) -> str:
    """`Offer declined: 911`, on one row of the display (the call screen's header row)."""
    text = f"{DECLINED}: {call.peer}"
    return text if len(text) <= m.info.display.cols else DECLINED
