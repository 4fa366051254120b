"""The launcher (our bootloader): python -m firmware.update.boot --root ROOT [--python EXE] -- ARGS

Loop (docs/update.md, "The launcher"): decide the slot, run ``<python> -m firmware ARGS`` from
it, and wait. Exit 0 (stopped) ends the launcher; RESET_EXIT_CODE starts again at once; any
other exit is a crash: start again after a short pause. The decision (SlotStore.begin_boot)
turns a crashed or power-cut trial into a revert, so a broken update costs one boot.

The firmware shares the launcher's stdout (tools wait for its "console: ..." and READY lines)
and its process group, so cutting the power to the group stops both.

Under systemd (deploy/hardphone.service, Type=notify) the launcher is the unit's main process
and the firmware, its child, says READY=1 and pings the watchdog (firmware/sdnotify.py).
The launcher only says which slot starts (STATUS=) with one WATCHDOG=1, so each firmware start
gets a whole WatchdogSec to come up, and STOPPING=1 when stopped. A hung firmware stops the
pings: systemd kills the unit and starts it again, and begin_boot() reverts a trial slot.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from firmware.sdnotify import Notifier

from .slots import RESET_EXIT_CODE, NoBootableSlot, SlotStore

CRASH_PAUSE_S = 0.5


def say(line: str):
    """The launcher's lines go to stdout, in order with the firmware's."""
    print(f"boot: {line}", flush=True)


def parse_args(argv):
    argv = list(argv)
    split = argv.index("--") if "--" in argv else len(argv)
    ours, firmware_args = argv[:split], argv[split + 1:]
    p = argparse.ArgumentParser(prog="python -m firmware.update.boot",
                                description="run the firmware from the update root's A/B slots",
                                epilog="arguments after -- go to python -m firmware")
    p.add_argument("--root", required=True, type=Path, help="the update root (slots/, current)")
    p.add_argument("--python", default=sys.executable, help="the interpreter for the firmware")
    args = p.parse_args(ours)
    args.firmware_args = firmware_args
    return args


class Launcher:
    def __init__(self, root: Path, python: str, firmware_args):
        self.root, self.python, self.firmware_args = root, python, list(firmware_args)
        self.store = SlotStore(root)
        self.stopping = False
        self.child: subprocess.Popen | None = None
        self.notifier = Notifier()

    def on_signal(self, signum, _frame):
        """SIGTERM/SIGINT stop the phone: pass it on, and don't start it again."""
        self.stopping = True
        self.notifier.stopping()
        if self.child is not None:
            self.child.send_signal(signum)

    def run(self) -> int:
        while not self.stopping:
            try:
                slot = self.store.begin_boot()
            except (NoBootableSlot, OSError) as e:
                say(f"cannot boot: {e}")
                self.notifier.status(f"cannot boot: {e}")
                return 1
            code = self.run_slot(slot)
            if self.stopping or code == 0:
                say(f"slot {slot} stopped")
                return 0
            if code == RESET_EXIT_CODE:
                say(f"slot {slot} reset")
                continue
            say(f"slot {slot} crashed (exit {code}); starting again")
            time.sleep(CRASH_PAUSE_S)
        return 0

    def run_slot(self, slot: str) -> int:
        state = self.store.state()
        attempt = state.attempts.get(slot, 0) if state.trial == slot else 0
        say(f"slot={slot} version={self.store.version(slot)} "
            f"trial={'yes' if state.trial == slot else 'no'} attempt={attempt}")
        self.notifier.send(f"STATUS=starting slot {slot} ({self.store.version(slot)}"
                           f"{', trial' if state.trial == slot else ''})", "WATCHDOG=1")
        tree = (self.root / "current").resolve()
        env = {**os.environ, "HARDPHONE_UPDATE_ROOT": str(self.root.resolve()),
               "PYTHONPATH": str(tree)}          # the slot's code only, never the launcher's
        self.child = subprocess.Popen([self.python, "-m", "firmware", *self.firmware_args],
                                      cwd=tree, env=env)
        if self.stopping:                        # a signal came before the child existed
            self.child.send_signal(signal.SIGTERM)
        code = self.child.wait()
        self.child = None
        return code


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level="INFO", stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    launcher = Launcher(args.root, args.python, args.firmware_args)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, launcher.on_signal)
    return launcher.run()


if __name__ == "__main__":
    sys.exit(main())
