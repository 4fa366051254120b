"""Outbound campaigns (docs/cc-protocol.md, "Campaigns"): the campaigns the agent is in, a
previewed record (`Call`, `Skip`, `Remove`, its countdown), the campaign call the phone dials
once the server says so (the agent's `Call`, or the campaign's action at the countdown's end),
its dispositions, and a negotiated logout's countdown.

The server owns the rules: the phone shows only the softkeys the campaign allows and asks; the
server does the timeout's action itself, so a phone that is away or slow changes nothing.
"""
from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, replace

from . import dialpad, reservation
from . import events as ev
from .agent import open_logout
from .effects import CcPlayMessage, CcPreview, CcReschedule, SipDial, Step
from .events import Contact
from .form import Field, FieldKind, Purpose, Submitted
from .forms import ON_SUBMIT, open_form
from .model import (CampaignsScreen, MenuScreen, Model, PreviewPopover,
                    ScriptScreen, with_notice)
from .navigation import in_view, pop, push, replace_top
from .vocab import Action, PreviewAction

NOT_ALLOWED: dict[PreviewAction, str] = {"skip": "Skip not allowed", "remove":
                                         "Remove not allowed", "call": "Can't call it now"}
# the server's refusals of a preview, in the agent's words
REFUSED = {"not_allowed": "Not allowed now", "unknown_contact": "Record taken back"}
CALLING = "Calling {number}"            # a standard preview's: the server dials it
NO_SCRIPT = "No script"
LEAVING_MESSAGE = "Leaving the message"
NO_MESSAGE = "No message to leave"
NOT_A_RECORD = "Not a campaign call"
RESCHEDULED = "Call back {at}"
DONE = "Done"                          # a negotiated logout carried out


def campaign_of(m: Model, contact: Contact | None) -> ev.Campaign | None:
    if m.agent is None or contact is None or not contact.campaign:
        return None
    return m.agent.campaign(contact.campaign)


def changed(m: Model, e: ev.CcCampaign) -> Step:
    """A campaign started, stopped or changed its rules (the server's notice says it to the
    agent); a new one joins the list."""
    if m.agent is None:
        return m, ()
    known = m.agent.campaign(e.campaign.id) is not None
    campaigns = (tuple(e.campaign if c.id == e.campaign.id else c for c in m.agent.campaigns)
                 if known else m.agent.campaigns + (e.campaign,))
    return replace(m, agent=replace(m.agent, campaigns=campaigns)), ()


# -- the preview ---------------------------------------------------------------------------------
def allowed(m: Model, contact: Contact, action: PreviewAction) -> bool:
    campaign = campaign_of(m, contact)
    if action == "call":
        return True
    if campaign is None:
        return False
    return campaign.skip if action == "skip" else campaign.remove


def preview_key(m: Model, s: PreviewPopover, action: Action) -> Step:
    contact = m.contact(s.contact)
    if contact is None or contact.status != "preview":
        return m, ()
    if action in ("call", "ok"):
        return call(m, contact, s.number)
    if action in ("left", "right") and contact.alternates:    # which number Call dials
        count = 1 + len(contact.alternates)
        step = 1 if action == "right" else -1
        return replace_top(m, replace(s, number=(s.number + step) % count)), ()
    if action in ("skip", "remove"):
        what: PreviewAction = "skip" if action == "skip" else "remove"
        if not allowed(m, contact, what):
            return with_notice(m, NOT_ALLOWED[what]), ()
        if m.links.cc != "up":
            return with_notice(m, dialpad.NO_SERVER), ()
        return m, (CcPreview(contact.id, what),)
    if action == "logout":              # negotiated: the server takes the record back
        return open_logout(m)
    if action in ("up", "down"):
        lines = 2 + len(fields(m, contact))     # the name, the number, the fields
        scroll = m.info.display.scrolled(lines, s.scroll, 1 if action == "down" else -1)
        return replace_top(m, replace(s, scroll=scroll)), ()
    return m, ()


def numbers(contact: Contact) -> tuple[str, ...]:
    """The record's numbers: its own, then its alternates."""
    return (contact.ani, *contact.alternates)


def call(m: Model, contact: Contact, which: int = 0) -> Step:
    """`Call` (its own number, or the alternate picked with left/right): the call shows
    `Calling` at once and the server is asked; the INVITE goes when the server sets the
    record dialing (``dialing``), to the number it then has."""
    why = dialpad.cannot_dial(m)
    if why:
        return with_notice(m, why), ()
    number = numbers(contact)[which % len(numbers(contact))]
    ask = CcPreview(contact.id, "call", "" if which == 0 else number)
    if server_dials(m, contact):        # on the reservation call, once the server says
        return with_notice(m, CALLING.format(number=number)), (ask,)
    m, released = reservation.release(m, contact.id)    # a direct preview's: the phone dials
    m, _call, fx = dialpad.place(m, number, contact=contact.id)
    return m, released + fx + (ask,)


def server_dials(m: Model, contact: Contact) -> bool:
    """A standard preview's record: the server calls the customer on the reservation call."""
    campaign = campaign_of(m, contact)
    return campaign is not None and campaign.mode == "standard_preview"


def dialing(m: Model, contact: Contact) -> Step:
    """The server set a campaign record dialing: the call the agent placed goes out now; with
    none (the countdown ran out on `call`), the phone places it itself."""
    if contact.kind != "campaign" or contact.status != "dialing":
        return m, ()
    if server_dials(m, contact):
        return reservation.take_over(m, contact)
    m, released = reservation.release(m, contact.id)
    call = m.call_of(contact.id)
    if call is not None and not call.awaiting:
        return m, released              # dialed already
    if call is None:
        m, call, fx = dialpad.place(m, contact.ani, contact=contact.id, awaiting=False)
    else:
        call, fx = replace(call, awaiting=False), ()
        m = replace(m, calls=tuple(call if c.id == call.id else c for c in m.calls))
    return m, released + fx + (SipDial(call.id, contact.ani, False, contact.id),)


def refused(m: Model, e: ev.CcRefused) -> Step:
    """The server would not take the agent's answer: a call placed for it is dropped (the
    preview shows again, if the record is still in it)."""
    m = dialpad.drop(m, lambda c: c.awaiting and bool(c.contact))
    if e.code == "call_limit":          # the centre's call limit: the reason, as a dial
        return with_notice(m, f"Not dialed: {e.message}"), ()
    return with_notice(m, REFUSED.get(e.code, e.message)), ()


def fields(m: Model, contact: Contact) -> tuple[tuple[str, str], ...]:
    """(label, value) of the record's variables the campaign shows, in its order."""
    campaign = campaign_of(m, contact)
    if campaign is None:
        return ()
    values = dict(contact.variables)
    return tuple((f.label, values[f.name]) for f in campaign.fields
                 if not f.secure and f.name in values)


def countdown(m: Model, contact: Contact) -> float | None:
    """Seconds until the campaign acts on its own; None when it has no countdown."""
    if not contact.expires_at:
        return None
    return max(0.0, contact.expires_at - m.now)


# -- dispositions --------------------------------------------------------------------------------
def dispositions(m: Model, contact_id: str) -> tuple[ev.Code, ...] | None:
    """The campaign's dispositions for its record's wrap-up; None for any other contact."""
    campaign = campaign_of(m, m.contact(contact_id))
    return campaign.dispositions if campaign is not None else None


# -- on the record: script, reschedule ----------------------------------------------------------
def record_in_view(m: Model) -> Contact | None:
    """The campaign record the agent is on: the call in view's, else the one being wrapped
    up."""
    contact = m.contact(in_view(m)[1])
    return contact if contact is not None and contact.kind == "campaign" else None


def open_script(m: Model) -> Step:
    contact = record_in_view(m)
    campaign = campaign_of(m, contact)
    if contact is None or campaign is None:
        return with_notice(m, NOT_A_RECORD), ()
    if not campaign.script:
        return with_notice(m, NO_SCRIPT), ()
    return push(m, ScriptScreen(contact.id)), ()


def script_lines(m: Model, contact_id: str) -> list[str]:
    """The script wrapped to the display's width (its own line breaks kept)."""
    campaign = campaign_of(m, m.contact(contact_id))
    if campaign is None:
        return []
    cols = m.info.display.cols
    return [row for para in campaign.script.splitlines()
            for row in (textwrap.wrap(para, cols) or [""])]


def script_key(m: Model, s: ScriptScreen, action: Action) -> Step:
    """Up/down scroll the script a row at a time."""
    if action in ("back", "ok"):
        return pop(m), ()
    if action in ("up", "down"):
        window = m.info.display.rows - 2
        rows = len(script_lines(m, s.contact))
        scroll = max(0, min(rows - window, s.scroll + (1 if action == "down" else -1)))
        return replace_top(m, replace(s, scroll=scroll)), ()
    return m, ()


@dataclass(frozen=True)
class RescheduleFor(Purpose):
    contact: str


def open_reschedule(m: Model, date: str = "", time: str = "", note: str = "") -> Step:
    """A form for when to call the record again (the customer's local time); the server
    checks it against its clock and the campaign's last day."""
    contact = record_in_view(m)
    if contact is None:
        return with_notice(m, NOT_A_RECORD), ()
    m = open_form(m, RescheduleFor(contact.id), "Reschedule", (
        Field("date", "Date", FieldKind.DATE, required=True, initial=date),
        Field("time", "Time", FieldKind.TIME, required=True, initial=time)))
    if note:
        m = with_notice(m, note)
    return m, ()


def reschedule(m: Model, p: RescheduleFor, values: Submitted) -> Step:
    if m.links.cc != "up":
        return with_notice(m, "No server: not rescheduled"), ()
    if isinstance(m.screen, MenuScreen) and m.screen.menu == "record":
        m = pop(m)                      # back to the call (or the disposition) it came from
    at = f"{values['date']}T{values['time']}"
    return replace(m, rescheduling=(p.contact, at)), (CcReschedule(p.contact, at),)


ON_SUBMIT[RescheduleFor] = reschedule


def reschedule_refused(m: Model, e: ev.CcRefused) -> Step:
    """The server refused the time (in the past, after the campaign's end): the form again,
    with what the agent typed and the rule it broke."""
    draft, m = m.rescheduling, replace(m, rescheduling=None)
    if draft is None or e.code != "bad_value":
        return with_notice(m, REFUSED.get(e.code, e.message)), ()
    date, _, time = draft[1].partition("T")
    return open_reschedule(m, date, time, e.message)


def rescheduled(m: Model, contact: Contact) -> Model:
    """The server took the agent's reschedule: said once."""
    if m.rescheduling is None or m.rescheduling[0] != contact.id or not contact.rescheduled:
        return m
    return with_notice(replace(m, rescheduling=None),
                       RESCHEDULED.format(at=contact.rescheduled.replace("T", " ")))


# -- an answering machine ------------------------------------------------------------------------
def can_leave_message(m: Model, contact: Contact | None) -> bool:
    """`Msg` on the call: the dialer found a machine and the campaign has a message."""
    campaign = campaign_of(m, contact)
    return contact is not None and contact.machine and campaign is not None and campaign.message


def leave_message(m: Model, contact: Contact | None) -> Step:
    """The server plays the campaign's message to the machine and hangs up after it; the
    agent's call ends now (its disposition is still owed): on to the next record."""
    if contact is None or not can_leave_message(m, contact):
        return with_notice(m, NO_MESSAGE), ()
    if m.links.cc != "up":
        return with_notice(m, "No server: no message"), ()
    return with_notice(m, LEAVING_MESSAGE), (CcPlayMessage(contact.id),)


# -- the campaigns screen ------------------------------------------------------------------------
def campaigns_key(m: Model, s: CampaignsScreen, action: Action) -> Step:
    count = len(m.agent.campaigns) if m.agent else 0
    if action in ("back", "ok"):
        return pop(m), ()
    if action in ("up", "down") and count:
        step = 1 if action == "down" else -1
        return replace_top(m, replace(s, cursor=(s.cursor + step) % count)), ()
    return m, ()


# -- negotiated logout ---------------------------------------------------------------------------
def logout_left(m: Model) -> int | None:
    """Whole seconds until a negotiated logout takes effect (0: due, waiting for the call in
    progress to end); None when none is pending."""
    agent = m.agent
    if agent is None or agent.pending is None or agent.pending[0] != "logged_out" \
            or not agent.logout_at:
        return None
    return max(0, math.ceil(agent.logout_at - m.now))
