"""A standard or direct preview's reservation call (docs/cc-protocol.md, "Campaigns"): before
it shows a record's preview, the server calls the phone to hold the agent for it. The phone
answers that call by itself once its token checks out (calls.py binds it as any contact's
call), keeps it silent (it is no ``Call``: no speaker, no mic, nothing on the call screen) and
shows the preview once it is up. What becomes of it is the server's to say: the phone reports
nothing about it.

On `Call`: in a standard preview the server dials the customer on this very call, which becomes
the record's call (``Call.server_dials``: `Calling` until the server says the customer is on
it); in a direct preview the phone hangs it up and places the call itself.
"""
from __future__ import annotations

from dataclasses import replace

from . import dialpad
from . import events as ev
from .effects import SipAnswer, SipHangup, SipRefuse, Step
from .model import Model, Reservation

NOT_FREE = "not free for a reservation"


def rides_on_reservation(contact: ev.Contact) -> bool:
    """An INVITE whose token matched this contact is its reservation call."""
    return contact.reservation and contact.status == "preview"


def answer(m: Model, contact: ev.Contact, call_id: str, peer: str) -> Step:
    """Answered at once, silent; refused while the phone holds a call or another reservation
    (the server then takes the record back)."""
    if m.reservation is not None or m.calls:
        return m, (SipRefuse(call_id, contact.id, NOT_FREE),)
    return replace(m, reservation=Reservation(call_id, contact.id, peer)), (SipAnswer(call_id),)


def call_state(m: Model, e: ev.SipCallState) -> Step | None:
    """The reservation call's own news (None: ``e`` is not about it)."""
    r = m.reservation
    if r is None or e.call != r.call:
        return None
    if e.state == "established":
        return replace(m, reservation=replace(r, up=True)), ()
    if e.state == "ended":
        return replace(m, reservation=None), ()
    return m, ()


def release(m: Model, contact_id: str) -> Step:
    """Hang up the record's reservation call (a direct preview's `Call`: the phone dials)."""
    r = m.reservation
    if r is None or r.contact != contact_id:
        return m, ()
    return replace(m, reservation=None), (SipHangup(r.call),)


def take_over(m: Model, contact: ev.Contact) -> Step:
    """A standard preview's record is dialing: the reservation call becomes its call, on the
    call screen as `Calling` (the server rings the customer)."""
    r = m.reservation
    if r is None or r.contact != contact.id:
        return m, ()
    m, _call, fx = dialpad.place(replace(m, reservation=None), contact.ani, contact=contact.id,
                                 awaiting=False, sip_call=r.call)
    return m, fx


def connected(m: Model, contact: ev.Contact) -> Step:
    """The server joined the customer to a call it dialed: the agent talks from now."""
    call = m.call_of(contact.id)
    if (call is None or not call.server_dials or call.state != "calling"
            or contact.status not in ("assigned", "held")):
        return m, ()
    up = replace(call, state="talking", since=m.now)
    return replace(m, calls=tuple(up if c.id == call.id else c for c in m.calls)), ()


def forgotten(m: Model, contact: ev.Contact) -> Step:
    """The record left its preview some other way (skipped, removed, taken back): its
    reservation call goes too, should the server's hang-up not have come."""
    if contact.status in ("preview", "dialing"):
        return m, ()
    return release(m, contact.id)
