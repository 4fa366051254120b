"""The four softkeys under the display: a (label, action) pair per key for each screen."""
from __future__ import annotations

from .model import AboutScreen, AdjustScreen, BootScreen, ChoiceScreen, IdleScreen, MenuScreen

Softkey = tuple[str, str] | None          # (label, action) or no key

_SOFTKEYS: dict[type, tuple[Softkey, Softkey, Softkey, Softkey]] = {
    BootScreen: (None, None, None, None),
    IdleScreen: (("Menu", "menu"), None, None, ("Info", "about")),
    MenuScreen: (("Open", "ok"), None, None, ("Back", "back")),
    AdjustScreen: (("-", "dec"), ("+", "inc"), ("Save", "ok"), ("Back", "back")),
    ChoiceScreen: (("Set", "ok"), None, None, ("Back", "back")),
    AboutScreen: (None, None, None, ("Back", "back")),
}


def softkeys(screen) -> tuple[Softkey, Softkey, Softkey, Softkey]:
    return _SOFTKEYS[type(screen)]


def action_for(screen, key: str) -> str:
    """The action a key means on a screen: softkeys by their map, other keys by name."""
    if key.startswith("soft"):
        sk = softkeys(screen)[int(key[4:]) - 1]
        return sk[1] if sk else ""
    return key
