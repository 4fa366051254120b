"""Start the firmware on the sim board in its own process and learn its addresses.

The phone announces on stdout: ``console: <pty>``, ``board page: <url>``, then ``READY``.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class SimPhone:
    proc: subprocess.Popen
    workdir: Path
    console: str | None = None
    page_url: str | None = None
    ready_after_s: float | None = None
    lines: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, timeout: float = 5) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start(workdir: Path | None = None, page_port: int | None = 0, console: str = "pty",
          extra_args=(), timeout: float = 20, echo=None, extra_config: str = "") -> SimPhone:
    """Start a sim phone and return once it printed READY (raises if it exits first).
    ``page_port=None``: no board page, as on the device."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="simphone-"))
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = workdir / "phone.toml"
    cfg.touch(mode=0o600)
    cfg.chmod(0o600)            # it may hold a PIN and a SIP password
    page = "enabled = false" if page_port is None else f"port = {page_port}"
    cfg.write_text(f"[phone]\nstate_dir = 'state'\n[board_page]\n{page}\n"
                   f"[console]\nport = '{console}'\n" + extra_config)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "firmware", "--board", "sim",
                             "--config", str(cfg), *extra_args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=open(workdir / "phone.log", "w"),
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    phone = SimPhone(proc, workdir)
    ready = threading.Event()

    def read():
        for line in proc.stdout:
            line = line.rstrip("\n")
            phone.lines.append(line)
            if echo:
                echo(line)
            if line.startswith("console: "):
                phone.console = line.split(": ", 1)[1]
            elif line.startswith("board page: "):
                phone.page_url = line.split(": ", 1)[1]
            elif line == "READY" and not ready.is_set():
                phone.ready_after_s = time.perf_counter() - t0
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(timeout) or phone.ready_after_s is None:
        phone.stop()
        log = (workdir / "phone.log").read_text()[-2000:]
        raise RuntimeError(f"sim phone did not become READY (exit {proc.returncode}):\n{log}")
    return phone
