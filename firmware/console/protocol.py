"""Console framing and parsing, sans I/O: bytes in, commands or errors out.

Lines end with ``\\n`` (a ``\\r`` before it is dropped). A line over MAX_LINE bytes is thrown
away up to its end and answered with one error. Lines that start like an SMP frame (0x06 0x09,
or a continuation 0x04 0x14) are handed over whole to whoever owns SMP.
"""
from __future__ import annotations

from dataclasses import dataclass

MAX_LINE = 1024
SMP_STARTS = (b"\x06\x09", b"\x04\x14")


@dataclass(frozen=True)
class Command:
    name: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class Bad:
    reason: str


@dataclass(frozen=True)
class SmpLine:
    data: bytes


class LineFramer:
    def __init__(self, max_line: int = MAX_LINE):
        self.max_line = max_line
        self._buf = bytearray()
        self._discarding = False

    def feed(self, data: bytes) -> list:
        """Returns what the bytes complete: Command, Bad or SmpLine items, in order."""
        out = []
        self._buf += data
        while True:
            nl = self._buf.find(b"\n")
            if nl < 0:
                if len(self._buf) > self.max_line and not self._discarding:
                    self._discarding = True
                    out.append(Bad(f"line too long (over {self.max_line} bytes)"))
                if self._discarding:
                    self._buf.clear()
                return out
            line = bytes(self._buf[:nl])
            del self._buf[: nl + 1]
            if self._discarding:
                self._discarding = False          # the tail of a line already answered
                continue
            if len(line) > self.max_line:
                out.append(Bad(f"line too long (over {self.max_line} bytes)"))
                continue
            item = parse(line)
            if item is not None:
                out.append(item)


def parse(line: bytes):
    """One line -> Command, Bad, SmpLine, or None for a blank line."""
    if line.startswith(SMP_STARTS):
        return SmpLine(line)
    line = line.rstrip(b"\r")
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        return Bad("binary data (not a text command)")
    if any(not (ch.isprintable() or ch == "\t") for ch in text):
        return Bad("control characters in command")
    words = text.split()
    if not words:
        return None
    return Command(words[0].lower(), tuple(words[1:]))
