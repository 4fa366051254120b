"""The phone's Python dependencies for aarch64, fetched on the host and built where needed.

On the host, pip downloads each runtime dependency (pyproject's [project] dependencies and the
``rpi`` extra, not ``dev``: the HIL suite runs on the host) for the Pi's Python: a manylinux
aarch64 wheel for CPython 3.11 when PyPI has one, else the sdist. Dependencies of
dependencies are followed from each file's metadata, markers evaluated for the target. The
sdists (pyalsaaudio, lgpio, crcmod...) are then built into wheels inside an arm64 chroot with
gcc under emulation. The result, var/aarch64/wheels, is a flat directory ``pip install
--no-index --find-links`` installs from; it is cached with the requirements it was made for.
"""
from __future__ import annotations

import email.parser
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

from .chroot import Chroot, copy_tree, remove_root

PYTHON_VERSION = "3.11"             # Debian 12's python3 (3.11.2)
GLIBC = (2, 36)                     # Debian 12's glibc
EXTRAS = ("rpi",)                   # the Pi's optional dependencies (lgpio)
# What the root needs to build the sdists: a compiler, Python.h, ALSA's headers
# (pyalsaaudio) and SWIG (lgpio's wrapper is generated at build time).
BUILD_PACKAGES = ("gcc", "libc6-dev", "python3-dev", "libasound2-dev", "swig")
# Built in the chroot with these in the environment: lgpio's setup.py links its C library
# in statically when PYPI=1 (Debian 12 has no liblgpio; Raspberry Pi OS does).
BUILD_ENV = {"PYPI": "1"}
MANIFEST = ".manifest.json"

TARGET_ENV = {
    "implementation_name": "cpython", "implementation_version": "3.11.2",
    "os_name": "posix", "platform_machine": "aarch64", "platform_system": "Linux",
    "platform_release": "", "platform_version": "", "platform_python_implementation": "CPython",
    "python_full_version": "3.11.2", "python_version": PYTHON_VERSION, "sys_platform": "linux",
}


def platform_tags(glibc: tuple[int, int] = GLIBC) -> list[str]:
    """The wheel platform tags an aarch64 glibc ``glibc`` system takes, newest first
    (manylinux_2_17 is manylinux2014's new name; aarch64 wheels start at glibc 2.17)."""
    major, minor = glibc
    if (major, minor) < (2, 17):
        raise ValueError(f"aarch64 manylinux starts at glibc 2.17, not {major}.{minor}")
    tags = [f"manylinux_{major}_{m}_aarch64" for m in range(minor, 16, -1)]
    return [*tags, "manylinux2014_aarch64"]


def binary_args(glibc: tuple[int, int] = GLIBC) -> list[str]:
    args = ["--only-binary=:all:", "--python-version", PYTHON_VERSION, "--implementation", "cp",
            "--abi", "cp" + PYTHON_VERSION.replace(".", ""), "--abi", "abi3", "--abi", "none"]
    for tag in platform_tags(glibc):
        args += ["--platform", tag]
    return args


def project_requirements(pyproject: Path, extras=EXTRAS) -> list[str]:
    """Runtime requirements: [project] dependencies and the given extras (not dev)."""
    project = tomllib.loads(pyproject.read_text())["project"]
    reqs = list(project.get("dependencies", []))
    for extra in extras:
        reqs += project.get("optional-dependencies", {}).get(extra, [])
    return reqs


def build_requirements(pyproject: Path) -> list[str]:
    """The project's own build backend (pip builds the project offline from the wheels)."""
    return [*tomllib.loads(pyproject.read_text())["build-system"]["requires"], "wheel"]


def applies(req: Requirement, extras: frozenset[str] = frozenset()) -> bool:
    """Whether ``req`` holds on the Pi (its marker evaluated for aarch64 CPython 3.11)."""
    if req.marker is None:
        return True
    if not extras:
        return req.marker.evaluate({**TARGET_ENV, "extra": ""})
    return any(req.marker.evaluate({**TARGET_ENV, "extra": e}) for e in extras)


def dist_name_version(path: Path) -> tuple[str, Version]:
    if path.name.endswith(".whl"):
        name, version, _, _ = parse_wheel_filename(path.name)
        return name, version
    name, version = parse_sdist_filename(path.name)
    return name, version


def dist_requires(path: Path) -> list[str]:
    """Requires-Dist of a wheel (METADATA) or an sdist (PKG-INFO; none when it has none)."""
    text = ""
    if path.name.endswith(".whl"):
        with zipfile.ZipFile(path) as z:
            meta = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
            text = z.read(meta[0]).decode() if meta else ""
    else:
        with tarfile.open(path) as t:
            infos = [m for m in t.getmembers() if m.name.count("/") == 1
                     and m.name.endswith("/PKG-INFO")]
            f = t.extractfile(infos[0]) if infos else None
            text = f.read().decode() if f else ""
    msg = email.parser.Parser().parsestr(text)
    return msg.get_all("Requires-Dist") or []


@dataclass
class Fetched:
    wheels: list[Path] = field(default_factory=list)     # for aarch64 (or pure Python)
    sdists: list[Path] = field(default_factory=list)     # to build in the chroot


def _pip_download(args: list[str], dest: Path, log_file: Path) -> list[Path]:
    before = set(dest.iterdir())
    with open(log_file, "a") as f:
        f.write(f"\n$ pip download {' '.join(args)}\n")
        f.flush()
        r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-d",
                            str(dest), "--disable-pip-version-check", *args],
                           stdout=f, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        return []
    new = sorted(set(dest.iterdir()) - before)
    if not new:                 # already there: pip says "File was already downloaded"
        text = log_file.read_text(errors="replace").rsplit("$ pip download", 1)[-1]
        new = [dest / line.split("File was already downloaded ", 1)[1].strip().split("/")[-1]
               for line in text.splitlines() if "File was already downloaded" in line]
    return new


def fetch(requirements: list[str], wheels: Path, sdists: Path, log_file: Path,
          log=print) -> Fetched:
    """Download ``requirements`` and their dependencies for the Pi: wheels where they exist,
    else sdists. A package asked for twice must satisfy both specifiers with one version."""
    wheels.mkdir(parents=True, exist_ok=True)
    sdists.mkdir(parents=True, exist_ok=True)
    out = Fetched()
    have: dict[str, tuple[Version, Path]] = {}
    queue = [(Requirement(r), frozenset()) for r in requirements]
    while queue:
        req, extras = queue.pop(0)
        if not applies(req, extras):
            continue
        name = canonicalize_name(req.name)
        if name in have:
            version, path = have[name]
            if not req.specifier.contains(version, prereleases=True):
                raise RuntimeError(f"{req} (wanted by a dependency) conflicts with {path.name}")
            if not req.extras:
                continue
            files = [path]                  # already here: only its extras are new
        else:
            spec = str(req).split(";")[0].strip()
            files = _pip_download([*binary_args(), spec], wheels, log_file)
            kind = "wheel"
            if not files:
                files = _pip_download(["--no-binary=:all:", spec], sdists, log_file)
                kind = "sdist (built in the chroot)"
            if not files:
                raise RuntimeError(f"pip found neither an aarch64 wheel nor an sdist for {spec}"
                                   f" (see {log_file})")
            path = files[0]
            have[name] = (dist_name_version(path)[1], path)
            (out.wheels if kind == "wheel" else out.sdists).append(path)
            log(f"wheels: {path.name}: {kind}")
        for dep in dist_requires(files[0]):
            queue.append((Requirement(dep), frozenset(req.extras)))
    return out


def requirements_key(reqs: list[str], build_reqs: list[str]) -> str:
    blob = json.dumps({"reqs": reqs, "build": build_reqs, "python": PYTHON_VERSION,
                       "glibc": list(GLIBC), "build_packages": list(BUILD_PACKAGES)})
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def build_sdists(root: Path, builder: Path, sdists: list[Path], build_wheels: list[Path],
                 wheels: Path, log_file: Path, log=print):
    """Build the sdists into aarch64 wheels in a throwaway copy of the root (gcc and the
    headers go there, not into the phone's root)."""
    copy_tree(root, builder)
    try:
        with Chroot(builder, binds={"/wheels": wheels, "/sdists": sdists[0].parent}) as ch:
            t0 = time.monotonic()
            ch.run(["apt-get", "update", "-q"], log_file=log_file)
            ch.run(["apt-get", "install", "-y", "-q", "--no-install-recommends",
                    *BUILD_PACKAGES], log_file=log_file)
            log(f"wheels: build packages installed in the chroot ({time.monotonic() - t0:.0f} s:"
                f" {' '.join(BUILD_PACKAGES)})")
            ch.run(["python3", "-m", "venv", "/opt/build-venv"], log_file=log_file)
            pip = ["/opt/build-venv/bin/pip", "--disable-pip-version-check"]
            ch.run([*pip, "install", "--no-index", "--find-links", "/wheels",
                    *(p.name.split("-")[0] for p in build_wheels)], log_file=log_file)
            for sdist in sdists:
                t0 = time.monotonic()
                ch.run(["env", *(f"{k}={v}" for k, v in BUILD_ENV.items()), *pip, "wheel",
                        "--no-deps", "--no-build-isolation", "--no-index", "-w", "/wheels",
                        f"/sdists/{sdist.name}"], log_file=log_file)
                log(f"wheels: built {sdist.name} under emulation in "
                    f"{time.monotonic() - t0:.0f} s")
    finally:
        remove_root(builder)


def prepare(repo: Path, root: Path, work: Path, fresh: bool = False, log=print) -> str:
    """var/aarch64/wheels for the project's runtime dependencies. Returns "cached" or the
    time it took."""
    wheels, sdists = work / "wheels", work / "sdists"
    pyproject = repo / "pyproject.toml"
    reqs, build_reqs = project_requirements(pyproject), build_requirements(pyproject)
    key = requirements_key(reqs, build_reqs)
    try:
        manifest = json.loads((wheels / MANIFEST).read_text())
    except (OSError, ValueError):
        manifest = None
    if manifest and manifest.get("key") == key and not fresh:
        log(f"wheels: cached {wheels} ({len(manifest['files'])} files for these requirements)")
        return "cached"
    t0 = time.monotonic()
    for d in (wheels, sdists):
        shutil.rmtree(d, ignore_errors=True)
    log_file = work / "logs" / "wheels.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.write_text("")
    log(f"wheels: downloading for CPython {PYTHON_VERSION} aarch64 (glibc "
        f"{GLIBC[0]}.{GLIBC[1]}): {len(reqs)} requirements + build backend (log {log_file})")
    got = fetch([*reqs, *build_reqs], wheels, sdists, log_file, log)
    build_wheels = [p for p in got.wheels if canonicalize_name(dist_name_version(p)[0])
                    in {canonicalize_name(Requirement(r).name) for r in build_reqs}]
    log(f"wheels: {len(got.wheels)} wheels downloaded, {len(got.sdists)} sdists to build "
        f"({time.monotonic() - t0:.0f} s)")
    if got.sdists:
        build_sdists(root, work / "builder", got.sdists, build_wheels, wheels, log_file, log)
    files = sorted(p.name for p in wheels.glob("*.whl"))
    bad = [f for f in files if not (f.endswith("-any.whl") or "aarch64" in f)]
    if bad:
        raise RuntimeError(f"wheels not for aarch64: {', '.join(bad)}")
    (wheels / MANIFEST).write_text(json.dumps({"key": key, "files": files}, indent=1) + "\n")
    seconds = time.monotonic() - t0
    log(f"wheels: {len(files)} wheels in {wheels} ({seconds:.0f} s)")
    return f"{seconds:.0f} s"
