"""The agent's favorites: numbers and directory entries to call in two keys. The server keeps
them, so they follow the agent to any phone: the snapshot brings them, a `favorites` event
every change (made here or on another phone), and logging out takes them off this phone.

Opened from the dial screen (`Favs`) or the main menu: up/down (or T9, as the directory), `ok`
dials. `Del` asks first, as desk phones do: the row says `Delete <name>?` and a second press
(`Yes`, under the same key) deletes, `No` or any other key keeps it. Opened from a dial screen
with a number typed, `Add` makes that number a favorite; `Fav+` in the call history makes the
call in view one. Such a number is labelled with itself; the server keeps one that a directory
entry has (an agent's extension) as that entry, with its name. A typed number may be a
customer's: where the admin masks numbers it shows masked, and T9 does not search its digits.
A customer's number the history shows masked is never made a favorite: the server would keep it
whole, in the agent's own list, long after the contact it came with.
"""
from __future__ import annotations

from dataclasses import replace

from . import dialpad
from . import events as ev
from .directory import NO_SERVER_FAVORITES, SEARCH_KEYS, add_favorite, call, search
from .effects import CcFavoriteRemove, Step
from .model import FavoritesScreen, HistoryScreen, Model, with_notice
from .navigation import pop, push, replace_top
from .searchlist import list_key
from .vocab import Action

FAVORITE_DELETED = "Favorite deleted"
MASKED_NUMBER = "Masked number: can't be a favorite"
EMERGENCY_NUMBER = "Emergency numbers can't be favorites"


def masked(m: Model, f: ev.Favorite) -> bool:
    """A number the agent typed (no directory entry): perhaps a customer's, so masked where
    the admin masks numbers."""
    return not f.id and m.agent is not None and m.agent.cc.mask_ani


def favorites(m: Model) -> tuple[ev.Favorite, ...]:
    return m.agent.favorites if m.agent else ()


def listed(m: Model, s: FavoritesScreen) -> list[ev.Favorite]:
    """The favorites the list shows now."""
    def text(f: ev.Favorite) -> str:
        return "" if masked(m, f) else f"{f.name} {f.number}"
    return search(favorites(m), s.query, text)


def can_add(m: Model, s: FavoritesScreen) -> bool:
    """The number typed on the dial screen is not a favorite yet (of an agent logged in)."""
    return (m.agent is not None and bool(s.number)
            and all(f.number != s.number for f in favorites(m)))


def open_favorites(m: Model, number: str = "") -> Step:
    return push(m, FavoritesScreen(number=number)), ()


def favorites_key(m: Model, s: FavoritesScreen, action: Action) -> Step:
    items = listed(m, s)
    cursor = min(s.cursor, len(items) - 1) if items else 0
    if s.confirm:                    # `Del` asked: a second press deletes, anything else keeps
        m = replace_top(m, replace(s, confirm=""))
        if action == "fav_del":
            return _delete(m, s.confirm)
        return m, ()
    moved = list_key(s, action, len(items), SEARCH_KEYS)
    if moved is not None:
        return replace_top(m, moved), ()
    if action == "back":
        return pop(m), ()
    if action == "fav_add" and can_add(m, s):
        return add_number(m, s.number)
    if not items:
        return m, ()
    if action in ("ok", "dial"):
        return call(m, items[cursor].number)
    if action == "fav_del":
        return replace_top(m, replace(s, confirm=items[cursor].number, cursor=cursor)), ()
    return m, ()


def add_number(m: Model, number: str) -> Step:
    """A number typed or called as a favorite, labelled with itself (the server names it
    after the directory entry that has it, if one does)."""
    return add_favorite(m, "number", number, name=number)


def add_from_history(m: Model, s: HistoryScreen) -> Step:
    """`Fav+` in the call history: the call in view's number, unless the history masks it (a
    customer's) or it is an emergency number (a favorite is one key from dialing it)."""
    entry = dialpad.in_view(m, s)
    if entry is None:
        return m, ()
    if dialpad.masked(m, entry):
        return with_notice(m, MASKED_NUMBER), ()
    if entry.emergency or dialpad.is_emergency(m, entry.number):
        return with_notice(m, EMERGENCY_NUMBER), ()
    return add_number(m, entry.number)


def _delete(m: Model, number: str) -> Step:
    if m.links.cc != "up":
        return with_notice(m, NO_SERVER_FAVORITES), ()
    return with_notice(m, FAVORITE_DELETED), (CcFavoriteRemove(number=number),)


def changed(m: Model, e: ev.CcFavorites) -> Step:
    """The server's list, as it is now (a change made here or on another phone)."""
    if m.agent is None:
        return m, ()
    return replace(m, agent=replace(m.agent, favorites=e.favorites)), ()
