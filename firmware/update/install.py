"""Installing: build a complete, checked slot tree from an image that verify_image passed."""
from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path
from typing import IO

from .image import (CHUNK, MANIFEST_NAME, MAX_IMAGE_SIZE, ImageError, KiB, Layout, human_size,
                    open_payload, read_layout, read_manifest_member)
from .manifest import parse_manifest, safe_path, verify_slot
from .verify import ImageInfo, check_base

FileEntry = dict[str, int | str]        # a manifest ``files`` entry: sha256, size, mode


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


def _write_checked(src: IO[bytes], dest: Path, entry: FileEntry, mismatch: str) -> None:
    """Copy a stream into a new file, capped at the manifest size, checking its sha256."""
    size, mode = int(entry["size"]), int(entry["mode"])
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                 | getattr(os, "O_CLOEXEC", 0), 0o600)
    h, n = hashlib.sha256(), 0
    with os.fdopen(fd, "wb") as out:
        while True:
            chunk = src.read(min(CHUNK, size - n + 1))
            if not chunk:
                break
            n += len(chunk)
            if n > size:
                raise ImageError(mismatch)
            h.update(chunk)
            out.write(chunk)
        out.flush()
        os.fchmod(out.fileno(), mode & 0o755)
        os.fsync(out.fileno())
    if n != size or h.hexdigest() != entry["sha256"]:
        raise ImageError(mismatch)


def _extract(path: Path, layout: Layout, info: ImageInfo, new: Path) -> set[str]:
    files = info.manifest["files"]
    seen: set[str] = set()
    with open_payload(path, layout) as tf:
        data = read_manifest_member(tf)
        if parse_manifest(data) != info.manifest:
            raise ImageError("image changed since it was verified (manifest differs)")
        for member in iter(tf.next, None):
            name = safe_path(member.name)
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
            src = tf.extractfile(member)
            if src is None:             # a regular member always has a reader; be explicit
                raise ImageError(f"{name}: unreadable in the payload")
            _write_checked(src, new / name, entry,
                           f"{name}: payload does not match the signed manifest")
    manifest_path = new / MANIFEST_NAME
    with open(manifest_path, "xb") as f:     # exactly the image's bytes: delta bases hash them
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return seen


def _copy_from_base(base_dir: Path, new: Path, name: str, entry: FileEntry) -> None:
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
    layout = read_layout(path, max(info.size, MAX_IMAGE_SIZE))
    if layout.image_sha256 != info.image_sha256:
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
            raise ImageError(f"not enough space for slot {slot_dir.name}: needs "
                             f"{human_size(need)}, {human_size(free)} free")
        new.mkdir()
        carried = _extract(path, layout, info, new)
        missing = sorted(set(files) - carried)
        if info.kind == "full" and missing:
            raise ImageError(f"image payload lacks {len(missing)} file(s) of its manifest, "
                             f"e.g. {missing[0]}")
        for name in missing:
            assert base is not None     # a delta, whose base was checked above
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
