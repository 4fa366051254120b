"""systemd's service notifications: READY=1, STATUS=..., WATCHDOG=1, STOPPING=1.

On the Pi the phone runs as ``hardphone.service`` (deploy/hardphone.service): ``Type=notify``,
so systemd counts the unit started only once the phone says READY=1, and ``WatchdogSec=``, so a
phone whose loop stops pinging is killed and started again (the launcher then reverts a trial
slot, as after any crash). The launcher is the unit's main process and the firmware its child;
``NotifyAccess=all`` lets the child speak for the unit.

The protocol is one datagram of ``KEY=VALUE`` lines to the unix socket named by
``$NOTIFY_SOCKET`` (a path, or an abstract name when it starts with '@'); without the variable
(the sim board, a phone started by hand) every call does nothing. A dozen lines of our own
rather than the ``sdnotify`` package (unmaintained since 2017, no watchdog interval helper) or
``systemd-python`` (a C extension needing libsystemd-dev to build on the Pi).
"""
from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger("hardphone")


class Notifier:
    """The unit's notify socket, or nothing. Safe to call from any thread; never raises."""

    def __init__(self, env: Mapping[str, str] | None = None):
        env = os.environ if env is None else env
        name = env.get("NOTIFY_SOCKET", "")
        self.address: str | bytes | None = None
        if name.startswith("@"):                 # abstract namespace: a leading NUL byte
            self.address = b"\0" + name[1:].encode()
        elif name.startswith("/"):
            self.address = name
        self.watchdog_s = watchdog_interval(env)
        self._failed = False

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *lines: str) -> bool:
        """One datagram of ``KEY=VALUE`` lines; False if there is no socket or it failed."""
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
                s.sendto("\n".join(lines).encode(), self.address)
        except OSError as e:
            if not self._failed:                 # once: a watchdog ping repeats every few s
                log.error("systemd notify socket %s: %s", os.environ.get("NOTIFY_SOCKET"), e)
            self._failed = True
            return False
        self._failed = False
        return True

    def ready(self, status: str = "") -> bool:
        return self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> bool:
        return self.send(f"STATUS={text}")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.send("STOPPING=1")


def watchdog_interval(env: Mapping[str, str]) -> float | None:
    """How often to ping, in seconds (half of ``$WATCHDOG_USEC``, as sd_watchdog_enabled(3)
    advises), or None when systemd watches nothing. ``$WATCHDOG_PID`` names the unit's main
    process: the launcher, whose child the firmware is, so the parent's pid counts as ours."""
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = env.get("WATCHDOG_PID")
    if usec <= 0 or (pid and pid not in (str(os.getpid()), str(os.getppid()))):
        return None
    return usec / 2 / 1e6
