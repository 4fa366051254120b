"""The media bridge (tools/ccsim/bridge.py) run on its own, driven over its JSON lines from a
synchronous caller: the bridge's integration tests and its bench."""
from __future__ import annotations

import json

from .customers_process import Event, LabProcess


class BridgeProcess(LabProcess):
    """One bridge process registered at ``proxy``; ``events`` is every line it wrote."""
    module = "tools.ccsim.bridge"
    name = "bridge"

    def mark(self) -> int:
        """Where the next event will be: ``wait(..., since=mark)`` looks from there."""
        return len(self.process.lines)

    def wait(self, event: str, since: int = 0, timeout: float = 10.0, **fields: object) -> Event:
        """The first ``event`` with ``fields`` from line ``since`` on, waiting up to ``timeout``."""
        def wanted(line: str) -> bool:
            msg = json.loads(line)
            return bool(msg.get("event") == event
                        and all(msg.get(k) == v for k, v in fields.items()))
        i = self.process.wait_for(wanted, timeout, f"{event} {fields}", after=since)
        found: Event = json.loads(self.process.lines[i])
        return found
