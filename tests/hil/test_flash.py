"""Field flashing through pytest-embedded: the same flow on the sim phone or a real one."""
import pytest

from tools.flash.session import flash

pytestmark = [pytest.mark.hil, pytest.mark.slow, pytest.mark.rig("flash")]


def test_upload_test_reset_ready_confirm(updatable_phone, port, flash_kit):
    dut = updatable_phone
    dut.write("version")
    before = dut.expect(r"version (\S+) board=(\S+) slot=([ab])", timeout=5)
    old_slot = before.group(3).decode()
    # The flasher owns the port while it speaks SMP: pytest-embedded's reader must not eat
    # its frames.
    with dut.serial.disable_redirect_thread():
        result = flash(port, flash_kit.v2)
    assert result.after.version == "1.1.0" and result.after.slot != old_slot
    dut.write("version")
    dut.expect(rf"version 1.1.0 board=\S+ slot={result.after.slot}", timeout=10)
    dut.write("slots")
    dut.expect(rf"slot {result.after.slot}: version=1.1.0 state=active confirmed=yes", timeout=5)
