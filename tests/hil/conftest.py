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

from tools.lab import Lab
from tools.process import ProcessError
from tools.process import start as start_process

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def embedded_services(request):
    return request.config.getoption("embedded_services", None) or "serial"


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
def phone(dut, sim_cable, tmp_path, phone_config):
    """A freshly booted phone; yields the dut after the banner and READY were seen."""
    proc = None
    if sim_cable is not None:       # its console is the cable: the dut waits for READY there
        cfg = tmp_path / "phone.toml"
        cfg.touch(mode=0o600)
        cfg.write_text("[phone]\nstate_dir = 'state'\n[board_page]\nport = 0\n" + phone_config)
        proc = start_process([sys.executable, "-m", "firmware", "--board", "sim",
                              "--config", str(cfg), "--console", str(sim_cable[1])],
                             name="sim phone", cwd=ROOT, stderr=tmp_path / "phone.log",
                             env={**os.environ, "TZ": "UTC"})
    dut.expect(r"hardphone \S+ board=\S+ slot=[ab]", timeout=30 if proc is None else 15)
    dut.expect_exact("READY", timeout=15)
    yield dut
    if proc is not None:
        assert proc.stop(5) == 0, proc.output_tail()


@pytest.fixture(scope="session")
def flash_kit(tmp_path_factory):
    """Signed images 1.0.0 and 1.1.0 of this tree, with a throwaway key."""
    from tools.simdevice import Kit
    kit = Kit(tmp_path_factory.mktemp("flash-kit"))
    kit.v1 = kit.image("1.0.0")
    kit.v2 = kit.image("1.1.0")
    return kit


@pytest.fixture
def updatable_phone(request, dut, sim_cable, tmp_path, flash_kit):
    """A phone running 1.0.0 from slot a of an update root, under its launcher.

    On a real phone (--port) it must already run a firmware whose [update] public_key is
    the kit's key (tools.mkimage provision at the factory does that)."""
    dev = None
    if sim_cable is not None:
        from tools.simdevice import SimDevice
        dev = SimDevice(tmp_path / "phone", flash_kit, str(sim_cable[1]), flash_kit.v1)
        dev.power_on()
    dut.expect(r"hardphone \S+ board=\S+ slot=[ab]", timeout=30)
    dut.expect_exact("READY", timeout=30)
    yield dut
    if dev is not None:
        dev.stop()
