"""update(model, event) -> (model, effects): every rule of the phone, as a pure function.
The agent's rules live in session, offers, calls and reasons; this module routes events and keys
and holds the device and settings rules."""
from __future__ import annotations

from dataclasses import replace

from . import calls, events as ev, offers, reasons, session
from .effects import PlayTone, SaveSettings, StopTone
from .menus import ADJUSTABLE, CHOICES, MENUS
from .model import (AboutScreen, AdjustScreen, CallScreen, ChoiceScreen, IdleScreen, LoginScreen,
                    MenuScreen, Model, OfferPopover, ReasonScreen, RonaPopover, VarsScreen,
                    with_notice)
from .softkeys import action_for
from .stack import POPOVERS, arrange, close, pop, push, top

INC = {"inc", "up", "right", "volup"}
DEC = {"dec", "down", "left", "voldown"}


def update(m: Model, event) -> tuple[Model, tuple]:
    rule = _EVENTS.get(type(event))
    if rule is None:
        return m, ()
    m, effects = rule(m, event)
    return arrange(m), tuple(effects)


def _booted(m: Model, _e):
    return replace(m, screens=(IdleScreen(),) + m.screens[1:], last_touch=m.now), ()


def _tick(m: Model, e: ev.Tick):
    notice = m.notice if m.notice and m.notice.until > e.now else None
    return replace(m, now=e.now, notice=notice), ()


def _hook(m: Model, e: ev.Hook):
    m = replace(m, hook_lifted=e.lifted, last_touch=m.now)
    if e.lifted:                     # the handset takes the call's audio over
        return offers.pick_up(replace(m, hands_free=""))
    return calls.hook_replaced(m)


def _tone_finished(m: Model, e: ev.ToneFinished):
    return (replace(m, ringing_test=False), ()) if e.tone == "test_ring" else (m, ())


def _sip_registration(m: Model, e: ev.SipRegistration):
    m = replace(m, links=replace(m.links, sip=e.state))
    if e.state == "failed":
        return replace(m, sip_problem=f"SIP: {e.detail or 'failed'}"), ()
    m = replace(m, sip_problem="")
    return (with_notice(m, f"SIP: {e.detail}") if e.detail else m), ()


STORAGE_PROBLEMS = {"full": "Storage full", "failed": "Storage failing"}


def _storage_status(m: Model, e: ev.StorageStatus):
    return replace(m, storage_problem=STORAGE_PROBLEMS.get(e.problem, "")), ()


def _settings_not_saved(m: Model, e: ev.SettingsNotSaved):
    """Said on whatever screen the agent is on: the change holds only until a restart."""
    why = "storage full" if e.full else "storage failing"
    return with_notice(m, f"Settings not saved: {why}"), ()


def _then_bind(rule):
    """A rule after which the contacts (or the time) may have changed: INVITEs that came
    before their contact are bound or refused."""
    def run(m: Model, e):
        m, effects = rule(m, e)
        m, more = calls.settle_waiting(m)
        return m, tuple(effects) + more
    return run


_EVENTS = {
    ev.Booted: _booted,
    ev.Tick: _then_bind(_tick),
    ev.NetworkChanged: lambda m, e: (replace(m, links=replace(m.links, ip=e.ip)), ()),
    ev.Hook: _hook,
    ev.ToneFinished: _tone_finished,
    ev.StorageStatus: _storage_status,
    ev.SettingsNotSaved: _settings_not_saved,
    ev.Key: lambda m, e: _key(m, e),
    ev.LoginFromConfig: lambda m, e: session.log_in(m, e.agent, e.pin),
    ev.CcLink: session.link,
    ev.CcSnapshot: _then_bind(session.snapshot),
    ev.CcAgentState: session.agent_state,
    ev.CcContact: _then_bind(offers.contact_event),
    ev.CcNotice: lambda m, e: (with_notice(m, e.text), ()),
    ev.CcLoggedOut: session.logged_out,
    ev.CcRefused: session.refused,
    ev.CcTakenOver: session.taken_over,
    ev.SipRegistration: _sip_registration,
    ev.SipIncoming: calls.incoming,
    ev.SipCallState: calls.call_state,
}


def _key(m: Model, key: ev.Key) -> tuple[Model, tuple]:
    if key.kind == "up":
        return m, ()
    m = replace(m, last_touch=m.now)
    if key.kind == "long":
        if key.name == "back" and len(m.screens) > 1:
            return _leave_all(m)
        return m, ()
    # keys that act wherever the agent is: answering and hold
    if key.name in ("speaker", "headset") and offers.can_pick_up(m):
        return offers.pick_up(replace(m, hands_free=key.name))
    if key.name in ("speaker", "headset") and calls.audio_route(m):
        return calls.hands_free_key(m, key.name)
    if key.name == "hold" and calls.shown_call(m):
        return calls.toggle_hold(m)
    if key.name == "mute" and calls.audio_route(m):
        return calls.toggle_mute(m)
    screen = m.screen
    action = action_for(m, screen, key.name)
    handler = _HANDLERS.get(type(screen))
    return handler(m, screen, action) if handler else (m, ())


# -- per screen ----------------------------------------------------------------------------------
def _idle(m: Model, screen, action):
    if action in ("menu", "ok"):
        return push(m, MenuScreen("main")), ()
    if action == "login" and m.session is None:
        return push(m, LoginScreen()), ()
    if action == "state" and m.session is not None:
        return push(m, MenuScreen("state")), ()
    if action == "logout" and m.session is not None:
        return session.open_logout(m)
    if action == "about":
        return push(m, AboutScreen()), ()
    if action in ("volup", "voldown"):
        # Volume keys at idle set the ringer, as on any desk phone.
        before = m.settings.ringer_volume
        m = push(m, AdjustScreen("ringer_volume", before, before))
        return _adjust(m, m.screen, action)
    return m, ()


def _menu(m: Model, screen: MenuScreen, action):
    _title, items = MENUS[screen.menu]
    if action == "back":
        return pop(m), ()
    if action in ("down", "up"):
        step = 1 if action == "down" else -1
        return top(m, replace(screen, cursor=(screen.cursor + step) % len(items))), ()
    if action.isdigit() and 1 <= int(action) <= len(items):
        screen = replace(screen, cursor=int(action) - 1)
        m = top(m, screen)
        action = "ok"
    if action in ("ok", "right"):
        return _open(m, items[screen.cursor].opens)
    return m, ()


def _open(m: Model, target: str):
    kind, _, name = target.partition(":")
    if kind == "menu":
        return push(m, MenuScreen(name)), ()
    if kind == "adjust":
        value = getattr(m.settings, name)
        return push(m, AdjustScreen(name, value, value)), ()
    if kind == "choice":
        values = [v for v, _label in CHOICES[name][1]]
        return push(m, ChoiceScreen(name, values.index(getattr(m.settings, name)))), ()
    if kind == "about":
        return push(m, AboutScreen()), ()
    if kind == "state":
        return session.set_state(m, name)
    if kind == "reasons":
        return push(m, ReasonScreen(name)), ()
    raise ValueError(f"menu item opens unknown target {target!r}")


def _adjust(m: Model, screen: AdjustScreen, action):
    _title, highest = ADJUSTABLE[screen.setting]
    if action in INC or action in DEC:
        value = max(0, min(highest, screen.value + (1 if action in INC else -1)))
        m = top(m, replace(screen, value=value))
        m = _set(m, screen.setting, value)
        if screen.setting == "ringer_volume":
            return replace(m, ringing_test=True), (PlayTone("test_ring", "ringer", value),)
        return m, ()
    if action == "ok":
        return pop(m), (SaveSettings(m.settings),) + _stop_test_ring(m)
    if action == "back":
        return pop(_set(m, screen.setting, screen.before)), _stop_test_ring(m)
    return m, ()


def _choice(m: Model, screen: ChoiceScreen, action):
    _title, options = CHOICES[screen.setting]
    if action in ("down", "up"):
        step = 1 if action == "down" else -1
        return top(m, replace(screen, cursor=(screen.cursor + step) % len(options))), ()
    if action.isdigit() and 1 <= int(action) <= len(options):
        screen = replace(screen, cursor=int(action) - 1)
        action = "ok"
    if action == "ok":
        m = pop(_set(m, screen.setting, options[screen.cursor][0]))
        return m, (SaveSettings(m.settings),)
    if action == "back":
        return pop(m), ()
    return m, ()


def _about(m: Model, screen, action):
    if action in ("back", "ok"):
        return pop(m), ()
    return m, ()


_HANDLERS = {IdleScreen: _idle, MenuScreen: _menu, AdjustScreen: _adjust,
             ChoiceScreen: _choice, AboutScreen: _about, LoginScreen: session.login_key,
             ReasonScreen: reasons.reason_key, OfferPopover: offers.offer_key,
             RonaPopover: offers.rona_key, CallScreen: calls.call_key, VarsScreen: offers.vars_key}


# -- helpers -------------------------------------------------------------------------------------
def _set(m: Model, setting: str, value) -> Model:
    return replace(m, settings=replace(m.settings, **{setting: value}))


def _stop_test_ring(m: Model) -> tuple:
    return (StopTone("ringer"),) if m.ringing_test else ()


def _leave_all(m: Model):
    """Long-press Back: abandon every screen the agent opened (unsaved changes are undone). What
    the phone put up for a contact or call (popovers, the call, an owed wrap-up) stays."""
    effects = _stop_test_ring(m)
    for screen in reversed(m.screens[1:]):
        if isinstance(screen, AdjustScreen):
            m = _set(m, screen.setting, screen.before)
    m = close(m, lambda s: not (isinstance(s, POPOVERS + (CallScreen,))
                                or (isinstance(s, ReasonScreen) and s.kind == "wrapup")))
    return replace(m, ringing_test=False), effects
