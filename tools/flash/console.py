"""The phone's text service console from the host: send a line, read the reply."""
from __future__ import annotations

import re
import time

import serial

BANNER = re.compile(rb"hardphone (\S+) board=(\S+) slot=([ab])")
SETTLE_S = 0.1


class ConsoleLink:
    def __init__(self, port: str, baud: int = 115200):
        self.port, self.baud = port, baud
        self.ser = serial.Serial(port, baud, timeout=0.05)

    def close(self):
        self.ser.close()

    def command(self, line: str, until: bytes | None = None, timeout: float = 5.0) -> list[str]:
        """Send ``line``; return the reply lines (up to and including ``until`` if given).

        SMP console frames and other chatter on the line are skipped.
        """
        # End whatever half line (or stray binary) the phone may hold, and drop its answer,
        # so the reply read next is to this command.
        self.ser.write(b"\n")
        time.sleep(SETTLE_S)
        self.ser.reset_input_buffer()
        self.ser.write(line.encode() + b"\n")
        return self.read_reply(line.split()[0], until, timeout)

    def read_reply(self, name: str, until: bytes | None, timeout: float) -> list[str]:
        lines, buf = [], b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            buf += self.ser.read(4096)
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                raw = raw.rstrip(b"\r")
                if not raw or raw[:1] in (b"\x06", b"\x04"):
                    continue
                text = raw.decode("utf-8", "replace")
                if until is None:
                    if text.startswith((name, "ok", "error")):
                        return [text]
                    continue
                lines.append(text)
                if raw == until or text.startswith("error"):
                    return lines
        raise TimeoutError(f"no reply to {name!r} from {self.port} within {timeout:.0f} s")

    def wait_boot(self, timeout: float) -> tuple[str, str, str]:
        """Wait for the boot banner and READY; returns (version, board, slot)."""
        deadline = time.monotonic() + timeout
        buf, banner = b"", None
        while time.monotonic() < deadline:
            buf += self.ser.read(4096)
            if banner is None and (m := BANNER.search(buf)):
                banner = tuple(g.decode() for g in m.groups())
                buf = buf[m.end():]
            if banner and b"READY" in buf:
                return banner
            buf = buf[-4096:]
        raise TimeoutError("the phone did not come back with its banner and READY "
                           f"within {timeout:.0f} s")
