"""The screens shown (Model.screens, the top one on the display): opening and closing them, and
keeping the agent's screens in step with the model (popovers for offers, the call screen for
calls, wrap-up for finished contacts)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from .model import (CallDataScreen, CallScreen, CallbacksScreen, CampaignsScreen, ConnectingPopover,
                    FollowUpScreen, LoginScreen, MenuScreen, Model, OfferPopover, PeopleScreen,
                    PreviewPopover, ReasonScreen, RonaPopover, Screen, ScriptScreen, VarsScreen)

S = TypeVar("S", bound=Screen)

POPOVERS: tuple[type[Screen], ...] = (OfferPopover, PreviewPopover, ConnectingPopover,
                                      RonaPopover)
# screens that only make sense while an agent is logged in
_AGENT_ONLY: tuple[type[Screen], ...] = POPOVERS + (ReasonScreen, VarsScreen, PeopleScreen,
                                                   CallDataScreen, CampaignsScreen,
                                                   ScriptScreen, CallbacksScreen,
                                                   FollowUpScreen)


def push(m: Model, screen: Screen) -> Model:
    return replace(m, screens=m.screens + (screen,))


def pop(m: Model) -> Model:
    return replace(m, screens=m.screens[:-1]) if len(m.screens) > 1 else m


def replace_top(m: Model, screen: Screen) -> Model:
    """Replace the top screen (the same screen with new contents)."""
    return replace(m, screens=m.screens[:-1] + (screen,))


def show(m: Model, screen: Screen) -> Model:
    """Put up a screen the phone (not the agent) opened. Popovers go on top; anything else goes
    under the popovers, so an offer (and what the agent opened from it) stays in front."""
    at = len(m.screens)
    if not isinstance(screen, POPOVERS):
        at = next((i for i, s in enumerate(m.screens) if isinstance(s, POPOVERS)), at)
    return replace(m, screens=m.screens[:at] + (screen,) + m.screens[at:])


def close(m: Model, unwanted: Callable[[Screen], bool]) -> Model:
    """Close every screen but the home screen for which ``unwanted(screen)`` is true."""
    return replace(m, screens=m.screens[:1] + tuple(s for s in m.screens[1:] if not unwanted(s)))


def find(m: Model, kind: type[S]) -> S | None:
    return next((s for s in m.screens if isinstance(s, kind)), None)


def change(m: Model, old: Screen, new: Screen) -> Model:
    """Replace one screen where it is among the screens shown."""
    return replace(m, screens=tuple(new if s is old else s for s in m.screens))


def is_state_menu(screen: Screen) -> bool:
    return isinstance(screen, MenuScreen) and screen.menu == "state"


def leads_to_state(screen: Screen) -> bool:
    """The State menu, or a call's menu it was opened from (`More` -> `Next state`): a state
    picked closes them."""
    return isinstance(screen, MenuScreen) and screen.menu in ("state", "call", "record")


def in_view(m: Model) -> tuple[str, str]:
    """(call, contact) the agent is on: the call in view's (its contact "" for an internal
    call), else the contact being wrapped up (its call gone: ""); ("", "") for neither."""
    shown = find(m, CallScreen)
    call = m.call(shown.call) if shown is not None else None
    if call is not None:
        return call.id, call.contact
    wrapup = next((s for s in reversed(m.screens)
                   if isinstance(s, ReasonScreen) and s.kind == "wrapup"), None)
    return "", wrapup.contact if wrapup is not None else ""


def leave_menus(m: Model) -> Model:
    """A call's or a wrap-up's menu (More) makes way for what was picked from it."""
    while isinstance(m.screen, MenuScreen) and m.screen.menu in ("call", "record", "wrapup"):
        m = pop(m)
    return m


def wrapup_screen(m: Model, contact_id: str) -> ReasonScreen | None:
    return next((s for s in m.screens if isinstance(s, ReasonScreen) and s.kind == "wrapup"
                 and s.contact == contact_id), None)


def arrange(m: Model) -> Model:
    """Close screens the model no longer backs and open the ones it needs. Everything else (menus,
    half-typed lists) stays as the agent left it."""
    before = m
    m = _refocus(close(m, lambda s: not _still_valid(before, s)))
    if m.shown_calls() and find(m, CallScreen) is None:
        m = show(m, CallScreen(m.shown_calls()[0].id))
    if m.agent is None:
        return m
    for c in m.contacts:
        # a leg of the contact still up (a consult the customer left) is talked on first
        if (c.status == "wrapup" and c.primary and c.id not in m.wrapped_locally
                and wrapup_screen(m, c.id) is None
                and not any(call.contact == c.id for call in m.calls)):
            m = show(m, ReasonScreen("wrapup", contact=c.id))
    offers = m.offers()
    reserved = [c for c in m.contacts if c.status == "reserved"]
    if reserved and not offers and find(m, ConnectingPopover) is None:
        m = show(m, ConnectingPopover(reserved[0].id))
    if offers and find(m, OfferPopover) is None:
        m = show(m, OfferPopover(offers[0].id))
    if m.follow_ups and find(m, FollowUpScreen) is None:
        m = show(m, FollowUpScreen(m.follow_ups[0].id))
    previews = m.previews()
    # never over a disposition being picked (or typed): the preview waits for the wrap-up
    if previews and find(m, PreviewPopover) is None and not _wrapup_on_screen(m):
        m = show(m, PreviewPopover(previews[0].id))
    return m


def _wrapup_on_screen(m: Model) -> bool:
    return any(isinstance(s, ReasonScreen) and s.kind == "wrapup" for s in m.screens)


def _still_valid(m: Model, s: Screen) -> bool:
    if isinstance(s, CallScreen):
        return bool(m.shown_calls())
    if m.agent is None:
        return not (isinstance(s, _AGENT_ONLY) or is_state_menu(s))
    if isinstance(s, LoginScreen):
        return False
    if isinstance(s, OfferPopover):
        return bool(m.offers())
    if isinstance(s, PreviewPopover):
        return s.contact in {c.id for c in m.previews()}
    if isinstance(s, ConnectingPopover):
        contact = m.contact(s.contact)
        return contact is not None and contact.status == "reserved" and not m.offers()
    if isinstance(s, ReasonScreen) and s.kind == "wrapup":
        return m.contact(s.contact) is not None and s.contact not in m.wrapped_locally
    if isinstance(s, FollowUpScreen):
        return any(f.id == s.follow_up for f in m.follow_ups)
    if isinstance(s, (VarsScreen, CallDataScreen, ScriptScreen)):
        return m.contact(s.contact) is not None
    if isinstance(s, PeopleScreen):
        contact = m.contact(s.contact)
        return contact is not None and contact.conference is not None
    return True


def _refocus(m: Model) -> Model:
    """Screens whose contact or call went away show the next one instead."""
    offers, calls = m.offers(), m.shown_calls()
    for s in m.screens:
        if isinstance(s, OfferPopover) and s.contact not in {c.id for c in offers}:
            m = change(m, s, OfferPopover(offers[0].id))
        elif isinstance(s, CallScreen) and s.call not in {c.id for c in calls}:
            m = change(m, s, CallScreen(calls[0].id))
    return m
