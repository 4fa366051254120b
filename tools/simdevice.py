"""Test equipment for field flashing: versioned firmware trees, signed images, a sim phone
that runs under the launcher (its own bootloader) with its console on a serial line."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tools.mkimage.build import build_image, keygen, public_key_path
from tools.process import Process, ProcessError
from tools.process import start as start_process

ROOT = Path(__file__).resolve().parents[1]
TREE_PARTS = ("firmware", "hal", "board", "pyproject.toml")


def versioned_tree(dst: Path, version: str, crash: bool = False) -> Path:
    """A copy of this repo's firmware tree whose version.py says ``version``."""
    for part in TREE_PARTS:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, dst / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, dst / part)
    (dst / "firmware" / "version.py").write_text(f'__version__ = "{version}"\n')
    if crash:
        main = dst / "firmware" / "app" / "main.py"
        main.write_text(main.read_text()
                        + '\nraise RuntimeError("this firmware crashes at start")\n')
    return dst


class Kit:
    """Keys and images for one test module."""

    def __init__(self, workdir: Path, key: Path | None = None):
        """A throwaway signing key, or ``key``: the one a real phone was provisioned with."""
        self.dir = workdir
        if key is None:
            key = workdir / "keys" / "dev-ed25519.pem"
            keygen(key)
        self.key = key
        self.public_key = public_key_path(self.key)

    def image(self, version: str, crash: bool = False, delta_from: Path | None = None,
              boards=("sim", "rpi4"), name: str | None = None,
              security_counter: int | str = "auto") -> Path:
        tree = versioned_tree(self.dir / f"tree-{name or version}", version, crash)
        out = self.dir / "images" / f"{name or 'hardphone-' + version}.img"
        build_image(tree, out, self.key, version=version, boards=list(boards),
                    delta_from=delta_from, security_counter=security_counter)
        return out


class SimDevice:
    """A sim phone under its launcher: power it on, cut its power, read what it prints."""

    def __init__(self, workdir: Path, kit: Kit, console: str, factory_image: Path):
        self.dir, self.console = workdir, console
        workdir.mkdir(parents=True, exist_ok=True)
        self.root = workdir / "update"
        self.config = workdir / "phone.toml"
        self.config.write_text(
            f"[phone]\nstate_dir = '{workdir / 'state'}'\n"
            f"[board_page]\nport = 0\n"
            f"[update]\nroot = '{self.root}'\npublic_key = '{kit.public_key}'\n")
        subprocess.run([sys.executable, "-m", "tools.mkimage", "provision", "--root",
                        str(self.root), "--image", str(factory_image), "--slot", "a",
                        "--board", "sim", "--key", str(kit.public_key)],
                       cwd=ROOT, check=True, capture_output=True)
        self.process: Process | None = None
        self.lines: list[str] = []          # everything it printed, across power cycles

    @property
    def proc(self) -> subprocess.Popen[str] | None:
        return self.process.popen if self.process else None

    def power_on(self):
        self.process = start_process(
            [sys.executable, "-m", "firmware.update.boot", "--root", str(self.root), "--",
             "--board", "sim", "--config", str(self.config), "--console", self.console],
            name="sim device", cwd=ROOT, stderr=self.dir / "launcher.log", group=True,
            lines=self.lines)

    def wait_line(self, text: str, after: int = 0, timeout: float = 20) -> int:
        """Index of the first line at or after ``after`` that contains ``text``."""
        if self.process is None:
            raise RuntimeError("the device is not powered on")
        try:
            return self.process.wait_for(lambda line: text in line, timeout, repr(text), after)
        except ProcessError as e:
            raise TimeoutError(str(e)) from None

    def wait_ready(self, after: int = 0, timeout: float = 20) -> int:
        return self.wait_line("READY", after, timeout)

    def power_cut(self):
        """Pull the plug: the launcher and the firmware die at once, mid-whatever."""
        if self.process and self.process.returncode is None:
            self.process.kill()

    def stop(self):
        if self.process and self.process.returncode is None:
            self.process.stop(10)
