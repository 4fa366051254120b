"""Boot the installed phone in the arm64 root on the sim board and run the HIL console suite
against it from the host.

The phone starts the way its systemd unit starts it, as user hardphone, from the update root
deploy/install.sh provisioned, but with ``--board sim``, a config of its own (state in
/var/lib/hardphone/sim-check, no board page port clash) and its console on a socat "cable":
one end (a pty link in the root) is the phone's, the other the host's. The boot is timed on
the host's end: launcher start -> banner -> READY, then once more after ``reboot``.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import serial

from tools.process import ProcessError, start

from .chroot import Chroot

VENV_PYTHON = "/opt/hardphone/venv/bin/python"
UPDATE_ROOT = "/var/lib/hardphone/update"
SIM_STATE = "/var/lib/hardphone/sim-check"
SIM_CONFIG = "/var/lib/hardphone/sim-check.toml"
PHONE_TTY = "/run/hardphone-sim-console"        # the phone's end of the cable, in the root
# Debian packages the SIM board needs besides the Pi's (deploy/packages.txt): none so far;
# its file PCMs are libasound2's own plugin, its pins gpiozero's mock, its page aiohttp.
SIM_PACKAGES: tuple[str, ...] = ()
# The Pi's /etc/asound.conf (board/rpi4's, installed by deploy/install.sh) names the USB cards
# the chroot has not, under the very PCM names the sim board defines as file PCMs; libasound
# loads it (the stock config's hook) after the sim's config and merges the two ("Unknown
# field file"). It is moved aside while the sim phone runs, and put back after.
PI_ASOUND = "etc/asound.conf"
PI_ASOUND_ASIDE = "etc/asound.conf.rpi4-aside-for-sim"
BANNER = re.compile(rb"hardphone (\S+) board=(\S+) slot=([ab])")
HIL_SUITE = "tests/hil/test_console.py"


@dataclass
class Boot:
    banner_s: float
    ready_s: float
    banner: str


@dataclass
class CheckResult:
    uname: str = "?"
    machine: str = "?"
    python_elf: str = "?"                # the root's python3 binary, read on the host
    unit: str = "?"                      # systemd-analyze verify of hardphone.service
    phone_exe: str = "?"                 # the firmware process's /proc/PID/exe, on the host
    cold: Boot | None = None
    warm: Boot | None = None
    hil_line: str = "?"
    hil_code: int | None = None
    hil_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def sim_config(installed: dict) -> str:
    """The check's phone config: the installed one's update root and key, sim board state."""
    update = installed.get("update", {})
    root = update.get("root", UPDATE_ROOT)
    key = update.get("public_key", "/etc/hardphone/update-key.pem")
    return (f"# tools/aarch64 check: the installed phone on the sim board\n"
            f"[phone]\nstate_dir = {_q(SIM_STATE)}\n"
            f"[board_page]\nport = 0\n"
            f"[update]\nroot = {_q(root)}\npublic_key = {_q(key)}\n")


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def read_until(port: serial.Serial, pattern: re.Pattern[bytes], timeout: float,
               buf: bytearray) -> re.Match[bytes]:
    deadline = time.monotonic() + timeout
    while True:
        m = pattern.search(bytes(buf))        # not buf itself: the match would see the del
        if m:
            del buf[:m.end()]
            return m
        if time.monotonic() > deadline:
            tail = bytes(buf[-400:]).decode(errors="replace")
            raise TimeoutError(f"no {pattern.pattern.decode()!r} in {timeout:g} s; "
                               f"the console said: {tail!r}")
        buf += port.read(port.in_waiting or 1)


def time_boot(port: serial.Serial, t0: float, timeout: float, buf: bytearray) -> Boot:
    m = read_until(port, BANNER, timeout, buf)
    banner_s = time.monotonic() - t0
    read_until(port, re.compile(rb"\bREADY\b"), timeout, buf)
    return Boot(banner_s, time.monotonic() - t0, m.group(0).decode())


ELF_MACHINES = {0x3e: "x86-64", 0xb7: "aarch64", 0x28: "arm", 0x03: "i386"}


def elf_machine(header: bytes) -> str:
    """The CPU an ELF file is for, from its header's e_machine (little-endian files)."""
    if header[:4] != b"\x7fELF" or len(header) < 20:
        return "not an ELF file"
    bits = {1: "32-bit", 2: "64-bit"}.get(header[4], "?")
    machine = int.from_bytes(header[18:20], "little")
    return f"ELF {bits} {ELF_MACHINES.get(machine, hex(machine))}"


def resolve_in(root: Path, path: str) -> str:
    """``path``'s symlinks followed as inside ``root`` (an absolute link stays in it)."""
    for _ in range(40):
        p = root / path.lstrip("/")
        if not p.is_symlink():
            return path
        target = os.readlink(p)
        path = target if target.startswith("/") else os.path.normpath(
            os.path.join(os.path.dirname(path), target))
    raise OSError(f"{path}: too many levels of symbolic links in {root}")


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            kids = []
        out += [int(k) for k in kids]
        todo += [int(k) for k in kids]
    return out


def firmware_exe(launcher_pid: int) -> str:
    """What the kernel runs the firmware process as: qemu's binfmt entry for arm64 code."""
    for pid in descendants(launcher_pid):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if b"firmware" in cmd and b"firmware.update.boot" not in cmd:
                # qemu's argv: its binfmt entry, the program's path, then the program's argv
                program = b" ".join(cmd[2:8]).decode()
                return f"{os.readlink(f'/proc/{pid}/exe')} running {program} ..."
        except OSError:
            continue
    return "?"


def check(repo: Path, phone_root: Path, work: Path, boot_timeout: float, pytest_args=(),
          log=print) -> CheckResult:
    res = CheckResult()
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for name in ("phone.log", "phone.out"):           # this run's only
        (logs / name).unlink(missing_ok=True)
    if not (phone_root / VENV_PYTHON.lstrip("/")).exists():
        raise RuntimeError(f"no installed phone in {phone_root} (run the install step first)")
    host_end = work / "run" / "tty-host"
    host_end.parent.mkdir(parents=True, exist_ok=True)
    phone_end = phone_root / PHONE_TTY.lstrip("/")
    for p in (host_end, phone_end):
        if p.is_symlink() or p.exists():
            p.unlink()
    with Chroot(phone_root) as ch:
        res.uname = ch.output(["uname", "-m"])
        res.machine = ch.output([VENV_PYTHON, "-c", "import platform; print(platform.machine())"])
        python = resolve_in(phone_root, "/usr/bin/python3")
        with open(phone_root / python.lstrip("/"), "rb") as f:
            res.python_elf = f"{elf_machine(f.read(20))} ({python})"
        log(f"check: inside the root: uname -m = {res.uname}, platform.machine() = "
            f"{res.machine}; its python3 is {res.python_elf}")
        r = ch.run(["systemd-analyze", "verify", "/etc/systemd/system/hardphone.service"],
                   check=False, capture=True)
        res.unit = ("systemd-analyze verify: ok" if r.returncode == 0 and not r.stdout.strip()
                    and not r.stderr.strip() else
                    f"systemd-analyze verify: exit {r.returncode}: {(r.stderr + r.stdout).strip()}")
        if r.returncode != 0:
            res.notes.append(res.unit)
        log(f"check: hardphone.service: {res.unit}")
        if SIM_PACKAGES:
            ch.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *SIM_PACKAGES],
                   log_file=logs / "check.log")
        uid, gid = ch.ids("hardphone")
        installed = tomllib.loads((phone_root / "etc/hardphone.toml").read_text())
        cfg = phone_root / SIM_CONFIG.lstrip("/")
        cfg.write_text(sim_config(installed))
        os.chown(cfg, uid, gid)
        cfg.chmod(0o600)
        asound, aside = phone_root / PI_ASOUND, phone_root / PI_ASOUND_ASIDE
        if aside.exists() and not asound.exists():      # an interrupted check's
            aside.rename(asound)
        cable = start(["socat", f"pty,raw,echo=0,link={host_end}",
                       f"pty,raw,echo=0,link={phone_end}"], name="socat cable")
        phone = port = None
        try:
            if asound.exists():
                asound.rename(aside)
                log(f"check: /{PI_ASOUND} (the Pi's cards) moved aside while the sim board runs")
            cable.wait_until(lambda: host_end.exists() and phone_end.is_symlink(), 5,
                             "the cable's two ends")
            # The pty belongs to root (socat): the phone's user gets its end, as udev gives
            # it dialout's ttyAMA0 on the Pi. The link's target (/dev/pts/N) is the same path
            # inside the root, whose /dev/pts is the host's.
            os.chown(os.path.realpath(phone_end), uid, gid)
            port = serial.Serial(str(host_end), 115200, timeout=0.2)
            buf = bytearray()
            argv = ch.argv([VENV_PYTHON, "-m", "firmware.update.boot", "--root", UPDATE_ROOT,
                            "--", "--board", "sim", "--config", SIM_CONFIG,
                            "--console", PHONE_TTY],
                           user=f"{uid}:{gid}", env={"TZ": "UTC", "PYTHONUNBUFFERED": "1"})
            log(f"check: starting the launcher in the chroot as hardphone ({uid}:{gid}) on the "
                f"sim board; console {PHONE_TTY} <-> {host_end}")
            t0 = time.monotonic()
            phone = start(argv, name="aarch64 phone", stderr=logs / "phone.log", group=True,
                          on_line=lambda line: _phone_line(logs / "phone.out", t0, line))
            res.cold = time_boot(port, t0, boot_timeout, buf)
            log(f"check: boot under emulation: banner after {res.cold.banner_s:.1f} s "
                f"({res.cold.banner}), READY after {res.cold.ready_s:.1f} s")
            res.phone_exe = firmware_exe(phone.popen.pid)
            log(f"check: the firmware process on the host: {res.phone_exe}")
            port.write(b"reboot\n")
            t1 = time.monotonic()
            read_until(port, re.compile(rb"\bok\b"), 10, buf)
            res.warm = time_boot(port, t1, boot_timeout, buf)
            log(f"check: reboot: banner after {res.warm.banner_s:.1f} s, READY after "
                f"{res.warm.ready_s:.1f} s")
            port.close()
            res.hil_code, res.hil_line, res.hil_seconds = run_hil(
                repo, host_end, boot_timeout, pytest_args, logs / "hil.log", log)
        except (ProcessError, TimeoutError, OSError) as e:
            res.notes.append(str(e))
            log(f"check: FAILED: {e}")
            if phone is not None:
                log(f"check: the phone's stderr: {logs / 'phone.log'} (tail below)")
                log(_tail(logs / "phone.log"))
        finally:
            if port is not None:
                port.close()
            if phone is not None:
                code = phone.stop(15)
                log(f"check: phone stopped (launcher exit {code})")
            cable.stop()
            for p in (host_end, phone_end):
                if p.is_symlink():
                    p.unlink()
            if aside.exists():
                aside.rename(asound)
    return res


def _phone_line(path: Path, t0: float, line: str):
    with open(path, "a") as f:
        f.write(f"{time.monotonic() - t0:7.2f} {line.rstrip()}\n")


def _tail(path: Path, n: int = 20) -> str:
    try:
        return "".join(path.read_text(errors="replace").splitlines(True)[-n:])
    except OSError:
        return ""


def run_hil(repo: Path, port: Path, boot_timeout: float, extra, log_file: Path,
            log=print) -> tuple[int, str, float]:
    argv = [sys.executable, "-m", "pytest", HIL_SUITE, "--port", str(port),
            "--embedded-services", "serial", "-q", "-p", "no:cacheprovider",
            "--boot-timeout", f"{boot_timeout:g}", *extra]
    log(f"check: on the host: {' '.join(argv[2:])}")
    t0 = time.monotonic()
    lines: list[str] = []
    with open(log_file, "w") as f, subprocess.Popen(
            argv, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as p:
        assert p.stdout is not None
        for line in p.stdout:
            f.write(line)
            lines.append(line.rstrip("\n"))
            log(f"  | {line.rstrip()}")
    seconds = time.monotonic() - t0
    result = next((ln.strip("= ") for ln in reversed(lines)
                   if re.search(r"\b(passed|failed|error|skipped|no tests ran)\b", ln)), "?")
    return p.returncode, result, seconds
