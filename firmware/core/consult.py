"""Consult and transfer (docs/cc-protocol.md, "Consult and transfer"): requests to the server,
which holds the customer's call; the phone never transfers a customer itself.

As on a desk phone's Transfer key: `xfer` (or `conf`, until conferences come) on a customer's
call opens the consult dial screen: type a number, or `Dir` for the directory; `ok` (`Cnslt`)
consults the target, `xfer` again (`Blind`) transfers blind to it. The server calls the phone
back on the **consult leg**, answered by itself (the customer held: calls.answer), which shows
`Consulting <who>`. On it, once the consulted party answers, `xfer` (`Trans`) hands the
customer over (consult transfer); `End` (`Exit`) leaves the consult, back to the held customer.
`Swap` talks to the other call (holding this one); left/right only look at it.

A consulted agent gets a consult offer (``primary`` false: the popover shows who asked) and
may leave with `Exit`; it owes no wrap-up.
"""
from __future__ import annotations

from dataclasses import replace

from . import calls, conference, directory, recording
from . import events as ev
from .effects import (CcConsult, CcExitConsult, CcTransfer, Effects, SipHangup, SipHold,
                      SipResume, Step)
from .model import Call, CallScreen, DialScreen, DirectoryScreen, Model, with_notice
from .navigation import close, push
from .vocab import Action, EntryKind

ONLY_CONTACTS = "Only a contact's call can be consulted"
ALREADY = "A consult is up already"
NO_SERVER = "No server: can't consult now"
NO_SERVER_TRANSFER = "No server: can't transfer now"
NOT_YET = "Transfer once they answer"
TRANSFERRING = "Transferring..."
# the server's refusals (CcRefused "consult" / "transfer"), in the agent's words
REFUSED = {"unsupported_destination": "Unsupported destination",
           "unknown_target": "No such target",
           "not_allowed": "Not allowed now",
           "conference_full": conference.FULL}
PICKER_KEYS: frozenset[Action] = frozenset({"ok", "dial", "consult", "xfer", "blind"})


# -- what the phone is doing -------------------------------------------------------------------
def consulted(m: Model, call: Call) -> bool:
    """``call`` is a consulted agent's: a contact offered to this agent as a consult."""
    contact = m.contact(call.contact)
    return contact is not None and not contact.primary and call.leg == "customer"


def consult_talking(m: Model, contact_id: str) -> bool:
    """The consulted party answered: the customer can be handed over."""
    contact = m.contact(contact_id)
    return bool(contact and contact.consult and contact.consult.status == "talking"
                and m.consult_of(contact_id))


def _why_not(m: Model, call: Call) -> str:
    """Why ``call``'s contact can't be consulted about now ("" if it can)."""
    contact = m.contact(call.contact)
    if contact is None or call.leg != "customer":
        return ONLY_CONTACTS
    if contact.consult is not None or m.consult_of(contact.id) or contact.id in m.consult_asked:
        return ALREADY
    if m.links.cc != "up":
        return NO_SERVER
    return ""


# -- the keys of a call ------------------------------------------------------------------------
def call_key(m: Model, s: CallScreen, action: Action) -> Step | None:
    """The call screen's consult and transfer keys; None: the key is calls.call_key's."""
    call = m.call(s.call)
    if call is None or call.state not in ("talking", "held"):
        return None
    contact = m.contact(call.contact)
    if (action == "exit" and call.leg == "customer" and contact is not None
            and contact.conference is not None and not contact.primary):
        return conference.leave(m, call)
    if action == "exit" or (action == "end" and call.leg == "consult"):
        return exit_consult(m, call)
    if action == "who" and contact is not None and contact.conference is not None:
        return conference.open_people(m, contact.id)
    if action == "rec":
        return recording.toggle(m, call)
    if action in ("conf", "conference") and contact is not None and (
            call.leg == "consult" or m.consult_of(contact.id)):
        return conference.join(m, call)
    if action == "swap":
        return swap(m, call)
    if contact is None:
        return (with_notice(m, ONLY_CONTACTS), ()) if action in ("xfer", "conf") else None
    if action in ("xfer", "transfer") and (call.leg == "consult" or m.consult_of(contact.id)):
        if not consult_talking(m, contact.id):
            return with_notice(m, NOT_YET), ()
        return _transfer(m, CcTransfer(contact.id))
    if action in ("xfer", "conf", "consult") and call.leg == "customer":
        if call.state != "talking":
            return None
        why = _why_not(m, call)
        if why:
            return with_notice(m, why), ()
        return push(m, DialScreen(consult=contact.id)), ()
    return None


def swap(m: Model, call: Call) -> Step:
    """Talk to the contact's other leg: it is resumed, the one talked on held."""
    other = next((c for c in m.shown_calls() if c.contact == call.contact and c.id != call.id
                  and c.state in ("talking", "held")), None)
    if other is None:
        return m, ()
    m = calls.focus(m, other.id)
    if other.state == "talking":
        return m, ()
    holds: Effects = tuple(SipHold(c.id) for c in m.calls if c.state == "talking"
                           and not c.hold_when_up)
    return m, holds + (SipResume(other.id),)


def exit_consult(m: Model, call: Call) -> Step:
    """Leave the consult: the requesting agent's consult leg is hung up (the held customer
    shows again), or the consulted agent leaves theirs. Held or not: it is no customer's."""
    if call.leg == "consult" or consulted(m, call):
        return m, (CcExitConsult(call.contact), SipHangup(call.id))
    return m, ()


# -- the target picker: the consult dial screen and the directory -----------------------------
def dial_key(m: Model, s: DialScreen, action: Action) -> Step | None:
    """The consult dial screen: `ok`/`Cnslt` consults the number typed, `xfer`/`Blind`
    transfers blind to it, `Dir` picks from the directory; None: the dial pad's key."""
    if action == "directory":
        return directory.open_directory(m, consult=s.consult)
    if action not in PICKER_KEYS:
        return None
    if not s.number:
        return m, ()
    return _picked(m, s.consult, "number", s.number, blind=action in ("xfer", "blind"))


def directory_key(m: Model, s: DirectoryScreen, action: Action) -> Step | None:
    """The directory picking a consult target: `ok`/`Cnslt` consults the entry in view,
    `xfer`/`Blind` transfers blind to it; None: the directory's key."""
    if action not in PICKER_KEYS:
        return None
    items = directory.matching(s)
    if not items:
        return m, ()
    entry = items[min(s.cursor, len(items) - 1)]
    target = entry.number if entry.kind == "number" else entry.id
    return _picked(m, s.consult, entry.kind, target, blind=action in ("xfer", "blind"))


def _picked(m: Model, contact_id: str, kind: EntryKind, target: str, blind: bool) -> Step:
    call = m.call_of(contact_id)
    if call is None or call.state not in ("talking", "held"):   # the customer left meanwhile
        return _close_picker(m), ()
    if blind:
        return _transfer(_close_picker(m), CcTransfer(contact_id, kind, target))
    why = _why_not(m, call)
    if why:
        return with_notice(m, why), ()
    m = replace(_close_picker(m), consult_asked=m.consult_asked | {contact_id})
    return m, (CcConsult(contact_id, kind, target),)


def _transfer(m: Model, transfer: CcTransfer) -> Step:
    if m.links.cc != "up":
        return with_notice(m, NO_SERVER_TRANSFER), ()
    return with_notice(m, TRANSFERRING), (transfer,)


def _close_picker(m: Model) -> Model:
    return close(m, lambda s: isinstance(s, (DialScreen, DirectoryScreen)) and bool(s.consult))


def refused(m: Model, e: ev.CcRefused) -> Step:
    """The server refused a consult or transfer: why, on the call (still as it was). A
    refused exit needs no word: the consult leg is hung up all the same, and its end ends the
    consult."""
    if e.request == "exit_consult":
        return m, ()
    if e.request == "consult":
        m = replace(m, consult_asked=frozenset())
    why = REFUSED.get(e.code, e.message)
    if e.code in ("unsupported_destination", "offline", "conference_full"):
        return with_notice(m, why), ()
    return with_notice(m, f"{'Consult' if e.request == 'consult' else 'Transfer'}: {why}"), ()
