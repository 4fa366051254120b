"""Two sim phones configured for one agent, each a real process, with Kamailio and ccsim: the
later login wins once, the phone taken over says so and stays off the server (no flapping)
until the agent logs in on it again."""
import time

import pytest

from tools.lab import Desk, Lab

QUIET_S = 4.0       # the link used to flap several times a second


@pytest.fixture
def lab(tmp_path):
    with Lab(tmp_path) as lab:
        lab.start()
        yield lab


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
