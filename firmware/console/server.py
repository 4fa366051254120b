"""The console server: one reply per command, in order; nothing typed can hurt the phone.

SMP frames share the port (firmware.update.smp_serial): console-framed lines interleave with
text; ``smp cobs`` switches the port to binary COBS frames until it has been idle a while.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from .protocol import Bad, Command, LineFramer, SmpLine

log = logging.getLogger("hardphone.console")

QUEUE_LIMIT = 64
BAUD_PROBATION_S = 3.0     # back to the old speed unless someone speaks at the new one


class ConsoleError(Exception):
    """A command the console understood but can't carry out; the text is the reply's reason."""


@dataclass(frozen=True)
class _SmpFrame:
    frame: bytes
    cobs: bool


class Console:
    def __init__(self, port, handler, smp=None, max_baud: int | None = None):
        """``handler(Command) -> str`` is a coroutine giving the reply (lines joined by \\n);
        ``smp`` carries SMP (firmware.update.smp_serial.SerialSmp), or None for no SMP."""
        self.port, self.handler, self.smp = port, handler, smp
        self._framer = LineFramer()
        self._queue: asyncio.Queue = asyncio.Queue(QUEUE_LIMIT)
        self._tasks: list[asyncio.Task] = []
        self._cobs = None                 # COBS frames in and out while in that mode
        self._cobs_seen = 0.0
        self.max_baud = max_baud
        self._probation: asyncio.TimerHandle | None = None
        self._busy = 0                    # commands refused as busy in this burst

    @property
    def path(self) -> str:
        return self.port.path

    def start(self):
        self.port.start(self._received)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._serve(), name="console"),
                       loop.create_task(self._watch_cobs(), name="console-cobs")]

    def send(self, line: str):
        self.port.write(line.encode("utf-8", "replace") + b"\n")

    def _enqueue(self, item):
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            if not self._busy:
                log.warning("console: busy: %d commands waiting; refusing more with "
                            "'error busy'", QUEUE_LIMIT)
            self._busy += 1
            if not isinstance(item, _SmpFrame):
                self.send("error busy (too many commands waiting)")

    def _received(self, data: bytes):
        if self._cobs is not None:
            # Any byte is activity: a big frame takes seconds on a slow line. A host that wants
            # text back stays quiet for COBS_IDLE_S (flash.sh does).
            self._cobs_seen = time.monotonic()
            for frame in self._cobs.feed(data):
                self._enqueue(_SmpFrame(frame, cobs=True))
            return
        for item in self._framer.feed(data):
            if isinstance(item, SmpLine) and self.smp is not None:
                frame = self.smp.feed_line(item.data)
                if frame is not None:
                    self._enqueue(_SmpFrame(frame, cobs=False))
                continue
            self._enqueue(item)

    async def _serve(self):
        while True:
            if self._queue.empty() and self._busy:
                log.info("console: %d commands were refused as busy", self._busy)
                self._busy = 0
            item = await self._queue.get()
            await self.port.room()     # no new reply while the host leaves the last ones unread
            if not isinstance(item, Bad) and self._probation is not None:
                self._probation.cancel()      # understood at the new speed: keep it
                self._probation = None
                log.info("console: staying at %s baud", self.port.baud)
            if isinstance(item, _SmpFrame):
                await self._answer_smp(item)
            elif isinstance(item, Command) and item.name in ("smp", "baud"):
                await self._port_command(item)      # they change the port itself
            else:
                self.send(await self._reply(item))

    async def _port_command(self, cmd: Command):
        """``smp cobs`` and ``baud <rate>``: reply in the old framing and speed, then switch."""
        if cmd.name == "smp":
            if self.smp is None:
                self.send("error SMP is not available on this firmware")
            elif cmd.args != ("cobs",):
                self.send("error usage: smp cobs")
            else:
                self.send("ok smp cobs")
                self._enter_cobs()
            return
        rate = self._baud_allowed(cmd.args)
        if isinstance(rate, str):
            self.send(rate)
            return
        self.send(f"ok baud {rate}")
        await self._change_baud(rate)

    async def _change_baud(self, rate: int):
        """Switch once the reply has left at the old speed; undo it if the other end does not
        follow (a cable or adapter that can't carry it)."""
        await self.flush()
        await asyncio.sleep(0.05)               # the UART's own FIFO drains
        old = self.port.baud
        self.port.set_baud(rate)

        def give_up():
            self._probation = None
            self.port.set_baud(old)
            log.warning("console: nobody spoke at %d baud; back to %d", rate, old)
        self._probation = asyncio.get_running_loop().call_later(BAUD_PROBATION_S, give_up)

    async def _answer_smp(self, item: _SmpFrame):
        try:
            response = await asyncio.to_thread(self.smp.handle, item.frame)
        except Exception:                          # a bug must not take the console down
            log.exception("SMP request failed")
            return
        if response is None:
            return
        if item.cobs:
            # Answer in the framing asked in; working on a request is not being idle.
            self.port.write(self.smp.cobs().encode(response))
            self._cobs_seen = time.monotonic()
        else:
            self.port.write(self.smp.encode_lines(response))

    def _enter_cobs(self):
        self._cobs = self.smp.cobs()
        self._cobs_seen = time.monotonic()
        log.info("console: SMP COBS mode (text returns after %.0f s idle)", self.smp.cobs_idle_s)

    async def _watch_cobs(self):
        while True:
            await asyncio.sleep(1)
            if self._cobs is not None and time.monotonic() - self._cobs_seen > self.smp.cobs_idle_s:
                self._cobs = None
                log.info("console: back to text (SMP COBS idle)")

    async def _reply(self, item) -> str:
        if isinstance(item, Bad):
            return f"error {item.reason}"
        if isinstance(item, SmpLine):
            return "error SMP is not available on this firmware"
        assert isinstance(item, Command)
        try:
            return await self.handler(item)
        except ConsoleError as e:
            return f"error {e}"
        except Exception as e:                    # a bug must not take the console down
            log.exception("console command %r failed", item)
            return f"error internal: {type(e).__name__}"

    def _baud_allowed(self, args) -> int | str:
        """The rate asked for, or the error reply."""
        if len(args) != 1 or not args[0].isdigit():
            return "error usage: baud <rate>"
        rate = int(args[0])
        if self.port.baud is None:
            return "error this console has no line speed (a pseudo-terminal)"
        if self.max_baud is None or not 9600 <= rate <= self.max_baud:
            return f"error baud {rate} not supported (at most {self.max_baud or self.port.baud})"
        return rate

    async def flush(self, timeout: float = 2.0):
        """Wait (briefly) until queued console output has left, e.g. before a reset."""
        deadline = time.monotonic() + timeout
        while self.port.pending and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    async def stop(self):
        for task in self._tasks:
            task.cancel()
        self.port.close()
