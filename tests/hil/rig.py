"""A HIL rig: what the bench around a phone can do, read from a rig file (docs/hil-rig.md).

The same HIL tests drive the sim phone or a real one (--port). A real phone sits on a rig that
may or may not have a power relay, an audio loopback, ... A test names what it needs with
``@pytest.mark.rig("power")``; on a rig without it the test is skipped, saying which rig lacks
what. The sim board has everything, so nothing skips there.

Rig file (TOML, passed with --rig):

    [rig]
    name = "desk-3"
    capabilities = ["power", "audio_loopback"]

    [power]                      # shell commands that switch the phone's supply
    on = "usbrelay HW348_1=1"
    off = "usbrelay HW348_1=0"
    off_s = 2                    # how long the phone stays unpowered

    [flash]                      # the signing key the phone was provisioned with
    key = "keys/rig-ed25519.pem"
"""
from __future__ import annotations

import shlex
import subprocess
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

# What a rig may have, as a skip reason reads it ("rig 'desk-3' has no <text>").
CAPABILITIES = {
    "power": "power relay in the phone's supply (power-cut tests)",
    "audio_loopback": "audio loopback from the handset's earpiece to its mic",
    "keypad": "keypad wired to a GPIO expander (real key presses)",
    "hook": "hook switch driven by a relay or the expander",
    "flash": "phone provisioned with the flash kit's test key (tools.mkimage provision)",
}


class RigError(ValueError):
    """A rig file that can't be used: the message names the file and the field."""


@dataclass(frozen=True)
class Power:
    on: tuple[str, ...]
    off: tuple[str, ...]
    off_s: float = 2.0


@dataclass(frozen=True)
class Rig:
    name: str
    capabilities: frozenset[str] = field(default_factory=frozenset)
    power: Power | None = None
    flash_key: Path | None = None

    def lacks(self, needs: tuple[str, ...]) -> str | None:
        """Why a test that needs ``needs`` can't run here, or None if it can."""
        missing = [n for n in needs if n not in self.capabilities]
        if not missing:
            return None
        return "; ".join(f"rig {self.name!r} has no {CAPABILITIES.get(n, n)}" for n in missing)

    def power_cycle(self) -> None:
        """Cut the phone's supply, wait, and switch it back on (the relay's commands)."""
        if self.power is None:
            raise RigError(f"rig {self.name!r} has no power relay")
        subprocess.run(self.power.off, check=True, timeout=30)
        time.sleep(self.power.off_s)
        subprocess.run(self.power.on, check=True, timeout=30)


# The sim board's rig: the sim device is powered, wired and loopbacked by software.
SIM = Rig("sim", frozenset(CAPABILITIES))
# A real phone on --port with no rig file: its console and nothing else.
BARE = Rig("bare (no --rig)", frozenset())


def parse_rig(data: dict, source: str = "rig") -> Rig:
    """A Rig from a rig file's parsed TOML; RigError names what is wrong."""
    head = data.get("rig")
    if not isinstance(head, dict) or not isinstance(head.get("name"), str) or not head["name"]:
        raise RigError(f"{source}: [rig] name is missing")
    caps = head.get("capabilities", [])
    if not isinstance(caps, list) or not all(isinstance(c, str) for c in caps):
        raise RigError(f"{source}: [rig] capabilities must be a list of names")
    unknown = sorted(set(caps) - set(CAPABILITIES))
    if unknown:
        raise RigError(f"{source}: [rig] capabilities: unknown {', '.join(unknown)} "
                       f"(known: {', '.join(CAPABILITIES)})")
    power = None
    section = data.get("power")
    if section is not None:
        if not isinstance(section, dict):
            raise RigError(f"{source}: [power] must be a table")
        commands = {}
        for key in ("on", "off"):
            text = section.get(key)
            if not isinstance(text, str) or not text.strip():
                raise RigError(f"{source}: [power] {key} must be a shell command")
            commands[key] = tuple(shlex.split(text))
        off_s = section.get("off_s", 2.0)
        if not isinstance(off_s, (int, float)) or not 0 < off_s <= 60:
            raise RigError(f"{source}: [power] off_s must be seconds in (0, 60]")
        power = Power(commands["on"], commands["off"], float(off_s))
    if ("power" in caps) != (power is not None):
        raise RigError(f"{source}: capability 'power' and a [power] table go together")
    flash_key = None
    section = data.get("flash")
    if section is not None:
        if not isinstance(section, dict) or not isinstance(section.get("key"), str):
            raise RigError(f"{source}: [flash] key must be the path of a private key")
        flash_key = Path(section["key"])
    if ("flash" in caps) != (flash_key is not None):
        raise RigError(f"{source}: capability 'flash' and a [flash] key go together")
    return Rig(head["name"], frozenset(caps), power, flash_key)


def load_rig(path: str | Path) -> Rig:
    try:
        data = tomllib.loads(Path(path).read_text())
    except OSError as e:
        raise RigError(f"{path}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise RigError(f"{path}: not TOML: {e}") from None
    return parse_rig(data, str(path))
