"""The contact-center link's asyncio layer: one WebSocket, reconnected with jittered backoff.

It only moves text between the socket and CcClient (client.py: the phone's side of the
protocol, without I/O) and hands the client's core events to ``post``. A server that vanishes
costs nothing but a wait: the client queues what the agent does meanwhile and resynchronizes
from the next snapshot.

The socket is the ``websockets`` library's asyncio client: the phone needs a client only, and
it costs a few MB less resident memory than aiohttp's (measured by ``tools.bench memory``).
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import socket
import ssl
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from firmware.core import events as ev
from firmware.core.effects import CcEffect

from . import protocol as p
from .client import CcClient, CcEvent
from .outbox import OutboxFile

log = logging.getLogger("hardphone.cc")

BACKOFF_BASE_S = 0.25
BACKOFF_CAP_S = 1.5          # a server back from a restart sees the phone within ~2 s
CONNECT_TIMEOUT_S = 5.0
HEARTBEAT_S = 10.0           # WebSocket pings: a silent dead peer is noticed within ~2 beats


class UrlError(ValueError):
    pass


def why_down(e: BaseException) -> str:
    """Why a connection attempt failed, in the few words the LCD has room for (the log keeps
    the whole error): what a technician needs to tell a wrong address from a missing CA."""
    if isinstance(e, ssl.SSLCertVerificationError):
        return "Server certificate not trusted"
    if isinstance(e, ssl.SSLError):
        return "Server TLS failed"
    if isinstance(e, socket.gaierror):
        return "Server name unknown"
    if isinstance(e, InvalidStatus):
        return f"Server refused ({e.response.status_code})"
    if isinstance(e, TimeoutError):
        return "Server not answering"
    if isinstance(e, OSError):
        return "Server unreachable"
    return "Server link failed"


def check_url(url: str) -> str:
    """wss:// anywhere; ws:// only to a loopback address (production traffic is encrypted)."""
    parts = urlsplit(url)
    if parts.scheme == "wss":
        return url
    if parts.scheme != "ws":
        raise UrlError(f"{url}: the contact-center URL must be wss:// (or ws:// on loopback)")
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise UrlError(f"{url}: ws:// is unencrypted and allowed on loopback only; use wss://")
    return url


def is_tls(url: str) -> bool:
    """wss:// in any case (urlsplit lowercases the scheme, as RFC 3986 says schemes are):
    "WSS://" must get the configured CA, not the library's default context."""
    return urlsplit(url).scheme == "wss"


class Backoff:
    """Exponential backoff with full jitter: each wait is uniform in [0, min(cap, base*2^n)],
    so a thousand phones dropped at once come back spread out, not in waves."""

    def __init__(self, base: float = BACKOFF_BASE_S, cap: float = BACKOFF_CAP_S,
                 rng: Callable[[], float] = random.random) -> None:
        self.base, self.cap, self._rng, self._n = base, cap, rng, 0

    def next(self) -> float:
        ceiling = min(self.cap, self.base * (1 << self._n))     # base * 2^n
        self._n = min(self._n + 1, 30)
        return self._rng() * ceiling

    def reset(self) -> None:
        self._n = 0


class CcConnection:
    def __init__(self, url: str, post: Callable[[CcEvent], None],
                 outbox: OutboxFile | None = None, cafile: str | None = None,
                 backoff: Backoff | None = None) -> None:
        self.url = check_url(url)
        self._post = post
        self._outbox = outbox
        self.client = (CcClient(outbox.load(), outbox.save) if outbox else CcClient())
        self._tls: dict[str, Any] = ({"ssl": ssl.create_default_context(cafile=cafile)}
                                     if is_tls(url) else {})
        self._backoff = backoff or Backoff()
        self._ws: ClientConnection | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.connects = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="cc")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def request(self, effect: CcEffect) -> None:
        """Carry out a Cc* effect: sent now, queued, or refused (then a CcRefused event)."""
        events, frames = self.client.request(effect)
        self._emit(events)
        self._write(frames)
        self._wake.set()           # a login starts the connection

    # -- internals ------------------------------------------------------------------------------
    def _emit(self, events: Iterable[CcEvent]) -> None:
        for event in events:
            self._post(event)

    def _write(self, frames: Iterable[str]) -> None:
        if self._ws is None:
            return
        for frame in frames:
            asyncio.get_running_loop().create_task(self._send(self._ws, frame))

    @staticmethod
    async def _send(ws: ClientConnection, frame: str) -> None:
        try:
            await ws.send(frame)
        except ConnectionClosed as e:   # the reader notices the close and requeues
            log.info("cc send failed: %s", e)

    async def _run(self) -> None:
        while True:
            if not self.client.wants_connection:
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                await self._connected()
            except (OSError, TimeoutError, WebSocketException) as e:
                log.info("cc: %s unreachable: %s", self.url, e or type(e).__name__)
                self._post(ev.CcLink("down", why_down(e)))
            await asyncio.sleep(self._backoff.next())

    async def _connected(self) -> None:
        self.connects += 1
        # no proxy (the server is on the contact center's own network), no compression (its
        # zlib state costs memory and the frames are small), pings as the heartbeat
        async with connect(self.url, proxy=None, compression=None,
                           open_timeout=CONNECT_TIMEOUT_S, ping_interval=HEARTBEAT_S,
                           ping_timeout=HEARTBEAT_S, max_size=p.MAX_MESSAGE_BYTES,
                           user_agent_header="hardphone", **self._tls) as ws:
            self._ws = ws
            log.info("cc: connected to %s", self.url)
            try:
                self._write(self.client.connection_made())
                async for message in ws:
                    if not isinstance(message, str):
                        continue       # binary frames are not part of the protocol: ignored
                    events, frames = self.client.receive(message)
                    if any(isinstance(e, ev.CcSnapshot) for e in events):
                        self._backoff.reset()
                    self._emit(events)
                    self._write(frames)
                    if not self.client.wants_connection:
                        break          # logged out
            except ConnectionClosed as e:   # e.g. a frame over the limit, a missed heartbeat
                log.warning("cc: link dropped: %s", e)
            finally:
                self._ws = None
                if ws.close_code == p.CLOSE_TAKEN_OVER:    # even if its error frame was lost
                    self._emit(self.client.taken_over())
                self._emit(self.client.connection_lost())
