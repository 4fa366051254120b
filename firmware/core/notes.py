"""Wrap-up notes: the agent's free text about a contact, typed on the keypad during its call
or its wrap-up (`More` -> `Note`), kept on the phone until the wrap-up carries it, and queued
with it while the link is down. At most the server's limit (Settings.note_max); a server that
takes none (0) gets none."""
from __future__ import annotations

from dataclasses import dataclass, replace

from .effects import Step
from .form import Field, FieldKind, Purpose, Submitted
from .forms import ON_SUBMIT, open_form
from .model import Model, with_notice
from .navigation import in_view, leave_menus

TITLE = "Note"
NO_NOTES = "This centre takes no notes"
NO_CONTACT = "No contact to note"
KEPT = "Note kept for the wrap-up"
DROPPED = "Note removed"


@dataclass(frozen=True)
class WrapUpNote(Purpose):
    contact: str


def note_of(m: Model, contact: str) -> str:
    return next((text for c, text in m.notes if c == contact), "")


def with_note(m: Model, contact: str, text: str) -> Model:
    """``contact``'s note is ``text`` ("": none)."""
    others = tuple((c, t) for c, t in m.notes if c != contact)
    return replace(m, notes=others + (((contact, text),) if text else ()))


def taken(m: Model, contact: str) -> tuple[Model, str]:
    """The wrap-up takes the contact's note: (the model without it, the note)."""
    return with_note(m, contact, ""), note_of(m, contact)


def open_note(m: Model) -> Step:
    """The note of the contact in view, to write or change."""
    limit = m.agent.cc.note_max if m.agent is not None else 0
    contact = in_view(m)[1]
    m = leave_menus(m)
    if not limit:
        return with_notice(m, NO_NOTES), ()
    if not contact:
        return with_notice(m, NO_CONTACT), ()
    field = Field("note", TITLE, FieldKind.TEXT, max_len=limit, initial=note_of(m, contact))
    return open_form(m, WrapUpNote(contact), TITLE, (field,)), ()


def save(m: Model, p: WrapUpNote, values: Submitted) -> Step:
    text = values["note"].strip()
    return with_notice(with_note(m, p.contact, text), KEPT if text else DROPPED), ()


ON_SUBMIT[WrapUpNote] = save
