"""The media bridge (tools/ccsim/bridge.py) at work: the cost of its 20 ms tick (read every
answered leg, mix-minus each room, write every leg) as the bridge itself measures it, and the
bridge process's CPU, with 2 legs and then 8 legs in one room. The legs are numbers the
customers process answers (each playing its own tone), through Kamailio, all on this machine.

Then a participant joining -> heard: L0 alone in a room (it hears nobody: silence), L7 joins
(the ``join`` line written to the bridge, stamped with ``time.monotonic()``) and L0's customer
reports the first loud audio it receives (its ``voice`` event, stamped with the same machine's
monotonic clock): the bridge's next tick, RTP, the customer's jitter buffer and its read. L7
leaves again (silence), JOINS rounds."""
from __future__ import annotations

import os
import tempfile
import time

from .table import percentile, table

NUMBERS = [f"55501{i:02d}" for i in range(8)]
JOINS = 30
QUIET_S = 0.6              # after a leave: every other leg hears silence again
MEASURE_S = 10.0
WARM_S = 2.0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run() -> str:
    from tools.ccsim.bridge_process import BridgeProcess
    from tools.ccsim.customers_process import CustomersProcess
    from tools.kamailio import Kamailio
    from tools.lab import free_port

    work = tempfile.mkdtemp(prefix="bench-bridge-")
    rows = []
    with Kamailio(free_port(span=2), password="secret", workdir=work) as kam:
        customers = CustomersProcess(kam.address, f"127.0.0.1:{free_port(span=2)}",
                                     extra_args=("--answer", ",".join(NUMBERS)))
        bridge = BridgeProcess(kam.address, f"127.0.0.1:{free_port(span=2)}")
        try:
            def measure(case: str) -> None:
                time.sleep(WARM_S)
                since = bridge.mark()
                bridge.send(op="stats")                   # starts a fresh record
                bridge.wait("stats", since)
                cpu, started = cpu_s(bridge.proc.pid), time.monotonic()
                time.sleep(MEASURE_S)
                share = (cpu_s(bridge.proc.pid) - cpu) / (time.monotonic() - started)
                since = bridge.mark()
                bridge.send(op="stats")
                stats = bridge.wait("stats", since)
                tick = stats["tick_us"]
                rows.append([case, stats["legs"], tick["p50"] or "-", tick["p99"] or "-",
                             tick["max"] or "-", stats["late"], f"{100 * share:.1f} %"])

            measure("registered, no calls")
            for count in (2, 8):
                for i in range(count):
                    leg = f"L{i}"
                    if not any(e.get("leg") == leg for e in bridge.events):
                        since = bridge.mark()
                        bridge.send(op="dial", leg=leg, to=NUMBERS[i])
                        bridge.wait("answered", since, leg=leg)
                        bridge.send(op="join", room="R", leg=leg)
                measure(f"{count} legs in one room")
            joined = joins(bridge, customers)
        finally:
            bridge.close()
            customers.close()
    ticks = table(f"bridge: 20 ms tick (read + mix-minus + write), {MEASURE_S:.0f} s each",
                  ["case", "legs", "tick p50 us", "tick p99 us", "max us", "late ticks",
                   "bridge CPU (one core)"], rows)
    heard = [[f"L7 joins L0's room -> L0 hears it, {JOINS} joins", len(joined),
              percentile(joined, 50), percentile(joined, 99), max(joined)]]
    return ticks + "\n\n" + table("bridge: a participant joins -> heard by the others",
                                   ["case", "n", "p50 ms", "p99 ms", "max ms"], heard)


def joins(bridge, customers) -> list[float]:
    """JOINS rounds of L7 joining L0, alone in a room of its own (it hears silence: nobody
    else), and leaving again: ms from the join line to L0's customer hearing L7's tone. (In
    the full room every leg already hears six tones: no onset to time.)"""
    for i in range(8):
        bridge.send(op="leave", leg=f"L{i}")
    bridge.send(op="join", room="J", leg="L0")
    time.sleep(QUIET_S)
    heard: list[float] = []
    for _ in range(JOINS):
        at = time.monotonic()
        bridge.send(op="join", room="J", leg="L7")
        e = customers.wait(lambda e: e.get("event") == "voice" and e.get("number") == NUMBERS[0]
                           and e["at"] > at, timeout=5)
        heard.append((e["at"] - at) * 1000)
        bridge.send(op="leave", leg="L7")
        time.sleep(QUIET_S)
    return heard
