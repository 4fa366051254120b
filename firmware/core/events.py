"""Everything that can happen to the phone, as small frozen values."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Booted:
    """The devices are up and the console is listening."""


@dataclass(frozen=True)
class Key:
    name: str          # a console key name: "5", "soft1", "up", "volup", ...
    kind: str = "down"  # "down", "up" or "long"


@dataclass(frozen=True)
class Hook:
    lifted: bool


@dataclass(frozen=True)
class Tick:
    now: float         # wall-clock seconds (time.time()), once a second


@dataclass(frozen=True)
class NetworkChanged:
    ip: str | None     # the phone's address, None without a network


@dataclass(frozen=True)
class ToneFinished:
    """A tone started by PlayTone has ended (played out, or stopped)."""
    tone: str
