"""Consult and transfer on sim phones: the agent's key -> the contact center and the phones show
it done, with ccsim's media bridge holding the customer's call (docs/cc-protocol.md, "Consult
and transfer").

Each round: a customer calls `sales`; agent 1001 answers (hook off), presses `xfer`, types 1002
and `ok` (consult); agent 1002 accepts the consult popover (`soft1`); 1001 presses `xfer` again
(consult transfer). Then 1002 ends the call, both wrap up (the first code) and are Available
again for the next round.

consult   `ok` -> 1002's popover shown; 1002's accept -> the consult talking (ccsim's
          ``consult.status`` and 1001's consult leg showing `Talking`). The time 1002 takes to
          accept is the agent's, not the system's, so it is left out of the figure.
transfer  1001's `xfer` -> the transfer complete: ccsim's ``control`` is 1002 with the
          customer's leg in 1002's room (``GET /api/contacts/<id>`` participants), and 1001's
          phone has no call left.

A real lab (tools/lab.py): Kamailio, ccsim with its customers and media bridge, two sim phones,
each its own process, driven on their service consoles. One clock: ``time.monotonic()`` in the
bench, just before a key's command is written and as soon as a poll's answer shows the new
state. The phones' consoles (``lcd``, ``status``) and ccsim's admin API are polled in turn,
each without the console's 100 ms settle, so a figure is late by at most one poll period
(printed with them). The console's path (pty, parsing) is inside the figures; the keypad's
debounce is not.
"""
from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .table import percentile, table

FROM, TO = "1001", "1002"
PINS = {FROM: "1234", TO: "5678"}
REQUESTER = "Ana Diaz"                  # 1001's name on 1002's consult popover (demo scenario)


@dataclass(frozen=True)
class Round:
    """One consult and transfer as the bench drove and saw it (time.monotonic() stamps)."""
    ok_sent: float          # 1001's `key ok` (consult 1002) written to its console
    popover: float          # 1002's LCD first seen with the consult popover
    consult_leg: float      # 1001's LCD first seen `Consulting` (its consult leg answered)
    accept_sent: float      # 1002's `key soft1` (accept) written
    talking_cc: float       # ccsim's consult first seen `talking`
    talking_lcd: float      # 1001's consult leg first seen `Talking`
    xfer_sent: float        # 1001's `key xfer` (transfer) written
    control: float          # ccsim first seen: control 1002, the customer in 1002's room
    cleared: float          # 1001's phone first seen with no call
    polls: tuple[float, ...] = ()   # the poll periods while timing this round (s)


def transferred(contact: Mapping[str, Any], agent: str) -> bool:
    """ccsim's view (GET /api/contacts/<id>) of a transfer to ``agent`` done: ``agent`` has
    control and the customer's leg is in the same room as ``agent``'s leg."""
    legs = contact.get("participants") or []
    customer = next((leg for leg in legs if leg.get("who") == "customer"), None)
    theirs = next((leg for leg in legs if leg.get("who") == "agent"
                   and leg.get("agent") == agent), None)
    return (contact.get("control") == agent and customer is not None and theirs is not None
            and customer.get("room") is not None and customer["room"] == theirs.get("room"))


def consult_talking(contact: Mapping[str, Any]) -> bool:
    return (contact.get("consult") or {}).get("status") == "talking"


def consult_leg_talking(lcd: Sequence[str]) -> bool:
    """1001's consult leg shown answered: `Talking 00:00` over `Consulting <who>`."""
    return (len(lcd) > 1 and lcd[0].startswith("Talking")
            and lcd[1].startswith("Consulting"))


def _ms(a: float, b: float) -> float:
    return (b - a) * 1000


def _row(label: str, values: list[float]) -> list[object]:
    return [label, len(values), percentile(values, 50), percentile(values, 99), max(values)]


def report(rounds: Sequence[Round]) -> str:
    """The table: each figure from the bench's key to the last of what shows it done."""
    if not rounds:
        return "transfer: no rounds"
    for n, r in enumerate(rounds, 1):
        if not (r.ok_sent <= min(r.popover, r.consult_leg) <= max(r.popover, r.consult_leg)
                <= r.accept_sent <= min(r.talking_cc, r.talking_lcd)
                <= max(r.talking_cc, r.talking_lcd) <= r.xfer_sent <= min(r.control, r.cleared)):
            raise RuntimeError(f"round {n}: its stamps are out of order: {r}")
    polls = [p for r in rounds for p in r.polls]
    rows = [
        _row("consult: 1001's `ok` -> 1002's consult popover shown",
             [_ms(r.ok_sent, r.popover) for r in rounds]),
        _row("  (`ok` -> 1001's consult leg up, `Consulting`)",
             [_ms(r.ok_sent, r.consult_leg) for r in rounds]),
        _row("consult: 1002's accept -> talking (ccsim and 1001's LCD)",
             [_ms(r.accept_sent, max(r.talking_cc, r.talking_lcd)) for r in rounds]),
        _row("  (accept -> ccsim's consult `talking`)",
             [_ms(r.accept_sent, r.talking_cc) for r in rounds]),
        _row("  (accept -> 1001's consult leg `Talking`)",
             [_ms(r.accept_sent, r.talking_lcd) for r in rounds]),
        _row("transfer: 1001's `xfer` -> complete (ccsim and 1001's phone)",
             [_ms(r.xfer_sent, max(r.control, r.cleared)) for r in rounds]),
        _row("  (`xfer` -> ccsim: control 1002, customer in 1002's room)",
             [_ms(r.xfer_sent, r.control) for r in rounds]),
        _row("  (`xfer` -> 1001's phone has no call left)",
             [_ms(r.xfer_sent, r.cleared) for r in rounds]),
        _row("round: `ok` -> transfer complete (the bench's reactions incl.)",
             [_ms(r.ok_sent, max(r.control, r.cleared)) for r in rounds])]
    if polls:
        rows.append(_row("the bench's poll period (the figures' resolution)",
                         [p * 1000 for p in polls]))
    return table(f"Consult and transfer, sim phones 1001 -> 1002 through ccsim's media bridge "
                 f"({len(rounds)} transfers; time.monotonic(), console keys and polls)",
                 ["", "n", "p50 ms", "p99 ms", "max ms"], rows) + "\n"


# -- driving the lab ----------------------------------------------------------------------------
class Console:
    """A phone's service console, asked without ConsoleLink's 100 ms settle: one command at a
    time, each reply read whole, so nothing is left on the line for the next one."""

    def __init__(self, desk: Any):
        self.desk, self.ser = desk, desk.link.ser
        desk.status()                       # ConsoleLink's settled command: a clean line first

    def ask(self, line: str, until: bytes | None = None, timeout: float = 5.0) -> list[bytes]:
        """``line``'s reply lines (up to ``until``; else its one line); raise on ``error``."""
        self.ser.write(line.encode() + b"\n")
        name = line.split()[0].encode()
        buf, got = b"", []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            buf += self.ser.read(max(1, self.ser.in_waiting))
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                raw = raw.rstrip(b"\r")
                if raw.startswith(b"error"):
                    raise RuntimeError(f"{line}: {raw.decode(errors='replace')}")
                if until is None and (raw == b"ok" or raw.startswith(name)):
                    return [raw]
                if until is not None and raw:
                    got.append(raw)
                    if raw == until:
                        return got[:-1]
        raise TimeoutError(f"{line}: no reply within {timeout:.0f} s")

    def key(self, name: str) -> float:
        """Press ``name``; when its command was written (the phone has handled it once this
        returns)."""
        sent = time.monotonic()
        self.ask(f"key {name}")
        return sent

    def lcd(self) -> list[str]:
        return [raw.decode(errors="replace").split(":", 2)[2]
                for raw in self.ask("lcd", until=b"lcd.") if raw.startswith(b"lcd:")]

    def calls(self) -> int:
        status = self.ask("status")[0].decode(errors="replace")
        return int(dict(p.split("=", 1) for p in status.split()[1:] if "=" in p)["calls"])


def watch(probes: Mapping[str, Callable[[], bool]], timeout: float = 15.0,
          polls: list[float] | None = None) -> dict[str, float]:
    """Ask each probe in turn until each has said yes once (what they watch doesn't go back);
    when each was first seen so (time.monotonic(), as the answer came). ``polls`` gets the time
    between one probe's asks: the resolution of those stamps."""
    seen: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    last = time.monotonic()
    while len(seen) < len(probes):
        for name, probe in probes.items():
            if name not in seen and probe():
                seen[name] = time.monotonic()
        now = time.monotonic()
        if polls is not None:
            polls.append(now - last)
        last = now
        if len(seen) < len(probes) and now > deadline:
            missing = sorted(set(probes) - set(seen))
            raise TimeoutError(f"gave up after {timeout:.0f} s waiting for {missing}")
    return seen


def _available(lab: Any, desk: Any, agent: str) -> None:
    if lab.agent(agent)["state"] != "available":
        desk.key("soft1", "1")                              # State -> Available
        lab.wait_for(lambda: lab.agent(agent)["state"] == "available",
                     desc=f"{agent} available")


def _wrap_up(lab: Any, desk: Any, agent: str) -> None:
    """OK on the wrap-up list: its first code."""
    desk.wait_lcd("Wrap-up", "OK")
    desk.key("soft1")
    lab.wait_for(lambda: desk.status()["agent"] != "WRAPUP", desc=f"{agent}'s wrap-up sent")


def _answered(lab: Any, ana: Any) -> str:
    """A customer calls sales; 1001 answers; the customer is in 1001's room."""
    cid = lab.post_contact("sales", "+15551234567", {"customer": "Jo Smith"}, talk_s=300)
    ana.wait_lcd("Call 1 of 1")
    ana.hook(True)
    ana.wait_lcd("Talking")
    lab.wait_for(lambda: transferred(lab.contact(cid), FROM), desc="the customer with 1001")
    return str(cid)


def one_round(lab: Any, ana: Any, ben: Any, a: Console, b: Console) -> Round:
    polls: list[float] = []
    cid = _answered(lab, ana)
    ana.key("xfer")                                         # the consult dial screen
    ana.wait_lcd("Consult")
    ana.type(TO)
    ok_sent = a.key("ok")
    shown = watch({"popover": lambda: all(t in "\n".join(b.lcd()) for t in ("Consult",
                                                                            REQUESTER)),
                   "leg": lambda: any(row.startswith("Consulting") for row in a.lcd())},
                  polls=polls)
    accept_sent = b.key("soft1")
    talking = watch({"cc": lambda: consult_talking(lab.contact(cid)),
                     "lcd": lambda: consult_leg_talking(a.lcd())}, polls=polls)
    xfer_sent = a.key("xfer")
    done = watch({"cc": lambda: transferred(lab.contact(cid), TO),
                  "phone": lambda: a.calls() == 0}, polls=polls)
    # the call goes on with 1002; end it, wrap both up, both Available for the next round
    _wrap_up(lab, ana, FROM)
    ben.key("soft2")                                        # End
    _wrap_up(lab, ben, TO)
    lab.wait_for(lambda: ben.status()["calls"] == "0", desc="1002's call over")
    return Round(ok_sent, shown["popover"], shown["leg"], accept_sent, talking["cc"],
                 talking["lcd"], xfer_sent, done["cc"], done["phone"], tuple(polls))


def run(transfers: int = 50) -> str:
    import pytest

    from tools.lab import Desk, Lab

    work = Path(tempfile.mkdtemp(prefix="bench-transfer-"))
    rounds = []
    with Lab(work / "lab", bridge=True) as lab:
        lab.start()
        desks: dict[str, Any] = {
            agent: Desk(lab.phone(agent, pin=PINS[agent], page_port=None)) for agent in PINS}
        ana, ben = desks[FROM], desks[TO]
        try:
            for desk in (ana, ben):
                desk.wait_status(agent="IDLE", cc="up", sip="registered", timeout=20)
            a, b = Console(ana), Console(ben)
            for _ in range(transfers):
                _available(lab, ben, TO)                   # consulted agents are Available ones
                _available(lab, ana, FROM)
                rounds.append(one_round(lab, ana, ben, a, b))
        except (pytest.skip.Exception, pytest.fail.Exception) as e:
            return f"transfer: skipped, {e}"
        finally:
            for desk in (ana, ben):
                desk.close()
    return report(rounds)
