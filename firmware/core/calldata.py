"""Call data (docs/cc-protocol.md, "Call data"): `Vars` on a call lists every variable of the
admin's layout; `up`/`down` move the pointer. An editable one opens a one-field form (the text
entry of the groundwork: at most 256 characters; a date, or an ISO 8601 date and time, checked
as typed); `Save` sends it over the version the draft started from and the server keeps the
first save: a refused one (another agent's came first, or no server) reopens the form with the
agent's draft and why. A secure one shows `****`; `Show` fetches it and shows it REVEAL_S
seconds, in memory only.
"""
from __future__ import annotations

from dataclasses import dataclass, replace


from . import events as ev
from .effects import CcGetVariable, CcSetVariable, Step
from .form import Field, FieldKind, Purpose, Submitted, is_iso_datetime
from .forms import ON_SUBMIT, open_form
from .model import CallDataScreen, FormScreen, Model, Revealed, Saving, with_notice
from .navigation import pop, push, replace_top
from .vocab import Action

MAX_CHARS = 256              # protocol.MAX_VARIABLE_VALUE_CHARS: the server's limit too
REVEAL_S = 5.0
HIDDEN = "****"
SAVING = "Saving..."
SAVED = "Saved"
ONE_AT_A_TIME = "Wait: saving another"
NO_SERVER = "No server: can't show"
DATETIME_HINT = "YYYY-MM-DDTHH:MM"


@dataclass(frozen=True)
class VariableEdit(Purpose):
    contact: str
    name: str
    version: int


def items(m: Model, contact_id: str) -> tuple[ev.VariableLayout, ...]:
    """The layout's variables the contact has, in the admin's order (a secure one's value is
    not sent: its name is)."""
    contact = m.contact(contact_id)
    if contact is None or m.agent is None:
        return ()
    names = {name for name, _ in contact.variables}
    # a campaign's record: the campaign's fields (those it makes editable, the agent updates)
    campaign = m.agent.campaign(contact.campaign) if contact.campaign else None
    layout = campaign.fields if campaign is not None else m.agent.layout
    return tuple(v for v in layout if v.name in names)


def shown_value(m: Model, contact_id: str, v: ev.VariableLayout) -> str:
    if v.secure:
        r = m.revealed
        if r is not None and (r.contact, r.name) == (contact_id, v.name) and m.now < r.until:
            return r.value
        return HIDDEN
    contact = m.contact(contact_id)
    return dict(contact.variables).get(v.name, "") if contact is not None else ""


def selected(m: Model, s: CallDataScreen) -> ev.VariableLayout | None:
    listed = items(m, s.contact)
    return listed[s.selected] if 0 <= s.selected < len(listed) else None


def open_call_data(m: Model, contact_id: str) -> Step:
    return push(m, CallDataScreen(contact_id)), ()


def call_data_key(m: Model, s: CallDataScreen, action: Action) -> Step:
    count = len(items(m, s.contact))
    if action in ("up", "down") and count:
        step = 1 if action == "down" else -1
        return replace_top(m, replace(s, selected=(s.selected + step) % count)), ()
    v = selected(m, s)
    if action in ("edit", "ok") and v is not None and v.editable and not v.secure:
        return edit(m, s.contact, v)
    if action == "show" and v is not None and v.secure:
        if m.links.cc != "up":
            return with_notice(m, NO_SERVER), ()
        return m, (CcGetVariable(s.contact, v.name),)
    if action == "back":
        return pop(m), ()
    return m, ()


def edit(m: Model, contact_id: str, v: ev.VariableLayout, draft: str | None = None,
         version: int | None = None, note: str = "") -> Step:
    """The variable's form: its value now, or the agent's ``draft`` kept from a refused save."""
    contact = m.contact(contact_id)
    if contact is None:
        return m, ()
    value = shown_value(m, contact_id, v) if draft is None else draft
    kind = {"date": FieldKind.DATE}.get(v.kind, FieldKind.TEXT)
    field = Field(v.name, v.label, kind, max_len=0 if v.kind == "date" else MAX_CHARS,
                  check=(lambda text: _iso_datetime(v.label, text)) if v.kind == "datetime"
                  else None, initial=value,
                  hint=DATETIME_HINT if v.kind == "datetime" else "")
    m = open_form(m, VariableEdit(contact_id, v.name,
                                  contact.version(v.name) if version is None else version),
                  v.label, (field,))
    s = m.screen
    if note and isinstance(s, FormScreen):
        m = replace_top(m, replace(s, form=replace(s.form, note=note)))
    return m, ()


def _iso_datetime(label: str, value: str) -> str:
    return "" if is_iso_datetime(value) else f"{label}: ISO 8601, {DATETIME_HINT}"


def save(m: Model, p: VariableEdit, values: Submitted) -> Step:
    if m.saving is not None:        # one save at a time: this draft stays in its form
        return edit(m, p.contact, _layout(m, p.name), values[p.name], p.version, ONE_AT_A_TIME)
    value = values[p.name]
    m = replace(m, saving=Saving(p.contact, p.name, value, p.version))
    return with_notice(m, SAVING), (CcSetVariable(p.contact, p.name, value, p.version),)


ON_SUBMIT[VariableEdit] = save


def _layout(m: Model, name: str) -> ev.VariableLayout:
    layout = m.agent.layout if m.agent is not None else ()
    return next((v for v in layout if v.name == name), ev.VariableLayout(name, name))


def refused(m: Model, e: ev.CcRefused) -> Step:
    """The save was refused: the form again, with the agent's draft and why (``Changed by
    Ana Diaz: ...`` when another agent's save came first; the draft goes over the version now,
    to retry)."""
    if e.request == "get_variable":
        return with_notice(m, e.message if e.code == "offline" else "Can't show it"), ()
    saving = m.saving
    if saving is None:
        return m, ()
    m = replace(m, saving=None)
    contact = m.contact(saving.contact)
    if contact is None:
        return with_notice(m, "Not saved: the call is over"), ()
    version = contact.version(saving.name) if e.code == "variable_changed" else saving.version
    return edit(m, saving.contact, _layout(m, saving.name), saving.value, version, e.message)


def contact_changed(m: Model, e: ev.CcContact) -> Step:
    """A save the server took shows as the variable's new version with the value saved."""
    s, c = m.saving, e.contact
    if s is None or s.contact != c.id:
        return m, ()
    if c.version(s.name) > s.version and dict(c.variables).get(s.name) == s.value:
        return with_notice(replace(m, saving=None), SAVED), ()
    return m, ()


def revealed(m: Model, e: ev.CcVariable) -> Step:
    """The value fetched: shown REVEAL_S seconds where the agent asked for it."""
    return replace(m, revealed=Revealed(e.contact, e.name, e.value, m.now + REVEAL_S)), ()


def tick(m: Model) -> Model:
    """A revealed value is forgotten once its seconds are up."""
    if m.revealed is not None and m.now >= m.revealed.until:
        return replace(m, revealed=None)
    return m
