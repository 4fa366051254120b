"""The hal's devices (Keypad, HookSwitch, Leds, Lcd) over the front-panel link.

Each is a subclass of the hal's own device so the phone above sees the same types; none of
them touches a pin (the panel scans and drives those): every public method is overridden.
With a SimPanel (``sim``), the service console's ``key`` and ``hook`` act on the panel's
emulated matrix and hook pin and return once the panel's event has been handed on, and
``lcd`` reads the panel's HD44780; on hardware they report the event directly, as the rpi
backend does.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from ..charset import rom
from ..errors import HalError
from ..hook import HookSwitch
from ..keypad import KEY_NAMES, Keypad, KeyEvent
from ..lcd import Lcd
from ..leds import MODES, Leds
from . import fpcodec as fp
from .link import PanelLink

CONSOLE_WAIT_S = 3.0      # a console press through the panel: how long for its event


class PanelKeypad(Keypad):
    def __init__(self, spec, link: PanelLink, sim=None,
                 when_key: Callable[[KeyEvent], None] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.spec, self.when_key, self._clock = spec, when_key, clock
        self._link, self._sim = link, sim
        self._names = [name for row in spec.keys for name in row]
        self._held: set[str] = set()
        self._delivered = threading.Condition()
        self._count: dict[tuple[str, str], int] = {}

    def on_event(self, kind: int, index: int):
        """A key event from the panel (the link's thread), in order and only once."""
        name = self._names[index] if 0 <= index < len(self._names) else ""
        what = fp.KEY_KINDS.get(kind)
        if not name or what is None:
            return
        if what == "down":
            if name in self._held:
                return
            self._held.add(name)
        elif name not in self._held:
            return                            # its down was before a lost link: released then
        elif what == "up":
            self._held.discard(name)
        self._emit(name, what, self._clock())

    def on_link(self, up: bool):
        if not up:                            # no release will come: let go of held keys
            for name in sorted(self._held):
                self._held.discard(name)
                self._emit(name, "up", self._clock())

    def _emit(self, key, kind, now):
        if self.when_key is not None:
            self.when_key(KeyEvent(key, kind, now))
        with self._delivered:
            self._count[(key, kind)] = self._count.get((key, kind), 0) + 1
            self._delivered.notify_all()

    def _wait(self, key: str, kind: str, after: int) -> bool:
        with self._delivered:
            return self._delivered.wait_for(lambda: self._count.get((key, kind), 0) > after,
                                       CONSOLE_WAIT_S)

    def press(self, key: str):
        """The service console's press: on the panel's matrix when it is emulated (a press
        and a release, each waited for), else reported as if scanned."""
        if key not in KEY_NAMES:
            raise ValueError(f"unknown key {key!r}")
        if self._sim is None:
            now = self._clock()
            self._emit(key, "down", now)
            self._emit(key, "up", now)
            return
        downs, ups = self._count.get((key, "down"), 0), self._count.get((key, "up"), 0)
        self._sim.press(key)
        try:
            if not self._wait(key, "down", downs):
                raise HalError(f"key {key}: no press came from the front panel")
        finally:
            self._sim.release(key)
        if not self._wait(key, "up", ups):
            raise HalError(f"key {key}: no release came from the front panel")

    def scan(self) -> set[str]:
        return set(self._held)

    def tick(self):
        pass

    @property
    def keys_down(self) -> frozenset[str]:
        return frozenset(self._held)

    def close(self):
        pass


class PanelHook(HookSwitch):
    def __init__(self, link: PanelLink, sim=None,
                 when_lifted: Callable[[], None] | None = None,
                 when_replaced: Callable[[], None] | None = None):
        self.when_lifted, self.when_replaced = when_lifted, when_replaced
        self._link, self._sim = link, sim
        self._lock = threading.Lock()
        self._quiet = threading.Condition(self._lock)
        self._reported = False

    def on_state(self, lifted: bool):
        """The panel's hook (an event, or the state in each HELLO): reported on a change."""
        with self._lock:
            changed = lifted != self._reported
            self._reported = lifted
            self._quiet.notify_all()
        if changed:
            self._report(lifted)

    @property
    def is_lifted(self) -> bool:
        return self._reported

    def wait_settled(self, timeout: float) -> bool:
        return True

    def set_lifted(self, lifted: bool):
        if self._sim is None:
            with self._lock:
                self._reported = lifted
            self._report(lifted)
            return
        self._sim.set_hook(lifted)
        with self._quiet:
            if not self._quiet.wait_for(lambda: self._reported == lifted, CONSOLE_WAIT_S):
                raise HalError("hook: the front panel did not report it")

    def close(self):
        pass


class PanelLeds(Leds):
    def __init__(self, names: Sequence[str], link: PanelLink):
        self._link = link
        self._modes = {name: "off" for name in names}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._modes)

    def set(self, name: str, mode: str):
        if mode not in MODES:
            raise ValueError(f"LED mode must be one of {', '.join(MODES)}, got {mode!r}")
        if name not in self._modes:
            raise KeyError(name)
        self._modes[name] = mode
        self._link.set_leds(bytes(fp.MODES.index(m) for m in self._modes.values()))

    def mode(self, name: str) -> str:
        return self._modes[name]

    def modes(self) -> dict[str, str]:
        return dict(self._modes)

    def close(self):
        pass


class PanelLcd(Lcd):
    def __init__(self, spec, link: PanelLink, sim=None):
        self.rows, self.cols = spec.rows, spec.cols
        self.rom = rom(spec.charset)
        self._link, self._sim = link, sim
        self._stand_ins: dict[str, str] = {}
        self._backlight = True
        self._contrast: float | None = None
        self.cells_written = 0

    def _codes(self, row: str) -> bytes:
        return bytes(ord(ch) if ord(ch) < 8 else self.rom.codes.get(ch, 0x3F) for ch in row)

    def show(self, rows: Sequence[str]):
        self._link.set_lcd([self._codes(r) for r in self.fit(rows)])

    def wait_idle(self, timeout: float | None = 2.0) -> bool:
        return self._link.wait_idle(timeout)

    def lost_rows(self) -> list[str]:
        """What the panel shows while it does not hear the Pi (frontpanel/panel.py)."""
        text = fp.LOST_TEXT
        first = (" " * ((self.cols - len(text)) // 2) + text).ljust(self.cols)
        return [first] + [" " * self.cols] * (self.rows - 1)

    def text(self) -> list[str]:
        """What the panel shows: its LCD (emulated) or what it acked; the lost screen while
        the link is down."""
        if not self._link.up:
            return self.lost_rows()
        if self._sim is not None:
            rows = self._sim.text()
        else:
            rows = ["".join(self.rom.char(c) for c in r) if r is not None else "?" * self.cols
                    for r in self._link.lcd_acked()]
        return [r.translate(str.maketrans(self._stand_ins)) if self._stand_ins else r
                for r in rows]

    def define_glyph(self, index: int, bitmap: Sequence[int], stand_in: str):
        if not 0 <= index <= 7:
            raise ValueError("HD44780 has 8 custom glyph slots (0-7)")
        self._link.set_glyph(index, bytes(bitmap))
        self._stand_ins[chr(index)] = stand_in

    @property
    def backlight(self) -> bool:
        return self._backlight

    @backlight.setter
    def backlight(self, on: bool):
        self._backlight = bool(on)
        self._link.set_backlight(self._backlight)

    @property
    def contrast(self) -> float | None:
        return self._contrast                 # a trimmer on the panel: nothing to drive

    @contrast.setter
    def contrast(self, level: float):
        self._contrast = max(0.0, min(1.0, level))

    def close(self):
        self._link.wait_idle(1.0)
