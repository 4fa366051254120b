"""HIL fixtures: the same tests drive a real phone (--port /dev/ttyUSB0) or the sim phone.

On the sim, a socat "cable" joins two pseudo-terminals: pytest-embedded opens one end, then
the phone starts on the other, so the boot banner is seen just as on a device being powered
on (pyserial drops what arrived before a port is opened).
"""
import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.hil.rig import BARE, SIM, RigError, load_rig
from tools.lab import Lab
from tools.process import ProcessError
from tools.process import start as start_process

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def embedded_services(request):
    return request.config.getoption("embedded_services", None) or "serial"


@pytest.fixture(scope="session")
def rig(request):
    """What the bench around the phone can do (tests/hil/rig.py): everything on the sim board;
    on --port, what the --rig file says, and the console only without one."""
    if not request.config.getoption("port", None):
        return SIM
    path = request.config.getoption("rig", None)
    if path is None:
        return BARE
    try:
        return load_rig(path)
    except RigError as e:
        pytest.exit(f"--rig: {e}", returncode=4)


@pytest.fixture(autouse=True)
def rig_capabilities(request, rig):
    """Skip, saying what is missing, a test marked rig("power", ...) that this rig can't run;
    autouse, so it happens before a phone is booted for nothing."""
    needs = tuple(name for mark in request.node.iter_markers("rig") for name in mark.args)
    why = rig.lacks(needs)
    if why:
        pytest.skip(why)


def boot_timeout(request) -> float:
    return request.config.getoption("boot_timeout", None) or 30.0


def reboot(dut):
    """A real phone starts each test from a fresh boot: its launcher (or systemd) starts it
    again on `reboot`, and the test then sees the banner as on a power-up."""
    dut.write("reboot")
    dut.expect_exact("ok", timeout=10)


@pytest.fixture
def sim_cable(request, tmp_path):
    if request.config.getoption("port", None):
        yield None
        return
    if not shutil.which("socat"):
        pytest.fail("socat is missing (make setup installs it)")
    test_end, phone_end = tmp_path / "tty-test", tmp_path / "tty-phone"
    cable = start_process(["socat", f"pty,raw,echo=0,link={test_end}",
                           f"pty,raw,echo=0,link={phone_end}"])
    try:
        cable.wait_until(lambda: test_end.exists() and phone_end.exists(), 5,
                         "the cable's two ends")
    except ProcessError as e:
        cable.stop()
        pytest.fail(f"socat did not create the cable: {e}")
    yield test_end, phone_end
    cable.stop()


@pytest.fixture
def port(request, sim_cable):
    return request.config.getoption("port", None) or str(sim_cable[0])


@pytest.fixture
def lab(request, tmp_path):
    """A lab on loopback (Kamailio, ccsim with its bridge and customers) for the sim phone; a
    module that uses it gives the phone agent 1001's config (``phone_config``). A real phone
    (--port) needs a lab it can reach: such tests skip there."""
    if request.config.getoption("port", None):
        pytest.skip("needs a lab the real phone can reach (the lab here is on loopback)")
    with Lab(tmp_path / "lab") as lab:
        lab.start()
        yield lab


@pytest.fixture
def phone_config():
    """Config the sim phone gets besides its state dir (a test module may override this)."""
    return ""


@pytest.fixture
def phone(request, dut, sim_cable, tmp_path, phone_config):
    """A freshly booted phone; yields the dut after the banner and READY were seen."""
    proc = None
    if sim_cable is None:
        reboot(dut)
    else:       # its console is the cable: the dut waits for READY there
        cfg = tmp_path / "phone.toml"
        cfg.touch(mode=0o600)
        cfg.write_text("[phone]\nstate_dir = 'state'\n[board_page]\nport = 0\n" + phone_config)
        board = request.config.getoption("sim_board", None) or "sim"
        proc = start_process([sys.executable, "-m", "firmware", "--board", board,
                              "--config", str(cfg), "--console", str(sim_cable[1])],
                             name="sim phone", cwd=ROOT, stderr=tmp_path / "phone.log",
                             env={**os.environ, "TZ": "UTC"})
    dut.expect(r"hardphone \S+ board=\S+ slot=[ab]", timeout=boot_timeout(request))
    dut.expect_exact("READY", timeout=boot_timeout(request))
    yield dut
    if proc is not None:
        assert proc.stop(5) == 0, proc.output_tail()


@pytest.fixture(scope="session")
def flash_kit(tmp_path_factory, rig):
    """Signed images 1.0.0 and 1.1.0 of this tree, with a throwaway key (a rig's phone: the
    key it was provisioned with, from the rig file)."""
    from tools.simdevice import Kit
    kit = Kit(tmp_path_factory.mktemp("flash-kit"), rig.flash_key)
    kit.v1 = kit.image("1.0.0")
    kit.v2 = kit.image("1.1.0")
    return kit


@pytest.fixture
def sim_device(sim_cable, tmp_path, flash_kit):
    """The sim phone under its launcher, 1.0.0 in slot a of an update root, powered on;
    None on --port (the phone there is real)."""
    if sim_cable is None:
        yield None
        return
    from tools.simdevice import SimDevice
    dev = SimDevice(tmp_path / "phone", flash_kit, str(sim_cable[1]), flash_kit.v1)
    dev.power_on()
    yield dev
    dev.stop()


@pytest.fixture
def updatable_phone(request, dut, sim_device):
    """A phone running from slot a of an update root, under its launcher.

    On a real phone (--port) it must already run a firmware whose [update] public_key is
    the kit's key (tools.mkimage provision at the factory does that: rig capability flash)."""
    if sim_device is None:
        reboot(dut)
    dut.expect(r"hardphone \S+ board=\S+ slot=[ab]", timeout=boot_timeout(request))
    dut.expect_exact("READY", timeout=boot_timeout(request))
    yield dut


@pytest.fixture
def power_cycle(sim_device, rig):
    """Pull the phone's plug and put it back: the sim device's process group is killed at
    once; a real phone's supply is switched by the rig's relay (capability power)."""
    def cycle():
        if sim_device is not None:
            sim_device.power_cut()
            sim_device.power_on()
        else:
            rig.power_cycle()
    return cycle
