"""The qemu-aarch64 binfmt_misc handler: with it, the kernel runs an arm64 ELF through
qemu-user-static, so a plain chroot into an arm64 root runs everything (debootstrap's second
stage, apt, gcc), as Raspberry Pi image builders (pi-gen) do.

The F (fix-binary) flag makes the kernel open the interpreter when the handler is registered,
so it works inside a chroot that has no qemu of its own.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
HANDLER = "qemu-aarch64"
DEBIAN_CONF = Path("/usr/lib/binfmt.d/qemu-aarch64.conf")   # qemu-user-static ships it
# An aarch64 ELF header: class 64-bit, little endian, version 1, type EXEC/DYN, machine 0xb7
# (the mask's 0xfe on the type's low byte takes both ET_EXEC 2 and ET_DYN 3).
AARCH64_MAGIC = (b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00")
AARCH64_MASK = (b"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff"
                b"\xff\xff")
INTERPRETERS = ("/usr/libexec/qemu-binfmt/aarch64-binfmt-P", "/usr/bin/qemu-aarch64-static")


class BinfmtError(Exception):
    pass


def _escape(data: bytes) -> str:
    return "".join(f"\\x{b:02x}" for b in data)


def registration(interpreter: str, flags: str = "OPF", name: str = HANDLER) -> str:
    """The line written to binfmt_misc/register: ``:name:M::magic:mask:interpreter:flags``.

    F (fix binary) is required: without it the kernel looks the interpreter up in the chroot.
    P (preserve argv[0]) only with Debian's ``*-binfmt-P`` wrapper name, which tells qemu that
    argv[0] is preserved; the plain qemu-aarch64-static expects it dropped."""
    if "F" not in flags:
        raise ValueError("the handler needs the F flag to work inside a chroot")
    if "P" in flags and not interpreter.endswith("-binfmt-P"):
        raise ValueError(f"flag P needs qemu's -binfmt-P entry point, not {interpreter}")
    return f":{name}:M::{_escape(AARCH64_MAGIC)}:{_escape(AARCH64_MASK)}:{interpreter}:{flags}"


def parse_status(text: str) -> dict[str, str]:
    """/proc/sys/fs/binfmt_misc/<name> as a dict (enabled, interpreter, flags, ...)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line in ("enabled", "disabled"):
            out["state"] = line
        elif " " in line:
            k, v = line.split(" ", 1)
            out[k.rstrip(":")] = v.strip()
    return out


def handler_ok(status: dict[str, str]) -> bool:
    return status.get("state") == "enabled" and "F" in status.get("flags", "")


def find_interpreter() -> str | None:
    for p in INTERPRETERS:
        if os.path.exists(p):
            return p
    return shutil.which("qemu-aarch64-static")


def debian_registration() -> str | None:
    """Debian's own line (/usr/lib/binfmt.d/qemu-aarch64.conf), if it has the F flag."""
    try:
        line = DEBIAN_CONF.read_text().strip()
    except OSError:
        return None
    return line if line.rsplit(":", 1)[-1].count("F") else None


def ensure(log=print) -> str:
    """Make sure arm64 binaries run here; returns a one-line description of the handler.
    Mounts binfmt_misc and registers qemu-aarch64 when missing (root only)."""
    if os.geteuid() != 0:
        raise BinfmtError("must run as root (debootstrap, chroot, bind mounts and the binfmt_misc "
                          "handler all need it)")
    if not (BINFMT_DIR / "register").exists():
        log(f"binfmt: mounting binfmt_misc on {BINFMT_DIR}")
        r = subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT_DIR)],
                           capture_output=True, text=True)
        if r.returncode != 0 or not (BINFMT_DIR / "register").exists():
            raise BinfmtError(f"no binfmt_misc here: mount -t binfmt_misc failed "
                              f"({r.stderr.strip() or 'no register file'}); the kernel needs "
                              f"CONFIG_BINFMT_MISC and the container must allow the mount")
    entry = BINFMT_DIR / HANDLER
    if entry.exists():
        status = parse_status(entry.read_text())
        if handler_ok(status):
            return f"{HANDLER} -> {status.get('interpreter')} (flags {status.get('flags')})"
        log(f"binfmt: {HANDLER} is registered without the F flag or disabled: replacing it")
        entry.write_text("-1")                  # unregister
    interpreter = find_interpreter()
    if interpreter is None:
        raise BinfmtError("qemu-aarch64-static not found: apt-get install qemu-user-static")
    line = debian_registration() if interpreter == INTERPRETERS[0] else None
    if line is None:
        flags = "OPF" if interpreter.endswith("-binfmt-P") else "OF"
        line = registration(interpreter, flags)
    log(f"binfmt: registering {HANDLER} ({interpreter})")
    try:
        (BINFMT_DIR / "register").write_text(line)
    except OSError as e:
        raise BinfmtError(f"registering {HANDLER} failed: {e}") from None
    status = parse_status(entry.read_text())
    if not handler_ok(status):
        raise BinfmtError(f"{HANDLER} registered but not usable: {status}")
    return f"{HANDLER} -> {status.get('interpreter')} (flags {status.get('flags')})"
