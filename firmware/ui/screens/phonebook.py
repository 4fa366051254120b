"""The directory and the favorites: lists of people and numbers to call, searched by T9.

A row is the name, and on the right what it is: an agent's state now (`Avail`, `Idle`, `Off`,
...), `Queue`, `Entry` (an entry point) or `Num` (a dial number); a wider display shows the
number there too. Directory entries are the centre's own (agents, queues), never customers,
so their numbers show whole; a favorite the agent typed may be a customer's number, and shows
masked where the admin masks numbers."""
from __future__ import annotations

from firmware.core.directory import matching
from firmware.core.events import DirectoryEntry, Favorite
from firmware.core.favorites import listed, masked
from firmware.core.model import DirectoryScreen, FavoritesScreen, Model

from ..glyphs import POINTER
from ..text import mask, split, wrap

STATE_MARKS = {"available": "Avail", "idle": "Idle", "logged_out": "Off", "reserved": "Busy",
               "ringing": "Ring", "talking": "Busy", "held": "Busy", "wrapup": "Wrap"}
KIND_MARKS = {"agent": "", "queue": "Queue", "entry_point": "Entry", "number": "Num"}
WIDE = 40                    # from this many columns a row shows the number too


def directory(m: Model, s: DirectoryScreen):
    cols, window = m.info.display.cols, m.info.display.rows - 2
    title = "Consult" if s.consult else "Directory"     # picking a consult target
    if s.entries is None:
        what = wrap(s.error, cols, window) if s.error else ["Loading..."]
        return [title, *what]
    items = matching(s)
    cursor = min(s.cursor, len(items) - 1) if items else 0
    more = "+" if s.truncated else ""
    rows = [_header(title, s.query, f"{cursor + 1 if items else 0}/{len(items)}{more}",
                    cols)]
    if not items:
        rows.append(" No match" if s.entries else " Directory empty")
    rows += [_row(i == cursor, e.name, _mark(e, cols), cols)
             for i, e in _window(items, cursor, window)]
    return rows


def favorites(m: Model, s: FavoritesScreen):
    cols, window = m.info.display.cols, m.info.display.rows - 2
    items = listed(m, s)
    cursor = min(s.cursor, len(items) - 1) if items else 0
    if s.confirm:                  # Del pressed once: which one goes, asked in words
        f = next((f for f in items if f.number == s.confirm), None)
        name = _name(m, f) if f else s.confirm
        return ["Favorites", *wrap(f"Delete {name}?", cols, window)]
    rows = [_header("Favorites", s.query, f"{cursor + 1 if items else 0}/{len(items)}", cols)]
    if not items:
        rows.append(" No match" if s.query else " No favorites yet")
    rows += [_row(i == cursor, _name(m, f), _number(m, f) if cols >= WIDE else "", cols)
             for i, f in _window(items, cursor, window)]
    return rows


def _header(title: str, query: str, count: str, cols: int) -> str:
    """The title and the count; the typed keys stay visible, the title gives way."""
    if query:
        title = f"{title[:max(0, cols - len(count) - len(query) - 2)]} {query}".lstrip()
    return split(title, count, cols)


def _window(items: list, cursor: int, window: int):
    """(index, item) of the rows in view: the cursor's row always among them."""
    first = min(cursor, max(0, len(items) - window))
    return [(i, items[i]) for i in range(first, min(first + window, len(items)))]


def _row(chosen: bool, name: str, right: str, cols: int) -> str:
    return split((POINTER if chosen else " ") + name, right, cols)


def _mark(e: DirectoryEntry, cols: int) -> str:
    mark = STATE_MARKS.get(e.state or "", "") if e.kind == "agent" else KIND_MARKS[e.kind]
    return f"{e.number} {mark}".strip() if cols >= WIDE else mark


def _name(m: Model, f: Favorite) -> str:
    return _number(m, f) if masked(m, f) else f.name or f.number


def _number(m: Model, f: Favorite) -> str:
    return mask(f.number) if masked(m, f) else f.number
