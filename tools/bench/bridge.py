"""The media bridge (tools/ccsim/bridge.py) at work: the cost of its 20 ms tick (read every
answered leg, mix-minus each room, write every leg) as the bridge itself measures it, and the
bridge process's CPU, with 2 legs and then 8 legs in one room. The legs are numbers the
customers process answers (each playing its own tone), through Kamailio, all on this machine."""
from __future__ import annotations

import os
import tempfile
import time

from .table import table

NUMBERS = [f"55501{i:02d}" for i in range(8)]
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
        finally:
            bridge.close()
            customers.close()
    return table(f"bridge: 20 ms tick (read + mix-minus + write), {MEASURE_S:.0f} s each",
                 ["case", "legs", "tick p50 us", "tick p99 us", "max us", "late ticks",
                  "bridge CPU (one core)"], rows)
