"""The front panel's faults with its real firmware on the MicroPython unix port (SimPanel):
garbage on the line, a reset panel, an unplugged cable, a cut link; every key press acted on
once, and the panel's LCD (decoded from its I2C bytes) showing what the Pi wants again."""
import dataclasses
import threading
import time

import pytest

from firmware.console.server import ConsoleError
from hal import load_board
from hal.devices import open_devices
from hal.frontpanel import fpcodec as fp

HEARTBEAT_MS, LOST_MS = 100, 500           # the board's 200/1000, faster for the tests
SCREEN = ["Logged out     12:00", "NET\x01 SIP- CC-", "", "Login      Menu Info"]


class Keys:
    def __init__(self):
        self.events, self._cond = [], threading.Condition()

    def __call__(self, e):
        with self._cond:
            self.events.append((e.key, e.kind))
            self._cond.notify_all()

    def wait(self, event, timeout=3.0):
        with self._cond:
            return self._cond.wait_for(lambda: event in self.events, timeout)


def wait_until(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def panel(tmp_path):
    spec = load_board("sim-frontpanel")
    spec = dataclasses.replace(spec, frontpanel=dataclasses.replace(
        spec.frontpanel, heartbeat_ms=HEARTBEAT_MS, lost_ms=LOST_MS))
    d = open_devices(spec, tmp_path)
    d.keys = Keys()
    d.keypad.when_key = d.keys
    d.lcd.define_glyph(1, [0, 1, 3, 22, 28, 8, 0, 0], "v")
    d.lcd.show(SCREEN)
    d.leds.set("line", "blink")
    d.leds.set("mwi", "on")
    assert d.lcd.wait_idle(3)
    d.link, d.sim = d.backend.link, d.backend.sim
    yield d
    d.close()


def shown(d):
    return [r.rstrip() for r in d.lcd.text()]


def test_the_panel_shows_what_the_pi_wants_and_its_keys_come_once(panel):
    assert shown(panel) == ["Logged out     12:00", "NETv SIP- CC-", "", "Login      Menu Info"]
    assert panel.sim.lcd.glyph(1)[:4] == [0, 1, 3, 22]
    assert panel.sim.led_levels()["mwi"] is True
    lit = set()
    for _ in range(40):                             # blinking at 2 Hz: lit, then not
        lit.add(panel.sim.led_levels()["line"])
        time.sleep(0.02)
    assert lit == {True, False}
    panel.sim.tap("5")
    assert panel.keys.wait(("5", "up"))
    panel.sim.set_hook(True)
    wait_until(lambda: panel.hook.is_lifted, 3, "the hook lifted")
    assert panel.keys.events == [("5", "down"), ("5", "up")]
    assert panel.sim.lcd.backlight
    panel.lcd.backlight = False
    assert panel.lcd.wait_idle(3) and panel.sim.sync()
    assert not panel.sim.lcd.backlight
    assert panel.link.stats["duplicates"] == panel.link.stats["resends"] == 0


def test_lost_acks_make_the_panel_resend_and_no_key_is_acted_on_twice(panel):
    send = panel.link._send
    panel.link._send = lambda kind, seq=0, payload=b"": (
        None if kind == fp.EVACK else send(kind, seq, payload))
    for key in ("1", "2", "3"):
        panel.sim.tap(key, 0.03)
        assert panel.keys.wait((key, "up"))
    time.sleep(0.35)                                 # the panel resends every 100 ms
    panel.link._send = send
    panel.sim.tap("4", 0.03)
    assert panel.keys.wait(("4", "up"))
    assert panel.link.stats["duplicates"] >= 6
    assert panel.keys.events == [(k, kind) for k in "1234" for kind in ("down", "up")]
    assert panel.link.up and panel.link.stats["lost"] == 0


def test_garbage_both_ways_is_dropped_counted_and_nothing_else_changes(panel, caplog):
    junk = bytes(range(256)) + b"\x00\x01\x02\x00\xff" * 20
    panel.sim.tx_noise(junk)                         # into the Pi
    panel.sim.rx_noise(junk)                         # into the panel
    panel.link.inject(junk)                          # on the wire towards the panel
    panel.sim.tap("ok")
    assert panel.keys.wait(("ok", "up"))
    panel.lcd.show(["Garbage survived"])
    assert panel.lcd.wait_idle(3)
    assert shown(panel)[0] == "Garbage survived"
    assert panel.link.stats["bad_frames"] > 0
    assert panel.link.up and panel.link.stats["lost"] == 0
    assert panel.keys.events == [("ok", "down"), ("ok", "up")]
    assert "bad frame dropped" in caplog.text


def test_a_reset_panel_gets_the_whole_state_again(panel, caplog):
    boot = panel.link.boot_id
    panel.sim.restart()                              # new process: new boot id, LCD cleared
    wait_until(lambda: panel.link.boot_id not in (None, boot), 5, "the new boot id")
    assert panel.lcd.wait_idle(3)
    wait_until(lambda: shown(panel)[0] == SCREEN[0], 3, "the screen back")
    assert shown(panel)[1] == "NETv SIP- CC-"        # the glyph loaded again too
    assert panel.sim.led_levels()["mwi"] is True
    assert panel.link.stats["resets"] == 1
    assert "front panel reset" in caplog.text
    panel.sim.tap("9")
    assert panel.keys.wait(("9", "up"))
    assert panel.keys.events == [("9", "down"), ("9", "up")]


def test_unplugged_the_phone_shows_front_panel_lost_and_recovers_by_itself(panel, caplog):
    panel.sim.press("7")                             # held when the cable goes
    assert panel.keys.wait(("7", "down"))
    panel.sim.unplug()
    wait_until(lambda: not panel.link.up, 2, "the link lost")
    assert shown(panel)[0].strip() == fp.LOST_TEXT    # what the console's lcd reports
    assert ("7", "up") in panel.keys.events           # let go: no release can come
    assert "Front panel lost" in caplog.text
    wait_until(lambda: fp.LOST_TEXT in panel.sim.text()[0], 2, "the panel's own lost screen")
    assert panel.sim.led_levels() == dict.fromkeys(panel.leds.names, False)
    panel.sim.release("7")
    panel.sim.tap("8")                               # pressed while unplugged: never acted on
    panel.sim.set_hook(True)                         # lifted meanwhile: its state comes back
    time.sleep(0.1)
    panel.lcd.show(["While it was away"])
    panel.sim.plug()
    assert panel.link.wait_up(3)
    assert panel.lcd.wait_idle(3)
    wait_until(lambda: shown(panel)[0] == "While it was away", 3, "the screen back")
    assert panel.sim.led_levels()["mwi"] is True
    assert panel.hook.is_lifted
    panel.sim.tap("0")
    assert panel.keys.wait(("0", "up"))
    assert panel.keys.events == [("7", "down"), ("7", "up"), ("0", "down"), ("0", "up")]
    assert panel.link.stats["resets"] == 0 and panel.link.stats["lost"] == 1


def test_a_cut_link_and_a_new_panel_on_it(panel):
    panel.sim.cut()                                  # socat killed: the pty is gone
    wait_until(lambda: not panel.link.up, 2, "the link lost")
    assert shown(panel)[0].strip() == fp.LOST_TEXT
    panel.sim.start()                                # plugged in again (and powered up)
    assert panel.link.wait_up(5)
    assert panel.lcd.wait_idle(3)
    wait_until(lambda: shown(panel)[0] == SCREEN[0], 3, "the screen back")
    panel.sim.tap("#")
    assert panel.keys.wait(("#", "up"))
    assert panel.keys.events == [("#", "down"), ("#", "up")]


def test_the_phone_on_the_panel_shows_front_panel_lost_and_recovers_by_itself(tmp_path, caplog):
    from firmware.console.commands import Commands
    from firmware.core.menus import MENUS
    from tools.bench.inproc import InProcessPhone

    p = InProcessPhone(tmp_path, board="sim-frontpanel")
    console = Commands(p.phone)
    sim = p.devices.backend.sim
    try:
        assert p.call(console._cmd_key("soft3")) == "ok"
        assert p.call(console._cmd_lcd()).startswith("lcd:0:Menu")
        assert p.call(console._cmd_key("down")) == "ok"
        sim.unplug()
        with pytest.raises(ConsoleError, match="no press came from the front panel"):
            p.call(console._cmd_key("down"))      # the console's key can't reach: `error ...`
        wait_until(lambda: not p.devices.backend.link.up, 3, "the link lost")
        assert p.call(console._cmd_lcd()).startswith(f"lcd:0:{fp.LOST_TEXT.center(20)}")
        assert "Front panel lost" in caplog.text
        sim.plug()
        assert p.devices.backend.link.wait_up(3)
        wait_until(lambda: p.call(console._cmd_lcd()).startswith("lcd:0:Menu"), 3,
                   "the menu back on the panel")
        assert sim.text() == p.devices.lcd.text()
        assert sim.text()[0].rstrip().endswith(f"2/{len(MENUS['main'][1])}")   # once
    finally:
        p.close()


def test_a_40x4_lcd_is_two_controllers_on_the_panel_too(tmp_path):
    spec = load_board("sim-frontpanel")
    spec = dataclasses.replace(spec, lcd=dataclasses.replace(spec.lcd, cols=40, e2_bit=1))
    d = open_devices(spec, tmp_path)
    try:
        rows = [f"row {i} ".ljust(39, "-") + str(i) for i in range(4)]
        d.lcd.show(rows)
        assert d.lcd.wait_idle(3)
        assert d.lcd.text() == rows
        assert [chip.text() for chip in d.backend.sim.lcd.controllers] == [rows[:2], rows[2:]]
    finally:
        d.close()
