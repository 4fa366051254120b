"""UpdateManager: uploads land in the inactive slot, verified, then tested and confirmed.

Ties the upload store, image verification and the A/B slot store together for the SMP server
and the service console. Slot 0 in SMP terms is the running slot, slot 1 the other one.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import threading

from .slots import RollbackRefused, SlotStore
from .smp_server import MGMT_ERR, SmpFailure
from .upload import UploadError, UploadStore

log = logging.getLogger("hardphone.update")

MAX_IMAGE = 32 * 1024 * 1024


class UpdateManager:
    def __init__(self, slots: SlotStore, public_key_pem: bytes | None, board: str,
                 max_image: int = MAX_IMAGE):
        self.root = slots.root
        self.slots = slots
        self.uploads = UploadStore(self.root / "upload", max_image)
        self.public_key_pem, self.board, self.max_image = public_key_pem, board, max_image
        self._hashes = self.root / "images.json"      # slot -> SHA-256 of the image it holds
        # Verify + install runs after the last chunk is acknowledged, so the line is never
        # idle waiting for it; whatever asks about images next waits for it to finish.
        self._installer: threading.Thread | None = None
        self._install_error: SmpFailure | None = None

    # -- image state ---------------------------------------------------------------------------
    def image_hash(self, slot: str) -> bytes | None:
        try:
            return bytes.fromhex(json.loads(self._hashes.read_text())[slot])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _record_hash(self, slot: str, digest: bytes | None):
        try:
            hashes = json.loads(self._hashes.read_text())
        except (OSError, ValueError):
            hashes = {}
        if digest is None:
            hashes.pop(slot, None)
        else:
            hashes[slot] = digest.hex()
        tmp = self._hashes.with_suffix(".tmp")
        tmp.write_text(json.dumps(hashes))
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, self._hashes)

    def _settle(self):
        """Wait for a running install; raise its failure once."""
        if self._installer is not None:
            self._installer.join()
            self._installer = None
        if self._install_error:
            error, self._install_error = self._install_error, None
            raise error

    def image_states(self) -> list[dict]:
        self._settle()
        state = self.slots.state()
        active = self.slots.active()
        out = []
        for n, slot in enumerate((active, self.slots.inactive())):
            version = self.slots.version(slot)
            if version is None:
                continue
            entry = {"slot": n, "version": version, "bootable": True,
                     "active": slot == active,
                     "confirmed": bool(state.confirmed.get(slot)) and state.trial != slot,
                     "pending": state.trial == slot and slot != active,
                     "permanent": False}
            digest = self.image_hash(slot)
            if digest:
                entry["hash"] = digest
            out.append(entry)
        return out

    def set_state(self, digest: bytes | None, confirm: bool):
        self._settle()
        active, other = self.slots.active(), self.slots.inactive()
        if digest is None or digest == self.image_hash(active):
            if confirm:
                self.slots.confirm()
            return
        if digest != self.image_hash(other):
            raise SmpFailure("no image with that hash on this phone", MGMT_ERR.ENOENT)
        # A test boots the other slot once; it becomes permanent only after a healthy boot
        # (or an explicit confirm from that boot), so "confirm" here also means "test".
        try:
            self.slots.mark_test(other)
        except RollbackRefused as e:
            raise SmpFailure(f"refused: {e}", MGMT_ERR.EACCESSDENIED) from None
        except ValueError as e:
            raise SmpFailure(str(e), MGMT_ERR.EBUSY) from None
        log.info("slot %s (%s) will be tried at the next boot", other, self.slots.version(other))

    # -- upload --------------------------------------------------------------------------------
    def upload(self, off: int, data: bytes, length, sha) -> tuple[int, bool | None]:
        """Take one chunk; returns (offset to continue from, match when complete)."""
        self._settle()
        other = self.slots.inactive()
        if off == 0 and isinstance(sha, bytes) and sha == self.image_hash(other) \
                and self.slots.holds_tree(other):
            # Already installed (a sender that lost our last answers and starts over):
            # nothing to send again.
            log.info("image %s is already in slot %s", sha.hex()[:16], other)
            return int(length), True
        try:
            if off == 0 and length is not None:
                start = self.uploads.begin(sha if isinstance(sha, bytes) else None, int(length))
                if start:
                    log.info("resuming upload at %d of %d", start, length)
                    if self.uploads.complete:     # received before a power cut, not installed
                        self._start_install()
                        return start, True
                    return start, None
            new_off = self.uploads.write(off, data)
        except UploadError as e:
            raise SmpFailure(str(e)) from None
        except OSError as e:
            raise SmpFailure(f"storage error: {e}", MGMT_ERR.ENOMEM) from None
        if not self.uploads.complete:
            return new_off, None
        self._start_install()
        return new_off, True

    def _start_install(self):
        def run():
            try:
                self._install_upload()
            except SmpFailure as e:
                self._install_error = e
        self._installer = threading.Thread(target=run, name="image-install", daemon=True)
        self._installer.start()

    def _install_upload(self):
        """Verify the complete upload and build the inactive slot from it."""
        # Imported here: cryptography and the archive code cost 12 MB the phone only needs
        # while it installs an image.
        from .image import ImageError, RollbackError
        from .install import install_image
        from .verify import verify_image
        part = self.uploads.part
        try:
            if not self.uploads.check_hash():
                raise ImageError("image hash does not match what the sender announced")
            if self.public_key_pem is None:
                raise ImageError("this phone has no image key configured ([update] public_key)")
            running = self.slots.slot_dir(self.slots.active())
            info = verify_image(part, self.public_key_pem, self.board, self.max_image,
                                base_dir=running,
                                min_security_counter=self.slots.security_counter())
            target = self.slots.inactive()
            if self.slots.state().trial == target:
                raise ImageError(f"slot {target} is waiting for its test boot; reboot first")
            # Forget the old tree first: a power cut mid-install must not leave a half-written
            # slot that still counts as confirmed (a way back) or as tested.
            self.slots.discard(target)
            self._record_hash(target, None)
            install_image(part, info, self.slots.slot_dir(target), running)
            self._record_hash(target, info.image_sha256)
            log.info("installed %s image %s into slot %s", info.kind, info.version, target)
        except RollbackError as e:      # nothing was touched: verify comes before discard
            raise SmpFailure(f"refused: {e}", MGMT_ERR.EACCESSDENIED) from None
        except ImageError as e:
            raise SmpFailure(f"image rejected: {e}") from None
        finally:
            self.uploads.clear()

    def erase(self):
        self._settle()
        other = self.slots.inactive()
        if self.slots.state().trial == other:
            raise SmpFailure(f"slot {other} is waiting for its test boot", MGMT_ERR.EBUSY)
        self.uploads.clear()
        self.slots.discard(other)
        slot_dir = self.slots.slot_dir(other)
        if slot_dir.exists():
            trash = slot_dir.with_name(slot_dir.name + ".old")
            shutil.rmtree(trash, ignore_errors=True)
            os.replace(slot_dir, trash)
            shutil.rmtree(trash, ignore_errors=True)
        self._record_hash(other, None)
