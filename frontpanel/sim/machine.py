"""``machine`` for the MicroPython unix port: the front panel's pins, I2C and UART, emulated.

Found before the built-in module through MICROPYPATH (hal/frontpanel/sim.py sets it). The
UART is this process's stdin/stdout (socat links them to a pty the Pi opens). The rest is
wired through a side channel, a unix socket named by $FP_SIDE, one text line a message:

    sim -> panel   join R C / part R C     a key joins row pin R to column pin C, or lets go
                   ground P 1|0            pin P held to ground (the hook on its cradle)
                   watch P                 report output pin P's changes ("pin P V")
                   unplug / plug           the cable at the panel's connector
                   txnoise HEX / rxnoise HEX   bytes on the line, to the Pi / to the panel
                   sync N                  answered with "sync N" once all before it is done
                   go                      the end of the initial state (sent once)
    panel -> sim   i2c ADDR HEX            a write to the I2C bus (the LCD's PCF8574)
                   pin P V                 a watched output changed
                   sync N

Electrically: an input with a pull-up reads low when it is grounded or joined to an output
driven low, else high.
"""
import os
import select
import socket
import struct
import sys
from binascii import hexlify, unhexlify

_pins = {}
_joins = set()
_grounded = set()
_watched = set()
_state = {"unplugged": False}
_rx_noise = bytearray()
_line = bytearray()
_poll = select.poll()
_stdin = sys.stdin.buffer
_stdout = sys.stdout.buffer
_poll.register(_stdin, select.POLLIN)


def _connect():
    path = os.getenv("FP_SIDE")
    if not path:
        return None
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(struct.pack("H", socket.AF_UNIX) + path.encode() + b"\x00")
    return s


_side = _connect()


def _tell(line):
    if _side is not None:
        _side.send(line.encode() + b"\n")


def _command(line):
    words = line.split()
    if not words:
        return
    cmd, args = words[0], words[1:]
    if cmd == "join":
        _joins.add((int(args[0]), int(args[1])))
    elif cmd == "part":
        _joins.discard((int(args[0]), int(args[1])))
    elif cmd == "ground":
        (_grounded.add if args[1] == "1" else _grounded.discard)(int(args[0]))
    elif cmd == "watch":
        p = int(args[0])
        _watched.add(p)
        if p in _pins:
            _tell("pin %d %d" % (p, _pins[p].value()))
    elif cmd == "unplug":
        _state["unplugged"] = True
    elif cmd == "plug":
        _state["unplugged"] = False
    elif cmd == "txnoise":
        _stdout.write(unhexlify(args[0]))
    elif cmd == "rxnoise":
        _rx_noise.extend(unhexlify(args[0]))
    elif cmd == "sync":
        _tell("sync " + args[0])


def _side_read():
    """Handle what the side channel has; False once it is closed."""
    global _line
    data = _side.recv(512)
    if not data:
        return False
    _line.extend(data)
    while b"\n" in _line:
        i = _line.index(b"\n")
        line, _line = bytes(_line[:i]), _line[i + 1:]
        if line == b"go":
            _state["go"] = True
        else:
            _command(line.decode())
    return True


if _side is not None:
    _poll.register(_side, select.POLLIN)
    _side.send(b"hello\n")
    while not _state.get("go"):             # the initial state before the firmware reads a pin
        if not _side_read():
            raise SystemExit("side channel closed")


def wait_io(ms):
    """Sleep up to ``ms`` or until the UART or the side channel has something (shim only: an
    MCU wakes on its interrupts)."""
    for obj, ev in _poll.poll(ms):
        if obj is _side:
            if ev & (select.POLLHUP | select.POLLERR) or not _side_read():
                raise SystemExit("side channel closed")
        elif ev & (select.POLLHUP | select.POLLERR) and not ev & select.POLLIN:
            raise SystemExit("UART closed")


def idle():
    wait_io(1)


class Pin:
    IN, OUT, OPEN_DRAIN = 0, 1, 2
    PULL_UP, PULL_DOWN = 1, 2

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self.mode, self.pull, self._v = Pin.IN, None, 0
        _pins[id] = self
        self.init(mode, pull, value)

    def init(self, mode=-1, pull=-1, value=None):
        if mode != -1:
            self.mode = mode
        if pull != -1:
            self.pull = pull
        if value is not None:
            self.value(value)

    def value(self, v=None):
        if v is None:
            return self._v if self.mode == Pin.OUT else self._input()
        v = 1 if v else 0
        changed = v != self._v
        self._v = v
        if changed and self.id in _watched and self.mode == Pin.OUT:
            _tell("pin %d %d" % (self.id, v))
        return None

    def _input(self):
        if self.id in _grounded:
            return 0
        for a, b in _joins:
            other = b if a == self.id else a if b == self.id else None
            if other is not None:
                p = _pins.get(other)
                if p is not None and p.mode == Pin.OUT and p._v == 0:
                    return 0
        return 1 if self.pull == Pin.PULL_UP else 0

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def __call__(self, v=None):
        return self.value(v)


class I2C:
    def __init__(self, id=0, scl=None, sda=None, freq=100000):
        self.id, self.freq = id, freq

    def writeto(self, addr, buf, stop=True):
        _tell("i2c %d %s" % (addr, hexlify(bytes(buf)).decode()))
        return len(buf)

    def scan(self):
        return []


class UART:
    """Non-blocking like an MCU's: ``read`` gives what has arrived (None if nothing)."""

    def __init__(self, id=0, baudrate=115200, tx=None, rx=None, **kw):
        self.id, self.baudrate = id, baudrate

    def any(self):
        return 1 if _rx_noise or _poll_stdin() else 0

    def read(self, n=256):
        out = bytearray(_rx_noise[:n])
        _rx_noise[:] = _rx_noise[len(out):]
        while len(out) < n and _poll_stdin():
            b = _stdin.read(1)
            if not b:
                raise SystemExit("UART closed")
            if not _state["unplugged"]:
                out.extend(b)
        return bytes(out) if out else None

    def write(self, buf):
        if _state["unplugged"]:
            return len(buf)
        return _stdout.write(buf)


_stdin_poll = select.poll()
_stdin_poll.register(_stdin, select.POLLIN)


def _poll_stdin():
    for _obj, ev in _stdin_poll.poll(0):
        if ev & select.POLLIN:
            return True
        if ev & (select.POLLHUP | select.POLLERR):
            raise SystemExit("UART closed")
    return False
