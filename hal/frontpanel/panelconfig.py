"""The panel's board.json from the Pi's board file: its pins, LCD and link timing. The Pi's
board file is the one description of the hardware; the panel gets the part it drives."""
from __future__ import annotations

from ..board import LED_NAMES


def panel_config(spec) -> dict:
    fpanel = spec.frontpanel
    lcd = spec.lcd
    return {
        "board": spec.name,
        "rows": list(spec.keypad.rows),
        "cols": list(spec.keypad.cols),
        "scan_interval_ms": spec.keypad.scan_interval_ms,
        "debounce_scans": spec.keypad.debounce_scans,
        "long_press_ms": spec.keypad.long_press_ms,
        "hook": spec.hook_pin,
        "leds": [spec.leds[name] for name in LED_NAMES],
        "lcd": {"address": lcd.address, "cols": lcd.cols, "rows": lcd.rows,
                "e2_bit": lcd.e2_bit, "bus_hz": lcd.bus_hz},
        "uart": {"id": fpanel.uart_id, "baud": fpanel.baud, "tx": fpanel.uart_tx,
                 "rx": fpanel.uart_rx},
        "i2c": {"id": lcd.i2c_bus, "sda": fpanel.i2c_sda, "scl": fpanel.i2c_scl},
        "lost_ms": fpanel.lost_ms,
    }
