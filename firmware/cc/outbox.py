"""The outbox on disk: the contact-center requests the server has not acknowledged yet, kept
across a reboot, and rewritten without ever needing a free block.

A request the server acknowledged must never be sent again: after a reboot a stale
``set_state available`` would reserve an agent who had chosen Idle. Written the usual way (a new
file, then a rename), a full disk keeps the old file, acknowledged requests and all. So the file
is made once at its full size, and each save overwrites it in place: two fixed halves, each a
numbered, checksummed copy padded with blanks. A save goes to the older half, so a power cut
mid-write leaves the newer one whole; loading takes the newest half that checks out.

Only making or growing the file needs space. When that fails, what is pending stays in memory
(it is still sent) and the file holds nothing the server has acknowledged: the oldest pending
requests that fit, or none.
"""
from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("hardphone.cc")

SLOT_BYTES = 8 * 1024        # one half; a set_state is ~100 bytes, a call event ~150
LEGACY_NAME = "cc-outbox.json"   # the format before this one: a JSON list, written by rename


class OutboxFile:
    def __init__(self, path: Path | str,
                 on_result: Callable[[OSError | None], None] = lambda error: None) -> None:
        """``on_result(error)`` hears how each save went (None: saved), for the screen."""
        self.path = Path(path)
        self._legacy = self.path.with_name(LEGACY_NAME)
        self._on_result = on_result
        self._seq = 0
        self._slot = 0               # the size of one half of the file; 0: no usable file

    # -- load ---------------------------------------------------------------------------------
    def load(self) -> list[str]:
        requests = self._load_slots()
        if requests is None and self._legacy.exists():
            requests = self._load_legacy()
            self.save(requests)      # in the new file, which replaces the old one
        return requests or []

    def _load_slots(self) -> list[str] | None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            log.error("outbox %s unreadable (%s); starting empty", self.path, e)
            return None
        half = len(data) // 2
        copies = [c for c in (_decode(data[:half]), _decode(data[half:])) if c is not None]
        if half < SLOT_BYTES or len(data) != 2 * half:
            log.error("outbox %s: size %d is not two halves; rewritten", self.path, len(data))
        else:
            self._slot = half
        if not copies:
            log.error("outbox %s: no readable copy; starting empty", self.path)
            return []
        self._seq, requests = max(copies)
        return requests

    def _load_legacy(self) -> list[str]:
        try:
            data = json.loads(self._legacy.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            log.error("outbox %s unreadable (%s); starting empty", self._legacy, e)
            return []
        return [r for r in data if isinstance(r, str)] if isinstance(data, list) else []

    # -- save ---------------------------------------------------------------------------------
    def save(self, requests: list[str]) -> None:
        """Keep ``requests`` (oldest first) as the whole outbox. Never raises: a failure is
        logged and reported to ``on_result``."""
        self._seq += 1
        record = _encode(self._seq, requests)
        error: OSError | None = None
        try:
            if self._slot < len(record):
                self._make(record, requests)
            else:
                self._overwrite(record)
            self._drop_legacy()
        except OSError as e:
            error = e
            log.error("outbox %s not saved: %s", self.path, e)
            self._keep_what_fits(requests)
        self._on_result(error)

    def _overwrite(self, record: bytes) -> None:
        fd = os.open(self.path, os.O_WRONLY)
        try:
            offset = (self._seq % 2) * self._slot
            os.pwrite(fd, record.ljust(self._slot, b" "), offset)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _make(self, record: bytes, requests: list[str]) -> None:
        """A new file (first save, or a record too big for the halves): written whole, every
        block real, then renamed over the old one. Both halves hold this record."""
        slot = max(SLOT_BYTES, self._slot)
        while slot < len(record):
            slot *= 2
        tmp = self.path.with_suffix(".tmp")
        for attempt in (1, 2):
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with open(tmp, "wb") as f:
                    f.write(record.ljust(slot, b" ") * 2)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
                break
            except OSError as e:
                _remove(tmp)
                # on a full disk the old format's file makes room (what it held is in memory)
                if attempt == 2 or not storage_full(e) or not self._legacy.exists():
                    raise
                self._drop_legacy()
        self._slot = slot

    def _keep_what_fits(self, requests: list[str]) -> None:
        """The save failed: leave on disk only requests still pending, never an acknowledged
        one. In place if the file is usable (the oldest that fit), else no file at all."""
        if self._slot:
            kept = list(requests)
            while kept and len(_encode(self._seq, kept)) > self._slot:
                kept.pop()
            try:
                self._overwrite(_encode(self._seq, kept))
                if len(kept) < len(requests):
                    log.error("outbox: %d newer requests kept in memory only until there is "
                              "room on disk", len(requests) - len(kept))
                return
            except OSError as e:
                log.error("outbox %s: not even rewritten in place: %s", self.path, e)
        for path in (self.path, self._legacy):
            if _remove(path):        # an unlink needs no space; a stale request must not stay
                log.error("outbox %s removed: it could not be brought up to date", path)
        self._slot = 0

    def _drop_legacy(self) -> None:
        if _remove(self._legacy):
            log.info("outbox: %s replaced by %s", self._legacy.name, self.path.name)


def storage_full(error: OSError | None) -> bool:
    """The error says the disk (or the user's quota) is full."""
    return error is not None and error.errno in (errno.ENOSPC, errno.EDQUOT)


def _encode(seq: int, requests: list[str]) -> bytes:
    """One half's copy: ``<sha256 of the body> <body>\n``, the body JSON {"seq", "requests"}."""
    body = json.dumps({"seq": seq, "requests": requests}, separators=(",", ":")).encode()
    return hashlib.sha256(body).hexdigest().encode() + b" " + body + b"\n"


def _decode(half: bytes) -> tuple[int, list[str]] | None:
    """(seq, requests) of one half, or None if it is torn, blank or not ours."""
    digest, _, rest = half.partition(b" ")
    body = rest.split(b"\n", 1)[0]
    if hashlib.sha256(body).hexdigest().encode() != digest:
        return None
    try:
        data = json.loads(body)
        seq, requests = data["seq"], data["requests"]
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(seq, int) or not isinstance(requests, list):
        return None
    return seq, [r for r in requests if isinstance(r, str)]


def _remove(path: Path) -> bool:
    try:
        path.unlink()
        return True
    except FileNotFoundError:
        return False
    except OSError as e:
        log.error("could not remove %s: %s", path, e)
        return False
