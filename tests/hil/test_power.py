"""Power is pulled, not shut down: the phone comes back on the slot it ran, logged out, with
what was saved before the cut. On the sim board the device's process group is killed at once;
on a rig the relay cuts the supply (rig capability power, docs/hil-rig.md)."""
import time

import pytest

from tests.hil.test_console import lcd, press

pytestmark = [pytest.mark.hil, pytest.mark.slow, pytest.mark.rig("power")]


def contrast(dut) -> str:
    """Menu -> Settings -> Contrast: the value the editor opens with (`7/10`); leaves the
    editor open."""
    press(dut, "soft3")
    press(dut, "ok")
    for _ in range(4):
        press(dut, "down")
    press(dut, "ok")
    rows = lcd(dut)
    assert rows[0].rstrip() == "Contrast", rows
    return rows[1].split()[-1]


def test_a_setting_saved_before_the_plug_is_pulled_is_there_after_it(updatable_phone,
                                                                      power_cycle, request):
    dut = updatable_phone
    dut.write("version")
    slot = dut.expect(r"version \S+ board=\S+ slot=([ab])", timeout=5).group(1).decode()
    before = contrast(dut)
    press(dut, "left" if before.startswith("10/") else "right")
    saved = lcd(dut)[1].split()[-1]
    assert saved != before
    press(dut, "soft3")                              # Save
    time.sleep(0.5)                                  # the hand leaves the key; then the cut
    power_cycle()
    timeout = request.config.getoption("boot_timeout", None) or 30.0
    dut.expect(rf"hardphone \S+ board=\S+ slot={slot}", timeout=timeout)
    dut.expect_exact("READY", timeout=timeout)
    dut.write("status")
    dut.expect(rf"status agent=LOGGED_OUT .*slot={slot}", timeout=5)
    assert lcd(dut)[0].startswith("Logged out")
    assert contrast(dut) == saved
