"""SimBoard: one handle on everything the sim backend emulates.

Tests, benchmarks and the virtual board page press keys and read the display through it,
at the same electrical level a finger and an eye would.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from ..board import BoardSpec
from .hd44780 import LcdModule, SimI2CBus
from .matrix import HookContact, KeypadMatrix
from .pins import SimPWMPin


@dataclass
class SimBoard:
    spec: BoardSpec
    factory: MockFactory
    matrix: KeypadMatrix
    contact: HookContact
    panel: LcdModule
    bus: SimI2CBus
    audio_dir: Path

    def tap(self, key: str, hold_s: float = 0.05):
        """Press and release a key as a finger would (long enough to pass the debounce)."""
        self.matrix.press(key)
        time.sleep(hold_s)
        self.matrix.release(key)

    def led_levels(self) -> dict[str, bool]:
        """Whether each LED's pin is high (lit) right now."""
        return {name: bool(self.factory.pin(pin).state) for name, pin in self.spec.leds.items()}

    def contrast(self) -> float | None:
        pin = self.spec.lcd.contrast_pin
        return None if pin is None else float(self.factory.pin(pin, pin_class=SimPWMPin).state)

    def pcm_file(self, route: str) -> Path:
        return self.audio_dir / f"{self.spec.audio_pcm[route]}.raw"

    def close(self):
        self.matrix.release_all()
        self.factory.reset()
