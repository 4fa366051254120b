"""Voice applications: `More` -> `App` on a call connects the customer to one of the server's
(an IVR: a card payment, a survey; or a voice signature: a consent prompt, the customer's
answer recorded), run by the side that holds the customer's leg. The agent hears none of it
(a card number keyed there reaches only the application); where the application lets the agent
stay, the customer comes back to the call after it, else the agent's leg ends (wrap-up). The
server says how it ended (`Signature recorded`, or why not)."""
from __future__ import annotations

from dataclasses import dataclass

from . import events as ev
from .effects import CcConnectApp, Step
from .form import Field, FieldKind, Purpose, Submitted
from .forms import ON_SUBMIT, open_form
from .model import Model, with_notice
from .navigation import in_view, leave_menus

TITLE = "Application"
NONE = "No applications on this server"
NO_CALL = "Applications run on a call"
NO_SERVER = "No server: can't connect"


@dataclass(frozen=True)
class AppFor(Purpose):
    contact: str


def apps(m: Model) -> tuple[ev.VoiceApp, ...]:
    return m.agent.voice_apps if m.agent is not None else ()


def open_apps(m: Model) -> Step:
    call, contact = in_view(m)
    m = leave_menus(m)
    if not apps(m):
        return with_notice(m, NONE), ()
    if not call or not contact:
        return with_notice(m, NO_CALL), ()
    field = Field("app", "App", FieldKind.CHOICE, required=True,
                  choices=tuple((a.code, a.label) for a in apps(m)), initial=apps(m)[0].code)
    return open_form(m, AppFor(contact), TITLE, (field,)), ()


def connect(m: Model, p: AppFor, values: Submitted) -> Step:
    if m.links.cc != "up":
        return with_notice(m, NO_SERVER), ()
    app = next((a for a in apps(m) if a.code == values["app"]), None)
    if app is None:
        return m, ()
    said = f"{app.label}: the customer is in it" if app.agent_stays \
        else f"{app.label}: you leave the call"
    return with_notice(m, said), (CcConnectApp(p.contact, app.code),)


ON_SUBMIT[AppFor] = connect


def ended(m: Model, e: ev.CcAppResult) -> Step:
    return with_notice(m, e.text), ()
