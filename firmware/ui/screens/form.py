"""A form on a display of any size: the field's label with the typing mode (Abc/abc/ABC/123)
and where it is in the form, its value with the cursor (scrolled to keep the cursor in view),
then the letters the pending key offers, the field's message or a hint. A taller display adds
the form's title and the other fields."""
from __future__ import annotations

from firmware.core import textentry as te
from firmware.core.form import SEARCHED_CHOICES, FieldKind, Form, choice_matches
from firmware.core.model import FormScreen, Model

from ..text import split, wrap

CURSOR = "_"
MORE_LEFT, MORE_RIGHT = "<", ">"


def form(m: Model, s: FormScreen) -> list[str]:
    display = m.info.display
    return form_rows(s.form, display.cols, display.rows - 1)


def form_rows(f: Form, cols: int, rows: int) -> list[str]:
    """The ``rows`` rows (above the softkeys) for ``f`` on a display ``cols`` wide."""
    fld = f.field
    place = f"{f.current + 1}/{len(f.fields)}"
    label = fld.label + ("*" if fld.required else "")
    value = value_row(f, cols)
    status = f.note or strip(f.editor, cols) or f.error
    if len(status) > cols and rows < 5:       # a long message takes the label's row too
        return [*wrap(status, cols, 2), value]
    if rows < 4:
        header = split(label, f"{indicator(f)} {place}".lstrip(), cols)
        return [header, value, status or _hint(f) or _other(f, f.current + 1)][:rows]
    body = [split(f.title, place, cols), split(label, indicator(f), cols), value,
            *(wrap(status, cols, 2) if status else [_hint(f)])]
    others = (f.current + k for k in range(1, len(f.fields)))
    body += [_other(f, i % len(f.fields)) for i in others]
    return body[:rows]


def indicator(f: Form) -> str:
    """What the letter keys type: Abc, abc, ABC or 123 (none on a choice)."""
    if f.field.kind is FieldKind.CHOICE:
        return ""
    return f.editor.mode.value


def value_row(f: Form, cols: int) -> str:
    fld, e = f.field, f.editor
    if fld.kind is FieldKind.CHOICE and len(fld.choices) > SEARCHED_CHOICES:
        # a long list, searched by T9: the value whole (it is what the agent checks), the
        # place among the matches only where it fits
        matches = choice_matches(f)
        label = fld.choice_label(e.text) if e.text else "-"
        at = (f"{matches.index(e.text) + 1}/{len(matches)}" if e.text in matches else "")
        return split(label, at, cols) if len(label) + len(at) < cols else label[:cols]
    if fld.kind is FieldKind.CHOICE:
        values = [v for v, _label in fld.choices]
        at = f"{values.index(e.text) + 1}/{len(values)} " if e.text in values else ""
        return split(f"< {fld.choice_label(e.text) if e.text else '-'}", f"{at}>", cols)
    shown = e.text[:e.cursor] + e.pending_char + CURSOR + e.text[e.cursor:]
    return scrolled(shown, e.cursor + len(e.pending_char), cols)


def scrolled(text: str, at: int, cols: int) -> str:
    """``text`` in ``cols`` columns with column ``at`` (the cursor) in view; an arrow at an
    edge says there is more that way."""
    if len(text) <= cols:
        return text
    start = min(max(0, at - cols + 2), len(text) - cols)     # a column right of the cursor free
    window = list(text[start:start + cols])
    if start > 0:
        window[0] = MORE_LEFT
    if start + cols < len(text):
        window[-1] = MORE_RIGHT
    return "".join(window)


def strip(e: te.Editor, cols: int) -> str:
    """The pending key's letters, the one picked in brackets: ``j k [l] 5``."""
    choices, picked = te.candidates(e)
    if not choices:
        return ""
    text = " ".join(f"[{ch}]" if i == picked else ch for i, ch in enumerate(choices))
    at = text.index("[")
    start = max(0, min(at - cols // 2, len(text) - cols))
    return text[start:start + cols]


def _hint(f: Form) -> str:
    return f.field.shown_hint if not f.editor.value else ""


def _other(f: Form, i: int) -> str:
    """Another field in a line: ``Email: ann@example.com``."""
    if i >= len(f.fields) or i == f.current:
        return ""
    fld = f.fields[i]
    value = fld.choice_label(f.value(i)) if fld.kind is FieldKind.CHOICE else f.value(i)
    return f"{fld.label}: {value}"
