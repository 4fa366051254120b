"""The panel's loop against a fake UART and I2C bus: the link's side of each fault."""
import unittest

import fpcodec as fp
import machine
import panel

CFG = {"rows": [6, 7], "cols": [12, 13, 14], "hook": 18, "leds": [19, 20],
       "lcd": {"address": 0x27, "cols": 20, "rows": 4}, "scan_interval_ms": 4,
       "debounce_scans": 2, "long_press_ms": 800, "lost_ms": 1000}


class FakeUart:
    def __init__(self):
        self.rx = bytearray()
        self.tx = bytearray()

    def read(self, n=256):
        data, self.rx = bytes(self.rx[:n]), self.rx[n:]
        return data or None

    def write(self, buf):
        self.tx.extend(buf)
        return len(buf)

    def frames(self):
        d = fp.Decoder()
        out = d.feed(bytes(self.tx))
        self.tx = bytearray()
        return out


class FakeI2C:
    def __init__(self):
        self.writes = []

    def writeto(self, addr, buf):
        self.writes.append((addr, bytes(buf)))
        return len(buf)


def data_bytes(writes):
    """The characters written (RS high), decoded from the PCF8574 nibbles."""
    out, nib = [], None
    for _addr, buf in writes:
        for i in range(1, len(buf), 3):         # v, v|E, v: the middle byte carries E
            b = buf[i]
            if not b & 0x04 or not b & 0x01:
                continue
            if nib is None:
                nib = b >> 4
            else:
                out.append(nib << 4 | b >> 4)
                nib = None
    return bytes(out)


class PanelTest(unittest.TestCase):
    def setUp(self):
        machine._joins.clear()
        machine._grounded.clear()
        machine._grounded.add(18)               # handset on the cradle
        self.uart, self.i2c = FakeUart(), FakeI2C()
        self.p = panel.Panel(CFG, self.uart, self.i2c, now=0)

    def send(self, kind, seq=0, payload=b"", now=0):
        self.uart.rx.extend(fp.encode(kind, seq, payload))
        self.p.step(now)

    def test_boot_hello_then_a_hello_for_each_ping(self):
        (kind, _seq, payload), = self.uart.frames()
        self.assertEqual(kind, fp.HELLO)
        boot, first, hook, _bad, why, version = fp.parse_hello(payload)
        self.assertEqual((boot, first, hook, why, version),
                         (self.p.boot_id, 0, False, fp.WHY_BOOT, panel.VERSION))
        self.send(fp.PING)
        self.assertEqual([f[0] for f in self.uart.frames()], [fp.HELLO])

    def test_an_lcd_command_is_written_and_acked_every_time_it_comes(self):
        self.uart.frames()
        for _ in range(2):                      # a resend after a lost ack: same cells again
            self.i2c.writes = []
            self.send(fp.LCD, 5, fp.lcd_payload([(1, 2, b"Hi")]))
            self.assertEqual(self.uart.frames(), [(fp.ACK, 5, b"")])
            self.assertEqual(data_bytes(self.i2c.writes), b"Hi")

    def test_an_event_goes_again_until_acked(self):
        self.send(fp.PING)
        self.uart.frames()
        machine._joins.add((7, 13))
        self.p.step(0)
        self.p.step(4)
        self.assertEqual(self.uart.frames(), [(fp.EVENT, 0, bytes((fp.KEY_DOWN, 4)))])
        self.p.step(50)
        self.assertEqual(self.uart.frames(), [])
        self.p.last_rx = 150
        self.p.step(150)
        self.assertEqual(self.uart.frames(), [(fp.EVENT, 0, bytes((fp.KEY_DOWN, 4)))])
        self.send(fp.EVACK, 0, now=160)
        self.p.last_rx = 300
        self.p.step(300)
        self.assertEqual(self.uart.frames(), [])
        self.assertEqual(self.p.first_unacked(), 1)

    def test_silence_shows_the_lost_screen_and_drops_what_the_pi_did_not_take(self):
        self.send(fp.PING)
        self.send(fp.LEDS, 1, bytes((fp.MODE_ON, fp.MODE_BLINK)))
        machine._joins.add((6, 12))
        self.p.step(4)
        self.p.step(8)
        self.uart.frames()
        self.i2c.writes = []
        self.p.step(1100)
        self.assertIn(fp.LOST_TEXT.encode(), data_bytes(self.i2c.writes))
        self.assertEqual(self.p.events, [])
        self.assertEqual([p.value() for p in self.p.leds.pins], [0, 0])
        hellos = [fp.parse_hello(f[2]) for f in self.uart.frames() if f[0] == fp.HELLO]
        self.assertEqual(hellos[-1][4], fp.WHY_LOST)
        self.assertEqual(hellos[-1][1], self.p.next_seq)   # the dropped events are behind it
        machine._joins.add((7, 14))             # pressed on the lost screen: never sent
        self.p.step(1110)
        self.p.step(1114)
        self.assertEqual(self.p.events, [])
        self.assertEqual([f for f in self.uart.frames() if f[0] == fp.EVENT], [])

    def test_garbage_from_the_pi_is_counted_and_the_next_frame_handled(self):
        self.uart.frames()
        self.uart.rx.extend(b"\x13\x37garbage\x00")
        self.send(fp.PING)
        self.assertEqual(self.p.decoder.bad, 1)
        self.assertEqual([f[0] for f in self.uart.frames()], [fp.HELLO])

    def test_leds_blink_at_2_hz(self):
        self.send(fp.LEDS, 1, bytes((fp.MODE_BLINK, fp.MODE_ON)), now=0)
        levels = []
        for t in (0, 100, 300, 400, 600):
            self.p.leds.update(t)
            levels.append(self.p.leds.pins[0].value())
        self.assertEqual(levels, [1, 1, 0, 0, 1])
        self.assertEqual(self.p.leds.pins[1].value(), 1)
