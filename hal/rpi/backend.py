"""Real pins and buses on a Raspberry Pi. ALSA PCM names come from /etc/asound.conf."""
from __future__ import annotations

from pathlib import Path

from gpiozero import PWMOutputDevice

from ..audio import CAPTURE_ROUTES, AudioDevices
from ..devices import Devices
from ..errors import HalError
from ..hook import HookSwitch
from ..keypad import Keypad
from ..lcd import Lcd
from ..leds import Leds
from ..sidetone import CodecSidetone

PIN_FACTORIES = ("lgpio", "rpigpio")     # lgpio first: RPi.GPIO does not drive the Pi 5


def pin_factory():
    errors = []
    for name in PIN_FACTORIES:
        try:
            if name == "lgpio":
                from gpiozero.pins.lgpio import LGPIOFactory
                return LGPIOFactory()
            from gpiozero.pins.rpigpio import RPiGPIOFactory
            return RPiGPIOFactory()
        except Exception as e:           # noqa: BLE001 - each library fails in its own way off a Pi
            errors.append(f"{name}: {e}")
    raise HalError("no GPIO pin backend works here (" + "; ".join(errors) + ")")


def open_devices(spec, runtime_dir: Path) -> Devices:
    from smbus2 import SMBus

    factory = pin_factory()
    try:
        bus = SMBus(spec.lcd.i2c_bus)
    except OSError as e:
        raise HalError(f"I2C bus {spec.lcd.i2c_bus}: {e}") from e
    contrast = (PWMOutputDevice(spec.lcd.contrast_pin, initial_value=0.5, pin_factory=factory)
                if spec.lcd.contrast_pin is not None else None)
    return Devices(
        spec=spec,
        keypad=Keypad(spec.keypad, pin_factory=factory),
        hook=HookSwitch(spec.hook_pin, pin_factory=factory),
        leds=Leds(spec.leds, pin_factory=factory),
        lcd=Lcd(spec.lcd, bus, contrast),
        audio=AudioDevices(spec.audio_pcm, spec.audio_rate, spec.audio_limit_dbfs,
                           spec.audio_echo_routes, spec.audio_echo_delay_ms,
                           CAPTURE_ROUTES, spec.audio_sidetone_db,
                           CodecSidetone(*spec.audio_sidetone_control),
                           echo_coupling_db=spec.audio_echo_coupling_db),
    )
