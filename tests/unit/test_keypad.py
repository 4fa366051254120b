"""The real keypad scan driver on emulated pins with an electrical model of the matrix."""
import threading
import time

import pytest

from hal.keypad import Keypad
from hal.sim.matrix import KeypadMatrix
from hal.sim.pins import make_factory


class Recorder:
    def __init__(self):
        self.events, self._cond = [], threading.Condition()

    def __call__(self, event):
        with self._cond:
            self.events.append((event.key, event.kind))
            self._cond.notify_all()

    def wait_for(self, n, timeout=2.0):
        with self._cond:
            return self._cond.wait_for(lambda: len(self.events) >= n, timeout)


@pytest.fixture
def keypad(sim_spec):
    factory = make_factory()
    matrix = KeypadMatrix(factory, sim_spec.keypad)
    rec = Recorder()
    kp = Keypad(sim_spec.keypad, pin_factory=factory, when_key=rec)
    yield kp, matrix, rec
    kp.close()
    factory.reset()


def test_scan_finds_the_key_at_its_row_and_column(keypad):
    kp, matrix, _ = keypad
    for key in ("5", "#", "soft4", "voldown", "hold"):
        matrix.press(key)
        assert kp.scan() == {key}
        matrix.release(key)
    assert kp.scan() == set()


def test_a_tap_gives_one_down_then_one_up(keypad):
    kp, matrix, rec = keypad
    matrix.press("5")
    assert rec.wait_for(1)
    matrix.release("5")
    assert rec.wait_for(2)
    time.sleep(0.05)
    assert rec.events == [("5", "down"), ("5", "up")]


def test_two_keys_at_once_are_both_seen(keypad):
    kp, matrix, rec = keypad
    matrix.press("1")
    matrix.press("9")                     # different row and column
    assert rec.wait_for(2)
    assert kp.scan() == {"1", "9"}
    matrix.press("3")                     # same row as 1
    assert rec.wait_for(3)
    matrix.release_all()
    assert rec.wait_for(6)
    downs = [k for k, kind in rec.events if kind == "down"]
    ups = [k for k, kind in rec.events if kind == "up"]
    assert sorted(downs) == ["1", "3", "9"] and sorted(ups) == ["1", "3", "9"]


def test_contact_bounce_counts_as_one_press(keypad):
    _, matrix, rec = keypad
    for _ in range(5):                    # chatter faster than one scan interval
        matrix.press("7")
        time.sleep(0.0003)
        matrix.release("7")
        time.sleep(0.0003)
    matrix.press("7")
    time.sleep(0.1)
    for _ in range(3):
        matrix.release("7")
        time.sleep(0.0003)
        matrix.press("7")
        time.sleep(0.0003)
    matrix.release("7")
    assert rec.wait_for(2)
    time.sleep(0.1)
    assert rec.events == [("7", "down"), ("7", "up")]


def test_a_glitch_shorter_than_the_debounce_is_ignored(keypad):
    _, matrix, rec = keypad
    matrix.press("2")
    time.sleep(0.001)
    matrix.release("2")
    time.sleep(0.1)
    assert rec.events == []


def test_long_press_is_reported_once_while_held(keypad, sim_spec):
    _, matrix, rec = keypad
    matrix.press("back")
    time.sleep(sim_spec.keypad.long_press_ms / 1000 + 0.3)
    assert rec.events == [("back", "down"), ("back", "long")]
    matrix.release("back")
    assert rec.wait_for(3)
    assert rec.events[-1] == ("back", "up")


def test_debounce_rule_on_synthetic_scans(sim_spec):
    """The state machine alone: n consecutive scans to go down, n to come up."""
    factory = make_factory()
    rec = Recorder()
    kp = Keypad(sim_spec.keypad, pin_factory=factory, when_key=rec)
    try:
        t = 100.0
        for scan in [{"4"}, set(), {"4"}, {"4"}, {"4"}, set(), {"4"}, set(), set()]:
            kp._step(scan, t)
            t += 0.004
        assert rec.events == [("4", "down"), ("4", "up")]
    finally:
        kp.close()
        factory.reset()


def test_console_press_reports_down_and_up(keypad):
    kp, _, rec = keypad
    kp.press("ok")
    assert rec.events == [("ok", "down"), ("ok", "up")]
    with pytest.raises(ValueError):
        kp.press("nope")


def test_a_press_held_until_the_scanner_has_selected_its_row_n_plus_1_times_always_counts(
        keypad, sim_spec):
    """What the board page does with a quick click: it releases the key only once the scanner
    has selected its row n + 1 times, so the press is counted however late the scan runs."""
    kp, matrix, rec = keypad
    n = sim_spec.keypad.debounce_scans
    for key in ("5", "soft1", "#", "voldown"):
        before = len(rec.events)
        matrix.press(key)
        assert matrix.wait_scanned(key, n + 1, timeout=2.0)
        matrix.release(key)                         # at once: no extra hold
        assert rec.wait_for(before + 2)
        assert rec.events[before:] == [(key, "down"), (key, "up")]
    assert matrix.wait_scanned("5", 99, timeout=0.01)       # not pressed: nothing to wait for


def test_wait_scanned_times_out_while_nothing_scans(sim_spec):
    factory = make_factory()
    matrix = KeypadMatrix(factory, sim_spec.keypad)         # no Keypad driver: no scans
    try:
        matrix.press("5")
        assert not matrix.wait_scanned("5", 1, timeout=0.1)
    finally:
        factory.reset()
