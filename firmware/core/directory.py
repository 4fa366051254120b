"""The directory: the server's agents (each with its state now), queues, entry points and dial
numbers, to call or make a favorite of.

Opened from the dial screen (`Dir`) or the main menu, it asks the server at once (`Loading...`)
and again every REFRESH_S while it is on show, so an agent's state changes on the list as it
changes on the server, as a desk phone's busy lamps do. The whole directory comes (the server
sends up to 500 entries) and is searched here by T9 as the reason lists are, digits matching
numbers too (`100` finds extension 1002). `ok` dials the entry's number (dialpad.dial), `Fav+`
makes it a favorite. Without the server there is nothing to show: `No server: directory
unavailable`, and the list comes by itself once the link is back.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TypeVar

from . import agent, dialpad, t9
from . import events as ev
from .effects import CcFavoriteAdd, CcGetDirectory, Step
from .model import DirectoryScreen, FavoritesScreen, MenuScreen, Model, Screen, with_notice
from .navigation import change, close, find, pop, push, replace_top
from .searchlist import list_key
from .vocab import Action, EntryKind

REFRESH_S = 5.0              # asked again this often while on show (agents' states)
LOST_S = 15.0                # an answer this late is taken as lost: asked again
SEARCH_KEYS = frozenset("0123456789")     # T9 letters, and digits for numbers
MAX_FAVORITES = 50           # the protocol's MAX_FAVORITES: the server refuses more
NO_SERVER = "No server: directory unavailable"
LOG_IN_FIRST = "Log in to see the directory"
NOTHING_TO_DIAL = "No number to dial"
FAVORITE_ADDED = "Added to favorites"
ALREADY_FAVORITE = "Already a favorite"
FAVORITES_FULL = f"Favorites full ({MAX_FAVORITES} max)"
NO_SERVER_FAVORITES = "No server: favorites can't change now"
LOG_IN_FOR_FAVORITES = "Log in to keep favorites"

T = TypeVar("T")


# -- shared with the favorites ---------------------------------------------------------------------
def search(items: Sequence[T], query: str, text: Callable[[T], str]) -> list[T]:
    """The items whose text has a word that the T9 ``query`` begins (all for no query)."""
    return [items[i] for i in t9.search((text(item) for item in items), query)]


def call(m: Model, number: str) -> Step:
    """Dial ``number`` from a list: once the call is up, the lists (and the menu) that led to it
    close, as the dial screen does; if it could not be placed, the agent stays on the list."""
    if not number:
        return with_notice(m, NOTHING_TO_DIAL), ()
    placed, effects = dialpad.dial(m, number)
    if len(placed.calls) > len(m.calls):
        placed = close(placed, _leads_to_a_call)
    return placed, effects


def _leads_to_a_call(s: Screen) -> bool:
    return (isinstance(s, (DirectoryScreen, FavoritesScreen))
            or (isinstance(s, MenuScreen) and s.menu == "main"))


def add_favorite(m: Model, kind: EntryKind, number: str, target: str = "",
                 name: str = "") -> Step:
    """Ask the server to make this a favorite of the agent's (it answers with the new list);
    what it would refuse is said here at once."""
    why = _why_no_favorite(m, number)
    if why:
        return with_notice(m, why), ()
    return with_notice(m, FAVORITE_ADDED), (CcFavoriteAdd(kind, number, target, name),)


def _why_no_favorite(m: Model, number: str) -> str:
    if not number:
        return NOTHING_TO_DIAL
    if m.agent is None:
        return LOG_IN_FOR_FAVORITES
    if any(f.number == number for f in m.agent.favorites):
        return ALREADY_FAVORITE
    if len(m.agent.favorites) >= MAX_FAVORITES:
        return FAVORITES_FULL
    if m.links.cc != "up":
        return NO_SERVER_FAVORITES
    return ""


# -- the directory screen -----------------------------------------------------------------------
def matching(s: DirectoryScreen) -> list[ev.DirectoryEntry]:
    """The entries the list shows now."""
    return search(s.entries or (), s.query, lambda e: f"{e.name} {e.number}")


def _why_not(m: Model) -> str:
    """Why the directory can't be asked for now ("" if it can)."""
    if m.agent is None:
        return LOG_IN_FIRST
    if m.links.cc != "up":
        return NO_SERVER
    return ""


def open_directory(m: Model, consult: str = "") -> Step:
    """``consult``: to pick the target of that contact's consult or transfer (consult.py)."""
    why = _why_not(m)
    if why:
        return push(m, DirectoryScreen(error=why, consult=consult)), ()
    return (push(m, DirectoryScreen(asked_at=m.now, waiting=True, consult=consult)),
            (CcGetDirectory(),))


def directory_key(m: Model, s: DirectoryScreen, action: Action) -> Step:
    items = matching(s)
    moved = list_key(s, action, len(items), SEARCH_KEYS)
    if moved is not None:
        return replace_top(m, moved), ()
    if action == "back":
        return pop(m), ()
    if not items:
        return m, ()
    entry = items[min(s.cursor, len(items) - 1)]
    if action in ("ok", "dial"):
        return call(m, entry.number)
    if action == "fav_add":
        return add_favorite(m, entry.kind, entry.number, entry.id, entry.name)
    return m, ()


def answered(m: Model, e: ev.CcDirectory) -> Step:
    """The server's answer: the list shows it, the cursor staying on the entry it was on."""
    s = find(m, DirectoryScreen)
    if s is None or not s.waiting:
        return m, ()                 # a late answer for a screen that is gone
    before = matching(s)
    was = before[min(s.cursor, len(before) - 1)] if before else None
    new = replace(s, entries=e.entries, truncated=e.truncated, error="", waiting=False)
    items = matching(new)
    keys = [(i.kind, i.id) for i in items]
    cursor = (keys.index((was.kind, was.id)) if was and (was.kind, was.id) in keys
              else min(s.cursor, max(0, len(items) - 1)))
    return change(m, s, replace(new, cursor=cursor)), ()


def refused(m: Model, e: ev.CcRefused) -> Step:
    """A refused look-up (or one lost with the link) says why on the screen, or, when a list
    is already shown, keeps it (the link indicator shows the server away). Other refusals are
    the agent's (agent.refused)."""
    s = find(m, DirectoryScreen)
    if e.request != "directory":
        return agent.refused(m, e)
    if s is None or not s.waiting:
        return m, ()
    if s.entries is None:
        return change(m, s, replace(s, waiting=False, error=e.message)), ()
    return change(m, s, replace(s, waiting=False)), ()


def tick(m: Model) -> Step:
    """While the directory is on show, ask again every REFRESH_S (and once the server is
    back, after `No server`)."""
    s = m.screen
    if not isinstance(s, DirectoryScreen):
        return m, ()
    if m.agent is None and s.entries is not None:    # logged out: the list was the agent's
        return replace_top(m, DirectoryScreen(error=LOG_IN_FIRST)), ()
    if _why_not(m):
        return m, ()
    due = s.asked_at + (LOST_S if s.waiting else REFRESH_S)
    if m.now < due:
        return m, ()
    return (replace_top(m, replace(s, asked_at=m.now, waiting=True, error="")),
            (CcGetDirectory(),))
