"""Two sim phones configured for one agent, each a real process, with Kamailio and ccsim: the
later login wins once, the phone taken over says so and stays off the server (no flapping)
until the agent logs in on it again. Only a login takes over: a phone whose link was down while
the agent logged in elsewhere (or out) can't take the agent back by reconnecting."""
import time

import pytest

from tools import simphone
from tools.lab import Desk, free_port
from tools.process import Process
from tools.process import start as start_process

QUIET_S = 4.0       # the link used to flap several times a second


def connects(lab) -> int:
    return lab.ccsim.call("GET", "/stats")["connects_total"]


def stays_off(lab, desk: Desk, other: Desk):
    """For QUIET_S: ``desk`` shows why it is logged out and doesn't reconnect; ``other`` keeps
    the agent; ccsim sees no new connection."""
    before = connects(lab)
    deadline = time.monotonic() + QUIET_S
    while time.monotonic() < deadline:
        assert desk.status()["agent"] == "LOGGED_OUT"
        assert "Logged in elsewhere" in desk.text()
        assert other.status()["cc"] == "up"
        time.sleep(0.2)
    assert connects(lab) == before
    assert lab.agent("1001")["connected"]


def test_the_phone_taken_over_shows_it_and_stays_off_until_the_agent_logs_in_again(lab):
    first = Desk(lab.phone("1001", name="desk-a"))
    first.wait_status(agent="IDLE", cc="up")
    second = Desk(lab.phone("1001", name="desk-b", sip_user="1002"))
    second.wait_status(agent="IDLE", cc="up")

    shown = first.wait_lcd("Logged in elsewhere")
    assert shown.splitlines()[0].startswith("Logged out")
    assert shown.splitlines()[3].startswith("Login")
    stays_off(lab, first, second)

    first.key("soft1")                            # Login: the agent takes the session back
    first.type("1001")
    first.key("ok")
    first.type("1234")
    first.key("ok")
    first.wait_status(agent="IDLE", cc="up")
    second.wait_lcd("Logged in elsewhere")
    stays_off(lab, second, first)
    first.close()
    second.close()


class Relay:
    """The network between a phone and ccsim, as a TCP relay (socat) the test can cut (socat
    and every connection through it killed: the phone's link drops and its reconnects are
    refused, like a cable pulled out) and restore."""

    def __init__(self, target_port: int):
        self.port, self.target = free_port(), target_port
        self.process: Process | None = None

    def url(self, ws_url: str) -> str:
        return ws_url.replace(f":{self.target}/", f":{self.port}/")

    def restore(self):
        self.process = start_process(
            ["socat", f"TCP-LISTEN:{self.port},bind=127.0.0.1,reuseaddr,fork",
             f"TCP:127.0.0.1:{self.target}"], group=True)
        self.process.wait_until(self._listening, 5, f"socat listening on {self.port}")

    def _listening(self) -> bool:
        with open("/proc/net/tcp") as f:         # LISTEN (0A) on 127.0.0.1:port
            return any(line.split()[1] == f"0100007F:{self.port:04X}" and line.split()[3] == "0A"
                       for line in f.readlines()[1:])

    def cut(self):
        if self.process and self.process.returncode is None:
            self.process.kill()                          # its forked children too


@pytest.fixture
def relay(lab):
    relay = Relay(lab.ccsim.port)
    relay.restore()
    yield relay
    relay.cut()


def behind(lab, relay, name: str) -> Desk:
    """A phone logged in as agent 1001 from its config, whose link to ccsim goes through relay."""
    config = lab.phone_config("1001").replace(lab.ccsim.ws_url, relay.url(lab.ccsim.ws_url))
    phone = simphone.start(lab.workdir / name, extra_config=config)
    lab.phones.append(phone)
    return Desk(phone)


def offline_while_the_agent_logs_in_on_b(lab, relay) -> tuple[Desk, Desk]:
    first = behind(lab, relay, "desk-a")
    first.wait_status(agent="IDLE", cc="up")
    relay.cut()                                   # A's cable is pulled out
    first.wait_status(cc="down")
    lab.wait_for(lambda: not lab.agent("1001")["connected"], desc="A's link gone at ccsim")
    second = Desk(lab.phone("1001", name="desk-b", sip_user="1002"))
    second.wait_status(agent="IDLE", cc="up")     # B's login: the agent is on B now
    return first, second


def test_a_phone_coming_back_online_does_not_take_the_agent_back(lab, relay):
    first, second = offline_while_the_agent_logs_in_on_b(lab, relay)
    before = connects(lab)
    relay.restore()                               # A's cable is back: A reconnects by itself
    first.wait_lcd("Logged in elsewhere")
    assert connects(lab) > before                 # its reconnect reached ccsim, and was refused
    stays_off(lab, first, second)
    assert second.status()["agent"] == "IDLE" and "elsewhere" not in second.text()
    first.close()
    second.close()


def test_a_phone_coming_back_after_the_session_ended_does_not_log_the_agent_in(lab, relay):
    first, second = offline_while_the_agent_logs_in_on_b(lab, relay)
    second.key("soft3")                           # Out, on B
    second.wait_lcd("Logout reason")
    second.type("2")
    second.wait_lcd("Break")
    second.key("soft1")
    second.wait_lcd("Logged out")
    lab.wait_for(lambda: lab.agent("1001")["state"] == "logged_out", desc="logged out")
    before = connects(lab)
    relay.restore()
    lab.wait_for(lambda: "Logged out: session ended" in " ".join(r.strip() for r in first.lcd()),
                 desc="A says the session ended")          # a notice on two rows
    assert connects(lab) > before
    deadline = time.monotonic() + QUIET_S
    while time.monotonic() < deadline:            # stays off; the agent stays logged out
        assert first.status()["agent"] == "LOGGED_OUT"
        assert lab.agent("1001")["state"] == "logged_out"
        time.sleep(0.2)
    assert connects(lab) == before + 1
    first.close()
    second.close()
