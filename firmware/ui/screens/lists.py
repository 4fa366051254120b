"""The login screen and the reason lists (idle, logout, wrap-up)."""
from __future__ import annotations

from firmware.core.agent import locked_for
from firmware.core.model import LoginScreen, Model, ReasonScreen
from firmware.core.reasons import MIN_KEYS, codes, filtering, matching, title

from ..glyphs import POINTER
from ..text import split, wrap
from .home import pending_line

SEARCH_HINT = f"Type {MIN_KEYS['wrapup']}+ to search"


def login(m: Model, s: LoginScreen):
    agent = _field("Agent ID", s.agent, s.entry == "agent")
    pin = _field("PIN", "*" * len(s.pin), s.entry == "pin")
    field = agent if s.entry == "agent" else pin
    if wait := locked_for(m):   # too many wrong PINs: the server's wait, counted down
        return ["Too many tries:", f"wait {wait} s", field]
    if s.error:                 # the error over two rows, then the field to type in
        return [*wrap(s.error, m.info.display.cols, 2), field]
    return ["Agent login", agent, pin]


def _field(name: str, value: str, active: bool) -> str:
    return f"{POINTER if active else ' '}{name:<9}{value}{'_' if active else ''}"


def reasons(m: Model, s: ReasonScreen):
    cols, window = m.info.display.cols, m.info.display.rows - 2
    items = matching(m, s)
    cursor = min(s.cursor, len(items) - 1) if items else 0
    count = f"{cursor + 1}/{len(items)}" if items else "0/0"
    head = title(m, s)
    if s.query:                 # the typed keys stay visible; the title gives way
        head = f"{head[:max(0, cols - len(count) - len(s.query) - 2)]} {s.query}".lstrip()
    rows = [split(head, count, cols)]
    status = _status(m, s)
    window -= 1 if status else 0            # the status takes a row under the list
    if not items:
        rows.append(" No match" if codes(m, s) else " No reasons: OK")
    first = min(cursor, max(0, len(items) - window))
    for i in range(first, min(first + window, len(items))):
        rows.append((POINTER if i == cursor else " ") + items[i].label)
    if status:
        rows = rows[:1 + window] + [status]
    return rows


def _status(m: Model, s: ReasonScreen) -> str:
    """The wrap-up list's last row: how to search, or the state that follows."""
    if s.kind != "wrapup":
        return ""
    if s.query and not filtering(s):
        return SEARCH_HINT
    contact = m.contact(s.contact)
    if contact is not None and contact.failed and not s.query:
        return f"Failed: {contact.failed}"      # a campaign's attempt: why, to pick by
    return pending_line(m) or ("" if s.query else SEARCH_HINT)
