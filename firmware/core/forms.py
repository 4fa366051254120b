"""The form screen: the agent's keys on a form, the pause that commits a letter, and what a
valid form does. A feature opens a form with its fields and a ``Purpose``, and enters the rule
for that purpose in ``ON_SUBMIT``; the form does the typing, the checks and the messages.

    @dataclass(frozen=True)
    class CallbackFor(Purpose):
        contact: str

    def save_callback(m: Model, p: CallbackFor, values: Submitted) -> tuple[Model, Effects]:
        return m, (CcCallback(p.contact, values["phone"], values["when"]),)  # its own effect

    ON_SUBMIT[CallbackFor] = save_callback       # here, with the others
    m = open_form(m, CallbackFor("c1"), "Callback", (
        Field("phone", "Phone", FieldKind.PHONE, required=True),
        Field("when", "Date", FieldKind.DATE, required=True),
        Field("note", "Note", max_len=80)))
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from . import form as fm
from . import textentry as te
from .effects import Effects
from .form import Cancelled, Field, Purpose, Submitted
from .model import FormScreen, Model
from .navigation import pop, push, replace_top
from .vocab import Action

# (model without the form, the form's purpose, its values) -> what follows. Any: each rule
# takes its own Purpose subclass, which a table keyed by type can't relate to its key.
SubmitRule = Callable[[Model, Any, Submitted], tuple[Model, Effects]]
ON_SUBMIT: dict[type[Purpose], SubmitRule] = {}

NO_RULE = "Can't save this form"


def open_form(m: Model, purpose: Purpose, title: str, fields: Sequence[Field],
              language: str = "en") -> Model:
    """Put a form up for the agent, typing the letters of the agent's ``language`` that the
    display can show (textentry.keymap)."""
    keymap = te.keymap(language, shows=m.info.display.chars)
    return push(m, FormScreen(fm.new_form(title, tuple(fields), keymap), purpose))


def form_key(m: Model, s: FormScreen, action: Action) -> tuple[Model, Effects]:
    form, outcome = fm.form_key(s.form, action, m.now)
    if isinstance(outcome, Cancelled):
        return pop(m), ()
    if isinstance(outcome, Submitted):
        rule = ON_SUBMIT.get(type(s.purpose))
        if rule is not None:
            return rule(pop(m), s.purpose, outcome)
        form = replace(form, note=NO_RULE)          # a feature left its rule out: keep the draft
    return replace_top(m, replace(s, form=form)), ()


def tick(m: Model) -> Model:
    """The clock moved on: a letter being picked on any form commits after its pause (a
    popover may have come over the form meanwhile)."""
    if not any(isinstance(s, FormScreen) and s.form.editor.pending for s in m.screens):
        return m
    return replace(m, screens=tuple(
        replace(s, form=fm.tick(s.form, m.now)) if isinstance(s, FormScreen) else s
        for s in m.screens))
