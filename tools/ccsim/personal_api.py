"""The admin API of personal calls (personal.py): the agents' forwarding and their voicemail
boxes, which the voicemail service (tools/voicemail.py) keeps up to date.

    GET    /api/agents/<id>/forwarding   -> {"always", "busy", "no_answer", "no_answer_s"}
    PUT    /api/agents/<id>/forwarding {"always"?, "busy"?, "no_answer"?, "no_answer_s"?}
                                         -> the forwarding as kept (an agent's id as a target
                                         is its extension); the agent's phone gets the
                                         ``forwarding`` event. 400 {"error", "fields":
                                         {field: code}} (bad_number, own_number, loop,
                                         no_answer_s; or a field of the wrong type: {"error"})
    GET    /api/voicemail/<ext>          -> {"ext", "agent", "waiting", "count",
                                         "max_messages", "full", "messages": [{"id", "ext",
                                         "caller", "at", "duration_s", "file", "heard"}]}
                                         (newest first); 404: no such box ([voicemail] off)
    POST   /api/voicemail/<ext> {"caller", "duration_s", "file"} -> 201: the new message;
                                         409 {"error"}: the box is full; 400
    PATCH  /api/voicemail/<ext>/<id> {"heard"} -> the message
    DELETE /api/voicemail/<ext>/<id>     -> {"id", "deleted": true}
Each change of a box's messages sends its agent's phone a ``voicemail`` event.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
from aiohttp import web

from firmware.cc import protocol as p

from .engine import Refused
from .personal import BoxFull

if TYPE_CHECKING:
    from .server import CcServer


def routes(server: CcServer) -> list[web.RouteDef]:
    """The routes, each an engine operation in the server's group commit."""
    engine = server.engine

    async def get_forwarding(request: web.Request):
        f = engine.forwarding_of(request.match_info["id"])
        if f is None:
            return _error(404, "unknown agent")
        return web.json_response(_forwarding(f))

    async def put_forwarding(request: web.Request):
        body, refused = await server._json_object(request)
        if refused is not None:
            return refused
        try:
            forwarding = msgspec.convert(body, p.Forwarding, strict=True)
        except msgspec.ValidationError as e:
            return _error(400, str(e))
        try:
            kept = server._do(engine.change_forwarding, request.match_info["id"], forwarding)
        except Refused as e:
            return web.json_response({"error": e.message, "fields": e.fields}, status=400)
        if kept is None:
            return _error(404, "unknown agent")
        await server._durable()
        return web.json_response(_forwarding(kept))

    async def get_box(request: web.Request):
        info = engine.voicemail_box_info(request.match_info["ext"])
        return web.json_response(info) if info else _error(404, "no such voicemail box")

    async def post_message(request: web.Request):
        body, refused = await server._json_object(request)
        if refused is not None:
            return refused
        if unknown := sorted(set(body) - {"caller", "duration_s", "file"}):
            return _error(400, f"unknown field {str(unknown[0])[:40]!r}")
        try:
            info = server._do(engine.voicemail_add, request.match_info["ext"],
                              body.get("caller", ""), body.get("duration_s"), body.get("file"))
        except BoxFull as e:
            return _error(409, str(e))
        except ValueError as e:
            return _error(400, str(e))
        if info is None:
            return _error(404, "no such voicemail box")
        await server._durable()
        return web.json_response(info, status=201)

    async def patch_message(request: web.Request):
        body, refused = await server._json_object(request)
        if refused is not None:
            return refused
        if set(body) != {"heard"}:
            return _error(400, 'expected {"heard": true|false}')
        try:
            info = server._do(engine.voicemail_heard, request.match_info["ext"],
                              request.match_info["id"], body["heard"])
        except ValueError as e:
            return _error(400, str(e))
        if info is None:
            return _error(404, "no such message")
        await server._durable()
        return web.json_response(info)

    async def delete_message(request: web.Request):
        message = request.match_info["id"]
        if not server._do(engine.voicemail_delete, request.match_info["ext"], message):
            return _error(404, "no such message")
        await server._durable()
        return web.json_response({"id": message, "deleted": True})

    return [web.get("/api/agents/{id}/forwarding", get_forwarding),
            web.put("/api/agents/{id}/forwarding", put_forwarding),
            web.get("/api/voicemail/{ext}", get_box),
            web.post("/api/voicemail/{ext}", post_message),
            web.patch("/api/voicemail/{ext}/{id}", patch_message),
            web.delete("/api/voicemail/{ext}/{id}", delete_message)]


def _forwarding(f: p.Forwarding) -> dict:
    """Every field, defaults too (the wire form leaves them out)."""
    return {name: getattr(f, name) for name in f.__struct_fields__}


def _error(status: int, message: str):
    return web.json_response({"error": message}, status=status)
