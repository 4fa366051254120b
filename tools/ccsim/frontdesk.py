"""The front desk: where the contact center hears of the emergency calls its desks make.

The call server routes an emergency call straight to the emergency centre, whatever the phone's
agent, and tells the front desk with a SIP MESSAGE (tools/kamailio.py, EMERGENCY_NOTIFY): a
text body of ``caller:``, ``dialed:``, ``call-id:`` and ``geolocation:`` lines. ccsim listens
for it on UDP (``[server] front_desk`` in the scenario, ``--front-desk``), answers 200 OK and
keeps the notice for the admin API (``GET /api/emergencies``): who called (the extension, and
the agent whose phone it is), what was dialed and the desk's address, decoded from the call's
PIDF-LO. A retransmitted MESSAGE (same Call-ID) is one notice.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from firmware.sip.location import civic_address

log = logging.getLogger("ccsim.frontdesk")

MAX_DATAGRAM = 16 * 1024
MAX_NOTICES = 1000                  # the newest kept


@dataclass(frozen=True)
class EmergencyNotice:
    at: float
    extension: str                  # the caller's SIP user: the desk's phone
    dialed: str
    agent: str = ""                 # the agent whose extension that is ("" for none)
    location: dict[str, str] = field(default_factory=dict)
    location_error: str = ""        # why there is no location, when there isn't


def parse_request(data: bytes) -> tuple[str, dict[str, str], str]:
    """(method, headers by lower-case name (the first of each), body) of a SIP request.
    Raises ValueError for anything else."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError("no end of headers")
    lines = head.decode("utf-8", "replace").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[2] != "SIP/2.0":
        raise ValueError(f"not a SIP request: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    vias: list[str] = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            raise ValueError(f"bad header line {line[:80]!r}")
        name = name.strip().lower()
        if name in ("via", "v"):
            vias.append(value.strip())
        headers.setdefault(name, value.strip())
    headers["via"] = "\r\nVia: ".join(vias)
    return parts[0], headers, body.decode("utf-8", "replace")


def ok_reply(headers: dict[str, str]) -> bytes:
    """200 OK to a request (its Via, From, To with a tag, Call-ID and CSeq)."""
    to = headers.get("to", "")
    if ";tag=" not in to:
        to += ";tag=frontdesk"
    lines = ["SIP/2.0 200 OK", f"Via: {headers.get('via', '')}", f"From: {headers.get('from', '')}",
             f"To: {to}", f"Call-ID: {headers.get('call-id', '')}",
             f"CSeq: {headers.get('cseq', '')}", "Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


def notice_from(body: str, agent_of: Callable[[str], str],
                now: float) -> tuple[str, EmergencyNotice]:
    """(the emergency call's Call-ID, the notice) from the MESSAGE body."""
    fields: dict[str, str] = {}
    for line in body.splitlines():
        name, colon, value = line.partition(":")
        if colon:
            fields[name.strip().lower()] = value.strip()
    extension, dialed = fields.get("caller", ""), fields.get("dialed", "")
    if not extension or not dialed:
        raise ValueError("no caller or number in the notice")
    location: dict[str, str] = {}
    error = ""
    geolocation = fields.get("geolocation", "")
    try:
        location = civic_address(geolocation) if geolocation else {}
        error = "" if geolocation else "the call carried no location"
    except ValueError as e:
        error = str(e)
    return fields.get("call-id", ""), EmergencyNotice(now, extension, dialed, agent_of(extension),
                                                       location, error)


class FrontDesk(asyncio.DatagramProtocol):
    """The UDP listener; ``notices`` holds what came, oldest first."""

    def __init__(self, agent_of: Callable[[str], str]):
        self.agent_of = agent_of
        self.notices: list[EmergencyNotice] = []
        self._seen: dict[str, EmergencyNotice] = {}
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        try:
            if len(data) > MAX_DATAGRAM:
                raise ValueError("datagram too large")
            method, headers, body = parse_request(data)
            if method != "MESSAGE":
                raise ValueError(f"{method}: only MESSAGE is taken here")
            call_id, notice = notice_from(body, self.agent_of, time.time())
        except ValueError as e:
            log.warning("front desk: dropped a datagram from %s: %s", addr[0], e)
            return
        assert self.transport is not None
        self.transport.sendto(ok_reply(headers), addr)
        key = call_id or f"{notice.extension}-{notice.at}"
        if key in self._seen:           # a retransmission: our 200 was lost
            return
        self._seen[key] = notice
        self.notices = (self.notices + [notice])[-MAX_NOTICES:]
        log.warning("EMERGENCY call from extension %s (agent %s) to %s", notice.extension,
                    notice.agent or "none", notice.dialed)

    def as_json(self) -> list[dict]:
        return [asdict(n) for n in self.notices]


async def listen(address: str, agent_of: Callable[[str], str]) -> tuple[FrontDesk,
                                                                         asyncio.DatagramTransport]:
    host, _, port = address.rpartition(":")
    loop = asyncio.get_running_loop()
    transport, desk = await loop.create_datagram_endpoint(lambda: FrontDesk(agent_of),
                                                          local_addr=(host, int(port)))
    return desk, transport
