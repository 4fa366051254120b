"""Facts about the running device that the model shows: slot, network address."""
from __future__ import annotations

import re
import socket
from pathlib import Path

import psutil

from firmware.core.model import Display
from hal.board import LcdSpec
from hal.charset import rom

_SLOT_DIR = re.compile(r"^slot[-_]?([ab])$")


def running_slot(tree: Path | None = None) -> str:
    """The A/B slot the firmware runs from: the slot directory holding this tree, else "a".

    An update root's slots are <root>/slots/a and <root>/slots/b (docs/update.md).
    """
    tree = tree or Path(__file__).resolve().parents[2]
    parts = tree.parts
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] in ("a", "b") and i > 0 and parts[i - 1] == "slots":
            return parts[i]
        m = _SLOT_DIR.match(parts[i])
        if m:
            return m.group(1)
    return "a"


def primary_ip() -> str | None:
    """The first IPv4 address on an interface that is up, loopback only if nothing else."""
    stats = psutil.net_if_stats()
    loopback = None
    for name, addrs in psutil.net_if_addrs().items():
        if name in stats and not stats[name].isup:
            continue
        for a in addrs:
            if a.family == socket.AF_INET:
                if a.address.startswith("127."):
                    loopback = loopback or a.address
                else:
                    return a.address
    return loopback


def display_of(lcd: LcdSpec) -> Display:
    """The board's LCD as the rules and the view see it: its grid and what its ROM draws."""
    return Display(lcd.cols, lcd.rows, frozenset(rom(lcd.charset).codes))
