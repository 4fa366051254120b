"""Whether an image may go onto this phone: everything checked before a slot is written.

Order (verify_image): size bounds, header, TLV structure, SHA-256 over the bytes, ED25519
signature, the security counter against the phone's (anti-rollback: an image whose counter is
below the phone's ``min_security_counter`` is refused right after the signature checks) -- and
only then the payload: manifest, board, Python, dependency majors, and for a delta its base.
An image's payload is opened only after its signature verified.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from .image import (MAX_IMAGE_SIZE, ImageError, Layout, check_security_counter, check_signature,
                    open_payload, parse_version, read_layout, read_manifest_member)
from .manifest import (Manifest, check_dependencies, manifest_sha256, parse_manifest,
                       python_satisfies, slot_version)


@dataclass(frozen=True)
class ImageInfo:
    version: str                        # the manifest's version, e.g. "0.2.0"
    kind: str                           # "full" | "delta"
    boards: tuple[str, ...]             # boards the image runs on
    base_version: str | None            # delta: the version it applies to
    base_manifest_sha256: str | None    # delta: sha256 hex of that slot's manifest.json bytes
    image_sha256: bytes                 # the SHA-256 TLV (the SMP image hash)
    size: int                           # bytes in the image file
    manifest: Manifest
    security_counter: int = 0           # the SEC_CNT TLV (0 without one)


@dataclass(frozen=True)
class Inspection:
    """What ``inspect_image`` found: for tools (mkimage show, delta builds), not for the phone."""
    info: ImageInfo
    manifest_bytes: bytes
    header_version: str
    signature: str                      # "ok", "not checked", or why it failed
    payload_files: tuple[str, ...] | None   # names carried in the payload (list_payload=True)
    has_security_counter: bool = False  # a SEC_CNT TLV is there (else the counter is 0)

    @property
    def signature_ok(self) -> bool:
        return self.signature == "ok"


def image_info(layout: Layout, manifest: Manifest) -> ImageInfo:
    """The image as the phone sees it; ImageError if its header and manifest disagree."""
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
                     image_sha256=layout.image_sha256, size=layout.size, manifest=manifest,
                     security_counter=counter)


def check_base(info: ImageInfo, base_dir: Path) -> None:
    """A delta applies only to the exact tree it was built against (by manifest hash)."""
    if info.kind != "delta":
        return
    try:
        have: str | None = manifest_sha256(base_dir)
    except ImageError:
        have = None
    if have != info.base_manifest_sha256:
        runs = slot_version(base_dir) or "an unknown version"
        detail = ""
        if runs == info.base_version:
            detail = (f" (another build: manifest {(have or '?')[:12]}, "
                      f"the delta wants {(info.base_manifest_sha256 or '?')[:12]})")
        raise ImageError(f"delta is for base {info.base_version}, this phone runs {runs}{detail}")


def inspect_image(path: Path, public_key_pem: bytes | None = None,
                  max_size: int = MAX_IMAGE_SIZE, list_payload: bool = False) -> Inspection:
    """Structure, hash and manifest, plus the signature if a key is given, without failing on
    it (for host tools; the phone uses verify_image)."""
    path = Path(path)
    layout = read_layout(path, max_size)
    signature = "not checked"
    if public_key_pem is not None:
        try:
            check_signature(layout, public_key_pem)
            signature = "ok"
        except ImageError as e:
            signature = str(e)
    names = None
    with open_payload(path, layout) as tf:
        data = read_manifest_member(tf)
        if list_payload:
            names = tuple(m.name for m in iter(tf.next, None))
    info = image_info(layout, parse_manifest(data))
    return Inspection(info, data, layout.header_version, signature, names,
                      layout.security_counter is not None)


def verify_image(path: Path, public_key_pem: bytes, board: str,
                 max_size: int = MAX_IMAGE_SIZE, *, base_dir: Path | None = None,
                 min_security_counter: int = 0) -> ImageInfo:
    """Everything that can be checked before writing a slot; ImageError on any failure
    (RollbackError for a counter below ``min_security_counter``, the phone's), in the order
    above. With ``base_dir`` (the running slot) a delta is also checked against it."""
    path = Path(path)
    layout = read_layout(path, max_size)
    check_signature(layout, public_key_pem)
    check_security_counter(layout.security_counter or 0, min_security_counter)
    with open_payload(path, layout) as tf:
        data = read_manifest_member(tf)
    info = image_info(layout, parse_manifest(data))
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
