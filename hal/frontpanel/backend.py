"""The frontpanel backend: keypad, hook, LEDs and LCD on a microcontroller over a UART link.

The board file's ``[frontpanel] port`` names the Pi's UART to it; ``port = "sim"`` starts the
panel's own firmware on the MicroPython unix port (hal/frontpanel/sim.py) and uses file PCMs
for audio as the sim board does. On a Pi, audio is the rpi backend's.
"""
from __future__ import annotations

from pathlib import Path

from ..audio import CAPTURE_ROUTES, AudioDevices
from ..devices import Devices
from ..sidetone import CodecSidetone, SimSidetone
from .devices import PanelHook, PanelKeypad, PanelLcd, PanelLeds
from .link import PanelLink


def open_devices(spec, runtime_dir: Path) -> Devices:
    fpanel = spec.frontpanel
    sim = None
    port = fpanel.port
    if fpanel.sim:
        from .sim import SimPanel
        sim = SimPanel(spec, Path(runtime_dir))
        sim.start()
        port = str(sim.tty)
    link = PanelLink(port, fpanel.baud, spec.lcd.rows, spec.lcd.cols, len(spec.leds),
                     fpanel.heartbeat_ms, fpanel.lost_ms)
    keypad = PanelKeypad(spec.keypad, link, sim)
    hook = PanelHook(link, sim)
    leds = PanelLeds(tuple(spec.leds), link)
    lcd = PanelLcd(spec.lcd, link, sim)

    def on_event(kind: int, index: int):
        from . import fpcodec as fp
        if kind in (fp.HOOK_LIFTED, fp.HOOK_REPLACED):
            hook.on_state(kind == fp.HOOK_LIFTED)
        else:
            keypad.on_event(kind, index)

    link.when_event = on_event
    link.when_hook = hook.on_state
    link.when_up = keypad.on_link
    link.start()
    # the hook's state before the phone starts (it posts a lift it finds at start)
    link.wait_up(3.0)
    if sim is not None:
        audio_dir = Path(runtime_dir) / "audio"
        from ..sim.asound import use_sim_asound
        use_sim_asound(audio_dir, spec.audio_pcm)
        audio = AudioDevices(spec.audio_pcm, spec.audio_rate, spec.audio_limit_dbfs,
                             spec.audio_echo_routes, spec.audio_echo_delay_ms, (),
                             spec.audio_sidetone_db, SimSidetone(audio_dir),
                             echo_coupling_db=spec.audio_echo_coupling_db)
    else:
        audio = AudioDevices(spec.audio_pcm, spec.audio_rate, spec.audio_limit_dbfs,
                             spec.audio_echo_routes, spec.audio_echo_delay_ms,
                             CAPTURE_ROUTES, spec.audio_sidetone_db,
                             CodecSidetone(*spec.audio_sidetone_control),
                             echo_coupling_db=spec.audio_echo_coupling_db)
    return Devices(spec=spec, keypad=keypad, hook=hook, leds=leds, lcd=lcd, audio=audio,
                   backend=FrontPanel(link, sim))


class FrontPanel:
    """The backend's handle (Devices.backend): the link, and the emulated panel if any."""

    def __init__(self, link: PanelLink, sim=None):
        self.link, self.sim = link, sim

    def close(self):
        self.link.close()
        if self.sim is not None:
            self.sim.close()
