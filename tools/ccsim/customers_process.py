"""The simulated customers program (tools/ccsim/customers.py) run on its own, driven over its
JSON lines from a synchronous caller: the benches and tests that call a phone with no ccsim in
between (the ringing and voice benches; a stranger's forged INVITEs in the binding tests)."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class CustomersProcess:
    """One customers process; ``events`` is every line it wrote, in order."""

    def __init__(self, proxy: str, listen: str, password: str = "secret",
                 extra_args: tuple[str, ...] = (), ready_timeout: float = 15):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tools.ccsim.customers", "--proxy", proxy,
             "--password", password, "--listen", listen, *extra_args],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True)
        self.events: list[dict] = []
        self.got = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self.wait(lambda e: e["event"] == "ready", ready_timeout)

    def _read(self):
        for line in self.proc.stdout:
            with self.got:
                self.events.append(json.loads(line))
                self.got.notify_all()

    def send(self, **command):
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()

    def wait(self, pred, timeout: float = 10.0) -> dict:
        """The first event ``pred`` accepts, waiting up to ``timeout`` s for it."""
        def found():
            return next((e for e in self.events if pred(e)), None)
        with self.got:
            if not self.got.wait_for(found, timeout):
                raise RuntimeError(f"customers: no such event in {self.events[-5:]}")
            return found()

    def close(self):
        try:
            self.send(op="quit")
            self.proc.wait(5)
        except Exception:           # noqa: BLE001 - cleanup must not hide the caller's result
            self.proc.kill()
            self.proc.wait()
