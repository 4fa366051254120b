"""The media bridge (tools/ccsim/bridge.py) run on its own, driven over its JSON lines from a
synchronous caller: the bridge's integration tests and its bench."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tools.process import start as start_process

ROOT = Path(__file__).resolve().parents[2]
Event = dict[str, Any]


class BridgeProcess:
    """One bridge process registered at ``proxy``; ``events`` is every line it wrote."""

    def __init__(self, proxy: str, listen: str, password: str = "secret",
                 extra_args: tuple[str, ...] = (), ready_timeout: float = 15):
        self.process = start_process(
            [sys.executable, "-m", "tools.ccsim.bridge", "--proxy", proxy,
             "--password", password, "--listen", listen, *extra_args],
            ready=r'^\{"event": "ready"\}$', timeout=ready_timeout, name="bridge",
            cwd=ROOT, stdin=True)

    @property
    def proc(self) -> subprocess.Popen[str]:
        return self.process.popen

    @property
    def events(self) -> list[Event]:
        return [json.loads(line) for line in list(self.process.lines)]

    def mark(self) -> int:
        """Where the next event will be: ``wait(..., since=mark)`` looks from there."""
        return len(self.process.lines)

    def send(self, **command: object) -> None:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()

    def wait(self, event: str, since: int = 0, timeout: float = 10.0, **fields: object) -> Event:
        """The first ``event`` with ``fields`` from line ``since`` on, waiting up to ``timeout``."""
        def wanted(line: str) -> bool:
            msg = json.loads(line)
            return bool(msg.get("event") == event
                        and all(msg.get(k) == v for k, v in fields.items()))
        i = self.process.wait_for(wanted, timeout, f"{event} {fields}", after=since)
        found: Event = json.loads(self.process.lines[i])
        return found

    def close(self) -> None:
        try:
            self.send(op="quit")
            self.proc.wait(5)
        except Exception:           # noqa: BLE001 - cleanup must not hide the caller's result
            pass
        self.process.stop()
