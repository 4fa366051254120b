"""Debounce, long press and the hook, on the machine shim's pins (no side channel)."""
import unittest

import machine
from keyscan import DOWN, LONG, UP, Hook, Matrix

ROWS, COLS = (6, 7), (12, 13, 14)


def close(row, col, on=True):
    (machine._joins.add if on else machine._joins.discard)((row, col))


class MatrixTest(unittest.TestCase):
    def setUp(self):
        machine._joins.clear()
        machine._grounded.clear()
        self.m = Matrix(ROWS, COLS, debounce=2, long_ms=800)

    def test_idle_reads_no_column_low_and_a_press_wakes_it(self):
        self.assertFalse(self.m.active)
        close(7, 13)
        self.assertTrue(self.m.active)
        self.assertEqual(self.m.scan(), {1 * 3 + 1})

    def test_down_after_two_scans_up_after_two(self):
        close(6, 14)
        self.assertEqual(self.m.tick(0), [])
        self.assertEqual(self.m.tick(4), [(DOWN, 2)])
        self.assertEqual(self.m.tick(8), [])
        close(6, 14, False)
        self.assertEqual(self.m.tick(12), [])
        self.assertEqual(self.m.tick(16), [(UP, 2)])
        self.assertFalse(self.m.active)

    def test_a_one_scan_bounce_is_nothing(self):
        close(6, 12)
        self.m.tick(0)
        close(6, 12, False)
        self.assertEqual(self.m.tick(4) + self.m.tick(8), [])

    def test_long_press_once(self):
        close(7, 12)
        events = []
        for t in range(0, 1200, 4):
            events += self.m.tick(t)
        self.assertEqual(events, [(DOWN, 3), (LONG, 3)])

    def test_two_keys_in_one_row(self):
        close(6, 12)
        close(6, 13)
        self.m.tick(0)
        self.assertEqual(sorted(self.m.tick(4)), [(DOWN, 0), (DOWN, 1)])


class HookTest(unittest.TestCase):
    def test_settles_after_the_debounce(self):
        machine._grounded.add(18)
        h = Hook(18, 20)
        self.assertFalse(h.lifted)
        machine._grounded.discard(18)
        self.assertIsNone(h.tick(0))
        self.assertIsNone(h.tick(10))
        self.assertTrue(h.tick(25))
        self.assertFalse(h.active)

    def test_chatter_restarts_the_wait(self):
        machine._grounded.add(18)
        h = Hook(18, 20)
        machine._grounded.discard(18)
        h.tick(0)
        machine._grounded.add(18)
        self.assertIsNone(h.tick(10))
        machine._grounded.discard(18)
        self.assertIsNone(h.tick(15))
        self.assertIsNone(h.tick(30))
        self.assertTrue(h.tick(40))
