"""Sidetone: the agent hears a little of their own voice at the ear, as on every desk phone
(without it a handset sounds dead and people talk louder). It has to come back within a few
ms, or it is an echo: no software path here is that fast (a mic period and the card's buffer
make 60 ms), so it is the codec's own loop from its ADC to its DAC, set through its ALSA mixer
control. The phone turns it on at the route's level while the agent talks on the handset or
headset, and off on the speaker, while muted or held, and between calls.

``CodecSidetone`` sets a device's control (the board's [audio.sidetone] ``device`` and
``control``); ``SimSidetone`` is the sim board's codec: it writes the setting to
``sidetone.json`` in the audio dir, which the sim room (sim/room.py) plays at the ear.
Neither raises: a phone whose codec has no such control still takes calls (logged once).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

log = logging.getLogger("hardphone.audio")

STATE_FILE = "sidetone.json"


class CodecSidetone:
    def __init__(self, device: str, control: str) -> None:
        self.device, self.control = device, control
        self._failed = ""

    def set(self, route: str | None, db: float | None) -> None:
        """The loop on at ``db`` (against the mic) for ``route``, or off (``db`` None)."""
        import alsaaudio          # the device's ALSA; the sim never opens a mixer
        try:
            mixer = alsaaudio.Mixer(self.control, device=self.device)
            try:
                if db is None:
                    if mixer.switchcap():            # a switch, if it has one; else 0 %
                        mixer.setmute(1)
                    else:
                        mixer.setvolume(0)
                else:                            # ALSA takes dB in hundredths
                    mixer.setvolume(round(db * 100), units=alsaaudio.VOLUME_UNITS_DB)
                    if mixer.switchcap():
                        mixer.setmute(0)
            finally:
                mixer.close()
            self._failed = ""
        except alsaaudio.ALSAAudioError as e:
            if str(e) != self._failed:
                log.error("sidetone: mixer control %r on %s: %s (no sidetone)",
                          self.control, self.device, e)
                self._failed = str(e)


class SimSidetone:
    def __init__(self, audio_dir: Path) -> None:
        self._path = Path(audio_dir) / STATE_FILE

    def set(self, route: str | None, db: float | None) -> None:
        state = {"route": route if db is not None else None, "db": db}
        try:
            tmp = self._path.with_suffix(".tmp")
            tmp.write_text(json.dumps(state))
            tmp.replace(self._path)
        except OSError as e:
            log.error("sidetone: %s: %s", self._path, e)


def read_sim_state(audio_dir: Path) -> tuple[str | None, float | None]:
    """The sim codec's sidetone now: (route, dB) or (None, None) when off."""
    try:
        state = json.loads((Path(audio_dir) / STATE_FILE).read_text())
        return state.get("route"), state.get("db")
    except (OSError, ValueError):
        return None, None
