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
from smpclient.generics import error
from smpclient.requests.image_management import ImageStatesWrite
from smpclient.requests.os_management import ResetWrite
from smpclient.transport.serial import SMPSerialRawTransport, SMPSerialTransport
from smpclient.transport.serial.framing.cobs import Cobs

from firmware.update.image import ImageError, read_header

from .console import ConsoleLink

log = logging.getLogger("flash")

COBS_MTU = 32 * 1024 + 512     # the phone's SMP buffer (firmware.update.smp_server.BUF_SIZE)
COBS_IDLE_S = 3.0              # the phone's console returns to text after this long idle
PATIENCE_S = 60.0              # give up after this long without upload progress
INSTALL_S = 20.0               # the phone's verify + install of an image, at most
FAST_BAUD = 921600             # asked for after connecting; both ends must agree
BAUD_PROBATION_S = 3.0         # the phone goes back to its speed if we can't follow


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
    baud: int = 115200             # the line speed the image went at


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
                # a phone still in COBS mode from a broken-off session reads no text until
                # the line has been quiet a while
                time.sleep(COBS_IDLE_S + 0.5)
        if reply.startswith("error"):
            raise FlashError(f"the phone refused 'version': {reply}")
        parts = dict(p.split("=", 1) for p in reply.split()[2:] if "=" in p)
        phone = Phone(reply.split()[1], parts.get("board", "?"), parts.get("slot", "?"))
        slots = link.command("slots", until=b"slots.", timeout=5)
        phone.slots = [s for s in slots if s.startswith("slot ")]
        return phone
    finally:
        link.close()


def negotiate_baud(port: str, baud: int, fast: int | None, say) -> int:
    """Ask the phone to talk faster; returns the speed both ends now use."""
    if not fast or fast <= baud:
        return baud
    link = ConsoleLink(port, baud)
    try:
        reply = link.command(f"baud {fast}", timeout=3)[0]
    finally:
        link.close()
    if not reply.startswith("ok baud"):
        say(f"line: staying at {baud} baud ({reply})")
        return baud
    time.sleep(0.2)                  # the phone switches once its reply has gone out
    try:
        link = ConsoleLink(port, fast)
        try:
            if link.command("version", timeout=2)[0].startswith("version"):
                say(f"line: {baud} -> {fast} baud")
                return fast
        finally:
            link.close()
    except TimeoutError:
        pass
    say(f"line: {fast} baud does not get through; back to {baud}")
    time.sleep(BAUD_PROBATION_S + 0.5)        # the phone returns to its speed by itself
    return baud


def pick_image(image: Path, running_version: str) -> Path:
    """A delta built against the running version, if one lies beside the full image."""
    delta = image.with_name(f"{image.stem}-from-{running_version}{image.suffix}")
    return delta if delta.is_file() else image


async def _client(port: str, baud: int, cobs: bool) -> SMPClient:
    if cobs:
        await _enter_cobs(port, baud)
        transport = SMPSerialRawTransport(mtu=COBS_MTU, framing=Cobs(), baudrate=baud)
    else:
        transport = SMPSerialTransport(baudrate=baud)
    client = SMPClient(transport, port, timeout_s=10)
    await client.connect()
    return client


async def _enter_cobs(port: str, baud: int):
    """Switch the phone's console to COBS frames. A phone still in COBS mode from an earlier,
    broken-off session does not read text; it returns to text after COBS_IDLE_S idle."""
    for _ in range(2):
        link = ConsoleLink(port, baud)
        try:
            reply = link.command("smp cobs", timeout=2)[0]
        except TimeoutError:
            await asyncio.sleep(COBS_IDLE_S + 0.5)
            continue
        finally:
            link.close()
        if reply != "ok smp cobs":
            raise FlashError(f"the phone cannot switch to fast SMP framing: {reply}")
        return
    raise FlashError(f"no phone answers on {port}")


@dataclass
class Sent:
    retries: int          # reconnections after link faults
    transfer_s: float     # from the first upload request to the phone's last offset


async def send_image(port: str, baud: int, data: bytes, cobs: bool, progress,
                     patience_s: float = PATIENCE_S) -> Sent:
    """Upload ``data``, mark it for a test boot and reset the phone, in one SMP session.

    After a link fault it reconnects and the upload resumes from the phone's offset.
    """
    digest = image_digest(data)
    retries = 0
    last_progress = time.monotonic()
    transfer_s = 0.0
    while True:
        client = None
        try:
            client = await _client(port, baud, cobs)
            wait = _request_timeout(baud)
            started = time.monotonic()
            try:
                async for offset in client.upload(data, first_timeout_s=wait,
                                                  subsequent_timeout_s=wait):
                    last_progress = time.monotonic()
                    progress(offset)
            finally:
                transfer_s += time.monotonic() - started
            # the phone finishes verifying and installing the image before it answers this
            r = await client.request(ImageStatesWrite(hash=digest), timeout_s=wait + INSTALL_S)
            if error(r):
                raise FlashError(f"the phone will not test the image: {_rsn(str(r))}")
            await client.request(ResetWrite())
            return Sent(retries, transfer_s)
        except FlashError:
            raise
        except Exception as e:          # noqa: BLE001 - any link fault: reconnect and resume
            reason = str(e)
            if "rsn=" in reason:        # the phone refused the image: retrying won't help
                raise FlashError(_rsn(reason)) from None
            reason = _short(e)
            retries += 1
            if time.monotonic() - last_progress > patience_s:
                raise FlashError(f"upload stalled for {patience_s:.0f} s ({retries} tries): "
                                 f"{reason}") from None
            log.warning("link fault (%s); resuming", reason)
            await asyncio.sleep(0.5)
        finally:
            if client is not None:
                try:
                    await client.disconnect()
                except Exception:       # noqa: BLE001
                    pass


def _short(e: Exception) -> str:
    """A link fault in a line: smpclient's messages carry whole requests, image bytes too."""
    text = str(e).split(" waiting for request")[0].split("\n")[0]
    return f"{type(e).__name__}: {text[:120]}" if text else type(e).__name__


def _request_timeout(baud: int) -> float:
    """How long one upload request may take: a full chunk there and back, plus the phone's
    work on the last one (verify and install). A lost frame costs this much, then resumes."""
    return 4.0 + 2 * COBS_MTU * 10 / baud


def _rsn(text: str) -> str:
    """The phone's reason, out of smpclient's error text."""
    for quote in ("'", '"'):
        if f"rsn={quote}" in text:
            return text.split(f"rsn={quote}", 1)[1].split(quote, 1)[0]
    return text


def image_digest(data: bytes) -> bytes:
    """The hash SMP knows an image by: the SHA-256 TLV, over the header and payload."""
    try:
        _version, size = read_header(data)
    except ImageError as e:
        raise FlashError(f"not a firmware image: {e}") from None
    return hashlib.sha256(data[:size]).digest()


def flash(port: str, image: Path, baud: int = 115200, cobs: bool = True, boot_timeout: float = 60,
          progress_factory=None, patience_s: float = PATIENCE_S, say=None,
          fast_baud: int | None = FAST_BAUD) -> Result:
    """The whole session; ``say(text)`` hears each stage (the CLI prints them)."""
    say = say or (lambda text: None)
    t0 = time.monotonic()
    before = identify(port, baud)
    say(f"phone: hardphone {before.version} board={before.board}, running slot {before.slot}")
    for line in before.slots:
        say(f"  {line}")
    chosen = pick_image(image, before.version)
    data = chosen.read_bytes()
    if chosen != image:
        say(f"image: {chosen.name} (a delta from {before.version}; {image.name} is the full one)")
    rate = negotiate_baud(port, baud, fast_baud, say)
    progress, done = (progress_factory or _no_progress)(len(data), chosen)
    link = ConsoleLink(port, rate)          # open before the reset so the banner is not lost
    try:
        try:
            sent = asyncio.run(send_image(port, rate, data, cobs, progress, patience_s))
        finally:
            done()
        link.ser.baudrate = baud            # the phone boots at its own speed
        say("image verified and installed by the phone; test boot requested; phone resetting")
        try:
            version, _board, slot = link.wait_boot(boot_timeout)
        except TimeoutError:
            version = slot = None           # banner lost on the line? ask, below
    finally:
        link.close()
    try:
        after = identify(port, baud)
    except FlashError:
        raise FlashError(f"the phone did not come back within {boot_timeout:.0f} s of the "
                         "reset; power-cycle it: it boots a verified slot") from None
    slot = slot or after.slot
    version = version or after.version
    if slot == before.slot:
        raise FlashError(f"the phone came back on slot {slot} with {version}: the new firmware "
                         "did not pass its first boot, so the phone reverted (nothing lost)")
    say(f"phone back: hardphone {version} on slot {slot}, READY")
    link = ConsoleLink(port, baud)
    try:
        reply = link.command("confirm", timeout=5)[0]
    finally:
        link.close()
    if reply.startswith("error") and "nothing to confirm" not in reply:
        raise FlashError(f"confirm failed: {reply}")
    say("confirmed" if reply == "ok" else "the phone had already confirmed itself after its "
        "health check")
    after = identify(port, baud)
    return Result(before, after, chosen, len(data), sent.transfer_s, time.monotonic() - t0,
                  sent.retries, rate)


def _no_progress(total, path):
    return (lambda offset: None), (lambda: None)
