"""The phone as a systemd service, without systemd: the real launcher and the sim phone with a
fake notify socket (NOTIFY_SOCKET, WATCHDOG_USEC), as deploy/hardphone.service runs them; and
time before trust: no contact-center or SIP link until the clock is synchronized, with
`Waiting for time` on the LCD meanwhile (docs/pi.md)."""
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from tests.integration.test_launcher import make_slot
from tools import simphone
from tools.lab import Desk
from tools.process import start as start_process

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
WATCHDOG_USEC = 400_000          # pings every 0.2 s


class NotifySocket:
    """systemd's side of sd_notify: a datagram socket that keeps what arrives, and when."""

    def __init__(self, path: Path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.got: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        self._open = True
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        while self._open:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.got.append((time.monotonic(), data.decode()))

    def messages(self, since: float = 0.0) -> list[str]:
        with self._lock:
            return [m for t, m in self.got if t >= since]

    def wait_for(self, line: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in self.messages() if line in m.split("\n")]
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"no {line!r} in {timeout:g} s; got {self.messages()}")

    def pings(self, seconds: float) -> int:
        since = time.monotonic()
        time.sleep(seconds)
        return sum(m.split("\n").count("WATCHDOG=1") for m in self.messages(since))

    def close(self):
        self._open = False
        self.sock.close()
        self._reader.join(1)


@pytest.fixture
def notify(tmp_path):
    n = NotifySocket(tmp_path / "notify")
    yield n
    n.close()


def test_ready_watchdog_and_stopping_from_the_launched_phone(tmp_path, notify):
    root = tmp_path / "update"
    make_slot(root, "a", "1.0.0")
    cfg = tmp_path / "phone.toml"
    cfg.write_text("[phone]\nstate_dir = 'state'\n[board_page]\nenabled = false\n")
    proc = start_process(
        [sys.executable, "-m", "firmware.update.boot", "--root", str(root), "--",
         "--board", "sim", "--console", "pty", "--config", str(cfg)],
        name="launcher", cwd=REPO, stderr=tmp_path / "launcher.log", group=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "NOTIFY_SOCKET": str(notify.path),
             "WATCHDOG_USEC": str(WATCHDOG_USEC)})
    child = None
    try:
        proc.expect(r"^READY$")
        notify.wait_for("READY=1", timeout=5)
        got = notify.messages()
        ready = next(i for i, m in enumerate(got) if "READY=1" in m.split("\n"))
        # the launcher's word on the slot (and one ping: the firmware's start), then READY
        assert got[0] == "STATUS=starting slot a (1.0.0)\nWATCHDOG=1"
        assert got[ready] == "READY=1\nSTATUS=agent=LOGGED_OUT sip=off cc=off"
        assert notify.pings(1.2) >= 4                     # the phone's loop, every 0.2 s

        # a hung phone (stopped dead) stops pinging: systemd would kill and restart the unit
        child = psutil.Process(proc.pid).children()[0]
        child.send_signal(signal.SIGSTOP)
        time.sleep(0.3)                                  # a ping under way may still land
        assert notify.pings(1.2) == 0
        child.send_signal(signal.SIGCONT)
        assert notify.pings(1.2) >= 3                     # and it pings again once it runs

        proc.popen.send_signal(signal.SIGTERM)           # systemctl stop: the launcher's
        assert proc.popen.wait(10) == 0
        assert sum(m.split("\n").count("STOPPING=1") for m in notify.messages()) >= 1
    finally:
        if child is not None and child.is_running():
            child.send_signal(signal.SIGCONT)
        proc.stop()


def test_no_link_before_the_clock_is_synchronized(lab, tmp_path):
    """The LCD says `Waiting for time` and no TLS link opens until timesyncd's flag appears;
    then the contact-center link and SIP come up and the agent is logged in from the
    config."""
    flag = tmp_path / "timesync" / "synchronized"
    config = lab.phone_config("1001") + (
        f'[time]\nwait_for_sync = true\nsync_file = "{flag}"\nkernel_sync = false\n')
    phone = simphone.start(lab.workdir / "pi-phone", extra_config=config)
    lab.phones.append(phone)
    desk = Desk(phone)
    try:
        shown = desk.wait_lcd("Waiting for time")
        assert "--:--" in shown                        # no clock shown that can't be trusted
        status = desk.status()
        assert (status["clock"], status["sip"]) == ("waiting", "off")
        assert status["cc"] != "up"
        time.sleep(1.5)                                 # and it stays so: nothing connects
        assert not lab.agent("1001")["connected"]
        assert desk.status()["cc"] != "up" and "Waiting for time" in desk.text()

        flag.parent.mkdir()
        flag.touch()                                    # timesyncd has set the clock
        desk.wait_status(clock="synced", cc="up", sip="registered", agent="IDLE", timeout=15)
        assert "Waiting for time" not in desk.text() and "--:--" not in desk.text()
        assert lab.agent("1001")["connected"]
        log = (phone.workdir / "phone.log").read_text()
        assert "the clock is not synchronized: no contact-center or SIP link" in log
    finally:
        desk.close()


def test_after_a_power_cut_the_phone_comes_back_not_ready(lab, desk):
    """Power is pulled, not shut down: the phone starts again and logs the agent in from its
    config, Idle (Not Ready), not Available: nobody may be at the desk."""
    desk.key("soft1", "1")
    lab.wait_for(lambda: lab.agent("1001")["state"] == "available", desc="available at ccsim")
    desk.wait_lcd("Available")
    phone = desk.phone
    desk.close()
    phone.process.kill()                              # the plug: no goodbye to anyone
    again = simphone.start_again(phone)
    lab.phones.append(again)
    desk = Desk(again)
    try:
        desk.wait_status(cc="up", sip="registered", agent="IDLE", timeout=15)
        assert desk.lcd()[0].startswith("Idle ")
        assert lab.agent("1001")["state"] == "idle"
    finally:
        desk.close()
