"""Callbacks (docs/cc-protocol.md, "Callbacks"): the centre calls a customer back. A mixin of
Engine (engine.py imports this module), like campaigns.py; the engine's phone requests,
bridge events, timers and restart call in here.

**Kinds.** *courtesy*: a customer waiting in a queue chose a callback instead of waiting (the
admin API's ``POST /api/contacts/<id>/callback``): their call is hung up, their contact
finished "callback" (no abandoned call), and the callback is due at once with the contact's
number, queue and DNIS. *web*: a name and number posted to the admin API
(``POST /api/callbacks``), due at once. *scheduled*: an agent's ``schedule_callback``, for a
window on a date in the customer's zone, due at the window's start; *personal* when it has an
``assignee``, who alone is offered it.

**The rules** are firmware/core/callback_rules.py's, the very module the phone checks with, with the
scenario's limits (``[callbacks]``: protocol.CallbackRules, sent in the snapshot) and the
server's clock. The server adds what only it knows: the queue must be one of the agent's voice
queues (else ``queue_unknown``) and active (``queue_inactive``), the assignee a member of the
agent's team (``assignee_unknown``), and the request not made from a campaign's contact
(``not_allowed``, ``{"number": "campaign_contact"}``). A refusal is ``bad_value`` with
``fields``: each refused field's code. Edit and delete: only a scheduled callback whose window
has not started (``not_allowed``), only by who scheduled it or its assignee (anyone else, and
an id that is not there or deleted: ``unknown_callback``).

**Kept** in SQLite (store.CallbackRecord, ``callbacks``) from creation on, with its history
(created, edited, deleted, offered, attempted, completed). The live ones (scheduled, offered)
are also in memory, indexed by number (its digits) and by agent (who scheduled it, its
assignee); done and deleted ones only in the database (the admin API reads them there).

**The scheduler.** Each scheduled callback has a timer ``callback:<id>`` in the engine's heap
at its ``due`` time: its window's start, or a failed attempt's retry time if later. Due, it
becomes a contact of kind "callback" waiting in its queue (a personal one in its assignee's
personal queue, routing.personal_queue), routed like an inbound customer, and the callback is
"offered" with that contact's id: both in the one transaction of the engine's operation, so a
ccsim killed at any moment comes back with the callback scheduled (due: it fires at once) or
offered with its contact (restored as any contact): none fired twice, none lost. A due callback
needs the media bridge (``[bridge] enabled``): without it, it waits (a warning, once); before
the bridge's legs are known (``adopt``) too, then it fires.

**The offer** is an inbound one's (the bridge calls the agent's phone with X-CC-Contact-Id and
X-CC-Token; RONA and reject put it back in its queue, the callback still "offered"); the wire's
Contact has kind "callback", ``callback`` its id, ``ani`` the number, ``customer`` the name,
``dnis``, ``cancel`` (a web callback whose queue has ``callback_cancel``) and the variable
``callback_reason``. When the agent answers, the contact goes "dialing" and the bridge rings
the customer (leg "<contact>.c", CUSTOMER, ``ring_s``, the number's digits and a leading +;
ccsim gives up DIAL_SLACK_S later, "no answer") while the agent's leg waits, silent:

- the customer answers: "assigned", both legs in the contact's room; from then a bridged call
  like an inbound one. The callback is done, "connected" (its attempt counted).
- the customer's leg ends first (the bridge's reason: "busy (486)", "no answer"...): the
  agent's leg is hung up and the contact goes to wrap-up with ``failed`` the reason; the
  callback is scheduled again, its attempt counted, due no sooner than ``retry_s`` from now,
  or done "failed" after ``max_attempts``.
- the agent hangs up while the customer rings (the phone's ``call`` ``ended``, or its leg's
  end): the customer's leg is hung up, wrap-up with ``failed`` "cancelled"; a web callback the
  agent may cancel (``cancel``) is done "cancelled", any other is a failed attempt.

A callback whose contact ends any other way before it is resolved (the admin hung it up while
it waited) is done with the contact's status as its outcome.

**Restart**: ``adopt`` maps the bridge's legs back: an offer whose agent's leg is gone is a
RONA; a customer ringing whose leg (or whose agent's leg) is gone is a failed attempt ("ended
while ccsim was away"); one answered meanwhile is joined.
"""
from __future__ import annotations

import heapq
import logging
import re

from firmware.core import callback_rules as rules
from firmware.cc import protocol as p

from .dialer import DIAL_SLACK_S, customer_leg_name
from .legs import AGENT, CUSTOMER, agent_leg_name
from .limits import text_problem
from .routing import personal_queue
from .store import CallbackRecord, ContactRecord, atomic

log = logging.getLogger("ccsim")

CALLBACK_TIMER = "callback:"        # a scheduled callback's due time: "callback:<id>"
LIVE = ("scheduled", "offered")     # the callbacks kept in memory
UNANSWERED = ("reserved", "offered")
WEB_FIELDS = ("name", "number", "queue", "reason", "dnis")
_NOT_DIGITS = re.compile(r"\D")


class CallbackRefused(ValueError):
    """The admin API's callback is not taken: ``fields`` has each refused field's rule (as
    firmware/core/callback_rules.py names them)."""

    def __init__(self, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.fields = fields or {}


class NotWaiting(ValueError):
    """A courtesy callback for a contact that is not an inbound customer waiting in a queue."""


def digits(number: str) -> str:
    """The number's digits: what two spellings of one number have in common."""
    return _NOT_DIGITS.sub("", number)


def dialed_number(number: str) -> str:
    """What the bridge dials for a callback's number: its digits, and a leading + kept."""
    return ("+" if number.lstrip().startswith("+") else "") + digits(number)


class Callbacks:
    # -- start and restart -------------------------------------------------------------------
    def _init_callbacks(self):
        self._callbacks: dict[str, CallbackRecord] = {}     # the live ones (LIVE)
        self._dirty_callbacks: dict[str, CallbackRecord] = {}
        self._new_history: dict[str, list[dict]] = {}       # id -> entries not yet stored
        self._cb_by_number: dict[str, list[str]] = {}       # digits -> ids
        self._cb_by_agent: dict[str, set[str]] = {}         # creator or assignee -> ids
        self._no_bridge_warned = False

    def _load_callbacks(self):
        """Inside _load's transaction, after the contacts: the live callbacks, each scheduled
        one's timer (one past due fires at the first ``expire``, or at ``adopt``)."""
        for cb in self.store.live_callbacks():
            if cb.status == "offered" and cb.contact not in self._live:
                log.warning("callback %s: its contact %s is gone: scheduled again", cb.id,
                            cb.contact or "?")
                self._history(cb, "attempted", detail="its contact is gone")
                cb.status, cb.contact = "scheduled", ""      # (stored at _load's end)
            self._index_callback(cb)

    def _index_callback(self, cb: CallbackRecord):
        """A live callback: in memory, indexed, its timer armed (a scheduled one)."""
        self._callbacks[cb.id] = cb
        self._cb_by_number.setdefault(digits(cb.number), []).append(cb.id)
        for agent in {cb.created_by, cb.assignee} - {""}:
            self._cb_by_agent.setdefault(agent, set()).add(cb.id)
        if cb.status == "scheduled":
            heapq.heappush(self._timers, (cb.due, CALLBACK_TIMER + cb.id))

    def _unindex_callback(self, cb: CallbackRecord):
        self._callbacks.pop(cb.id, None)
        key = digits(cb.number)
        same = self._cb_by_number.get(key, [])
        if cb.id in same:
            same.remove(cb.id)
            if not same:
                del self._cb_by_number[key]
        for agent in {cb.created_by, cb.assignee} - {""}:
            ids = self._cb_by_agent.get(agent)
            if ids is not None:
                ids.discard(cb.id)
                if not ids:
                    del self._cb_by_agent[agent]

    def _callback_changed(self, cb: CallbackRecord):
        self._dirty_callbacks[cb.id] = cb

    def _history(self, cb: CallbackRecord, event: str, agent: str = "", detail: str = ""):
        """An entry of the callback's history, stored with it at the operation's end."""
        entry: dict = {"at": self.clock(), "event": event}
        if agent:
            entry["agent"] = agent
        if detail:
            entry["detail"] = detail
        self._new_history.setdefault(cb.id, []).append(entry)
        self._callback_changed(cb)

    # -- phone requests ----------------------------------------------------------------------
    @atomic
    def schedule_callback(self, agent: str, draft: p.CallbackDraft,
                          contact: str = "") -> p.Callback:
        """The agent schedules a callback (``contact``: the one it is on, "" from idle)."""
        self._logged_in(agent)
        on = (self._live.get(contact) or self.store.contact(contact)) if contact else None
        if on is not None and on.kind == "campaign":
            raise self.Refused("not_allowed", "no callback from a campaign's contact",
                               fields={"number": "campaign_contact"})
        start, end = self._checked_window(agent, draft)
        n, now = self.store.next_callback_number(), self.clock()
        cb = CallbackRecord(f"cb-{n}", n, "scheduled", draft.number, draft.name, draft.queue,
                            start, end, draft.tz, draft.date, draft.start, draft.end,
                            draft.reason, draft.assignee, agent, now,
                            dnis=self._dnis_of(on) if on is not None else "")
        self._history(cb, "created", agent=agent)
        self._callback_changed(cb)
        self._index_callback(cb)
        log.info("callback %s scheduled by agent %s for %s %s-%s %s, queue %s%s", cb.id, agent,
                 cb.date, cb.start_local, cb.end_local, cb.tz, cb.queue,
                 f", assigned to {cb.assignee}" if cb.assignee else "")
        return self._wire_callback(cb)

    @atomic
    def edit_callback(self, agent: str, callback_id: str, draft: p.CallbackDraft) -> p.Callback:
        """Change a scheduled callback whose window has not started; checked as a new one."""
        self._logged_in(agent)
        cb = self._editable(agent, callback_id)
        start, end = self._checked_window(agent, draft, cb)
        self._unindex_callback(cb)
        changed = [name for name, old, new in (
            ("number", cb.number, draft.number), ("name", cb.name, draft.name),
            ("date", cb.date, draft.date), ("start", cb.start_local, draft.start),
            ("end", cb.end_local, draft.end), ("tz", cb.tz, draft.tz),
            ("queue", cb.queue, draft.queue), ("reason", cb.reason, draft.reason),
            ("assignee", cb.assignee, draft.assignee)) if old != new]
        cb.number, cb.name, cb.queue, cb.reason, cb.assignee = (
            draft.number, draft.name, draft.queue, draft.reason, draft.assignee)
        cb.start, cb.end, cb.tz, cb.date = start, end, draft.tz, draft.date
        cb.start_local, cb.end_local, cb.not_before = draft.start, draft.end, 0.0
        self._history(cb, "edited", agent=agent, detail=", ".join(changed))
        self._callback_changed(cb)
        self._index_callback(cb)                # its timer at its new time
        log.info("callback %s edited by agent %s (%s)", cb.id, agent,
                 ", ".join(changed) or "no change")
        return self._wire_callback(cb)

    @atomic
    def delete_callback(self, agent: str, callback_id: str):
        """Delete a scheduled callback whose window has not started."""
        self._logged_in(agent)
        cb = self._editable(agent, callback_id)
        self._unindex_callback(cb)
        cb.status = "deleted"
        self._history(cb, "deleted", agent=agent)
        self._callback_changed(cb)
        log.info("callback %s deleted by agent %s", cb.id, agent)

    def list_callbacks(self, agent: str, number: str = "") -> list[p.Callback]:
        """The scheduled callbacks whose window has not started: of the customer at ``number``
        that the agent may see (its queues' callbacks, and personal ones it scheduled or is
        assigned), or ("") the agent's own (scheduled by it or assigned to it); soonest first,
        at most MAX_CALLBACKS."""
        self._logged_in(agent)
        now, mine = self.clock(), set(self._agents[agent].queues)
        if number:
            ids: list[str] | set[str] = self._cb_by_number.get(digits(number), [])
        else:
            ids = self._cb_by_agent.get(agent, set())
        found = []
        for cid in ids:
            cb = self._callbacks[cid]
            if cb.status != "scheduled" or cb.start <= now:
                continue
            if agent in (cb.created_by, cb.assignee) or (not cb.assignee and cb.queue in mine):
                found.append(cb)
        found.sort(key=lambda cb: (cb.start, cb.n))
        return [self._wire_callback(cb) for cb in found[:p.MAX_CALLBACKS]]

    def _checked_window(self, agent: str, d: p.CallbackDraft,
                        old: CallbackRecord | None = None) -> tuple[float, float]:
        """The draft's window (server time), or Refused ``bad_value`` with every field's
        broken rule: firmware/core/callback_rules.py's rules, the agent's voice queues and team (an
        edit's ``old`` callback's queue and assignee may stay: its assignee may edit it)."""
        voice = [q for q in (*self._agents[agent].queues, *((old.queue,) if old else ()))
                 if (o := self.scenario.queue(q)) is not None and o.media == "voice"]
        team = [a.code for a in self._team(agent)] + ([old.assignee] if old else [])
        limits = self.scenario.callbacks.rules
        fields = rules.problems(d, limits, self.clock(), voice, team)
        option = self.scenario.queue(d.queue)
        if "queue" not in fields and option is not None and not option.active:
            fields["queue"] = "queue_inactive"
        if fields:
            raise self.Refused("bad_value", "; ".join(
                f"{field}: {rules.words(code, limits)}" for field, code in fields.items()),
                fields=fields)
        return rules.window(d)

    def _editable(self, agent: str, callback_id: str) -> CallbackRecord:
        """The agent's callback that may still be changed (Refused ``unknown_callback``: not
        there, deleted, or neither scheduled by the agent nor assigned to it;
        ``not_allowed``: no longer scheduled, or its window has started)."""
        cb = self._callbacks.get(callback_id) or self.store.callback(callback_id)
        if cb is None or cb.status == "deleted" or agent not in (cb.created_by, cb.assignee):
            raise self.Refused("unknown_callback", f"no callback {callback_id[:40]!r} of yours")
        if cb.status != "scheduled":
            raise self.Refused("not_allowed", f"callback {cb.id} is {cb.status}")
        if cb.start <= self.clock():
            raise self.Refused("not_allowed", f"callback {cb.id}: its window has started")
        return cb

    # -- the admin ---------------------------------------------------------------------------
    @atomic
    def web_callback(self, body: dict) -> dict:
        """``POST /api/callbacks`` {"name", "number", "queue", "reason"?, "dnis"?}: a web
        callback, due at once; as ``callback_info`` shows it. CallbackRefused (a ValueError)
        before any change: a field that is not a string, an unknown one, or one against the
        rules (``fields``: the number, name and reason rules, the queue a voice queue that is
        active)."""
        for name in body:
            if name not in WEB_FIELDS:
                raise CallbackRefused(f"unknown field {str(name)[:40]!r} (fields: "
                                      f"{', '.join(WEB_FIELDS)})")
        values = {}
        for name in WEB_FIELDS:
            value = body.get(name, "web" if name == "dnis" else "")
            problem = text_problem(name, value, p.MAX_VARIABLE_VALUE_CHARS)
            if problem:
                raise CallbackRefused(problem)
            values[name] = value
        limits = self.scenario.callbacks.rules
        fields = {field: code for field, code in (
            ("number", rules.number_problem(values["number"], limits)),
            ("name", rules.name_problem(values["name"], limits)),
            ("reason", rules.reason_problem(values["reason"], limits)),
            ("queue", self._queue_problem(values["queue"]))) if code}
        if len(values["dnis"]) > p.MAX_ANI_CHARS:
            fields["dnis"] = "too_long"
        if fields:
            raise CallbackRefused("; ".join(f"{field}: {rules.words(code, limits)}"
                                            for field, code in fields.items()), fields)
        cb = self._new_due("web", values["number"], values["name"],
                           values["queue"], values["reason"], values["dnis"], "posted")
        return self.callback_info(cb.id) or {}

    @atomic
    def courtesy_callback(self, contact: str) -> dict | None:
        """``POST /api/contacts/<id>/callback``: the inbound customer waiting in its queue
        chose a callback: their call is hung up, the contact finished "callback" (not an
        abandoned call), and a courtesy callback is due at once with the contact's number,
        queue and DNIS. None: no such contact; NotWaiting: not an inbound customer waiting."""
        c = self._live.get(contact)
        if c is None:
            if self.store.contact(contact) is None:
                return None
            raise NotWaiting(f"contact {contact} is over")
        if c.kind != "inbound" or c.status != "queued":
            raise NotWaiting(f"contact {contact} is {c.kind}, {c.status}: a courtesy callback "
                             "is for an inbound customer waiting in a queue")
        if not c.ani:
            raise NotWaiting(f"contact {contact} has no number to call back")
        self.router.remove_waiting(c.id)
        self.customers.hangup(c.id)
        self._hang_up_legs(c)
        self._finish(c, "callback")
        log.info("contact %s: the customer chose a callback", c.id)
        cb = self._new_due("courtesy", c.ani, c.variables.get("customer", ""), c.queue, "",
                           self._dnis_of(c), f"instead of waiting (contact {c.id})")
        return self.callback_info(cb.id)

    def _queue_problem(self, queue: str) -> str:
        option = self.scenario.queue(queue) if queue else None
        if not queue:
            return "required"
        if option is None or option.media != "voice":
            return "queue_unknown"
        return "" if option.active else "queue_inactive"

    def _new_due(self, kind: str, number: str, name: str, queue: str, reason: str, dnis: str,
                 detail: str) -> CallbackRecord:
        """A courtesy or web callback: due now, fired at once when it can be."""
        n, now = self.store.next_callback_number(), self.clock()
        cb = CallbackRecord(f"cb-{n}", n, kind, number, name, queue, now, now, reason=reason,
                            created_at=now, dnis=dnis)
        self._history(cb, "created", detail=detail)
        self._callback_changed(cb)
        self._index_callback(cb)
        log.info("callback %s (%s) for %s in queue %s", cb.id, kind, number, queue)
        self._fire(cb)
        return cb

    def callbacks_info(self, status: str = "", limit: int = -1) -> list[dict]:
        """``GET /api/callbacks``: newest first (``status``: only those)."""
        return [self._callback_json(cb) for cb in self.store.callbacks(status, limit)]

    def callback_info(self, callback_id: str) -> dict | None:
        """``GET /api/callbacks/<id>``: with its history."""
        cb = self._callbacks.get(callback_id) or self.store.callback(callback_id)
        if cb is None:
            return None
        return {**self._callback_json(cb), "history": self.store.callback_history(cb.id)
                + self._new_history.get(cb.id, [])}

    @staticmethod
    def _callback_json(cb: CallbackRecord) -> dict:
        return {"id": cb.id, "kind": cb.kind, "number": cb.number, "name": cb.name,
                "queue": cb.queue, "start": cb.start, "end": cb.end, "tz": cb.tz,
                "date": cb.date or None, "start_local": cb.start_local or None,
                "end_local": cb.end_local or None, "reason": cb.reason,
                "assignee": cb.assignee or None, "created_by": cb.created_by or None,
                "created_at": cb.created_at, "dnis": cb.dnis, "status": cb.status,
                "attempts": cb.attempts, "not_before": cb.not_before or None,
                "contact": cb.contact or None, "outcome": cb.outcome or None}

    # -- the scheduler -----------------------------------------------------------------------
    def _callback_timer_due(self, key: str, at: float) -> bool:
        """Is this timer still wanted? (else the engine drops it)"""
        cb = self._callbacks.get(key[len(CALLBACK_TIMER):])
        return cb is not None and cb.status == "scheduled" and cb.due == at

    def _callback_timer_expired(self, key: str):
        self._fire(self._callbacks[key[len(CALLBACK_TIMER):]])

    def _serve_callbacks(self):
        """The bridge's legs are known (adopt): the callbacks due meanwhile fire."""
        now = self.clock()
        for cb in sorted((cb for cb in self._callbacks.values()
                          if cb.status == "scheduled" and cb.due <= now),
                         key=lambda cb: (cb.due, cb.n)):
            self._fire(cb)

    def _fire(self, cb: CallbackRecord):
        """The callback is due: a contact waiting in its queue (a personal one for its
        assignee alone), and the callback offered; without the bridge (or before its legs
        are known) it waits."""
        if self.bridge is None:
            if not self._no_bridge_warned:
                self._no_bridge_warned = True
                log.warning("callback %s is due, and ccsim calls customers back through the "
                            "media bridge, which this scenario does not have ([bridge] "
                            "enabled): callbacks wait", cb.id)
            return
        if not self._bridge_ready or cb.status != "scheduled":
            return                              # (adopt fires it)
        if cb.queue not in self.scenario.queues:
            log.warning("callback %s: its queue %s is no longer in the scenario", cb.id,
                        cb.queue)
            self._complete(cb, "no_queue")
            return
        n, now = self.store.next_contact_number(), self.clock()
        option = self.scenario.queue(cb.queue)
        c = ContactRecord(f"c-{n}", n, cb.queue, cb.number, {"callback_reason": cb.reason},
                          None, now, kind="callback",
                          callback={"id": cb.id, "customer": cb.name, "dnis": cb.dnis,
                                    "cancel": cb.kind == "web" and option is not None
                                    and option.callback_cancel,
                                    "assignee": cb.assignee, "failed": ""})
        self._live[c.id] = c
        self._dirty_contacts[c.id] = c
        cb.status, cb.contact = "offered", c.id
        self._history(cb, "offered", detail=c.id)
        self._callback_changed(cb)
        log.info("callback %s is due: contact %s in queue %s%s", cb.id, c.id, cb.queue,
                 f" for agent {cb.assignee}" if cb.assignee else "")
        self._route(c)

    def _routing_queue(self, c: ContactRecord) -> str:
        """Where the contact waits: its queue, or for a personal callback not yet connected
        its assignee's personal queue."""
        assignee = (c.callback or {}).get("assignee", "") if c.kind == "callback" else ""
        if assignee and assignee in self._agents and not c.callback.get("connected"):
            return personal_queue(assignee)
        return c.queue

    # -- the call ----------------------------------------------------------------------------
    def _callback_answer(self, c: ContactRecord) -> bool:
        """The agent answered the offer (True: dealt with here): the bridge rings the
        customer, the contact "dialing". Once dialing, the customer's answer is an answer as
        any (False): the callback is done, connected."""
        cb = self._callbacks.get(c.callback["id"])
        if c.status == "dialing":
            c.callback = {**c.callback, "connected": True}
            if cb is not None and cb.status == "offered" and cb.contact == c.id:
                self._complete(cb, "connected", agent=c.agent)
            log.info("contact %s: the customer answered the callback", c.id)
            return False
        if c.status not in UNANSWERED:
            return False
        assert self.bridge is not None
        cfg, now = self.scenario.callbacks, self.clock()
        c.status, c.deadline = "dialing", now + cfg.ring_s + DIAL_SLACK_S
        c.attempts[-1]["outcome"] = "answered"
        self._arm(c)
        if cb is not None:
            cb.attempts += 1
            self._callback_changed(cb)
        log.info("contact %s: agent %s answered: the bridge calls the customer back", c.id,
                 c.agent)
        self._tell(c)
        self._refresh(self._records[c.agent])
        try:
            uri = self._number_uri(dialed_number(c.ani))
        except ValueError:
            self._callback_failed(c, "not a number that can be dialed")
            return True
        self._ring_customer(c, uri, cfg.ring_s)
        return True

    def _callback_call_event(self, c: ContactRecord, event: str, reason: str) -> bool:
        """The phone reports the agent's call while the customer rings (True: dealt with
        here): its ``ended`` cancels; the rest is the bridge's to say."""
        if c.status != "dialing":
            return False
        if event == "ended":
            log.info("contact %s: the agent hung up while the customer rang", c.id)
            self._callback_cancelled(c, reason or "cancelled")
        return True

    def _callback_leg_ended(self, c: ContactRecord) -> bool:
        """The agent's leg ended (True: dealt with here): while the customer rings, the
        agent cancels."""
        if c.status != "dialing":
            return False
        log.info("contact %s: the agent's leg ended while the customer rang", c.id)
        self._callback_cancelled(c, "cancelled")
        return True

    def _callback_gone(self, c: ContactRecord, reason: str) -> bool:
        """The customer's leg ended, or the admin hung the customer up (True: dealt with
        here): a customer who never answered fails the attempt with the bridge's reason."""
        if c.status != "dialing":
            return False
        self._callback_failed(c, reason or "ended")
        return True

    def _callback_cancelled(self, c: ContactRecord, reason: str):
        """The agent hung up before the customer answered: a web callback the agent may
        cancel is done "cancelled", any other a failed attempt."""
        if c.callback.get("cancel"):
            self._hang_up_legs(c)
            c.callback = {**c.callback, "failed": reason, "cancelled": True}
            cb = self._callbacks.get(c.callback["id"])
            if cb is not None and cb.status == "offered" and cb.contact == c.id:
                self._complete(cb, "cancelled", agent=c.agent)
            self._end(c)
            return
        self._callback_failed(c, reason)

    def _callback_failed(self, c: ContactRecord, reason: str):
        """The attempt failed: the legs are hung up, the agent wraps up (``failed``), and the
        callback is due again after retry_s, or done "failed" after max_attempts."""
        self._hang_up_legs(c)
        c.callback = {**c.callback, "failed": reason}
        self._dirty_contacts[c.id] = c
        cb = self._callbacks.get(c.callback["id"])
        if cb is not None and cb.status == "offered" and cb.contact == c.id:
            self._attempt_failed(cb, reason, c.agent)
        log.info("contact %s: the callback's call failed (%s)", c.id, reason)
        self._end(c)

    def _attempt_failed(self, cb: CallbackRecord, reason: str, agent: str = ""):
        cfg = self.scenario.callbacks
        self._history(cb, "attempted", agent=agent, detail=reason)
        if cb.attempts >= cfg.max_attempts:
            self._complete(cb, "failed", detail=f"{cb.attempts} attempts")
            return
        cb.status, cb.contact = "scheduled", ""
        cb.not_before = self.clock() + cfg.retry_s
        self._callback_changed(cb)
        heapq.heappush(self._timers, (cb.due, CALLBACK_TIMER + cb.id))
        log.info("callback %s: attempt %d failed (%s): due again at %.0f", cb.id, cb.attempts,
                 reason, cb.due)

    def _complete(self, cb: CallbackRecord, outcome: str, agent: str = "", detail: str = ""):
        """The callback is done (``outcome``: connected, failed, cancelled...)."""
        cb.status, cb.outcome = "done", outcome
        self._history(cb, "completed", agent=agent, detail=detail or outcome)
        self._callback_changed(cb)
        self._unindex_callback(cb)
        log.info("callback %s done: %s", cb.id, outcome)

    def _callback_over(self, c: ContactRecord, status: str):
        """The contact is finished (engine._finish): a callback still offered on it (its
        contact ended before the attempt was decided: the admin hung it up) is done with the
        contact's status as its outcome."""
        cb = self._callbacks.get((c.callback or {}).get("id", ""))
        if cb is not None and cb.status == "offered" and cb.contact == c.id:
            self._complete(cb, status, detail=f"contact {c.id} {status}")

    # -- restart -----------------------------------------------------------------------------
    def _callback_role(self, c: ContactRecord, name: str) -> str | None:
        """Which of a dialing callback's legs the bridge's leg ``name`` is (adopt), if any."""
        if name == customer_leg_name(c.id):
            return CUSTOMER
        return AGENT if name == (c.agent_leg or agent_leg_name(c.id, len(c.attempts))) else None

    def _adopt_callback(self, c: ContactRecord) -> bool:
        """After adopt (True: dealt with here): a callback's contact before its customer
        answered. Waiting: routed with the others; offered: as an inbound offer, but with no
        customer's leg yet; dialing: a leg gone meanwhile fails the attempt, a customer who
        answered is joined."""
        agent, customer = self.legs.of(c.id, AGENT), self.legs.of(c.id, CUSTOMER)
        if c.status == "queued":
            return True
        if c.status in UNANSWERED:
            if agent is None:
                self._rona(c, "failed")
            elif agent.state == "answered":
                self._answer(c)
            elif c.status == "reserved" and agent.state == "ringing":
                self._offer(c)
            return True
        if c.status != "dialing":
            return False
        if agent is None or customer is None:
            log.warning("contact %s: a leg of the callback's call ended while ccsim was away",
                        c.id)
            self._callback_failed(c, "ended while ccsim was away")
        elif customer.state == "answered":
            self._answer(c)
            self._connect(c)
        return True

    # -- what is shown -----------------------------------------------------------------------
    def _team(self, agent: str) -> list[p.Code]:
        """The agent's team (a personal callback's assignees), the agent among them."""
        team = self._agents[agent].team
        return [p.Code(a.id, a.name) for a in self.scenario.agents if a.team == team]

    def _callback_snapshot(self, agent: str) -> dict:
        """The snapshot's rules, queues the agent may schedule for and team."""
        return {"callback_rules": self.scenario.callbacks.rules,
                "callback_queues": [p.Code(q, q) for q in self._agents[agent].queues
                                    if not self._queue_problem(q)],
                "team": self._team(agent)}

    def _dnis_of(self, c: ContactRecord) -> str:
        """The number the customer of contact ``c`` called: a callback's own, else its queue's
        dial number (or an entry point's to it); "" for none (an outbound call)."""
        if c.kind == "callback":
            return (c.callback or {}).get("dnis", "")
        if c.kind != "inbound":
            return ""
        number = dict(self.scenario.queue_numbers).get(c.queue)
        return number or next((e.number for e in self.scenario.entry_points
                               if e.queue == c.queue), "")

    @staticmethod
    def _wire_callback(cb: CallbackRecord) -> p.Callback:
        return p.Callback(id=cb.id, kind=cb.kind, number=cb.number, name=cb.name,
                          queue=cb.queue, start=cb.start, end=cb.end, tz=cb.tz,
                          reason=cb.reason, assignee=cb.assignee, status=cb.status,
                          attempts=cb.attempts, date=cb.date, start_local=cb.start_local,
                          end_local=cb.end_local)

    @staticmethod
    def _callback_contact_info(c: ContactRecord) -> dict:
        k = c.callback or {}
        return {"callback": k.get("id"), "customer": k.get("customer"),
                "dnis": k.get("dnis"), "cancel": bool(k.get("cancel")),
                "failed": k.get("failed") or None} if c.kind == "callback" else {}
