"""systemd notifications (firmware/sdnotify.py) and the phone's watchdog pings
(firmware/app/main.py serve_systemd) against a fake notify socket."""
import asyncio
import os
import socket
import time
from types import SimpleNamespace

import pytest

from firmware.app.main import serve_systemd, service_status
from firmware.core.model import DeviceInfo, Links, Model
from firmware.sdnotify import Notifier, watchdog_interval


@pytest.fixture
def listener(tmp_path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(tmp_path / "notify"))
    s.settimeout(2)
    yield s
    s.close()


def received(s: socket.socket, timeout: float = 0.0) -> list[str]:
    s.settimeout(timeout)
    out = []
    while True:
        try:
            out.append(s.recv(4096).decode())
        except (TimeoutError, BlockingIOError):
            return out
        s.settimeout(0)


def test_datagrams_of_key_value_lines_to_the_socket_path(listener, tmp_path):
    n = Notifier({"NOTIFY_SOCKET": str(tmp_path / "notify")})
    assert n.enabled
    assert n.ready("agent=IDLE") and n.watchdog() and n.status("Waiting for time")
    assert n.stopping()
    assert received(listener, 1) == ["READY=1\nSTATUS=agent=IDLE", "WATCHDOG=1",
                                     "STATUS=Waiting for time", "STOPPING=1"]


def test_an_abstract_socket_name_starts_with_an_at_sign():
    name = f"hardphone-test-{os.getpid()}-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.bind(b"\0" + name.encode())
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).ready()
        assert received(s, 1) == ["READY=1"]


def test_without_notify_socket_nothing_is_sent_and_nothing_fails(tmp_path):
    assert not Notifier({}).enabled and not Notifier({}).ready()
    gone = Notifier({"NOTIFY_SOCKET": str(tmp_path / "nobody")})     # no listener: logged once
    assert gone.enabled and not gone.watchdog() and not gone.watchdog()


@pytest.mark.parametrize("env, interval", [
    ({"WATCHDOG_USEC": "30000000"}, 15.0),
    ({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": str(os.getpid())}, 0.5),
    ({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": str(os.getppid())}, 0.5),  # the launcher's
    ({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}, None),   # another process is watched
    ({"WATCHDOG_USEC": "0"}, None),
    ({"WATCHDOG_USEC": "soon"}, None),
    ({}, None),
])
def test_the_watchdog_interval_is_half_of_watchdog_usec(env, interval):
    assert watchdog_interval(env) == interval


def model(**kw) -> Model:
    return Model(info=DeviceInfo(version="1.0.0", board="sim", slot="a"), **kw)


def test_the_status_says_why_the_links_wait():
    assert service_status(model(links=Links(sip="registered", cc="up"))) == \
        "agent=LOGGED_OUT sip=registered cc=up"
    assert service_status(model(waiting_for_time=True, login_pending=True)) == \
        "Waiting for time (agent=LOGGING_IN sip=off cc=off)"


def test_pings_only_while_the_phone_handles_its_events(listener, tmp_path):
    n = Notifier({"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "200000"})
    phone = SimpleNamespace(model=model(), handled_at=time.monotonic())

    async def run(seconds):
        task = asyncio.get_running_loop().create_task(serve_systemd(phone, n))
        await asyncio.sleep(seconds)
        task.cancel()

    asyncio.run(run(0.55))
    got = received(listener)
    assert got[0] == "STATUS=agent=LOGGED_OUT sip=off cc=off"
    assert got.count("WATCHDOG=1") >= 4                  # every 0.1 s
    phone.handled_at = time.monotonic() - 60              # the event handler is stuck
    asyncio.run(run(0.35))
    assert received(listener) == ["STATUS=agent=LOGGED_OUT sip=off cc=off"]
