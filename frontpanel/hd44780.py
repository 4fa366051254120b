"""An HD44780 character LCD behind a PCF8574 I2C backpack: P0=RS, P1=RW, P2=E, P3=backlight,
P4-P7=D4-D7, written in 4-bit mode. A 40x4 module is two controllers, each 40x2 with its own E
(E1 on P2, E2 on the board's ``e2_bit``). One I2C message per run of characters."""
import time

RS, E, BACKLIGHT = 0x01, 0x04, 0x08


class Hd44780:
    def __init__(self, i2c, address, cols=20, rows=4, e2_bit=None):
        self.i2c, self.address, self.cols, self.rows = i2c, address, cols, rows
        self.enables = [E] if e2_bit is None else [E, 1 << e2_bit]
        self.rows_each = rows // len(self.enables)
        self.offsets = (0x00, 0x40, cols, 0x40 + cols)
        self.backlight_bit = BACKLIGHT
        self.writes = 0
        self.init()

    def _send(self, buf):
        self.i2c.writeto(self.address, buf)
        self.writes += 1

    def _nibble(self, buf, enable, rs, nibble):
        v = (nibble << 4) | rs | self.backlight_bit
        buf.append(v)
        buf.append(v | enable)
        buf.append(v)

    def _byte(self, buf, enable, rs, byte):
        self._nibble(buf, enable, rs, byte >> 4)
        self._nibble(buf, enable, rs, byte & 0x0F)

    def init(self):
        """The datasheet's reset by instruction: works from any state the chip was left in."""
        for enable in self.enables:
            for nibble, wait_ms in ((3, 5), (3, 1), (3, 1), (2, 1)):
                buf = bytearray()
                self._nibble(buf, enable, 0, nibble)
                self._send(buf)
                time.sleep_ms(wait_ms)
            buf = bytearray()
            for cmd in (0x28, 0x0C, 0x06):     # 4-bit 2-line, display on, increment
                self._byte(buf, enable, 0, cmd)
            self._send(buf)
        self.clear()

    def clear(self):
        for enable in self.enables:
            buf = bytearray()
            self._byte(buf, enable, 0, 0x01)
            self._send(buf)
        time.sleep_ms(2)

    def write(self, row, col, codes):
        """Character codes at (row, col); cut at the row's end."""
        if not 0 <= row < self.rows or not 0 <= col < self.cols:
            return
        codes = codes[: self.cols - col]
        enable = self.enables[row // self.rows_each]
        buf = bytearray()
        self._byte(buf, enable, 0, 0x80 | (self.offsets[row % self.rows_each] + col))
        for c in codes:
            self._byte(buf, enable, RS, c)
        self._send(buf)

    def glyph(self, slot, bitmap):
        """5x8 custom character ``slot`` (0-7), in every controller's CGRAM."""
        for enable in self.enables:
            buf = bytearray()
            self._byte(buf, enable, 0, 0x40 | ((slot & 7) << 3))
            for line in bitmap[:8]:
                self._byte(buf, enable, RS, line & 0x1F)
            self._byte(buf, enable, 0, 0x80)       # back to DDRAM
            self._send(buf)

    def set_backlight(self, on):
        self.backlight_bit = BACKLIGHT if on else 0
        self._send(bytes((self.backlight_bit,)))
