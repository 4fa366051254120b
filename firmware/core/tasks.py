"""The task list: every offer and call on the phone with its state, one row each, so an offer
whose popover the agent lost track of, or a call behind another, can still be reached.

Opened with `ok` on the call screen, or Menu -> Tasks. `ok` on a row goes to it: an offer's
popover (to accept or reject it there), a call's screen (to resume, end or swap to it)."""
from __future__ import annotations

from dataclasses import dataclass, replace

from . import calls
from .effects import Step
from .model import Call, Model, OfferPopover, TaskScreen
from .navigation import change, find, pop, replace_top
from .vocab import Action

# what a row says a task is doing
STATES = {"ringing": "Ringing", "calling": "Calling", "talking": "Talking", "held": "Held"}


@dataclass(frozen=True)
class Task:
    kind: str               # "offer" or "call"
    id: str                 # the contact's id (offer) or the call's
    state: str              # Ringing, Calling, Talking, Held, Offered, Consulting
    who: str                # the number or caller
    customer: bool          # the number is a customer's (masked where the admin masks numbers)
    since: float


def tasks(m: Model) -> tuple[Task, ...]:
    """Offers first (oldest first, as the popover stacks them), then the calls."""
    offered = tuple(Task("offer", c.id, "Ringing" if m.call_of(c.id) else "Offered", c.ani,
                         True, c.offered_at) for c in m.offers())
    shown = {t.id for t in offered}
    on_calls = tuple(_call_task(m, c) for c in m.calls if c.contact not in shown or not c.contact)
    return offered + on_calls


def _call_task(m: Model, c: Call) -> Task:
    contact = m.contact(c.contact)
    if c.leg == "consult":          # whom the agent consults: never a customer's number
        who = contact.consult.who if contact and contact.consult else calls.user_part(c.peer)
        return Task("call", c.id, "Consulting", who, False, c.since)
    who = contact.ani if contact else calls.user_part(c.peer)
    return Task("call", c.id, STATES[c.state], who, bool(c.contact), c.since)


def task_key(m: Model, s: TaskScreen, action: Action) -> Step:
    items = tasks(m)
    if action == "back" or not items:
        return pop(m), ()
    cursor = min(s.cursor, len(items) - 1)
    if action in ("up", "down"):
        step = 1 if action == "down" else -1
        return replace_top(m, replace(s, cursor=(cursor + step) % len(items))), ()
    if action == "ok":
        return go_to(pop(m), items[cursor]), ()
    return m, ()


def go_to(m: Model, task: Task) -> Model:
    if task.kind == "offer":
        popover = find(m, OfferPopover)
        return change(m, popover, OfferPopover(task.id)) if popover else m
    return calls.focus(m, task.id)
