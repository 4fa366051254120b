"""What the rules ask the app to do. The app carries them out; the rules never do I/O."""
from __future__ import annotations

from dataclasses import dataclass

from .model import Settings


@dataclass(frozen=True)
class PlayTone:
    tone: str           # "test_ring"
    route: str          # an audio route: "ringer", "handset", ...
    level: int          # volume level 0-10


@dataclass(frozen=True)
class StopTone:
    route: str


@dataclass(frozen=True)
class SaveSettings:
    settings: Settings
