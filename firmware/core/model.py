"""The model: one immutable snapshot of the phone (device status, settings, screen stack)."""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

VOLUME_MAX = 10
CONTRAST_MAX = 10
BACKLIGHT_MODES = ("on", "auto", "off")
BACKLIGHT_AUTO_S = 30          # "auto": the backlight goes out after this long untouched


@dataclass(frozen=True)
class Settings:
    """What the user changes in the menu; saved across restarts."""
    ringer_volume: int = 6
    handset_volume: int = 6
    headset_volume: int = 6
    speaker_volume: int = 5
    contrast: int = 6
    backlight: str = "auto"

    @classmethod
    def from_dict(cls, data: dict) -> tuple["Settings", list[str]]:
        """Settings from a saved dict; each bad or unknown field is dropped with a message."""
        problems, good = [], {}
        defaults = cls()
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            if f.name == "backlight":
                ok = value in BACKLIGHT_MODES
            else:
                top = CONTRAST_MAX if f.name == "contrast" else VOLUME_MAX
                ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= top
            if ok:
                good[f.name] = value
            else:
                problems.append(f"{f.name}: bad value {value!r}, using {getattr(defaults, f.name)!r}")
        for name in data:
            if name not in {f.name for f in fields(cls)}:
                problems.append(f"{name}: unknown setting, ignored")
        return replace(defaults, **good), problems


@dataclass(frozen=True)
class DeviceInfo:
    version: str
    board: str
    slot: str


@dataclass(frozen=True)
class Links:
    """What the status line's indicators show. 'off' means not configured."""
    ip: str | None = None
    sip: str = "off"           # off | registering | registered | failed
    cc: str = "off"            # off | connecting | up | down


# -- screens: the stack's entries ---------------------------------------------------------------
@dataclass(frozen=True)
class BootScreen:
    pass


@dataclass(frozen=True)
class IdleScreen:
    pass


@dataclass(frozen=True)
class MenuScreen:
    menu: str                  # a key of firmware.core.menus.MENUS
    cursor: int = 0


@dataclass(frozen=True)
class AdjustScreen:
    """Changing one numeric setting; ``before`` is restored if the user backs out."""
    setting: str
    value: int
    before: int


@dataclass(frozen=True)
class ChoiceScreen:
    """Choosing one of a setting's fixed values."""
    setting: str
    cursor: int


@dataclass(frozen=True)
class AboutScreen:
    page: int = 0


@dataclass(frozen=True)
class Model:
    info: DeviceInfo
    settings: Settings = field(default_factory=Settings)
    links: Links = field(default_factory=Links)
    agent_state: str = "LOGGED_OUT"
    hook_lifted: bool = False
    now: float = 0.0
    last_touch: float = 0.0     # when a key or the hook was last used (backlight auto-off)
    ringing_test: bool = False
    screens: tuple = (BootScreen(),)

    @property
    def screen(self):
        return self.screens[-1]
