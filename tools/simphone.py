"""Start the firmware on the sim board in its own process and learn its addresses.

The phone announces on stdout: ``console: <pty>``, ``board page: <url>``, then ``READY``.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tools.process import Process
from tools.process import start as start_process

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class SimPhone:
    process: Process
    workdir: Path
    board: str = "sim"
    console: str | None = None
    page_url: str | None = None

    @property
    def proc(self) -> subprocess.Popen[str]:
        return self.process.popen

    @property
    def lines(self) -> list[str]:
        return self.process.lines

    @property
    def ready_after_s(self) -> float | None:
        return self.process.ready_after_s

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 5) -> int:
        return self.process.stop(timeout)

    def __enter__(self) -> SimPhone:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(workdir: Path | None = None, page_port: int | None = 0, console: str = "pty",
          extra_args: Sequence[str] = (), timeout: float = 20,
          echo: Callable[[str], None] | None = None, extra_config: str = "",
          board: str = "sim") -> SimPhone:
    """Start a sim phone and return once it printed READY (raises if it exits first).
    ``page_port=None``: no board page, as on the device; ``board``: a sim board's name
    (``sim``, ``sim-40x4``) or path."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="simphone-"))
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = workdir / "phone.toml"
    cfg.touch(mode=0o600)
    cfg.chmod(0o600)            # it may hold a PIN and a SIP password
    page = "enabled = false" if page_port is None else f"port = {page_port}"
    cfg.write_text(f"[phone]\nstate_dir = 'state'\n[board_page]\n{page}\n"
                   f"[console]\nport = '{console}'\n" + extra_config)
    (workdir / "phone.log").write_text("")
    return _launch(workdir, board, extra_args, timeout, echo)


def start_again(phone: SimPhone, timeout: float = 20) -> SimPhone:
    """Start a stopped sim phone again as it was: its config, state and log are kept (the
    agent switched it off and on)."""
    return _launch(phone.workdir, phone.board, (), timeout, None)


def _launch(workdir: Path, board: str, extra_args: Sequence[str], timeout: float,
            echo: Callable[[str], None] | None) -> SimPhone:
    process = start_process([sys.executable, "-m", "firmware", "--board", board,
                             "--config", str(workdir / "phone.toml"), *extra_args],
                            ready=r"^READY$", timeout=timeout, name="sim phone", cwd=ROOT,
                            stderr=workdir / "phone.log", on_line=echo)
    phone = SimPhone(process, workdir, board)
    for line in process.lines:              # what it announced before READY
        if line.startswith("console: "):
            phone.console = line.split(": ", 1)[1]
        elif line.startswith("board page: "):
            phone.page_url = line.split(": ", 1)[1]
    return phone
