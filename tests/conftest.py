import pytest

from hal.board import load_board


def pytest_addoption(parser):
    # Here, not in tests/hil/conftest.py: pytest reads options only from conftests it loads
    # at startup, and a plain `pytest` (testpaths = tests) doesn't load tests/hil's then.
    group = parser.getgroup("hil", "HIL rig (tests/hil)")
    group.addoption("--rig", default=None, metavar="FILE",
                    help="the rig file of the phone on --port (docs/hil-rig.md); "
                         "without it a real phone has its console only")
    group.addoption("--boot-timeout", type=float, default=30.0, metavar="S",
                    help="seconds a phone may take from reboot to READY (default 30)")
    group.addoption("--sim-board", default="sim", metavar="NAME",
                    help="the board the sim phone runs (default sim; sim-frontpanel: its "
                         "keys, hook, LEDs and LCD on the MicroPython front panel)")


@pytest.fixture(scope="session")
def sim_spec():
    return load_board("sim")
