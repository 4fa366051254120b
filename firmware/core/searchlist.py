"""The keys every searched list shares (reason lists, directory, favorites): a search key types
into the search, `back` deletes the last one typed, `Clear` empties it, up/down move the
cursor, round."""
from __future__ import annotations

from dataclasses import Field, replace
from typing import Any, ClassVar, Protocol, TypeVar

QUERY_MAX = 12                  # keys typed into a search: more than any label needs


class Searched(Protocol):
    """A list screen with a typed search and a cursor (a frozen dataclass)."""
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    @property
    def query(self) -> str: ...

    @property
    def cursor(self) -> int: ...


S = TypeVar("S", bound=Searched)


def list_key(s: S, action: str, count: int, keys: frozenset[str]) -> S | None:
    """The list after ``action`` (``count`` items shown, ``keys`` type the search); None when
    the action is none of these (``back`` with nothing typed included: the screen decides)."""
    if action in keys:
        return replace(s, query=s.query + action, cursor=0) if len(s.query) < QUERY_MAX else s
    if action == "back" and s.query:
        return replace(s, query=s.query[:-1], cursor=0)
    if action == "clear":
        return replace(s, query="", cursor=0)
    if action in ("up", "down") and count:
        step = 1 if action == "down" else -1
        return replace(s, cursor=(min(s.cursor, count - 1) + step) % count)
    return None
