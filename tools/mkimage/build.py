"""Build signed firmware images (full or delta) from a source tree; the dev signing key.

An image is an MCUboot image (imgtool, ED25519) whose payload is a deterministic tar.xz:
``manifest.json`` first, then the tree's files in sorted order, with fixed mtime, owner and
modes, so the same tree, version and boards give the same bytes (ED25519 signatures are
deterministic too). Layout: firmware/update/image.py; manifest: firmware/update/manifest.py;
both in docs/update.md.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import lzma
import os
import re
import tarfile
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from firmware.update.image import (MANIFEST_NAME, MAX_SECURITY_COUNTER, ImageError,
                                   auto_security_counter, key_hash, parse_version)
from firmware.update.manifest import MANIFEST_FORMAT
from firmware.update.verify import inspect_image

PACKAGED_DIRS = ("firmware", "hal", "board")
PACKAGED_FILES = ("pyproject.toml",)
SKIP_DIRS = {"__pycache__", "tests", ".venv", "venv", "var", "out", "keys", "node_modules"}
SKIP_SUFFIXES = (".pyc", ".pyo", ".swp", ".swo", "~", ".orig", ".rej")
DEFAULT_KEY = Path("keys/dev-ed25519.pem")
VERSION_FILE = "firmware/version.py"     # what the running firmware reports (version, banner)
_VERSION_LINE = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.M)
HEADER_SIZE = 0x20
TAR_MTIME = 0                   # every member: mtime 0, uid/gid 0, no user/group names
XZ_MAX_DICT = 8 << 20           # the phone's decoder needs about this much memory at most


class BuildError(Exception):
    """Bad input for an image build; str() is one line for people."""


@dataclass(frozen=True)
class BuildResult:
    path: Path
    version: str
    kind: str                   # "full" | "delta"
    boards: tuple
    size: int                   # image bytes
    image_sha256: bytes         # the SHA-256 TLV (SMP image hash)
    files_total: int            # files of the resulting tree
    files_carried: int          # files in the payload
    base_version: str | None
    manifest: dict
    security_counter: int = 0   # the SEC_CNT TLV the phone's anti-rollback compares


# -- the tree ----------------------------------------------------------------------------------
def _skip_file(name: str) -> bool:
    return name.startswith(".") or name.endswith(SKIP_SUFFIXES)


def collect_files(tree: Path) -> list[str]:
    """The files that go into an image: firmware/, hal/ (with hal/sim/static), board/ and
    pyproject.toml; no caches, tests, venvs, state, outputs or keys. Sorted relative paths."""
    tree = Path(tree)
    names = []
    for top in PACKAGED_DIRS:
        for root, dirs, files in os.walk(tree / top):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith(".")
                             and not d.endswith(".egg-info"))
            for n in dirs + files:
                p = Path(root) / n
                if p.is_symlink():
                    raise BuildError(f"{p.relative_to(tree)} is a symlink: images carry regular "
                                     "files only")
            for n in files:
                p = Path(root) / n
                if _skip_file(n):
                    continue
                if not p.is_file():
                    raise BuildError(f"{p.relative_to(tree)} is not a regular file")
                names.append(p.relative_to(tree).as_posix())
    for n in PACKAGED_FILES:
        if (tree / n).is_file():
            names.append(n)
    return sorted(names)


def tree_version(tree: Path) -> str:
    """firmware.version.__version__ of the tree (read, not imported: --tree may be elsewhere)."""
    path = Path(tree) / VERSION_FILE
    try:
        m = _VERSION_LINE.search(path.read_text())
    except OSError as e:
        raise BuildError(f"cannot read {path}: {e.strerror}; pass --version") from None
    if not m:
        raise BuildError(f"no __version__ in {path}; pass --version")
    return m.group(1)


def stamp_version(source: bytes, version: str) -> bytes:
    """firmware/version.py saying ``version``: the image's one version is what the firmware
    built from it reports (console ``version``, the boot banner), whatever the tree said."""
    text, n = _VERSION_LINE.subn(f'__version__ = "{version}"', source.decode("utf-8"), count=1)
    if not n:
        raise BuildError(f"no __version__ in {VERSION_FILE}: cannot stamp {version} into it")
    return text.encode("utf-8")


def tree_boards(tree: Path) -> list[str]:
    """Board names: every board/<name>/board.toml of the tree."""
    return sorted(p.parent.name for p in (Path(tree) / "board").glob("*/board.toml"))


def project_requirements(tree: Path) -> tuple[str | None, list[str]]:
    """(requires-python, runtime dependency names) from the tree's pyproject.toml."""
    path = Path(tree) / "pyproject.toml"
    if not path.is_file():
        return None, []
    try:
        project = tomllib.loads(path.read_text()).get("project", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise BuildError(f"{path}: not valid TOML ({e})") from None
    names = []
    for req in project.get("dependencies", []):
        m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
        if not m:
            raise BuildError(f"{path}: cannot read the dependency {req!r}")
        names.append(m.group(1))
    return project.get("requires-python"), names


def installed_versions(names) -> dict[str, str]:
    """The versions installed here (what the image was built and tested against)."""
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            raise BuildError(f"dependency {name} is not installed here, so the image cannot "
                             "record its version (pip install -e .)") from None
    return out


def file_entry(data: bytes, mode: int) -> dict:
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
            "mode": 0o755 if mode & 0o111 else 0o644}


def manifest_bytes(manifest: dict) -> bytes:
    """The canonical bytes; installed slots keep exactly these (delta bases hash them)."""
    return (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode("utf-8")


# -- payload and signature ---------------------------------------------------------------------
def make_payload(manifest_data: bytes, files) -> bytes:
    """tar.xz of manifest.json then ``files`` ((name, data, mode), in the order given)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data, mode in [(MANIFEST_NAME, manifest_data, 0o644), *files]:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, TAR_MTIME
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tf.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    dict_size = max(1 << 16, min(XZ_MAX_DICT, 1 << (len(raw) - 1).bit_length()))
    return lzma.compress(raw, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, filters=[
        {"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME, "dict_size": dict_size}])


def sign_payload(payload: bytes, version: str, key_path: Path,
                 security_counter: int | None = None) -> bytes:
    """An MCUboot image of ``payload`` signed with the ED25519 private key at ``key_path``,
    through imgtool's Python API (the same code as ``imgtool sign --key K --header-size 0x20
    --pad-header --align 4 --version V [--security-counter N]``): the SEC_CNT protected TLV
    when a counter is given, SHA256, KEYHASH and ED25519 TLVs, no trailer padding."""
    from imgtool import image as imgtool_image  # host-side only: not needed on the phone
    from imgtool import keys as imgtool_keys
    from imgtool.version import decode_version

    check_version(version)
    key = load_private_key(key_path)
    img = imgtool_image.Image(version=decode_version(version), header_size=HEADER_SIZE,
                              pad_header=True, align=4, security_counter=security_counter)
    with tempfile.TemporaryDirectory(prefix="mkimage-") as tmp:
        raw = Path(tmp) / "payload.bin"
        raw.write_bytes(payload)
        img.load(str(raw))
    with contextlib.redirect_stdout(io.StringIO()):    # imgtool prints "sign the digest"
        img.create(imgtool_keys.Ed25519(key), "hash", None)
    return bytes(img.payload)


def security_counter_for(version: str, counter: int | str | None) -> int:
    """The counter an image gets: ``auto`` (or None) derives it from the version as imgtool
    does; a number (decimal or 0x...) is taken as is."""
    if counter is None or (isinstance(counter, str) and counter.strip().lower() == "auto"):
        return auto_security_counter(version)
    if isinstance(counter, str):
        try:
            counter = int(counter, 0)
        except ValueError:
            raise BuildError(f"security counter {counter!r} is not a number or 'auto'") from None
    if type(counter) is not int or not 0 <= counter <= MAX_SECURITY_COUNTER:
        raise BuildError(f"security counter {counter!r} does not fit "
                         f"(0 to {MAX_SECURITY_COUNTER})")
    return counter


def check_version(version: str) -> None:
    try:
        parse_version(version)
    except ValueError as e:
        raise BuildError(f"{e} (an MCUboot header holds u8.u8.u16+u32)") from None


# -- keys --------------------------------------------------------------------------------------
def public_key_path(key_path: Path) -> Path:
    """keys/dev-ed25519.pem -> keys/dev-ed25519.pub.pem"""
    key_path = Path(key_path)
    stem = key_path.name[:-4] if key_path.name.endswith(".pem") else key_path.name
    return key_path.with_name(stem + ".pub.pem")


def _write_private(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), mode)
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def keygen(key_path: Path = DEFAULT_KEY, force: bool = False) -> tuple[Path, Path]:
    """A new ED25519 key pair: the private key (PKCS#8 PEM, mode 0600) and its public half."""
    key_path = Path(key_path)
    pub_path = public_key_path(key_path)
    if key_path.exists() and not force:
        raise BuildError(f"{key_path} already exists (--force replaces it; images signed with "
                         "it would then no longer verify)")
    key_path.parent.mkdir(parents=True, exist_ok=True)
    key = ed25519.Ed25519PrivateKey.generate()
    _write_private(key_path, key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()), 0o600)
    _write_private(pub_path, key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo), 0o644)
    return key_path, pub_path


def load_private_key(key_path: Path) -> ed25519.Ed25519PrivateKey:
    try:
        data = Path(key_path).read_bytes()
    except OSError as e:
        raise BuildError(f"cannot read key {key_path}: {e.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise BuildError(f"{key_path}: password-protected keys are not supported") from None
    except (ValueError, UnsupportedAlgorithm) as e:
        raise BuildError(f"{key_path}: not a PEM private key ({e})") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise BuildError(f"{key_path}: not an ED25519 private key")
    return key


def load_public_pem(path: Path) -> bytes:
    """The public key PEM from a public key file, or derived from a private key file."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise BuildError(f"cannot read key {path}: {e.strerror}") from None
    if b"PRIVATE KEY" in data:
        data = load_private_key(path).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return data


# -- the build ---------------------------------------------------------------------------------
def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def build_image(tree: Path, out: Path, key: Path, *, version: str | None = None,
                boards=None, files=None, dependencies: dict | None = None,
                python: str | None = None, delta_from: Path | None = None,
                security_counter: int | str | None = "auto",
                log: Callable[[str], None] | None = None) -> BuildResult:
    """Build and sign an image of ``tree`` into ``out``.

    version: default the tree's firmware/version.py; another version is stamped into the
    image's copy of that file, so the firmware reports the image's version. boards: default
    every board/*/board.toml.
    files: default collect_files(tree). dependencies/python: default the installed versions
    of pyproject.toml's runtime dependencies and its requires-python. delta_from: a previous
    image (full or delta): the payload then carries only new or changed files, and the
    manifest's base names that image's version and manifest.json hash. security_counter:
    "auto" (default: from the version, as imgtool's auto) or a number; phones refuse images
    whose counter is below theirs (docs/update.md, "Anti-rollback")."""
    say = log or (lambda _msg: None)
    tree, out = Path(tree), Path(out)
    tree_ver = None
    if (tree / VERSION_FILE).is_file():
        tree_ver = tree_version(tree)
    version = version or tree_ver
    if not version:
        raise BuildError(f"{tree} has no firmware/version.py; pass --version")
    check_version(version)
    counter = security_counter_for(version, security_counter)

    known = tree_boards(tree)
    boards = sorted(set(boards)) if boards else known
    if not boards:
        raise BuildError(f"{tree} has no board/*/board.toml; pass --board")
    unknown = [b for b in boards if known and b not in known]
    if unknown:
        raise BuildError(f"unknown board {unknown[0]} (the tree has: {', '.join(known)})")

    py_req, dep_names = project_requirements(tree)
    python = python or py_req
    if not python:
        raise BuildError(f"{tree / 'pyproject.toml'} has no [project] requires-python")
    if dependencies is None:
        dependencies = installed_versions(dep_names)

    names = sorted(files) if files is not None else collect_files(tree)
    if not names:
        raise BuildError(f"no files to package under {tree}")
    contents, entries = {}, {}
    for name in names:
        p = tree / name
        try:
            contents[name] = p.read_bytes()
            entries[name] = file_entry(contents[name], p.stat().st_mode)
        except OSError as e:
            raise BuildError(f"cannot read {p}: {e.strerror}") from None
    if VERSION_FILE in contents and tree_ver != version:
        contents[VERSION_FILE] = stamp_version(contents[VERSION_FILE], version)
        entries[VERSION_FILE] = file_entry(contents[VERSION_FILE], entries[VERSION_FILE]["mode"])
        say(f"{VERSION_FILE}: the tree says {tree_ver}; the image's copy says {version}")
    say(f"tree {tree}: {len(names)} files, {sum(map(len, contents.values())):,} bytes")

    base, carried = None, names
    if delta_from is not None:
        try:
            old = inspect_image(Path(delta_from))
        except ImageError as e:
            raise BuildError(f"--delta-from {delta_from}: {e}") from None
        old_files = old.info.manifest["files"]
        carried = [n for n in names if old_files.get(n, {}).get("sha256") != entries[n]["sha256"]]
        base = {"version": old.info.version,
                "manifest_sha256": hashlib.sha256(old.manifest_bytes).hexdigest()}
        removed = len(set(old_files) - set(names))
        say(f"delta from {old.info.version} ({delta_from}): {len(carried)} new or changed, "
            f"{removed} removed, {len(names) - len(carried)} taken from the phone's slot")

    manifest = {"format": MANIFEST_FORMAT, "kind": "delta" if base else "full",
                "version": version, "boards": boards, "base": base,
                "security_counter": counter, "python": python,
                "dependencies": dict(sorted(dependencies.items())), "files": entries}
    payload = make_payload(manifest_bytes(manifest),
                           [(n, contents[n], entries[n]["mode"]) for n in carried])
    say(f"payload: tar.xz of manifest.json + {len(carried)} file{'s' * (len(carried) != 1)}, "
        f"{len(payload):,} bytes")
    data = sign_payload(payload, version, key, counter)
    pub = load_public_pem(key)
    _write_atomic(out, data)
    try:
        check = inspect_image(out, pub)
    except ImageError as e:
        raise BuildError(f"the built image does not parse back: {e}") from None
    if not check.signature_ok:
        raise BuildError(f"the built image does not verify: {check.signature}")
    if check.info.security_counter != counter:
        raise BuildError(f"the built image has security counter {check.info.security_counter}, "
                         f"not {counter}")
    say(f"signed with {key} (ed25519, key hash {key_hash(pub).hex()[:16]}), "
        f"security counter {counter}")
    return BuildResult(path=out, version=version, kind=manifest["kind"], boards=tuple(boards),
                       size=len(data), image_sha256=check.info.image_sha256,
                       files_total=len(names), files_carried=len(carried),
                       base_version=base and base["version"], manifest=manifest,
                       security_counter=counter)
