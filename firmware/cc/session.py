"""The contact-center link without I/O: protocol frames in, core events out; core effects in,
frames out. The asyncio layer (connection.py) only moves text. Everything here is testable by
feeding strings.

Offline policy (docs/cc-protocol.md): set_state (latest only), accept, call events and wrap-ups
are queued while the link is down and sent after the next snapshot. Everything queued or not
yet acknowledged is handed to ``save`` as it changes, so a reboot doesn't lose it either (a
wrap-up without the call's "ended" before it would be refused). Logout is refused offline. A queued request whose contact
the snapshot no longer has is dropped with a log line.

Login and reconnect: a login (config at boot, or the keypad) sends a hello without ``resume``,
which takes the agent over from any other phone; every automatic reconnect resumes the session
of the latest snapshot, which the server refuses once the agent has logged in elsewhere
(``taken_over``: "Logged in elsewhere") or out (``not_logged_in``: logged out here too). Either
way the phone stays off the server until the next login.
"""
from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass

from firmware.core import effects as fx
from firmware.core import events as ev

from . import protocol as p

log = logging.getLogger("hardphone.cc")

_QUEUEABLE = (p.SetState, p.Accept, p.CallEvent, p.WrapUp)
SKEW_LOGGED_S = 2.0          # clocks further apart than this are worth a line in the log
SESSION_OVER = "session ended"   # the logout reason shown when a reconnect finds no session
# Contact statuses after which nothing the phone queued for the contact still matters.
_CLOSED = {"wrapped_up", "withdrawn", "rona"}


@dataclass
class _Queued:
    message: object          # a protocol request
    contact: str = ""        # the contact it is about ("" for none)


class CcSession:
    def __init__(self, saved: list[str] | None = None, save=lambda requests: None,
                 clock=time.time):
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
        self.connected = False       # the socket is open
        self.synced = False          # a snapshot arrived on this connection
        self._seq = 0
        for frame in saved or ():    # requests not acknowledged before a reboot
            try:
                message = p.decode_client(frame)
            except (p.DecodeError, TypeError) as e:
                log.error("dropped an unreadable saved request: %s", e)
                continue
            if isinstance(message, _QUEUEABLE):
                message.id = self._next_id()
                self._queue.append(_Queued(message, getattr(message, "contact", "")))

    @property
    def wants_connection(self) -> bool:
        """Connect only with credentials: the phone says nothing before a login."""
        return self._credentials is not None

    # -- socket events --------------------------------------------------------------------------
    def connection_made(self) -> list[str]:
        self.connected, self.synced = True, False
        return [self._hello()] if self._credentials else []

    def connection_lost(self) -> list:
        """The socket closed. In-flight requests go back to the queue (their ack never came)."""
        self.connected = self.synced = False
        lost = list(self._inflight.values())
        self._inflight.clear()
        self._queue[:0] = [q for q in lost if isinstance(q.message, _QUEUEABLE)]
        events = [ev.CcLink("down")]
        if any(isinstance(q.message, p.Logout) for q in lost):
            events.append(ev.CcRefused("logout", "offline", "Logout not confirmed: link lost"))
        return events

    def receive(self, data: str | bytes) -> tuple[list, list[str]]:
        """One frame from the server -> (core events, frames to send)."""
        try:
            msg = p.decode_server(data)
        except p.DecodeError as e:
            log.warning("ignored a bad frame from the server (%s): %s", e.code, str(e)[:200])
            return [], []
        return self._handle(msg)

    # -- core effects ---------------------------------------------------------------------------
    def request(self, effect) -> tuple[list, list[str]]:
        """An effect of the rules -> (core events, frames to send now)."""
        if isinstance(effect, fx.CcLogin):
            self._credentials, self._resume = (effect.agent, effect.pin), ""
            frames = [self._hello()] if self.connected else []
            return [ev.CcLink("connecting")] if not self.connected else [], frames
        if isinstance(effect, fx.CcLogout):
            if not self.synced:
                return [ev.CcRefused("logout", "offline", "No server: can't log out now")], []
            return [], self._send(_Queued(p.Logout(id=self._next_id(), reason=effect.reason)))
        queued = self._to_message(effect)
        if queued is None:
            log.error("not a contact-center request: %r", effect)
            return [], []
        if isinstance(queued.message, p.SetState):          # only the latest state matters
            self._queue = [q for q in self._queue if not isinstance(q.message, p.SetState)]
        if self.synced:
            return [], self._send(queued)
        self._queue.append(queued)
        self._persist()
        return [], []

    # -- internals ------------------------------------------------------------------------------
    def _next_id(self) -> str:
        return next(self._ids)

    def _hello(self) -> str:
        agent, pin = self._credentials
        hello = p.Hello(id=self._next_id(), agent=agent, pin=pin, client="hardphone",
                        resume=self._resume)
        self._inflight[hello.id] = _Queued(hello)
        return p.encode(hello)

    def _to_message(self, effect) -> _Queued | None:
        rid = self._next_id()
        if isinstance(effect, fx.CcSetState):
            return _Queued(p.SetState(id=rid, state=effect.state, reason=effect.reason))
        if isinstance(effect, fx.CcAccept):
            return _Queued(p.Accept(id=rid, contact=effect.contact), effect.contact)
        if isinstance(effect, fx.CcCallEvent):
            return _Queued(p.CallEvent(id=rid, contact=effect.contact, event=effect.event,
                                       at=effect.at), effect.contact)
        if isinstance(effect, fx.CcWrapUp):
            return _Queued(p.WrapUp(id=rid, contact=effect.contact, code=effect.code),
                           effect.contact)
        return None

    def _send(self, queued: _Queued) -> list[str]:
        self._inflight[queued.message.id] = queued
        if isinstance(queued.message, _QUEUEABLE):
            self._persist()            # on disk until the server acknowledges it
        return [p.encode(queued.message)]

    def _persist(self):
        """Hand every unacknowledged request to ``save``, oldest first (in flight, queued)."""
        pending = list(self._inflight.values()) + self._queue
        self._save([p.encode(q.message) for q in pending if isinstance(q.message, _QUEUEABLE)])

    def _flush(self, snapshot: p.Snapshot) -> list[str]:
        """After a snapshot: send what was queued, minus what the server has moved past."""
        live = {c.id for c in snapshot.contacts if c.status not in _CLOSED}
        frames = []
        for q in self._queue:
            if q.contact and q.contact not in live:
                log.info("dropped queued %s for contact %s: the server has closed it",
                         type(q.message).__name__, q.contact)
                continue
            frames += self._send(q)
        self._queue.clear()
        self._persist()
        return frames

    def _handle(self, msg) -> tuple[list, list[str]]:
        if isinstance(msg, p.Ack):
            done = self._inflight.pop(msg.id, None)
            if done and isinstance(done.message, _QUEUEABLE):
                self._persist()
            return [], []
        if isinstance(msg, p.Error):
            return self._refused(msg)
        if isinstance(msg, p.Snapshot):
            self._seq, self.synced = msg.seq, True
            self._resume = msg.session
            if msg.server_time:
                self._skew = msg.server_time - self._clock()
                if abs(self._skew) > SKEW_LOGGED_S:
                    log.warning("the server's clock is %+.1f s from the phone's; "
                                "contact times are corrected", self._skew)
            return [_snapshot(msg, self._skew), ev.CcLink("up")], self._flush(msg)
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

    def _refused(self, err: p.Error) -> tuple[list, list[str]]:
        if err.code == "taken_over":
            return self._taken_over(err), []
        request = self._inflight.pop(err.id, None) if err.id else None
        if request is None:
            log.warning("server error %s: %s", err.code, err.message)
            return [], []
        kind = type(request.message).__name__
        if isinstance(request.message, p.Hello):
            if err.code in ("auth_failed", "locked_out"):
                self._credentials = None     # don't retry a wrong PIN on every reconnect
            if err.code == "not_logged_in" and request.message.resume:
                return self._session_over(err), []
            kind = "hello"
        if isinstance(request.message, _QUEUEABLE):
            self._persist()
        tag = {"SetState": "set_state", "CallEvent": "call", "WrapUp": "wrapup",
               "Accept": "accept", "Logout": "logout", "Resync": "resync"}.get(kind, kind)
        log.warning("server refused %s: %s %s", tag, err.code, err.message)
        return [ev.CcRefused(tag, err.code, err.message, err.retry_after)], []

    def _session_over(self, err: p.Error) -> list:
        """A reconnect found the session over: the server logged the agent out while the link
        was down (the logged_out event never came). Logged out here too, as if it had come;
        what was queued belonged to that session."""
        log.warning("cc: the session ended while the link was down (%s); staying off until "
                    "a login", err.message)
        self._stay_off()
        return [ev.CcLoggedOut(SESSION_OVER)]

    def taken_over(self) -> list:
        """The server closed the link because another phone logged the agent in."""
        return self._taken_over(p.Error(code="taken_over", message="link closed as taken over"))

    def _taken_over(self, err: p.Error) -> list:
        """Another phone holds the agent's session now: stay off the server (reconnecting would
        take it back, and the two phones would flap) until the agent logs in here again. What
        was queued is that session's business now, on the other phone."""
        if self._credentials is None:
            return []
        log.warning("cc: the agent logged in on another phone (%s); staying off until a login",
                    err.message)
        self._stay_off()
        return [ev.CcTakenOver()]

    def _stay_off(self):
        """No reconnect until the next login, and nothing of the old session sent."""
        self._credentials = None
        self._queue.clear()
        self._inflight.clear()
        self._persist()


# -- protocol -> core events ----------------------------------------------------------------------
def _contact(c: p.Contact, skew: float) -> ev.Contact:
    def here(t: float) -> float:       # a server time on the phone's clock (0: none)
        return t - skew if t else t
    return ev.Contact(id=c.id, status=c.status, queue=c.queue, ani=c.ani,
                      variables=tuple(c.variables.items()), offered_at=here(c.offered_at),
                      expires_at=here(c.expires_at),
                      wrapup_deadline=here(c.wrapup_deadline), primary=c.primary,
                      token=c.token)


def _pending(pending: p.Pending | None):
    return (pending.state, pending.reason) if pending else None


def _snapshot(s: p.Snapshot, skew: float) -> ev.CcSnapshot:
    st = s.settings
    return ev.CcSnapshot(
        agent=s.agent.id, name=s.agent.name, team=s.agent.team, extension=s.agent.extension,
        state=s.state, reason=s.reason, pending=_pending(s.pending),
        contacts=tuple(_contact(c, skew) for c in s.contacts),
        idle_codes=tuple(ev.Code(c.code, c.label) for c in s.idle_codes),
        wrapup_codes=tuple(ev.Code(c.code, c.label) for c in s.wrapup_codes),
        layout=tuple(ev.VariableLayout(v.name, v.label, v.secure) for v in s.layout),
        settings=ev.CcSettings(rona_s=st.rona_s, wrapup_s=st.wrapup_s, mask_ani=st.mask_ani,
                               accept_all=st.accept_all, max_offers=st.max_offers))


def _event(msg, skew: float):
    if isinstance(msg, p.AgentState):
        return ev.CcAgentState(msg.state, msg.reason, _pending(msg.pending))
    if isinstance(msg, p.ContactUpdate):
        return ev.CcContact(_contact(msg.contact, skew))
    if isinstance(msg, p.Notice):
        return ev.CcNotice(msg.text)
    if isinstance(msg, p.LoggedOut):
        return ev.CcLoggedOut(msg.reason)
    raise AssertionError(f"unhandled server message {type(msg).__name__}")
