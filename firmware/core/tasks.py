"""The task list: every offer and call on the phone with its state, one row each, so an offer
whose popover the agent lost track of, or a call behind another, can still be reached.

Opened with `ok` on the call screen, or Menu -> Tasks. `ok` on a row goes to it: an offer's
popover (to accept or reject it there), a call's screen (to resume, end or swap to it)."""
from __future__ import annotations

from dataclasses import dataclass, replace

from . import calls
from .effects import Step
from .model import Model, OfferPopover, TaskScreen
from .navigation import change, find, pop, replace_top
from .vocab import Action

# what a row says a task is doing
STATES = {"ringing": "Ringing", "calling": "Calling", "talking": "Talking", "held": "Held"}


@dataclass(frozen=True)
class Task:
    kind: str               # "offer" or "call"
    id: str                 # the contact's id (offer) or the call's
    state: str              # Ringing, Calling, Talking, Held, Offered
    who: str                # the number or caller
    customer: bool          # the number is a customer's (masked where the admin masks numbers)
    since: float


def tasks(m: Model) -> tuple[Task, ...]:
    """Offers first (oldest first, as the popover stacks them), then the calls."""
    offered = tuple(Task("offer", c.id, "Ringing" if m.call_of(c.id) else "Offered", c.ani,
                         True, c.offered_at) for c in m.offers())
    shown = {t.id for t in offered}
    on_calls = tuple(Task("call", c.id, STATES[c.state], _who(m, c.contact, c.peer),
                          bool(c.contact), c.since)
                     for c in m.calls if c.contact not in shown or not c.contact)
    return offered + on_calls


def _who(m: Model, contact_id: str, peer: str) -> str:
    contact = m.contact(contact_id)
    return contact.ani if contact else calls.user_part(peer)


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
