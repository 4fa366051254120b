"""Callbacks on the phone (docs/cc-protocol.md, "Callbacks"): scheduling one on the keypad, from
idle or on a call, every rule checked as it is typed and again before it is sent
(callback_rules.py: the server's own rules and limits, in the same words, so a refusal reads as
the phone's own check); the scheduled callbacks of the customer in view, or the agent's own,
edited or deleted before their window starts.

The server owns the rules: a field it refuses comes back named, and the form comes back with
what the agent typed and the rule under the field.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from . import callback_rules as rules
from . import events as ev
from .effects import (CcDeleteCallback, CcEditCallback, CcListCallbacks, CcScheduleCallback,
                      Step)
from .events import Callback, CallbackDraft
from .form import Check, Field, FieldKind, Purpose, Submitted, with_errors
from .forms import ON_SUBMIT, open_form
from .model import CallbacksScreen, CallScreen, FormScreen, MenuScreen, Model, with_notice
from .navigation import find, pop, push, replace_top
from .vocab import Action

LABELS = {"number": "Number", "name": "Name", "date": "Date", "start": "From", "end": "To",
          "tz": "Zone", "queue": "Queue", "reason": "Reason", "assignee": "For"}
QUEUE_CALLBACK = "The queue"        # no assignee: the queue's agents get it
NO_SERVER = "No server: callbacks unavailable"
NOT_FOR_CAMPAIGN = "Not for a campaign call"
NO_QUEUE = "No queue takes callbacks"
SCHEDULED = "Callback {date} {start}"
DELETED = "Callback deleted"
STARTED = "Already started: can't change"
UTC = "UTC"
REASON_VARIABLE = "callback_reason"     # a callback's reason, a call variable


@dataclass(frozen=True)
class CallbackFor(Purpose):
    """A callback form: a new one (``callback`` "") for the contact the agent is on ("" from
    idle), or an edit of ``callback``."""
    contact: str = ""
    callback: str = ""


def said(field: str, code: str, limits: ev.CallbackRules) -> str:
    """A rule broken, as the LCD shows it under the field (the phone's check or the server's)."""
    return f"{LABELS.get(field, field)}: {rules.words(code, limits)}"


def server_now(m: Model) -> float:
    """The server's clock: the rules go by it, not the phone's."""
    return m.now + (m.agent.skew if m.agent else 0.0)


# -- the form ------------------------------------------------------------------------------------
def _leave_call_menu(m: Model) -> Model:
    """Opened from a call's More: the menu makes way (Save or Back return to the call)."""
    return pop(m) if isinstance(m.screen, MenuScreen) and m.screen.menu == "call" else m


def contact_in_view(m: Model) -> ev.Contact | None:
    shown = find(m, CallScreen)
    call = m.call(shown.call) if shown is not None else None
    return m.contact(call.contact) if call is not None else None


def open_new(m: Model) -> Step:
    """`Callback`: a new one, for the customer on the call in view (their number, their name
    if the contact has one) or from idle."""
    agent = m.agent
    if agent is None:
        return m, ()
    if m.links.cc != "up":
        return with_notice(m, NO_SERVER), ()
    m = _leave_call_menu(m)
    contact = contact_in_view(m)
    if contact is not None and contact.kind == "campaign":
        return with_notice(m, NOT_FOR_CAMPAIGN), ()
    queues = agent.callback_queues
    if not queues:
        return with_notice(m, NO_QUEUE), ()
    default_queue = (contact.queue if contact is not None
                     and any(q.code == contact.queue for q in queues)
                     else queues[0].code if queues else "")
    draft = CallbackDraft(number=contact.ani if contact else "",
                          name=contact.customer if contact else "", date="", start="", end="",
                          tz=UTC, queue=default_queue)
    return _open(m, CallbackFor(contact=contact.id if contact else ""), draft, {}), ()


def open_edit(m: Model, callback: Callback) -> Step:
    if callback.start <= m.now:
        return with_notice(m, STARTED), ()
    return _open(m, CallbackFor(callback=callback.id), callback.draft(), {}), ()


def _open(m: Model, purpose: CallbackFor, draft: CallbackDraft, errors: dict[str, str]) -> Model:
    assert m.agent is not None
    limits = m.agent.callback_rules

    def check(field: str, problem: Callable[[str, ev.CallbackRules], str]) -> Check:
        def said_of(value: str) -> str:
            code = problem(value, limits)
            return said(field, code, limits) if code else ""
        return said_of

    queues = tuple((q.code, q.label) for q in m.agent.callback_queues)
    team = ((("", QUEUE_CALLBACK),)
            + tuple((a.code, a.label) for a in m.agent.team_members))
    zones = tuple((z, z) for z in sorted(rules.zones()))
    fields = (
        Field("number", LABELS["number"], FieldKind.PHONE, required=True,
              max_len=limits.number_max, check=check("number", rules.number_problem),
              initial=draft.number),
        Field("name", LABELS["name"], required=True, max_len=limits.name_max,
              check=check("name", rules.name_problem), initial=draft.name),
        Field("date", LABELS["date"], FieldKind.DATE, required=True, initial=draft.date),
        Field("start", LABELS["start"], FieldKind.TIME, required=True, initial=draft.start),
        Field("end", LABELS["end"], FieldKind.TIME, required=True, initial=draft.end),
        Field("tz", LABELS["tz"], FieldKind.CHOICE, required=True, choices=zones,
              initial=draft.tz, hint="type a city"),
        Field("queue", LABELS["queue"], FieldKind.CHOICE, required=True, choices=queues,
              initial=draft.queue),
        Field("reason", LABELS["reason"], max_len=limits.reason_max,
              check=check("reason", rules.reason_problem), initial=draft.reason),
        Field("assignee", LABELS["assignee"], FieldKind.CHOICE, choices=team,
              initial=draft.assignee),
    )
    title = "Edit callback" if purpose.callback else "Callback"
    m = open_form(m, purpose, title, fields)
    if errors:
        top = m.screen
        assert isinstance(top, FormScreen)
        m = replace_top(m, replace(top, form=with_errors(top.form, errors)))
    return m


def submit(m: Model, p: CallbackFor, values: Submitted) -> Step:
    """Every field valid on its own: the window checked against the server's clock, then
    the callback sent (the form comes back with the server's refusal, if any)."""
    if m.agent is None:
        return m, ()
    v = dict(values)
    draft = CallbackDraft(number=v["number"], name=v["name"], date=v["date"], start=v["start"],
                          end=v["end"], tz=v["tz"], queue=v["queue"], reason=v["reason"],
                          assignee=v["assignee"])
    limits = m.agent.callback_rules
    problems = rules.problems(draft, limits, server_now(m),
                              queues={q.code for q in m.agent.callback_queues},
                              team={a.code for a in m.agent.team_members})
    if problems:
        return _open(m, p, draft, {f: said(f, code, limits) for f, code in problems.items()}), ()
    if m.links.cc != "up":
        return with_notice(_open(m, p, draft, {}), NO_SERVER), ()
    effect = (CcEditCallback(p.callback, draft) if p.callback
              else CcScheduleCallback(draft, p.contact))
    return replace(m, scheduling=(p, draft)), (effect,)


ON_SUBMIT[CallbackFor] = submit


def saved(m: Model, e: ev.CcCallbackSaved) -> Step:
    """The server took it: said once; a list on show has it."""
    cb = e.callback
    m = replace(m, scheduling=None)
    if m.callbacks is not None:
        others = tuple(c for c in m.callbacks if c.id != cb.id)
        m = replace(m, callbacks=tuple(sorted(others + (cb,), key=lambda c: c.start)))
    return with_notice(m, SCHEDULED.format(date=cb.date, start=cb.start_local)), ()


def refused(m: Model, e: ev.CcRefused) -> Step:
    """The server would not schedule it: the form again with what was typed and, under each
    refused field, its rule in the phone's own words."""
    if e.request == "callbacks":            # the list: none to show, and why
        return with_notice(replace(m, callbacks=()), e.message), ()
    draft, m = m.scheduling, replace(m, scheduling=None)
    if e.request == "delete_callback":
        return with_notice(m, STARTED if e.code == "not_allowed" else e.message), ()
    if draft is None or m.agent is None or not isinstance(draft[0], CallbackFor):
        return with_notice(m, e.message), ()
    limits = m.agent.callback_rules
    errors = {f: said(f, code, limits) for f, code in e.fields}
    if not errors:
        return with_notice(_open(m, draft[0], draft[1], {}),
                           STARTED if e.code == "not_allowed" else e.message), ()
    return _open(m, draft[0], draft[1], errors), ()


# -- the list ------------------------------------------------------------------------------------
def open_list(m: Model, number: str = "") -> Step:
    """The scheduled callbacks of the customer at ``number``, or ("") the agent's own."""
    if m.links.cc != "up":
        return with_notice(m, NO_SERVER), ()
    return (push(replace(m, callbacks=None), CallbacksScreen(number)),
            (CcListCallbacks(number),))


def open_for_customer(m: Model) -> Step:
    """From a call: the customer's callbacks."""
    m = _leave_call_menu(m)
    contact = contact_in_view(m)
    return open_list(m, contact.ani if contact is not None else "")


def listed(m: Model, e: ev.CcCallbacks) -> Step:
    return replace(m, callbacks=e.callbacks), ()


def selected(m: Model, s: CallbacksScreen) -> Callback | None:
    shown = m.callbacks or ()
    return shown[min(s.cursor, len(shown) - 1)] if shown else None


def list_key(m: Model, s: CallbacksScreen, action: Action) -> Step:
    shown = m.callbacks or ()
    cb = selected(m, s)
    if s.confirm:
        if action == "yes" and cb is not None:
            m = replace(m, callbacks=tuple(c for c in shown if c.id != cb.id))
            return (with_notice(replace_top(m, replace(s, confirm=False, cursor=0)), DELETED),
                    (CcDeleteCallback(cb.id),))
        return replace_top(m, replace(s, confirm=False)), ()
    if action == "back":
        return pop(m), ()
    if action in ("up", "down") and shown:
        step = 1 if action == "down" else -1
        return replace_top(m, replace(s, cursor=(min(s.cursor, len(shown) - 1) + step)
                                      % len(shown))), ()
    if action == "new":
        return open_new(m)
    if action in ("edit", "ok") and cb is not None:
        return open_edit(m, cb)
    if action == "del" and cb is not None:
        if cb.start <= m.now:
            return with_notice(m, STARTED), ()
        return replace_top(m, replace(s, confirm=True)), ()
    return m, ()


def when(cb: Callback) -> str:
    """``12-03 10:00``: its window's start, as typed (the customer's local time)."""
    if cb.date and cb.start_local:
        return f"{cb.date[5:]} {cb.start_local}"
    return time.strftime("%m-%d %H:%M", time.gmtime(cb.start))


# -- a callback offered --------------------------------------------------------------------------
def dialing(m: Model, contact: ev.Contact) -> Step:
    """The agent answered a callback and the server now rings the customer on that call:
    `Calling` until the server says they answered (reservation.connected)."""
    if contact.kind != "callback" or contact.status != "dialing":
        return m, ()
    call = m.call_of(contact.id)
    if call is None or call.state != "talking" or call.server_dials:
        return m, ()
    calling = replace(call, state="calling", since=m.now, server_dials=True)
    return replace(m, calls=tuple(calling if c.id == call.id else c for c in m.calls)), ()


def reason(contact: ev.Contact) -> str:
    return dict(contact.variables).get(REASON_VARIABLE, "")
