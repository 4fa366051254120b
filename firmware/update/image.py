"""The signed image container: header, TLVs, hash, signature and the payload stream.

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

Anti-rollback: an image without a SEC_CNT TLV has security counter 0 (``check_security_counter``
compares it with the phone's).

Sizes read from the header are bounds-checked against the file before anything is read at
those offsets. What the payload holds (the manifest) is manifest.py's; whether an image is for
this phone is verify.py's; building a slot from one is install.py's.
"""
from __future__ import annotations

import hashlib
import io
import lzma
import os
import re
import struct
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from .slots import below_counter

KiB, MiB = 1 << 10, 1 << 20
MAX_IMAGE_SIZE = 64 * MiB
CHUNK = 1 * MiB                                  # bytes read or written at a time

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

MANIFEST_NAME = "manifest.json"                 # the payload's first member
MAX_MANIFEST = 4 * MiB
# imgtool's version grammar: MAJOR[.MINOR[.REVISION[+BUILD]]]; u8.u8.u16+u32 in the header
_VERSION = re.compile(r"^(0|[1-9]\d*)(?:\.(0|[1-9]\d*)(?:\.(0|[1-9]\d*)(?:\+(0|[1-9]\d*))?)?)?$")
_VERSION_LIMITS = (0xFF, 0xFF, 0xFFFF, 0xFFFFFFFF)

Version = tuple[int, int, int, int]             # (major, minor, revision, build)


class ImageError(Exception):
    """An image was rejected; str() is one line meant for people (shown on the phone and host)."""


class RollbackError(ImageError):
    """The image's security counter is below the phone's (anti-rollback)."""


# -- versions ----------------------------------------------------------------------------------
def parse_version(text: object) -> Version:
    """'0.2.0' or '1.2.3+4' -> (major, minor, revision, build); ValueError if the MCUboot header
    cannot hold it (imgtool's grammar; u8.u8.u16+u32)."""
    m = _VERSION.match(text) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"version {text!r} is not MAJOR.MINOR.REVISION[+BUILD]")
    major, minor, revision, build = (int(g) if g else 0 for g in m.groups())
    parts = (major, minor, revision, build)
    for value, limit, what in zip(parts, _VERSION_LIMITS, ("major", "minor", "revision", "build")):
        if value > limit:
            raise ValueError(f"version {text!r}: {what} {value} does not fit (at most {limit})")
    return parts


def auto_security_counter(version: str) -> int:
    """imgtool's ``--security-counter auto``: (major << 24) + (minor << 16) + revision."""
    major, minor, revision, _build = parse_version(version)
    return (major << 24) + (minor << 16) + revision


def format_version(parts: Version) -> str:
    major, minor, revision, build = parts
    return f"{major}.{minor}.{revision}" + (f"+{build}" if build else "")


def human_size(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", MiB), ("KiB", KiB)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def _too_large(size: int, max_size: int) -> ImageError:
    return ImageError(f"image too large: {human_size(size)} ({size:,} bytes), "
                      f"a slot holds at most {human_size(max_size)}")


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
    size: int = hdr_size + img_size + prot_size
    if max_size is not None and size + TLV_HEAD.size > max_size:
        raise _too_large(size + TLV_HEAD.size, max_size)
    return format_version((major, minor, revision, build)), size


def _parse_tlvs(area: bytes, what: str) -> dict[int, bytes]:
    """The TLV area: only the TLVs we know, each once, with its exact length."""
    tlvs: dict[int, bytes] = {}
    off = 0
    while off < len(area):
        if off + TLV_HEAD.size > len(area):
            raise ImageError(f"bad {what}: a TLV header runs past its end")
        kind, length = TLV_HEAD.unpack_from(area, off)
        off += TLV_HEAD.size
        if off + length > len(area):
            raise ImageError(f"bad {what}: TLV 0x{kind:02x} runs past its end")
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
class Layout:
    """Where an image's parts lie, and its TLVs: what read_layout found."""
    size: int                   # file bytes
    hdr_size: int
    img_size: int               # payload bytes
    body_end: int               # end of the hashed region
    header_version: str
    tlvs: dict[int, bytes]
    security_counter: int | None        # the protected SEC_CNT TLV, None without one

    @property
    def image_sha256(self) -> bytes:
        return self.tlvs[TLV_SHA256]


def read_layout(path: Path, max_size: int) -> Layout:
    """Structure and hash: everything that needs no key. ImageError if either is wrong."""
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
        counter: int | None = None
        if prot_size:
            f.seek(hdr_size + img_size)
            prot = f.read(prot_size)
            magic, total = TLV_HEAD.unpack_from(prot)
            if magic != TLV_PROT_INFO_MAGIC or total != prot_size:
                raise ImageError("bad protected TLV area")
            counter = _security_counter(prot[TLV_HEAD.size:])
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
        tlvs = _parse_tlvs(f.read(total - TLV_HEAD.size), "TLV area")
        if TLV_SHA256 not in tlvs:
            raise ImageError("image has no SHA-256 TLV")
        f.seek(0)
        h, left = hashlib.sha256(), body_end
        while left:
            chunk = f.read(min(CHUNK, left))
            if not chunk:
                raise ImageError(f"image truncated while reading: header says {size} bytes")
            h.update(chunk)
            left -= len(chunk)
    if h.digest() != tlvs[TLV_SHA256]:
        raise ImageError("image is corrupt: its bytes do not match its SHA-256")
    return Layout(size, hdr_size, img_size, body_end, version, tlvs, counter)


def _security_counter(area: bytes) -> int | None:
    """The SEC_CNT TLV of a protected TLV area (other protected TLVs are signed, and left be)."""
    values: list[int] = []
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


def check_signature(layout: Layout, public_key_pem: bytes) -> None:
    """ImageError unless the image's ED25519 TLV signs its digest with this key."""
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

    def __init__(self, f: BinaryIO, start: int, length: int) -> None:
        self._f, self._pos, self._left = f, start, length

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._left <= 0:
            return 0
        self._f.seek(self._pos)
        data = self._f.read(min(len(b), self._left))
        b[:len(data)] = data
        self._pos += len(data)
        self._left -= len(data)
        return len(data)


@contextmanager
def open_payload(path: Path, layout: Layout) -> Iterator[tarfile.TarFile]:
    """The payload as a streaming tarfile (decompressed as it is read: bounded memory)."""
    with open(path, "rb") as f:
        stream = io.BufferedReader(_Slice(f, layout.hdr_size, layout.img_size), CHUNK)
        try:
            with tarfile.open(fileobj=stream, mode="r|xz") as tf:
                yield tf
        except (tarfile.TarError, lzma.LZMAError, EOFError) as e:
            raise ImageError(f"image payload is not a valid tar.xz archive ({e})") from None


def read_manifest_member(tf: tarfile.TarFile) -> bytes:
    """The payload's first member, which must be manifest.json: its bytes (not parsed)."""
    member = tf.next()
    if member is None or member.name != MANIFEST_NAME or not member.isreg():
        raise ImageError("image payload does not start with manifest.json")
    if member.size > MAX_MANIFEST:
        raise ImageError(f"manifest.json too large ({member.size:,} bytes)")
    src = tf.extractfile(member)
    data = src.read() if src is not None else b""
    if len(data) != member.size:
        raise ImageError("image payload truncated in manifest.json")
    return data
