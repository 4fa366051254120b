"""The simulated customers program (tools/ccsim/customers.py) run on its own, driven over its
JSON lines from a synchronous caller: the benches and tests that call a phone with no ccsim in
between (the ringing and voice benches; a stranger's forged INVITEs in the binding tests)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tools.process import start as start_process

ROOT = Path(__file__).resolve().parents[2]
READY = r'^\{"event": "ready"\}$'
Event = dict[str, Any]


class LabProcess:
    """A lab program driven by JSON lines (the customers, the media bridge): started at the
    proxy with the lab's password, ready once it says so; ``events`` is every line it wrote,
    in order."""
    module = ""                 # what ``python -m`` runs
    name = ""

    def __init__(self, proxy: str, listen: str, password: str = "secret",
                 extra_args: tuple[str, ...] = (), ready_timeout: float | None = 15):
        """``ready_timeout`` None: return at once (``wait_ready`` later), so it starts while
        the caller starts something else."""
        self.process = start_process(
            [sys.executable, "-m", self.module, "--proxy", proxy,
             "--password", password, "--listen", listen, *extra_args],
            ready=None if ready_timeout is None else READY, timeout=ready_timeout or 0,
            name=self.name, cwd=ROOT, stdin=True)

    def wait_ready(self, timeout: float = 15) -> None:
        """Until it said it is ready (ProcessError if it ends or says nothing in time)."""
        self.process.wait_for(lambda line: re.search(READY, line), timeout, "ready line",
                              after=0)

    @property
    def proc(self) -> subprocess.Popen[str]:
        return self.process.popen

    @property
    def events(self) -> list[Event]:
        return [json.loads(line) for line in list(self.process.lines)]

    def wait(self, pred: Callable[[Event], bool], timeout: float = 10.0) -> Event:
        """The first event ``pred`` accepts, waiting up to ``timeout`` s for it."""
        i = self.process.wait_for(lambda line: pred(json.loads(line)), timeout,
                                  "such event", after=0)
        event: Event = json.loads(self.process.lines[i])
        return event

    def send(self, **command: object) -> None:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()

    def close(self) -> None:
        try:
            self.send(op="quit")
            self.proc.wait(5)
        except Exception:           # noqa: BLE001 - cleanup must not hide the caller's result
            pass
        self.process.stop()


class CustomersProcess(LabProcess):
    """One customers process (tools/ccsim/customers.py)."""
    module = "tools.ccsim.customers"
    name = "customers"
