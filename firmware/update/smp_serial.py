"""SMP over the console UART: the two framings it shares the port with console text in.

- console framing (Zephyr's default, what smpmgr speaks): base64 lines starting 0x06 0x09,
  continued by 0x04 0x14, with a length prefix and CRC16; they interleave with console text.
- COBS framing (flash.sh's fast mode): COBS-encoded frames with CRC16, 0x00-delimited, about
  0.4% overhead. Binary, so the port is switched into it by the console command ``smp cobs``
  and falls back to text after IDLE_S without a frame.
Console framing is the smp package's own codec; COBS frames are those of smpclient's
``Cobs`` framing (COBS from the cobs package, CRC16 from smp), without importing smpclient,
which would cost the phone 30 MB.
"""
from __future__ import annotations

from cobs import cobs
from smp import packet as smp_packet
from smp.exceptions import SMPBadContinueDelimiter, SMPBadCRC, SMPBadStartDelimiter

LINE_LENGTH = 127          # Zephyr's console line length; every client accepts it
COBS_IDLE_S = 3.0          # flash.sh (tools/flash/session.py) waits this out too


class ConsoleFrameDecoder:
    """Reassembles SMP frames from console-framed lines (each line without its newline)."""

    def __init__(self):
        self._decoder = None

    def feed(self, line: bytes) -> bytes | None:
        line = line + b"\n"
        if line.startswith(smp_packet.START_DELIMITER):
            self._decoder = smp_packet.decode()
            next(self._decoder)
        elif self._decoder is None:
            return None                           # a continuation without a start: drop
        try:
            self._decoder.send(line)
        except StopIteration as done:
            self._decoder = None
            return bytes(done.value)
        except (SMPBadCRC, SMPBadStartDelimiter, SMPBadContinueDelimiter, ValueError):
            self._decoder = None                  # damaged: the client times out and retries
        return None


def console_encode(frame: bytes) -> bytes:
    return b"".join(smp_packet.encode(frame, line_length=LINE_LENGTH))


COBS_MAX_BUFFER = 1 << 16     # this many bytes without a delimiter is noise: drop it


class CobsFrames:
    """COBS + CRC16 frames in and out, 0x00-delimited. A damaged frame (bit flips) is dropped
    and decoding resyncs at the next delimiter; the client times out and retries."""

    def __init__(self):
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        frames = []
        while (end := self._buf.find(0)) >= 0:
            raw = bytes(self._buf[:end])
            del self._buf[: end + 1]
            frame = _decode_cobs(raw)
            if frame is not None:
                frames.append(frame)
        if len(self._buf) > COBS_MAX_BUFFER:
            self._buf.clear()
        return frames

    @staticmethod
    def encode(frame: bytes) -> bytes:
        crc = smp_packet.CRC16_STRUCT.pack(smp_packet.crc16_func(frame))
        return cobs.encode(frame + crc) + b"\x00"

    def reset(self):
        self._buf.clear()


def _decode_cobs(raw: bytes) -> bytes | None:
    if not raw:
        return None
    try:
        decoded = cobs.decode(raw)
    except cobs.DecodeError:
        return None
    size = smp_packet.CRC16_STRUCT.size
    if len(decoded) <= size:
        return None
    frame, crc = decoded[:-size], decoded[-size:]
    if smp_packet.crc16_func(frame) != smp_packet.CRC16_STRUCT.unpack(crc)[0]:
        return None
    return frame


class SerialSmp:
    """What the console needs to carry SMP: decode, answer, encode. Wraps an SmpServer."""

    cobs_idle_s = COBS_IDLE_S

    def __init__(self, server):
        self.server = server
        self._lines = ConsoleFrameDecoder()

    def feed_line(self, line: bytes) -> bytes | None:
        return self._lines.feed(line)

    def handle(self, frame: bytes) -> bytes | None:
        return self.server.handle(frame)

    @staticmethod
    def encode_lines(frame: bytes) -> bytes:
        return console_encode(frame)

    @staticmethod
    def cobs() -> CobsFrames:
        return CobsFrames()
