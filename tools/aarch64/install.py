"""Install the phone into a fresh copy of the arm64 root, the way a Pi is installed.

On the host: a throwaway signing key and a signed 1.0.0 image of this tree for boards sim and
rpi4 (tools.mkimage), and the source tree (tracked and untracked files, not .venv, var/,
out/ or anything .gitignore'd) copied to ROOT/opt/hardphone-src. In the chroot:
``deploy/install.sh --image IMG --key PUBKEY --wheels /wheels --board rpi4``, apt fetching the
Pi's Debian packages itself (the chroot shares the host's network).
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from .chroot import Chroot, copy_tree

SRC = "/opt/hardphone-src"
KIT = "/opt/hardphone-kit"              # the image and public key, as a USB stick would bring
VERSION = "1.0.0"
BOARDS = ("sim", "rpi4")                # rpi4: what the Pi installs; sim: what boots here
INSTALL_BOARD = "rpi4"


def source_files(repo: Path) -> list[str]:
    """The working tree's files as git sees them: tracked and untracked, not ignored."""
    r = subprocess.run(["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others",
                        "--exclude-standard"], capture_output=True, text=True, check=True)
    return sorted({f for f in r.stdout.split("\0") if f and (repo / f).is_file()})


def copy_source(repo: Path, dst: Path) -> int:
    files = source_files(repo)
    for f in files:
        target = dst / f
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / f, target)
    return len(files)


def make_kit(repo: Path, kit: Path, log_file: Path, log=print) -> tuple[Path, Path]:
    """A throwaway key pair and a signed image: (image, public key)."""
    shutil.rmtree(kit, ignore_errors=True)
    kit.mkdir(parents=True)
    key = kit / "keys" / "throwaway-ed25519.pem"
    image = kit / f"hardphone-{VERSION}.img"
    with open(log_file, "a") as f:
        for argv in ([sys.executable, "-m", "tools.mkimage", "keygen", "--key", str(key)],
                     [sys.executable, "-m", "tools.mkimage", "build", "--out", str(image),
                      "--key", str(key), "--version", VERSION,
                      *(a for b in BOARDS for a in ("--board", b))]):
            f.write(f"\n$ {' '.join(argv)}\n")
            f.flush()
            subprocess.run(argv, cwd=repo, stdout=f, stderr=subprocess.STDOUT, check=True)
    pub = key.with_name(key.name.replace(".pem", ".pub.pem"))
    if not pub.exists():
        pubs = sorted(key.parent.glob("*.pub*"))
        pub = pubs[0]
    log(f"install: signed image {image.name} (boards {', '.join(BOARDS)}, version {VERSION}, "
        f"{image.stat().st_size:,} bytes) with a throwaway key")
    return image, pub


def install(repo: Path, root: Path, phone: Path, work: Path, log=print) -> float:
    """A fresh phone root from the cached root, with the project installed. Returns seconds."""
    t0 = time.monotonic()
    log_file = work / "logs" / "install.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.write_text("")
    image, pub = make_kit(repo, work / "kit", log_file, log)
    copy_tree(root, phone)
    log(f"install: fresh copy of the root in {phone} ({time.monotonic() - t0:.0f} s)")
    n = copy_source(repo, phone / SRC.lstrip("/"))
    kit = phone / KIT.lstrip("/")
    kit.mkdir(parents=True)
    shutil.copy2(image, kit / image.name)
    shutil.copy2(pub, kit / "update-key.pem")
    log(f"install: {n} source files in {SRC}, the image and public key in {KIT}")
    script = phone / SRC.lstrip("/") / "deploy/install.sh"
    if not script.exists():
        raise RuntimeError("deploy/install.sh is missing: it is what installs a Pi")
    argv = [f"{SRC}/deploy/install.sh", "--image", f"{KIT}/{image.name}",
            "--key", f"{KIT}/update-key.pem", "--wheels", "/wheels", "--board", INSTALL_BOARD]
    log(f"install: in the chroot: {' '.join(argv)}  (log {log_file})")
    t1 = time.monotonic()
    with Chroot(phone, binds={"/wheels": work / "wheels"}) as ch:
        ch.run(["sh", "-c", f"cd {SRC} && exec \"$@\"", "install.sh", *argv],
               log_file=log_file)
    log(f"install: install.sh done in {time.monotonic() - t1:.0f} s; its summary:")
    text = log_file.read_text(errors="replace")
    summary = text[text.rfind("hardphone installed"):] if "hardphone installed" in text else ""
    for line in summary.rstrip().splitlines():
        log(f"  | {line}")
    return time.monotonic() - t0
