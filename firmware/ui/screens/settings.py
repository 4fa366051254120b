"""The menu, setting adjustment, choice and about screens."""
from __future__ import annotations

from firmware.core.menus import ADJUSTABLE, CHOICES, MENUS, NOISE_LABELS, NOISE_TITLE
from firmware.core.model import (CALL_ROUTES, AboutScreen, AdjustScreen, ChoiceScreen, MenuScreen,
                                 Model, NoiseScreen)

from ..glyphs import BELL, CHECK, EMPTY, FULL, POINTER
from ..text import split


def menu(m: Model, s: MenuScreen):
    cols, window = m.info.display.cols, m.info.display.rows - 2
    title, items = MENUS[s.menu]
    first = min(s.cursor, max(0, len(items) - window))  # keep the cursor in the window
    rows = [split(title, f"{s.cursor + 1}/{len(items)}", cols)]
    for i in range(first, min(first + window, len(items))):
        rows.append((POINTER if i == s.cursor else " ") + items[i].label)
    return rows


def adjust(m: Model, s: AdjustScreen):
    title, top = ADJUSTABLE[s.setting]
    bar = FULL * s.value + EMPTY * (top - s.value)
    icon = f" {BELL}" if s.setting == "ringer_volume" and m.ringing_test else ""
    return [title + icon, f"{bar} {s.value:>2}/{top}"]


def choice(m: Model, s: ChoiceScreen):
    cols, window = m.info.display.cols, m.info.display.rows - 2
    title, options = CHOICES[s.setting]
    current = m.settings.mode(s.setting)
    first = min(s.cursor, max(0, len(options) - window))
    rows = [split(title, f"{s.cursor + 1}/{len(options)}", cols)]
    for i in range(first, min(first + window, len(options))):
        value, label = options[i]
        mark = CHECK if value == current else " "
        rows.append(split((POINTER if i == s.cursor else " ") + label, mark, cols))
    return rows


def noise(m: Model, s: NoiseScreen):
    """``>Handset        Off``: each route's noise removal, scrolled as a menu is."""
    cols, window = m.info.display.cols, m.info.display.rows - 2
    first = min(s.cursor, max(0, len(CALL_ROUTES) - window))
    rows = [split(NOISE_TITLE, f"{s.cursor + 1}/{len(CALL_ROUTES)}", cols)]
    for i in range(first, min(first + window, len(CALL_ROUTES))):
        route = CALL_ROUTES[i]
        state = "On" if m.settings.noise_removal(route) else "Off"
        rows.append(split((POINTER if i == s.cursor else " ") + NOISE_LABELS[route], state, cols))
    return rows


def about(m: Model, _s: AboutScreen):
    return [f"hardphone {m.info.version}", board_and_slot(m.info.board, m.info.slot,
                                                          m.info.display.cols),
            f"IP {m.links.ip or 'none'}"]


def board_and_slot(board: str, slot: str, cols: int) -> str:
    """``Board sim  Slot a``; a name too long for the row drops the label, then its end
    (``~``), never the slot (the banner and `version` have the whole name)."""
    slot_text = f"  Slot {slot}"
    for text in (f"Board {board}", board):
        if len(text) + len(slot_text) <= cols:
            return text + slot_text
    return board[:cols - len(slot_text) - 1] + "~" + slot_text
