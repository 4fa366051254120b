"""Run commands in an arm64 root through a plain chroot (qemu-aarch64 via binfmt_misc).

``Chroot(root)`` bind-mounts /proc, /sys, /dev, /dev/pts (and any extra host directories) for
the time of a ``with`` block, copies the host's resolv.conf (apt and pip inside reach the
network through the host's: one network namespace), and keeps services from starting during
package installs (usr/sbin/policy-rc.d, as pi-gen does). Everything is unmounted on exit,
also after an error.
"""
from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

POLICY_RC = ("#!/bin/sh\n# tools/aarch64: no service starts while the root is being built\n"
             "exit 101\n")
CHROOT_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
              "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive", "HOME": "/root",
              "TERM": "dumb"}


class ChrootError(Exception):
    pass


def mounted(path: Path) -> bool:
    target = str(path.resolve())
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == target for line in f)


def umount_under(root: Path):
    """Unmount whatever is still mounted under ``root`` (deepest first): a run killed
    mid-way leaves its bind mounts, and rm -rf must never walk into the host's /dev."""
    target = str(root.resolve())
    with open("/proc/self/mounts") as f:
        points = [line.split()[1] for line in f]
    for p in sorted((p for p in points if p == target or p.startswith(target + "/")),
                    key=len, reverse=True):
        subprocess.run(["umount", p], capture_output=True)
        if mounted(Path(p)):
            subprocess.run(["umount", "-l", p], capture_output=True)


def remove_root(root: Path):
    if root.exists():
        umount_under(root)
        shutil.rmtree(root)


class Chroot:
    def __init__(self, root: Path, binds: dict[str, Path] | None = None,
                 block_services: bool = True):
        self.root = root.resolve()
        self.binds = dict(binds or {})          # path inside -> host directory
        self.block_services = block_services
        self._mounts: list[Path] = []

    def __enter__(self) -> Chroot:
        try:
            for src, dst, fstype in (("proc", "proc", "proc"), ("sysfs", "sys", "sysfs")):
                self._mount(["-t", fstype, src], dst)
            self._mount(["--bind", "/dev"], "dev")
            self._mount(["--bind", "/dev/pts"], "dev/pts")
            for inside, host in self.binds.items():
                self._mount(["--bind", str(host)], inside.lstrip("/"))
            resolv = self.root / "etc/resolv.conf"
            if resolv.is_symlink():
                resolv.unlink()
            shutil.copyfile("/etc/resolv.conf", resolv)
            if self.block_services:
                policy = self.root / "usr/sbin/policy-rc.d"
                policy.write_text(POLICY_RC)
                policy.chmod(0o755)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _mount(self, args: list[str], inside: str):
        point = self.root / inside
        point.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["mount", *args, str(point)], capture_output=True, text=True)
        if r.returncode != 0:
            raise ChrootError(f"mount {' '.join(args)} {point}: {r.stderr.strip()}")
        self._mounts.append(point)

    def __exit__(self, *exc):
        if self.block_services:
            (self.root / "usr/sbin/policy-rc.d").unlink(missing_ok=True)
        for point in reversed(self._mounts):
            for _ in range(10):
                r = subprocess.run(["umount", str(point)], capture_output=True)
                if r.returncode == 0:
                    break
                time.sleep(0.3)             # a process inside may take a moment to exit
            else:
                subprocess.run(["umount", "-l", str(point)], capture_output=True)
        self._mounts.clear()

    def argv(self, cmd: Sequence[str], user: str | None = None,
             env: dict[str, str] | None = None) -> list[str]:
        """``user``: "UID:GID" (numbers: looked up in the root's /etc/passwd, not the host's).
        The environment is CHROOT_ENV and ``env``, nothing of the host's."""
        spec = [f"--userspec={user}"] if user else []
        full = {**CHROOT_ENV, **({"HOME": "/tmp"} if user else {}), **(env or {})}
        return ["chroot", *spec, str(self.root), "/usr/bin/env", "-i",
                *(f"{k}={v}" for k, v in full.items()), *cmd]

    def ids(self, name: str) -> tuple[int, int]:
        """(uid, gid) of a user of the root."""
        for line in (self.root / "etc/passwd").read_text().splitlines():
            fields = line.split(":")
            if fields[0] == name:
                return int(fields[2]), int(fields[3])
        raise ChrootError(f"no user {name} in {self.root}/etc/passwd")

    def run(self, cmd: Sequence[str], user: str | None = None, check: bool = True,
            capture: bool = False, log_file: Path | None = None, timeout: float | None = None,
            ) -> subprocess.CompletedProcess[str]:
        """Run ``cmd`` inside; output to ``log_file`` (appended), captured, or inherited."""
        kwargs: dict = {"text": True, "timeout": timeout}
        if capture:
            kwargs["capture_output"] = True
        out = None
        if log_file is not None and not capture:
            out = open(log_file, "a")
            out.write(f"\n$ {' '.join(cmd)}\n")
            out.flush()
            kwargs.update(stdout=out, stderr=subprocess.STDOUT)
        try:
            r = subprocess.run(self.argv(cmd, user), **kwargs)
        finally:
            if out is not None:
                out.close()
        if check and r.returncode != 0:
            tail = (r.stderr or r.stdout or "").strip()[-2000:] if capture else \
                (_tail(log_file) if log_file else "")
            raise ChrootError(f"in {self.root}: {' '.join(cmd)} exited {r.returncode}"
                              + (f"\n{tail}" if tail else ""))
        return r

    def output(self, cmd: Sequence[str], user: str | None = None) -> str:
        return self.run(cmd, user, capture=True).stdout.strip()


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "".join(path.read_text(errors="replace").splitlines(True)[-lines:])
    except OSError:
        return ""


def copy_tree(src: Path, dst: Path):
    """cp -a (reflinks where the filesystem has them): a fresh phone root from the cached one."""
    remove_root(dst)
    subprocess.run(["cp", "-a", "--reflink=auto", str(src), str(dst)], check=True)
