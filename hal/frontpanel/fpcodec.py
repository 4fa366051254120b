"""The front-panel link's frames: one codec for both ends (CPython on the Pi, MicroPython on
the panel's microcontroller), so it keeps to what both have: struct, binascii.crc32, bytes.

A frame on the wire is COBS(body) followed by a 0x00 delimiter, so a receiver that starts
mid-stream or meets garbage resynchronises at the next 0x00. The body is

    type (1) | seq (1) | payload (0-MAX_PAYLOAD) | CRC-32 of type+seq+payload (4, little endian)

``seq`` is the sequence number of a panel event (key, hook) or of a Pi command (LCD, LEDs,
backlight, glyph); other frames carry 0. Events are numbered 0-255 and wrap; the Pi acks them
cumulatively (EVACK: every event up to ``seq`` is in) and drops any it has seen, so a
retransmitted event is acted on once. A command is acked by its own seq (ACK); the Pi sends
one at a time, and every command is idempotent, so a lost ack only costs a resend.

The panel answers each PING with a HELLO (its firmware version, a boot id drawn at power-up,
the first event seq it still holds, the hook state and its bad-frame count); a boot id the Pi
has not seen means the panel was reset and needs the whole LCD and LED state again.
"""
import struct
from binascii import crc32

# panel -> Pi
HELLO = 0x01        # boot_id u32, first_unacked u8, hook u8, bad_frames u16, why u8, version
EVENT = 0x03        # kind u8, key index u8 (row * cols + col; 0 for the hook)
ACK = 0x04          # seq: the command done
# Pi -> panel
PING = 0x10         # the heartbeat; the panel answers with a HELLO
EVACK = 0x11        # seq: the last event received in order
LCD = 0x12          # runs of (row u8, col u8, n u8, n character codes)
LEDS = 0x13         # one mode a LED in the board's order (MODE_*)
BACKLIGHT = 0x14    # u8 on
GLYPH = 0x15        # slot u8, 8 bitmap rows

# EVENT kinds
KEY_DOWN, KEY_UP, KEY_LONG, HOOK_LIFTED, HOOK_REPLACED = 1, 2, 3, 4, 5
KEY_KINDS = {KEY_DOWN: "down", KEY_UP: "up", KEY_LONG: "long"}
# HELLO why
WHY_BOOT, WHY_PONG, WHY_LOST = 0, 1, 2
# LEDS modes
MODE_OFF, MODE_ON, MODE_BLINK = 0, 1, 2
MODES = ("off", "on", "blink")

MAX_PAYLOAD = 200
SEQ_MOD = 256
# What the panel puts on its LCD when it hears nothing from the Pi (and what the Pi reports
# for it meanwhile): the agent sees that the keys do nothing for now.
LOST_TEXT = "Front panel lost"


class FrameError(ValueError):
    """A frame that is not one: bad COBS, too short, too long, or a CRC that doesn't match."""


def cobs_encode(data):
    """COBS: the bytes with every 0x00 removed, each run prefixed by its length + 1."""
    out = bytearray()
    start = 0
    n = len(data)
    while True:
        end = start
        while end < n and end - start < 254 and data[end] != 0:
            end += 1
        out.append(end - start + 1)
        out.extend(data[start:end])
        if end >= n:
            break
        if data[end] == 0:
            end += 1              # the zero is implied by the code byte
            if end == n:
                out.append(1)     # a trailing zero: one empty run after it
                break
        start = end
    return bytes(out)


def cobs_decode(data):
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        code = data[i]
        if code == 0:
            raise FrameError("0x00 inside a frame")
        end = i + code
        if end > n:
            raise FrameError("COBS run past the end")
        out.extend(data[i + 1:end])
        i = end
        if code < 255 and i < n:
            out.append(0)
    return bytes(out)


def encode(kind, seq=0, payload=b""):
    """One frame, ready for the wire (delimiter included)."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError("payload too long")
    body = bytes((kind & 0xFF, seq & 0xFF)) + bytes(payload)
    body += struct.pack("<I", crc32(body) & 0xFFFFFFFF)
    return cobs_encode(body) + b"\x00"


def decode(frame):
    """(kind, seq, payload) from one frame's bytes (without the delimiter)."""
    body = cobs_decode(frame)
    if len(body) < 6 or len(body) > MAX_PAYLOAD + 6:
        raise FrameError("frame length %d" % len(body))
    (crc,) = struct.unpack("<I", body[-4:])
    if crc32(body[:-4]) & 0xFFFFFFFF != crc:
        raise FrameError("CRC mismatch")
    return body[0], body[1], body[2:-4]


class Decoder:
    """Bytes in, frames out: ``feed`` returns the (kind, seq, payload) of each whole good
    frame; bad ones are counted in ``bad`` (with the last reason in ``last_error``)."""

    MAX_BUFFER = 2 * (MAX_PAYLOAD + 8)

    def __init__(self):
        self.buf = bytearray()
        self.bad = 0
        self.good = 0
        self.last_error = ""
        self._overflow = False

    def feed(self, data):
        frames = []
        for b in data:
            if b != 0:
                if len(self.buf) < self.MAX_BUFFER:
                    self.buf.append(b)
                else:
                    self._overflow = True
                continue
            if self._overflow:
                self._fail("frame too long")
            elif self.buf:
                try:
                    frames.append(decode(bytes(self.buf)))
                    self.good += 1
                except FrameError as e:
                    self._fail(str(e))
            self.buf = bytearray()
            self._overflow = False
        return frames

    def _fail(self, why):
        self.bad += 1
        self.last_error = why


def seq_newer(a, b):
    """True if event seq ``a`` comes after ``b`` (modulo 256, within half the range)."""
    d = (a - b) % SEQ_MOD
    return 0 < d < SEQ_MOD // 2


# -- payloads ---------------------------------------------------------------------------------
def hello_payload(boot_id, first_unacked, hook, bad_frames, why, version):
    return (struct.pack("<IBBHB", boot_id & 0xFFFFFFFF, first_unacked & 0xFF, 1 if hook else 0,
                        bad_frames & 0xFFFF, why) + version.encode()[:32])


def parse_hello(payload):
    """(boot_id, first_unacked, hook lifted, bad_frames, why, version)"""
    if len(payload) < 9:
        raise FrameError("short HELLO")
    boot_id, first, hook, bad, why = struct.unpack("<IBBHB", payload[:9])
    return boot_id, first, bool(hook), bad, why, bytes(payload[9:]).decode()


def lcd_payload(runs):
    """``runs``: (row, col, codes) each; they must fit one frame together."""
    out = bytearray()
    for row, col, codes in runs:
        out.extend(bytes((row, col, len(codes))))
        out.extend(codes)
    return bytes(out)


def parse_lcd(payload):
    runs = []
    i = 0
    while i + 3 <= len(payload):
        row, col, n = payload[i], payload[i + 1], payload[i + 2]
        if i + 3 + n > len(payload):
            raise FrameError("LCD run past the end")
        runs.append((row, col, bytes(payload[i + 3:i + 3 + n])))
        i += 3 + n
    if i != len(payload):
        raise FrameError("LCD payload has trailing bytes")
    return runs
