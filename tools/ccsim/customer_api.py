"""The admin API's hand on a simulated customer's call (the lab's: tools/ccsim/customers.py),
for tests of what a customer does on the call, such as answering a voice application
(voiceapps.py): key digits into it, say nothing.

    POST /api/contacts/<id>/customer {"mute"?: true|false, "dtmf"?: "4111#"}
                                         -> {"id", "mute"?, "dtmf"? (how many digits)}: the
                                         contact's customer stops saying anything (or talks
                                         again), then keys the digits (1-32 of 0-9 * # A-D;
                                         never logged or echoed). 404 unknown contact; 409 no
                                         answered call of a simulated customer; 400 else
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from .customers import DTMF

if TYPE_CHECKING:
    from .server import CcServer


def routes(server: CcServer) -> list[web.RouteDef]:
    async def post_customer(request: web.Request):
        body, refused = await server._json_object(request)
        if refused is not None:
            return refused
        unknown = sorted(set(body) - {"mute", "dtmf"})
        if unknown or not body:
            return _error(400, f"unknown field {unknown[0]!r}" if unknown
                          else "expected mute and/or dtmf")
        mute, digits = body.get("mute"), body.get("dtmf")
        if mute is not None and not isinstance(mute, bool):
            return _error(400, "mute: true or false")
        if digits is not None and not (isinstance(digits, str) and DTMF.fullmatch(digits)):
            return _error(400, "dtmf: 1-32 of 0-9 * # A-D")
        cid = request.match_info["id"]
        if server.engine.contact_info(cid) is None:
            return _error(404, "unknown contact")
        link = server.customers
        if cid not in getattr(link, "hearing", {}) or not hasattr(link, "dtmf"):
            return _error(409, "the contact has no answered call of a simulated customer")
        said: dict = {"id": cid}
        if mute is not None:
            if not link.mute(cid, mute):
                return _error(409, "the contact's customer has no call")
            said["mute"] = mute
        if digits is not None:
            if not link.dtmf(cid, digits):
                return _error(409, "the contact's customer has no call")
            said["dtmf"] = len(digits)
        return web.json_response(said)

    return [web.post("/api/contacts/{id}/customer", post_customer)]


def _error(status: int, message: str):
    return web.json_response({"error": message}, status=status)
