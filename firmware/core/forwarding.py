"""Call forwarding of the agent's personal calls (never a queue's): `Menu` -> `Forwarding`,
a form of Always, Busy, No answer (numbers; empty: not) and After (the seconds the phone rings
first). The call server carries it out, so it holds while the phone is off, and keeps it
across power cuts; the home screen says `Fwd → 5550123` while everything is forwarded. The
server checks loops (a number forwarded back to the agent) and answers a refusal per field,
shown on the form in the same words as the phone's own checks."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from . import events as ev
from . import form as fm
from .effects import CcSetForwarding, Step
from .form import Field, FieldKind, Purpose, Submitted
from .forms import ON_SUBMIT, open_form
from .model import FormScreen, Model, with_notice
from .navigation import leave_menus, replace_top

TITLE = "Forwarding"
NO_ANSWER_S = (5, 120)        # the server's bounds (cc protocol FORWARD_NO_ANSWER_S)
NO_SERVER = "No server: forwarding unchanged"
# the server's refusal codes per field, in the phone's words
WORDS = {"bad_number": "not a number", "own_number": "your own number",
         "loop": "forwards back to you", "no_answer_s": f"{NO_ANSWER_S[0]}-{NO_ANSWER_S[1]} s"}
LABELS = {"always": "Always", "busy": "Busy", "no_answer": "No answer", "no_answer_s": "After s"}


@dataclass(frozen=True)
class ForwardingFor(Purpose):
    pass


def forward_line(m: Model) -> str:
    """`Fwd → 5550123` on the home screen while every personal call is forwarded."""
    to = m.agent.forwarding.always if m.agent is not None else ""
    return f"Fwd → {to}" if to else ""        # the arrow the menus' pointer draws too


def _own(m: Model) -> str:
    """The agent's own number: their extension's user part."""
    ext = m.agent.extension if m.agent is not None else ""
    return ext.split(":", 1)[-1].split("@", 1)[0]


def _after(text: str) -> str:
    if not text:
        return ""
    seconds = int(text)
    low, high = NO_ANSWER_S
    return "" if low <= seconds <= high else f"{LABELS['no_answer_s']}: {WORDS['no_answer_s']}"


def open_forwarding(m: Model, draft: ev.Forwarding | None = None,
                    errors: dict[str, str] | None = None) -> Step:
    m = leave_menus(m)
    if m.agent is None:
        return m, ()
    f = draft or m.agent.forwarding
    own = _own(m)

    def not_own(label: str) -> Callable[[str], str]:
        return lambda text: f"{label}: {WORDS['own_number']}" if text and text == own else ""

    fields = tuple(Field(name, LABELS[name], FieldKind.PHONE, initial=getattr(f, name),
                         check=not_own(LABELS[name]))
                   for name in ("always", "busy", "no_answer"))
    fields += (Field("no_answer_s", LABELS["no_answer_s"], FieldKind.DIGITS, required=True,
                     max_len=3, initial=str(f.no_answer_s), check=_after),)
    m = open_form(m, ForwardingFor(), TITLE, fields)
    if errors and isinstance(m.screen, FormScreen):
        m = replace_top(m, FormScreen(fm.with_errors(m.screen.form, errors), m.screen.purpose))
    return m, ()


def _draft(values: Submitted) -> ev.Forwarding:
    return ev.Forwarding(values["always"], values["busy"], values["no_answer"],
                         int(values["no_answer_s"] or 0))


def save(m: Model, _p: ForwardingFor, values: Submitted) -> Step:
    draft = _draft(values)
    if m.links.cc != "up":
        return with_notice(open_forwarding(m, draft)[0], NO_SERVER), ()
    return (with_notice(replace(m, forwarding_sent=draft), "Saving forwarding"),
            (CcSetForwarding(draft),))


ON_SUBMIT[ForwardingFor] = save


def changed(m: Model, e: ev.CcForwarding) -> Step:
    if m.agent is None:
        return m, ()
    on = any((e.forwarding.always, e.forwarding.busy, e.forwarding.no_answer))
    m = replace(m, agent=replace(m.agent, forwarding=e.forwarding), forwarding_sent=None)
    return with_notice(m, "Forwarding on" if on else "Forwarding off"), ()


def refused(m: Model, e: ev.CcRefused) -> Step:
    """The server's refusal: the form again, with what the agent sent and each refused
    field's words."""
    draft, m = m.forwarding_sent, replace(m, forwarding_sent=None)
    errors = {name: f"{LABELS.get(name, name)}: {WORDS.get(code, code)}"
              for name, code in e.fields}
    if draft is None or not errors:
        return with_notice(m, f"Forwarding: {e.message}"), ()
    return open_forwarding(m, draft, errors)
