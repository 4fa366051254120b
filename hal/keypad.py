"""Keypad: a key matrix scanned row by row, with debounce and long press.

Idle, every row is driven low, so a press pulls its column low and wakes the scanner; the
scanner then selects one row at a time until every key is released. A key counts as down
after ``debounce_scans`` consecutive scans see it, and as up after as many scans don't.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from gpiozero import DigitalInputDevice, DigitalOutputDevice

# The firmware's rules type these names as firmware.core.vocab.KeyName (hal imports nothing from
# firmware; tests/unit/test_registries.py checks that the two lists are the same).
KEY_NAMES = (
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#",
    "soft1", "soft2", "soft3", "soft4", "up", "down", "left", "right", "ok", "back",
    "hold", "xfer", "conf", "mute", "headset", "speaker", "redial", "volup", "voldown",
)

IDLE_RECHECK_S = 0.5   # a missed edge can't leave a key unseen for longer than this


@dataclass(frozen=True)
class KeyEvent:
    key: str
    kind: str          # "down", "up" or "long"
    at: float          # the keypad's clock (time.monotonic()) when it was recognised


class Keypad:
    """Scans ``spec.keys`` (a KeypadSpec) and calls ``when_key(KeyEvent)`` from its thread.

    ``clock`` gives the time a scan is taken at (time.monotonic). With ``scan_thread=False``
    nothing scans on its own: a test calls ``tick()`` for each scan and steps its own clock, so
    debounce and long press are checked scan by scan, with no sleeping and no racing a thread.
    """

    def __init__(self, spec, pin_factory=None, when_key: Callable[[KeyEvent], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, scan_thread: bool = True):
        self.spec = spec
        self.when_key = when_key
        self._clock = clock
        self._rows = [DigitalOutputDevice(p, initial_value=False, pin_factory=pin_factory)
                      for p in spec.rows]
        self._cols = [DigitalInputDevice(p, pull_up=True, pin_factory=pin_factory)
                      for p in spec.cols]
        self._wake = threading.Event()
        for col in self._cols:
            col.when_activated = self._wake.set
        self._down: dict[str, float] = {}      # debounced keys down -> since
        self._long_sent: set[str] = set()
        self._seen: dict[str, int] = {}        # consecutive scans a key was seen in
        self._unseen: dict[str, int] = {}      # consecutive scans a down key was missing from
        self._closed = False
        self._thread: threading.Thread | None = None
        if scan_thread:
            self._thread = threading.Thread(target=self._run, name="keypad-scan", daemon=True)
            self._thread.start()

    # -- scanning ---------------------------------------------------------------------------
    def scan(self) -> set[str]:
        """One pass over the matrix: the keys whose contacts are closed right now."""
        pressed = set()
        for r, row in enumerate(self._rows):
            for other in self._rows:
                other.value = other is not row     # only the selected row is driven low
            for c, col in enumerate(self._cols):
                if col.value:                      # active = pulled low through a key
                    name = self.spec.keys[r][c]
                    if name:
                        pressed.add(name)
        for row in self._rows:
            row.off()                              # back to idle: every row low
        return pressed

    def _any_column_low(self) -> bool:
        return any(col.value for col in self._cols)

    def _run(self):
        interval = self.spec.scan_interval_ms / 1000
        while not self._closed:
            if not self._down and not self._seen:
                self._wake.wait(IDLE_RECHECK_S)
                self._wake.clear()
                if self._closed:
                    return
                if not self._any_column_low():
                    continue
            self.tick()
            time.sleep(interval)

    def tick(self):
        """One scan of the matrix, taken at ``clock()``, through the debounce."""
        self._step(self.scan(), self._clock())

    def _step(self, pressed: set[str], now: float):
        n = self.spec.debounce_scans
        for key in pressed:
            self._unseen.pop(key, None)
            if key not in self._down:
                self._seen[key] = self._seen.get(key, 0) + 1
                if self._seen[key] >= n:
                    del self._seen[key]
                    self._down[key] = now
                    self._emit(key, "down", now)
        for key in list(self._seen):
            if key not in pressed:
                del self._seen[key]               # a bounce: never reached n scans
        for key, since in list(self._down.items()):
            if key in pressed:
                if key not in self._long_sent and now - since >= self.spec.long_press_ms / 1000:
                    self._long_sent.add(key)
                    self._emit(key, "long", now)
                continue
            self._unseen[key] = self._unseen.get(key, 0) + 1
            if self._unseen[key] >= n:
                del self._unseen[key], self._down[key]
                self._long_sent.discard(key)
                self._emit(key, "up", now)

    def _emit(self, key, kind, now):
        if self.when_key is not None:
            self.when_key(KeyEvent(key, kind, now))

    # -- a press that doesn't come from the contacts (service console) -------------------------
    def press(self, key: str):
        """Report a press and release of ``key`` as if it had been scanned."""
        if key not in KEY_NAMES:
            raise ValueError(f"unknown key {key!r}")
        now = self._clock()
        self._emit(key, "down", now)
        self._emit(key, "up", now)

    @property
    def keys_down(self) -> frozenset[str]:
        return frozenset(self._down)

    def close(self):
        self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=1)
        for dev in self._rows + self._cols:
            dev.close()
