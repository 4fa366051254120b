"""render(model) -> Frame: the display rows, LEDs, backlight and contrast for one model."""
from __future__ import annotations

from dataclasses import dataclass

from firmware.core.calls import audio_route
from firmware.core import voicemail
from firmware.core.model import (BACKLIGHT_AUTO_S, CONTRAST_MAX, BootScreen, ConnectingPopover,
                                 IdleScreen, Model, OfferPopover, PreviewPopover, RonaPopover)
from firmware.core.softkeys import softkeys

from .screens import BODIES
from .text import fit, wrap

SOFTKEYS = 4
# A popover's header says which offer rings and for how long: a notice never covers it. The
# notice takes the row above the softkeys instead (one row, cut between words), as a desk
# phone's status line does: the header, the caller and the softkeys stay where the agent's
# eyes and fingers expect them. It is not held back until the popover closes, since some
# can't wait (the server's "logout in 5 seconds"); a confirmation such as "Wrap-up sent" only
# hides the last variable line for its few seconds.
POPOVERS = (OfferPopover, PreviewPopover, ConnectingPopover, RonaPopover)
# Softkey labels are 5 characters for the 20-column display; a wider key shows the whole word.
FULL_LABELS = {"Accpt": "Accept", "Answr": "Answer", "Resum": "Resume", "Avail": "Available",
               "Rejct": "Reject", "Cnslt": "Consult", "Xfer": "Transfer", "Remov": "Remove",
               "Cancl": "Cancel"}


@dataclass(frozen=True)
class Frame:
    rows: tuple[str, ...]
    leds: tuple[tuple[str, str], ...]     # (name, "off"|"on"|"blink")
    backlight: bool
    contrast: float                       # 0.0-1.0


def render(m: Model) -> Frame:
    """The frame for ``m`` on its display: ``rows`` rows of ``cols`` characters."""
    cols, body_rows = m.info.display.cols, m.info.display.rows - 1
    body = BODIES[type(m.screen)](m, m.screen)
    rows = [fit(r, cols) for r in body[:body_rows]]
    rows += [" " * cols] * (body_rows - len(rows))
    notice = m.active_notice()
    if notice and isinstance(m.screen, POPOVERS):
        rows[-1] = fit(wrap(notice, cols, 1)[0], cols)
    elif notice and not isinstance(m.screen, (IdleScreen, BootScreen)):
        # the home screen has a row for it; elsewhere it covers the header (two rows if long)
        for i, line in enumerate(wrap(notice, cols, 2)):
            rows[i] = fit(line, cols)
    rows.append(softkey_row(m, m.screen))
    return Frame(rows=tuple(rows), leds=leds(m), backlight=backlight_on(m),
                 contrast=m.settings.contrast / CONTRAST_MAX)


def softkey_row(m: Model, screen) -> str:
    """Each label centred over its key, nudged within the key's width so that neighbouring
    labels never touch ("Resum End Vars State" fills all 20 columns)."""
    cols = m.info.display.cols
    width = cols // SOFTKEYS
    labels = [_label(sk[0], width) if sk else "" for sk in softkeys(m, screen)]
    row, free_from = [" "] * cols, 0
    for i, label in enumerate(labels):
        if not label:
            continue
        slot = i * width
        after = labels[i + 1] if i + 1 < len(labels) else ""
        last_end = slot + width - (len(after) == width)  # leave a gap before it
        start = slot + (width - len(label) + 1) // 2
        start = max(min(start, last_end - len(label)), free_from)
        row[start:start + len(label)] = label
        free_from = start + len(label) + 1
    return "".join(row[:cols])


def _label(label: str, width: int) -> str:
    full = FULL_LABELS.get(label, label)
    return full if len(full) < width else label[:width]


def leds(m: Model) -> tuple[tuple[str, str], ...]:
    if m.ringing_test or m.ringing():
        line = "blink"
    else:
        line = "on" if m.calls or m.hook_lifted else "off"
    route = audio_route(m)
    return (("line", line), ("mwi", "on" if voicemail.lamp(m) else "off"),
            ("mute", "on" if m.muted else "off"),
            # headset mode lights it between calls: calls will go there
            ("headset", "on" if route == "headset" or (route is None and m.settings.headset_mode)
             else "off"),
            ("speaker", "on" if route == "speaker" else "off"))


def backlight_on(m: Model) -> bool:
    mode = m.settings.backlight
    return mode == "on" or (mode == "auto" and m.now - m.last_touch < BACKLIGHT_AUTO_S)
