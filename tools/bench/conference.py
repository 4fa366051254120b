"""The phone's CPU in a conference against a two-party call: the conference is mixed by the
contact center's bridge, so the phone should do no more than in a plain call (one call, one
stream each way).

A real lab (tools/lab.py): Kamailio, ccsim with its customers and media bridge, sim phones for
1001 and 1002, each saying its own tone into the handset. 1001 answers a customer; its phone
process's CPU (user + system, /proc) is measured over MEASURE_S; then 1001 consults 1002, who
answers on the handset, and joins them (`conf`): measured again with the three in the
conference. The sim board's room and file PCMs run inside the phone process: the figure is
the phone's and its simulated sound card's together, the same in both cases.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from .bridge import cpu_s
from .table import table

MEASURE_S = 10.0
SETTLE_S = 3.0
PINS = {"1001": "1234", "1002": "5678"}
TONES = {"1001": 1000, "1002": 700}


def speak(desk, hz: int, seconds: float = 120) -> None:
    """The agent says ``hz`` into the handset's mic (8 kHz) from the start of each call."""
    audio = desk.phone.workdir / "state" / "run" / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(8000 * seconds)) / 8000
    (audio / "mic.raw").write_bytes((0.3 * 32767 * np.sin(2 * np.pi * hz * t))
                                    .astype("<i2").tobytes())


def _share(pid: int) -> float:
    time.sleep(SETTLE_S)
    cpu, started = cpu_s(pid), time.monotonic()
    time.sleep(MEASURE_S)
    return 100 * (cpu_s(pid) - cpu) / (time.monotonic() - started)


def run() -> str:
    from tools.lab import Desk, Lab

    work = Path(tempfile.mkdtemp(prefix="bench-conference-"))
    rows = []
    with Lab(work / "lab", bridge=True) as lab:
        lab.start()
        desks = {a: Desk(lab.phone(a, pin=pin, page_port=None)) for a, pin in PINS.items()}
        ana, ben = desks["1001"], desks["1002"]
        try:
            for agent, desk in desks.items():
                speak(desk, TONES[agent])
                desk.wait_status(agent="IDLE", cc="up", sip="registered", timeout=20)
            ana.key("soft1", "1")
            lab.wait_for(lambda: lab.agent("1001")["state"] == "available", desc="available")
            cid = lab.post_contact("sales", "+15551234567", {"customer": "Jo Smith"})
            ana.wait_lcd("Call 1 of 1")
            ana.hook(True)
            ana.wait_lcd("Talking")
            rows.append(["two-party call (1001 and the customer)", 1,
                         f"{_share(ana.phone.pid):.1f} %"])
            ben.key("soft1", "1")
            lab.wait_for(lambda: lab.agent("1002")["state"] == "available", desc="available")
            ana.key("xfer")
            ana.wait_lcd("Consult")
            ana.type("1002")
            ana.key("ok")
            ben.wait_lcd("Consult")
            ben.hook(True)
            lab.wait_for(lambda: (lab.contact(cid)["consult"] or {}).get("status") == "talking",
                         desc="the consult talking")
            ana.key("conf")
            ana.wait_lcd("Conference 3")
            rows.append(["conference of 3 (1001, 1002, the customer)", 1,
                         f"{_share(ana.phone.pid):.1f} %"])
        finally:
            for desk in desks.values():
                desk.close()
    return table(f"the phone's CPU (one core), {MEASURE_S:.0f} s each, sim board, 8 kHz",
                 ["1001's phone in", "calls up", "CPU"], rows)
