"""The phone's side of the contact-center protocol, without I/O: protocol frames in, core events
out; core effects in, frames out. The asyncio layer (connection.py) only moves text. Everything
here is testable by feeding strings.

Offline policy (docs/cc-protocol.md): set_state (latest only), accept, reject, call events and
wrap-ups are queued while the link is down and sent after the next snapshot. Everything queued
or not yet acknowledged is handed to ``save`` as it changes, so a reboot doesn't lose it either
(a wrap-up without the call's "ended" before it would be refused), except a state change: the
phone comes back Not Ready. Logout is refused offline. A
queued request whose contact the snapshot no longer has is dropped with a log line. Directory
look-ups and favorite changes are refused offline (the directory and favorites are the
server's); a look-up lost with the link is refused then, so no screen waits for it.

Login and reconnect: a login (config at boot, or the keypad) sends a hello without ``resume``,
which takes the agent over from any other phone; every automatic reconnect resumes the session
(the protocol's: one login's id, docs/cc-protocol.md) of the latest snapshot, which the server
refuses once the agent has logged in elsewhere (``taken_over``: "Logged in elsewhere") or out
(``not_logged_in``: logged out here too). Either way the phone stays off the server until the
next login.
"""
from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import assert_never

from firmware.core import effects as fx
from firmware.core import events as ev

from . import protocol as p

log = logging.getLogger("hardphone.cc")

# The core events this module produces (the effects it carries out: fx.CcEffect).
CcEvent = (ev.CcLink | ev.CcSnapshot | ev.CcAgentState | ev.CcContact | ev.CcNotice
           | ev.CcLoggedOut | ev.CcRefused | ev.CcTakenOver | ev.CcDialAnswer | ev.CcDirectory
           | ev.CcFavorites | ev.CcVariable | ev.CcCampaign | ev.CcCallbackSaved
           | ev.CcCallbacks | ev.CcHelp | ev.CcAcked | ev.CcFollowUp | ev.CcAppResult
           | ev.CcForwarding | ev.CcVoicemail)
Frames = list[str]

# The two registries, checked by tests/unit/test_cc_registry.py against the protocol, the core
# and what the client does: every Cc* effect of the rules and the request it becomes ...
REQUESTS: dict[type[fx.CcEffect], type[p.ClientMessage]] = {
    fx.CcLogin: p.Hello,
    fx.CcSetState: p.SetState,
    fx.CcAccept: p.Accept,
    fx.CcReject: p.Reject,
    fx.CcDial: p.Dial,
    fx.CcGetDirectory: p.Directory,
    fx.CcFavoriteAdd: p.FavoriteAdd,
    fx.CcFavoriteRemove: p.FavoriteRemove,
    fx.CcCallEvent: p.CallEvent,
    fx.CcConsult: p.Consult,
    fx.CcTransfer: p.Transfer,
    fx.CcExitConsult: p.ExitConsult,
    fx.CcConference: p.Conference,
    fx.CcExitConference: p.ExitConference,
    fx.CcPauseRecording: p.PauseRecording,
    fx.CcResumeRecording: p.ResumeRecording,
    fx.CcSetVariable: p.SetVariable,
    fx.CcGetVariable: p.GetVariable,
    fx.CcPreview: p.Preview,
    fx.CcReschedule: p.Reschedule,
    fx.CcPlayMessage: p.PlayMessage,
    fx.CcScheduleCallback: p.ScheduleCallback,
    fx.CcEditCallback: p.EditCallback,
    fx.CcDeleteCallback: p.DeleteCallback,
    fx.CcListCallbacks: p.ListCallbacks,
    fx.CcWrapUp: p.WrapUp,
    fx.CcRequestHelp: p.RequestHelp,
    fx.CcCancelHelp: p.CancelHelp,
    fx.CcQualityReport: p.QualityReport,
    fx.CcLogUpload: p.LogUpload,
    fx.CcScheduleFollowUp: p.ScheduleFollowUp,
    fx.CcConnectApp: p.ConnectApp,
    fx.CcSetForwarding: p.SetForwarding,
    fx.CcFollowUpDone: p.FollowUpDone,
    fx.CcLogout: p.Logout,
}
# ... and every server message and the core events it can become (an ack: none, it only
# settles a request; an error: the refusal of one, or the end of the login).
EVENTS: dict[type[p.ServerMessage], tuple[type[CcEvent], ...]] = {
    p.Ack: (ev.CcAcked,),       # only a quality report's and a log part's, which the phone follows
    p.Error: (ev.CcRefused, ev.CcTakenOver, ev.CcLoggedOut),
    p.DialAnswer: (ev.CcDialAnswer,),
    p.DirectoryAnswer: (ev.CcDirectory,),
    p.VariableValue: (ev.CcVariable,),
    p.CallbackAnswer: (ev.CcCallbackSaved,),
    p.CallbacksAnswer: (ev.CcCallbacks,),
    p.Snapshot: (ev.CcSnapshot, ev.CcLink),
    p.AgentState: (ev.CcAgentState,),
    p.ContactUpdate: (ev.CcContact,),
    p.Notice: (ev.CcNotice,),
    p.CampaignUpdate: (ev.CcCampaign,),
    p.Favorites: (ev.CcFavorites,),
    p.Help: (ev.CcHelp,),
    p.FollowUpDue: (ev.CcFollowUp,),
    p.AppResult: (ev.CcAppResult,),
    p.ForwardingUpdate: (ev.CcForwarding,),
    p.Voicemail: (ev.CcVoicemail,),
    p.LoggedOut: (ev.CcLoggedOut,),
}

# (a follow-up seen offline is said once the link is back: else the snapshot brings it again)
_Queueable = p.SetState | p.Accept | p.Reject | p.CallEvent | p.WrapUp | p.FollowUpDone
_QUEUEABLE = (p.SetState, p.Accept, p.Reject, p.CallEvent, p.WrapUp, p.FollowUpDone)
SKEW_LOGGED_S = 2.0          # clocks further apart than this are worth a line in the log
SESSION_OVER = "session ended"   # the logout reason shown when a reconnect finds no session
# The directory and favorites are the server's: offline there is nothing to show or change (a
# favorite is refused rather than queued: the list the agent sees is always the server's).
NO_DIRECTORY = "No server: directory unavailable"
NO_CALLBACKS = "No server: callbacks unavailable"
NO_FOLLOW_UP = "No server: follow-up not set"
NO_FORWARDING = "No server: forwarding unchanged"
NO_FAVORITES = "No server: favorites can't change now"
# Help, a call report and logs are for now (a supervisor's help, the figures of a call just
# had): never queued; each says so when the link is down or drops before the server took it.
NO_NOW = "no server"
# Consult and transfer act on a call now: never queued (a transfer sent minutes later would
# move a customer the agent has moved on from).
NO_CONSULT = {"consult": "No server: can't consult now",
              "transfer": "No server: can't transfer now",
              "exit_consult": "No server: can't exit the consult now",
              "conference": "No server: can't conference now",
              "exit_conference": "No server: can't exit the conference now",
              "pause_recording": "No server: rec as is",
              "resume_recording": "No server: rec as is",
              "set_variable": "No server: not saved",
              "get_variable": "No server: can't show",
              "preview": "No server: can't dial now",
              "reschedule": "No server: not rescheduled",
              "play_message": "No server: no message",
              "connect_app": "No server: can't connect"}
# Contact statuses after which nothing the phone queued for the contact still matters.
_CLOSED = {"wrapped_up", "withdrawn", "rona"}


@dataclass
class _Queued:
    message: p.ClientMessage  # a protocol request
    contact: str = ""        # the contact it is about ("" for none)


def _no_save(requests: list[str]) -> None:
    pass


class CcClient:
    """The phone's side of the protocol for its agent: the login, the requests queued or in
    flight, and the server's event sequence. No I/O: CcConnection feeds it frames and socket
    events and sends what it returns."""

    def __init__(self, saved: list[str] | None = None,
                 save: Callable[[list[str]], None] = _no_save,
                 clock: Callable[[], float] = time.time) -> None:
        """``clock``: the phone's wall clock; with the snapshot's ``server_time`` it gives how far
        the server's clock is ahead, taken off every contact time so the phone's timers (offer
        age, RONA, wrap-up deadline) are right even when the two clocks disagree."""
        self._ids = (f"r{n}" for n in itertools.count(1))
        self._clock = clock
        self._skew = 0.0             # server clock - phone clock, as of the latest snapshot
        self._credentials: tuple[str, str] | None = None
        # the login's id from the latest snapshot: what a reconnect resumes ("" until the
        # login's first snapshot, so a hello that never got its answer is a login again)
        self._resume = ""
        self._save = save
        self._queue: list[_Queued] = []
        self._inflight: dict[str, _Queued] = {}      # request id -> what was sent
        self._dials: dict[str, str] = {}             # dial request id -> the phone's call
        self.connected = False       # the socket is open
        self.synced = False          # a snapshot arrived on this connection
        self._seq = 0
        for frame in saved or ():    # requests not acknowledged before a reboot
            try:
                message = p.decode_client(frame)
            except (p.DecodeError, TypeError) as e:
                log.error("dropped an unreadable saved request: %s", e)
                continue
            if isinstance(message, p.SetState):
                # the phone comes back Not Ready (docs/pi.md): a state asked for before the
                # power went is not applied after it, when nobody may be at the desk
                log.info("dropped a state change saved before the restart: %s", message.state)
            elif isinstance(message, _QUEUEABLE):
                message.id = self._next_id()
                self._queue.append(_Queued(message, _contact_of(message)))

    @property
    def wants_connection(self) -> bool:
        """Connect only with credentials: the phone says nothing before a login."""
        return self._credentials is not None

    # -- socket events --------------------------------------------------------------------------
    def connection_made(self) -> Frames:
        self.connected, self.synced = True, False
        return [self._hello()] if self._credentials else []

    def connection_lost(self) -> list[CcEvent]:
        """The socket closed. In-flight requests go back to the queue (their ack never came)."""
        self.connected = self.synced = False
        lost = list(self._inflight.values())
        self._inflight.clear()
        self._queue[:0] = [q for q in lost if isinstance(q.message, _QUEUEABLE)]
        events: list[CcEvent] = [ev.CcLink("down")]
        if any(isinstance(q.message, p.Logout) for q in lost):
            events.append(ev.CcRefused("logout", "offline", "Logout not confirmed: link lost"))
        if self._dials:             # a dial never waits for a link to come back
            self._dials.clear()
            events.append(ev.CcRefused("dial", "offline", "link lost"))
        if any(isinstance(q.message, p.Directory) for q in lost):   # not "Loading..." for ever
            events.append(ev.CcRefused("directory", "offline", NO_DIRECTORY))
        for q in lost:              # a help request, a report, a log part: not taken
            if isinstance(q.message, p.RequestHelp | p.CancelHelp | p.QualityReport
                          | p.LogUpload):
                events.append(ev.CcRefused(_tag(q.message), "offline", NO_NOW))
        for q in lost:              # a consult or transfer whose answer will never come
            if isinstance(q.message, p.Consult | p.Transfer | p.ExitConsult | p.Conference
                          | p.ExitConference | p.PauseRecording | p.ResumeRecording
                          | p.SetVariable | p.GetVariable | p.ConnectApp):
                kind = _tag(q.message)
                events.append(ev.CcRefused(kind, "offline", NO_CONSULT[kind]))
        return events

    def receive(self, data: str | bytes) -> tuple[list[CcEvent], Frames]:
        """One frame from the server -> (core events, frames to send)."""
        try:
            msg = p.decode_server(data)
        except p.DecodeError as e:
            log.warning("ignored a bad frame from the server (%s): %s", e.code, str(e)[:200])
            return [], []
        return self._handle(msg)

    # -- core effects ---------------------------------------------------------------------------
    def request(self, effect: fx.CcEffect) -> tuple[list[CcEvent], Frames]:
        """An effect of the rules -> (core events, frames to send now)."""
        match effect:
            case fx.CcLogin():
                self._credentials, self._resume = (effect.agent, effect.pin), ""
                if self.connected:
                    return [], [self._hello()]
                return [ev.CcLink("connecting")], []
            case fx.CcLogout():
                if not self.synced:
                    return [ev.CcRefused("logout", "offline", "No server: can't log out now")], []
                return [], self._send(_Queued(p.Logout(id=self._next_id(), reason=effect.reason)))
            case fx.CcDial():
                if not self.synced:
                    return [ev.CcRefused("dial", "offline", "no server")], []
                dial = p.Dial(id=self._next_id(), number=effect.number)
                self._dials[dial.id] = effect.call
                return [], self._send(_Queued(dial))
            case fx.CcGetDirectory():
                if not self.synced:
                    return [ev.CcRefused("directory", "offline", NO_DIRECTORY)], []
                return [], self._send(_Queued(p.Directory(id=self._next_id(),
                                                          query=effect.query)))
            case fx.CcFavoriteAdd() | fx.CcFavoriteRemove():
                if not self.synced:
                    return [ev.CcRefused(_FAVORITE_REQUESTS[type(effect)], "offline",
                                         NO_FAVORITES)], []
                return [], self._send(_Queued(_favorite(effect, self._next_id())))
            case (fx.CcConsult() | fx.CcTransfer() | fx.CcExitConsult() | fx.CcConference()
                  | fx.CcExitConference() | fx.CcPauseRecording() | fx.CcResumeRecording()
                  | fx.CcSetVariable() | fx.CcGetVariable() | fx.CcPreview()
                  | fx.CcReschedule() | fx.CcPlayMessage() | fx.CcConnectApp()):
                message = _consult(effect, self._next_id())
                if not self.synced:
                    kind = _tag(message)
                    return [ev.CcRefused(kind, "offline", NO_CONSULT[kind])], []
                return [], self._send(_Queued(message, effect.contact))
            case fx.CcSetForwarding():          # the server checks loops: not queued
                if not self.synced:
                    return [ev.CcRefused("set_forwarding", "offline", NO_FORWARDING)], []
                f = effect.forwarding
                return [], self._send(_Queued(p.SetForwarding(
                    id=self._next_id(), forwarding=p.Forwarding(f.always, f.busy, f.no_answer,
                                                                f.no_answer_s))))
            case fx.CcScheduleFollowUp():       # the server's clock decides: not queued
                if not self.synced:
                    return [ev.CcRefused("schedule_follow_up", "offline", NO_FOLLOW_UP)], []
                return [], self._send(_Queued(p.ScheduleFollowUp(
                    id=self._next_id(), at=effect.at, note=effect.note, contact=effect.contact)))
            case (fx.CcScheduleCallback() | fx.CcEditCallback() | fx.CcDeleteCallback()
                  | fx.CcListCallbacks()):
                asked = _callback_request(effect, self._next_id())
                if not self.synced:     # the server's rules and clock decide: not queued
                    return [ev.CcRefused(_tag(asked), "offline", NO_CALLBACKS)], []
                return [], self._send(_Queued(asked))
            case (fx.CcRequestHelp() | fx.CcCancelHelp() | fx.CcQualityReport()
                  | fx.CcLogUpload()):
                now = _now_request(effect, self._next_id())
                if not self.synced:
                    return [ev.CcRefused(_tag(now), "offline", NO_NOW)], []
                return [], self._send(_Queued(now))
            case (fx.CcSetState() | fx.CcAccept() | fx.CcReject() | fx.CcCallEvent()
                  | fx.CcWrapUp() | fx.CcFollowUpDone()):
                return [], self._queue_or_send(_queued(effect, self._next_id()))
            case _:
                assert_never(effect)

    # -- internals ------------------------------------------------------------------------------
    def _next_id(self) -> str:
        return next(self._ids)

    def _hello(self) -> str:
        assert self._credentials is not None, "a hello needs a login"
        agent, pin = self._credentials
        hello = p.Hello(id=self._next_id(), agent=agent, pin=pin, client="hardphone",
                        resume=self._resume)
        self._inflight[hello.id] = _Queued(hello)
        return p.encode(hello)

    def _queue_or_send(self, queued: _Queued) -> Frames:
        if isinstance(queued.message, p.SetState):          # only the latest state matters
            self._queue = [q for q in self._queue if not isinstance(q.message, p.SetState)]
        if self.synced:
            return self._send(queued)
        self._queue.append(queued)
        self._persist()
        return []

    def _send(self, queued: _Queued) -> Frames:
        self._inflight[queued.message.id] = queued
        if isinstance(queued.message, _QUEUEABLE):
            self._persist()            # on disk until the server acknowledges it
        return [p.encode(queued.message)]

    def _persist(self) -> None:
        """Hand every unacknowledged request to ``save``, oldest first (in flight, queued)."""
        pending = list(self._inflight.values()) + self._queue
        self._save([p.encode(q.message) for q in pending if isinstance(q.message, _QUEUEABLE)])

    def _flush(self, snapshot: p.Snapshot) -> Frames:
        """After a snapshot: send what was queued, minus what the server has moved past."""
        live = {c.id for c in snapshot.contacts if c.status not in _CLOSED}
        frames: Frames = []
        for q in self._queue:
            if q.contact and q.contact not in live:
                log.info("dropped queued %s for contact %s: the server has closed it",
                         type(q.message).__name__, q.contact)
                continue
            frames += self._send(q)
        self._queue.clear()
        self._persist()
        return frames

    def _handle(self, msg: p.ServerMessage) -> tuple[list[CcEvent], Frames]:
        match msg:
            case p.Ack():
                done = self._inflight.pop(msg.id, None)
                if done and isinstance(done.message, _QUEUEABLE):
                    self._persist()
                if done and isinstance(done.message, p.QualityReport):
                    return [ev.CcAcked("quality_report")], []
                if done and isinstance(done.message, p.LogUpload):
                    return [ev.CcAcked("log_upload", done.message.part)], []
                return [], []
            case p.Error():
                self._dials.pop(msg.id, None)
                return self._refused(msg)
            case p.DialAnswer():
                self._inflight.pop(msg.id, None)
                call = self._dials.pop(msg.id, None)
                if call is None:
                    log.warning("a dial answer for no dial of ours (%s)", msg.id)
                    return [], []
                return [ev.CcDialAnswer(call, msg.to, msg.contact)], []
            case p.DirectoryAnswer():
                # a late answer is harmless: only a directory screen waiting for it takes it
                self._inflight.pop(msg.id, None)
                return [ev.CcDirectory(tuple(_entry(e) for e in msg.entries),
                                       msg.truncated)], []
            case p.CallbackAnswer():
                self._inflight.pop(msg.id, None)
                return [ev.CcCallbackSaved(_callback(msg.callback, self._skew))], []
            case p.CallbacksAnswer():
                self._inflight.pop(msg.id, None)
                return [ev.CcCallbacks(tuple(_callback(c, self._skew) for c in msg.callbacks))], []
            case p.VariableValue():          # its value never logged (a secure one)
                self._inflight.pop(msg.id, None)
                return [ev.CcVariable(msg.contact, msg.name, msg.value, msg.version)], []
            case p.Snapshot():
                return self._snapshot(msg)
            case (p.AgentState() | p.ContactUpdate() | p.Notice() | p.CampaignUpdate()
                  | p.Favorites() | p.Help() | p.FollowUpDue() | p.AppResult()
                  | p.ForwardingUpdate() | p.Voicemail() | p.LoggedOut()):
                return self._server_event(msg)
            case _:
                assert_never(msg)

    def _snapshot(self, msg: p.Snapshot) -> tuple[list[CcEvent], Frames]:
        self._seq, self.synced = msg.seq, True
        self._resume = msg.session
        if msg.server_time:
            self._skew = msg.server_time - self._clock()
            if abs(self._skew) > SKEW_LOGGED_S:
                log.warning("the server's clock is %+.1f s from the phone's; "
                            "contact times are corrected", self._skew)
        return [_snapshot(msg, self._skew), ev.CcLink("up")], self._flush(msg)

    def _server_event(self, msg: _ServerEvent) -> tuple[list[CcEvent], Frames]:
        """An event in the login's sequence: applied in order; a gap asks for a snapshot."""
        if not self.synced:
            return [], []            # events before the snapshot: the snapshot will cover them
        seq = msg.seq
        if seq <= self._seq:
            return [], []            # a repeat
        if seq != self._seq + 1:
            log.warning("seq gap: expected %d, got %d; asking for a snapshot", self._seq + 1, seq)
            self.synced = False
            resync = p.Resync(id=self._next_id())
            self._inflight[resync.id] = _Queued(resync)
            return [], [p.encode(resync)]
        self._seq = seq
        if isinstance(msg, p.LoggedOut):
            self._credentials = None         # logged out: stay off the server until a login
            self._queue.clear()
        return [_event(msg, self._skew)], []

    def _refused(self, err: p.Error) -> tuple[list[CcEvent], Frames]:
        if err.code == "taken_over":
            return self._taken_over(err), []
        request = self._inflight.pop(err.id, None) if err.id else None
        if request is None:
            log.warning("server error %s: %s", err.code, err.message)
            return [], []
        kind = _tag(request.message)         # the wire's name for it: "set_state", ...
        if isinstance(request.message, p.Hello):
            if err.code in ("auth_failed", "locked_out"):
                self._credentials = None     # don't retry a wrong PIN on every reconnect
            if err.code == "not_logged_in" and request.message.resume:
                return self._session_over(err), []
        if isinstance(request.message, _QUEUEABLE):
            self._persist()
        log.warning("server refused %s: %s %s", kind, err.code, err.message)
        return [ev.CcRefused(kind, err.code, err.message, err.retry_after,
                             tuple(err.fields.items()))], []

    def _session_over(self, err: p.Error) -> list[CcEvent]:
        """A reconnect found the session over: the server logged the agent out while the link
        was down (the logged_out event never came). Logged out here too, as if it had come;
        what was queued belonged to that session."""
        log.warning("cc: the session ended while the link was down (%s); staying off until "
                    "a login", err.message)
        self._stay_off()
        return [ev.CcLoggedOut(SESSION_OVER)]

    def taken_over(self) -> list[CcEvent]:
        """The server closed the link because another phone logged the agent in."""
        return self._taken_over(p.Error(code="taken_over", message="link closed as taken over"))

    def _taken_over(self, err: p.Error) -> list[CcEvent]:
        """Another phone holds the agent's session now: stay off the server (reconnecting would
        take it back, and the two phones would flap) until the agent logs in here again. What
        was queued is that session's business now, on the other phone."""
        if self._credentials is None:
            return []
        log.warning("cc: the agent logged in on another phone (%s); staying off until a login",
                    err.message)
        self._stay_off()
        return [ev.CcTakenOver()]

    def _stay_off(self) -> None:
        """No reconnect until the next login, and nothing of the old session sent."""
        self._credentials = None
        self._queue.clear()
        self._inflight.clear()
        self._persist()


_ServerEvent = (p.AgentState | p.ContactUpdate | p.Notice | p.CampaignUpdate | p.Favorites
                | p.Help | p.FollowUpDue | p.AppResult | p.ForwardingUpdate | p.Voicemail
                | p.LoggedOut)
_FAVORITE_REQUESTS = {fx.CcFavoriteAdd: "favorite_add", fx.CcFavoriteRemove: "favorite_remove"}


# -- core effects -> protocol requests -------------------------------------------------------------
def _queued(effect: fx.CcSetState | fx.CcAccept | fx.CcReject | fx.CcCallEvent | fx.CcWrapUp
            | fx.CcFollowUpDone, rid: str) -> _Queued:
    message: _Queueable
    match effect:
        case fx.CcSetState():
            message = p.SetState(id=rid, state=effect.state, reason=effect.reason)
        case fx.CcAccept():
            message = p.Accept(id=rid, contact=effect.contact)
        case fx.CcReject():
            message = p.Reject(id=rid, contact=effect.contact)
        case fx.CcCallEvent():
            message = p.CallEvent(id=rid, contact=effect.contact, event=effect.event, at=effect.at,
                                  leg=effect.leg, reason=effect.reason)
        case fx.CcWrapUp():
            message = p.WrapUp(id=rid, contact=effect.contact, code=effect.code,
                               note=effect.note)
        case fx.CcFollowUpDone():
            message = p.FollowUpDone(id=rid, follow_up=effect.follow_up)
        case _:
            assert_never(effect)
    return _Queued(message, _contact_of(message))


def _now_request(effect: fx.CcRequestHelp | fx.CcCancelHelp | fx.CcQualityReport
                 | fx.CcLogUpload,
                 rid: str) -> p.RequestHelp | p.CancelHelp | p.QualityReport | p.LogUpload:
    """A request that matters only now, sent only while the link is up."""
    match effect:
        case fx.CcRequestHelp():
            return p.RequestHelp(id=rid, contact=effect.contact)
        case fx.CcCancelHelp():
            return p.CancelHelp(id=rid)
        case fx.CcQualityReport():
            return p.QualityReport(id=rid, problem=effect.problem, contact=effect.contact,
                                   quality=p.CallQuality(**asdict(effect.quality)))
        case fx.CcLogUpload():
            return p.LogUpload(id=rid, upload=effect.upload, part=effect.part,
                               parts=effect.parts, text=effect.text)
        case _:
            assert_never(effect)


def _consult(effect: fx.CcConsult | fx.CcTransfer | fx.CcExitConsult | fx.CcConference
             | fx.CcExitConference | fx.CcPauseRecording | fx.CcResumeRecording
             | fx.CcSetVariable | fx.CcGetVariable | fx.CcPreview | fx.CcReschedule
             | fx.CcPlayMessage | fx.CcConnectApp,
             rid: str) -> (p.Consult | p.Transfer | p.ExitConsult | p.Conference
                           | p.ExitConference | p.PauseRecording | p.ResumeRecording
                           | p.SetVariable | p.GetVariable | p.Preview | p.Reschedule
                           | p.PlayMessage | p.ConnectApp):
    """A request about the contact's call, sent only while the link is up (never queued:
    by the time it came back, the call has moved on)."""
    match effect:
        case fx.CcSetVariable():
            return p.SetVariable(id=rid, contact=effect.contact, name=effect.name,
                                 value=effect.value, version=effect.version)
        case fx.CcGetVariable():
            return p.GetVariable(id=rid, contact=effect.contact, name=effect.name)
        case fx.CcPauseRecording():
            return p.PauseRecording(id=rid, contact=effect.contact)
        case fx.CcResumeRecording():
            return p.ResumeRecording(id=rid, contact=effect.contact)
        case fx.CcConsult():
            return p.Consult(id=rid, contact=effect.contact, kind=effect.kind,
                             target=effect.target)
        case fx.CcTransfer():
            return p.Transfer(id=rid, contact=effect.contact, kind=effect.kind,
                              target=effect.target)
        case fx.CcExitConsult():
            return p.ExitConsult(id=rid, contact=effect.contact)
        case fx.CcConference():
            return p.Conference(id=rid, contact=effect.contact)
        case fx.CcExitConference():
            return p.ExitConference(id=rid, contact=effect.contact)
        case fx.CcPreview():
            return p.Preview(id=rid, contact=effect.contact, action=effect.action,
                             number=effect.number)
        case fx.CcReschedule():
            return p.Reschedule(id=rid, contact=effect.contact, at=effect.at)
        case fx.CcPlayMessage():
            return p.PlayMessage(id=rid, contact=effect.contact, message=effect.message)
        case fx.CcConnectApp():
            return p.ConnectApp(id=rid, contact=effect.contact, app=effect.app)
        case _:
            assert_never(effect)


def _favorite(effect: fx.CcFavoriteAdd | fx.CcFavoriteRemove,
              rid: str) -> p.FavoriteAdd | p.FavoriteRemove:
    if isinstance(effect, fx.CcFavoriteAdd):
        return p.FavoriteAdd(id=rid, kind=effect.kind, number=effect.number,
                             target=effect.target, name=effect.name)
    return p.FavoriteRemove(id=rid, number=effect.number, target=effect.target)


def _contact_of(message: _Queueable) -> str:
    return "" if isinstance(message, p.SetState | p.FollowUpDone) else message.contact


def _tag(message: p.ClientMessage) -> str:
    """A request's type as the wire spells it ("set_state", "call", "hello", ...)."""
    return str(message.__struct_config__.tag)


# -- protocol -> core events ----------------------------------------------------------------------
def _contact(c: p.Contact, skew: float) -> ev.Contact:
    def here(t: float) -> float:       # a server time on the phone's clock (0: none)
        return t - skew if t else t
    return ev.Contact(id=c.id, status=c.status, queue=c.queue, ani=c.ani,
                      variables=tuple(c.variables.items()), offered_at=here(c.offered_at),
                      expires_at=here(c.expires_at),
                      wrapup_deadline=here(c.wrapup_deadline), primary=c.primary,
                      kind=c.kind, token=c.token, consult=_consult_leg(c.consult, here),
                      requested_by=(ev.Requester(c.requested_by.name, c.requested_by.extension,
                                                 c.requested_by.team)
                                    if c.requested_by else None),
                      participants=tuple(ev.Participant(x.who, x.kind, x.state, x.agent)
                                         for x in c.participants),
                      control=c.control,
                      conference=(ev.Conference(here(c.conference.since), c.conference.post_call)
                                  if c.conference else None),
                      recording=(ev.Recording(c.recording.paused, here(c.recording.resumes_at))
                                 if c.recording else None),
                      versions=tuple(c.versions.items()),
                      changed_by=tuple(c.changed_by.items()),
                      campaign=c.campaign, customer=c.customer, failed=c.failed,
                      auto_answer=c.auto_answer, alternates=tuple(c.alternates),
                      rescheduled=c.rescheduled, machine=c.machine,
                      reservation=c.reservation, callback=c.callback, dnis=c.dnis,
                      cancel=c.cancel)


def _consult_leg(leg: p.ConsultLeg | None,
                 here: Callable[[float], float]) -> ev.ConsultLeg | None:
    if leg is None:
        return None
    return ev.ConsultLeg(leg.who, leg.kind, leg.status, here(leg.since), leg.token)


def _pending(pending: p.Pending | None) -> tuple[p.AgentStateName, str] | None:
    return (pending.state, pending.reason) if pending else None


def _logout_at(pending: p.Pending | None, skew: float) -> float:
    """When a negotiated logout takes effect, on the phone's clock (0: none pending)."""
    return pending.at - skew if pending and pending.at else 0.0


def _campaign(c: p.Campaign) -> ev.Campaign:
    return ev.Campaign(
        c.id, c.name, c.mode, c.status == "started", c.preview_s, c.timeout_action, c.skip,
        c.remove, c.cancel, tuple(ev.Code(d.code, d.label) for d in c.dispositions),
        tuple(ev.VariableLayout(v.name, v.label, v.secure, v.editable, v.kind)
              for v in c.fields), c.script, c.ends, c.message)


def _snapshot(s: p.Snapshot, skew: float) -> ev.CcSnapshot:
    st = s.settings
    return ev.CcSnapshot(
        agent=s.agent.id, name=s.agent.name, team=s.agent.team, extension=s.agent.extension,
        state=s.state, reason=s.reason, pending=_pending(s.pending),
        contacts=tuple(_contact(c, skew) for c in s.contacts),
        idle_codes=tuple(ev.Code(c.code, c.label) for c in s.idle_codes),
        wrapup_codes=tuple(ev.Code(c.code, c.label) for c in s.wrapup_codes),
        layout=tuple(ev.VariableLayout(v.name, v.label, v.secure, v.editable, v.kind)
                     for v in s.layout),
        settings=ev.CcSettings(rona_s=st.rona_s, wrapup_s=st.wrapup_s, mask_ani=st.mask_ani,
                               accept_all=st.accept_all, max_offers=st.max_offers,
                               customer_noise_removal=st.customer_noise_removal,
                               auto_answer_speaker=st.auto_answer_speaker,
                               note_max=st.note_max),
        favorites=_favorites(s.favorites),
        campaigns=tuple(_campaign(c) for c in s.campaigns),
        logout_at=_logout_at(s.pending, skew),
        callback_rules=_rules(s.callback_rules),
        callback_queues=tuple(ev.Code(c.code, c.label) for c in s.callback_queues),
        team_members=tuple(ev.Code(c.code, c.label) for c in s.team),
        skew=skew, help=s.help, messages=tuple(ev.Code(c.code, c.label) for c in s.messages),
        follow_ups=tuple(_follow_up(f, skew) for f in s.follow_ups),
        voice_apps=tuple(ev.VoiceApp(a.code, a.label, a.kind, a.agent_stays)
                         for a in s.voice_apps),
        forwarding=_forwarding(s.forwarding), voicemail_waiting=s.voicemail_waiting,
        voicemail_messages=s.voicemail_messages, voicemail_number=s.voicemail_number)


def _forwarding(f: p.Forwarding) -> ev.Forwarding:
    return ev.Forwarding(f.always, f.busy, f.no_answer, f.no_answer_s)


def _follow_up(f: p.FollowUp, skew: float) -> ev.FollowUp:
    return ev.FollowUp(f.id, f.at - skew, f.note, f.contact, f.customer)


def _callback(c: p.Callback, skew: float) -> ev.Callback:
    return ev.Callback(c.id, c.kind, c.number, c.name, c.queue, c.start - skew, c.end - skew,
                       c.tz, c.reason, c.assignee, c.date, c.start_local, c.end_local)


def _rules(r: p.CallbackRules) -> ev.CallbackRules:
    return ev.CallbackRules(r.number_min, r.number_max, r.name_min, r.name_max, r.lead_min_s,
                            r.lead_max_s, r.reason_max)


def _callback_request(effect: fx.CcScheduleCallback | fx.CcEditCallback | fx.CcDeleteCallback
                      | fx.CcListCallbacks,
                      rid: str) -> (p.ScheduleCallback | p.EditCallback | p.DeleteCallback
                                    | p.ListCallbacks):
    match effect:
        case fx.CcScheduleCallback():
            return p.ScheduleCallback(id=rid, callback=_draft(effect.draft),
                                      contact=effect.contact)
        case fx.CcEditCallback():
            return p.EditCallback(id=rid, callback_id=effect.callback,
                                  callback=_draft(effect.draft))
        case fx.CcDeleteCallback():
            return p.DeleteCallback(id=rid, callback_id=effect.callback)
        case fx.CcListCallbacks():
            return p.ListCallbacks(id=rid, number=effect.number)
        case _:
            assert_never(effect)


def _draft(d: ev.CallbackDraft) -> p.CallbackDraft:
    return p.CallbackDraft(number=d.number, name=d.name, date=d.date, start=d.start, end=d.end,
                           tz=d.tz, queue=d.queue, reason=d.reason, assignee=d.assignee)


def _entry(e: p.DirectoryEntry) -> ev.DirectoryEntry:
    return ev.DirectoryEntry(e.kind, e.id, e.name, e.number, e.state)


def _favorites(favorites: list[p.Favorite]) -> tuple[ev.Favorite, ...]:
    return tuple(ev.Favorite(f.kind, f.number, f.id, f.name) for f in favorites)


def _event(msg: _ServerEvent, skew: float) -> CcEvent:
    match msg:
        case p.AgentState():
            return ev.CcAgentState(msg.state, msg.reason, _pending(msg.pending),
                                   _logout_at(msg.pending, skew))
        case p.ContactUpdate():
            return ev.CcContact(_contact(msg.contact, skew))
        case p.Notice():
            return ev.CcNotice(msg.text)
        case p.CampaignUpdate():
            return ev.CcCampaign(_campaign(msg.campaign))
        case p.Favorites():
            return ev.CcFavorites(_favorites(msg.favorites))
        case p.Help():
            return ev.CcHelp(msg.state, msg.supervisor)
        case p.FollowUpDue():
            return ev.CcFollowUp(_follow_up(msg.follow_up, skew))
        case p.AppResult():
            return ev.CcAppResult(msg.contact, msg.app, msg.ok, msg.text)
        case p.ForwardingUpdate():
            return ev.CcForwarding(_forwarding(msg.forwarding))
        case p.Voicemail():
            return ev.CcVoicemail(msg.waiting, msg.messages)
        case p.LoggedOut():
            return ev.CcLoggedOut(msg.reason)
        case _:
            assert_never(msg)
