"""A stranger's INVITE naming a contact id can neither hang up the agent's customer nor be the
call the agent answers. Every part is a real process on loopback: Kamailio, ccsim with its
customers, the phone on the sim board, and the stranger: a baresip-python user agent in its own
process (ccsim's customers program, run apart from ccsim, knowing no token) that calls the
agent's extension through the proxy, the way left once the phone takes SIP from its proxy only.
"""
import json
import sqlite3
import time

import numpy as np
import pytest

from tools.ccsim.customers_process import CustomersProcess
from tools.lab import SIP_PASSWORD, Lab, free_port

STRANGER = "+19998887777"


class Stranger(CustomersProcess):
    """A SIP user agent of its own that sends INVITEs with X-CC-Contact-Id (and a guessed
    X-CC-Token) through the lab's proxy, as the lab's customers do (TLS and SRTP in a secure
    lab: the phone takes no other call there), and CANCELs them."""

    def __init__(self, lab: Lab):
        k = lab.kamailio
        reach = ((k.tls_address, ("--transport", "tls", "--cafile", str(lab.ca.cafile),
                                  "--media", "srtp")) if lab.secure else (k.address, ()))
        super().__init__(reach[0], f"127.0.0.1:{free_port(span=2)}", SIP_PASSWORD, reach[1])

    def call(self, to: str, contact: str, token: str):
        self.send(op="dial", contact=contact, to=to, ani=STRANGER, talk_s=60, ring_s=30,
                  token=token)

    def wait_for(self, contact: str, *kinds: str, timeout: float = 10) -> dict:
        return self.wait(lambda e: e["event"] in kinds and e.get("contact", "") == contact,
                         timeout)

    def saw(self, contact: str, kind: str) -> bool:
        return any(e["event"] == kind and e.get("contact") == contact for e in self.events)


@pytest.fixture
def stranger(lab):
    stranger = Stranger(lab)
    yield stranger
    stranger.close()


def available(desk, lab):
    desk.key("soft1", "1")
    desk.wait_lcd("Available")
    lab.wait_for(lambda: lab.agent("1001")["state"] == "available", desc="available at ccsim")


def leds(desk) -> dict:
    return dict(p.split("=") for p in desk.link.command("leds")[0].split()[1:])


def tone(hz, seconds, level=0.3):
    t = np.arange(int(seconds * 8000)) / 8000
    return (level * 32767 * np.sin(2 * np.pi * hz * t)).astype("<i2").tobytes()


def hears(lab, cid, hz):
    return lab.wait_for(lambda: (h := lab.heard(cid)) and h["hz"] and abs(h["hz"] - hz) < 30
                        and h, desc=f"the customer hearing {hz} Hz")


def phone_log(desk) -> str:
    return (desk.phone.workdir / "phone.log").read_text()


def token_of(lab, cid) -> str:
    """The contact's token, from ccsim's database: the one place outside the two ends of the
    offer that holds it (the admin API does not give it out)."""
    with sqlite3.connect(lab.ccsim.db) as db:
        return db.execute("SELECT token FROM contacts WHERE id = ?", (cid,)).fetchone()[0]


def assert_never_leaked(lab, desk, cid):
    secret = token_of(lab, cid)
    assert len(secret) >= 22
    said = [phone_log(desk), (lab.workdir / "ccsim.log").read_text(), desk.text(),
            "\n".join(desk.link.command("calls", until=b"calls.")),
            json.dumps(lab.contact(cid)), json.dumps(lab.agent("1001")),
            json.dumps(lab.ccsim.call("GET", "/agents/1001/events"))]
    assert all(secret not in text for text in said)


def test_a_stranger_naming_the_live_contact_cannot_hang_up_the_customer(lab, desk, stranger):
    available(desk, lab)
    cid = lab.post_contact("sales", "+15551234567", talk_s=60)
    desk.wait_lcd("Call 1 of 1")
    desk.hook(True)
    desk.wait_lcd("Talking")
    lab.wait_for(lambda: lab.agent("1001")["state"] == "talking", desc="talking at ccsim")
    heard = lab.wait_for(lambda: lab.heard(cid), desc="the customer connected")["heard_s"]

    # INVITE naming the live contact, then CANCEL: what ended the customer's call before
    stranger.call(f"sip:1001@{lab.kamailio.address}", cid, token="guessed-t0ken")
    stranger.wait_for(cid, "ringing", "failed", "answered")
    stranger.send(op="hangup", contact=cid)
    ended = stranger.wait_for(cid, "failed", "ended")
    time.sleep(1.5)                              # what the phone would have reported, has been

    assert ended["event"] == "failed" and not stranger.saw(cid, "answered")
    assert lab.contact(cid)["state"] == "assigned" and lab.contact(cid)["agent"] == "1001"
    assert lab.agent("1001")["state"] == "talking"
    status = desk.status()
    assert (status["agent"], status["calls"]) == ("TALKING", "1")
    assert "Talking" in desk.text() and STRANGER[-7:] not in desk.text()
    assert lab.wait_for(lambda: lab.heard(cid)["heard_s"] > heard + 1,
                        desc="the customer's call going on")
    log = phone_log(desk)
    assert f"claiming contact '{cid}' refused" in log and "guessed-t0ken" not in log
    assert_never_leaked(lab, desk, cid)


def test_a_stranger_naming_the_next_contact_first_never_rings_nor_gets_the_agent(
        lab, desk, stranger):
    audio = desk.phone.workdir / "state" / "run" / "audio"
    (audio / "mic.raw").write_bytes(tone(1000, 60))            # what the agent says
    available(desk, lab)
    upcoming = "c-1"                           # ids are sequential; none was given out yet
    stranger.call(f"sip:1001@{lab.kamailio.address}", upcoming, token="guessed-t0ken")
    stranger.wait_for(upcoming, "ringing", "failed")               # the phone has the INVITE
    for _ in range(5):                                         # and holds it, silent, unshown
        status = desk.status()
        assert (status["agent"], status["calls"]) == ("AVAILABLE", "0")
        assert leds(desk)["line"] == "off" and desk.calls() == []
        assert STRANGER[-7:] not in desk.text()
        time.sleep(0.1)

    cid = lab.post_contact("sales", "+15551234567", talk_s=60)   # the real customer
    assert cid == upcoming
    shown = desk.wait_lcd("Call 1 of 1")
    assert "+15551234567" in shown and STRANGER[-7:] not in shown
    desk.hook(True)                                            # the agent answers
    desk.wait_lcd("Talking")
    lab.wait_for(lambda: lab.contact(cid)["state"] == "assigned", desc="assigned")
    assert hears(lab, cid, 1000)["level_dbfs"] > -20          # the customer hears the agent
    assert [(c["contact"], c["state"]) for c in desk.calls()] == [(cid, "talking")]

    assert stranger.wait_for(upcoming, "failed", "ended")["event"] == "failed"
    assert not stranger.saw(upcoming, "answered")
    log = phone_log(desk)
    assert f"claiming contact '{cid}' refused" in log and "guessed-t0ken" not in log
    assert_never_leaked(lab, desk, cid)
