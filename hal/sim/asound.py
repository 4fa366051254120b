"""The sim's ALSA config: every route's PCM is a real libasound file PCM.

Playback PCMs are ``type file`` over the clockless "null" slave, so what the firmware plays
lands, sample for sample, in ``<audio_dir>/<pcm name>.raw`` (mono S16_LE at the board's rate,
no header). The mic PCMs read ``<audio_dir>/<pcm name>.raw`` instead (``mic.raw``,
``headset_mic.raw``): write samples there to speak into the phone. Each capture opens its file
from the start; past its end, capture returns a stale buffer, not silence.

One play, one file: the file plugin opens its output when the PCM is set up (each
``AudioDevices.play``) with O_TRUNC ("truncate" defaults to true). Its alternative,
``truncate false``, does not append either: it writes ``<name>.raw.0001``, ``.0002``... So
the config keeps truncation, and after ``play`` returns ``<pcm name>.raw`` holds exactly
that play's samples and nothing from the one before. The plugin buffers and writes the last
part on close, so read the file after ``play`` has returned, not during it.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from ..audio import CAPTURE_ROUTES

STOCK_CONFIG = "/usr/share/alsa/alsa.conf"
MIC_SILENCE_RATE = 8000      # 1 s of silence: enough for a capture test to open and read
_NAME = re.compile(r"[A-Za-z0-9_]+$")          # a PCM name ALSA config accepts bare


def use_sim_asound(audio_dir: Path, pcm: dict[str, str]) -> Path:
    """Write ``audio_dir/asound.conf`` defining ``pcm``'s names as file PCMs and point this
    process's libasound at it (stock config first). Returns the config's path.

    libasound re-reads its config when the files change, so calling this again with another
    directory (a fresh one per test) takes effect in the same process."""
    audio_dir = Path(audio_dir).resolve()
    if any(c in str(audio_dir) for c in '"\\%'):
        # '%r', '%c'... in a file name are expanded by the plugin; quotes end the string
        raise ValueError(f"audio_dir {audio_dir} must not contain '\"', '\\' or '%'")
    for route, name in pcm.items():
        if not _NAME.match(name):
            raise ValueError(f"audio route {route!r}: PCM name {name!r} must be [A-Za-z0-9_]+")
    audio_dir.mkdir(parents=True, exist_ok=True)

    lines = ["# Written by hal/sim/asound.py: the sim phone's PCMs (see its docstring).\n"]
    done = set()
    for route, name in pcm.items():
        if name in done:                 # two routes may share a PCM (speaker and ringer)
            continue
        done.add(name)
        if route in CAPTURE_ROUTES:
            spoken = audio_dir / f"{name}.raw"
            if not spoken.exists():
                spoken.write_bytes(bytes(2 * MIC_SILENCE_RATE))
            lines.append(f'pcm.{name} {{ type file  slave.pcm "null"  file "/dev/null"  '
                         f'infile "{spoken}"  format "raw" }}\n')
        else:
            lines.append(f'pcm.{name} {{ type file  slave.pcm "null"  '
                         f'file "{audio_dir / name}.raw"  format "raw"  truncate true }}\n')
    conf = audio_dir / "asound.conf"
    conf.write_text("".join(lines))
    os.environ["ALSA_CONFIG_PATH"] = f"{STOCK_CONFIG}:{conf}"
    return conf
