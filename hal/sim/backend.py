"""The sim backend: emulated pins, I2C bus and ALSA PCMs under the real drivers."""
from __future__ import annotations

from pathlib import Path

from gpiozero import PWMOutputDevice

from ..audio import AudioDevices
from ..devices import Devices
from ..hook import HookSwitch
from ..keypad import Keypad
from ..lcd import Lcd
from ..leds import Leds
from ..sidetone import SimSidetone
from .asound import use_sim_asound
from .board import SimBoard
from .hd44780 import LcdModule, SimI2CBus
from .matrix import HookContact, KeypadMatrix
from .pins import SimPin, SimPWMPin, make_factory
from .room import LiveRoom, RoomSpec


def open_devices(spec, runtime_dir: Path) -> Devices:
    factory = make_factory()
    matrix = KeypadMatrix(factory, spec.keypad)
    contact = HookContact(factory, spec.hook_pin)
    keypad = Keypad(spec.keypad, pin_factory=factory)
    hook = HookSwitch(spec.hook_pin, pin_factory=factory)
    leds = Leds(spec.leds, pin_factory=factory)

    bus = SimI2CBus(spec.lcd.bus_hz)
    panel = LcdModule(spec.lcd.cols, spec.lcd.rows, spec.lcd.e2_bit, spec.lcd.charset)
    bus.attach(spec.lcd.address, panel)
    contrast = None
    if spec.lcd.contrast_pin is not None:
        factory.pin_class = SimPWMPin        # gpiozero asks the factory's default class
        contrast = PWMOutputDevice(spec.lcd.contrast_pin, initial_value=0.5, pin_factory=factory)
        factory.pin_class = SimPin
    lcd = Lcd(spec.lcd, bus, contrast)

    audio_dir = Path(runtime_dir) / "audio"
    services: list = []
    clocked: tuple[str, ...] = ()             # file PCMs keep no time, a room's mics do
    if "room" in spec.sim:      # the mics hear a room (room.py): its FIFOs before the PCMs
        room = LiveRoom(RoomSpec.from_board(dict(spec.sim["room"]), spec.dir),
                        spec.audio_rate, audio_dir, spec.audio_pcm)
        services.append(room)
        clocked = room.mics
    use_sim_asound(audio_dir, spec.audio_pcm)
    audio = AudioDevices(spec.audio_pcm, spec.audio_rate, spec.audio_limit_dbfs,
                         spec.audio_echo_routes, spec.audio_echo_delay_ms, clocked,
                         spec.audio_sidetone_db, SimSidetone(audio_dir),
                         echo_coupling_db=spec.audio_echo_coupling_db)

    sim = SimBoard(spec=spec, factory=factory, matrix=matrix, contact=contact, panel=panel,
                   bus=bus, audio_dir=audio_dir)
    if spec.sim.get("web_port") is not None:
        from .page import BoardPage
        services.append(BoardPage(sim, host=str(spec.sim.get("web_host", "127.0.0.1")),
                                  port=int(spec.sim["web_port"])))
    return Devices(spec=spec, keypad=keypad, hook=hook, leds=leds, lcd=lcd, audio=audio,
                   services=services, backend=sim)
