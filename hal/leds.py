"""Leds: the phone's indicator lamps by name (line, mwi, mute, headset, speaker)."""
from __future__ import annotations

from gpiozero import LED

MODES = ("off", "on", "blink")
BLINK_S = 0.25      # 2 Hz: visible, and what desk phones use for a ringing line


class Leds:
    def __init__(self, pins: dict[str, int], pin_factory=None):
        self._leds = {name: LED(pin, pin_factory=pin_factory) for name, pin in pins.items()}
        self._modes = {name: "off" for name in pins}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._leds)

    def set(self, name: str, mode: str):
        if mode not in MODES:
            raise ValueError(f"LED mode must be one of {', '.join(MODES)}, got {mode!r}")
        led = self._leds[name]
        if self._modes[name] == mode:
            return                           # don't restart a blink cycle
        self._modes[name] = mode
        if mode == "on":
            led.on()
        elif mode == "off":
            led.off()
        else:
            led.blink(on_time=BLINK_S, off_time=BLINK_S, background=True)

    def mode(self, name: str) -> str:
        return self._modes[name]

    def modes(self) -> dict[str, str]:
        return dict(self._modes)

    def close(self):
        for led in self._leds.values():
            led.close()
