"""Reason lists (idle, logout, wrap-up): scrolling, T9 search and what picking a code does.
Lists may hold 100+ codes, so they scroll (wrapping) and filter as digits are typed."""
from __future__ import annotations

from dataclasses import replace

from . import campaigns, notes, t9
from .agent import log_out, set_state
from .effects import CcWrapUp, Step
from .events import Code
from .model import MenuScreen, Model, ReasonScreen, with_notice
from .navigation import pop, push, replace_top
from .searchlist import list_key
from .vocab import Action, ReasonKind

TITLES: dict[ReasonKind, str] = {"idle": "Idle reason", "logout": "Logout reason",
                                 "wrapup": "Wrap-up"}
# keys typed before the list filters: wrap-up lists are long and owed, so only a real search
MIN_KEYS: dict[ReasonKind, int] = {"idle": 1, "logout": 1, "wrapup": 3}
DISPOSITION = "Disposition"
WRAPUP_SENT = "Wrap-up sent"
WRAPUP_QUEUED = "Wrap-up saved; sends when online"


def codes(m: Model, s: ReasonScreen) -> tuple[Code, ...]:
    """The list's codes: a campaign record's wrap-up takes its campaign's dispositions."""
    if m.agent is None:
        return ()
    if s.kind != "wrapup":
        return m.agent.idle_codes
    own = campaigns.dispositions(m, s.contact)
    return own if own is not None else m.agent.wrapup_codes


def title(m: Model, s: ReasonScreen) -> str:
    """The list's title: a campaign record's wrap-up is its disposition."""
    if s.kind == "wrapup" and campaigns.dispositions(m, s.contact) is not None:
        return DISPOSITION
    return TITLES[s.kind]


def matching(m: Model, s: ReasonScreen) -> list[Code]:
    """The codes the list shows now."""
    all_codes = codes(m, s)
    found = t9.search((c.label for c in all_codes), s.query, MIN_KEYS[s.kind])
    return [all_codes[i] for i in found]


def filtering(s: ReasonScreen) -> bool:
    return len(s.query) >= MIN_KEYS[s.kind]


def label(codes_: tuple[Code, ...], code: str) -> str:
    """A code's label for the agent; the code itself if the list doesn't have it."""
    return next((c.label for c in codes_ if c.code == code), code)


def reason_key(m: Model, s: ReasonScreen, action: Action) -> Step:
    items = matching(m, s)
    moved = list_key(s, action, len(items), t9.SEARCH_KEYS)
    if moved is not None:
        return replace_top(m, moved), ()
    if action == "back":
        return (m, ()) if s.kind == "wrapup" else (pop(m), ())     # a wrap-up is owed
    if action == "ok":
        if items:
            return choose(m, s, items[min(s.cursor, len(items) - 1)])
        if not codes(m, s):          # the server offers none: go on without a reason
            return choose(m, s, None)
    if action == "state" and s.kind == "wrapup":
        return push(m, MenuScreen("state")), ()
    return m, ()


def choose(m: Model, s: ReasonScreen, code: Code | None) -> Step:
    """The list ``s`` (the top screen) picked ``code`` (None: the list had none to offer)."""
    reason = code.code if code else ""
    if s.kind == "idle":
        return set_state(m, "idle", reason)
    if s.kind == "logout":
        return log_out(m, reason)
    m = replace(pop(m), wrapped_locally=m.wrapped_locally | {s.contact})
    m, note = notes.taken(m, s.contact)
    # firmware.cc queues it while offline, note and all: the agent is done either way
    m = with_notice(m, WRAPUP_SENT if m.links.cc == "up" else WRAPUP_QUEUED)
    return _after_wrapup(m), (CcWrapUp(s.contact, reason, note),)


def _after_wrapup(m: Model) -> Model:
    """The state the server moves the agent to after the last wrap-up (its pending state,
    else Available), shown at once; the server's own word replaces it when it comes."""
    agent = m.agent
    if agent is None or agent.state != "wrapup" or m.calls or any(
            isinstance(sc, ReasonScreen) and sc.kind == "wrapup" for sc in m.screens):
        return m
    state, reason = agent.pending or ("available", "")
    if state not in ("available", "idle"):
        return m                     # a pending logout is the server's to carry out
    return replace(m, agent=replace(agent, state=state, reason=reason, pending=None))
