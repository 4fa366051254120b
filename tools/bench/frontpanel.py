"""The phone on the sim-frontpanel board: a key on the panel's matrix -> the phone handled it.

The panel's own firmware runs on the MicroPython unix port (hal/frontpanel/sim.py). Two
figures per press, down and up alternating in the Settings list so each redraws:

- console: the service console's ``key <name>`` (press on the panel's emulated matrix,
  debounce on the panel, the event over the link, the phone's rules, the new screen acked by
  the panel) until it answers ``ok``;
- glass: a finger on the matrix until the panel's HD44780 (decoded from its I2C bytes)
  shows the new screen.
"""
from __future__ import annotations

import time

from firmware.console.commands import Commands

from .inproc import InProcessPhone
from .table import percentile, table

GAP_S = 0.02


def run(presses: int) -> str:
    p = InProcessPhone(board="sim-frontpanel")
    panel = p.devices.backend.sim
    commands = Commands(p.phone)
    try:
        for key in ("soft3", "ok"):               # Menu, Settings: up/down always redraw
            assert p.call(commands._cmd_key(key)) == "ok"
        expect = {}
        for key in ("down", "up"):
            p.call(commands._cmd_key(key))
            expect[key] = panel.text()
        assert expect["down"] != expect["up"], "down/up must change the screen"

        console, glass = [], []
        for i in range(presses):
            key = "down" if i % 2 == 0 else "up"
            t0 = time.perf_counter()
            assert p.call(commands._cmd_key(key)) == "ok"
            console.append((time.perf_counter() - t0) * 1000)
            time.sleep(GAP_S)
        for i in range(presses):
            key = "down" if i % 2 == 0 else "up"
            version = panel.lcd.version
            t0 = time.perf_counter()
            panel.press(key)
            while panel.lcd.text() != expect[key]:
                if not panel.lcd.wait_change(version, 2.0):
                    raise RuntimeError(f"press {i} ({key}): the panel's LCD did not change")
                version = panel.lcd.version
            glass.append((time.perf_counter() - t0) * 1000)
            time.sleep(GAP_S)
            panel.release(key)
            time.sleep(GAP_S * 2)
        stats = dict(p.devices.backend.link.stats)
    finally:
        p.close()
    rows = [[what, percentile(v, 50), percentile(v, 90), percentile(v, 99), max(v)]
            for what, v in (("console key -> ok", console), ("matrix -> panel LCD", glass))]
    return table(f"Front panel on the MicroPython unix port: {presses} presses each "
                 f"(link: {stats['resends']} resends, {stats['duplicates']} duplicates, "
                 f"{stats['bad_frames']} bad frames)",
                 ["path", "p50 ms", "p90 ms", "p99 ms", "max ms"], rows)
