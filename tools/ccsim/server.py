"""ccsim over the network: phones on a WebSocket at protocol.PATH, the admin API under /api.

The engine decides everything; this layer decodes frames, sends replies and the engine's
outbox to whichever phone holds each agent, and runs the one timer for the earliest deadline.
Group commit: the operations of one event-loop turn share one SQLite commit, and what they
caused (acks, events, admin responses) is sent only after it, so whatever a phone or the admin
was told survives a kill -9.

Admin API (JSON):
    POST /api/contacts {"queue", "ani", "variables"?, "talk_s"?}  -> 201 {"id"}; 400 {"error"}
    GET  /api/contacts/<id>          -> {"id", "kind", "queue", "ani", "state", "agent",
                                         "wrapup", "note" (the wrap-up's note; null),
                                         "messages_played": [{"code", "at"}] (the centre's
                                         messages played into its call, messages.py),
                                         "apps": [{"code", "at", "ok" (null while it runs),
                                         "text", "digits"? (how many an IVR got, never
                                         which), "recording"? (a signature's WAV)}] (the
                                         voice applications it was connected to,
                                         voiceapps.py),
                                         "attempts": [{"agent", "at", "outcome",
                                         "wrapup"?, "note"? (an agent who passed it on)}],
                                         "control", "consult", "wrapup_owed",
                                         "participants": [{"leg", "who", "agent"?, "state",
                                         "room", "hold_music"}]}: participants are the legs
                                         the media bridge holds for it ([bridge] enabled; else
                                         []): who "customer" or "agent" (with its id, or a
                                         "number"), a consult's "consult" (the requester's
                                         leg) and "consulted"; state incoming|dialing|
                                         ringing|answered, the room it is in;
                                         "control", "consult", "wrapup_owed" (README):
                                         the agent with the call, the consult under way
                                         (no token), who still owes a wrap-up; a campaign's
                                         contact also "campaign", "customer", "failed",
                                         "rescheduled", "amd" (answering-machine detection:
                                         "pending", "human", "machine", "unknown"; null),
                                         "machine" (a machine answered), "message_left"
                                         (the campaign's message was played to it),
                                         "reservation" (a standard or direct preview's
                                         reservation call: "ringing", "up", "released"; null);
                                         a callback's (kind "callback") "callback" (its id),
                                         "customer", "dnis", "cancel" (the agent may cancel
                                         it while the customer rings), "failed" (why its
                                         customer's call failed; null); state "callback": an
                                         inbound customer who chose a courtesy callback
    POST /api/contacts/<id>/hangup   -> {"id", "state"} (the customer hangs up)
    POST /api/contacts/<id>/customer {"mute"?, "dtmf"?} -> the simulated customer says nothing
                                        (or talks again), keys digits (customer_api.py)
    GET  /api/contacts/<id>/audio    -> {"contact", "heard_s", "level_dbfs", "hz", "dtmf"}: what
                                        the simulated customer heard of the agent in the last
                                        0.5 s of its latest call, and the DTMF digits it got
                                        (404 before it was answered)
    GET  /api/numbers/<n>            -> {"number", "heard", "incoming", "calls", "recorded"}: a
                                        called number of the simulated customers: what it
                                        heard last (as /audio), its latest call's INVITE, how
                                        many calls came, and for a machine ([customers]
                                        machine) what its latest call recorded after the beep
                                        ({"seconds", "level_dbfs", "hz", "tones"}; null)
    GET  /api/agents/<id>            -> {"id", "state", "reason", "pending", "connected"}
    GET  /api/agents/<id>/events?after=N -> {"events": [{"seq", "at", "message"}]}, as stored
                                        (the latest 10,000 per agent are kept; 0 <= N < 2^63)
    GET  /api/agents/<id>/favorites  -> {"agent", "favorites": [{"kind", "number", "id"?,
                                        "name"?}]}: the agent's favorites, in order (kept in
                                        the database: they follow the agent to any phone)
    GET  /api/stats                  -> {"offers", "connected_agents", "connects_total"}
    GET  /api/settings               -> the settings sent to the phones (protocol.Settings)
    PATCH /api/settings {"customer_noise_removal"} -> the settings after the change; each
                                        phone logged in gets a snapshot with them at once
                                        (engine.change_settings); 400 {"error"} for any other
                                        field or a value not true/false
    GET  /api/emergencies            -> {"emergencies": [{"at", "extension", "dialed", "agent",
                                        "agent_state", "location", "location_error"}],
                                        "listening"}: the emergency calls the call server told
                                        the front desk of (frontdesk.py), oldest first
    GET  /api/campaigns              -> {"campaigns": [{"id", "name", "mode", "status",
                                        "agents", "counts": {"pending", "previewing",
                                        "dialing", "done", "removed"}}]} (campaigns.py)
    GET  /api/campaigns/<id>         -> {"id", "name", "mode", "status", "agents", "counts",
                                        "preview_s", "timeout_action", "skip", "remove",
                                        "cancel", "logout_delay_s", "dispositions": [{"code",
                                        "label"}], "fields": [{"name", "label", "editable",
                                        "kind"}], "script", "ends" (null: none), "records":
                                        [{"index", "name", "number", "alternates",
                                        "variables", "state", "attempts": [{"at", "agent",
                                        "outcome", "number"? (an alternate called),
                                        "disposition"?}], "disposition", "contact",
                                        "not_before" (a reschedule's recall, server time; null:
                                        none), "rescheduled" (the agent's YYYY-MM-DDTHH:MM,
                                        the customer's local time; null), "reservation"
                                        (standard and direct preview only: its contact's
                                        reservation call, as the contact's; null)}],
                                        "calling_hours", "tz", "do_not_call", "outcomes"
                                        ({outcome: rate}, the lab's simulated outcomes:
                                        scenario.py; null: none), "dialer":
                                        {"ring_s", "max_attempts", "retry_s", "max_ratio",
                                        "abandon_s", "abandon_limit", "abandon_window_s",
                                        "message", "message_s", "amd", "machine_action"} |
                                        null (preview), "stats":
                                        {"dialed", "answered", "abandoned", "abandon_rate",
                                        "connected", "failed": {outcome: n}}} (records in
                                        list order: a skipped one is at the end; dialer.py)
    POST /api/campaigns {"id", "name", "mode", "agents", "started", "preview_s", ...,
                         "dispositions", "fields", "records"}: a campaign shaped as a
                                        scenario's [[campaigns]] table (scenario.py), kept in
                                        the database (a restart has it; a scenario that
                                        defines its id wins) -> 201: the campaign as GET
                                        shows it, with "bad_records": [{"index", "name",
                                        "number", "why"}] (the records whose number a phone
                                        cannot dial: done "bad_number", or their first
                                        dialable alternate is their number); its logged-in
                                        agents get a ``campaign`` event (started: it starts
                                        at once, as /start); 400 {"error"} with the
                                        scenario's message for anything else wrong (the
                                        agents must be the scenario's); 409 {"error"}: the id
                                        exists (or ran before)
    POST /api/campaigns/<id>/records {"records": [...]} -> {"id", "added", "added_counts":
                                        {state: n} of those added, "counts" (the campaign's
                                        now), "bad_records"}: appended to the campaign (kept,
                                        same checks and bad-number rule); 400 {"error"}
    POST /api/campaigns/<id>/start   -> the campaign as GET shows it; its logged-in agents get
    POST /api/campaigns/<id>/stop       a ``campaign`` event (and at a start a notice and,
                                        when Available, a preview); 409 {"error"}: a
                                        progressive or predictive one without the bridge
    GET  /api/callbacks?status=S&limit=N -> {"callbacks": [{"id", "kind" (courtesy|web|
                                        scheduled), "number", "name", "queue", "start", "end"
                                        (the window, server time), "tz", "date",
                                        "start_local", "end_local" (as typed; null for a
                                        courtesy or web one), "reason", "assignee" (null: the
                                        queue's), "created_by" (the agent; null: the admin
                                        API), "created_at", "dnis", "status" (scheduled|
                                        offered|done|deleted), "attempts" (calls of the
                                        customer), "not_before" (a failed attempt's retry
                                        time; null), "contact" (its contact while offered;
                                        null), "outcome" (done: connected|failed|cancelled|
                                        the contact's status; null)}]}: newest first; only
                                        those in status S; at most N (callbacks.py)
    GET  /api/callbacks/<id>         -> the callback as listed, with "history": [{"at",
                                        "event" (created|edited|deleted|offered|attempted|
                                        completed), "agent"?, "detail"?}]
    POST /api/callbacks {"name", "number", "queue", "reason"?, "dnis"?} -> 201: a web
                                        callback, due at once (offered when the bridge is
                                        there), as GET shows it; 400 {"error", "fields"}:
                                        the number, name and reason against the callback
                                        rules, the queue a voice queue that is active (each
                                        refused field: its rule's code, as
                                        firmware/core/callback_rules.py names it); "dnis" (the web
                                        site, at most 64 characters) defaults to "web"
    POST /api/contacts/<id>/callback -> 201: the inbound customer waiting in its queue chose
                                        a courtesy callback: their call is hung up, the
                                        contact finished "callback" (not abandoned), and the
                                        callback (as GET shows it), due at once with the
                                        contact's number, queue and DNIS; 409 {"error"}: the
                                        contact is not an inbound one waiting (queued)
    GET  /api/help?state=S           -> {"help": [{"id", "agent", "contact" (the one in view;
                                        null: none), "state" (open|answered|closed),
                                        "supervisor" (who answered it; null), "created",
                                        "closed_at" (when it stopped being open; null)}]}:
                                        the agents' help requests, newest first; only those
                                        in state S (assist.py)
    GET  /api/help/<id>              -> the help request as listed
    POST /api/help/<id>/answer {"supervisor"} -> the request, answered: its agent's phone gets
                                        ``help`` "answered" with the supervisor (1-64
                                        characters); 409 {"error"}: it is not open; 400
    POST /api/help/<id>/close        -> the request, closed: its agent's phone gets ``help``
                                        "closed"; 409 {"error"}: it is not open
    GET  /api/quality                -> {"reports": [{"id", "agent", "contact" (null: an
                                        internal call), "problem", "quality": {every
                                        protocol.CallQuality field}, "created"}]}: the agents'
                                        call-quality reports, newest first
    GET  /api/quality/<id>           -> the report as listed
    GET  /api/logs                   -> {"logs": [{"id", "agent", "upload" (the phone's id of
                                        it), "created", "size" (bytes, UTF-8), "parts"}]}:
                                        the phones' log uploads whose last part came, newest
                                        first
    GET  /api/logs/<id>              -> the upload as listed, with "text": the log
    GET  /api/followups?agent=A&state=S -> {"follow_ups": [{"id", "agent", "at", "note",
                                        "contact" (null: none), "customer" (its number then;
                                        null), "state" (scheduled|due|done), "created",
                                        "due_at", "done_at" (null until then)}]}: the agents'
                                        follow-ups (followups.py), soonest first; only agent
                                        A's, only those in state S
    GET  /api/followups/<id>         -> the follow-up as listed
    GET|PUT /api/agents/<id>/forwarding, GET|POST /api/voicemail/<ext>,
    PATCH|DELETE /api/voicemail/<ext>/<id>: an agent's forwarding, its voicemail box
                                        (personal_api.py)
Unknown ids -> 404 {"error"}. A request that is refused (400, with what is wrong) changes
nothing: everything is checked first (limits.py for a contact's fields).
"""
from __future__ import annotations

import asyncio
import json
import logging
import socket
from pathlib import Path

import msgspec
from aiohttp import WSCloseCode, WSMsgType, web

from firmware.cc import protocol as p

from . import customer_api, frontdesk, personal_api, traffic
from .bridge_link import BridgeLink
from .assist import HELP_STATES, HelpOver
from .callbacks import CallbackRefused, NotWaiting, dialed_number
from .followups import FOLLOW_UP_STATES
from .campaigns import CampaignExists
from .customer_link import CustomerLink
from .engine import Engine, NoCustomers, Refused
from .scenario import Scenario, extension_user
from .store import Store

log = logging.getLogger("ccsim")

# Frames up to this size are read and refused with "too_large"; bigger ones close the socket.
_MAX_FRAME = 4 * p.MAX_MESSAGE_BYTES
_MAX_UNSENT = 10_000            # a phone this far behind is not reading: drop it
CLOSE_REPLACED = p.CLOSE_TAKEN_OVER     # another connection took the agent over
_MAX_SEQ = 2**63 - 1            # SQLite's largest integer
MAX_ADMIN_BODY = 64 * 1024      # a contact at its limits is a quarter of this


class Connection:
    """One phone's socket. Sends go through a queue drained by its own task, so messages
    keep their order and one slow phone never holds up the engine or the others."""

    def __init__(self, ws: web.WebSocketResponse, source: str = ""):
        self.ws, self.agent, self.source = ws, None, source
        self._unsent: asyncio.Queue[str | None] = asyncio.Queue()
        self._close: tuple[int, bytes] | None = None
        self._writer = asyncio.create_task(self._write())

    def send(self, text: str):
        if self._close:
            return
        if self._unsent.qsize() > _MAX_UNSENT:
            log.warning("agent %s is not reading; closing its connection", self.agent)
            self.close(WSCloseCode.POLICY_VIOLATION, "not reading")
        else:
            self._unsent.put_nowait(text)

    def close(self, code: int = WSCloseCode.GOING_AWAY, why: str = ""):
        """Close after what is queued has been sent."""
        if not self._close:
            self._close = (code, why.encode())
            self._unsent.put_nowait(None)

    async def _write(self):
        try:
            while (text := await self._unsent.get()) is not None:
                await self.ws.send_str(text)
            await self.ws.close(code=self._close[0], message=self._close[1])
        except (ConnectionError, RuntimeError):
            pass                                # the phone went away first


class CcServer:
    def __init__(self, scenario: Scenario, db: str | Path):
        self.scenario = scenario
        self.store = Store(db)
        self.customers = (CustomerLink(scenario.customers, self._on_customer)
                          if scenario.customers.enabled else NoCustomers())
        self.bridge: BridgeLink | None = None
        if scenario.bridge.enabled:             # the same proxy and SIP settings as customers
            b, cc = scenario.bridge, scenario.customers
            control = Path(b.control).absolute()        # the bridge runs from the repo root
            control.parent.mkdir(parents=True, exist_ok=True)
            self.bridge = BridgeLink(cc.proxy, cc.password, b.listen, control,
                                     self._on_bridge, user=b.user, transport=cc.transport,
                                     cafile=cc.cafile or None, media=cc.media,
                                     on_lost=self._on_bridge_lost)
        self.engine = Engine(scenario, self.store, customers=self.customers, bridge=self.bridge)
        self.connects_total = 0
        self._phones: dict[str, Connection] = {}        # agent -> the connection holding it
        self._sockets: set[web.WebSocketResponse] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._tasks: list[asyncio.Task] = []
        self._runner: web.AppRunner | None = None
        self._batch_open = False
        self._unsent: list[tuple[Connection, str]] = []     # waiting for the commit
        self._committed: list[asyncio.Future] = []
        self.front_desk: frontdesk.FrontDesk | None = None
        self._desk_transport: asyncio.DatagramTransport | None = None

    # -- life --------------------------------------------------------------------------------
    async def start(self, host: str, port: int) -> tuple[str, str]:
        """Listen; (ws url, api url) with the real port."""
        if self.bridge is not None:             # before any phone: the calls are known first
            adopted = await self.bridge.start()
            listing = await self.bridge.legs()
            self._do(self.engine.adopt, listing)
            log.info("media bridge %s: %d legs up", "adopted" if adopted else "started",
                     len(listing.get("legs", [])))
        app = web.Application(client_max_size=MAX_ADMIN_BODY)
        app.add_routes([
            web.get(p.PATH, self._phone),
            web.post("/api/contacts", self._post_contact),
            web.get("/api/contacts/{id}", self._get_contact),
            web.post("/api/contacts/{id}/hangup", self._hangup),
            web.post("/api/contacts/{id}/callback", self._post_courtesy),
            web.get("/api/contacts/{id}/audio", self._get_audio),
            web.get("/api/agents/{id}", self._get_agent),
            web.get("/api/agents/{id}/events", self._get_events),
            web.get("/api/agents/{id}/favorites", self._get_favorites),
            web.get("/api/stats", self._stats),
            web.get("/api/settings", self._get_settings),
            web.patch("/api/settings", self._patch_settings),
            web.get("/api/emergencies", self._get_emergencies),
            web.get("/api/numbers/{number}", self._get_number),
            web.get("/api/campaigns", self._get_campaigns),
            web.get("/api/campaigns/{id}", self._get_campaign),
            web.post("/api/campaigns", self._post_campaign),
            web.post("/api/campaigns/{id}/records", self._post_records),
            web.post("/api/campaigns/{id}/start", self._start_campaign),
            web.post("/api/campaigns/{id}/stop", self._stop_campaign),
            web.get("/api/callbacks", self._get_callbacks),
            web.get("/api/callbacks/{id}", self._get_callback),
            web.post("/api/callbacks", self._post_callback),
            web.get("/api/help", self._get_helps),
            web.get("/api/help/{id}", self._get_help),
            web.post("/api/help/{id}/answer", self._answer_help),
            web.post("/api/help/{id}/close", self._close_help),
            web.get("/api/quality", self._get_qualities),
            web.get("/api/quality/{id}", self._get_quality),
            web.get("/api/logs", self._get_logs),
            web.get("/api/logs/{id}", self._get_log),
            web.get("/api/followups", self._get_follow_ups),
            web.get("/api/followups/{id}", self._get_follow_up),
            *personal_api.routes(self),         # forwarding and voicemail (personal.py)
            *customer_api.routes(self),         # a simulated customer's keys, silence
        ])
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.create_server((host, port), backlog=1024)
        await web.SockSite(self._runner, sock, backlog=1024).start()
        port = sock.getsockname()[1]
        if isinstance(self.customers, CustomerLink):
            await self.customers.start()
        if self.scenario.server.front_desk:
            self.front_desk, self._desk_transport = await frontdesk.listen(
                self.scenario.server.front_desk, self._agent_at)
        if self.scenario.traffic.every_s > 0:
            self._tasks.append(asyncio.create_task(
                traffic.run(self.engine, self.scenario, self._do)))
        self._collect()                         # reservations made while loading: nobody to tell
        self._rearm()
        return f"ws://{host}:{port}{p.PATH}", f"http://{host}:{port}/api"

    async def stop(self):
        for task in self._tasks:
            task.cancel()
        if self._timer:
            self._timer.cancel()
        closing = [ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")
                   for ws in list(self._sockets)]
        if closing:                             # phones that do not answer the close are left
            await asyncio.wait([asyncio.ensure_future(c) for c in closing], timeout=2)
        if isinstance(self.customers, CustomerLink):
            await self.customers.close()
        if self.bridge is not None:             # stopped, not killed: its calls end too
            await self.bridge.close()
        if self._desk_transport is not None:
            self._desk_transport.close()
        if self._runner:
            await self._runner.cleanup()
        if self._batch_open:
            self._commit()
        self.store.close()

    # -- phones ------------------------------------------------------------------------------
    async def _phone(self, request: web.Request):
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=_MAX_FRAME, compress=False)
        await ws.prepare(request)
        self.connects_total += 1
        self._sockets.add(ws)
        conn = Connection(ws, request.remote or "")
        try:
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    self._on_frame(conn, frame.data)
                elif frame.type == WSMsgType.BINARY:
                    self._reply(conn, p.Error(code="bad_message",
                                              message="binary frame: send JSON text"))
        finally:
            self._sockets.discard(ws)
            if conn.agent and self._phones.get(conn.agent) is conn:
                del self._phones[conn.agent]
                log.info("agent %s disconnected", conn.agent)
            conn.close()
        return ws

    def _on_frame(self, conn: Connection, data: str):
        try:
            request = p.decode_client(data)
        except p.DecodeError as e:
            self._reply(conn, p.Error(code=e.code, message=str(e)))
            return
        self._begin()
        try:
            replies = self._handle(conn, request)
        except Refused as e:
            replies = [p.Error(id=request.id, code=e.code, message=e.message,
                               retry_after=e.retry_after, fields=e.fields)]
        except Exception:
            log.exception("request %s from agent %s failed", type(request).__name__, conn.agent)
            replies = [p.Error(id=request.id, code="not_allowed", message="server error")]
        for reply in replies:
            self._reply(conn, reply)
        self._collect()                         # the events it caused follow its reply

    def _handle(self, conn: Connection, r: p.ClientMessage) -> list[p.ServerMessage]:
        e = self.engine
        if isinstance(r, p.Hello):
            snapshot = e.hello(r.agent, r.pin, r.version, conn.source, r.resume)
            self._bind(conn, r.agent, resumed=bool(r.resume))
            return [p.Ack(id=r.id), snapshot]
        agent = conn.agent
        if agent is None:
            raise Refused("not_logged_in", "send hello first")
        if isinstance(r, p.Resync):
            return [p.Ack(id=r.id), e.snapshot(agent)]
        if isinstance(r, p.SetState):
            e.set_state(agent, r.state, r.reason)
        elif isinstance(r, p.Accept):
            e.accept(agent, r.contact)
        elif isinstance(r, p.Reject):
            e.reject(agent, r.contact)
        elif isinstance(r, p.Directory):
            entries, truncated = e.directory(agent, r.query)
            return [p.DirectoryAnswer(id=r.id, entries=entries, truncated=truncated)]
        elif isinstance(r, p.FavoriteAdd):
            e.favorite_add(agent, r.kind, r.number, r.target, r.name)
        elif isinstance(r, p.FavoriteRemove):
            e.favorite_remove(agent, r.number, r.target)
        elif isinstance(r, p.Dial):
            to, contact = e.dial(agent, r.number)
            return [p.DialAnswer(id=r.id, to=to, contact=contact)]
        elif isinstance(r, p.CallEvent):
            e.call_event(agent, r.contact, r.event, r.leg, r.reason)
        elif isinstance(r, p.Preview):
            e.preview(agent, r.contact, r.action, r.number)
        elif isinstance(r, p.Reschedule):
            e.reschedule(agent, r.contact, r.at)
        elif isinstance(r, p.PlayMessage):
            if r.message:                       # one of the centre's (messages.py)
                e.play_recorded(agent, r.contact, r.message)
            else:                               # the campaign's, on a machine (dialer.py)
                e.play_message(agent, r.contact)
        elif isinstance(r, p.ScheduleCallback):
            return [p.CallbackAnswer(id=r.id, callback=e.schedule_callback(agent, r.callback,
                                                                           r.contact))]
        elif isinstance(r, p.EditCallback):
            return [p.CallbackAnswer(id=r.id, callback=e.edit_callback(agent, r.callback_id,
                                                                       r.callback))]
        elif isinstance(r, p.DeleteCallback):
            e.delete_callback(agent, r.callback_id)
        elif isinstance(r, p.ListCallbacks):
            return [p.CallbacksAnswer(id=r.id, callbacks=e.list_callbacks(agent, r.number))]
        elif isinstance(r, p.Consult):
            e.consult(agent, r.contact, r.kind, r.target)
        elif isinstance(r, p.Transfer):
            e.transfer(agent, r.contact, r.kind, r.target)
        elif isinstance(r, p.ExitConsult):
            e.exit_consult(agent, r.contact)
        elif isinstance(r, p.Conference):
            e.conference(agent, r.contact)
        elif isinstance(r, p.ExitConference):
            e.exit_conference(agent, r.contact)
        elif isinstance(r, p.SetVariable):
            e.set_variable(agent, r.contact, r.name, r.value, r.version)
        elif isinstance(r, p.GetVariable):
            value = e.get_variable(agent, r.contact, r.name)
            return [msgspec.structs.replace(value, id=r.id)]
        elif isinstance(r, p.PauseRecording):
            e.pause_recording(agent, r.contact)
        elif isinstance(r, p.ResumeRecording):
            e.resume_recording(agent, r.contact)
        elif isinstance(r, p.WrapUp):
            e.wrapup(agent, r.contact, r.code, r.note)
        elif isinstance(r, p.RequestHelp):
            e.request_help(agent, r.contact)
        elif isinstance(r, p.CancelHelp):
            e.cancel_help(agent)
        elif isinstance(r, p.QualityReport):
            e.quality_report(agent, r.problem, r.quality, r.contact)
        elif isinstance(r, p.LogUpload):
            e.log_upload(agent, r.upload, r.part, r.parts, r.text)
        elif isinstance(r, p.ScheduleFollowUp):
            e.schedule_follow_up(agent, r.at, r.note, r.contact)
        elif isinstance(r, p.FollowUpDone):
            e.follow_up_done(agent, r.follow_up)
        elif isinstance(r, p.SetForwarding):
            e.set_forwarding(agent, r.forwarding)
        elif isinstance(r, p.ConnectApp):
            e.connect_app(agent, r.contact, r.app)
        elif isinstance(r, p.Logout):
            e.logout(agent, r.reason)
        return [p.Ack(id=r.id)]

    def _bind(self, conn: Connection, agent: str, resumed: bool = False):
        """This connection now holds the agent; a connection that held it before is closed
        (``resumed``: by the same login coming back, e.g. the phone's old socket is half-open)."""
        if conn.agent and conn.agent != agent and self._phones.get(conn.agent) is conn:
            del self._phones[conn.agent]
        old = self._phones.get(agent)
        if old is not None and old is not conn:
            # told why, so that phone stays off instead of taking the agent back (a flap)
            old.agent = None
            old.send(p.encode(p.Error(code="taken_over",
                                      message=f"agent {agent} logged in on another phone")))
            old.close(CLOSE_REPLACED, "taken_over")
            log.warning("agent %s: taken over by a %s from %s (was %s)", agent,
                        "reconnect of the same session" if resumed else "login",
                        conn.source or "?", old.source or "?")
        elif old is None:
            log.info("agent %s connected", agent)
        self._phones[agent] = conn
        conn.agent = agent

    # -- group commit ------------------------------------------------------------------------
    def _begin(self):
        """Join this loop turn's transaction (opened, and its commit scheduled, on first use)."""
        if not self._batch_open:
            self.store.begin()
            self._batch_open = True
            asyncio.get_running_loop().call_soon(self._commit)

    def _reply(self, conn: Connection, message: p.ServerMessage):
        self._begin()
        self._unsent.append((conn, p.encode(message)))

    def _collect(self):
        """Queue the engine's events for the phones holding their agents."""
        for agent, message, text in self.engine.take_outbox():
            conn = self._phones.get(agent)
            if conn is None:
                continue
            self._unsent.append((conn, text))
            if isinstance(message, p.LoggedOut):
                del self._phones[agent]
                conn.agent = None

    def _do(self, operation, *args):
        """An engine operation in this loop turn's transaction; what it causes is queued."""
        self._begin()
        try:
            return operation(*args)
        finally:
            self._collect()

    def _commit(self):
        self.store.commit()
        self._batch_open = False
        unsent, self._unsent = self._unsent, []
        for conn, text in unsent:
            conn.send(text)
        committed, self._committed = self._committed, []
        for future in committed:
            if not future.done():
                future.set_result(None)
        self._rearm()

    async def _durable(self):
        """Wait for the commit of this loop turn's transaction."""
        if self._batch_open:
            future = asyncio.get_running_loop().create_future()
            self._committed.append(future)
            await future

    def _rearm(self):
        at = self.engine.next_deadline()
        if at == self._timer_at:
            return
        if self._timer:
            self._timer.cancel()
        self._timer_at, self._timer = at, None
        if at is not None:
            delay = max(0.0, at - self.engine.clock())
            self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self):
        self._timer, self._timer_at = None, None
        self._do(self.engine.expire)            # the commit re-arms, also after an early wake

    def _on_customer(self, event: dict):
        if event.get("event") == "failed":
            log.info("customer call for %s failed: %s", event.get("contact"),
                     event.get("reason", ""))
        try:
            self._do(self.engine.customer_event, str(event["contact"]), str(event["event"]))
        except Exception:
            log.exception("customer event %r", event)

    def _on_bridge_lost(self):
        """The bridge died by itself: its calls with it. A new one is started and the
        contacts are told (engine.bridge_lost): what ccsim keeps survives."""
        log.error("media bridge lost: every call it held is gone; starting a new one")
        self._tasks.append(asyncio.get_running_loop().create_task(self._restart_bridge()))

    async def _restart_bridge(self):
        assert self.bridge is not None
        try:
            await self.bridge.start()
            listing = await self.bridge.legs()
        except Exception:
            log.exception("media bridge: could not start a new one")
            return
        self._do(self.engine.bridge_lost, listing)

    def _on_bridge(self, event: dict):
        try:
            self._do(self.engine.bridge_event, event)
        except Exception:
            log.exception("bridge event %r", event.get("event"))

    # -- admin -------------------------------------------------------------------------------
    @staticmethod
    async def _json_object(request: web.Request) -> tuple[dict, web.Response | None]:
        """An admin request's JSON object body, or the 400 that refuses it."""
        try:
            data = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return {}, _error(400, f"the body is over {MAX_ADMIN_BODY} bytes")
        body, problem = _json_body(data)
        if problem is None and not isinstance(body, dict):
            problem = "expected a JSON object"
        return (body, None) if problem is None else ({}, _error(400, problem))

    async def _post_contact(self, request: web.Request):
        body, refused = await self._json_object(request)
        if refused is not None:
            return refused
        try:                 # the engine checks every field (limits.py) before any change
            cid = self._do(self.engine.new_contact, body.get("queue"), body.get("ani"),
                           body.get("variables", {}), body.get("talk_s"))
        except ValueError as e:
            return _error(400, str(e))
        await self._durable()
        return web.json_response({"id": cid}, status=201)

    async def _get_contact(self, request: web.Request):
        info = self.engine.contact_info(request.match_info["id"])
        return web.json_response(info) if info else _error(404, "unknown contact")

    async def _hangup(self, request: web.Request):
        cid = request.match_info["id"]
        self._do(self.engine.hang_up, cid)
        await self._durable()
        info = self.engine.contact_info(cid)
        if info is None:
            return _error(404, "unknown contact")
        return web.json_response({"id": cid, "state": info["state"]})

    async def _get_audio(self, request: web.Request):
        cid = request.match_info["id"]
        hearing = getattr(self.customers, "hearing", {}).get(cid)
        info = self.engine.contact_info(cid)
        if not hearing and info and info["kind"] in ("outbound", "campaign", "callback"):
            hearing = self._number_heard(dialed_number(info["ani"]))    # a number dialed
        if not hearing:
            return _error(404, "no customer audio")
        return web.json_response({**hearing,
                                  "dtmf": getattr(self.customers, "keyed", {}).get(cid, "")})

    def _number_heard(self, number: str) -> dict | None:
        reports = getattr(self.customers, "called", {}).get(number, [])
        audio = [r for r in reports if r.get("event") == "audio"]
        return {k: v for k, v in audio[-1].items() if k != "event"} if audio else None

    async def _get_number(self, request: web.Request):
        number = request.match_info["number"]
        reports = getattr(self.customers, "called", {}).get(number)
        if reports is None:
            return _error(404, "no such called number (or it was never called)")
        incoming = [r for r in reports if r.get("event") == "incoming"]
        recorded = [r for r in reports if r.get("event") == "recorded"]
        return web.json_response({"number": number, "heard": self._number_heard(number),
                                  "incoming": incoming[-1] if incoming else None,
                                  "calls": len(incoming),
                                  "recorded": ({k: v for k, v in recorded[-1].items()
                                                if k not in ("event", "number")}
                                               if recorded else None)})

    async def _get_settings(self, _request: web.Request):
        return web.json_response(msgspec.to_builtins(self.engine.settings))

    async def _patch_settings(self, request: web.Request):
        """Change live settings; the phones logged in get them at once (engine.change_settings)."""
        body, refused = await self._json_object(request)
        if refused is not None:
            return refused
        try:
            settings = self._do(self.engine.change_settings, body)
        except ValueError as e:
            return _error(400, str(e))
        await self._durable()
        return web.json_response(msgspec.to_builtins(settings))

    async def _get_agent(self, request: web.Request):
        agent = request.match_info["id"]
        info = self.engine.agent_info(agent)
        if info is None:
            return _error(404, "unknown agent")
        return web.json_response({**info, "connected": agent in self._phones})

    async def _get_events(self, request: web.Request):
        agent = request.match_info["id"]
        if self.engine.agent_info(agent) is None:
            return _error(404, "unknown agent")
        try:
            after = int(request.query.get("after", "0"))
        except ValueError:
            return _error(400, "after: expected an integer")
        if not 0 <= after <= _MAX_SEQ:
            return _error(400, f"after: expected 0 to {_MAX_SEQ}")
        return web.json_response({"events": [
            {"seq": seq, "at": at, "message": json.loads(body)}
            for seq, at, body in self.store.events(agent, after)]})

    async def _get_favorites(self, request: web.Request):
        agent = request.match_info["id"]
        favorites = self.engine.favorites_info(agent)
        if favorites is None:
            return _error(404, "unknown agent")
        return web.json_response({"agent": agent, "favorites": favorites})

    def _agent_at(self, extension: str) -> str:
        """The agent whose phone is ``extension`` (a SIP user), "" for none."""
        return next((a.id for a in self.scenario.agents
                     if extension_user(a.extension) == extension), "")

    async def _get_emergencies(self, request: web.Request):
        notices = self.front_desk.as_json() if self.front_desk else []
        for n in notices:                 # the agent's state now, for whoever goes to the desk
            info = self.engine.agent_info(n["agent"]) if n["agent"] else None
            n["agent_state"] = info["state"] if info else ""
        return web.json_response({"emergencies": notices,
                                  "listening": bool(self.front_desk)})

    async def _get_campaigns(self, _request: web.Request):
        return web.json_response({"campaigns": self.engine.campaigns_info()})

    async def _get_campaign(self, request: web.Request):
        info = self.engine.campaign_info(request.match_info["id"])
        return web.json_response(info) if info else _error(404, "unknown campaign")

    async def _post_campaign(self, request: web.Request):
        body, refused = await self._json_object(request)
        if refused is not None:
            return refused
        if problem := _text_problem(body):
            return _error(400, problem)
        try:                    # the scenario's checks, everything before any change
            info = self._do(self.engine.load_campaign, body)
        except CampaignExists as e:
            return _error(409, str(e))
        except ValueError as e:
            return _error(400, str(e))
        await self._durable()
        return web.json_response(info, status=201)

    async def _post_records(self, request: web.Request):
        body, refused = await self._json_object(request)
        if refused is not None:
            return refused
        if problem := _text_problem(body):
            return _error(400, problem)
        try:
            info = self._do(self.engine.append_records, request.match_info["id"], body)
        except ValueError as e:
            return _error(400, str(e))
        if info is None:
            return _error(404, "unknown campaign")
        await self._durable()
        return web.json_response(info)

    async def _start_campaign(self, request: web.Request):
        return await self._switch_campaign(request, self.engine.start_campaign)

    async def _stop_campaign(self, request: web.Request):
        return await self._switch_campaign(request, self.engine.stop_campaign)

    async def _switch_campaign(self, request: web.Request, operation):
        cid = request.match_info["id"]
        try:
            known = self._do(operation, cid)
        except ValueError as e:                 # a dialing campaign with no bridge
            return _error(409, str(e))
        if not known:
            return _error(404, "unknown campaign")
        await self._durable()
        return web.json_response(self.engine.campaign_info(cid))

    async def _get_callbacks(self, request: web.Request):
        status = request.query.get("status", "")
        if status and status not in ("scheduled", "offered", "done", "deleted"):
            return _error(400, "status: one of scheduled, offered, done, deleted")
        try:
            limit = int(request.query.get("limit", "-1"))
        except ValueError:
            return _error(400, "limit: expected an integer")
        if not -1 <= limit <= _MAX_SEQ:
            return _error(400, f"limit: expected -1 (all) to {_MAX_SEQ}")
        return web.json_response({"callbacks": self.engine.callbacks_info(status, limit)})

    async def _get_callback(self, request: web.Request):
        info = self.engine.callback_info(request.match_info["id"])
        return web.json_response(info) if info else _error(404, "unknown callback")

    async def _post_callback(self, request: web.Request):
        body, refused = await self._json_object(request)
        if refused is not None:
            return refused
        try:                    # every field checked before any change
            info = self._do(self.engine.web_callback, body)
        except CallbackRefused as e:
            return web.json_response({"error": str(e), "fields": e.fields}, status=400)
        await self._durable()
        return web.json_response(info, status=201)

    async def _post_courtesy(self, request: web.Request):
        try:
            info = self._do(self.engine.courtesy_callback, request.match_info["id"])
        except NotWaiting as e:
            return _error(409, str(e))
        if info is None:
            return _error(404, "unknown contact")
        await self._durable()
        return web.json_response(info, status=201)

    async def _get_helps(self, request: web.Request):
        state = request.query.get("state", "")
        if state and state not in HELP_STATES:
            return _error(400, f"state: one of {', '.join(HELP_STATES)}")
        return web.json_response({"help": self.engine.helps_info(state)})

    async def _get_help(self, request: web.Request):
        info = self.engine.help_request_info(request.match_info["id"])
        return web.json_response(info) if info else _error(404, "unknown help request")

    async def _answer_help(self, request: web.Request):
        body, refused = await self._json_object(request)
        if refused is not None:
            return refused
        if unknown := sorted(set(body) - {"supervisor"}):
            return _error(400, f"unknown field {str(unknown[0])[:40]!r}")
        return await self._end_help(self.engine.answer_help, request.match_info["id"],
                                    body.get("supervisor"))

    async def _close_help(self, request: web.Request):
        return await self._end_help(self.engine.close_help, request.match_info["id"])

    async def _end_help(self, operation, *args):
        """Answer or close a help request: its agent's phone is told (a ``help`` event)."""
        try:
            info = self._do(operation, *args)
        except HelpOver as e:
            return _error(409, str(e))
        except ValueError as e:
            return _error(400, str(e))
        if info is None:
            return _error(404, "unknown help request")
        await self._durable()
        return web.json_response(info)

    async def _get_qualities(self, _request: web.Request):
        return web.json_response({"reports": self.engine.qualities_info()})

    async def _get_quality(self, request: web.Request):
        info = self.engine.quality_report_info(request.match_info["id"])
        return web.json_response(info) if info else _error(404, "unknown quality report")

    async def _get_logs(self, _request: web.Request):
        return web.json_response({"logs": self.engine.logs_info()})

    async def _get_log(self, request: web.Request):
        info = self.engine.log_text_info(request.match_info["id"])
        return web.json_response(info) if info else _error(404, "unknown log")

    async def _get_follow_ups(self, request: web.Request):
        state = request.query.get("state", "")
        if state and state not in FOLLOW_UP_STATES:
            return _error(400, f"state: one of {', '.join(FOLLOW_UP_STATES)}")
        agent = request.query.get("agent", "")
        return web.json_response({"follow_ups": self.engine.follow_ups_info(agent, state)})

    async def _get_follow_up(self, request: web.Request):
        info = self.engine.follow_up_record_info(request.match_info["id"])
        return web.json_response(info) if info else _error(404, "unknown follow-up")

    async def _stats(self, request: web.Request):
        return web.json_response({"offers": self.engine.offers,
                                  "connected_agents": len(self._phones),
                                  "connects_total": self.connects_total})


def _json_body(data: bytes) -> tuple[object, str | None]:
    """The request's JSON, or why it isn't any: not UTF-8 JSON, NaN/Infinity, nested too deep."""
    def no_constant(name):
        raise ValueError(f"{name} is not a JSON number")
    try:
        return json.loads(data, parse_constant=no_constant), None
    except RecursionError:
        return None, "the body is nested too deeply"
    except ValueError as e:                     # UnicodeDecodeError and JSONDecodeError too
        return None, f"the body is not JSON ({str(e)[:80]})"


def _text_problem(value) -> str | None:
    """A string in the body that is not valid Unicode (a lone surrogate: JSON allows it, the
    database does not), or None."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return f"not valid Unicode (a lone surrogate): {v[:40]!r}"
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return None


def _error(status: int, message: str):
    return web.json_response({"error": message}, status=status)
