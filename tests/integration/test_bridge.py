"""The contact center's media bridge (tools/ccsim/bridge.py, its own process) through a real
Kamailio, with the customers process (tools/ccsim/customers.py) as the far ends: numbers that
answer, each playing its own tone and reporting the tones it hears. Who hears whom is checked
where it counts, at the customers."""
import asyncio
import hashlib
import json
import socket
import time

import pytest

from tests.integration.test_sip import PASSWORD, free_port
from tools.ccsim.bridge import HOLD_NOTES
from tools.ccsim.bridge_link import BridgeLink
from tools.ccsim.bridge_process import BridgeProcess
from tools.ccsim.customers import number_tone
from tools.ccsim.customers_process import CustomersProcess
from tools.kamailio import Kamailio

A, B, C, NOBODY = "5550100", "5550101", "5550103", "5550404"
TOKEN = "tok-" + "s3cr3t" * 4
CALLER_HZ = 440                 # what a calling customer plays


@pytest.fixture
def lab(request, tmp_path):
    """Kamailio, the customers and the bridge; the bridge with a --control socket unless the
    test is parametrized ``lab`` False (then stdin is its only controller)."""
    control = getattr(request, "param", True)
    with Kamailio(free_port(), password=PASSWORD, workdir=tmp_path / "kamailio") as k:
        customers = CustomersProcess(k.address, f"127.0.0.1:{free_port()}", PASSWORD,
                                     extra_args=("--answer", f"{A},{B},{C}"))
        bridge = None
        try:
            bridge = BridgeProcess(k.address, f"127.0.0.1:{free_port()}", PASSWORD,
                                   extra_args=("--control", str(tmp_path / "bridge.sock"))
                                   if control else ())
            yield k, customers, bridge
        finally:
            if bridge is not None:
                bridge.close()
            customers.close()


def near(hz, want):
    return hz is not None and abs(hz - want) <= want * 0.02


def hears(customers: CustomersProcess, number: str, want: list[int], since: int,
          timeout: float = 6.0) -> dict:
    """The first report (after line ``since``) in which ``number`` hears exactly the tones
    ``want`` ([] = silence), then a second one saying the same: it is steady."""
    def wanted(line: str) -> bool:
        e = json.loads(line)
        got = e.get("tones")
        return (e["event"] == "audio" and e.get("number") == number and len(got) == len(want)
                and all(near(g, w) for g, w in zip(got, sorted(want))))
    i = customers.process.wait_for(wanted, timeout, f"{number} hearing {want}", after=since)
    customers.process.wait_for(wanted, 1.5, f"{number} still hearing {want}", after=i + 1)
    return json.loads(customers.process.lines[i])


def mark(customers: CustomersProcess) -> int:
    return len(customers.process.lines)


def dial_answered(bridge: BridgeProcess, leg: str, number: str, **extra) -> None:
    since = bridge.mark()
    bridge.send(op="dial", leg=leg, to=number, **extra)
    bridge.wait("answered", since, leg=leg)


def test_legs_in_a_room_hear_each_other_not_themselves_and_leave_hold_hangup_404(lab):
    kamailio, customers, bridge = lab
    ha, hb, hc = number_tone(A), number_tone(B), number_tone(C)
    assert len({ha, hb, hc}) == 3
    dial_answered(bridge, "L1", f"sip:{A}@{kamailio.address}",
                  headers={"X-CC-Contact-Id": "c-7", "X-CC-Token": TOKEN}, ring_s=10)
    dial_answered(bridge, "L2", B)
    incoming = customers.wait(lambda e: e["event"] == "incoming" and e.get("number") == A)
    assert incoming["from"] == "cc-bridge" and incoming["headers"] == {"X-CC-Contact-Id": "c-7"}

    since = mark(customers)
    for leg in ("L1", "L2"):
        bridge.send(op="join", room="R1", leg=leg)
    assert bridge.wait("joined", leg="L2")["legs"] == ["L1", "L2"]
    hears(customers, A, [hb], since)             # each hears the other, not itself
    hears(customers, B, [ha], since)
    report = bridge.wait("audio", bridge.mark(), leg="L1")
    assert near(report["hz"], hb) and report["level_dbfs"] > -20

    since = mark(customers)                      # three in the room: each hears the two others
    dial_answered(bridge, "L3", C)
    bridge.send(op="join", room="R1", leg="L3")
    hears(customers, A, [hb, hc], since)
    hears(customers, B, [ha, hc], since)
    hears(customers, C, [ha, hb], since)

    since = mark(customers)                      # L1 leaves: silence for it, the others go on
    bridge.send(op="leave", leg="L1")
    bridge.wait("left", leg="L1")
    hears(customers, A, [], since)
    hears(customers, B, [hc], since)
    hears(customers, C, [hb], since)

    since = mark(customers)                      # on hold, in no room: music
    bridge.send(op="hold_music", leg="L1", on=True)
    def music(line: str) -> bool:
        e = json.loads(line)
        return (e["event"] == "audio" and e.get("number") == A and e["level_dbfs"] > -30
                and bool(e["tones"]) and all(any(near(t, n) for n in HOLD_NOTES)
                                             for t in e["tones"]))
    customers.process.wait_for(music, 6, "music on hold", after=since)

    since, bsince = mark(customers), bridge.mark()
    bridge.send(op="hangup", leg="L1")
    assert bridge.wait("ended", bsince, leg="L1")["reason"] == "hangup requested"
    ended = customers.wait(lambda e: e["event"] == "ended" and e.get("number") == A)
    assert ended["reason"] == "far end hung up"
    bridge.send(op="legs")
    listing = bridge.wait("legs", bsince)
    assert listing["rooms"] == {"R1": ["L2", "L3"]}
    assert [(leg["leg"], leg["state"], leg["peer"]) for leg in listing["legs"]] == [
        ("L2", "answered", B), ("L3", "answered", C)]

    bsince = bridge.mark()                        # nobody has that number
    started = time.monotonic()
    bridge.send(op="dial", leg="L4", to=NOBODY)
    assert bridge.wait("ended", bsince, leg="L4")["reason"] == "not found (404)"
    assert time.monotonic() - started < 5
    bridge.send(op="join", room="R1", leg="L4")
    assert bridge.wait("error", bsince, leg="L4")["reason"] == "no such leg"

    # the token went out on the INVITE, and nowhere else
    assert TOKEN not in "".join(bridge.process.lines)
    assert TOKEN not in "".join(customers.process.lines)


@pytest.mark.parametrize("lab", [False], indirect=True)
def test_an_incoming_leg_is_answered_and_bridged_and_the_pair_outlives_the_controller(lab):
    kamailio, customers, bridge = lab
    since = bridge.mark()
    customers.send(op="dial", contact="c-9", to=f"sip:cc-bridge@{kamailio.address}",
                   ani="+15551230009", token=TOKEN, talk_s=60)
    incoming = bridge.wait("incoming", since)
    leg = incoming["leg"]
    assert incoming["from"] == "+15551230009"
    assert incoming["headers"] == {"X-CC-Contact-Id": "c-9"}      # never the token
    assert incoming["token_sha256"] == hashlib.sha256(TOKEN.encode()).hexdigest()  # its digest
    bridge.send(op="answer", leg=leg)
    bridge.wait("answered", since, leg=leg)
    dial_answered(bridge, "agent", A)
    since = mark(customers)
    bridge.send(op="join", room="R", leg=leg)
    bridge.send(op="join", room="R", leg="agent")
    hears(customers, A, [CALLER_HZ], since)
    customers.process.wait_for(lambda line: (e := json.loads(line))["event"] == "audio"
                               and e.get("contact") == "c-9" and near(e["hz"], number_tone(A)),
                               6, "the caller hearing the agent", after=since)

    bridge.process.stdin.close()                  # the controller is gone
    since = mark(customers)
    time.sleep(2)
    hears(customers, A, [CALLER_HZ], since)       # still talking, both ways
    customers.process.wait_for(lambda line: (e := json.loads(line))["event"] == "audio"
                               and e.get("contact") == "c-9" and near(e["hz"], number_tone(A)),
                               3, "the caller still hearing the agent", after=since)
    assert bridge.proc.poll() is None

    customers.send(op="hangup", contact="c-9")    # the calls end: so does the bridge
    customers.send(op="hangup", number=A)
    assert bridge.wait("ended", leg=leg)["reason"] == "far end hung up"
    assert bridge.wait("ended", leg="agent")["reason"] == "far end hung up"
    assert bridge.proc.wait(5) == 0


def test_a_new_controller_takes_over_through_the_control_socket(lab, tmp_path):
    _, customers, bridge = lab
    dial_answered(bridge, "L1", A, headers={"X-CC-Contact-Id": "c-1"})
    dial_answered(bridge, "L2", B)
    since = bridge.mark()
    bridge.send(op="join", room="R1", leg="L1")
    bridge.send(op="join", room="R1", leg="L2")
    bridge.wait("joined", since, leg="L2")       # both in the room before it goes
    bridge.process.stdin.close()                   # the first controller dies

    since = mark(customers)
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(tmp_path / "bridge.sock"))
        lines = s.makefile("rwb")
        assert json.loads(lines.readline()) == {"event": "ready"}
        lines.write(b'{"op": "legs"}\n')
        lines.flush()
        listing = next(e for e in map(json.loads, lines) if e["event"] == "legs")
        assert listing["rooms"] == {"R1": ["L1", "L2"]}
        assert [(leg["leg"], leg["contact"], leg["room"]) for leg in listing["legs"]] == [
            ("L1", "c-1", "R1"), ("L2", "", "R1")]
        hears(customers, A, [number_tone(B)], since)     # they talked on meanwhile
        lines.write(b'{"op": "hangup", "leg": "L1"}\n{"op": "leave", "leg": "nope"}\n')
        lines.flush()
        # the refusal is at once, the hangup's end after its BYE: either may come first
        said: dict[str, dict] = {}
        for e in map(json.loads, lines):
            if e["event"] in ("ended", "error"):
                said[e["event"]] = e
            if len(said) == 2:
                break
        assert said["ended"] == {"event": "ended", "leg": "L1", "reason": "hangup requested"}
        assert said["error"] == {"event": "error", "leg": "nope", "reason": "no such leg"}
    assert bridge.proc.poll() is None             # a service with --control: still up


@pytest.mark.parametrize("lab", [False], indirect=True)
def test_bridge_link_starts_a_bridge_and_a_restarted_controller_adopts_it(lab, tmp_path):
    kamailio, customers, _ = lab
    control = tmp_path / "link.sock"

    async def scenario():
        heard: list[dict] = []
        link = BridgeLink(kamailio.address, PASSWORD, f"127.0.0.1:{free_port()}", control,
                          heard.append, user="cc-bridge-2", stderr=tmp_path / "bridge.log")
        assert await link.start() is False                  # none there: started
        link.dial("L1", A, {"X-CC-Contact-Id": "c-1", "X-CC-Token": TOKEN}, ring_s=10)
        link.dial("L2", B)
        while sum(e["event"] == "answered" for e in heard) < 2:
            await asyncio.sleep(0.05)
        link.join("R", "L1")
        link.join("R", "L2")
        await link.detach()                                 # ccsim killed

        again: list[dict] = []
        link2 = BridgeLink(kamailio.address, PASSWORD, "127.0.0.1:1", control, again.append)
        assert await link2.start() is True                  # adopted, nothing started
        listing = await link2.legs()
        assert listing["rooms"] == {"R": ["L1", "L2"]}
        assert [leg["contact"] for leg in listing["legs"]] == ["c-1", ""]
        link2.hangup("L1")
        while not any(e["event"] == "ended" for e in again):
            await asyncio.sleep(0.05)
        assert [e for e in again if e["event"] == "ended"] == [
            {"event": "ended", "leg": "L1", "reason": "hangup requested"}]
        await link2.close()                                 # quit: every leg hung up
        assert link.proc is not None and await asyncio.wait_for(link.proc.wait(), 5) == 0

    since = mark(customers)
    asyncio.run(scenario())
    customers.process.wait_for(lambda line: (e := json.loads(line))["event"] == "ended"
                               and e.get("number") == B, 5, "B's call ended by the quit",
                               after=since)
    assert not control.exists()
    assert TOKEN not in (tmp_path / "bridge.log").read_text()


def test_an_answer_number_acts_out_the_lab_outcome_its_call_carries(lab):
    """A campaign's simulated outcome (dialer.py's X-Lab-Outcome on the bridge's INVITE): an
    "answer" number refuses the call busy, lets it ring, or is an answering machine for that
    call only; without the header it answers as ever."""
    _, customers, bridge = lab

    def after(since: int, pred, timeout: float = 6.0) -> dict:
        i = customers.process.wait_for(lambda line: pred(json.loads(line)), timeout,
                                       "such event", after=since)
        return json.loads(customers.process.lines[i])

    def of_a(event: str):
        return lambda e: e["event"] == event and e.get("number") == A

    since, bsince = mark(customers), bridge.mark()
    bridge.send(op="dial", leg="L1", to=A,
                headers={"X-CC-Contact-Id": "c-1", "X-Lab-Outcome": "busy"}, ring_s=10)
    assert bridge.wait("ended", bsince, leg="L1")["reason"] == "busy (486)"
    assert after(since, of_a("incoming"))["headers"] == {"X-CC-Contact-Id": "c-1",
                                                         "X-Lab-Outcome": "busy"}
    assert after(since, of_a("refused"))["reason"] == "busy (486)"

    since, bsince = mark(customers), bridge.mark()
    started = time.monotonic()
    bridge.send(op="dial", leg="L2", to=A, headers={"X-Lab-Outcome": "no_answer"}, ring_s=2)
    assert bridge.wait("ended", bsince, leg="L2")["reason"] == "no answer"
    assert time.monotonic() - started > 1.5
    assert after(since, of_a("ended"))["reason"] == "caller gave up"

    since, bsince = mark(customers), bridge.mark()
    dial_answered(bridge, "L3", A, headers={"X-Lab-Outcome": "machine"})
    bridge.send(op="hangup", leg="L3")
    recorded = after(since, of_a("recorded"))     # a machine's call ends with what it recorded
    assert recorded["seconds"] < 1                  # (hung up during the greeting: nothing)
    after(since, of_a("ended"))

    since, bsince = mark(customers), bridge.mark()
    dial_answered(bridge, "L4", A, headers={"X-Lab-Outcome": "answer"})
    bridge.send(op="hangup", leg="L4")
    after(since, of_a("ended"))
    assert not [line for line in customers.process.lines[since:]
                if json.loads(line)["event"] in ("recorded", "refused")]
