"""Lcd: a rows x cols character display (HD44780 behind a PCF8574 I2C backpack).

A 40x4 module is two controllers, each driving 40x2 (rows 0-1 and 2-3) with its own E line:
the backpack's P2 is E1 and the board's ``e2_bit`` (P1, the RW line, RW tied to GND on the
module) is E2. Each controller gets RPLCD's own driver, with its E, on the one bus.

Text is Unicode; the board's character ROM (hal/charset.py) decides what the glass can show,
and a character it lacks is written as a stand-in ('?').

The bus is slow (one I2C transaction per nibble strobe: ~100 ms for a full 20x4 redraw at
100 kHz), so ``show`` only hands the newest frame to a writer thread, which sends the cells
that differ from what is on the glass. Frames that arrive while one is being written are
coalesced: the display always converges on the latest one without blocking the caller.
"""
from __future__ import annotations

import threading
from collections.abc import Sequence

from RPLCD import common as rplcd_common
from RPLCD.i2c import PCF8574_E, CharLCD
from smbus2 import i2c_msg

from .charset import rom
from .errors import HalError

MERGE_GAP = 3         # rewriting <= 3 unchanged cells is cheaper than a cursor move + setup
MAX_MESSAGE = 1024    # bytes per I2C message when batching


class BatchedBus:
    """Collects RPLCD's one-byte writes to the backpack and sends them as one I2C message.

    A lone ``write_byte`` is a whole transaction (START, address, data, STOP: ~20 clocks); in
    one message each further byte costs 9 clocks. A byte equal to the one before changes no
    PCF8574 pin, so it is dropped. Outside ``batch()`` writes pass straight through, which is
    what the controller's timed init sequence needs.
    """

    def __init__(self, bus, address: int):
        self.bus, self.address = bus, address
        self.batching = False
        self._buf = bytearray()
        self._last: int | None = None

    def write_byte(self, address, value, force=None):
        if not self.batching or address != self.address:
            self.flush()
            self._last = value
            return self.bus.write_byte(address, value)
        if value != self._last:
            self._buf.append(value)
            self._last = value
            if len(self._buf) >= MAX_MESSAGE:
                self.flush()

    def flush(self):
        if self._buf:
            data, self._buf = bytes(self._buf), bytearray()
            self.bus.i2c_rdwr(i2c_msg.write(self.address, data))

    def write_byte_data(self, address, register, value, force=None):
        self.flush()
        return self.bus.write_byte_data(address, register, value)


class _BackpackLcd(CharLCD):
    """RPLCD's own PCF8574 driver for one controller (``enable``: the backpack bit of its E
    line) on a bus object we hand it (smbus2.SMBus on the device)."""

    def __init__(self, bus: BatchedBus, enable: int = PCF8574_E, **kwargs):
        self._given_bus, self._enable = bus, enable
        super().__init__(**kwargs)

    def _init_connection(self):
        self.bus = self._given_bus
        rplcd_common.msleep(50)

    def _pulse_data(self, value):
        # RPLCD's own pulse, with this controller's E. Batched bytes leave back to back at the
        # bus clock: >= 22.5 us each even at 400 kHz, so E stays high far longer than the 450 ns
        # the HD44780 needs, and the 6 bytes of an instruction outlast its 37 us execution.
        # RPLCD's sleeps would only delay the batch; unbatched (the timed init) they stay.
        e = self._enable
        for byte in (value & ~e, value | e, value & ~e):
            self.bus.write_byte(self._address, byte | self._backlight)
        if not self._given_bus.batching:
            rplcd_common.usleep(100)


def changed_runs(old: str, new: str, gap: int = MERGE_GAP) -> list[tuple[int, str]]:
    """The (column, text) runs that turn ``old`` into ``new``, nearby runs merged."""
    runs: list[list[int]] = []
    for i, (a, b) in enumerate(zip(old, new)):
        if a != b:
            if runs and i - runs[-1][1] <= gap + 1:
                runs[-1][1] = i + 1
            else:
                runs.append([i, i + 1])
    return [(s, new[s:e]) for s, e in runs]


class Lcd:
    def __init__(self, spec, bus, contrast=None):
        """``spec`` is an LcdSpec; ``bus`` has SMBus's write_byte; ``contrast`` is a gpiozero
        PWMOutputDevice on the V0 filter, or None where contrast is a trimmer."""
        self.rows, self.cols = spec.rows, spec.cols
        self.rom = rom(spec.charset)
        self._bus = BatchedBus(bus, spec.address)
        enables = [PCF8574_E] + ([1 << spec.e2_bit] if spec.e2_bit is not None else [])
        self._rows_each = spec.rows // len(enables)
        try:
            self._controllers = [
                _BackpackLcd(self._bus, enable, i2c_expander="PCF8574", address=spec.address,
                             port=spec.i2c_bus, cols=spec.cols, rows=self._rows_each,
                             charmap=spec.charset, auto_linebreaks=False, backlight_enabled=True)
                for enable in enables]
        except OSError as e:
            raise HalError(f"LCD at I2C {spec.address:#04x} on bus {spec.i2c_bus} "
                           f"does not answer: {e}") from e
        self._lcd = self._controllers[0]      # the backlight bit is shared: it keeps it
        self._contrast = contrast
        self._glass = [" " * self.cols for _ in range(self.rows)]   # what the panel shows
        self._stand_ins: dict[str, str] = {}
        self._cond = threading.Condition()
        self._pending: list[str] | None = None
        self._backlight = True            # wanted; the writer thread owns the bus
        self._busy = False
        self._closed = False
        self.cells_written = 0
        self._thread = threading.Thread(target=self._run, name="lcd-writer", daemon=True)
        self._thread.start()

    # -- frames -----------------------------------------------------------------------------
    def fit(self, rows: Sequence[str]) -> list[str]:
        """Rows cut or padded to the panel, characters the ROM lacks shown as stand-ins, so the
        shadow copy is exactly what the glass shows."""
        out = [self.rom.fit(str(r)[: self.cols]).ljust(self.cols) for r in list(rows)[: self.rows]]
        return out + [" " * self.cols] * (self.rows - len(out))

    def show(self, rows: Sequence[str]):
        """Make the display show ``rows`` (padded or cut to size); returns at once."""
        frame = self.fit(rows)
        with self._cond:
            self._pending = frame
            self._cond.notify_all()

    def wait_idle(self, timeout: float | None = 2.0) -> bool:
        """Block until every frame handed to ``show`` is on the glass."""
        with self._cond:
            return self._cond.wait_for(
            lambda: self._pending is None and not self._busy
            and self._backlight == self._lcd.backlight_enabled, timeout)

    def text(self) -> list[str]:
        """What the panel shows, custom glyphs replaced by their stand-in characters."""
        with self._cond:
            rows = list(self._glass)
        return [r.translate(str.maketrans(self._stand_ins)) if self._stand_ins else r for r in rows]

    def _run(self):
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None or self._closed
                                    or self._backlight != self._lcd.backlight_enabled)
                if self._closed:
                    return
                frame, self._pending, self._busy = self._pending, None, True
                backlight = self._backlight
            try:
                self._bus.batching = True
                if backlight != self._lcd.backlight_enabled:
                    self._lcd.backlight_enabled = backlight
                    for other in self._controllers[1:]:   # its next writes carry the bit too
                        other._backlight = self._lcd._backlight
                    self._bus.flush()
                if frame is not None:           # None: only the backlight changed
                    self._write_frame(frame)
            except OSError:
                # The panel stopped answering mid-frame: forget what we think is on it so the
                # next frame is written in full.
                with self._cond:
                    self._glass = ["\uffff" * self.cols for _ in range(self.rows)]
            finally:
                self._bus.batching = False
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _write_frame(self, frame: list[str]):
        """Send the cells that differ from the glass, one I2C message per row."""
        for r, (old, new) in enumerate(zip(list(self._glass), frame)):
            controller = self._controllers[r // self._rows_each]
            for col, text in changed_runs(old, new):
                controller.cursor_pos = (r % self._rows_each, col)
                controller.write_string(text)
                self.cells_written += len(text)
            self._bus.flush()
            with self._cond:
                self._glass[r] = new

    # -- controller features ----------------------------------------------------------------
    def define_glyph(self, index: int, bitmap: Sequence[int], stand_in: str):
        """Load a 5x8 custom character into CGRAM slot ``index`` (0-7); frames use chr(index)."""
        if not 0 <= index <= 7:
            raise ValueError("HD44780 has 8 custom glyph slots (0-7)")
        self.wait_idle()
        with self._cond:
            self._busy = True
        try:
            for controller in self._controllers:      # each has its own CGRAM
                controller.create_char(index, tuple(bitmap))
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()
        self._stand_ins[chr(index)] = stand_in

    @property
    def backlight(self) -> bool:
        return self._backlight

    @backlight.setter
    def backlight(self, on: bool):
        with self._cond:
            self._backlight = bool(on)
            self._cond.notify_all()

    @property
    def contrast(self) -> float | None:
        return None if self._contrast is None else self._contrast.value

    @contrast.setter
    def contrast(self, level: float):
        if self._contrast is not None:
            self._contrast.value = max(0.0, min(1.0, level))

    def close(self):
        self.wait_idle()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=1)
        if self._contrast is not None:
            self._contrast.close()
