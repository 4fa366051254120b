"""Electrical models of the keypad matrix and the hook switch on emulated pins.

A pressed key connects its row wire to its column wire. The column pins have pull-ups, so a
column reads low exactly when some pressed key joins it to a row the scanner drives low.
"""
from __future__ import annotations

import threading


class KeypadMatrix:
    def __init__(self, factory, spec):
        self.spec = spec
        self._rows = [factory.pin(p) for p in spec.rows]
        self._cols = [factory.pin(p) for p in spec.cols]
        self._where = {name: (r, c) for r, row in enumerate(spec.keys)
                       for c, name in enumerate(row) if name}
        self._pressed: set[tuple[int, int]] = set()
        # key -> whole scans since it was last pressed or released whose selection of its row
        # came after that change, so that they read the key as it is now
        self._scanned: dict[tuple[int, int], int] = {}
        self._selected: set[tuple[int, int]] = set()     # ... its row selected in this scan
        self._lock = threading.RLock()
        self._scan = threading.Condition(self._lock)
        for pin in self._rows:
            pin.listeners.append(lambda _pin, _value: self._row_changed())

    @property
    def key_names(self):
        return tuple(self._where)

    def press(self, key: str):
        with self._lock:
            where = self._position(key)
            if where not in self._pressed:
                self._pressed.add(where)
                self._changed(where)
            self._settle()

    def wait_scanned(self, key: str, scans: int, timeout: float) -> bool:
        """Wait until the scanner has read ``key`` as it is now (pressed or not) in ``scans``
        whole scans: ones that selected its row (it alone driven low) after the key last
        changed and went back to idle (every row low) after reading it. A press or a release
        kept that long is past an n-scan debounce however late the scan thread runs. True at
        once for a key never touched; False on timeout."""
        where = self._position(key)
        with self._scan:
            return self._scan.wait_for(lambda: self._scanned.get(where, scans) >= scans,
                                       timeout)

    def release(self, key: str):
        with self._lock:
            where = self._position(key)
            if where in self._pressed:
                self._pressed.discard(where)
                self._changed(where)
            self._settle()

    def release_all(self):
        with self._lock:
            for where in self._pressed:
                self._changed(where)
            self._pressed.clear()
            self._settle()

    def _changed(self, where: tuple[int, int]):
        self._scanned[where] = 0
        self._selected.discard(where)

    def pressed(self) -> set[str]:
        names = {pos: name for name, pos in self._where.items()}
        with self._lock:
            return {names[p] for p in self._pressed}

    def _position(self, key):
        try:
            return self._where[key]
        except KeyError:
            raise ValueError(f"no key {key!r} on this keypad") from None

    def _row_changed(self):
        with self._lock:
            low = [r for r, row in enumerate(self._rows)
                   if row.function == "output" and not row.state]
            if len(low) == 1:                  # one row selected (idle, all are low)
                self._selected.update(w for w in self._scanned if w[0] == low[0])
            elif len(low) == len(self._rows) and self._selected:    # a scan is over
                for where in self._selected:
                    self._scanned[where] += 1
                self._selected.clear()
                self._scan.notify_all()
            self._settle()

    def _settle(self):
        with self._lock:
            for c, col in enumerate(self._cols):
                if col.function != "input":
                    continue
                low = any(self._rows[r].function == "output" and not self._rows[r].state
                          for r, pc in self._pressed if pc == c)
                if low:
                    col.drive_low()
                else:
                    col.drive_high()


class HookContact:
    """The cradle switch: closed (pin pulled to ground) while the handset rests on it.

    A closed switch beats the pull-up, whenever the driver sets one up.
    """

    def __init__(self, factory, pin, lifted: bool = False):
        self._pin = factory.pin(pin)
        self.lifted = lifted
        self._pin.listeners.append(self._hold_low)

    def _hold_low(self, pin, value):
        if value and not self.lifted and pin.function == "input":
            pin.drive_low()

    def set_lifted(self, lifted: bool):
        self.lifted = lifted
        if self._pin.function != "input":
            return
        if lifted:
            self._pin.drive_high()
        else:
            self._pin.drive_low()

    def bounce(self, lifted: bool, flips: int = 5):
        """A real contact chatters a few times before it settles."""
        for i in range(flips):
            self.set_lifted(lifted if i % 2 == 0 else not lifted)
        self.set_lifted(lifted)
