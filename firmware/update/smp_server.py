"""The device side of SMP (MCUmgr), sans I/O: one request frame in, one response frame out.

Implements what field flashing needs and what standard tools (smpclient, smpmgr) ask for:
OS echo, reset and MCUmgr parameters; image state read/write, upload (with resume) and erase.
Errors carry a human reason (SMP v1 ``rsn``) so both ends can show it.
"""
from __future__ import annotations

import logging
import struct
from enum import IntEnum

import cbor2

log = logging.getLogger("hardphone.smp")

BUF_SIZE = 32 * 1024 + 512     # one upload chunk of 32 KiB plus the CBOR around it
#                                (an SMP header counts length in 16 bits: under 64 KiB)
BUF_COUNT = 2

# The MCUmgr numbers this server uses. They are the smp package's (tests check that), kept
# here because importing smp's pydantic models costs the phone 17 MB of its 60 MB.
HEADER = struct.Struct("!BBHHBB")      # op|version, flags, length, group, sequence, command
READ, WRITE = 0, 2                     # a response is op + 1
OS, IMG = 0, 1                         # groups


class OS_CMD(IntEnum):
    ECHO = 0
    RESET = 5
    MCUMGR_PARAMETERS = 6
    OS_APPLICATION_INFO = 7


class IMG_CMD(IntEnum):
    STATE = 0
    UPLOAD = 1
    ERASE = 5


class MGMT_ERR(IntEnum):
    EUNKNOWN = 1
    ENOMEM = 2
    EINVAL = 3
    ENOENT = 5
    EBADSTATE = 6
    ENOTSUP = 8
    EBUSY = 10
    EACCESSDENIED = 11         # anti-rollback: below the phone's security counter


class SmpFailure(Exception):
    """A request the server understood but refuses; becomes an error response."""

    def __init__(self, reason: str, rc: MGMT_ERR = MGMT_ERR.EINVAL):
        super().__init__(reason)
        self.rc = rc


class SmpServer:
    def __init__(self, manager, request_reset, info=None):
        """``manager`` is an UpdateManager; ``request_reset()`` restarts the phone after the
        reply has gone out; ``info()`` returns a one-line description for OS info."""
        self.manager, self.request_reset = manager, request_reset
        self.info = info or (lambda: "hardphone")
        self._handlers = {
            (OS, OS_CMD.ECHO, WRITE): self._echo,
            (OS, OS_CMD.RESET, WRITE): self._reset,
            (OS, OS_CMD.MCUMGR_PARAMETERS, READ): self._params,
            (OS, OS_CMD.OS_APPLICATION_INFO, READ): self._os_info,
            (IMG, IMG_CMD.STATE, READ): self._state_read,
            (IMG, IMG_CMD.STATE, WRITE): self._state_write,
            (IMG, IMG_CMD.UPLOAD, WRITE): self._upload,
            (IMG, IMG_CMD.ERASE, WRITE): self._erase,
        }

    def handle(self, frame: bytes) -> bytes | None:
        """The response to one SMP frame, or None when the frame is too broken to answer."""
        if len(frame) < HEADER.size:
            return None
        hdr = HEADER.unpack(frame[: HEADER.size])
        op_byte, _flags, _length, group, _seq, command = hdr
        handler = self._handlers.get((group, command, op_byte & 0x7))
        if handler is None:
            return _reply(hdr, {"rc": int(MGMT_ERR.ENOTSUP),
                                "rsn": f"group {group} command {command} not supported"})
        try:
            body = cbor2.loads(frame[HEADER.size:]) if len(frame) > HEADER.size else {}
            if not isinstance(body, dict):
                raise SmpFailure("request body is not a CBOR map")
            return _reply(hdr, handler(body))
        except SmpFailure as e:
            log.warning("smp %s: %s", handler.__name__.lstrip("_"), e)
            return _reply(hdr, {"rc": int(e.rc), "rsn": str(e)})
        except (cbor2.CBORDecodeError, ValueError, TypeError) as e:
            return _reply(hdr, {"rc": int(MGMT_ERR.EINVAL), "rsn": f"malformed request: {e}"})

    # -- OS group -------------------------------------------------------------------------
    def _echo(self, body):
        return {"r": str(body.get("d", ""))}

    def _reset(self, body):
        self.request_reset()
        return {}

    def _params(self, body):
        return {"buf_size": BUF_SIZE, "buf_count": BUF_COUNT}

    def _os_info(self, body):
        return {"output": self.info()}

    # -- image group -------------------------------------------------------------------------
    def _state_read(self, body):
        return {"images": self.manager.image_states(), "splitStatus": 0}

    def _state_write(self, body):
        sha = body.get("hash")
        if sha is not None and not isinstance(sha, bytes):
            raise SmpFailure("hash must be bytes")
        self.manager.set_state(sha, bool(body.get("confirm", False)))
        return {"images": self.manager.image_states(), "splitStatus": 0}

    def _upload(self, body):
        off, data = body.get("off"), body.get("data", b"")
        if not isinstance(off, int) or not isinstance(data, bytes):
            raise SmpFailure("upload needs an integer off and bytes data")
        length, sha = body.get("len"), body.get("sha")
        new_off, match = self.manager.upload(off, data, length, sha)
        reply = {"off": new_off}
        if match is not None:
            reply["match"] = match
        return reply

    def _erase(self, body):
        self.manager.erase()
        return {}


def _reply(hdr: tuple, body: dict) -> bytes:
    """A response with the request's version, group, sequence and command."""
    op_byte, _flags, _length, group, seq, command = hdr
    payload = cbor2.dumps(body)
    op = op_byte & 0x7
    response_op = op + 1 if op in (READ, WRITE) else op
    return HEADER.pack((op_byte & ~0x7) | response_op, 0, len(payload), group, seq,
                       command) + payload
