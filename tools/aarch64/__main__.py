"""python -m tools.aarch64 {root,wheels,install,check,all} [--fresh]: see __init__.py."""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import binfmt
from .binfmt import BinfmtError
from .chroot import ChrootError

REPO = Path(__file__).resolve().parents[2]
WORK = REPO / "var" / "aarch64"
HOST_PACKAGES = {"debootstrap": "debootstrap", "qemu-aarch64-static": "qemu-user-static",
                 "socat": "socat"}
DEFAULT_BOOT_TIMEOUT = 120.0
STEPS = ("root", "wheels", "install", "check")


class Progress:
    """Progress lines with the time since the start."""

    def __init__(self):
        self.t0 = time.monotonic()

    def __call__(self, line: str):
        print(f"[{time.monotonic() - self.t0:6.0f}s] {line}", flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="python -m tools.aarch64",
        description="the phone on aarch64 under emulation: an arm64 Debian 12 root, the "
                    "phone installed by deploy/install.sh, booted on the sim board, the HIL "
                    "console suite against it (root needed)")
    sub = p.add_subparsers(dest="command", required=True)
    helps = {"root": "debootstrap the arm64 root (cached in var/aarch64/root)",
             "wheels": "aarch64 wheels of the runtime dependencies (var/aarch64/wheels)",
             "install": "a fresh copy of the root with the phone installed (var/aarch64/phone)",
             "check": "boot the installed phone on the sim board, run the HIL console suite",
             "all": "root, wheels, install and check, with a summary"}
    for name, text in helps.items():
        s = sub.add_parser(name, help=text, description=text)
        if name in ("root", "wheels", "all"):
            s.add_argument("--fresh", action="store_true",
                           help="rebuild the cached root and wheels" if name == "all"
                           else "rebuild, even if cached")
        if name in ("check", "all"):
            s.add_argument("--boot-timeout", type=float, default=DEFAULT_BOOT_TIMEOUT,
                           metavar="S", help="seconds from (re)boot to READY under emulation "
                           f"(default {DEFAULT_BOOT_TIMEOUT:g}; also the HIL suite's)")
            s.add_argument("pytest_args", nargs="*", metavar="PYTEST_ARG",
                           help="more pytest arguments (after --), e.g. -- -k status")
    args = p.parse_args(argv)
    args.steps = STEPS if args.command == "all" else (args.command,)
    return args


def host_ready(log) -> str:
    """Root, the host's tools (installed with apt when missing), the binfmt handler."""
    missing = sorted({pkg for exe, pkg in HOST_PACKAGES.items() if not shutil.which(exe)})
    if missing:
        import os
        if os.geteuid() != 0:
            raise BinfmtError(f"must run as root; missing too: apt-get install {' '.join(missing)}")
        log(f"host: apt-get install {' '.join(missing)}")
        subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
                       check=True, stdout=subprocess.DEVNULL)
    return binfmt.ensure(log)


def run(args) -> int:
    from . import check, install, root, wheels
    log = Progress()
    summary: dict[str, str] = {}
    handler = host_ready(log)
    log(f"host: binfmt {handler}")
    fresh = getattr(args, "fresh", False)
    t = time.monotonic()
    if "root" in args.steps:
        summary["root"] = root.build(WORK / "root", WORK / "logs", fresh=fresh, log=log)
        summary["root disk"] = root.disk_usage(WORK / "root")
    if "wheels" in args.steps:
        summary["wheels"] = wheels.prepare(REPO, WORK / "root", WORK, fresh=fresh, log=log)
    if "install" in args.steps:
        seconds = install.install(REPO, WORK / "root", WORK / "phone", WORK, log=log)
        summary["install"] = f"{seconds:.0f} s"
        summary["phone disk"] = root.disk_usage(WORK / "phone")
    code = 0
    if "check" in args.steps:
        r = check.check(REPO, WORK / "phone", WORK, args.boot_timeout, args.pytest_args, log)
        summary["uname -m (chroot)"] = r.uname
        summary["platform.machine()"] = r.machine
        summary["python3 binary"] = r.python_elf
        summary["firmware process"] = r.phone_exe
        for name, boot in (("boot", r.cold), ("reboot", r.warm)):
            summary[name] = (f"banner {boot.banner_s:.1f} s, READY {boot.ready_s:.1f} s"
                             if boot else "no")
        summary["hardphone.service"] = r.unit
        summary["HIL console suite"] = (f"{r.hil_line} ({r.hil_seconds:.0f} s)"
                                        if r.hil_code is not None else "not run")
        if r.hil_code != 0 or r.notes:
            code = 1
    summary["total"] = f"{time.monotonic() - t:.0f} s"
    width = max(map(len, summary))
    print(f"\naarch64 check summary ({', '.join(args.steps)})")
    for k, v in summary.items():
        print(f"  {k.ljust(width)}  {v}")
    print("result: " + ("PASS" if code == 0 else "FAIL"))
    return code


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except (BinfmtError, ChrootError, RuntimeError, subprocess.CalledProcessError) as e:
        print(f"aarch64 {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"aarch64 {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
