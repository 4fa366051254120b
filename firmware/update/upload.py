"""An image upload in progress, kept on disk so it resumes after a cable pull or power cut.

``image.part`` holds the bytes received so far; ``upload.json`` records how many of them are
known to be on disk (written only after an fsync of the data). After a power cut the part
file is cut back to that offset, so a torn tail is never trusted. A chunk is acknowledged
before its fsync (which runs in the background while the next chunk is on the line): the
offset a sender resumes from after a restart is the recorded one, so nothing unsynced is
ever counted on.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

SYNC_EVERY = 16 * 1024      # fsync the data and record the offset at least this often


class UploadError(Exception):
    pass


@dataclass
class Upload:
    sha256: bytes
    size: int
    offset: int


class UploadStore:
    def __init__(self, directory: Path, max_size: int):
        self.dir = Path(directory)
        self.max_size = max_size
        self.part = self.dir / "image.part"
        self.meta = self.dir / "upload.json"
        self.current: Upload | None = self._recover()
        self._unsynced = 0
        self._syncer: threading.Thread | None = None

    def _recover(self) -> Upload | None:
        try:
            m = json.loads(self.meta.read_text())
            up = Upload(bytes.fromhex(m["sha256"]), int(m["size"]), int(m["offset"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        try:
            with open(self.part, "r+b") as f:
                f.truncate(up.offset)
        except OSError:
            return None
        return up

    def begin(self, sha256: bytes | None, size: int) -> int:
        """Start (or resume: same hash and size) an upload; returns the offset to send from."""
        if size <= 0:
            raise UploadError("image length must be given and positive")
        if size > self.max_size:
            raise UploadError(f"image too large: {size} bytes, "
                              f"a slot holds at most {self.max_size}")
        if sha256 and self.current and self.current.sha256 == sha256 and self.current.size == size:
            return self.current.offset
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.part, "wb") as f:
            os.fsync(f.fileno())
        self._wait_sync()
        self.current = Upload(sha256 or b"", size, 0)
        self._save(0)
        return 0

    def write(self, offset: int, data: bytes) -> int:
        """Append ``data`` if it starts where we are; returns the offset we are at after it."""
        up = self.current
        if up is None:
            raise UploadError("no upload in progress (send the first chunk with off=0 and len)")
        if offset != up.offset:
            return up.offset                     # the client resumes from our offset
        if up.offset + len(data) > up.size:
            raise UploadError(f"data runs past the image length {up.size}")
        self._wait_sync()
        with open(self.part, "r+b") as f:
            f.seek(up.offset)
            f.write(data)
        self._unsynced += len(data)
        up.offset += len(data)
        if up.offset == up.size:
            self._sync(up.offset)                 # the last chunk: on disk before install
        elif self._unsynced >= SYNC_EVERY:
            self._syncer = threading.Thread(target=self._sync, args=(up.offset,), daemon=True)
            self._syncer.start()
        return up.offset

    def _sync(self, offset: int):
        """Make the first ``offset`` bytes durable, then record that offset."""
        with open(self.part, "rb") as f:
            os.fsync(f.fileno())
        self._unsynced = 0
        self._save(offset)

    def _wait_sync(self):
        if self._syncer is not None:
            self._syncer.join()
            self._syncer = None

    @property
    def complete(self) -> bool:
        return self.current is not None and self.current.offset == self.current.size

    def check_hash(self) -> bool:
        """Whether the received bytes hash to what the client announced (if it did)."""
        if not self.current or not self.current.sha256:
            return True
        h = hashlib.sha256()
        with open(self.part, "rb") as f:
            for block in iter(lambda: f.read(1 << 16), b""):
                h.update(block)
        return h.digest() == self.current.sha256

    def clear(self):
        self._wait_sync()
        for p in (self.meta, self.part):
            p.unlink(missing_ok=True)
        self.current = None

    def _save(self, offset: int):
        up = self.current
        assert up is not None, "saving an offset without an upload"
        tmp = self.meta.with_suffix(".tmp")
        tmp.write_text(json.dumps({"sha256": up.sha256.hex(), "size": up.size, "offset": offset}))
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, self.meta)
