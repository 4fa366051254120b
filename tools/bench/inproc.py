"""A phone on the sim board inside this process, its loop on a background thread.

Benchmarks then act at the emulated pins and watch the HD44780 model, as a finger and an eye.
"""
from __future__ import annotations

import asyncio
import tempfile
import threading
from dataclasses import replace
from pathlib import Path

from firmware.app.device import display_of, primary_ip
from firmware.app.phone import Phone
from firmware.app.store import SettingsStore
from firmware.core.model import DeviceInfo
from firmware.version import __version__
from hal.board import load_board
from hal.devices import open_devices
from hal.keypad import KEY_NAMES


class InProcessPhone:
    def __init__(self, state_dir: Path | None = None, board: str = "sim"):
        self.state_dir = Path(state_dir or tempfile.mkdtemp(prefix="bench-phone-"))
        spec = replace(load_board(board), sim={})     # no board page: nothing else on the loop
        self.devices = open_devices(spec, self.state_dir / "run")
        self.sim = self.devices.backend
        info = DeviceInfo(__version__, spec.name, "a", display_of(spec.lcd))
        self.phone = Phone(self.devices, SettingsStore(self.state_dir), info, KEY_NAMES, primary_ip)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.call(self._boot())

    async def _boot(self):
        await self.phone.start()
        await self.phone.boot()

    def call(self, coro, timeout=10):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def settle(self):
        self.call(self.phone.settle())

    def close(self):
        from firmware.app.main import detach_links
        self.call(detach_links(self.phone))
        self.call(self.phone.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(2)
        self.devices.close()
