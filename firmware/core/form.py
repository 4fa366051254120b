"""Forms: fields with their rules, moving between them, and a submit that checks every field.

A feature declares its fields; the form does the typing (firmware.core.textentry), the checks
and the messages ("Phone: digits only", "Email: needs @"). ``form_key`` takes the screen's
actions and says when the agent submitted (every field valid) or backed out."""
from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TypeVar

from . import t9
from . import textentry as te
from .textentry import Editor, Input, Keymap, Refusal

T = TypeVar("T")
Check = Callable[[str], str]        # a field's extra rule: its value -> "" or the message


class FieldKind(Enum):
    TEXT = "text"
    DIGITS = "digits"
    PHONE = "phone"          # digits, a leading "+" (typed with *)
    EMAIL = "email"
    DATE = "date"            # YYYY-MM-DD, the dashes typed for the agent
    TIME = "time"            # HH:MM, the colon typed for the agent
    CHOICE = "choice"        # one of ``choices``: left/right or its number


# per kind: what the keypad types, the longest value, separators typed for the agent, the hint
# under an empty value
_INPUT = {FieldKind.DIGITS: Input.DIGITS, FieldKind.PHONE: Input.PHONE,
          FieldKind.DATE: Input.DIGITS, FieldKind.TIME: Input.DIGITS}
_MAX_LEN = {FieldKind.TEXT: 40, FieldKind.DIGITS: 20, FieldKind.PHONE: 16, FieldKind.EMAIL: 60,
            FieldKind.DATE: 10, FieldKind.TIME: 5, FieldKind.CHOICE: 0}
_SEPARATORS: dict[FieldKind, tuple[tuple[int, str], ...]] = {
    FieldKind.DATE: ((4, "-"), (7, "-")), FieldKind.TIME: ((2, ":"),)}
_HINTS = {FieldKind.DATE: "YYYY-MM-DD", FieldKind.TIME: "HH:MM", FieldKind.PHONE: "* for +"}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
_PHONE = re.compile(r"\+?\d+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")

DISCARD = "Back again: discard"
SEARCHED_CHOICES = 9            # a choice list longer than this is searched, not numbered


@dataclass(frozen=True)
class Field:
    """One thing the agent fills in. ``name`` keys the submitted values; ``label`` is shown and
    starts every message about the field, so keep it short ("Phone", "Note")."""
    name: str
    label: str
    kind: FieldKind = FieldKind.TEXT
    required: bool = False
    min_len: int = 0
    max_len: int = 0                               # 0: the kind's usual most
    choices: tuple[tuple[str, str], ...] = ()      # CHOICE: (value, label) pairs
    check: Check | None = field(default=None, compare=False)
    initial: str = ""
    hint: str = ""                                 # under an empty value; the kind's by default

    @property
    def most(self) -> int:
        return self.max_len or _MAX_LEN[self.kind]

    @property
    def shown_hint(self) -> str:
        return self.hint or _HINTS.get(self.kind, "")

    def choice_label(self, value: str) -> str:
        return next((label for v, label in self.choices if v == value), value)


@dataclass(frozen=True)
class Purpose:
    """What a form is for. A feature subclasses it with what its rule needs (the contact a note
    is about) and enters the rule in firmware.core.forms.ON_SUBMIT."""


@dataclass(frozen=True)
class Submitted:
    """A valid form's values by field name (``values["phone"]``)."""
    values: tuple[tuple[str, str], ...]

    def __getitem__(self, name: str) -> str:
        return dict(self.values)[name]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.values)


@dataclass(frozen=True)
class Cancelled:
    """The agent backed out of the form."""


Outcome = Submitted | Cancelled | None


@dataclass(frozen=True)
class Form:
    title: str
    fields: tuple[Field, ...]
    editors: tuple[Editor, ...]          # one per field: its draft, cursor and case
    errors: tuple[str, ...]              # one per field: its message ("" none)
    current: int = 0
    note: str = ""                       # about the whole form ("Back again: discard")
    query: str = ""                      # a long choice list's T9 search, while on it

    @property
    def field(self) -> Field:
        return self.fields[self.current]

    @property
    def editor(self) -> Editor:
        return self.editors[self.current]

    @property
    def error(self) -> str:
        return self.errors[self.current]

    def value(self, i: int) -> str:
        return self.editors[i].value

    def changed(self) -> bool:
        """Whether the agent typed anything (a letter still being picked counts)."""
        return any(e.value != f.initial or e.pending is not None
                   for f, e in zip(self.fields, self.editors, strict=True))


def new_form(title: str, fields: tuple[Field, ...] | list[Field],
             keymap: Keymap = te.ENGLISH) -> Form:
    """A form over ``fields``, each holding its ``initial`` value. ``keymap``: the agent's
    language and the display's characters (textentry.keymap); addresses type Latin letters."""
    fields = tuple(fields)
    names = [f.name for f in fields]
    if not fields or len(set(names)) != len(names):
        raise ValueError(f"a form needs fields with distinct names, got {names}")
    for f in fields:
        if f.kind is FieldKind.CHOICE and not f.choices:
            raise ValueError(f"choice field {f.name!r} has no choices")
    email = te.keymap(keymap.language, keymap.shows, email=True)
    return Form(title=title, fields=fields,
                editors=tuple(_editor(f, email if f.kind is FieldKind.EMAIL else keymap)
                              for f in fields),
                errors=("",) * len(fields))


def _editor(f: Field, keymap: Keymap) -> Editor:
    mode = te.Case.LOWER if f.kind is FieldKind.EMAIL else None
    return te.editor(f.initial, takes=_INPUT.get(f.kind, Input.TEXT), mode=mode,
                     max_len=max(f.most, len(f.initial)), separators=_SEPARATORS.get(f.kind, ()),
                     keymap=keymap)


# -- the rules -----------------------------------------------------------------------------------
def validate(f: Field, value: str) -> str:
    """The message for the agent if ``value`` breaks one of the field's rules, else ""."""
    if not value:
        if not f.required:
            return ""
        return f"{f.label}: pick one" if f.kind is FieldKind.CHOICE else f"{f.label}: required"
    problem = _kind_problem(f, value)
    if problem:
        return f"{f.label}: {problem}"
    if len(value) < f.min_len:
        return f"{f.label}: at least {f.min_len}"
    if len(value) > f.most and f.kind is not FieldKind.CHOICE:
        return f"{f.label}: at most {f.most}"
    return f.check(value) if f.check else ""


def _kind_problem(f: Field, value: str) -> str:
    match f.kind:
        case FieldKind.DIGITS:
            return "" if value.isdigit() and value.isascii() else "digits only"
        case FieldKind.PHONE:
            return "" if _PHONE.fullmatch(value) and value.isascii() else "digits only"
        case FieldKind.EMAIL:
            if "@" not in value:
                return "needs @"
            return "" if _EMAIL.fullmatch(value) else "like a@b.com"
        case FieldKind.DATE:
            if not _DATE.fullmatch(value):
                return "YYYY-MM-DD"
            try:
                datetime.date.fromisoformat(value)
            except ValueError:
                return "no such day"
            return ""
        case FieldKind.TIME:
            return "" if _TIME.fullmatch(value) else "HH:MM"
        case FieldKind.CHOICE:
            return "" if value in {v for v, _ in f.choices} else "pick one"
        case FieldKind.TEXT:
            return ""


def is_iso_datetime(value: str) -> bool:
    """An ISO 8601 date and time to the minute at least (2026-12-02T10:00; seconds and a zone
    optional): a call variable of kind ``datetime``, as the phone and ccsim both check it."""
    if len(value) < 16 or value[10] not in "T ":
        return False
    try:
        datetime.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def refusal_message(f: Field, why: Refusal) -> str:
    if why is Refusal.FULL:
        return f"{f.label}: at most {f.most}"
    if why is Refusal.DIGITS_ONLY:
        return f"{f.label}: digits only"
    return ""


# -- the agent's keys ----------------------------------------------------------------------------
def form_key(f: Form, action: str, now: float) -> tuple[Form, Outcome]:
    """One action on the form (a key name, or a softkey's: "submit", "next", "clear")."""
    armed = f.note == DISCARD
    f = replace(f, note="")
    if action == "submit" or (action == "ok" and f.current == len(f.fields) - 1):
        return submit(f)
    if action in ("next", "ok", "down", "up"):
        step = -1 if action == "up" else 1
        f = _checked(_commit(f))                # its rules said as soon as it is left
        return replace(f, current=(f.current + step) % len(f.fields), query=""), None
    if action == "clear":
        return _set_editor(f, te.clear(f.editor)), None
    if f.field.kind is FieldKind.CHOICE:
        return _choice_key(f, action, armed)
    e, why = te.key(f.editor, action, now)
    if why is Refusal.NOTHING_TO_DELETE:
        return _leave(f, armed)
    f = _set_editor(f, e)
    return (replace(f, errors=_with(f.errors, f.current, refusal_message(f.field, why)))
            if why else f), None


def tick(f: Form, now: float) -> Form:
    """The clock moved on: the letter being picked commits after a pause."""
    e = te.tick(f.editor, now)
    return f if e is f.editor else replace(f, editors=_with(f.editors, f.current, e))


def submit(f: Form) -> tuple[Form, Outcome]:
    """Every field checked: the values, or each field's message and the cursor on the first."""
    f = _commit(f)
    errors = tuple(validate(fld, e.value) for fld, e in zip(f.fields, f.editors))
    bad = next((i for i, message in enumerate(errors) if message), None)
    if bad is not None:
        return replace(f, errors=errors, current=bad), None
    return replace(f, errors=errors), Submitted(tuple(
        (fld.name, e.value) for fld, e in zip(f.fields, f.editors)))


def _choice_key(f: Form, action: str, armed: bool) -> tuple[Form, Outcome]:
    if len(f.field.choices) > SEARCHED_CHOICES:
        return _searched_choice_key(f, action, armed)
    values = [v for v, _label in f.field.choices]
    at = values.index(f.editor.text) if f.editor.text in values else -1
    if action in ("left", "right"):
        at = (at + (1 if action == "right" else -1)) % len(values) if at >= 0 else 0
    elif action.isdigit() and 1 <= int(action) <= len(values):
        at = int(action) - 1
    elif action == "back":
        return _leave(f, armed)
    else:
        return f, None
    return _set_editor(f, replace(f.editor, text=values[at], cursor=len(values[at]))), None


def choice_matches(f: Form) -> list[str]:
    """The values of the field on show that its T9 search matches (all without one)."""
    labels = [label for _v, label in f.field.choices]
    return [f.field.choices[i][0] for i in t9.search(labels, f.query)]


def _searched_choice_key(f: Form, action: str, armed: bool) -> tuple[Form, Outcome]:
    """A long list (time zones): the letters' keys search it by T9 ("237" finds Berlin), the
    first match taken; left/right step through the matches; back deletes a search key."""
    if action in t9.SEARCH_KEYS:
        f = replace(f, query=f.query + action)
    elif action == "back" and f.query:
        f = replace(f, query=f.query[:-1])
    elif action == "back":
        return _leave(f, armed)
    elif action not in ("left", "right"):
        return f, None
    matches = choice_matches(f)
    if not matches:
        return replace(f, errors=_with(f.errors, f.current, f"{f.field.label}: no match")), None
    at = matches.index(f.editor.text) if f.editor.text in matches else -1
    if action in ("left", "right"):
        at = (at + (1 if action == "right" else -1)) % len(matches) if at >= 0 else 0
    else:
        at = 0
    return _set_editor(f, replace(f.editor, text=matches[at], cursor=len(matches[at]))), None


def with_errors(f: Form, errors: dict[str, str]) -> Form:
    """The form with these fields' messages (a check of several fields at once, or the
    server's refusal), the cursor on the first of them."""
    shown = tuple(errors.get(fld.name, "") for fld in f.fields)
    bad = next((i for i, message in enumerate(shown) if message), f.current)
    return replace(f, errors=shown, current=bad)


def _checked(f: Form) -> Form:
    """The field being left, checked if the agent typed something in it."""
    value = f.editor.value
    if not value:
        return f
    return replace(f, errors=_with(f.errors, f.current, validate(f.field, value)))


def _leave(f: Form, armed: bool) -> tuple[Form, Outcome]:
    """Back with nothing left to delete: out of the form, asking again first if it would lose
    what the agent typed."""
    if f.changed() and not armed:
        return replace(f, note=DISCARD), None
    return f, Cancelled()


def _set_editor(f: Form, e: Editor) -> Form:
    """A changed draft clears the field's message (it was about the old one)."""
    errors = _with(f.errors, f.current, "") if e != f.editor else f.errors
    return replace(f, editors=_with(f.editors, f.current, e), errors=errors)


def _commit(f: Form) -> Form:
    return replace(f, editors=tuple(te.commit(e) for e in f.editors))


def _with(items: tuple[T, ...], i: int, item: T) -> tuple[T, ...]:
    return items[:i] + (item,) + items[i + 1:]
