"""An HD44780 character LCD behind a PCF8574 I2C backpack, decoded from the bytes on the bus.

The PCF8574 drives P0=RS, P1=RW, P2=E, P3=backlight, P4-P7=D4-D7. The controller latches the
data lines on E's falling edge, starts in 8-bit mode (D0-D3 tied low) and switches to 4-bit
on a function set with DL=0; after that each byte arrives as two nibbles, high first.

A 40x4 module (``LcdModule``) is two controllers on the same data lines, each with its own E:
E1 on P2, E2 on another backpack bit (the board's ``e2_bit``); each drives two rows of 40.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from ..charset import rom

RS, E, BACKLIGHT = 0x01, 0x04, 0x08
ROW_OFFSETS = (0x00, 0x40, 0x14, 0x54)


class _Watched:
    """What can be watched for a visible change: a version bumped on each, a wait for the next,
    and listeners called with the changed object."""

    def __init__(self) -> None:
        self.version = 0                  # bumped on every visible change
        self._changed = threading.Condition()
        self.listeners: list[Callable[[Any], None]] = []

    def _touch(self) -> None:
        with self._changed:
            self.version += 1
            self._changed.notify_all()
        for listener in list(self.listeners):
            listener(self)

    def wait_change(self, after_version: int, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self.version != after_version, timeout)


class HD44780(_Watched):
    """One controller; ``enable`` is the backpack bit wired to its E, ``charset`` its ROM."""

    def __init__(self, cols: int = 20, rows: int = 4, enable: int = E, charset: str = "A00"):
        self.cols, self.rows = cols, rows
        self.enable, self.rom = enable, rom(charset)
        self.ddram = bytearray(b" " * 0x80)
        self.cgram = bytearray(64)
        self.addr = 0
        self.in_cgram = False
        self.increment = True
        self.display_on = self.cursor_on = self.blink_on = False
        self.four_bit = False
        self.two_line = False
        self.backlight = False
        self._last = 0
        self._nibble: int | None = None
        super().__init__()

    # -- the I2C side ------------------------------------------------------------------------
    def write_byte(self, value: int):
        prev, self._last = self._last, value
        if bool(value & BACKLIGHT) != self.backlight:
            self.backlight = bool(value & BACKLIGHT)
            self._touch()
        if prev & self.enable and not value & self.enable:   # E falls: latch D4-D7
            self._latch(prev & RS, prev >> 4)

    def _latch(self, rs, nibble):
        if not self.four_bit:
            self._execute(rs, nibble << 4)           # 8-bit mode, low data lines tied low
        elif self._nibble is None:
            self._nibble = nibble
        else:
            byte, self._nibble = (self._nibble << 4) | nibble, None
            self._execute(rs, byte)

    def _execute(self, rs, byte):
        if rs:
            self._write_data(byte)
        elif byte & 0x80:
            self.addr, self.in_cgram = byte & 0x7F, False
        elif byte & 0x40:
            self.addr, self.in_cgram = byte & 0x3F, True
        elif byte & 0x20:
            self.four_bit = not byte & 0x10
            self.two_line = bool(byte & 0x08)
            self._nibble = None
        elif byte & 0x10:
            pass                                      # cursor/display shift: not used by RPLCD
        elif byte & 0x08:
            self.display_on, self.cursor_on, self.blink_on = (
                bool(byte & 0x04), bool(byte & 0x02), bool(byte & 0x01))
            self._touch()
        elif byte & 0x04:
            self.increment = bool(byte & 0x02)
        elif byte & 0x02:
            self.addr, self.in_cgram = 0, False       # return home
        elif byte & 0x01:
            self.ddram[:] = b" " * 0x80               # clear display
            self.addr, self.in_cgram, self.increment = 0, False, True
            self._touch()

    def _write_data(self, byte):
        step = 1 if self.increment else -1
        if self.in_cgram:
            self.cgram[self.addr] = byte & 0x1F
            self.addr = (self.addr + step) & 0x3F
        else:
            self.ddram[self.addr] = byte
            self.addr = self._next_ddram(self.addr, step)
        self._touch()

    def _next_ddram(self, addr, step):
        """Two-line mode has DDRAM at 0x00-0x27 and 0x40-0x67; the counter skips the gap."""
        addr = (addr + step) & 0x7F
        if self.two_line:
            if step > 0 and addr == 0x28:
                return 0x40
            if step > 0 and addr == 0x68:
                return 0x00
            if step < 0 and addr == 0x3F:
                return 0x27
            if step < 0 and addr == 0x7F:
                return 0x67
        return addr

    # -- what a person sees ------------------------------------------------------------------
    def codes(self) -> list[bytes]:
        """The character codes in each visible row."""
        return [bytes(self.ddram[o:o + self.cols]) for o in ROW_OFFSETS[: self.rows]]

    def text(self) -> list[str]:
        """Each row as Unicode; CGRAM characters come out as chr(0)..chr(7)."""
        if not self.display_on:
            return [" " * self.cols] * self.rows
        return ["".join(self.rom.char(c) for c in row) for row in self.codes()]

    def glyph(self, index: int) -> list[int]:
        """The 5x8 bitmap rows of CGRAM slot ``index``."""
        return list(self.cgram[(index & 7) * 8: (index & 7) * 8 + 8])


class LcdModule(_Watched):
    """A character LCD module as its backpack sees it: one controller, or for more than 80
    cells (40x4) two on the same lines, E1 on P2 and E2 on bit ``e2_bit``, the first driving
    the top two rows and the second the bottom two. Reads like one HD44780 (text, codes,
    backlight, version) for the board page and the tests; ``controllers`` are the chips."""

    def __init__(self, cols: int = 20, rows: int = 4, e2_bit: int | None = None,
                 charset: str = "A00"):
        self.cols, self.rows = cols, rows
        if e2_bit is None:
            self.controllers = [HD44780(cols, rows, E, charset)]
        else:
            self.controllers = [HD44780(cols, rows // 2, E, charset),
                                HD44780(cols, rows // 2, 1 << e2_bit, charset)]
        super().__init__()
        for chip in self.controllers:
            chip.listeners.append(lambda _chip: self._touch())

    def write_byte(self, value: int):
        for chip in self.controllers:                # the backpack's pins reach every chip
            chip.write_byte(value)


    @property
    def backlight(self) -> bool:
        return self.controllers[0].backlight

    @property
    def display_on(self) -> bool:
        return all(chip.display_on for chip in self.controllers)

    def codes(self) -> list[bytes]:
        return [row for chip in self.controllers for row in chip.codes()]

    def text(self) -> list[str]:
        return [row for chip in self.controllers for row in chip.text()]

    def glyph(self, index: int) -> list[int]:
        """CGRAM slot ``index`` of the first controller (the driver loads every one alike)."""
        return self.controllers[0].glyph(index)


class I2CDevice(Protocol):
    """What sits at an address on the bus: it takes the bytes written to it."""
    def write_byte(self, value: int) -> None: ...


class SimI2CBus:
    """smbus2.SMBus's write side for emulated devices, with the time each transaction takes.

    One ``write_byte`` is START, address+W, ACK, data, ACK, STOP: about 20 SCL cycles; a
    message of n bytes (``i2c_rdwr``) is about 11 + 9n.
    """

    CYCLES_PER_WRITE_BYTE = 20
    CYCLES_PER_MESSAGE = 11
    CYCLES_PER_BYTE = 9

    def __init__(self, bus_hz: int = 100_000):
        self.bus_hz = bus_hz
        self.devices: dict[int, I2CDevice] = {}
        self.transactions = 0
        self.bytes_written = 0
        self.bus_seconds = 0.0

    def attach(self, address: int, device: I2CDevice):
        self.devices[address] = device

    def write_byte(self, address: int, value: int, force=None):
        device = self.devices.get(address)
        if device is None:
            raise OSError(121, "Remote I/O error")
        self.transactions += 1
        self.bytes_written += 1
        self.bus_seconds += self.CYCLES_PER_WRITE_BYTE / self.bus_hz
        device.write_byte(value & 0xFF)

    def i2c_rdwr(self, *messages):
        for msg in messages:
            device = self.devices.get(msg.addr)
            if device is None:
                raise OSError(121, "Remote I/O error")
            data = bytes(msg)
            self.transactions += 1
            self.bytes_written += len(data)
            self.bus_seconds += (self.CYCLES_PER_MESSAGE
                                 + self.CYCLES_PER_BYTE * len(data)) / self.bus_hz
            for b in data:
                device.write_byte(b)

    def close(self):
        pass
