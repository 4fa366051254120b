"""The link to the simulated customers: one child process (tools/ccsim/customers.py), JSON lines.

To it: {"op": "dial", "contact", "to", "ani", "talk_s", "token"}, {"op": "hangup", "contact"},
{"op": "quit"}; for the admin (customer_api.py) {"op": "dtmf", "contact", "digits"} (the
customer keys them: never logged here) and {"op": "mute", "contact", "on"}. ``token`` (the
offer attempt's secret, for the call's X-CC-Token) is never logged here or by the child.
From it: {"event": "ready"} once, then {"event": "ringing"|"answered"|"ended"|"failed",
"contact", "reason"}, {"event": "error", "reason", "contact"?} for a line it refused, and
every 0.5 s of a call {"event": "audio", "contact", ...}: what that customer hears of the
agent, kept as ``hearing[contact]``, and {"event": "dtmf", "contact", "digit"}, kept as
``keyed[contact]`` (the admin API shows both; the engine never sees them). Called numbers
(the scenario's [customers] answer/refuse/ring, passed as --answer/--refuse/--ring) report
with "number" for "contact": kept as ``called[number]``, the latest CALLED_KEPT of each.

The child holds one call per contact. When a RONA moves a contact to the next agent, ccsim
hangs the old call up and dials again at once; the link holds that dial back until the old
call's end is reported, and keeps that end (which ccsim caused) from the engine. A call that
ended by itself as ccsim hung it up (the phone declined it: a reject) is reported ended, then
the child answers the hangup with an error "no call for this contact": that one says nothing
new, and must not be taken for the end of the call dialed next for the contact. The child
gets its own process session (setsid), so a killed ccsim does not take the customers' calls
down with it.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from .scenario import CALLED_MODES, CustomersConfig

log = logging.getLogger("ccsim.customers")
CALLED_KEPT = 100            # a called number's latest reports kept (audio comes every 0.5 s)
NO_CALL = "no call for this contact"     # the child's answer to a hangup of an ended call
ROOT = Path(__file__).resolve().parents[2]


class CustomerLink:
    def __init__(self, config: CustomersConfig, on_event: Callable[[dict], None]):
        self.config, self.on_event = config, on_event
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task | None = None
        self._calls: dict[str, str] = {}        # contact -> "up" | "closing" (hung up by us)
        self._redial: dict[str, dict] = {}      # dials waiting for the contact's old call to end
        self.hearing: dict[str, dict] = {}      # contact -> its customer's latest audio report
        self.keyed: dict[str, str] = {}         # contact -> the DTMF digits its customer got
        self.called: dict[str, list[dict]] = {}  # called number -> its latest reports, in order
        self._quitting = False

    async def start(self):
        c = self.config
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tools.ccsim.customers", "--proxy", c.proxy,
            "--password", c.password, "--listen", c.listen, "--transport", c.transport,
            "--media", c.media, *(("--cafile", c.cafile) if c.cafile else ()),
            *(arg for mode in CALLED_MODES if getattr(c, mode)
              for arg in (f"--{mode}", ",".join(getattr(c, mode)))),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True)
        self._reader = asyncio.create_task(self._read())
        log.info("customers process started (pid %d)", self._proc.pid)

    def dial(self, contact: str, to: str, ani: str, talk_s: float, token: str):
        message = {"op": "dial", "contact": contact, "to": to, "ani": ani, "talk_s": talk_s,
                   "token": token}
        if self._calls.get(contact) == "closing":
            self._redial[contact] = message
        else:
            self._calls[contact] = "up"
            self._send(message)

    def hangup(self, contact: str):
        self._redial.pop(contact, None)
        if self._calls.get(contact) == "up":
            self._calls[contact] = "closing"
            self._send({"op": "hangup", "contact": contact})

    def dtmf(self, contact: str, digits: str) -> bool:
        """The contact's customer keys ``digits`` into its call; False: it has no call."""
        return self._act(contact, {"op": "dtmf", "contact": contact, "digits": digits})

    def mute(self, contact: str, on: bool) -> bool:
        """The contact's customer says nothing (``on``) or talks again; False: no call."""
        return self._act(contact, {"op": "mute", "contact": contact, "on": on})

    def _act(self, contact: str, message: dict) -> bool:
        if self._calls.get(contact) != "up" or contact in self._redial:
            return False
        self._send(message)
        return True

    async def close(self, timeout: float = 3.0):
        if self._proc is None:
            return
        self._quitting = True
        self._send({"op": "quit"})
        try:
            await asyncio.wait_for(self._proc.wait(), timeout)
        except TimeoutError:
            self._proc.terminate()
            await self._proc.wait()
        if self._reader:
            self._reader.cancel()

    def _send(self, message: dict):
        proc = self._proc
        if proc is None or proc.returncode is not None or proc.stdin.is_closing():
            log.warning("customers process not running: dropped %s", message["op"])
            return
        try:
            proc.stdin.write(json.dumps(message).encode() + b"\n")
        except (BrokenPipeError, ConnectionResetError):
            log.warning("customers process gone: dropped %s", message["op"])

    def _heard(self, event: dict):
        kind, contact = event.get("event"), event.get("contact")
        if kind == "ready":
            log.info("customers ready")
            return
        if isinstance(event.get("number"), str):    # a called number's news: kept, not routed
            if kind == "error":
                log.warning("customers: number %s: %s", event["number"], event.get("reason", ""))
            self.called.setdefault(event["number"], []).append(event)
            del self.called[event["number"]][:-CALLED_KEPT]
            return
        if not isinstance(contact, str):
            log.warning("customers: %s", event.get("reason", event))
            return
        if kind == "audio":
            self.hearing[contact] = {k: v for k, v in event.items() if k not in ("event",)}
            return
        if kind == "voice":                     # for benchmarks; ccsim has no use for it
            return
        if kind == "dtmf":
            self.keyed[contact] = self.keyed.get(contact, "") + str(event.get("digit", ""))
            return
        if (kind == "error" and event.get("reason") == NO_CALL
                and self._calls.get(contact) != "closing"):
            log.debug("customers: contact %s: a late answer to a hangup, ignored", contact)
            return
        if kind == "error":                     # the contact has no call there (any more)
            log.warning("customers: contact %s: %s", contact, event.get("reason", ""))
            kind, event = "failed", {**event, "event": "failed"}
        call = self._calls.get(contact)
        if kind in ("ended", "failed"):
            self._calls.pop(contact, None)
            if contact in self._redial:
                self._calls[contact] = "up"
                self._send(self._redial.pop(contact))
        if call == "up":
            self.on_event(event)

    async def _read(self):
        async for line in self._proc.stdout:
            try:
                event = json.loads(line)
                event.get("event")
            except (ValueError, AttributeError):
                log.warning("customers process said something unexpected: %r", line[:200])
                continue
            self._heard(event)
        code = await self._proc.wait()
        log.log(logging.INFO if self._quitting else logging.ERROR,
                "customers process exited (code %s)", code)
