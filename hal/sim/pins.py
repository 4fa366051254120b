"""gpiozero mock pins that keep a bounded history and tell listeners when they change.

gpiozero's MockPin appends every transition to an unbounded list; a keypad scanned for hours
would grow it without end, so the history here is a short ring.
"""
from __future__ import annotations

from collections import deque

from gpiozero.pins.mock import MockFactory, MockPin, MockPWMPin, PinState

HISTORY = 64


class _Observed:
    def _init_observed(self):
        self.listeners = []
        self.states = deque(self.states, maxlen=HISTORY)

    def clear_states(self):
        super().clear_states()
        self.states = deque(self.states, maxlen=HISTORY)

    def _change_state(self, value):
        changed = super()._change_state(value)
        if changed:
            for listener in list(getattr(self, "listeners", ())):
                listener(self, value)
        return changed


class SimPin(_Observed, MockPin):
    def __init__(self, factory, info):
        super().__init__(factory, info)
        self._init_observed()


class SimPWMPin(_Observed, MockPWMPin):
    def __init__(self, factory, info):
        super().__init__(factory, info)
        self._init_observed()


def make_factory() -> MockFactory:
    return MockFactory(pin_class=SimPin)


__all__ = ["PinState", "SimPWMPin", "SimPin", "make_factory"]
