"""render(model) -> Frame: the display rows, LEDs, backlight and contrast for one model."""
from __future__ import annotations

from dataclasses import dataclass

from firmware.core.calls import audio_route
from firmware.core.model import BACKLIGHT_AUTO_S, CONTRAST_MAX, BootScreen, IdleScreen, Model
from firmware.core.softkeys import softkeys

from .screens import BODIES
from .text import COLS, fit, wrap

ROWS = 4
SOFTKEY_WIDTH = COLS // 4


@dataclass(frozen=True)
class Frame:
    rows: tuple[str, ...]
    leds: tuple[tuple[str, str], ...]     # (name, "off"|"on"|"blink")
    backlight: bool
    contrast: float                       # 0.0-1.0


def render(m: Model) -> Frame:
    body = BODIES[type(m.screen)](m, m.screen)
    rows = [fit(r) for r in body[: ROWS - 1]]
    rows += [" " * COLS] * (ROWS - 1 - len(rows))
    notice = m.active_notice()
    if notice and not isinstance(m.screen, (IdleScreen, BootScreen)):
        # the home screen has a row for it; elsewhere it covers the header (two rows if long)
        for i, line in enumerate(wrap(notice, 2)):
            rows[i] = fit(line)
    rows.append(softkey_row(m, m.screen))
    return Frame(rows=tuple(rows), leds=leds(m), backlight=backlight_on(m),
                 contrast=m.settings.contrast / CONTRAST_MAX)


def softkey_row(m: Model, screen) -> str:
    """Each label centred over its key, nudged within the key's width so that neighbouring
    labels never touch ("Resum End Vars State" fills all 20 columns)."""
    labels = [sk[0][:SOFTKEY_WIDTH] if sk else "" for sk in softkeys(m, screen)]
    row, free_from = [" "] * COLS, 0
    for i, label in enumerate(labels):
        if not label:
            continue
        slot = i * SOFTKEY_WIDTH
        after = labels[i + 1] if i + 1 < len(labels) else ""
        last_end = slot + SOFTKEY_WIDTH - (len(after) == SOFTKEY_WIDTH)  # leave a gap before it
        start = slot + (SOFTKEY_WIDTH - len(label) + 1) // 2
        start = max(min(start, last_end - len(label)), free_from)
        row[start:start + len(label)] = label
        free_from = start + len(label) + 1
    return "".join(row[:COLS])


def leds(m: Model) -> tuple[tuple[str, str], ...]:
    if m.ringing_test or m.ringing():
        line = "blink"
    else:
        line = "on" if m.calls or m.hook_lifted else "off"
    route = audio_route(m)
    return (("line", line), ("mwi", "off"), ("mute", "on" if m.muted else "off"),
            ("headset", "on" if route == "headset" else "off"),
            ("speaker", "on" if route == "speaker" else "off"))


def backlight_on(m: Model) -> bool:
    mode = m.settings.backlight
    return mode == "on" or (mode == "auto" and m.now - m.last_touch < BACKLIGHT_AUTO_S)
