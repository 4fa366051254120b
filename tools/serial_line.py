"""A serial cable between two pseudo-terminals that behaves like a real UART line.

A pty moves bytes as fast as the CPU allows; this relay paces them at 10 bit-times each
(8N1) at the given baud rate, and can pull the cable for a while or flip bits, so field
flashing is measured and tested as it will run at 115200.
"""
from __future__ import annotations

import os
import random
import select
import termios
import threading
import time
import tty

SPEEDS = {getattr(termios, f"B{n}"): n for n in (9600, 19200, 38400, 57600, 115200, 230400,
                                                   460800, 921600, 1000000, 2000000)
          if hasattr(termios, f"B{n}")}

PIECE = 32                       # bytes written at once; small keeps pacing smooth
IDLE_GAP_S = 0.002               # later than this after the last byte, the line was idle


class SerialLine:
    """``baud`` paces the line. With ``follow_speed`` the pace is instead the speed each end
    set on its port (as pyserial does), and ends set to different speeds get garbage, as two
    real UARTs would; ``max_baud`` is the fastest the cable and adapters carry."""

    def __init__(self, baud: int = 115200, flip_rate: float = 0.0, seed: int = 1,
                 follow_speed: bool = False, max_baud: int | None = None):
        self.baud = baud
        self.bytes_per_s = baud / 10
        self.follow_speed, self.max_baud = follow_speed, max_baud
        self.flip_rate = flip_rate
        self._rng = random.Random(seed)
        self._cut_until = 0.0
        self._closed = False
        self.host_master, host_slave = os.openpty()
        self.device_master, device_slave = os.openpty()
        for fd in (host_slave, device_slave):
            tty.setraw(fd)
        for fd in (self.host_master, self.device_master):
            os.set_blocking(fd, False)
        self.host_end, self.device_end = os.ttyname(host_slave), os.ttyname(device_slave)
        self._slaves = (host_slave, device_slave)   # held open: no hang-ups between clients
        for fd in self._slaves:                     # a UART's speed until someone sets one
            attrs = termios.tcgetattr(fd)
            attrs[4] = attrs[5] = getattr(termios, f"B{baud}", attrs[4])
            termios.tcsetattr(fd, termios.TCSANOW, attrs)
        self.carried = {"to_device": 0, "to_host": 0}
        self.flipped = 0
        self.dropped = 0
        self._threads = [
            threading.Thread(target=self._pump, args=(self.host_master, self.device_master,
                                                      "to_device"), daemon=True),
            threading.Thread(target=self._pump, args=(self.device_master, self.host_master,
                                                      "to_host"), daemon=True),
        ]
        for t in self._threads:
            t.start()

    def cut(self, seconds: float):
        """Pull the cable: everything sent either way for ``seconds`` is lost."""
        self._cut_until = time.monotonic() + seconds

    def speeds(self) -> tuple[int, int]:
        """The speeds the host end and the device end are set to."""
        return tuple(SPEEDS.get(termios.tcgetattr(fd)[4], self.baud) for fd in self._slaves)

    def _pace(self) -> tuple[float, bool]:
        """(bytes per second, garbled?) for the line as it is set right now."""
        if not self.follow_speed:
            return self.bytes_per_s, False
        host, device = self.speeds()
        garbled = host != device or (self.max_baud is not None and host > self.max_baud)
        return min(host, device) / 10, garbled

    def _pump(self, src: int, dst: int, name: str):
        wire_free = time.monotonic()
        while not self._closed:
            r, _, _ = select.select([src], [], [], 0.1)
            if not r:
                continue
            try:
                data = os.read(src, 4096)
            except OSError:
                time.sleep(0.01)
                continue
            for i in range(0, len(data), PIECE):
                piece = bytearray(data[i:i + PIECE])
                now = time.monotonic()
                bytes_per_s, garbled = self._pace()
                # A busy line sends back to back: keep the wire's own clock, or every late
                # wake-up from sleep() would be lost line time. Only an idle line restarts.
                if now - wire_free > IDLE_GAP_S:
                    wire_free = now
                wire_free += len(piece) / bytes_per_s
                if now < self._cut_until:
                    continue
                if garbled:
                    piece = bytearray(self._rng.randrange(1, 256) for _ in piece)
                if self.flip_rate:
                    for j in range(len(piece)):
                        if self._rng.random() < self.flip_rate:
                            piece[j] ^= 1 << self._rng.randrange(8)
                            self.flipped += 1
                self._write(dst, bytes(piece))
                self.carried[name] += len(piece)
                delay = wire_free - time.monotonic()
                if delay > 0:
                    time.sleep(delay)

    def _write(self, fd, data):
        """Bytes nobody takes are lost, as on a real line to a phone that is off: a pty would
        otherwise keep them and hand them to whoever opens it next."""
        try:
            n = os.write(fd, data)
        except (BlockingIOError, OSError):
            n = 0
        self.dropped += len(data) - n

    def close(self):
        self._closed = True
        for t in self._threads:
            t.join(1)
        for fd in (self.host_master, self.device_master, *self._slaves):
            os.close(fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
