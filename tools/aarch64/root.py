"""The arm64 Debian 12 root: debootstrap from Debian's mirror, cached under var/aarch64/root.

The cached root stays as debootstrap left it (the install works on a copy), so a run reuses
it until ``--fresh`` or a change of its recipe (suite, variant, packages, mirror).
"""
from __future__ import annotations

import json
import re
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .chroot import Chroot, remove_root

SUITE = "bookworm"                   # Debian 12: what Raspberry Pi OS is built on
ARCH = "arm64"
VARIANT = "minbase"
# What deploy/install.sh needs before it runs: apt (in minbase), python3 with venv,
# systemd for `systemctl enable`, udev for its rules, CAs for https. The rest (the Pi's
# Debian packages, deploy/packages.txt) the install script installs with apt itself.
INCLUDES = ("python3", "python3-venv", "ca-certificates", "systemd", "udev")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
MARKER = ".hardphone-aarch64.json"
PROGRESS_EVERY_S = 60


@dataclass(frozen=True)
class Recipe:
    suite: str = SUITE
    arch: str = ARCH
    variant: str = VARIANT
    includes: tuple[str, ...] = INCLUDES
    mirror: str = DEFAULT_MIRROR

    def debootstrap_argv(self, target: Path) -> list[str]:
        return ["debootstrap", f"--arch={self.arch}", f"--variant={self.variant}",
                f"--include={','.join(self.includes)}", self.suite, str(target), self.mirror]

    def as_json(self) -> dict:
        d = asdict(self)
        d["includes"] = list(self.includes)
        return d


def mirror_from_sources(texts: list[str]) -> str:
    """The Debian mirror this machine's apt uses (deb822 ``URIs:`` or one-line ``deb``),
    skipping the security archive and third-party repositories; Debian's CDN if none."""
    for text in texts:
        for line in text.splitlines():
            line = line.strip()
            m = re.match(r"URIs:\s*(\S+)", line) or re.match(r"deb\s+(?:\[[^\]]*\]\s+)?(\S+)",
                                                              line)
            if not m:
                continue
            uri = m.group(1).rstrip("/")
            if uri.endswith("/debian") and "security" not in uri:
                return uri
    return DEFAULT_MIRROR


def host_mirror() -> str:
    files = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    texts = []
    for f in files:
        try:
            texts.append(f.read_text())
        except OSError:
            pass
    return mirror_from_sources(texts)


def read_marker(root: Path) -> dict | None:
    try:
        return json.loads((root / MARKER).read_text())
    except (OSError, ValueError):
        return None


def build(root: Path, log_dir: Path, fresh: bool = False, log=print) -> str:
    """Build the root unless a matching one is cached. Returns "cached" or the build time."""
    recipe = Recipe(mirror=host_mirror())
    marker = read_marker(root)
    if marker is not None and not fresh:
        if marker.get("recipe") == recipe.as_json():
            log(f"root: cached {root} (built {marker.get('built')} in "
                f"{marker.get('seconds', 0):.0f} s; --fresh rebuilds)")
            return "cached"
        log("root: the cached root was built from another recipe: rebuilding")
    elif root.exists() and not fresh:
        log(f"root: {root} has no {MARKER} (an interrupted build?): rebuilding")
    remove_root(root)
    tmp = root.with_name(root.name + ".tmp")
    remove_root(tmp)
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / "debootstrap.log"
    argv = recipe.debootstrap_argv(tmp)
    log(f"root: {' '.join(argv)}  (log {log_file})")
    t0 = time.monotonic()
    with open(log_file, "w") as f:
        p = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT)
        while True:
            try:
                code = p.wait(PROGRESS_EVERY_S)
                break
            except subprocess.TimeoutExpired:
                log(f"root: ... {last_step(log_file)} ({time.monotonic() - t0:.0f} s)")
    if code != 0:
        tail = "".join(log_file.read_text(errors="replace").splitlines(True)[-15:])
        raise RuntimeError(f"debootstrap exited {code}:\n{tail}")
    seconds = time.monotonic() - t0
    with Chroot(tmp, block_services=False) as ch:
        machine = ch.output(["uname", "-m"])
    if machine != "aarch64":
        raise RuntimeError(f"the root's uname -m says {machine}, not aarch64")
    (tmp / MARKER).write_text(json.dumps({
        "recipe": recipe.as_json(), "seconds": round(seconds, 1),
        "built": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}, indent=1) + "\n")
    tmp.rename(root)
    size = disk_usage(root)
    log(f"root: built {root} in {seconds:.0f} s ({size})")
    return f"{seconds:.0f} s"


def last_step(log_file: Path) -> str:
    """debootstrap's latest "I: ..." line (Retrieving, Unpacking, Configuring ...)."""
    try:
        lines = log_file.read_text(errors="replace").splitlines()
    except OSError:
        return "?"
    steps = [ln[3:].strip() for ln in lines if ln.startswith("I: ")]
    return steps[-1] if steps else "starting"


def disk_usage(path: Path) -> str:
    r = subprocess.run(["du", "-sh", "--one-file-system", str(path)], capture_output=True,
                       text=True)
    return r.stdout.split()[0] if r.returncode == 0 and r.stdout else "?"
