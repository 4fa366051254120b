"""T9 search: a label matches typed keys when one of its words starts with them."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

LETTERS = {"2": "abc", "3": "def", "4": "ghi", "5": "jkl", "6": "mno", "7": "pqrs", "8": "tuv",
           "9": "wxyz"}
SEARCH_KEYS = frozenset(LETTERS)            # the keys that type a search (0, 1 carry no letters)
_KEY_OF = {letter: key for key, letters in LETTERS.items() for letter in letters}
_WORD = re.compile(r"[^\W_]+")              # runs of letters and digits


def keys_for(word: str) -> str:
    """The keys that type ``word``: letters by the T9 map (accents dropped), digits as
    themselves."""
    plain = unicodedata.normalize("NFKD", word.lower())
    return "".join(_KEY_OF.get(ch, ch) for ch in plain if ch.isalnum())


def matches(label: str, query: str) -> bool:
    return any(keys_for(word).startswith(query) for word in _WORD.findall(label))


def search(labels: Iterable[str], query: str, min_keys: int = 1) -> list[int]:
    """Indexes of the labels that match ``query``; every label while it is shorter than
    ``min_keys`` (a few keys of T9 match too much to be worth filtering)."""
    shown = list(labels)
    if len(query) < min_keys:
        return list(range(len(shown)))
    return [i for i, label in enumerate(shown) if matches(label, query)]
