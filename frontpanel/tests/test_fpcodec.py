"""The link's codec (hal/frontpanel/fpcodec.py) as MicroPython runs it."""
import unittest

import fpcodec as fp


class CodecTest(unittest.TestCase):
    def test_round_trip_with_zeros_and_long_runs(self):
        for payload in (b"", b"\x00", b"\x00\x00\x01", bytes(range(200)), b"\xff" * 200):
            frame = fp.encode(fp.LCD, 7, payload)
            self.assertEqual(frame[-1], 0)
            self.assertEqual(frame[:-1].count(b"\x00"), 0)
            self.assertEqual(fp.decode(frame[:-1]), (fp.LCD, 7, payload))

    def test_a_flipped_bit_is_a_bad_frame_and_the_next_one_is_good(self):
        good = fp.encode(fp.EVENT, 3, b"\x01\x07")
        bad = bytearray(good)
        bad[3] ^= 0x10
        d = fp.Decoder()
        frames = d.feed(bytes(bad) + b"garbage\x00" + good)
        self.assertEqual(frames, [(fp.EVENT, 3, b"\x01\x07")])
        self.assertEqual(d.bad, 2)

    def test_a_frame_split_anywhere_decodes_once(self):
        frame = fp.encode(fp.PING, 0, b"")
        for cut in range(len(frame)):
            d = fp.Decoder()
            self.assertEqual(d.feed(frame[:cut]) + d.feed(frame[cut:]), [(fp.PING, 0, b"")])

    def test_endless_garbage_without_a_delimiter_is_one_bad_frame(self):
        d = fp.Decoder()
        self.assertEqual(d.feed(b"\x55" * 2000 + b"\x00"), [])
        self.assertEqual(d.bad, 1)

    def test_seq_wraps(self):
        self.assertTrue(fp.seq_newer(0, 255))
        self.assertTrue(fp.seq_newer(5, 4))
        self.assertFalse(fp.seq_newer(4, 4))
        self.assertFalse(fp.seq_newer(250, 5))

    def test_hello_and_lcd_payloads(self):
        p = fp.hello_payload(0xDEADBEEF, 9, True, 3, fp.WHY_PONG, "1.0.0")
        self.assertEqual(fp.parse_hello(p), (0xDEADBEEF, 9, True, 3, fp.WHY_PONG, "1.0.0"))
        runs = [(0, 0, b"Hello"), (3, 15, b"Back")]
        self.assertEqual(fp.parse_lcd(fp.lcd_payload(runs)), runs)
        with self.assertRaises(fp.FrameError):
            fp.parse_lcd(b"\x00\x00\x09abc")
