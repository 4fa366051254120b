"""The four softkeys under the display: a (label, action) pair per key for each screen.
Labels are at most 5 characters (a key's width on the 20-column display), and two 5-character
labels side by side leave no room for a 4-character one between them."""
from __future__ import annotations

from .model import (AboutScreen, AdjustScreen, BootScreen, CallScreen, ChoiceScreen,
                    ConnectingPopover, IdleScreen, LoginScreen, MenuScreen, Model, OfferPopover,
                    ReasonScreen, RonaPopover, VarsScreen)

Softkey = tuple[str, str] | None          # (label, action) or no key
Softkeys = tuple[Softkey, Softkey, Softkey, Softkey]

BACK: Softkey = ("Back", "back")

_FIXED: dict[type, Softkeys] = {
    BootScreen: (None, None, None, None),
    MenuScreen: (("Open", "ok"), None, None, BACK),
    AdjustScreen: (("-", "dec"), ("+", "inc"), ("Save", "ok"), BACK),
    ChoiceScreen: (("Set", "ok"), None, None, BACK),
    AboutScreen: (None, None, None, BACK),
    ConnectingPopover: (None, None, None, None),
    RonaPopover: (("Avail", "available"), ("Idle", "idle"), None, None),
    VarsScreen: (None, None, None, BACK),
}


def softkeys(m: Model, screen) -> Softkeys:
    if type(screen) in _FIXED:
        return _FIXED[type(screen)]
    return _BY_MODEL[type(screen)](m, screen)


def action_for(m: Model, screen, key: str) -> str:
    """The action a key means on a screen: softkeys by their map, other keys by name."""
    if key.startswith("soft"):
        sk = softkeys(m, screen)[int(key[4:]) - 1]
        return sk[1] if sk else ""
    return key


def _home(m: Model, _s) -> Softkeys:
    if m.session is not None:
        return (("State", "state"), ("Menu", "menu"), ("Out", "logout"), ("Info", "about"))
    login = None if m.login_pending else ("Login", "login")
    return (login, None, ("Menu", "menu"), ("Info", "about"))


def _login(_m: Model, s: LoginScreen) -> Softkeys:
    typed = s.agent if s.entry == "agent" else s.pin
    ok = ("Next", "ok") if s.entry == "agent" else ("Login", "ok")
    return (ok, None, None, ("Del", "back") if typed else BACK)


def _reasons(_m: Model, s: ReasonScreen) -> Softkeys:
    if s.kind == "wrapup":      # owed: no way out, but the next state can be set from here
        return (("OK", "ok"), None, ("State", "state"), ("Del", "back") if s.query else None)
    return (("OK", "ok"), None, None, ("Del", "back") if s.query else BACK)


def _offer(m: Model, _s) -> Softkeys:
    accept_all = m.session is not None and m.session.cc.accept_all and len(m.offers()) > 1
    return (("Accpt", "accept"), ("All", "accept_all") if accept_all else None,
            ("Vars", "vars"), None)


def _call(m: Model, s: CallScreen) -> Softkeys:
    call = m.call(s.call)
    vars_ = ("Vars", "vars") if call and m.contact(call.contact) else None
    if call is None or call.state == "ringing":
        return (None if call is None or call.accepted else ("Answr", "answer"), None, vars_, None)
    hold = ("Resum", "hold") if call.state == "held" else ("Hold", "hold")
    state = ("State", "state") if m.session is not None else None
    return (hold, ("End", "end"), vars_, state)


_BY_MODEL = {IdleScreen: _home, LoginScreen: _login, ReasonScreen: _reasons,
             OfferPopover: _offer, CallScreen: _call}
