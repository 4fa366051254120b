"""Follow-ups (docs/cc-protocol.md, ``schedule_follow_up``): reminders an agent schedules for
itself, which the server brings back to the agent's phone when they come due. A mixin of Engine
(engine.py imports this module), like callbacks.py and assist.py; kept in SQLite
(store.FollowUpRecord, ``follow_ups``) from the request on.

**The request** (``schedule_follow_up``): ``at`` a server time (Unix seconds) after now and at
most protocol.FOLLOW_UP_MAX_DAYS ahead (now + that many days is still fine, a second more is
not), ``note`` 1-FOLLOW_UP_NOTE_MAX characters, not only spaces, no control characters (a line
break included: the phone shows it on a line), else ``bad_value`` with the rule; ``contact``
"" (none) or one the agent has or had (else ``unknown_contact``), whose number is kept with it
(``customer``). Acked. ``follow_up_done``: a due one is done (acked; one done already too), one
not due yet ``not_allowed``, one that is not the agent's (or no follow-up) ``unknown_follow_up``.

**States**: scheduled -> due (``due_at``: when it fired) -> done (``done_at``).

**The scheduler** is the engine's timer heap, as callbacks.py's: each scheduled follow-up has a
timer ``follow_up:<id>`` at its ``at``. Fired, it is due, and its agent's phone gets a
``follow_up`` event (seq'd; only while the agent is logged in). The snapshot lists the agent's
due ones (``follow_ups``, soonest first, at most MAX_LISTED), so a phone that was off, or logged
out, or reconnects has them until it marks them done. The scheduled ones are in memory (their
timers); due and done ones only in the database.

**Restarts**: the state goes to "due" in the transaction of the timer's expiry that tells the
phone, so a ccsim killed at any moment finds each follow-up scheduled (its timer armed again at
load: one whose time passed while ccsim was down fires at the first expiry, once) or due
(never fired again).
"""
from __future__ import annotations

import heapq
import logging
import math
from datetime import UTC, datetime

from firmware.cc import protocol as p

from .limits import text_problem
from .store import FollowUpRecord, atomic

log = logging.getLogger("ccsim")

FOLLOW_UP_TIMER = "follow_up:"      # a scheduled follow-up's time: "follow_up:<id>"
FOLLOW_UP_STATES = ("scheduled", "due", "done")
MAX_AHEAD_S = p.FOLLOW_UP_MAX_DAYS * 86400
# due follow-ups a snapshot lists, soonest first: each is at most ~1.2 KB on the wire (a note
# of FOLLOW_UP_NOTE_MAX 4-byte characters), so a snapshot stays far below MAX_MESSAGE_BYTES
MAX_LISTED = 100


def follow_up_problem(at: float, note: str, now: float) -> str | None:
    """Why a follow-up at ``at`` with ``note`` can't be scheduled at server time ``now``, or
    None."""
    if not math.isfinite(at) or at <= now:
        return f"at: a time after now ({_when(now)}), got {_when(at)}"
    if at > now + MAX_AHEAD_S:
        return (f"at: at most {p.FOLLOW_UP_MAX_DAYS} days ahead ({_when(now + MAX_AHEAD_S)}), "
                f"got {_when(at)}")
    problem = text_problem("note", note, p.FOLLOW_UP_NOTE_MAX, empty=False)
    if problem:
        return problem
    if not note.strip():
        return "note: must not be only spaces"
    return None


def _when(t: float) -> str:
    """A server time as the refusal says it (UTC)."""
    try:
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (ValueError, OverflowError, OSError):
        return repr(t)


def follow_up_info(f: FollowUpRecord) -> dict:
    """The follow-up as the admin API shows it."""
    return {"id": f.id, "agent": f.agent, "at": f.at, "note": f.note,
            "contact": f.contact or None, "customer": f.customer or None, "state": f.state,
            "created": f.created, "due_at": f.due_at or None, "done_at": f.done_at or None}


class FollowUps:
    # -- start and restart -------------------------------------------------------------------
    def _init_follow_ups(self):
        self._follow_ups: dict[str, FollowUpRecord] = {}     # the scheduled ones, by id

    def _load_follow_ups(self):
        """Inside _load's transaction: each scheduled follow-up's timer (one whose time passed
        while ccsim was down fires at the first ``expire``)."""
        for f in self.store.follow_ups(state="scheduled"):
            self._arm_follow_up(f)

    def _arm_follow_up(self, f: FollowUpRecord):
        self._follow_ups[f.id] = f
        heapq.heappush(self._timers, (f.at, FOLLOW_UP_TIMER + f.id))

    # -- phone requests ----------------------------------------------------------------------
    @atomic
    def schedule_follow_up(self, agent: str, at: float, note: str, contact: str = "") -> str:
        """The agent schedules a follow-up; its id."""
        self._logged_in(agent)
        now = self.clock()
        problem = follow_up_problem(at, note, now)
        if problem:
            raise self.Refused("bad_value", problem)
        customer = ""
        if contact:
            self._check_had_contact(agent, contact)     # assist.py: unknown_contact
            c = self._live.get(contact) or self.store.contact(contact)
            customer = c.ani if c is not None else ""
        f = self.store.add_follow_up(agent, at, note, contact, customer, now)
        self._arm_follow_up(f)
        log.info("agent %s schedules follow-up %s for %s (%s)", agent, f.id, _when(at),
                 contact or "no contact")
        return f.id

    @atomic
    def follow_up_done(self, agent: str, follow_up: str):
        """The agent has seen a follow-up that came due: it is done (and dropped from the
        snapshot)."""
        self._logged_in(agent)
        f = self.store.follow_up(follow_up)
        if f is None or f.agent != agent:
            raise self.Refused("unknown_follow_up", f"follow-up {follow_up[:64]} is not yours")
        if f.state == "done":
            return
        if f.state == "scheduled":
            raise self.Refused("not_allowed", f"follow-up {f.id} is not due until {_when(f.at)}")
        f.state, f.done_at = "done", self.clock()
        self.store.save_follow_up(f)
        log.info("agent %s: follow-up %s done", agent, f.id)

    # -- the scheduler -----------------------------------------------------------------------
    def _follow_up_timer_due(self, key: str, at: float) -> bool:
        """Is this timer still wanted? (else the engine drops it)"""
        f = self._follow_ups.get(key[len(FOLLOW_UP_TIMER):])
        return f is not None and f.at == at

    def _follow_up_timer_expired(self, key: str):
        """The follow-up's time has come: due, and its agent's phone is told."""
        f = self._follow_ups.pop(key[len(FOLLOW_UP_TIMER):])
        f.state, f.due_at = "due", self.clock()
        self.store.save_follow_up(f)
        s = self._records.get(f.agent)
        logged_in = s is not None and s.state != "logged_out"
        log.info("follow-up %s of agent %s is due%s", f.id, f.agent,
                 "" if logged_in else " (logged out: in its next snapshot)")
        if logged_in:
            self._emit(s, p.FollowUpDue, follow_up=_wire(f))

    # -- what is shown -----------------------------------------------------------------------
    def _follow_ups_due(self, agent: str) -> list[p.FollowUp]:
        """The snapshot's ``follow_ups``: the agent's due ones, soonest first."""
        return [_wire(f) for f in self.store.follow_ups(agent, "due", MAX_LISTED)]

    def follow_ups_info(self, agent: str = "", state: str = "") -> list[dict]:
        """``GET /api/followups``: those of ``agent`` in ``state`` ("": any), soonest first."""
        return [follow_up_info(f) for f in self.store.follow_ups(agent, state)]

    def follow_up_record_info(self, follow_up: str) -> dict | None:
        """``GET /api/followups/<id>``."""
        f = self.store.follow_up(follow_up)
        return follow_up_info(f) if f is not None else None


def _wire(f: FollowUpRecord) -> p.FollowUp:
    return p.FollowUp(id=f.id, at=f.at, note=f.note, contact=f.contact, customer=f.customer)
