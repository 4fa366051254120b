"""HookSwitch: the cradle switch under the handset."""
from __future__ import annotations

import threading
from collections.abc import Callable

from gpiozero import DigitalInputDevice


class HookSwitch:
    """The switch closes to ground while the handset rests on the cradle.

    ``when_lifted`` / ``when_replaced`` are called from a timer thread once the contact has
    been stable for ``debounce_ms`` (gpiozero's own bounce handling is not on every backend).
    """

    def __init__(self, pin, pin_factory=None, debounce_ms: float = 20,
                 when_lifted: Callable[[], None] | None = None,
                 when_replaced: Callable[[], None] | None = None):
        self.when_lifted, self.when_replaced = when_lifted, when_replaced
        self._debounce = debounce_ms / 1000
        self._switch = DigitalInputDevice(pin, pull_up=True, pin_factory=pin_factory)
        self._lock = threading.Lock()
        self._quiet = threading.Condition(self._lock)       # no debounce under way
        self._timer: threading.Timer | None = None
        self._reported = self._read()
        self._switch.when_activated = self._changed
        self._switch.when_deactivated = self._changed

    def _read(self) -> bool:
        return not self._switch.value        # active (low) = on the cradle

    @property
    def is_lifted(self) -> bool:
        return self._reported

    def _changed(self):
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            timer = threading.Timer(self._debounce, lambda: self._settle(timer))
            timer.daemon = True
            self._timer = timer
            timer.start()

    def _settle(self, timer: threading.Timer):
        lifted = self._read()
        with self._lock:
            if timer is not self._timer:         # the contact moved again: a newer one settles
                return
            changed = lifted != self._reported
            self._reported = lifted
        if changed:
            self._report(lifted)
        with self._lock:
            if self._timer is timer:
                self._timer = None
                self._quiet.notify_all()

    def wait_settled(self, timeout: float) -> bool:
        """Wait until the contact has been still for the debounce time and what it did has
        been reported (for tests and the sim); False if it is still moving after ``timeout``."""
        with self._quiet:
            return self._quiet.wait_for(lambda: self._timer is None, timeout)

    def set_lifted(self, lifted: bool):
        """Report the hook as lifted or replaced without the contact (service console)."""
        with self._lock:
            self._reported = lifted
        self._report(lifted)

    def _report(self, lifted):
        cb = self.when_lifted if lifted else self.when_replaced
        if cb is not None:
            cb()

    def close(self):
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
        self._switch.close()
