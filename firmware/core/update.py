"""update(model, event) -> (model, effects): every rule of the phone, as a pure function."""
from __future__ import annotations

from dataclasses import replace

from . import events as ev
from .effects import PlayTone, SaveSettings, StopTone
from .menus import ADJUSTABLE, CHOICES, MENUS
from .model import (AboutScreen, AdjustScreen, ChoiceScreen, IdleScreen, MenuScreen, Model)
from .softkeys import action_for

INC = {"inc", "up", "right", "volup"}
DEC = {"dec", "down", "left", "voldown"}


def update(m: Model, event) -> tuple[Model, tuple]:
    if isinstance(event, ev.Booted):
        return replace(m, screens=(IdleScreen(),), last_touch=m.now), ()
    if isinstance(event, ev.Tick):
        return replace(m, now=event.now), ()
    if isinstance(event, ev.NetworkChanged):
        return replace(m, links=replace(m.links, ip=event.ip)), ()
    if isinstance(event, ev.Hook):
        return replace(m, hook_lifted=event.lifted, last_touch=m.now), ()
    if isinstance(event, ev.ToneFinished):
        return (replace(m, ringing_test=False), ()) if event.tone == "test_ring" else (m, ())
    if isinstance(event, ev.Key):
        return _key(m, event)
    return m, ()


def _key(m: Model, key: ev.Key) -> tuple[Model, tuple]:
    if key.kind == "up":
        return m, ()
    m = replace(m, last_touch=m.now)
    screen = m.screen
    if key.kind == "long":
        if key.name == "back" and len(m.screens) > 1:
            return _leave_all(m)
        return m, ()
    action = action_for(screen, key.name)
    handler = _HANDLERS.get(type(screen))
    return handler(m, screen, action) if handler else (m, ())


# -- per screen ----------------------------------------------------------------------------------
def _idle(m: Model, screen, action):
    if action in ("menu", "ok"):
        return _push(m, MenuScreen("main")), ()
    if action == "about":
        return _push(m, AboutScreen()), ()
    if action in ("volup", "voldown"):
        # Volume keys at idle set the ringer, as on any desk phone.
        before = m.settings.ringer_volume
        m = _push(m, AdjustScreen("ringer_volume", before, before))
        return _adjust(m, m.screen, action)
    return m, ()


def _menu(m: Model, screen: MenuScreen, action):
    _title, items = MENUS[screen.menu]
    if action == "back":
        return _pop(m), ()
    if action in ("down", "up"):
        step = 1 if action == "down" else -1
        return _top(m, replace(screen, cursor=(screen.cursor + step) % len(items))), ()
    if action.isdigit() and 1 <= int(action) <= len(items):
        screen = replace(screen, cursor=int(action) - 1)
        m = _top(m, screen)
        action = "ok"
    if action in ("ok", "right"):
        return _open(m, items[screen.cursor].opens)
    return m, ()


def _open(m: Model, target: str):
    kind, _, name = target.partition(":")
    if kind == "menu":
        return _push(m, MenuScreen(name)), ()
    if kind == "adjust":
        value = getattr(m.settings, name)
        return _push(m, AdjustScreen(name, value, value)), ()
    if kind == "choice":
        values = [v for v, _label in CHOICES[name][1]]
        return _push(m, ChoiceScreen(name, values.index(getattr(m.settings, name)))), ()
    if kind == "about":
        return _push(m, AboutScreen()), ()
    raise ValueError(f"menu item opens unknown target {target!r}")


def _adjust(m: Model, screen: AdjustScreen, action):
    _title, top = ADJUSTABLE[screen.setting]
    if action in INC or action in DEC:
        value = max(0, min(top, screen.value + (1 if action in INC else -1)))
        m = _top(m, replace(screen, value=value))
        m = _set(m, screen.setting, value)
        if screen.setting == "ringer_volume":
            return replace(m, ringing_test=True), (PlayTone("test_ring", "ringer", value),)
        return m, ()
    if action == "ok":
        return _pop(m), (SaveSettings(m.settings),) + _stop_test_ring(m)
    if action == "back":
        return _pop(_set(m, screen.setting, screen.before)), _stop_test_ring(m)
    return m, ()


def _choice(m: Model, screen: ChoiceScreen, action):
    _title, options = CHOICES[screen.setting]
    if action in ("down", "up"):
        step = 1 if action == "down" else -1
        return _top(m, replace(screen, cursor=(screen.cursor + step) % len(options))), ()
    if action.isdigit() and 1 <= int(action) <= len(options):
        screen = replace(screen, cursor=int(action) - 1)
        action = "ok"
    if action == "ok":
        m = _pop(_set(m, screen.setting, options[screen.cursor][0]))
        return m, (SaveSettings(m.settings),)
    if action == "back":
        return _pop(m), ()
    return m, ()


def _about(m: Model, screen, action):
    if action in ("back", "ok"):
        return _pop(m), ()
    return m, ()


_HANDLERS = {IdleScreen: _idle, MenuScreen: _menu, AdjustScreen: _adjust,
             ChoiceScreen: _choice, AboutScreen: _about}


# -- helpers -------------------------------------------------------------------------------------
def _push(m: Model, screen) -> Model:
    return replace(m, screens=m.screens + (screen,))


def _pop(m: Model) -> Model:
    return replace(m, screens=m.screens[:-1]) if len(m.screens) > 1 else m


def _top(m: Model, screen) -> Model:
    return replace(m, screens=m.screens[:-1] + (screen,))


def _set(m: Model, setting: str, value) -> Model:
    return replace(m, settings=replace(m.settings, **{setting: value}))


def _stop_test_ring(m: Model) -> tuple:
    return (StopTone("ringer"),) if m.ringing_test else ()


def _leave_all(m: Model):
    """Long-press Back: abandon every open screen (unsaved changes are undone)."""
    effects = _stop_test_ring(m)
    for screen in reversed(m.screens[1:]):
        if isinstance(screen, AdjustScreen):
            m = _set(m, screen.setting, screen.before)
    return replace(m, screens=m.screens[:1], ringing_test=False), effects
