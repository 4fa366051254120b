"""HookSwitch debounce and Leds on emulated pins."""
import threading

import pytest

from hal.hook import HookSwitch
from hal.leds import Leds
from hal.sim.matrix import HookContact
from hal.sim.pins import make_factory
from tests.waits import wait_until


@pytest.fixture
def factory():
    f = make_factory()
    yield f
    f.reset()


def test_hook_reports_lift_and_replace_once_despite_chatter(factory, sim_spec):
    events, seen = [], threading.Event()

    def note(what):
        events.append(what)
        seen.set()

    contact = HookContact(factory, sim_spec.hook_pin)
    hook = HookSwitch(sim_spec.hook_pin, pin_factory=factory,
                      when_lifted=lambda: note("lifted"), when_replaced=lambda: note("replaced"))
    assert hook.wait_settled(1)
    assert not hook.is_lifted and events == []
    contact.bounce(lifted=True)
    assert seen.wait(1)
    assert hook.wait_settled(1)               # every flip's debounce over: no second report
    assert events == ["lifted"]
    seen.clear()
    contact.bounce(lifted=False)
    assert seen.wait(1)
    assert hook.wait_settled(1)
    assert events == ["lifted", "replaced"]
    assert not hook.is_lifted
    hook.close()


def test_leds_drive_their_pins(factory, sim_spec):
    leds = Leds(sim_spec.leds, pin_factory=factory)
    pin = factory.pin(sim_spec.leds["mute"])
    leds.set("mute", "on")
    assert pin.state and leds.mode("mute") == "on"
    leds.set("mute", "off")
    assert not pin.state
    leds.set("line", "blink")
    line = factory.pin(sim_spec.leds["line"])
    levels = {bool(line.state)}
    line.listeners.append(lambda _pin, value: levels.add(bool(value)))
    wait_until(lambda: levels == {True, False}, 3, "a blinking LED going on and off")
    assert leds.modes()["line"] == "blink"
    with pytest.raises(ValueError):
        leds.set("line", "bright")
    leds.close()
