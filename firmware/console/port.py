"""The console's byte stream: a UART (pyserial) on the device, a pseudo-terminal on the sim.

Both are file descriptors served by the asyncio loop. Output never blocks the phone, and it
is never cut mid-line: when OUT_LIMIT bytes wait unread, the port stops reading commands (the
host's own writes then wait, as with any flow-controlled line) until the host has read half of
them; the server runs no command meanwhile. Only past HARD_LIMIT (a host that never reads while
the phone itself talks) is a whole message dropped, and the log says so.
"""
from __future__ import annotations

import asyncio
import logging
import os
import tty

log = logging.getLogger("hardphone.console")

OUT_LIMIT = 64 * 1024       # unread output at which commands stop being read and run
RESUME_AT = OUT_LIMIT // 2   # ... and start again
HARD_LIMIT = 4 * OUT_LIMIT   # a message that would go past this is dropped whole
HANGUP_RETRY_S = 1.0    # a UART whose adapter was unplugged reads EIO until it is back


class FdPort:
    def __init__(self, fd: int, path: str, keep=()):
        self.fd, self.path = fd, path
        self._keep = keep               # objects/fds that must stay open with the port
        os.set_blocking(fd, False)
        self._out = bytearray()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writing = False
        self._hung = False           # reads failed: logged once, until data comes again
        self._retrying = False       # hung up: the reader is off until the next look
        self._paused = False         # output backed up: the reader is off until it drains
        self._reading = False
        self._readable = None
        self._room: asyncio.Event | None = None   # set while output is below OUT_LIMIT
        self._closed = False
        self._serial = None
        self.dropped = 0             # bytes of whole messages dropped past HARD_LIMIT

    @classmethod
    def open_pty(cls) -> FdPort:
        master, slave = os.openpty()
        tty.setraw(slave)
        # We keep the slave open so the master never sees a hang-up when a client closes.
        return cls(master, os.ttyname(slave), keep=(slave,))

    @classmethod
    def open_serial(cls, device: str, baud: int) -> FdPort:
        import serial
        s = serial.Serial(device, baud, timeout=0, exclusive=True)
        s.reset_input_buffer()      # a fresh boot starts with an empty UART, not old bytes
        port = cls(s.fileno(), device, keep=(s,))
        port._serial = s
        return port

    @property
    def baud(self) -> int | None:
        """The UART's speed; None for a pseudo-terminal, which has none."""
        return self._serial.baudrate if self._serial is not None else None

    def set_baud(self, rate: int):
        if self._serial is None:
            raise ValueError("this console has no line speed to change")
        self._serial.baudrate = rate

    def start(self, on_data):
        self._loop = asyncio.get_running_loop()

        def readable():
            try:
                data = os.read(self.fd, 4096)
            except BlockingIOError:
                return
            except OSError as e:
                self._hung_up(e, readable)
                return
            if data:
                if self._hung:
                    log.info("console port %s is back", self.path)
                    self._hung = False
                on_data(data)
            else:                          # end of file: the other end hung up
                self._hung_up(None, readable)

        self._readable = readable
        self._room = asyncio.Event()
        self._room.set()
        self._sync_reader()

    def _sync_reader(self):
        """Read the port unless it is closed, hung up or its output is backed up."""
        want = not (self._closed or self._retrying or self._paused) and self._readable is not None
        if want and not self._reading:
            self._loop.add_reader(self.fd, self._readable)
        elif not want and self._reading:
            self._loop.remove_reader(self.fd)
        self._reading = want

    def _hung_up(self, error, readable):
        """The port reads EIO or EOF (cable or adapter gone): stop polling it, which would
        spin, and look again in a second."""
        if not self._hung:
            log.warning("console port %s hung up (%s); looking again every %.0f s", self.path,
                        error or "end of file", HANGUP_RETRY_S)
            self._hung = True
        self._retrying = True
        self._sync_reader()

        def again():
            self._retrying = False
            self._sync_reader()
        self._loop.call_later(HANGUP_RETRY_S, again)

    def write(self, data: bytes):
        """Queue ``data`` (whole lines or frames) for the port; never a part of it."""
        if len(self._out) + len(data) > HARD_LIMIT:
            if not self.dropped:
                log.error("console: %d bytes unread on %s; dropping whole messages until the "
                          "host reads", len(self._out), self.path)
            self.dropped += len(data)
            return
        self._out += data
        self._flush()

    def _flush(self):
        while self._out:
            try:
                n = os.write(self.fd, self._out)
            except BlockingIOError:
                break
            except OSError as e:
                log.debug("console write: %s", e)
                self._out.clear()
                break
            del self._out[:n]
        if self._out and not self._writing and self._loop:
            self._writing = True
            self._loop.add_writer(self.fd, self._writable)
        elif not self._out and self._writing:
            self._writing = False
            self._loop.remove_writer(self.fd)
        self._backpressure()

    def _backpressure(self):
        """Stop taking commands while OUT_LIMIT bytes wait unread; take them again at half."""
        if self._room is None:
            return
        if not self._paused and len(self._out) >= OUT_LIMIT:
            self._paused = True
            self._room.clear()
            log.warning("console: output backed up (%d bytes unread on %s); commands wait "
                        "until the host reads", len(self._out), self.path)
            self._sync_reader()
        elif self._paused and len(self._out) <= RESUME_AT:
            self._paused = False
            self._room.set()
            log.info("console: output drained; taking commands again%s",
                     f" ({self.dropped} bytes were dropped)" if self.dropped else "")
            self.dropped = 0
            self._sync_reader()

    async def room(self):
        """Wait until the output is not backed up (before running a command that replies)."""
        if self._room is not None:
            await self._room.wait()

    @property
    def pending(self) -> int:
        """Bytes written but not yet taken by the port."""
        return len(self._out)

    def _writable(self):
        self._flush()

    def close(self):
        self._closed = True
        if self._loop:
            self._sync_reader()
            if self._writing:
                self._loop.remove_writer(self.fd)
        for k in self._keep:
            if isinstance(k, int):
                os.close(k)
            else:
                k.close()
        if not any(not isinstance(k, int) for k in self._keep):
            os.close(self.fd)
