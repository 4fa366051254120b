"""One flashing session: identify the phone, upload, test, reset, wait, confirm.

Each step is a plain function; the CLI (tools.flash.__main__) only wraps them.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from smpclient import SMPClient
from smpclient.generics import error, success
from smpclient.requests.image_management import ImageStatesRead, ImageStatesWrite
from smpclient.requests.os_management import ResetWrite
from smpclient.transport.serial import SMPSerialRawTransport, SMPSerialTransport
from smpclient.transport.serial.framing.cobs import Cobs

from firmware.update.image import ImageError, read_header

from .console import ConsoleLink

log = logging.getLogger("flash")

COBS_MTU = 16 * 1024 + 512     # the phone's SMP buffer (firmware.update.smp_server.BUF_SIZE)
RETRIES = 20


class FlashError(Exception):
    pass


@dataclass
class Phone:
    version: str
    board: str
    slot: str
    slots: list[str] = field(default_factory=list)


@dataclass
class Result:
    before: Phone
    after: Phone
    image: Path
    bytes_sent: int
    upload_s: float
    total_s: float
    retries: int


def identify(port: str, baud: int) -> Phone:
    link = ConsoleLink(port, baud)
    try:
        for attempt in range(3):
            try:
                reply = link.command("version", timeout=3)[0]
                break
            except TimeoutError:
                if attempt == 2:
                    raise FlashError(f"no phone answers on {port} (is the cable in, "
                                     "the phone powered?)") from None
        if reply.startswith("error"):
            raise FlashError(f"the phone refused 'version': {reply}")
        parts = dict(p.split("=", 1) for p in reply.split()[2:] if "=" in p)
        phone = Phone(reply.split()[1], parts.get("board", "?"), parts.get("slot", "?"))
        slots = link.command("slots", until=b"slots.", timeout=5)
        phone.slots = [s for s in slots if s.startswith("slot ")]
        return phone
    finally:
        link.close()


def pick_image(image: Path, running_version: str) -> Path:
    """A delta built against the running version, if one lies beside the full image."""
    delta = image.with_name(f"{image.stem}-from-{running_version}{image.suffix}")
    return delta if delta.is_file() else image


async def _client(port: str, baud: int, cobs: bool) -> SMPClient:
    if cobs:
        link = ConsoleLink(port, baud)
        try:
            reply = link.command("smp cobs", timeout=3)[0]
        finally:
            link.close()
        if reply != "ok smp cobs":
            raise FlashError(f"the phone cannot switch to fast SMP framing: {reply}")
        transport = SMPSerialRawTransport(mtu=COBS_MTU, framing=Cobs(), baudrate=baud)
    else:
        transport = SMPSerialTransport(baudrate=baud)
    client = SMPClient(transport, port, timeout_s=10)
    await client.connect()
    return client


async def upload(port: str, baud: int, data: bytes, cobs: bool, progress) -> int:
    """Upload ``data``; reconnects and resumes from the phone's offset after a fault.

    Returns the number of retries it took.
    """
    retries = 0
    while True:
        client = None
        try:
            client = await _client(port, baud, cobs)
            async for offset in client.upload(data, first_timeout_s=30, subsequent_timeout_s=30):
                progress(offset)
            return retries
        except Exception as e:          # noqa: BLE001 - any link fault: reconnect and resume
            reason = str(e)
            if "image rejected" in reason or "too large" in reason:
                raise FlashError(_rsn(reason)) from None
            retries += 1
            if retries > RETRIES:
                raise FlashError(f"upload failed after {RETRIES} retries: {reason}") from None
            log.warning("link fault (%s); resuming", reason or type(e).__name__)
            await asyncio.sleep(0.5)
        finally:
            if client is not None:
                try:
                    await client.disconnect()
                except Exception:       # noqa: BLE001
                    pass


def _rsn(text: str) -> str:
    """The phone's reason, out of smpclient's error text."""
    if "rsn='" in text:
        return text.split("rsn='", 1)[1].split("'", 1)[0]
    return text


async def test_and_reset(port: str, baud: int, digest: bytes):
    client = await _client(port, baud, cobs=False)
    try:
        r = await client.request(ImageStatesWrite(hash=digest))
        if error(r):
            raise FlashError(f"the phone refused to test the image: {r}")
        await client.request(ResetWrite())
    finally:
        await client.disconnect()


async def image_states(port: str, baud: int):
    client = await _client(port, baud, cobs=False)
    try:
        r = await client.request(ImageStatesRead())
        if not success(r):
            raise FlashError(f"cannot read image states: {r}")
        return r.images
    finally:
        await client.disconnect()


def image_digest(data: bytes) -> bytes:
    """The hash SMP knows an image by: the SHA-256 TLV, over the header and payload."""
    try:
        _version, size = read_header(data)
    except ImageError as e:
        raise FlashError(f"not a firmware image: {e}") from None
    return hashlib.sha256(data[:size]).digest()


def flash(port: str, image: Path, baud: int = 115200, cobs: bool = True, boot_timeout: float = 60,
          progress_factory=None) -> Result:
    t0 = time.monotonic()
    before = identify(port, baud)
    chosen = pick_image(image, before.version)
    data = chosen.read_bytes()
    progress, done = (progress_factory or _no_progress)(len(data), chosen)
    t_up = time.monotonic()
    try:
        retries = asyncio.run(upload(port, baud, data, cobs, progress))
    finally:
        done()
    upload_s = time.monotonic() - t_up
    link = ConsoleLink(port, baud)          # open before the reset so the banner is not lost
    try:
        asyncio.run(test_and_reset(port, baud, image_digest(data)))
        version, board, slot = link.wait_boot(boot_timeout)
    finally:
        link.close()
    after = identify(port, baud)
    if slot == before.slot:
        raise FlashError(f"the phone came back on slot {slot} with {version}: the new firmware "
                         "did not pass its first boot, so the phone reverted (nothing lost)")
    link = ConsoleLink(port, baud)
    try:
        reply = link.command("confirm", timeout=5)[0]
    finally:
        link.close()
    if reply.startswith("error") and "nothing to confirm" not in reply:
        raise FlashError(f"confirm failed: {reply}")
    after = identify(port, baud)
    return Result(before, after, chosen, len(data), upload_s, time.monotonic() - t0, retries)


def _no_progress(total, path):
    return (lambda offset: None), (lambda: None)
