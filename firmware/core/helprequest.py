"""Asking a supervisor for help: `Help` (a call's or a wrap-up's More, or the menu) sends a
help request with the contact in view; the supervisors see it (the server's admin side); the
LCD says `Help requested` until one answers or the agent cancels it (`Help` again)."""
from __future__ import annotations

from dataclasses import replace

from . import events as ev
from .effects import CcCancelHelp, CcRequestHelp, Step
from .model import Model, with_notice
from .navigation import in_view, leave_menus

REQUESTED = "Help requested"
CANCELLED = "Help request cancelled"
CLOSED = "Help request closed"
NO_SERVER = "No server: can't ask for help"


def help_line(m: Model) -> str:
    """What the home and call screens say while a help request stands."""
    return REQUESTED if m.agent is not None and m.agent.help else ""


def _asking(m: Model, on: bool) -> Model:
    return m if m.agent is None else replace(m, agent=replace(m.agent, help=on))


def toggle(m: Model) -> Step:
    """Ask for help, or take back the request that stands."""
    if m.agent is None:
        return m, ()
    m = leave_menus(m)
    if m.links.cc != "up":          # help now or never: a request sent later helps nobody
        return with_notice(m, NO_SERVER), ()
    if help_line(m):
        return with_notice(_asking(m, False), CANCELLED), (CcCancelHelp(),)
    return with_notice(_asking(m, True), REQUESTED), (CcRequestHelp(in_view(m)[1]),)


def changed(m: Model, e: ev.CcHelp) -> Step:
    """The server's word on the request: open, answered by a supervisor, or closed."""
    standing = m.agent is not None and m.agent.help
    m = _asking(m, e.state == "open")
    if e.state == "answered":
        return with_notice(m, f"Help: {e.supervisor or 'a supervisor'} is on it"), ()
    if e.state == "closed" and standing:         # not the agent's own cancel: say so
        return with_notice(m, CLOSED), ()
    return m, ()


def refused(m: Model, e: ev.CcRefused) -> Step:
    if e.request == "cancel_help":               # none stood: nothing to take back
        return _asking(m, False), ()
    return with_notice(_asking(m, False), f"Help: {e.message}"), ()
