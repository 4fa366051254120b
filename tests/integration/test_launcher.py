"""The launcher with real firmware processes: a test boot that confirms itself, a crashing
trial that reverts, a power cut during a trial, and `reboot`/`revert`/`confirm` on the console.

The slots are copies of this repo's tree; each reports its manifest's version, so the
console shows which slot's code runs.
"""
import json
import os
import re
import shutil
import signal
import sys
from pathlib import Path

import pytest
import serial

from firmware.update.slots import SlotStore
from tests.waits import wait_until
from tools.kamailio import Kamailio
from tools.lab import free_port
from tools.process import ProcessError
from tools.process import start as start_process

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def make_slot(root: Path, slot: str, version: str, crash: bool = False):
    d = root / "slots" / slot
    for part in ("firmware", "hal", "board"):
        shutil.copytree(REPO / part, d / part, ignore=shutil.ignore_patterns("__pycache__"))
    (d / "firmware" / "version.py").write_text(f'__version__ = "{version}"\n')
    (d / "manifest.json").write_text(json.dumps({"version": version}))
    if crash:
        (d / "firmware" / "app" / "main.py").write_text('raise RuntimeError("broken build")\n')


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "update"
    make_slot(r, "a", "1.0.0")
    make_slot(r, "b", "2.0.0")
    return r


class Launcher:
    """``python -m firmware.update.boot`` in its own process group (the phone's power)."""

    def __init__(self, root: Path, tmp_path: Path, config: str = ""):
        cfg = tmp_path / "phone.toml"
        cfg.touch(mode=0o600)          # it may hold a SIP password
        cfg.write_text("[phone]\nstate_dir = 'state'\n[board_page]\nport = 0\n" + config)
        self.log = tmp_path / "launcher.log"
        self.process = start_process(
            [sys.executable, "-m", "firmware.update.boot", "--root", str(root), "--",
             "--board", "sim", "--console", "pty", "--config", str(cfg)],
            name="launcher", cwd=REPO, stderr=self.log, group=True,
            env={**os.environ, "PYTHONPATH": str(REPO), "TZ": "UTC"})
        self.proc = self.process.popen

    def expect(self, pattern: str, timeout: float = 20) -> re.Match:
        """The next line matching ``pattern``, after the last one expected."""
        try:
            return self.process.expect(pattern, timeout)
        except ProcessError as e:
            pytest.fail(str(e))

    def booted(self, slot: str, trial: str = "no") -> "Console":
        """The next boot: the launcher's line for ``slot``, then the firmware's READY."""
        m = self.expect(r"^boot: slot=(\w) version=(\S+) trial=(\w+) attempt=(\d+)$")
        assert (m.group(1), m.group(3)) == (slot, trial), m.group(0)
        path = self.expect(r"^console: (\S+)$").group(1)
        self.expect(r"^READY$")
        return Console(path)

    def power_cut(self):
        self.process.kill()                              # the whole group: the firmware too

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)            # the launcher only; it passes it on
        return self.proc.wait(10)

    def kill(self):
        if self.proc.poll() is None:
            self.power_cut()


class Console:
    def __init__(self, path: str):
        self.port = serial.Serial(path, 115200, timeout=5)
        self.port.reset_input_buffer()                   # the banner and READY

    def ask(self, command: str, last: str | None = None) -> list[str]:
        """Send a command; its reply lines, up to ``last`` (one line if None)."""
        self.port.write(command.encode() + b"\n")
        lines = []
        while True:
            line = self.port.readline().decode()
            assert line.endswith("\n"), f"{command}: no reply after {lines}"
            lines.append(line.rstrip("\r\n"))
            if last is None or lines[-1] == last:
                return lines

    def one(self, command: str) -> str:
        return self.ask(command)[0]

    def slots(self) -> list[str]:
        return self.ask("slots", last="slots.")[:-1]

    def close(self):
        self.port.close()


@pytest.fixture
def launch(root, tmp_path):
    started = []

    def start(config=""):
        started.append(Launcher(root, tmp_path, config))
        return started[-1]
    yield start
    for launcher in started:
        launcher.kill()


def test_test_boot_confirms_itself_then_revert(root, launch):
    phone = launch()
    console = phone.booted("a")
    assert console.one("version") == "version 1.0.0 board=sim slot=a"
    assert console.slots() == ["slot a: version=1.0.0 state=active confirmed=yes boots=0"
                               " counter=0",
                               "slot b: version=2.0.0 state=inactive confirmed=no boots=0"
                               " counter=0"]
    SlotStore(root).mark_test("b")                      # what an SMP "test" does
    assert console.slots()[1] == "slot b: version=2.0.0 state=trial confirmed=no boots=0 counter=0"
    assert console.one("reboot") == "ok"
    console.close()
    phone.expect(r"^boot: slot a reset$")

    console = phone.booted("b", trial="yes")
    assert console.one("version") == "version 2.0.0 board=sim slot=b"   # b's own code runs
    assert console.slots() == ["slot a: version=1.0.0 state=inactive confirmed=yes boots=0"
                               " counter=0",
                               "slot b: version=2.0.0 state=active confirmed=yes boots=1"
                               " counter=0"]
    assert console.one("confirm").startswith("error nothing to confirm")
    assert console.one("revert") == "ok, slot a runs at next boot"
    assert console.one("reboot") == "ok"
    console.close()

    console = phone.booted("a")
    assert console.one("version") == "version 1.0.0 board=sim slot=a"
    console.close()
    assert phone.stop() == 0
    phone.expect(r"^boot: slot a stopped$")


def test_a_crashing_trial_reverts_to_the_confirmed_slot(root, launch):
    shutil.rmtree(root / "slots" / "b")
    make_slot(root, "b", "2.0.0", crash=True)
    SlotStore(root).mark_test("b")
    phone = launch()
    phone.expect(r"^boot: slot=b version=2.0.0 trial=yes attempt=1$")
    phone.expect(r"^boot: slot b crashed \(exit 1\); starting again$")
    console = phone.booted("a")
    assert console.slots() == ["slot a: version=1.0.0 state=active confirmed=yes boots=0"
                               " counter=0",
                               "slot b: version=2.0.0 state=inactive confirmed=no boots=1"
                               " counter=0"]
    console.close()
    assert phone.stop() == 0
    assert "broken build" in phone.log.read_text()


def test_power_cut_during_a_trial_boots_the_previous_slot(root, launch):
    SlotStore(root).mark_test("b")
    # require_sip without SIP configured: the trial stays unconfirmed while it runs.
    phone = launch("[update]\nrequire_sip = true\n")
    console = phone.booted("b", trial="yes")
    assert console.slots()[1] == "slot b: version=2.0.0 state=trial confirmed=no boots=1 counter=0"
    console.close()
    phone.power_cut()

    phone = launch("[update]\nrequire_sip = true\n")
    console = phone.booted("a")
    assert console.slots()[1] == ("slot b: version=2.0.0 state=inactive confirmed=no boots=1"
                                  " counter=0")
    SlotStore(root).mark_test("b")
    assert console.one("reboot") == "ok"
    console.close()

    console = phone.booted("b", trial="yes")            # a new test gets a new boot
    assert console.one("confirm") == "ok"               # explicit, as require_sip asks
    assert console.slots()[1] == ("slot b: version=2.0.0 state=active confirmed=yes boots=1"
                                  " counter=0")
    console.close()
    assert phone.stop() == 0


def set_counter(root: Path, slot: str, version: str, counter: int):
    """What an image with that security counter would have left in the slot's manifest."""
    (root / "slots" / slot / "manifest.json").write_text(
        json.dumps({"version": version, "security_counter": counter}))


def test_the_launcher_never_boots_a_slot_below_the_security_counter(root, launch):
    set_counter(root, "a", "1.0.0", 3)
    set_counter(root, "b", "2.0.0", 5)
    (root / "security_counter.json").write_text('{"security_counter": 5}')
    (root / "boot.json").write_text(json.dumps(
        {"trial": None, "previous": "b", "attempts": {}, "confirmed": {"a": True, "b": True}}))
    os.symlink("slots/a", root / "current")      # pointed back at the old slot by hand
    phone = launch()
    console = phone.booted("b")                  # not a: its 1.0.0 is below the counter
    assert console.one("version") == "version 2.0.0 board=sim slot=b"
    assert console.one("revert") == ("error slot a (1.0.0): image security counter 3 is below "
                                     "the phone's 5 (anti-rollback)")
    console.close()
    assert phone.stop() == 0
    assert ("slot a (1.0.0): image security counter 3 is below the phone's 5 (anti-rollback); "
            "running slot b instead") in phone.log.read_text()

    set_counter(root, "b", "2.0.0", 4)                                 # tampered
    phone = launch()
    phone.expect(r"^boot: cannot boot: .*below the phone's 5 \(anti-rollback\), and no other "
                 r"slot may run$")
    assert phone.proc.wait(10) == 1


def test_trial_with_require_sip_confirms_itself_once_registered(root, launch, tmp_path):
    with Kamailio(free_port(span=2), password="secret", workdir=tmp_path / "kam") as kam:
        SlotStore(root).mark_test("b")
        phone = launch(f'[update]\nrequire_sip = true\n[sip]\nuser = "1001"\n'
                       f'password = "secret"\ndomain = "{kam.address}"\n'
                       f'listen = "127.0.0.1:{free_port(span=2)}"\n')
        console = phone.booted("b", trial="yes")
        wait_until(lambda: "confirmed=yes" in console.slots()[1], 10,
                   "slot b confirmed", every=0.1)
        assert console.slots()[1] == ("slot b: version=2.0.0 state=active confirmed=yes "
                                      "boots=1 counter=0")
        console.close()
        assert phone.stop() == 0


def test_development_tree_has_no_update_root(tmp_path):
    cfg = tmp_path / "phone.toml"
    cfg.write_text("[phone]\nstate_dir = 'state'\n")
    env = {k: v for k, v in os.environ.items() if k != "HARDPHONE_UPDATE_ROOT"}
    tree = tmp_path / "tree"                            # a checkout: not under <root>/slots
    make_slot(tmp_path, "tree", "0.9.0")
    shutil.move(tmp_path / "slots" / "tree", tree)
    proc = start_process([sys.executable, "-m", "firmware", "--board", "sim",
                          "--console", "pty", "--config", str(cfg)],
                         ready=r"^READY$", cwd=tree, env={**env, "PYTHONPATH": str(tree)})
    try:
        path = proc.expect(r"^console: (\S+)$", after=0).group(1)
        console = Console(path)
        no_root = "error no update root (running from a development tree)"
        assert [console.one(c) for c in ("slots", "confirm", "revert")] == [no_root] * 3
        assert console.one("reboot") == "ok"
        assert proc.popen.wait(10) == 75
        assert "no launcher started this phone" in proc.stderr_text()
    finally:
        proc.stop()
