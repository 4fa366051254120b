"""Outbound campaigns (docs/cc-protocol.md, "Campaigns"): the campaigns the agent is in, a
previewed record (`Call`, `Skip`, `Remove`, its countdown), the campaign call the phone dials
once the server says so (the agent's `Call`, or the campaign's action at the countdown's end),
its dispositions, and a negotiated logout's countdown.

The server owns the rules: the phone shows only the softkeys the campaign allows and asks; the
server does the timeout's action itself, so a phone that is away or slow changes nothing.
"""
from __future__ import annotations

import math
from dataclasses import replace

from . import dialpad
from . import events as ev
from .effects import CcPreview, SipDial, Step
from .events import Contact
from .agent import open_logout
from .model import CampaignsScreen, Model, PreviewPopover, with_notice
from .navigation import pop, replace_top
from .vocab import Action, PreviewAction

NOT_ALLOWED: dict[PreviewAction, str] = {"skip": "Skip not allowed", "remove":
                                         "Remove not allowed", "call": "Can't call it now"}
# the server's refusals of a preview, in the agent's words
REFUSED = {"not_allowed": "Not allowed now", "unknown_contact": "Record taken back"}
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
        return call(m, contact)
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


def call(m: Model, contact: Contact) -> Step:
    """`Call`: the call shows `Calling` at once and the server is asked; the INVITE goes when
    the server sets the record dialing (``dialing``)."""
    why = dialpad.cannot_dial(m)
    if why:
        return with_notice(m, why), ()
    m, _call, fx = dialpad.place(m, contact.ani, contact=contact.id)
    return m, fx + (CcPreview(contact.id, "call"),)


def dialing(m: Model, contact: Contact) -> Step:
    """The server set a campaign record dialing: the call the agent placed goes out now; with
    none (the countdown ran out on `call`), the phone places it itself."""
    if contact.kind != "campaign" or contact.status != "dialing":
        return m, ()
    call = m.call_of(contact.id)
    if call is not None and not call.awaiting:
        return m, ()                    # dialed already
    if call is None:
        m, call, fx = dialpad.place(m, contact.ani, contact=contact.id, awaiting=False)
    else:
        call, fx = replace(call, awaiting=False), ()
        m = replace(m, calls=tuple(call if c.id == call.id else c for c in m.calls))
    return m, fx + (SipDial(call.id, contact.ani, False, contact.id),)


def refused(m: Model, e: ev.CcRefused) -> Step:
    """The server would not take the agent's answer: a call placed for it is dropped (the
    preview shows again, if the record is still in it)."""
    m = dialpad.drop(m, lambda c: c.awaiting and bool(c.contact))
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
