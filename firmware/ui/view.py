"""render(model) -> Frame: the display rows, LEDs, backlight and contrast for one model."""
from __future__ import annotations

import time
from dataclasses import dataclass

from firmware.core.menus import ADJUSTABLE, CHOICES, MENUS
from firmware.core.model import (BACKLIGHT_AUTO_S, CONTRAST_MAX, AboutScreen, AdjustScreen,
                                 BootScreen, ChoiceScreen, IdleScreen, MenuScreen, Model)
from firmware.core.softkeys import softkeys

from .glyphs import BELL, CHECK, CROSS, EMPTY, FULL, HANDSET, POINTER

COLS, ROWS = 20, 4
SOFTKEY_WIDTH = COLS // 4

AGENT_STATES = {"LOGGED_OUT": "Logged out"}


@dataclass(frozen=True)
class Frame:
    rows: tuple[str, ...]
    leds: tuple[tuple[str, str], ...]     # (name, "off"|"on"|"blink")
    backlight: bool
    contrast: float                       # 0.0-1.0


def render(m: Model) -> Frame:
    body = _BODIES[type(m.screen)](m, m.screen)
    rows = [_fit(r) for r in body[: ROWS - 1]]
    rows += [" " * COLS] * (ROWS - 1 - len(rows))
    rows.append(softkey_row(m.screen))
    return Frame(rows=tuple(rows), leds=leds(m), backlight=backlight_on(m),
                 contrast=m.settings.contrast / CONTRAST_MAX)


def softkey_row(screen) -> str:
    return "".join((sk[0] if sk else "").center(SOFTKEY_WIDTH)[:SOFTKEY_WIDTH]
                   for sk in softkeys(screen))


def leds(m: Model) -> tuple[tuple[str, str], ...]:
    line = "blink" if m.ringing_test else "on" if m.hook_lifted else "off"
    return (("line", line), ("mwi", "off"), ("mute", "off"), ("headset", "off"),
            ("speaker", "off"))


def backlight_on(m: Model) -> bool:
    mode = m.settings.backlight
    return mode == "on" or (mode == "auto" and m.now - m.last_touch < BACKLIGHT_AUTO_S)


# -- screen bodies (rows above the softkeys) -----------------------------------------------------
def _boot(m: Model, _s):
    return [f"hardphone {m.info.version}", "Starting..."]


def _idle(m: Model, _s):
    state = AGENT_STATES.get(m.agent_state, m.agent_state.title())
    clock = time.strftime("%H:%M", time.localtime(m.now))
    status = (f"NET{_mark(m.links.ip is not None)} SIP{_link(m.links.sip, 'registered')} "
              f"CC{_link(m.links.cc, 'up')}")
    third = (f"{HANDSET} Handset lifted" if m.hook_lifted
             else time.strftime("%a %d %b %Y", time.localtime(m.now)))
    return [_split(state, clock), status, third]


def _menu(m: Model, s: MenuScreen):
    title, items = MENUS[s.menu]
    first = min(s.cursor, max(0, len(items) - 2))       # keep the cursor in the 2-row window
    rows = [_split(title, f"{s.cursor + 1}/{len(items)}")]
    for i in range(first, min(first + 2, len(items))):
        rows.append((POINTER if i == s.cursor else " ") + items[i].label)
    return rows


def _adjust(m: Model, s: AdjustScreen):
    title, top = ADJUSTABLE[s.setting]
    bar = FULL * s.value + EMPTY * (top - s.value)
    icon = f" {BELL}" if s.setting == "ringer_volume" and m.ringing_test else ""
    return [title + icon, f"{bar} {s.value:>2}/{top}"]


def _choice(m: Model, s: ChoiceScreen):
    title, options = CHOICES[s.setting]
    current = getattr(m.settings, s.setting)
    first = min(s.cursor, max(0, len(options) - 2))
    rows = [_split(title, f"{s.cursor + 1}/{len(options)}")]
    for i in range(first, min(first + 2, len(options))):
        value, label = options[i]
        mark = CHECK if value == current else " "
        rows.append(_split((POINTER if i == s.cursor else " ") + label, mark))
    return rows


def _about(m: Model, _s: AboutScreen):
    return [f"hardphone {m.info.version}", f"Board {m.info.board}  Slot {m.info.slot}",
            f"IP {m.links.ip or 'none'}"]


_BODIES = {BootScreen: _boot, IdleScreen: _idle, MenuScreen: _menu, AdjustScreen: _adjust,
           ChoiceScreen: _choice, AboutScreen: _about}


# -- text helpers --------------------------------------------------------------------------------
def _fit(text: str) -> str:
    return text[:COLS].ljust(COLS)


def _split(left: str, right: str) -> str:
    """``left`` and ``right`` on one row, the left cut short if they don't both fit."""
    room = COLS - len(right) - 1
    return left[:room].ljust(room) + " " + right


def _mark(ok: bool) -> str:
    return CHECK if ok else CROSS


def _link(state: str, good: str) -> str:
    return "-" if state == "off" else _mark(state == good)
