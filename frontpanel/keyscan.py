"""The key matrix and the hook switch, scanned with debounce (the same rules as hal/keypad.py).

Idle, every row is driven low, so a press pulls its column low; ``active`` says whether a scan
is needed (a column is low, or a key is down or being debounced). A key counts as down after
``debounce`` consecutive scans see it and as up after as many don't; ``long_ms`` held gives a
long press. Keys are numbered row * len(cols) + col, the Pi names them from its board file.
"""
import time

from machine import Pin

DOWN, UP, LONG = 1, 2, 3            # fpcodec.KEY_DOWN, KEY_UP, KEY_LONG


class Matrix:
    def __init__(self, rows, cols, debounce=2, long_ms=800):
        self.rows = [Pin(p, Pin.OUT, value=0) for p in rows]
        self.cols = [Pin(p, Pin.IN, Pin.PULL_UP) for p in cols]
        self.debounce, self.long_ms = debounce, long_ms
        self.down = {}        # key -> ticks_ms when it went down
        self.long_sent = set()
        self.seen = {}        # key -> consecutive scans seen (not yet down)
        self.unseen = {}      # key -> consecutive scans a down key was missing

    def any_column_low(self):
        return any(c.value() == 0 for c in self.cols)

    @property
    def active(self):
        return bool(self.down or self.seen) or self.any_column_low()

    def scan(self):
        """One pass over the matrix: the keys closed right now."""
        pressed = set()
        n = len(self.cols)
        for r, row in enumerate(self.rows):
            for other in self.rows:
                other.value(0 if other is row else 1)
            for c, col in enumerate(self.cols):
                if col.value() == 0:
                    pressed.add(r * n + c)
        for row in self.rows:
            row.value(0)
        return pressed

    def tick(self, now=None):
        """Scan once; the (kind, key) events it completes."""
        return self.step(self.scan(), time.ticks_ms() if now is None else now)

    def step(self, pressed, now):
        out = []
        n = self.debounce
        for key in pressed:
            self.unseen.pop(key, None)
            if key not in self.down:
                self.seen[key] = self.seen.get(key, 0) + 1
                if self.seen[key] >= n:
                    del self.seen[key]
                    self.down[key] = now
                    out.append((DOWN, key))
        for key in list(self.seen):
            if key not in pressed:
                del self.seen[key]
        for key in list(self.down):
            if key in pressed:
                held = time.ticks_diff(now, self.down[key])
                if key not in self.long_sent and held >= self.long_ms:
                    self.long_sent.add(key)
                    out.append((LONG, key))
                continue
            self.unseen[key] = self.unseen.get(key, 0) + 1
            if self.unseen[key] >= n:
                del self.unseen[key]
                del self.down[key]
                self.long_sent.discard(key)
                out.append((UP, key))
        return out


class Hook:
    """Closed to ground while the handset rests on the cradle; a change counts once the
    contact has read the same for ``debounce_ms``."""

    def __init__(self, pin, debounce_ms=20):
        self.pin = Pin(pin, Pin.IN, Pin.PULL_UP)
        self.debounce_ms = debounce_ms
        self.lifted = self.pin.value() == 1
        self._since = None

    @property
    def active(self):
        return self._since is not None or (self.pin.value() == 1) != self.lifted

    def tick(self, now=None):
        """True/False when the hook settles lifted/replaced, else None."""
        now = time.ticks_ms() if now is None else now
        raw = self.pin.value() == 1
        if raw == self.lifted:
            self._since = None
            return None
        if self._since is None:
            self._since = now
            return None
        if time.ticks_diff(now, self._since) >= self.debounce_ms:
            self.lifted, self._since = raw, None
            return raw
        return None
