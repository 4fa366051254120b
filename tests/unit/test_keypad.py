"""The real keypad scan driver on emulated pins with an electrical model of the matrix.

Debounce and long press are checked scan by scan (``scanned`` fixture: no scan thread, a clock
the test steps), so no test sleeps or races the scanner; the scan thread itself is checked
with waits on the events it reports."""
import asyncio
import dataclasses
import threading
from types import SimpleNamespace

import pytest

from hal.keypad import Keypad
from hal.sim.matrix import KeypadMatrix
from hal.sim.page import BoardPage
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


class Clock:
    """A clock that moves only when the test says so."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Scanned:
    """The driver with no scan thread: ``scan(n)`` is n scans, one scan interval apart."""

    def __init__(self, spec, factory, rec):
        self.spec, self.clock = spec, Clock()
        self.matrix = KeypadMatrix(factory, spec)
        self.kp = Keypad(spec, pin_factory=factory, when_key=rec, clock=self.clock,
                         scan_thread=False)

    def scan(self, n: int = 1):
        for _ in range(n):
            self.kp.tick()
            self.clock.now += self.spec.scan_interval_ms / 1000


@pytest.fixture
def scanned(sim_spec):
    factory = make_factory()
    rec = Recorder()
    s = Scanned(sim_spec.keypad, factory, rec)
    yield s, rec
    s.kp.close()
    factory.reset()


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


def test_a_tap_gives_one_down_then_one_up(scanned, sim_spec):
    s, rec = scanned
    n = sim_spec.keypad.debounce_scans
    s.matrix.press("5")
    s.scan(n - 1)
    assert rec.events == []                           # not yet past the debounce
    s.scan()
    assert rec.events == [("5", "down")]
    s.matrix.release("5")
    s.scan(n)
    s.scan(10)                                        # and nothing more, however long
    assert rec.events == [("5", "down"), ("5", "up")]


def test_the_scan_thread_reports_a_tap(keypad):
    _, matrix, rec = keypad
    matrix.press("5")
    assert rec.wait_for(1)
    matrix.release("5")
    assert rec.wait_for(2)
    assert rec.events[:2] == [("5", "down"), ("5", "up")]


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


def test_contact_bounce_counts_as_one_press(scanned):
    s, rec = scanned
    for _ in range(5):                    # chatter between two scans: they see where it ends
        s.matrix.press("7")
        s.matrix.release("7")
    s.matrix.press("7")
    s.scan(25)                            # 100 ms held
    for _ in range(3):
        s.matrix.release("7")
        s.matrix.press("7")
        s.scan()                          # bounces on the way up, each seen by one scan
    s.matrix.release("7")
    s.scan(25)
    assert rec.events == [("7", "down"), ("7", "up")]


def test_a_glitch_shorter_than_the_debounce_is_ignored(scanned, sim_spec):
    s, rec = scanned
    s.matrix.press("2")
    s.scan(sim_spec.keypad.debounce_scans - 1)        # seen, but by too few scans
    s.matrix.release("2")
    s.scan(25)
    assert rec.events == []


def test_long_press_is_reported_once_while_held(scanned, sim_spec):
    s, rec = scanned
    long_s = sim_spec.keypad.long_press_ms / 1000
    s.matrix.press("back")
    s.scan(sim_spec.keypad.debounce_scans)
    assert rec.events == [("back", "down")]
    s.clock.now += long_s - 0.01                      # just short of a long press
    s.scan()
    assert rec.events == [("back", "down")]
    s.clock.now += 0.02
    s.scan()
    assert rec.events == [("back", "down"), ("back", "long")]
    s.clock.now += 2 * long_s                         # held on: still one long
    s.scan(10)
    assert rec.events == [("back", "down"), ("back", "long")]
    s.matrix.release("back")
    s.scan(sim_spec.keypad.debounce_scans)
    assert rec.events == [("back", "down"), ("back", "long"), ("back", "up")]


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


def test_a_press_and_a_release_kept_for_n_whole_scans_always_count(keypad, sim_spec):
    """What the board page does with quick clicks: it releases a key only once the scanner
    has read it pressed in n whole scans, and presses it again only once it has read it
    released in n more, so each click counts however late the scan runs."""
    _, matrix, rec = keypad
    n = sim_spec.keypad.debounce_scans
    for key in ("5", "5", "soft1", "#", "#", "voldown"):
        before = len(rec.events)
        assert matrix.wait_scanned(key, n, timeout=2.0)    # the last release is counted
        matrix.press(key)
        assert matrix.wait_scanned(key, n, timeout=2.0)
        matrix.release(key)                         # at once: no extra hold
        assert rec.wait_for(before + 2)
        assert rec.events[before:] == [(key, "down"), (key, "up")]
    assert matrix.wait_scanned("1", 99, timeout=0.01)       # never touched: nothing to wait for


def test_wait_scanned_counts_only_scans_that_read_the_key_after_it_changed(scanned, sim_spec):
    s, _ = scanned
    s.matrix.press("5")
    assert not s.matrix.wait_scanned("5", 1, timeout=0)
    s.scan()
    assert s.matrix.wait_scanned("5", 1, timeout=0)
    assert not s.matrix.wait_scanned("5", 2, timeout=0)
    s.matrix.release("5")                           # a change starts the count again
    assert not s.matrix.wait_scanned("5", 1, timeout=0)
    s.scan(2)
    assert s.matrix.wait_scanned("5", 2, timeout=0)


def test_the_board_page_loses_no_click_while_the_scanner_is_slow(sim_spec):
    """Two quick clicks of one key and one of another from the board page, with a scan thread
    that gets the CPU only every 100 ms (a loaded machine): each click is one down and one up.
    Held for fixed times instead, the second click fell between two scans and was lost."""
    factory = make_factory()
    spec = dataclasses.replace(sim_spec.keypad, scan_interval_ms=100)
    matrix = KeypadMatrix(factory, spec)
    rec = Recorder()
    kp = Keypad(spec, pin_factory=factory, when_key=rec)
    page = BoardPage(SimpleNamespace(matrix=matrix, spec=SimpleNamespace(keypad=spec)))

    async def click():
        for msg in ({"tap": "5"}, {"tap": "5"}, {"tap": "8"}):
            assert page.command(msg) is None
        await asyncio.to_thread(rec.wait_for, 6, 10.0)
        await page.stop()
    try:
        asyncio.run(click())
        assert [e for e in rec.events if e[0] == "5"] == [("5", "down"), ("5", "up")] * 2
        assert [e for e in rec.events if e[0] == "8"] == [("8", "down"), ("8", "up")]
    finally:
        kp.close()
        factory.reset()


def test_wait_scanned_times_out_while_nothing_scans(sim_spec):
    factory = make_factory()
    matrix = KeypadMatrix(factory, sim_spec.keypad)         # no Keypad driver: no scans
    try:
        matrix.press("5")
        assert not matrix.wait_scanned("5", 1, timeout=0.1)
    finally:
        factory.reset()
