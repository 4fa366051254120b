"""Build a phone's devices from its board file; the backend is chosen by name."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

from .audio import AudioDevices
from .board import BoardSpec
from .hook import HookSwitch
from .keypad import Keypad
from .lcd import Lcd
from .leds import Leds


@dataclass
class Devices:
    spec: BoardSpec
    keypad: Keypad
    hook: HookSwitch
    leds: Leds
    lcd: Lcd
    audio: AudioDevices
    # Background services a backend needs running on the event loop: objects with
    # ``async start()`` and ``async stop()`` (the sim board's web page, for one).
    services: list = field(default_factory=list)
    # The backend's own handle (hal.sim.board.SimBoard on the sim board); for tools and tests.
    backend: object = None

    def close(self):
        for dev in (self.keypad, self.hook, self.leds, self.lcd, self.audio):
            dev.close()
        close = getattr(self.backend, "close", None)
        if close:
            close()


def open_devices(spec: BoardSpec, runtime_dir: Path) -> Devices:
    """``runtime_dir`` is a writable directory for what the backend generates (ALSA config)."""
    backend = importlib.import_module(f"hal.{spec.backend}.backend")
    return backend.open_devices(spec, Path(runtime_dir))
