"""Screens about a customer: the connecting, offer and missed-call popovers, the call screen and
the call variables. A secure variable never reaches a row, not even its label."""
from __future__ import annotations

import time

from firmware.core import calldata, callbacks, campaigns, followups
from firmware.core.events import Contact
from firmware.core.model import (Call, CallbacksScreen, CallDataScreen, CallScreen, CampaignsScreen,
                                 ConnectingPopover, DialScreen, HistoryScreen, Model, OfferPopover,
                                 FollowUpScreen, PeopleScreen, PreviewPopover, RonaPopover,
                                 ScriptScreen,
                                 TaskScreen, VarsScreen)
from firmware.core.calls import user_part
from firmware.core.dialpad import masked
from firmware.core.helprequest import help_line
from firmware.core.offers import STACK_SHOWN, consult_lines, shown_variables
from firmware.core.recording import recording
from firmware.core.tasks import tasks

from ..glyphs import DOT, PAUSED, POINTER
from ..text import cells, mask, split, timer, wrap
from .home import pending_line

CALL_STATES = {"talking": "Talking", "held": "Held"}
# the consult leg, as far as the consult got (contact.consult.status)
CONSULT_STATES = {"dialing": "Dialing", "ringing": "Ringing", "talking": "Talking"}


def connecting(m: Model, s: ConnectingPopover):
    contact = m.contact(s.contact)
    return ["Connecting...", contact.queue if contact else ""]


def offer(m: Model, s: OfferPopover):
    offers = m.offers()
    if not offers:
        return []
    i = next((i for i, c in enumerate(offers) if c.id == s.contact), 0)
    contact = offers[i]
    place = (f"{i + 1} (1-{STACK_SHOWN} of {len(offers)})" if len(offers) > STACK_SHOWN
             else f"Call {i + 1} of {len(offers)}")
    if not contact.primary:          # a consult: who asked shows under it
        place = "Consult" if len(offers) == 1 else f"Consult {i + 1} of {len(offers)}"
    campaign = campaigns.campaign_of(m, contact)
    if campaign is not None:         # a campaign's customer the dialer reached
        place = campaign.name
    if contact.kind == "callback":   # the centre calls the customer back once answered
        place = "Callback" if len(offers) == 1 else f"Callback {i + 1} of {len(offers)}"
    header = split(place, timer(m.now - contact.offered_at), m.info.display.cols)
    return [header, *_window(m, _lines(m, contact.id), s.scroll)]


def preview(m: Model, s: PreviewPopover):
    """``Spring sale   00:25`` (the countdown to the campaign's own action, else the time
    since it came), the customer's name, their number (masked where the admin masks numbers),
    then the record's fields the campaign shows, scrolled."""
    contact = m.contact(s.contact)
    if contact is None:
        return []
    campaign = campaigns.campaign_of(m, contact)
    left = campaigns.countdown(m, contact)
    clock = timer(left) if left is not None else timer(m.now - contact.offered_at)
    cols = m.info.display.cols
    lines = campaign_lines(m, contact)
    if contact.alternates:           # left/right pick the number Call dials
        count = 1 + len(contact.alternates)
        number = campaigns.numbers(contact)[s.number % count]
        lines[1] = split(_caller(m, number), f"{s.number % count + 1}/{count}", cols)
    return [split(campaign.name if campaign else "Campaign", clock, cols),
            *_window(m, lines, s.scroll)]


def follow_up(m: Model, s: FollowUpScreen):
    """``Follow-up  10:30``, its note over the rows left, the customer's number last when it
    had one and there is room."""
    f = followups.shown(m, s)
    if f is None:
        return []
    cols, rows = m.info.display.cols, m.info.display.rows - 2
    # to the nearest second: ``at`` went out plus one session's clock skew and came back minus
    # another's (a reconnect's), a few ms apart: 10:33 must not read 10:32:59.998
    when = time.strftime("%H:%M", time.localtime(round(f.at)))
    who = [_caller(m, f.customer)] if f.customer else []
    note = wrap(f.note, cols, max(1, rows - len(who)))
    return [split("Follow-up", when, cols), *note, *who][:rows + 1]


def script(m: Model, s: ScriptScreen):
    """The campaign's script, wrapped, a window of it under ``Script 3/12``."""
    lines = campaigns.script_lines(m, s.contact)
    window = m.info.display.rows - 2
    return [split("Script", f"{s.scroll + 1}/{len(lines)}", m.info.display.cols),
            *lines[s.scroll:s.scroll + window]]


def campaign_lines(m: Model, contact: Contact) -> list[str]:
    return [contact.customer or "Customer", _caller(m, contact.ani),
            *(f"{label}: {value}" for label, value in campaigns.fields(m, contact))]


def campaign_list(m: Model, s: CampaignsScreen):
    """The campaigns the agent is in: name and ``Started`` / ``Stopped``."""
    listed = m.agent.campaigns if m.agent else ()
    cols, window = m.info.display.cols, m.info.display.rows - 2
    if not listed:
        return ["Campaigns", " Not in a campaign"]
    cursor = min(s.cursor, len(listed) - 1)
    rows = [split("Campaigns", f"{cursor + 1}/{len(listed)}", cols)]
    first = min(cursor, max(0, len(listed) - window))
    for i, c in enumerate(listed[first:first + window], start=first):
        status = "Started" if c.started else "Stopped"
        rows.append(split(f"{POINTER if i == cursor else ' '}{c.name}", status, cols))
    return rows


def callback_list(m: Model, s: CallbacksScreen):
    """``Callbacks  2/5`` (a customer's: their number), then ``→12-03 10:00 Zoë Ærø``."""
    cols, window = m.info.display.cols, m.info.display.rows - 2
    title = f"Callbacks {s.number}" if s.number else "Callbacks"
    if m.callbacks is None:
        return [title, " Asking the server..."]
    if not m.callbacks:
        return [title, " None scheduled"]
    shown = m.callbacks
    cursor = min(s.cursor, len(shown) - 1)
    if s.confirm:
        return [f"Delete {callbacks.when(shown[cursor])}?", shown[cursor].name]
    rows = [split(title if not s.number else "Callbacks", f"{cursor + 1}/{len(shown)}", cols)]
    first = min(cursor, max(0, len(shown) - window))
    for i, cb in enumerate(shown[first:first + window], start=first):
        rows.append(f"{POINTER if i == cursor else ' '}{callbacks.when(cb)} {cb.name}")
    return rows


def rona(m: Model, _s: RonaPopover):
    return ["Missed call", "You are now Idle"]


def call(m: Model, s: CallScreen):
    shown = m.shown_calls()
    c = m.call(s.call)
    if c is None:
        return []
    if c.leg == "consult":
        return _consult_leg(m, c, shown)
    what, since = CALL_STATES.get(c.state) or _not_up(c), c.since
    contact = m.contact(c.contact)
    if contact is not None and contact.conference is not None and c.state == "talking":
        # everyone on it who answered: the customer (until post call) and the agents
        what = f"Conference {sum(1 for x in contact.participants if x.state != 'ringing')}"
        since = contact.conference.since or c.since
    if contact is not None and contact.machine and c.state == "talking":
        what = "Machine"                 # the dialer heard an answering machine
    if m.muted and c.state == "talking":
        what = "Muted"
    place = next((i for i, x in enumerate(shown) if x.id == c.id), 0)
    count = f"{place + 1}/{len(shown)}" if len(shown) > 1 else ""
    cols, per_row = m.info.display.cols, m.info.display.detail_columns
    # the caller, and on a wide display the first variables beside it
    who = (cells(_lines(m, contact.id)[:per_row], cols, per_row)[0] if contact
           else _caller(m, user_part(c.peer)))
    if c.emergency:                  # never masked: the agent must see what was dialed
        who = f"EMERGENCY {c.peer}"
    # that keys went to the far end (an IVR, a payment line), never which: a card number
    third = sent_line(c.dtmf_sent, cols) if c.dtmf_sent else help_line(m) or pending_line(m)
    return [split(f"{what} {timer(max(0.0, m.now - since))}", count, cols), who,
            split(third, rec_mark(m, c), cols)]


def rec_mark(m: Model, c: Call) -> str:
    """``REC`` while the contact's call is recorded, ``REC‖ 00:42`` while paused (the time
    until it resumes by itself); "" when it is not."""
    rec = recording(m, c)
    if rec is None:
        return ""
    return f"REC{PAUSED} {timer(rec.resumes_at - m.now)}" if rec.paused else "REC"


def _consult_leg(m: Model, c: Call, shown) -> list[str]:
    """``Dialing 00:02`` (then ``Ringing``, ``Talking``, or ``Held``) / ``Consulting <who>``:
    its own timer, from the consult's last change (the leg's while held)."""
    contact = m.contact(c.contact)
    consult = contact.consult if contact is not None else None
    what, since = "Held", c.since
    if c.state != "held" and consult is not None:
        what, since = CONSULT_STATES[consult.status], consult.since or c.since
    if m.muted and c.state == "talking":
        what = "Muted"
    place = next((i for i, x in enumerate(shown) if x.id == c.id), 0)
    count = f"{place + 1}/{len(shown)}" if len(shown) > 1 else ""
    cols = m.info.display.cols
    who = consult.who if consult is not None else user_part(c.peer)
    return [split(f"{what} {timer(max(0.0, m.now - since))}", count, cols),
            f"Consulting {who}", pending_line(m)]


def _not_up(c: Call) -> str:
    if c.state == "calling":
        return "Ringing" if c.far_ringing else "Calling"
    return "Answering" if c.accepted else "Ringing"


def dial(m: Model, s: DialScreen):
    """The number being typed, its end in view when it is longer than the display."""
    cols = m.info.display.cols
    number = s.number[-(cols - 1):] + "_" if s.number else "_"
    hint = "Emergency: " + " ".join(m.info.emergency[:3])
    return ["Consult" if s.consult else "Dial", number, hint if len(hint) <= cols else ""]


def sent_line(count: int, cols: int) -> str:
    """``Sent 16 ････････････``: how many keys went as DTMF, one dot each (as many as fit)."""
    head = f"Sent {count} "
    return head + DOT * min(count, cols - len(head))


def call_data(m: Model, s: CallDataScreen):
    """``Call data 2/6``, then the variables from the one before the pointer: ``→Label:
    value``, a secure one ``****`` (or its value, for the seconds Show reveals it)."""
    listed = calldata.items(m, s.contact)
    if not listed:
        return ["Call data", "No call data"]
    d = m.info.display
    rows = d.rows - 2                       # under the header, above the softkeys
    lines: list[str] = []
    at = size = 0
    for i, v in enumerate(listed):
        text = f"{POINTER if i == s.selected else ' '}{v.label}: "
        text += calldata.shown_value(m, s.contact, v)
        if i == s.selected:                 # the one the pointer is on: all of it, wrapped
            at, part = len(lines), wrap(text, d.cols, rows)
            lines, size = lines + part, len(part)
        else:
            lines.append(text)
    first = max(0, min(at - 1, len(lines) - rows))
    if at + size > first + rows:            # the line before it gives way to all of it
        first = at
    return [split("Call data", f"{s.selected + 1}/{len(listed)}", d.cols),
            *lines[first:first + rows]]


def variables(m: Model, s: VarsScreen):
    lines = _lines(m, s.contact)
    last = min(len(lines), s.scroll + m.info.display.detail_lines)
    return [split("Call data", f"{s.scroll + 1}-{last}/{len(lines)}", m.info.display.cols),
            *_window(m, lines, s.scroll)]


# a participant's state as the list shows it (talking: nothing to say)
PEOPLE_STATES = {"ringing": "ringing", "held": "held", "music": "on hold", "talking": ""}


def people(m: Model, s: PeopleScreen):
    """``On the call  4``, then one row each: the customer (masked where the admin says),
    the agents (``*``: in control) and the numbers, as they joined."""
    contact = m.contact(s.contact)
    if contact is None:
        return []
    d = m.info.display
    width = d.cols // d.detail_columns - (1 if d.detail_columns > 1 else 0)
    lines = []
    for x in contact.participants:
        who = _caller(m, x.who) if x.kind == "customer" else x.who
        mark = "*" if x.kind == "agent" and x.agent == contact.control else ""
        lines.append(split(f"{mark}{who}", PEOPLE_STATES[x.state], width).rstrip())
    return [split("On the call", str(len(lines)), d.cols), *_window(m, lines, s.scroll)]


def _window(m: Model, lines: list[str], scroll: int) -> list[str]:
    """The lines from ``scroll`` that fit under the header, side by side on a wide display."""
    d = m.info.display
    return cells(lines[scroll:scroll + d.detail_lines], d.cols, d.detail_columns)


def _lines(m: Model, contact_id: str) -> list[str]:
    """The caller, then the variables the admin shows (offers.shown_variables drops secure ones)."""
    contact = m.contact(contact_id)
    if contact is None:
        return []
    consult = consult_lines(m, contact_id)
    if consult is not None:          # a consulted agent: who asked, then the variables
        return [f"{label}: {value}" for label, value in consult]
    if contact.kind == "campaign":   # the record: who, the number, the campaign's fields
        return campaign_lines(m, contact)
    if contact.kind == "callback":   # who, the number and queue, what they called, why
        reason = callbacks.reason(contact)
        return [contact.customer or "Customer", _caller_line(m, contact.ani, contact.queue),
                *([f"DNIS {contact.dnis}"] if contact.dnis else []),
                *([f"Reason: {reason}"] if reason else []),
                *(f"{label}: {value}" for label, value in shown_variables(m, contact_id)
                  if label != "Reason")]
    return [_caller_line(m, contact.ani, contact.queue),
            *(f"{label}: {value}" for label, value in shown_variables(m, contact_id))]


def _caller_line(m: Model, ani: str, queue: str) -> str:
    return f"{_caller(m, ani)} {queue}".rstrip()


def _caller(m: Model, number: str) -> str:
    return mask(number) if m.agent is not None and m.agent.cc.mask_ani else number


DIRECTIONS = {"out": "Out", "in": "In ", "missed": "Mis"}


def history(m: Model, s: HistoryScreen):
    """The agent's calls, newest first: direction, number (a customer's masked where the admin
    masks numbers), time."""
    cols, window = m.info.display.cols, m.info.display.rows - 2
    if not m.history:
        return ["Call history", " No calls yet"]
    cursor = min(s.cursor, len(m.history) - 1)
    rows = [split("Call history", f"{cursor + 1}/{len(m.history)}", cols)]
    first = min(cursor, max(0, len(m.history) - window))
    for i, h in enumerate(m.history[first:first + window], start=first):
        number = mask(h.number) if masked(m, h) else h.number
        line = f"{POINTER if i == cursor else ' '}{DIRECTIONS[h.direction]} {number}"
        at = time.strftime("%H:%M", time.localtime(h.at))
        rows.append(split(line, at, cols) if len(line) + 1 + len(at) <= cols else line)
    return rows


def task_list(m: Model, s: TaskScreen):
    """Every offer and call: state, who (a customer's number masked where the admin masks
    numbers), how long."""
    cols, window = m.info.display.cols, m.info.display.rows - 2
    items = tasks(m)
    if not items:
        return ["Tasks", " Nothing on the phone"]
    cursor = min(s.cursor, len(items) - 1)
    rows = [split("Tasks", f"{cursor + 1}/{len(items)}", cols)]
    first = min(cursor, max(0, len(items) - window))
    for i, t in enumerate(items[first:first + window], start=first):
        who = _caller(m, t.who) if t.customer else t.who
        line = f"{POINTER if i == cursor else ' '}{t.state} {who}"
        if len(line) > cols:            # a narrow display: the state in four letters
            line = f"{POINTER if i == cursor else ' '}{t.state[:4]} {who}"
        since = timer(m.now - t.since)
        rows.append(split(line, since, cols) if len(line) + 1 + len(since) <= cols else line)
    return rows
