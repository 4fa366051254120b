"""Signed firmware images: parse, verify, and build a slot's tree from one.

Image layout (MCUboot format as written by imgtool 2.5; all integers little endian):

    offset 0        image header, 32 bytes
                      u32 magic 0x96f3b83d   u32 load_addr 0
                      u16 hdr_size 32        u16 protect_tlv_size P (12 with a counter)
                      u32 img_size (payload bytes)
                      u32 flags 0
                      u8 major  u8 minor  u16 revision  u32 build      (the image version)
                      u32 pad 0
    offset 32       payload, img_size bytes: a tar archive, xz-compressed:
                      manifest.json first, then the files (regular files only)
    offset 32+N     protected TLV area (P bytes, none if P is 0): u16 magic 0x6908, u16 P,
                    then TLVs; ours: 0x50 SEC_CNT 4 bytes, u32 the image's security counter
    offset 32+N+P   TLV area: u16 magic 0x6907, u16 total length (these 4 bytes included),
                    then TLVs, each u16 type, u16 length, value:
                      0x10 SHA256   32 bytes: SHA-256 of header + payload + protected TLVs
                      0x01 KEYHASH  32 bytes: SHA-256 of the signer's public key (DER SPKI)
                      0x24 ED25519  64 bytes: Ed25519 signature of the 32-byte SHA-256 digest
    end             nothing follows the TLVs (the file is N + P + 176 bytes)

The SHA-256 TLV is the image "hash" that SMP reports. The signature covers the digest, so it
covers the header (version), the payload and the protected TLVs (the security counter); the
TLV area itself is not signed (MCUboot design), which is why the parser accepts only the TLVs
above, each once, with their exact lengths, and no trailing bytes: any bit flipped anywhere in
an image makes it fail verification.

Anti-rollback: an image without a SEC_CNT TLV has security counter 0. verify_image refuses an
image whose counter is below the phone's (``min_security_counter``) right after the signature
checks; the manifest's ``security_counter`` (what a slot keeps, for the launcher) must equal
the TLV.

An image's payload is parsed only after its signature verified; sizes read from the header are
bounds-checked against the file before anything is read at those offsets.

Manifest (see docs/update.md): ``{"format": 1, "kind": "full"|"delta", "version", "boards",
"base": null | {"version", "manifest_sha256"}, "python", "dependencies", "files": {path:
{"sha256", "size", "mode"}}}``. ``files`` lists EVERY file of the resulting tree, also for a
delta, whose payload carries only the changed files. A slot's ``manifest.json`` is byte for byte
the ``manifest.json`` of the image it was built from, so ``manifest_sha256(slot)`` is the base
hash a delta built against that image names.
"""
from __future__ import annotations

import hashlib
import io
import json
import lzma
import os
import re
import shutil
import stat
import struct
import sys
import tarfile
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from .slots import below_counter

KiB, MiB = 1 << 10, 1 << 20
MAX_IMAGE_SIZE = 64 * MiB

IMAGE_MAGIC = 0x96F3B83D
HEADER = struct.Struct("<IIHHIIBBHII")          # 32 bytes
TLV_HEAD = struct.Struct("<HH")                 # TLV info (magic, total) and TLV (type, len)
TLV_INFO_MAGIC = 0x6907
TLV_PROT_INFO_MAGIC = 0x6908
TLV_KEYHASH, TLV_PUBKEY, TLV_SHA256, TLV_ED25519 = 0x01, 0x02, 0x10, 0x24
TLV_SEC_CNT = 0x50                               # protected: the security counter, u32
MAX_SECURITY_COUNTER = 0xFFFFFFFF
_TLV_LENGTHS = {TLV_KEYHASH: 32, TLV_SHA256: 32, TLV_ED25519: 64, TLV_PUBKEY: None}
_FLAG_NAMES = {0x01: "PIC", 0x04: "ENCRYPTED_AES128", 0x08: "ENCRYPTED_AES256",
               0x10: "NON_BOOTABLE", 0x20: "RAM_LOAD", 0x100: "ROM_FIXED",
               0x200: "COMPRESSED_LZMA1", 0x400: "COMPRESSED_LZMA2", 0x800: "COMPRESSED_ARM_THUMB"}

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1
MAX_MANIFEST = 4 * MiB
KINDS = ("full", "delta")
_CHUNK = 1 * MiB
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
# imgtool's version grammar: MAJOR[.MINOR[.REVISION[+BUILD]]]; u8.u8.u16+u32 in the header
_VERSION = re.compile(r"^(0|[1-9]\d*)(?:\.(0|[1-9]\d*)(?:\.(0|[1-9]\d*)(?:\+(0|[1-9]\d*))?)?)?$")
_VERSION_LIMITS = (0xFF, 0xFF, 0xFFFF, 0xFFFFFFFF)


class ImageError(Exception):
    """An image was rejected; str() is one line meant for people (shown on the phone and host)."""


class RollbackError(ImageError):
    """The image's security counter is below the phone's (anti-rollback)."""


@dataclass(frozen=True)
class ImageInfo:
    version: str                        # the manifest's version, e.g. "0.2.0"
    kind: str                           # "full" | "delta"
    boards: tuple                       # boards the image runs on
    base_version: str | None            # delta: the version it applies to
    base_manifest_sha256: str | None    # delta: sha256 hex of that slot's manifest.json bytes
    image_sha256: bytes                 # the SHA-256 TLV (the SMP image hash)
    size: int                           # bytes in the image file
    manifest: dict
    security_counter: int = 0           # the SEC_CNT TLV (0 without one)


@dataclass(frozen=True)
class Inspection:
    """What ``inspect_image`` found: for tools (mkimage show, delta builds), not for the phone."""
    info: ImageInfo
    manifest_bytes: bytes
    header_version: str
    signature: str                      # "ok", "not checked", or why it failed
    payload_files: tuple | None         # names carried in the payload (list_payload=True)
    has_security_counter: bool = False  # a SEC_CNT TLV is there (else the counter is 0)

    @property
    def signature_ok(self) -> bool:
        return self.signature == "ok"


# -- versions ----------------------------------------------------------------------------------
def parse_version(text: str) -> tuple[int, int, int, int]:
    """'0.2.0' or '1.2.3+4' -> (major, minor, revision, build); ValueError if the MCUboot header
    cannot hold it (imgtool's grammar; u8.u8.u16+u32)."""
    m = _VERSION.match(text) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"version {text!r} is not MAJOR.MINOR.REVISION[+BUILD]")
    parts = tuple(int(g) if g else 0 for g in m.groups())
    for value, limit, what in zip(parts, _VERSION_LIMITS, ("major", "minor", "revision", "build")):
        if value > limit:
            raise ValueError(f"version {text!r}: {what} {value} does not fit (at most {limit})")
    return parts


def auto_security_counter(version: str) -> int:
    """imgtool's ``--security-counter auto``: (major << 24) + (minor << 16) + revision."""
    major, minor, revision, _build = parse_version(version)
    return (major << 24) + (minor << 16) + revision


def format_version(parts) -> str:
    major, minor, revision, build = parts
    return f"{major}.{minor}.{revision}" + (f"+{build}" if build else "")


def _human(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", MiB), ("KiB", KiB)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def _too_large(size: int, max_size: int) -> ImageError:
    return ImageError(f"image too large: {_human(size)} ({size:,} bytes), "
                      f"a slot holds at most {_human(max_size)}")


# -- header and TLVs ---------------------------------------------------------------------------
def read_header(data: bytes, max_size: int | None = None) -> tuple[str, int]:
    """Cheap check of an image's first bytes (at least 32): -> (version, size).

    ``size`` is what the header accounts for: header + payload (+ protected TLVs), i.e. where
    the TLV area starts; a complete image is that plus its TLV area (144 bytes for ours).
    Raises ImageError for anything that is not a plain MCUboot header, or (with max_size) an
    image that cannot fit."""
    if len(data) < HEADER.size:
        raise ImageError(f"not an MCUboot image (only {len(data)} bytes, "
                         f"a header is {HEADER.size})")
    (magic, _load, hdr_size, prot_size, img_size, flags,
     major, minor, revision, build, _pad) = HEADER.unpack_from(data)
    if magic != IMAGE_MAGIC:
        raise ImageError("not an MCUboot image (bad magic)")
    if hdr_size < HEADER.size:
        raise ImageError(f"bad MCUboot header: header size {hdr_size} < {HEADER.size}")
    if flags:
        names = [n for bit, n in _FLAG_NAMES.items() if flags & bit] or [f"0x{flags:x}"]
        raise ImageError(f"unsupported MCUboot image flags: {', '.join(names)} "
                         "(this phone takes plain signed images)")
    if prot_size and prot_size < TLV_HEAD.size:
        raise ImageError(f"bad MCUboot header: protected TLV size {prot_size}")
    size = hdr_size + img_size + prot_size
    if max_size is not None and size + TLV_HEAD.size > max_size:
        raise _too_large(size + TLV_HEAD.size, max_size)
    return format_version((major, minor, revision, build)), size


def _parse_tlvs(area: bytes, what: str, known_only: bool) -> dict[int, bytes]:
    tlvs: dict[int, bytes] = {}
    off = 0
    while off < len(area):
        if off + TLV_HEAD.size > len(area):
            raise ImageError(f"bad {what}: a TLV header runs past its end")
        kind, length = TLV_HEAD.unpack_from(area, off)
        off += TLV_HEAD.size
        if off + length > len(area):
            raise ImageError(f"bad {what}: TLV 0x{kind:02x} runs past its end")
        if known_only:
            if kind not in _TLV_LENGTHS:
                raise ImageError(f"bad {what}: unexpected TLV 0x{kind:02x}")
            want = _TLV_LENGTHS[kind]
            if want is not None and length != want:
                raise ImageError(f"bad {what}: TLV 0x{kind:02x} has {length} bytes, "
                                 f"expected {want}")
            if kind in tlvs:
                raise ImageError(f"bad {what}: TLV 0x{kind:02x} appears twice")
        tlvs[kind] = area[off:off + length]
        off += length
    return tlvs


@dataclass(frozen=True)
class _Layout:
    size: int                   # file bytes
    hdr_size: int
    img_size: int               # payload bytes
    body_end: int               # end of the hashed region
    header_version: str
    tlvs: dict
    security_counter: int | None        # the protected SEC_CNT TLV, None without one


def _parse(path: Path, max_size: int) -> _Layout:
    """Structure and hash: everything that needs no key."""
    try:
        f = open(path, "rb")
    except OSError as e:
        raise ImageError(f"cannot read image {path}: {e.strerror}") from None
    with f:
        size = os.fstat(f.fileno()).st_size
        if size > max_size:
            raise _too_large(size, max_size)
        head = f.read(HEADER.size)
        version, body_end = read_header(head, max_size)
        _m, _l, hdr_size, prot_size, img_size, *_ = HEADER.unpack_from(head)
        if body_end + TLV_HEAD.size > size:
            raise ImageError(f"image truncated: header says {body_end + TLV_HEAD.size} bytes "
                             f"or more, got {size}")
        if prot_size:
            f.seek(hdr_size + img_size)
            prot = f.read(prot_size)
            magic, total = TLV_HEAD.unpack_from(prot)
            if magic != TLV_PROT_INFO_MAGIC or total != prot_size:
                raise ImageError("bad protected TLV area")
            counter = _security_counter(prot[TLV_HEAD.size:])
        else:
            counter = None
        f.seek(body_end)
        magic, total = TLV_HEAD.unpack(f.read(TLV_HEAD.size))
        if magic != TLV_INFO_MAGIC:
            raise ImageError("not a signed MCUboot image (no TLV area after the payload)")
        if total < TLV_HEAD.size:
            raise ImageError(f"bad TLV area: length {total}")
        if body_end + total > size:
            raise ImageError(f"image truncated: header says {body_end + total} bytes, "
                             f"got {size}")
        if body_end + total < size:
            raise ImageError(f"{size - body_end - total} unexpected bytes after the image's TLVs")
        tlvs = _parse_tlvs(f.read(total - TLV_HEAD.size), "TLV area", known_only=True)
        if TLV_SHA256 not in tlvs:
            raise ImageError("image has no SHA-256 TLV")
        f.seek(0)
        h, left = hashlib.sha256(), body_end
        while left:
            chunk = f.read(min(_CHUNK, left))
            if not chunk:
                raise ImageError(f"image truncated while reading: header says {size} bytes")
            h.update(chunk)
            left -= len(chunk)
    if h.digest() != tlvs[TLV_SHA256]:
        raise ImageError("image is corrupt: its bytes do not match its SHA-256")
    return _Layout(size, hdr_size, img_size, body_end, version, tlvs, counter)


def _security_counter(area: bytes) -> int | None:
    """The SEC_CNT TLV of a protected TLV area (other protected TLVs are signed, and left be)."""
    values = []
    off = 0
    while off < len(area):
        if off + TLV_HEAD.size > len(area):
            raise ImageError("bad protected TLV area: a TLV header runs past its end")
        kind, length = TLV_HEAD.unpack_from(area, off)
        off += TLV_HEAD.size
        if off + length > len(area):
            raise ImageError(f"bad protected TLV area: TLV 0x{kind:02x} runs past its end")
        if kind == TLV_SEC_CNT:
            if length != 4:
                raise ImageError(f"bad security counter TLV: {length} bytes, expected 4")
            values.append(struct.unpack_from("<I", area, off)[0])
        off += length
    if len(values) > 1:
        raise ImageError("bad protected TLV area: two security counter TLVs")
    return values[0] if values else None


def check_security_counter(counter: int, floor: int) -> None:
    """RollbackError if an image's counter is below the phone's ``floor``."""
    if counter < floor:
        raise RollbackError(below_counter("image", counter, floor))


# -- signature ---------------------------------------------------------------------------------
def _public_key(pem: bytes) -> tuple[ed25519.Ed25519PublicKey, bytes]:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ImageError("this phone's public key is not a PEM public key") from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise ImageError("this phone's public key is not an ED25519 key")
    der = key.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return key, der


def key_hash(public_key_pem: bytes) -> bytes:
    """The KEYHASH TLV value for a public key: SHA-256 of its DER SubjectPublicKeyInfo."""
    return hashlib.sha256(_public_key(public_key_pem)[1]).digest()


def _check_signature(layout: _Layout, public_key_pem: bytes) -> None:
    key, der = _public_key(public_key_pem)
    sig = layout.tlvs.get(TLV_ED25519)
    if sig is None:
        raise ImageError("image is not signed (no ED25519 signature TLV)")
    ours = hashlib.sha256(der).digest()
    theirs = layout.tlvs.get(TLV_KEYHASH)
    if theirs is not None and theirs != ours:
        raise ImageError("image signature does not verify with this phone's key (signed with "
                         f"key {theirs.hex()[:16]}, this phone has {ours.hex()[:16]})")
    if TLV_PUBKEY in layout.tlvs and layout.tlvs[TLV_PUBKEY] != der:
        raise ImageError("image signature does not verify with this phone's key "
                         "(signed with another key)")
    try:
        key.verify(sig, layout.tlvs[TLV_SHA256])   # imgtool signs the digest, not the image
    except InvalidSignature:
        raise ImageError("image signature does not verify with this phone's key") from None


# -- payload -----------------------------------------------------------------------------------
class _Slice(io.RawIOBase):
    """Reads bytes [start, start+length) of an open file."""

    def __init__(self, f, start: int, length: int):
        self._f, self._pos, self._left = f, start, length

    def readable(self):
        return True

    def readinto(self, b):
        if self._left <= 0:
            return 0
        self._f.seek(self._pos)
        data = self._f.read(min(len(b), self._left))
        b[:len(data)] = data
        self._pos += len(data)
        self._left -= len(data)
        return len(data)


@contextmanager
def _open_payload(path: Path, layout: _Layout):
    """The payload as a streaming tarfile (decompressed as it is read: bounded memory)."""
    with open(path, "rb") as f:
        stream = io.BufferedReader(_Slice(f, layout.hdr_size, layout.img_size), _CHUNK)
        try:
            with tarfile.open(fileobj=stream, mode="r|xz") as tf:
                yield tf
        except (tarfile.TarError, lzma.LZMAError, EOFError) as e:
            raise ImageError(f"image payload is not a valid tar.xz archive ({e})") from None


def _read_manifest_member(tf: tarfile.TarFile) -> bytes:
    member = tf.next()
    if member is None or member.name != MANIFEST_NAME or not member.isreg():
        raise ImageError("image payload does not start with manifest.json")
    if member.size > MAX_MANIFEST:
        raise ImageError(f"manifest.json too large ({member.size:,} bytes)")
    data = tf.extractfile(member).read()
    if len(data) != member.size:
        raise ImageError("image payload truncated in manifest.json")
    return data


def _safe_path(name) -> str:
    """A relative path that stays inside the slot: no absolute paths, '..', '.', empty parts."""
    if (not isinstance(name, str) or not name or name.startswith("/") or "\\" in name
            or "\x00" in name or any(p in ("", ".", "..") for p in name.split("/"))):
        raise ImageError(f"unsafe path in image: {name!r}")
    return name


def _check_manifest(m) -> dict:
    def bad(problem):
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
    dirs = set()
    for name, entry in files.items():
        _safe_path(name)
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


def _parse_manifest(data: bytes) -> dict:
    try:
        m = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ImageError(f"manifest.json is not valid JSON ({e})") from None
    return _check_manifest(m)


def _info(layout: _Layout, manifest: dict) -> ImageInfo:
    if parse_version(manifest["version"]) != parse_version(layout.header_version):
        raise ImageError(f"image header says version {layout.header_version}, "
                         f"its manifest says {manifest['version']}")
    counter = layout.security_counter or 0
    if manifest.get("security_counter", 0) != counter:
        raise ImageError(f"image security counter TLV says {counter}, its manifest says "
                         f"{manifest.get('security_counter', 0)}")
    base = manifest.get("base") or {}
    return ImageInfo(version=manifest["version"], kind=manifest["kind"],
                     boards=tuple(manifest["boards"]), base_version=base.get("version"),
                     base_manifest_sha256=base.get("manifest_sha256"),
                     image_sha256=layout.tlvs[TLV_SHA256], size=layout.size, manifest=manifest,
                     security_counter=counter)


# -- compatibility with this phone -------------------------------------------------------------
_PY_CLAUSE = re.compile(r"^\s*(~=|==|!=|>=|<=|>|<)\s*(\d+(?:\.\d+)*)(\.\*)?\s*$")


def python_satisfies(spec: str, have: tuple = tuple(sys.version_info[:3])) -> bool:
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


def _major(version: str):
    m = re.match(r"\s*v?(\d+)", version)
    return int(m.group(1)) if m else version.strip()


def check_dependencies(deps: dict) -> None:
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


def check_base(info: ImageInfo, base_dir: Path) -> None:
    """A delta applies only to the exact tree it was built against (by manifest hash)."""
    if info.kind != "delta":
        return
    try:
        have = manifest_sha256(base_dir)
    except ImageError:
        have = None
    if have != info.base_manifest_sha256:
        runs = slot_version(base_dir) or "an unknown version"
        detail = ""
        if runs == info.base_version:
            detail = (f" (another build: manifest {(have or '?')[:12]}, "
                      f"the delta wants {info.base_manifest_sha256[:12]})")
        raise ImageError(f"delta is for base {info.base_version}, this phone runs {runs}{detail}")


# -- public entry points -----------------------------------------------------------------------
def inspect_image(path: Path, public_key_pem: bytes | None = None,
                  max_size: int = MAX_IMAGE_SIZE, list_payload: bool = False) -> Inspection:
    """Structure, hash and manifest, plus the signature if a key is given, without failing on
    it (for host tools; the phone uses verify_image)."""
    path = Path(path)
    layout = _parse(path, max_size)
    signature = "not checked"
    if public_key_pem is not None:
        try:
            _check_signature(layout, public_key_pem)
            signature = "ok"
        except ImageError as e:
            signature = str(e)
    names = None
    with _open_payload(path, layout) as tf:
        data = _read_manifest_member(tf)
        if list_payload:
            names = tuple(m.name for m in iter(tf.next, None))
    info = _info(layout, _parse_manifest(data))
    return Inspection(info, data, layout.header_version, signature, names,
                      layout.security_counter is not None)


def verify_image(path: Path, public_key_pem: bytes, board: str,
                 max_size: int = MAX_IMAGE_SIZE, *, base_dir: Path | None = None,
                 min_security_counter: int = 0) -> ImageInfo:
    """Everything that can be checked before writing a slot; ImageError on any failure.

    Order: size bounds, header, TLV structure, SHA-256 over the bytes, ED25519 signature with
    ``public_key_pem``, the security counter against ``min_security_counter`` (the phone's;
    RollbackError) -- and only then the payload: manifest, board, Python, dependency
    majors. With ``base_dir`` (the running slot) a delta is also checked against it."""
    path = Path(path)
    layout = _parse(path, max_size)
    _check_signature(layout, public_key_pem)
    check_security_counter(layout.security_counter or 0, min_security_counter)
    with _open_payload(path, layout) as tf:
        data = _read_manifest_member(tf)
    info = _info(layout, _parse_manifest(data))
    if board not in info.boards:
        s = "s" if len(info.boards) > 1 else ""
        raise ImageError(f"image is for board{s} {', '.join(info.boards)}, this phone is {board}")
    need = info.manifest["python"]
    if not python_satisfies(need):
        raise ImageError(f"image needs Python {need}, this phone has "
                         f"{'.'.join(map(str, sys.version_info[:3]))}")
    check_dependencies(info.manifest["dependencies"])
    if base_dir is not None:
        check_base(info, Path(base_dir))
    return info


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


def verify_slot(slot_dir: Path) -> dict:
    """Check a slot tree against its own manifest.json: every listed file is a regular file
    with the listed size and sha256, and nothing else is there (``__pycache__`` directories,
    which Python writes into a tree it ran from, are ignored). Returns the manifest."""
    slot_dir = Path(slot_dir)
    try:
        manifest = _parse_manifest((slot_dir / MANIFEST_NAME).read_bytes())
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
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                h.update(chunk)
        if st.st_size != entry["size"] or h.hexdigest() != entry["sha256"]:
            raise ImageError(f"slot {slot_dir.name}: {name} does not match its manifest")
    return manifest


# -- install -----------------------------------------------------------------------------------
def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _rmtree(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


def _write_checked(src, dest: Path, entry: dict, mismatch: str) -> None:
    """Copy a stream into a new file, capped at the manifest size, checking its sha256."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                 | getattr(os, "O_CLOEXEC", 0), 0o600)
    h, n = hashlib.sha256(), 0
    with os.fdopen(fd, "wb") as out:
        while True:
            chunk = src.read(min(_CHUNK, entry["size"] - n + 1))
            if not chunk:
                break
            n += len(chunk)
            if n > entry["size"]:
                raise ImageError(mismatch)
            h.update(chunk)
            out.write(chunk)
        out.flush()
        os.fchmod(out.fileno(), entry["mode"] & 0o755)
        os.fsync(out.fileno())
    if n != entry["size"] or h.hexdigest() != entry["sha256"]:
        raise ImageError(mismatch)


def _extract(path: Path, layout: _Layout, info: ImageInfo, new: Path) -> set:
    files = info.manifest["files"]
    seen = set()
    with _open_payload(path, layout) as tf:
        data = _read_manifest_member(tf)
        if _parse_manifest(data) != info.manifest:
            raise ImageError("image changed since it was verified (manifest differs)")
        for member in iter(tf.next, None):
            name = _safe_path(member.name)
            if not member.isreg() or member.issparse():
                what = ("a symlink" if member.issym() else "a hard link" if member.islnk()
                        else "a device" if member.isdev() else "a directory" if member.isdir()
                        else "not a regular file")
                raise ImageError(f"unsafe member in image: {name!r} is {what}")
            if name not in files:
                raise ImageError(f"image payload has a file its manifest does not list: {name!r}")
            if name in seen:
                raise ImageError(f"image payload has {name!r} twice")
            seen.add(name)
            entry = files[name]
            if member.size != entry["size"]:
                raise ImageError(f"{name}: payload has {member.size} bytes, "
                                 f"the manifest says {entry['size']}")
            _write_checked(tf.extractfile(member), new / name, entry,
                           f"{name}: payload does not match the signed manifest")
    manifest_path = new / MANIFEST_NAME
    with open(manifest_path, "xb") as f:     # exactly the image's bytes: delta bases hash them
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return seen


def _copy_from_base(base_dir: Path, new: Path, name: str, entry: dict) -> None:
    src_path = base_dir / name
    try:
        st = os.stat(src_path)
    except OSError:
        raise ImageError(f"the running slot lacks {name}; install a full image") from None
    if not stat.S_ISREG(st.st_mode):
        raise ImageError(f"the running slot's {name} is not a regular file; "
                         "install a full image")
    with open(src_path, "rb") as src:
        _write_checked(src, new / name, entry,
                       f"the running slot's {name} does not match the delta's manifest "
                       "(modified or corrupt); install a full image")


def _same_dir(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def install_image(path: Path, info: ImageInfo, slot_dir: Path,
                  base_dir: Path | None = None) -> None:
    """Build a complete, verified tree in ``slot_dir`` from an image that verify_image passed.

    full: every file comes from the payload. delta: the payload's files, plus every other
    manifest file copied from ``base_dir`` (the running slot, whose manifest.json must hash to
    the delta's base). Every file is checked against the signed manifest (size and sha256) as
    it is written and once more when the tree is complete; nothing else may be in it.

    Crash safety: the tree is built in ``<slot>.new`` (a leftover is removed first), every file
    and directory fsynced, then ``<slot>`` is renamed to ``<slot>.old``, ``<slot>.new`` to
    ``<slot>``, the parent fsynced and ``<slot>.old`` removed. A power cut at any point leaves
    ``<slot>`` naming either its previous complete tree, the new complete tree, or nothing
    (between the two renames); ``.new``/``.old`` are garbage, removed by the next install. This
    is never the running slot (refused), so a lost ``<slot>`` only means "no image there".
    Raises ImageError on any failure, removing the partial ``.new``."""
    slot_dir, path = Path(slot_dir), Path(path)
    base = Path(base_dir) if base_dir is not None else None
    if info.kind == "delta":
        if base is None:
            raise ImageError("a delta image needs the running slot as its base")
        check_base(info, base)
    if base is not None and _same_dir(slot_dir, base):
        raise ImageError(f"refusing to install over the running slot {slot_dir}")
    layout = _parse(path, max(info.size, MAX_IMAGE_SIZE))
    if layout.tlvs[TLV_SHA256] != info.image_sha256:
        raise ImageError("image changed since it was verified")
    parent = slot_dir.parent
    new = parent / (slot_dir.name + ".new")
    old = parent / (slot_dir.name + ".old")
    files = info.manifest["files"]
    try:
        parent.mkdir(parents=True, exist_ok=True)
        _rmtree(new)
        need = sum(e["size"] for e in files.values()) + 4 * KiB * (len(files) + 1)
        free = shutil.disk_usage(parent).free
        if need > free:
            raise ImageError(f"not enough space for slot {slot_dir.name}: needs {_human(need)}, "
                             f"{_human(free)} free")
        new.mkdir()
        carried = _extract(path, layout, info, new)
        missing = sorted(set(files) - carried)
        if info.kind == "full" and missing:
            raise ImageError(f"image payload lacks {len(missing)} file(s) of its manifest, "
                             f"e.g. {missing[0]}")
        for name in missing:
            _copy_from_base(base, new, name, files[name])
        if verify_slot(new) != info.manifest:
            raise ImageError("the new slot's manifest does not match the image")
        for root, _dirs, _names in os.walk(new, topdown=False):
            _fsync_dir(Path(root))
        _rmtree(old)
        if slot_dir.exists() or slot_dir.is_symlink():
            os.rename(slot_dir, old)
        os.rename(new, slot_dir)
        _fsync_dir(parent)
    except ImageError:
        shutil.rmtree(new, ignore_errors=True)
        raise
    except OSError as e:
        shutil.rmtree(new, ignore_errors=True)
        raise ImageError(f"cannot build slot {slot_dir.name}: {e}") from None
    shutil.rmtree(old, ignore_errors=True)
    try:
        _fsync_dir(parent)
    except OSError:
        pass
