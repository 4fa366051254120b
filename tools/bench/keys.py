"""Key press at the emulated pins -> the LCD model shows the result."""
from __future__ import annotations

import time

from .inproc import InProcessPhone
from .table import percentile, table

GOAL_P99_MS = 30
HOLD_S = 0.02          # finger on the key: longer than the 2-scan debounce (8 ms)
GAP_S = 0.03           # between presses: lets the release debounce finish


def run(presses: int) -> str:
    p = InProcessPhone()
    sim, panel = p.sim, p.sim.panel
    try:
        sim.tap("soft3")              # Menu
        sim.tap("ok")                 # Settings: six items, so up/down always redraw
        p.settle()
        expect = {}
        for key in ("down", "up"):
            sim.tap(key)
            p.settle()
            expect[key] = panel.text()
        assert expect["down"] != expect["up"], "down/up must change the screen"

        latencies, bus_ms = [], []
        for i in range(presses):
            key = "down" if i % 2 == 0 else "up"
            version, bus_before = panel.version, sim.bus.bus_seconds
            t0 = time.perf_counter()
            sim.matrix.press(key)
            while panel.text() != expect[key]:
                if not panel.wait_change(version, 1.0):
                    raise RuntimeError(f"press {i} ({key}): display did not change")
                version = panel.version
            latencies.append((time.perf_counter() - t0) * 1000)
            time.sleep(HOLD_S)
            sim.matrix.release(key)
            time.sleep(GAP_S)
            bus_ms.append((sim.bus.bus_seconds - bus_before) * 1000)
    finally:
        p.close()
    hz = sim.spec.lcd.bus_hz
    return table(f"Key press at the pins -> LCD model shows the new screen ({presses} presses)",
                 ["p50 ms", "p90 ms", "p99 ms", "max ms", "goal p99 ms",
                  f"I2C time per update at {hz // 1000} kHz, p50 ms"],
                 [[percentile(latencies, 50), percentile(latencies, 90),
                   percentile(latencies, 99), max(latencies), GOAL_P99_MS,
                   percentile(bus_ms, 50)]])
