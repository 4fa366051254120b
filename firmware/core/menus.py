"""The menu tree and the settings it edits, as data."""
from __future__ import annotations

from dataclasses import dataclass

from .model import BACKLIGHT_MODES, CONTRAST_MAX, VOLUME_MAX


@dataclass(frozen=True)
class Item:
    label: str
    opens: str                 # "menu:<name>", "adjust:<setting>", "choice:<setting>", "about",
                               # "state:available", "reasons:<kind>" (a ReasonScreen)


MENUS: dict[str, tuple[str, tuple[Item, ...]]] = {
    "main": ("Menu", (
        Item("Settings", "menu:settings"),
        Item("About", "about"),
    )),
    "settings": ("Settings", (
        Item("Ringer volume", "adjust:ringer_volume"),
        Item("Handset volume", "adjust:handset_volume"),
        Item("Headset volume", "adjust:headset_volume"),
        Item("Speaker volume", "adjust:speaker_volume"),
        Item("Contrast", "adjust:contrast"),
        Item("Backlight", "choice:backlight"),
    )),
    "state": ("State", (
        Item("Available", "state:available"),
        Item("Idle", "reasons:idle"),
    )),
}

# setting -> (title, maximum)
ADJUSTABLE = {
    "ringer_volume": ("Ringer volume", VOLUME_MAX),
    "handset_volume": ("Handset volume", VOLUME_MAX),
    "headset_volume": ("Headset volume", VOLUME_MAX),
    "speaker_volume": ("Speaker volume", VOLUME_MAX),
    "contrast": ("Contrast", CONTRAST_MAX),
}

# setting -> (title, ((value, label), ...))
CHOICES = {
    "backlight": ("Backlight", tuple(zip(BACKLIGHT_MODES, ("Always on", "Auto off 30s", "Off")))),
}
