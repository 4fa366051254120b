"""Multi-tap text entry on the keypad: one field's text, its cursor and the letter being picked.

`2` types a, b, c, 2 in turn (the language's letters too: ä, é, ж ...); a pause or another key
commits the letter. `*` shifts case (Abc -> abc -> ABC -> 123), `#` cycles the symbols, left and
right move the cursor, back deletes before it. Which letters a key offers comes from the agent's
language (`keymap`), less those the display's character set can't show (board data, passed in).

Pure: ``key(editor, name, now)`` and ``tick(editor, now)`` return a new editor; the time is the
model's clock, never the wall clock."""
from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from enum import Enum

from .t9 import LETTERS

# A pending letter commits once the model's clock has moved this far past its key. The app's
# clock ticks once a second and a key is stamped with the last tick, so a letter commits 1-2 s
# after its key (never on the tick right after it, which may come a moment later).
COMMIT_S = 1.5
MAX_LEN = 40


class Case(Enum):
    """What the letter keys type; the value is the indicator the field shows."""
    CAPITAL = "Abc"      # the next letter in upper case, then lower
    LOWER = "abc"
    UPPER = "ABC"
    DIGITS = "123"


_NEXT_CASE = {Case.CAPITAL: Case.LOWER, Case.LOWER: Case.UPPER, Case.UPPER: Case.DIGITS,
              Case.DIGITS: Case.CAPITAL}


class Input(Enum):
    """What a field takes from the keypad."""
    TEXT = "text"        # multi-tap letters, symbols, all modes
    DIGITS = "digits"    # 0-9 only
    PHONE = "phone"      # 0-9, and `*` types a leading "+"


class Refusal(Enum):
    """Why a key changed nothing (the form turns it into the field's message)."""
    FULL = "full"                # the field holds its most characters
    DIGITS_ONLY = "digits only"  # a letter, case or symbol key on a digits field
    NOTHING_TO_DELETE = "empty"  # back with nothing before the cursor


# -- the letters of each language (lower case; the digit last, as phones have it) ---------------
_PUNCTUATION = ".,?!'-:1"
# the keypad's letters (as T9 search reads them), each key's digit after them
_LATIN = {"1": _PUNCTUATION, **{k: letters + k for k, letters in LETTERS.items()}, "0": " 0"}
_TABLES: dict[str, dict[str, str]] = {
    "en": _LATIN,
    "de": {**_LATIN, "2": "abcä2", "6": "mnoö6", "7": "pqrsß7", "8": "tuvü8"},
    "fr": {**_LATIN, "2": "abcàâç2", "3": "deféèêë3", "4": "ghiîï4", "6": "mnoôœ6",
           "8": "tuvùûü8"},
    "es": {**_LATIN, "2": "abcá2", "3": "defé3", "4": "ghií4", "6": "mnñoó6", "8": "tuvúü8"},
    # Cyrillic on purpose (ruff would take some letters for look-alike Latin ones)
    "ru": {**_LATIN, "2": "абвг2", "3": "деёжз3", "4": "ийкл4", "5": "мноп5",  # noqa: RUF001
           "6": "рсту6", "7": "фхцч7", "8": "шщъы8", "9": "ьэюя9"},  # noqa: RUF001
}
# an address: Latin letters whatever the agent's language, its punctuation on 1, no spaces
_EMAIL = {**_LATIN, "1": ".@-_1", "0": "0"}
_NAMES = {"english": "en", "german": "de", "deutsch": "de", "french": "fr", "français": "fr",
          "francais": "fr", "spanish": "es", "español": "es", "espanol": "es", "russian": "ru",
          "русский": "ru"}
LANGUAGES = tuple(_TABLES)
SYMBOLS = ".,@-_/:?!'+&()#*=%;\"$<>€£"


def _everything(_ch: str) -> bool:
    return True


@dataclass(frozen=True)
class Keymap:
    """The letters each key offers and the symbols `#` cycles, for one language and display."""
    language: str
    keys: tuple[tuple[str, str], ...]
    symbols: str = SYMBOLS
    # what the display can show; compared by identity, so one keymap per display, made once
    shows: Callable[[str], bool] = field(default=_everything, compare=False)

    def letters(self, key: str, upper: bool) -> str:
        """The key's letters in the case typed now. A letter the display can't show in that
        case comes in the other (HD44780 ROMs have ä but no Ä); one it can't show at all is
        left out."""
        found = next((letters for k, letters in self.keys if k == key), "")
        offered: list[str] = []
        for ch in found:
            want, other = (_upper(ch), ch) if upper else (ch, _upper(ch))
            shown = want if self.shows(want) else other if self.shows(other) else ""
            if shown and shown not in offered:
                offered.append(shown)
        return "".join(offered)

    def symbol_list(self) -> str:
        return "".join(ch for ch in self.symbols if self.shows(ch))


def language_code(language: str) -> str:
    """"en", "en-US", "English", "Deutsch" ... -> the table's code; ValueError if none."""
    name = language.strip().lower().replace("_", "-")
    code = _NAMES.get(name, name.split("-")[0])
    if code not in _TABLES:
        raise ValueError(f"no keypad letters for language {language!r}: one of "
                         f"{', '.join(LANGUAGES)}")
    return code


def keymap(language: str = "en", shows: Callable[[str], bool] | Collection[str] | None = None,
           *, email: bool = False) -> Keymap:
    """The keypad's letters for ``language``, offering only what ``shows`` (a predicate or the
    set of characters the display has) can show. ``email``: an address's Latin letters."""
    code = language_code(language)
    table = _EMAIL if email else _TABLES[code]
    if shows is None:
        can: Callable[[str], bool] = _everything
    elif callable(shows):
        can = shows
    else:
        can = shows.__contains__
    return Keymap(code, tuple(table.items()), SYMBOLS, can)


ENGLISH = keymap("en")


@dataclass(frozen=True)
class Pending:
    """The letter being picked: the ``index``-th of ``key``'s letters, last pressed at ``since``."""
    key: str
    index: int
    since: float


@dataclass(frozen=True)
class Editor:
    text: str = ""
    cursor: int = 0                    # where the next letter goes: 0..len(text)
    mode: Case = Case.CAPITAL
    pending: Pending | None = None     # shown at the cursor, not in ``text`` until committed
    max_len: int = MAX_LEN
    takes: Input = Input.TEXT
    # typed at these places as the text reaches them: (4, "-") for a date's "2025-"
    separators: tuple[tuple[int, str], ...] = ()
    keymap: Keymap = field(default=ENGLISH, repr=False)

    @property
    def pending_char(self) -> str:
        return _pending_char(self) if self.pending else ""

    @property
    def value(self) -> str:
        """The text with the pending letter in place (what a submit takes)."""
        return commit(self).text


def editor(text: str = "", *, takes: Input = Input.TEXT, mode: Case | None = None,
           max_len: int = MAX_LEN, separators: tuple[tuple[int, str], ...] = (),
           keymap: Keymap = ENGLISH) -> Editor:
    """An editor holding ``text``, the cursor at its end. A text field starts in Abc (abc
    after text), a digits field in 123 for good."""
    if takes is not Input.TEXT:
        mode = Case.DIGITS
    elif mode is None:
        mode = Case.LOWER if text else Case.CAPITAL
    return Editor(text=text, cursor=len(text), mode=mode, max_len=max_len, takes=takes,
                  separators=separators, keymap=keymap)


def key(e: Editor, name: str, now: float) -> tuple[Editor, Refusal | None]:
    """One key pressed at ``now``: the editor after it, and why it did nothing (or None).
    Keys the editor doesn't use (up, ok, softkeys ...) commit the pending letter."""
    if name.isdigit() and len(name) == 1:
        return _digit(e, name, now)
    if name == "*":
        return _star(e)
    if name == "#":
        return _hash(e, now)
    if name in ("left", "right"):
        e = commit(e)
        step = -1 if name == "left" else 1
        return replace(e, cursor=max(0, min(len(e.text), e.cursor + step))), None
    if name == "back":
        return _back(e)
    return commit(e), None


def tick(e: Editor, now: float) -> Editor:
    """The clock moved on: a letter left alone long enough commits. A symbol waits for a key,
    as the agent scrolls the list at their own pace."""
    p = e.pending
    if p is not None and p.key != "#" and now - p.since >= COMMIT_S:
        return commit(e)
    return e


def commit(e: Editor) -> Editor:
    """Put the pending letter into the text. A letter typed in Abc mode leaves lower case on."""
    if e.pending is None:
        return e
    ch = _pending_char(e)
    e = replace(e, pending=None)
    if not ch:
        return e
    mode = Case.LOWER if e.mode is Case.CAPITAL and ch.isalpha() else e.mode
    return replace(_insert(e, ch), mode=mode)


def candidates(e: Editor) -> tuple[str, int]:
    """The pending key's choices and which is picked (for the strip the screen shows)."""
    if e.pending is None:
        return "", 0
    choices = _choices(e, e.pending.key)
    return choices, e.pending.index % len(choices) if choices else 0


def clear(e: Editor) -> Editor:
    return replace(e, text="", cursor=0, pending=None)


def can_delete(e: Editor) -> bool:
    return e.pending is not None or e.cursor > 0


# -- the keys ------------------------------------------------------------------------------------
def _digit(e: Editor, name: str, now: float) -> tuple[Editor, Refusal | None]:
    if e.takes is not Input.TEXT or e.mode is Case.DIGITS:
        e = commit(e)
        return _type(e, name)
    p = e.pending
    if p is not None and p.key == name:          # the same key again: the next letter
        return replace(e, pending=Pending(name, p.index + 1, now)), None
    e = commit(e)
    if _full(e):
        return e, Refusal.FULL
    if not _choices(e, name):                    # the display shows none of its letters
        return e, None
    return replace(e, pending=Pending(name, 0, now)), None


def _star(e: Editor) -> tuple[Editor, Refusal | None]:
    shown = e.mode                   # the agent steps on from what the field shows (Abc -> abc),
    e = commit(e)                    # though committing a capital would have left abc on
    if e.takes is Input.TEXT:
        return replace(e, mode=_NEXT_CASE[shown]), None
    if e.takes is Input.PHONE and e.cursor == 0 and not e.text.startswith("+"):
        return _type(e, "+")
    return e, Refusal.DIGITS_ONLY


def _hash(e: Editor, now: float) -> tuple[Editor, Refusal | None]:
    if e.takes is not Input.TEXT:
        return commit(e), Refusal.DIGITS_ONLY
    p = e.pending
    if p is not None and p.key == "#":
        return replace(e, pending=Pending("#", p.index + 1, now)), None
    e = commit(e)
    if _full(e):
        return e, Refusal.FULL
    if not e.keymap.symbol_list():
        return e, None
    return replace(e, pending=Pending("#", 0, now)), None


def _back(e: Editor) -> tuple[Editor, Refusal | None]:
    if e.pending is not None:                    # the letter being picked goes
        return replace(e, pending=None), None
    if e.cursor == 0:
        return e, Refusal.NOTHING_TO_DELETE
    return replace(e, text=e.text[:e.cursor - 1] + e.text[e.cursor:], cursor=e.cursor - 1), None


# -- helpers -------------------------------------------------------------------------------------
def _type(e: Editor, ch: str) -> tuple[Editor, Refusal | None]:
    """Type one character at the cursor (a separator first, where the field has one)."""
    if _full(e):
        return e, Refusal.FULL
    at_end = e.cursor == len(e.text)
    sep = dict(e.separators).get(len(e.text)) if at_end else None
    if sep is not None and len(e.text) + 2 <= e.max_len:
        e = _insert(e, sep)
    return _insert(e, ch), None


def _insert(e: Editor, ch: str) -> Editor:
    return replace(e, text=e.text[:e.cursor] + ch + e.text[e.cursor:], cursor=e.cursor + 1)


def _full(e: Editor) -> bool:
    return len(e.text) >= e.max_len


def _choices(e: Editor, key_name: str) -> str:
    if key_name == "#":
        return e.keymap.symbol_list()
    return e.keymap.letters(key_name, upper=e.mode in (Case.CAPITAL, Case.UPPER))


def _pending_char(e: Editor) -> str:
    assert e.pending is not None
    choices = _choices(e, e.pending.key)
    return choices[e.pending.index % len(choices)] if choices else ""


def _upper(ch: str) -> str:
    """Upper case where it is one character (ß stays ß, as phones type it)."""
    up = ch.upper()
    return up if len(up) == 1 else ch
