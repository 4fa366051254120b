"""Conference (docs/cc-protocol.md, "Conference"): from a consult whose party answered, the
`conf` key joins them into the customer's call; the server's bridge mixes it. The consult leg
ends (the server hangs it up) and the phone resumes the customer call the consult held, once
the server says the conference is up. `Exit` (a party) or `End` (the agent in control) leaves
it; the others go on, and control passes on server-side.
"""
from __future__ import annotations

from dataclasses import replace

from . import events as ev
from .effects import CcConference, CcExitConference, SipHangup, SipResume, Step
from .model import Call, Model, PeopleScreen, with_notice
from .navigation import pop, push, replace_top
from .vocab import Action

NOT_YET = "Conference once they answer"
NO_SERVER = "No server: can't conference now"
FULL = "Conference full (8)"     # fits a 20-column row: the notice covers the header
# the server's refusals (CcRefused "conference" / "exit_conference"), in the agent's words
REFUSED = {"conference_full": FULL, "not_allowed": "Not allowed now"}


def on_conference(m: Model, contact_id: str) -> bool:
    contact = m.contact(contact_id)
    return contact is not None and contact.conference is not None


def join(m: Model, call: Call) -> Step:
    """`conf` on the consult (either leg): the consulted party joins the customer's call."""
    contact = m.contact(call.contact)
    if contact is None or contact.consult is None or contact.consult.status != "talking":
        return with_notice(m, NOT_YET), ()
    if m.links.cc != "up":
        return with_notice(m, NO_SERVER), ()
    m = replace(m, conference_asked=m.conference_asked | {contact.id})
    return m, (CcConference(contact.id),)


def leave(m: Model, call: Call) -> Step:
    """`Exit` on a conference call: out of it (the phone's call ends; the others go on)."""
    return m, (CcExitConference(call.contact), SipHangup(call.id))


def joined(m: Model, e: ev.CcContact) -> Step:
    """The server put the conference up: the customer call the consult held is resumed."""
    c = e.contact
    if c.id not in m.conference_asked or c.conference is None:
        return m, ()
    m = replace(m, conference_asked=m.conference_asked - {c.id})
    held = next((x for x in m.calls if x.contact == c.id and x.leg == "customer"
                 and x.state == "held"), None)
    return m, (SipResume(held.id),) if held is not None else ()


def refused(m: Model, e: ev.CcRefused) -> Step:
    """The server refused it: why, on the call (the consult goes on as it was)."""
    m = replace(m, conference_asked=frozenset())
    if e.request == "exit_conference":
        return m, ()                    # the call is hung up all the same: its end is the exit
    return with_notice(m, REFUSED.get(e.code, e.message)), ()


def open_people(m: Model, contact_id: str) -> Step:
    """`Who`: who is on the conference."""
    return push(m, PeopleScreen(contact_id)), ()


def people_key(m: Model, s: PeopleScreen, action: Action) -> Step:
    if action in ("up", "down"):             # a row of the display at a time, as call data
        contact = m.contact(s.contact)
        count = len(contact.participants) if contact is not None else 0
        step = 1 if action == "down" else -1
        return replace_top(m, replace(s, scroll=m.info.display.scrolled(count, s.scroll,
                                                                          step))), ()
    if action in ("back", "ok"):
        return pop(m), ()
    return m, ()
