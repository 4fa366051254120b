"""The console server: one reply per command, in order; nothing typed can hurt the phone."""
from __future__ import annotations

import asyncio
import logging

from .protocol import Bad, Command, LineFramer, SmpLine

log = logging.getLogger("hardphone.console")

QUEUE_LIMIT = 64


class ConsoleError(Exception):
    """A command the console understood but can't carry out; the text is the reply's reason."""


class Console:
    def __init__(self, port, handler):
        """``handler(Command) -> str`` is a coroutine giving the reply (lines joined by \\n)."""
        self.port, self.handler = port, handler
        self._framer = LineFramer()
        self._queue: asyncio.Queue = asyncio.Queue(QUEUE_LIMIT)
        self._task: asyncio.Task | None = None

    @property
    def path(self) -> str:
        return self.port.path

    def start(self):
        self.port.start(self._received)
        self._task = asyncio.get_running_loop().create_task(self._serve(), name="console")

    def send(self, line: str):
        self.port.write(line.encode("utf-8", "replace") + b"\n")

    def _received(self, data: bytes):
        for item in self._framer.feed(data):
            try:
                self._queue.put_nowait(item)
            except asyncio.QueueFull:
                self.send("error busy (too many commands waiting)")

    async def _serve(self):
        while True:
            item = await self._queue.get()
            self.send(await self._reply(item))

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

    async def stop(self):
        if self._task:
            self._task.cancel()
        self.port.close()
