"""Placing a call on a sim phone: the agent's last key -> the phone's INVITE on the wire.

dial       `ok` on the dial screen -> the INVITE: the phone asks ccsim first (``dial`` on its
           WebSocket; ``dial_answer`` says where the call goes and which outbound contact it
           is), then INVITEs through the proxy a number the lab's customers answer or refuse,
           in turn (an answered one is ended and wrapped up)
emergency  the last digit of 911 (it dials at once, asking nobody) -> the INVITE; the proxy
           sends it to the lab's emergency centre and tells ccsim's front desk (a SIP MESSAGE;
           ``GET /api/emergencies``); then again with ccsim stopped, the notice going nowhere

A real lab (tools/lab.py): Kamailio, ccsim with its customers, the emergency centre, and a sim
phone logged in as agent 1001, driven on its service console. tcpdump on ``lo``
(tests/capture.py) keeps the SIP of the phone and of the proxy and the phone's WebSocket to
ccsim. One clock for all: the bench stamps ``time.time()`` (CLOCK_REALTIME) just before it
writes the key's command to the console; the kernel stamps each captured packet from the same
CLOCK_REALTIME (the pcap's time), and ccsim a notice's ``at`` with ``time.time()``. A call's
INVITE is the first one of a new Call-ID the phone sends, before the proxy's 407 challenge.
The console's path (pty, parsing) is inside the figure, the keypad's debounce is not (the
console's ``key`` reports a press as if scanned); the console's ``ok`` comes once the phone has
handled the key and drawn its screen, and is shown apart.
"""
from __future__ import annotations

import json
import re
import shutil
import struct
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .table import percentile, table

GOAL_P99_MS = 20
ANSWERS, REFUSES = "5550100", "5550199"         # the lab's customers answer / refuse (486)
EMERGENCY = "911"
CALL_ID = re.compile(rb"^(?:call-id|i)[ \t]*:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)
TCP = 6


@dataclass(frozen=True)
class Sent:
    """One SIP request on the wire: its method, Request-URI user, Call-ID and time."""
    t: float
    method: str
    user: str
    call_id: str
    sport: int
    dport: int
    payload: bytes


@dataclass(frozen=True)
class Frame:
    """One WebSocket text message between the phone and ccsim: its protocol type and id."""
    t: float
    to_server: bool
    type: str
    id: str


@dataclass(frozen=True)
class Dialed:
    """One call as the bench drove it (time.time() stamps)."""
    number: str
    key_sent: float                 # just before the key's command was written to the console
    key_done: float                 # the console's `ok` read back
    over: float                     # the phone had no call left


def requests(packets: Iterable[Any]) -> list[Sent]:
    """The SIP requests among captured packets (tests.capture.Packet), in capture order."""
    out = []
    for p in packets:
        line, _, _ = p.payload.partition(b"\r\n")
        parts = line.split(b" ")
        if len(parts) != 3 or parts[2] != b"SIP/2.0" or not parts[0].isalpha():
            continue
        found = CALL_ID.search(p.payload)
        user = re.match(rb"sips?:([^@;>]+)@", parts[1])
        out.append(Sent(p.t, parts[0].decode(), user.group(1).decode() if user else "",
                        found.group(1).decode() if found else "", p.sport, p.dport, p.payload))
    return out


def ws_frames(payload: bytes) -> list[tuple[int, bytes]]:
    """(opcode, unmasked payload) of each whole WebSocket frame in one TCP segment (RFC 6455
    5.2); a frame cut by the segment's end is left out."""
    out, i = [], 0
    while i + 2 <= len(payload):
        opcode, masked, n = payload[i] & 0x0F, payload[i + 1] & 0x80, payload[i + 1] & 0x7F
        i += 2
        if n == 126:
            n, i = struct.unpack("!H", payload[i:i + 2])[0], i + 2
        elif n == 127:
            n, i = struct.unpack("!Q", payload[i:i + 8])[0], i + 8
        key = payload[i:i + 4] if masked else b""
        i += 4 if masked else 0
        data = payload[i:i + n]
        if len(data) < n:
            break
        i += n
        if key:
            data = bytes(b ^ key[k % 4] for k, b in enumerate(data))
        out.append((opcode, data))
    return out


def messages(packets: Iterable[Any], server_port: int) -> list[Frame]:
    """The protocol messages (JSON text frames) on the phone's WebSocket to ``server_port``."""
    out = []
    for p in packets:
        if p.proto != TCP or server_port not in (p.sport, p.dport) or not p.payload:
            continue
        for opcode, data in ws_frames(p.payload):
            if opcode != 1:
                continue
            try:
                msg = json.loads(data)
            except ValueError:
                continue
            if isinstance(msg, dict):
                out.append(Frame(p.t, p.dport == server_port, str(msg.get("type", "")),
                                 str(msg.get("id", ""))))
    return out


def first_invites(sent: list[Sent], port: int) -> list[Sent]:
    """The first INVITE of each new Call-ID sent from ``port``: a call's INVITE, not the one
    repeated with credentials after the 407 challenge, nor a re-INVITE in the dialog."""
    seen: set[str] = set()
    out = []
    for s in sent:
        if s.method == "INVITE" and s.sport == port and s.call_id not in seen:
            seen.add(s.call_id)
            out.append(s)
    return out


def invite_of(dialed: Dialed, invites: list[Sent]) -> Sent:
    """The one new call the phone sent from the key to the end of the call, to the number."""
    mine = [s for s in invites if dialed.key_sent <= s.t <= dialed.over]
    if len(mine) != 1:
        raise RuntimeError(f"dial {dialed.number}: {len(mine)} new INVITEs between the key and "
                           f"the end of the call (want 1)")
    if mine[0].user != dialed.number:
        raise RuntimeError(f"dial {dialed.number}: the phone's INVITE went to {mine[0].user}")
    return mine[0]


def asked(dialed: Dialed, frames: list[Frame]) -> tuple[Frame, Frame] | None:
    """The phone's ``dial`` to ccsim for this call and ccsim's ``dial_answer`` to it."""
    ask = next((f for f in frames if f.to_server and f.type == "dial"
                and dialed.key_sent <= f.t <= dialed.over), None)
    if ask is None:
        return None
    answer = next((f for f in frames if not f.to_server and f.type == "dial_answer"
                   and f.id == ask.id and f.t >= ask.t), None)
    return None if answer is None else (ask, answer)


def relayed(invite: Sent, sent: list[Sent], proxy: int) -> Sent | None:
    """The proxy's INVITE on to the callee for the phone's ``invite`` (same Call-ID)."""
    return next((s for s in sent if s.method == "INVITE" and s.sport == proxy
                 and s.call_id == invite.call_id and s.t >= invite.t), None)


def notified(invite: Sent, sent: list[Sent], proxy: int) -> Sent | None:
    """The proxy's MESSAGE to the front desk naming the emergency call ``invite``."""
    tag = f"call-id: {invite.call_id}".encode()
    return next((s for s in sent if s.method == "MESSAGE" and s.sport == proxy
                 and tag in s.payload), None)


def _ms(a: float, b: float) -> float:
    return (b - a) * 1000


def _row(label: str, values: list[float], goal: object = "") -> list:
    if not values:
        return [label, 0, "", "", "", goal]
    return [label, len(values), percentile(values, 50), percentile(values, 99), max(values), goal]


def report(dials: list[Dialed], emergencies: list[Dialed], packets: list[Any], phone_port: int,
           proxy_port: int, ccsim_port: int, notices: list[dict],
           away: Sequence[Dialed] = ()) -> str:
    """The table, from what the bench did (``away``: emergency calls with ccsim, the front
    desk, stopped) and what the capture saw."""
    sent = requests(packets)
    invites = first_invites(sent, phone_port)
    frames = messages(packets, ccsim_port)
    rows = []
    last = f"the last digit of {EMERGENCY}"
    for label, runs, key in (("`ok` on the dial screen", dials, "ok"), (last, emergencies, "1"),
                             (f"{last}, ccsim (the front desk) stopped", away, "1")):
        if not runs:
            continue
        found = [invite_of(d, invites) for d in runs]
        on = [relayed(i, sent, proxy_port) for i in found]
        if any(r is None for r in on):
            raise RuntimeError(f"{label}: the proxy never sent an INVITE on")
        rows += [
            _row(f"{label} -> the phone's INVITE on the wire", [
                _ms(d.key_sent, i.t) for d, i in zip(runs, found)], GOAL_P99_MS),
            _row(f"  (`key {key}` written -> the console's `ok` back)",
                 [_ms(d.key_sent, d.key_done) for d in runs])]
        if runs is dials:
            pairs = [(d, asked(d, frames), i) for d, i in zip(runs, found)]
            if any(a is None for _, a, _ in pairs):
                raise RuntimeError("a dial without its `dial` / `dial_answer` on the WebSocket")
            rows += [
                _row("  (`key ok` written -> the phone's `dial` to ccsim on the wire)",
                     [_ms(d.key_sent, a[0].t) for d, a, _ in pairs if a]),
                _row("  (`dial` -> ccsim's `dial_answer` on the wire)",
                     [_ms(a[0].t, a[1].t) for _, a, _ in pairs if a]),
                _row("  (`dial_answer` -> the phone's INVITE on the wire)",
                     [_ms(a[1].t, i.t) for _, a, i in pairs if a])]
        rows.append(_row("  (the phone's INVITE -> the proxy sends it on, 407 round incl.)",
                         [_ms(i.t, r.t) for i, r in zip(found, on) if r is not None]))
        if runs is not emergencies:
            continue
        msgs = [notified(i, sent, proxy_port) for i in found]
        if any(m is None for m in msgs):
            raise RuntimeError(f"{label}: the proxy never told the front desk")
        rows.append(_row("  (the phone's INVITE -> the front desk's MESSAGE on the wire)",
                         [_ms(i.t, m.t) for i, m in zip(found, msgs) if m is not None]))
        rows.append(_row("  (the MESSAGE -> the INVITE to the centre, the proxy's order)",
                         [_ms(m.t, r.t) for m, r in zip(msgs, on) if m and r]))
        first = min(i.t for i in found)
        at = sorted(n["at"] for n in notices if n.get("dialed") == EMERGENCY and n["at"] >= first)
        if len(at) != len(found):
            raise RuntimeError(f"{len(at)} front-desk notices for {len(found)} calls")
        rows.append(_row("  (the phone's INVITE -> the notice's `at` at ccsim)",
                         [_ms(i.t, a) for i, a in zip(found, at)]))
    return table(f"Placing a call on a sim phone: the key on its console -> its INVITE on lo "
                 f"({len(dials)} calls to numbers the customers answer or refuse, in turn; "
                 f"{len(emergencies)} + {len(away)} to {EMERGENCY}; tcpdump's stamps and the "
                 f"bench's time.time(): one clock)",
                 ["", "n", "p50 ms", "p99 ms", "max ms", "goal p99 ms"], rows) + "\n"


# -- driving the lab ----------------------------------------------------------------------------
def _timed_key(desk, name: str, timeout: float = 5.0) -> tuple[float, float]:
    """``key <name>`` on the console: (just before it is written, its `ok` read back), on
    time.time(). Read a byte at a time as it comes (ConsoleLink reads in 50 ms slices)."""
    from tools.flash.console import SETTLE_S
    ser = desk.link.ser
    ser.write(b"\n")                    # as ConsoleLink.command: end any half line first
    time.sleep(SETTLE_S)
    ser.reset_input_buffer()
    line = f"key {name}\n".encode()
    sent = time.time()
    ser.write(line)
    buf = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        buf += ser.read(max(1, ser.in_waiting))
        for reply in buf.split(b"\n")[:-1]:
            reply = reply.strip(b"\r")
            if reply == b"ok":
                return sent, time.time()
            if reply.startswith(b"error"):
                raise RuntimeError(f"key {name}: {reply.decode(errors='replace')}")
    raise TimeoutError(f"key {name}: no reply within {timeout:.0f} s")


def _wait(desk, what, desc: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        got = what()
        if got:
            return got
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {desc} after {timeout:.0f} s: calls "
                               f"{desk.calls()}, status {desk.status()}, the LCD:\n{desk.text()}")
        time.sleep(0.02)


def _talking(desk) -> bool:
    return any(c["state"] == "talking" for c in desk.calls())


def _idle(desk) -> float:
    """Wait until the phone has no call; when it was seen so."""
    _wait(desk, lambda: desk.status()["calls"] == "0", "the phone to have no call")
    return time.time()


def _wrap_up(desk, owed: bool) -> None:
    """An outbound contact is wrapped up like any other: OK on the first reason. ``owed``:
    wait for the wrap-up, else only do one that is there."""
    if owed:
        _wait(desk, lambda: desk.status()["agent"] == "WRAPUP", "the wrap-up")
    if desk.status()["agent"] == "WRAPUP":
        desk.wait_lcd("Wrap-up", "OK")
        desk.key("soft1")                                   # OK
        _wait(desk, lambda: desk.status()["agent"] != "WRAPUP", "the wrap-up to be sent")


def _type(desk, digits: str) -> None:
    desk.type(digits)
    desk.wait_lcd("Dial", timeout=2)        # the dial screen (a notice may cover the number)


def _dial(desk, number: str) -> Dialed:
    """Type ``number`` at home, `ok`; end the call if it is answered (a refused one ends by
    itself); wrap it up."""
    _type(desk, number)
    sent, done = _timed_key(desk, "ok")
    if number == ANSWERS:
        _wait(desk, lambda: _talking(desk), f"{number} to answer")
        desk.key("soft2")                                   # End
    over = _idle(desk)
    _wrap_up(desk, owed=number == ANSWERS)
    return Dialed(number, sent, done, over)


def _emergency(desk, centre) -> Dialed:
    """911: its last digit dials; the centre answers; the agent ends it."""
    ended = sum(e["event"] == "ended" for e in centre.events)
    _type(desk, EMERGENCY[:-1])
    sent, done = _timed_key(desk, EMERGENCY[-1])
    _wait(desk, lambda: _talking(desk), "the emergency centre to answer")
    desk.key("soft2")                                       # End
    _wait(desk, lambda: sum(e["event"] == "ended" for e in centre.events) > ended,
          "the centre to see the call end")
    over = _idle(desk)
    _wrap_up(desk, owed=False)
    return Dialed(EMERGENCY, sent, done, over)


def _numbers_ready(desk) -> None:
    """ccsim's customers register the numbers after ccsim is ready: dial until one answers
    (a 404 before; this call is not counted)."""
    deadline = time.monotonic() + 20
    while True:
        _type(desk, ANSWERS)
        desk.key("ok")
        _wait(desk, lambda: _talking(desk) or desk.status()["calls"] == "0", "the first call")
        if _talking(desk):
            desk.key("soft2")
            _idle(desk)
            _wrap_up(desk, owed=True)
            return
        _idle(desk)
        _wrap_up(desk, owed=False)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{ANSWERS} never answered")
        time.sleep(0.3)


def sip_capture(lab, phone, work: Path):
    """(the phone's SIP port, a capture of its SIP, the proxy's and its WebSocket to ccsim)."""
    from tests.capture import Capture
    listen = next(line for line in (phone.workdir / "phone.toml").read_text().splitlines()
                  if line.startswith("listen"))
    phone_port = int(listen.split('"')[1].rsplit(":", 1)[1])
    return phone_port, Capture(work / "calls.pcap",
                               f"(udp and (port {phone_port} or port {lab.kamailio_port})) or "
                               f"(tcp port {lab.ccsim.port})")


def run(calls: int = 50, emergencies: int = 10) -> str:
    if shutil.which("tcpdump") is None:
        return "dial: skipped, tcpdump is missing (tools/setup/system-packages.sh)"
    import pytest

    from tools.lab import DEMO_SCENARIO, Desk, Lab, scenario_text

    work = Path(tempfile.mkdtemp(prefix="bench-dial-"))
    scenario = work / "dial.toml"                # the demo's, with numbers to call
    scenario.write_text(scenario_text(DEMO_SCENARIO, 5062, 5090, {}, customers={
        "answer": [ANSWERS], "refuse": [REFUSES]}))
    with Lab(work / "lab", scenario=scenario) as lab:
        lab.start()
        centre = lab.start_emergency_centre()
        phone = lab.phone("1001", page_port=None)
        desk = Desk(phone)
        try:
            desk.wait_status(agent="IDLE", cc="up", sip="registered", timeout=20)
            phone_port, capture = sip_capture(lab, phone, work)
            try:
                with capture:
                    _numbers_ready(desk)
                    dials = [_dial(desk, ANSWERS if i % 2 == 0 else REFUSES)
                             for i in range(calls)]
                    sos = [_emergency(desk, centre) for _ in range(emergencies)]
                    notices = lab.emergencies()
                    lab.ccsim.stop()                    # the notice has nowhere to go
                    desk.wait_status(cc="down")
                    away = [_emergency(desk, centre) for _ in range(emergencies)]
                    time.sleep(0.2)                     # the last packets into the file
            except (pytest.skip.Exception, pytest.fail.Exception) as e:
                return f"dial: skipped, {e}"
        finally:
            desk.close()
    return report(dials, sos, capture.packets(), phone_port, lab.kamailio_port, lab.ccsim.port,
                  notices, away)
