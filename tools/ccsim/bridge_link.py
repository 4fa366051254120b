"""The link to the media bridge (tools/ccsim/bridge.py): what ccsim will drive consult, transfer
and conference through. One bridge process per lab, a service on its --control Unix socket:
``start`` adopts the one already running there (ccsim restarted: its calls went on, and
``legs`` tells what is up), else starts it in its own process session, so a killed ccsim does
not take the calls down with it. Header values (X-CC-Token) are never logged here.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("ccsim.bridge")
ROOT = Path(__file__).resolve().parents[2]
START_S = 15.0                # for a new bridge to register and listen
LINE_LIMIT = 1 << 20          # a "legs" listing of many legs is one line


class BridgeError(RuntimeError):
    """The bridge could not be started or reached."""


class BridgeLink:
    detects_machines = True     # dials may ask for answering-machine detection ("amd" events)

    def __init__(self, proxy: str, password: str, listen: str, control: str | os.PathLike[str],
                 on_event: Callable[[dict[str, Any]], None], *, user: str = "cc-bridge",
                 transport: str = "udp", cafile: str | None = None, media: str = "rtp",
                 stderr: str | os.PathLike[str] | None = None,
                 on_lost: Callable[[], None] | None = None):
        """``on_lost``: the bridge went away by itself (killed, crashed): its calls are gone."""
        self.proxy, self.password, self.listen, self.user = proxy, password, listen, user
        self.transport, self.cafile, self.media = transport, cafile, media
        self.control, self.on_event, self.stderr = Path(control), on_event, stderr
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._listings: list[asyncio.Future[dict[str, Any]]] = []
        self.on_lost, self._letting_go = on_lost, False

    async def start(self) -> bool:
        """Connect; True when a running bridge was adopted, False when one was started."""
        self._letting_go = False
        if await self._connect():
            log.info("bridge adopted at %s", self.control)
            return True
        err = open(self.stderr, "ab") if self.stderr else None   # the child keeps it
        try:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tools.ccsim.bridge", "--proxy", self.proxy,
                "--password", self.password, "--listen", self.listen, "--user", self.user,
                "--control", str(self.control), "--transport", self.transport,
                "--media", self.media, *(("--cafile", self.cafile) if self.cafile else ()),
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=err, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                start_new_session=True)
        finally:
            if err is not None:
                err.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_S
        while not await self._connect():
            if self.proc.returncode is not None or loop.time() > deadline:
                raise BridgeError(f"bridge did not come up (exit code {self.proc.returncode})")
            await asyncio.sleep(0.1)
        log.info("bridge started (pid %d)", self.proc.pid)
        return False

    async def _connect(self) -> bool:
        try:
            reader, writer = await asyncio.open_unix_connection(self.control, limit=LINE_LIMIT)
        except (FileNotFoundError, ConnectionRefusedError):
            return False
        try:
            ready = json.loads(await reader.readline() or b"{}").get("event") == "ready"
        except (ConnectionError, ValueError):   # a bridge dying as it was reached
            ready = False
        if not ready:
            writer.close()
            return False
        self._reader, self._writer = reader, writer
        self._task = asyncio.create_task(self._read())
        return True

    # -- commands ---------------------------------------------------------------------------
    def dial(self, leg: str, to: str, headers: dict[str, str] | None = None,
             ring_s: float = 60.0, amd: bool = False) -> None:
        """``amd``: once answered, the bridge tells whether a person or a machine did
        ({"event": "amd", "leg", "result", "speech_s"})."""
        self._send({"op": "dial", "leg": leg, "to": to, "headers": headers or {},
                    "ring_s": ring_s, **({"amd": True} if amd else {})})

    def play(self, leg: str, file: str, then: str = "") -> None:
        """The leg hears ``file`` (raw S16LE mono 8 kHz, absolute path) out of any room;
        "played" when it ends. ``then`` "hangup" hangs the leg up; "rejoin" puts it back in
        the room it left (a "joined" first), unless hold music was turned on for it since."""
        self._send({"op": "play", "leg": leg, "file": file, "then": then})

    def app(self, leg: str, app: str, prompt: str, collect: str, then: str, *,
            max_digits: int = 1, timeout_s: float = 10.0, record_s: float = 4.0,
            file: str = "") -> None:
        """The leg is connected to the voice application ``app`` (tools/ccsim/bridge_apps.py):
        out of its room it hears ``prompt`` (a raw file, as ``play``'s), then its DTMF keys are
        counted ("digits": up to ``#``, ``max_digits`` or ``timeout_s`` without a key) or its
        answer is recorded into ``file`` for ``record_s`` ("speech"); "app_done" when it is
        over, ``then`` "rejoin" back into its room first, "hangup" hung up after."""
        msg: dict[str, Any] = {"op": "app", "leg": leg, "app": app, "prompt": prompt,
                               "collect": collect, "then": then}
        if collect == "digits":
            msg.update(max_digits=max_digits, timeout_s=timeout_s)
        else:
            msg.update(record_s=record_s, file=file)
        self._send(msg)

    def answer(self, leg: str) -> None:
        self._send({"op": "answer", "leg": leg})

    def refuse(self, leg: str) -> None:
        self._send({"op": "refuse", "leg": leg})

    def join(self, room: str, leg: str) -> None:
        self._send({"op": "join", "room": room, "leg": leg})

    def leave(self, leg: str) -> None:
        self._send({"op": "leave", "leg": leg})

    def hold_music(self, leg: str, on: bool) -> None:
        self._send({"op": "hold_music", "leg": leg, "on": on})

    def record(self, room: str, file: str) -> None:
        self._send({"op": "record", "room": room, "file": file})

    def record_pause(self, room: str, paused: bool) -> None:
        self._send({"op": "record_pause", "room": room, "paused": paused})

    def record_stop(self, room: str) -> None:
        self._send({"op": "record_stop", "room": room})

    def hangup(self, leg: str) -> None:
        self._send({"op": "hangup", "leg": leg})

    async def legs(self, timeout: float = 5.0) -> dict[str, Any]:
        """{"legs": [...], "rooms": {...}}: what the bridge holds now (to resync after a
        restart)."""
        future = asyncio.get_running_loop().create_future()
        self._listings.append(future)
        self._send({"op": "legs"})
        return await asyncio.wait_for(future, timeout)

    async def detach(self) -> None:
        """Let go of the bridge: its calls go on, a later ``start`` adopts it."""
        self._letting_go = True
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
        if self._task is not None:
            self._task.cancel()
        self._writer = None

    async def close(self, timeout: float = 5.0) -> None:
        """Quit the bridge: every leg is hung up and the process ends."""
        self._letting_go = True                    # its going is asked for, not lost
        self._send({"op": "quit"})
        if self._task is not None:                 # the bridge closes the connection
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
        await self.detach()
        if self.proc is not None and self.proc.returncode is None:
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                self.proc.terminate()
                await self.proc.wait()

    def _send(self, message: dict[str, Any]) -> None:
        if self._writer is None or self._writer.is_closing():
            log.warning("bridge not connected: dropped %s", message["op"])
            return
        self._writer.write(json.dumps(message).encode() + b"\n")

    async def _read(self) -> None:
        assert self._reader is not None
        while line := await self._reader.readline():
            try:
                event = json.loads(line)
                kind = event.get("event")
            except (ValueError, AttributeError):
                log.warning("bridge said something unexpected: %r", line[:200])
                continue
            if kind == "legs" and self._listings:
                future = self._listings.pop(0)
                if not future.done():
                    future.set_result(event)
                continue
            self.on_event(event)
        log.info("bridge connection closed")
        if not self._letting_go and self.on_lost is not None:
            self.on_lost()
