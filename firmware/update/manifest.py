"""An image's manifest: its rules, the slot trees it describes, and what it needs of a phone.

Manifest (see docs/update.md): ``{"format": 1, "kind": "full"|"delta", "version", "boards",
"base": null | {"version", "manifest_sha256"}, "security_counter", "python", "dependencies",
"files": {path: {"sha256", "size", "mode"}}}``. ``files`` lists EVERY file of the resulting
tree, also for a delta, whose payload carries only the changed files. A slot's
``manifest.json`` is byte for byte the ``manifest.json`` of the image it was built from, so
``manifest_sha256(slot)`` is the base hash a delta built against that image names.
``security_counter`` (what a slot keeps, for the launcher) must equal the image's SEC_CNT TLV.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn

from .image import CHUNK, MANIFEST_NAME, MAX_SECURITY_COUNTER, ImageError, parse_version

MANIFEST_FORMAT = 1
KINDS = ("full", "delta")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

Manifest = dict[str, Any]       # checked by check_manifest: the shape above


def safe_path(name: object) -> str:
    """A relative path that stays inside the slot: no absolute paths, '..', '.', empty parts."""
    if (not isinstance(name, str) or not name or name.startswith("/") or "\\" in name
            or "\x00" in name or any(p in ("", ".", "..") for p in name.split("/"))):
        raise ImageError(f"unsafe path in image: {name!r}")
    return name


def check_manifest(m: object) -> Manifest:
    """``m`` if it is a manifest this phone reads; ImageError naming the first problem."""
    def bad(problem: str) -> NoReturn:
        raise ImageError(f"bad manifest: {problem}")

    if not isinstance(m, dict):
        bad("not a JSON object")
    if m.get("format") != MANIFEST_FORMAT:
        raise ImageError(f"unsupported manifest format {m.get('format')!r} "
                         f"(this phone reads format {MANIFEST_FORMAT})")
    if m.get("kind") not in KINDS:
        bad(f"kind {m.get('kind')!r}")
    try:
        parse_version(m.get("version"))
    except ValueError as e:
        bad(str(e))
    boards = m.get("boards")
    if (not isinstance(boards, list) or not boards
            or not all(isinstance(b, str) and b for b in boards)):
        bad("boards must be a non-empty list of names")
    base = m.get("base")
    if m["kind"] == "full" and base is not None:
        bad("a full image has no base")
    if m["kind"] == "delta" and not (
            isinstance(base, dict) and isinstance(base.get("version"), str)
            and isinstance(base.get("manifest_sha256"), str)
            and _HEX64.match(base["manifest_sha256"])):
        bad("a delta needs base {version, manifest_sha256}")
    counter = m.get("security_counter", 0)
    if type(counter) is not int or not 0 <= counter <= MAX_SECURITY_COUNTER:
        bad("security_counter must be an integer from 0 to 2**32-1")
    if not isinstance(m.get("python"), str):
        bad("python must be a requirement string")
    deps = m.get("dependencies")
    if not isinstance(deps, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                             for k, v in deps.items()):
        bad("dependencies must map names to versions")
    files = m.get("files")
    if not isinstance(files, dict) or not files:
        bad("files must list the tree")
    dirs: set[str] = set()
    for name, entry in files.items():
        safe_path(name)
        if name == MANIFEST_NAME:
            bad(f"{MANIFEST_NAME} cannot be a tree file")
        if not (isinstance(entry, dict) and isinstance(entry.get("sha256"), str)
                and _HEX64.match(entry["sha256"])
                and type(entry.get("size")) is int and entry["size"] >= 0
                and type(entry.get("mode")) is int and 0 <= entry["mode"] <= 0o7777):
            bad(f"entry for {name!r} needs sha256, size and mode")
        parts = name.split("/")
        dirs.update("/".join(parts[:i]) for i in range(1, len(parts)))
    clash = dirs.intersection(files)
    if clash:
        bad(f"{sorted(clash)[0]!r} is both a file and a directory")
    return m


def parse_manifest(data: bytes) -> Manifest:
    """manifest.json's bytes -> the checked manifest."""
    try:
        m = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ImageError(f"manifest.json is not valid JSON ({e})") from None
    return check_manifest(m)


# -- what an image needs of this phone ---------------------------------------------------------
_PY_CLAUSE = re.compile(r"^\s*(~=|==|!=|>=|<=|>|<)\s*(\d+(?:\.\d+)*)(\.\*)?\s*$")


def python_satisfies(spec: str, have: tuple[int, ...] = tuple(sys.version_info[:3])) -> bool:
    """A small PEP 440 subset for ``requires-python``: >= > <= < == != ~= and ==X.Y.*"""
    for clause in spec.split(","):
        if not clause.strip():
            continue
        m = _PY_CLAUSE.match(clause)
        if not m:
            raise ImageError(f"cannot understand the image's Python requirement {spec!r}")
        op, text, wildcard = m.groups()
        want = tuple(int(x) for x in text.split("."))
        if wildcard:
            if op not in ("==", "!="):
                raise ImageError(f"cannot understand the image's Python requirement {spec!r}")
            ok = (tuple(have[:len(want)]) == want) == (op == "==")
        else:
            n = max(len(want), len(have))
            a, b = tuple(have) + (0,) * (n - len(have)), want + (0,) * (n - len(want))
            ok = {"==": a == b, "!=": a != b, ">=": a >= b, "<=": a <= b, ">": a > b,
                  "<": a < b,
                  "~=": a >= b and len(want) > 1 and tuple(have[:len(want) - 1]) == want[:-1]
                  }[op]
        if not ok:
            return False
    return True


def _major(version: str) -> int | str:
    m = re.match(r"\s*v?(\d+)", version)
    return int(m.group(1)) if m else version.strip()


def check_dependencies(deps: dict[str, str]) -> None:
    """Every package the image was built against is installed here with the same major."""
    for name, want in sorted(deps.items()):
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            raise ImageError(f"image needs {name} {want}, "
                             "which is not installed on this phone") from None
        if _major(have) != _major(want):
            raise ImageError(f"image needs {name} {want}, this phone has {name} {have} "
                             "(major version differs)")


# -- slots: the trees manifests describe -------------------------------------------------------
def manifest_sha256(slot_dir: Path) -> str:
    """sha256 hex of a slot's manifest.json bytes (what a delta's base names)."""
    try:
        data = (Path(slot_dir) / MANIFEST_NAME).read_bytes()
    except OSError as e:
        raise ImageError(f"no readable {MANIFEST_NAME} in {slot_dir}: {e.strerror}") from None
    return hashlib.sha256(data).hexdigest()


def slot_version(slot_dir: Path) -> str | None:
    """The version of the tree in a slot, or None if it holds no readable manifest."""
    try:
        version = json.loads((Path(slot_dir) / MANIFEST_NAME).read_bytes()).get("version")
    except (OSError, ValueError, AttributeError):
        return None
    return version if isinstance(version, str) else None


def verify_slot(slot_dir: Path) -> Manifest:
    """Check a slot tree against its own manifest.json: every listed file is a regular file
    with the listed size and sha256, and nothing else is there (``__pycache__`` directories,
    which Python writes into a tree it ran from, are ignored). Returns the manifest."""
    slot_dir = Path(slot_dir)
    try:
        manifest = parse_manifest((slot_dir / MANIFEST_NAME).read_bytes())
    except OSError as e:
        raise ImageError(f"no readable {MANIFEST_NAME} in {slot_dir}: {e.strerror}") from None
    files = manifest["files"]
    for root, dirs, names in os.walk(slot_dir):
        rel = Path(root).relative_to(slot_dir)
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for n in names + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            name = (rel / n).as_posix()
            if name != MANIFEST_NAME and name not in files:
                raise ImageError(f"slot {slot_dir.name} has a file its manifest does not list: "
                                 f"{name}")
    for name, entry in files.items():
        p = slot_dir / name
        try:
            st = os.lstat(p)
        except OSError:
            raise ImageError(f"slot {slot_dir.name} lacks {name}") from None
        if not stat.S_ISREG(st.st_mode):
            raise ImageError(f"slot {slot_dir.name}: {name} is not a regular file")
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(CHUNK), b""):
                h.update(chunk)
        if st.st_size != entry["size"] or h.hexdigest() != entry["sha256"]:
            raise ImageError(f"slot {slot_dir.name}: {name} does not match its manifest")
    return manifest
