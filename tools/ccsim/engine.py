"""The contact-center rules, without sockets: logins, the offer lifecycle, RONA, wrap-up.

Phone requests, customer events and timer expiries come in as method calls; what agents must be
told goes to ``outbox`` as (agent, message, json) for the server to send, and what customers
must do goes to the injected customer link. Time comes from the injected clock (wall-clock
seconds, as the protocol's timestamps are), so tests drive RONA and wrap-up without sleeping.

A contact's life (each step a ``contact`` event to its agent)::

    queued -> reserved -> offered -> assigned <-> held -> ended+wrapup -> wrapped_up
                 \\_________\\__ RONA (not answered in time, rejected, unreachable) -> queued
                  \\_________\\__ withdrawn (the customer hung up first)

With the media bridge (scenario [bridge] enabled), the customer's call is the center's: the
customer dials the bridge, which ccsim answers once the call's contact id and key check out;
the customer hears hold music while queued, offered or held. Each offer attempt is a leg the
bridge dials to the agent (the offer's token on it); answered, it joins the customer's leg in
the contact's room. A RONA or reject hangs up only the agent's leg: the customer stays, on
music, and is routed again. Either side ending ends the other. After a restart ``adopt`` maps
the bridge's legs back to the contacts (legs.py).

Consult and transfer (bridged only) add a second agent to a contact: the consulted one sees it
as a consult offer (``primary`` false) and an agent who transferred it keeps it in wrap-up
(``owed``) while it is another's; ``_seen`` is the contact's status as each agent has it, and
the agent's state follows that. The consult itself (``c.consult``) and the owed wrap-ups are
stored with the contact, so a restart adopts the consult's legs too.

The agent's state follows its contacts (reserved, ringing, talking, held, wrapup); a state it
asks for meanwhile is kept as ``pending`` and applied when its last contact is done, else it
becomes Available. After a RONA it goes Idle "rona", after a reject Idle "rejected" (Not Ready,
as Bright Pattern, Genesys and Finesse put an agent who declines), unless it had asked for Idle
already.

Outbound campaigns (campaigns.py): a free agent gets its preview campaigns' records, one at a
time, as contacts of kind "campaign" (preview -> dialing -> assigned ... wrapup, or skipped,
removed, withdrawn); a logout while in a started campaign is negotiated (``Pending.at``).
Progressive and predictive campaigns (dialer.py, pacing.py): the bridge calls the records and
an answered customer waits in its campaign's pseudo-queue like an inbound one. Standard and
direct preview (reservation.py): the preview comes on a reservation call the bridge places to
the agent first; in standard preview the bridge then calls the customer on it.

Callbacks (callbacks.py): courtesy, web and scheduled ones, kept with their history and fired
by a timer each; due, a callback is a contact of kind "callback" routed like an inbound one (a
personal one to its assignee alone), and once the agent answers the bridge calls the customer.

A wrap-up may carry the agent's note (settings.note_max), kept with the contact. Help requests,
call-quality reports and log uploads (assist.py) are kept in the database as they come; a help
request's fate goes to the agent's phone as ``help`` events.

The centre's pre-recorded messages (messages.py): an agent has the bridge play one to the
customer of its call, who is back in the call when it ends (a ``notice`` tells the agent).
Follow-ups (followups.py): reminders an agent schedules for itself, kept in the database and
fired by a timer each (a ``follow_up`` event; the snapshot lists those due until done).
Voice applications (voiceapps.py): an agent has the bridge run an IVR or a voice signature on
the customer's leg, out of the call; an ``app_result`` tells the agent how it ended.
"""
from __future__ import annotations

import heapq
import hmac
import logging
import secrets
import time
from typing import Protocol

import msgspec

from firmware.cc import protocol as p
from firmware.sip.dialing import dial_uri

from .assist import Assist
from .guard import LoginGuard
from .legs import (AGENT, CONSULT, CONSULTED, CONTACT_HEADER, CUSTOMER, PARTY, TOKEN_HEADER, Bridge,
                   Leg, Legs, agent_leg_name, consult_leg_names, key_matches, number_leg_name)
from .limits import contact_problem
from .calldata import CallData
from .callbacks import CALLBACK_TIMER, Callbacks
from .campaigns import CAMPAIGN_TIMERS, Campaigns
from .conference import Conferences, member_of
from .dialer import DIALER_TIMER, Dialer, customer_leg_name
from .followups import FOLLOW_UP_TIMER, FollowUps
from .messages import Messages
from .personal import Personal
from .voiceapps import VoiceApps
from .recording import Recording
from .reservation import Reservation
from .routing import Router
from .scenario import DIALABLE, AUTO_WRAPUP, AgentConfig, Scenario, extension_user
from .store import FINISHED, TALKING, AgentRecord, ContactRecord, Store
from .store import atomic as _atomic

log = logging.getLogger("ccsim")

UNANSWERED = ("reserved", "offered")
# the agent's state while it has contacts: the first status found among them decides
_BUSY = (("assigned", "talking"), ("held", "held"), ("offered", "ringing"),
         ("dialing", "reserved"), ("reserved", "reserved"), ("preview", "reserved"),
         ("wrapup", "wrapup"))
DIAL_GIVE_UP_S = 90.0         # an outbound contact still dialing after this is over (the phone
                              # gives up at 60 s; this covers a phone that died meanwhile)
BUSY_STATES = {state for _, state in _BUSY}
TOKEN_BYTES = 32              # an offer attempt's secret: 256 random bits, URL-safe base64
                              # (and a bridged customer's call key, the same size)
RING_SLACK_S = 5.0            # an agent leg rings up to 2 RONA times + this (ccsim RONAs first)
# "transferred": blind or consult transferred to a number, no agent on it any more
BRIDGED = ("queued",) + UNANSWERED + TALKING + ("transferred",)   # statuses with a call up
SESSION_BYTES = 16            # a login's id, which a reconnecting phone resumes with
_KEEP = object()


def _same(pin: str, given: str) -> bool:
    """PINs compared in constant time: how long a refusal takes says nothing of the PIN."""
    return hmac.compare_digest(pin.encode("utf-8", "surrogatepass"),
                               given.encode("utf-8", "surrogatepass"))


class Refused(Exception):
    """A phone request the rules turn down; ``code`` is one of protocol.ERROR_CODES."""

    def __init__(self, code: str, message: str, retry_after: int = 0,
                 fields: dict[str, str] | None = None):
        """``fields``: a callback's refused fields, each with its rule's code (Error.fields)."""
        super().__init__(message)
        self.code, self.message, self.retry_after = code, message, retry_after
        self.fields = fields or {}


class Customers(Protocol):
    """The simulated customers: dial an agent's extension for a contact (the call carries
    ``token``, the offer attempt's secret, so the phone can tell it from a forgery), hang a
    contact up. Events come back through Engine.customer_event, only ever about a contact's
    current call (the end of a call ccsim hung up itself is not reported)."""

    def dial(self, contact: str, to: str, ani: str, talk_s: float, token: str) -> None: ...

    def hangup(self, contact: str) -> None: ...


class NoCustomers:
    """No voice side: phones report ringing/answered/ended themselves."""

    def dial(self, contact, to, ani, talk_s, token):
        pass

    def hangup(self, contact):
        pass


def _check_favorite_name(name: str) -> None:
    if len(name) > p.MAX_NAME_CHARS or not name.isprintable():
        raise Refused("bad_favorite", f"Name too long ({p.MAX_NAME_CHARS} max)"
                      if name.isprintable() else "Name has control characters")


# Settings the admin may change while ccsim runs: the ones only the phones act on
LIVE_SETTINGS = ("customer_noise_removal",)


class Engine(Conferences, Recording, CallData, Campaigns, Callbacks, Reservation, Dialer,
             Assist, Messages, FollowUps, Personal, VoiceApps):
    Refused = Refused
    DIAL_GIVE_UP_S, TOKEN_BYTES = DIAL_GIVE_UP_S, TOKEN_BYTES   # for the mixins

    def __init__(self, scenario: Scenario, store: Store, clock=time.time,
                 customers: Customers | None = None, bridge: Bridge | None = None):
        """``bridge``: the media bridge holds the customers' calls (legs.py); None: customers
        dial the agents themselves."""
        self.scenario, self.settings, self.store, self.clock = (
            scenario, scenario.settings, store, clock)
        self.customers = customers or NoCustomers()
        self.bridge = bridge
        self.legs = Legs()
        self._keys: dict[str, str] = {}       # contact -> its customer call's key, until it came
        self._unrouted: list[ContactRecord] = []   # queued at load, routed once legs are adopted
        cc = scenario.customers
        self._bridge_uri = dial_uri(scenario.bridge.user, cc.proxy, cc.transport)
        self.outbox: list[tuple[str, p.ServerMessage, str]] = []
        self.offers = 0                       # reservations made since start
        self._agents = {a.id: a for a in scenario.agents}         # as configured
        self._idle_codes = {c.code for c in scenario.idle_codes}
        self._wrapup_codes = {c.code for c in scenario.wrapup_codes}
        self._records = {a.id: AgentRecord(a.id) for a in scenario.agents}   # as they are now
        # each agent's favorites: the agent's own, on whatever phone it logs in (store: kept)
        self._favorites: dict[str, list[p.Favorite]] = {a.id: [] for a in scenario.agents}
        self._live: dict[str, ContactRecord] = {}
        self._on_agent: dict[str, dict[str, ContactRecord]] = {a.id: {} for a in scenario.agents}
        self._timers: list[tuple[float, str]] = []
        self._dirty_agents: dict[str, AgentRecord] = {}
        self._dirty_contacts: dict[str, ContactRecord] = {}
        self._init_campaigns()
        self._init_dialer()
        self._init_callbacks()
        self._init_follow_ups()
        self._init_personal()
        self._init_voice_apps()
        # a dialing campaign's agents are members of its pseudo-queue (dialer.py)
        self.router = Router({a.id: a.queues + self._campaign_queues(a.id)
                              for a in scenario.agents})
        self.logins = LoginGuard(clock)
        self._load()

    # -- restart -----------------------------------------------------------------------------
    @_atomic
    def _load(self):
        for s in self.store.agents():
            if s.agent in self._records:
                self._records[s.agent] = s
        for agent, favorites in self.store.favorites().items():
            if agent in self._favorites:
                self._favorites[agent] = favorites
        waiting = []
        for c in self.store.live_contacts():
            if ((c.queue not in self.scenario.queues and c.kind in ("inbound", "callback"))
                    or (c.kind == "campaign" and (c.campaign or {}).get("id")
                        not in self._campaigns)
                    or (c.agent and c.agent not in self._agents)):
                log.warning("contact %s: its queue or agent is no longer in the scenario", c.id)
                continue
            self._live[c.id] = c
            if c.status == "queued":
                waiting.append(c)
            elif c.agent and c.status not in FINISHED:
                self._on_agent[c.agent][c.id] = c
                self._arm(c)
            elif c.status == "dialing" and self._dialed(c):
                self._arm(c)                    # the dialer's call to the customer
            # the agents who passed it on and owe its wrap-up, and the consulted agent
            for agent, at in c.owed.items():
                if agent in self._on_agent:
                    self._on_agent[agent][c.id] = c
                    self._arm_at(at, c)
            k = c.consult
            if k and k.get("agent") in self._on_agent:
                self._on_agent[k["agent"]][c.id] = c
                self._arm_at(k.get("deadline", 0.0), c)
            for m in (c.conference or {}).get("members", ()):
                if m["agent"] in self._on_agent:
                    self._on_agent[m["agent"]][c.id] = c
        for s in self._records.values():
            if s.state == "available" and not self._leaving(s.pending):
                self.router.set_ready(s.agent, s.available_since)
        self._load_campaigns()
        self._load_callbacks()
        self._load_follow_ups()
        self._load_personal()
        if self.bridge is not None:
            self._unrouted = waiting            # once ``adopt`` knows which customers are there
            return
        for c in waiting:
            self._route(c)

    # -- phone requests ----------------------------------------------------------------------
    @_atomic
    def hello(self, agent: str, pin: str, version: int = p.VERSION,
              source: str = "", resume: str = "") -> p.Snapshot:
        """Log the agent in (Idle, "login") or resume its session; its snapshot. ``source``: the
        address the hello came from; PIN guessing is throttled per agent and per source.

        ``resume`` "": a login, which starts a new session id (the phone holding the old one
        is taken over). Else the id of the phone's latest snapshot: accepted only if it is still
        the agent's session, refused ``taken_over`` if the agent has logged in elsewhere since
        and ``not_logged_in`` if the session is over, so a phone coming back online never takes
        the agent back nor logs a logged-out agent in again."""
        wait = self.logins.retry_after(agent, source)
        if wait:
            log.debug("hello for agent %r from %s refused: locked out for %d s",
                      agent[:40], source, wait)
            raise Refused("locked_out", f"too many failed logins: try again in {wait} s", wait)
        config = self._agents.get(agent)
        if config is None or not _same(config.pin, pin):
            known = agent if config else None
            lock = self.logins.failed(known, source)
            log.warning("login failed: agent %r from %s (%d failures for this agent)%s",
                        agent[:40], source or "?", self.logins.failures(agent) if known else 0,
                        f"; locked out for {lock} s" if lock else "")
            raise Refused("auth_failed", "unknown agent or wrong PIN")
        if version != p.VERSION:
            raise Refused("version", f"protocol version {version} (this server speaks {p.VERSION})")
        s = self._records[agent]
        self.logins.succeeded(agent, source)
        if resume:
            if s.state == "logged_out":
                log.warning("agent %s: a reconnect from %s refused: the session is over",
                            agent, source or "?")
                raise Refused("not_logged_in", "the session is over (logged out): log in again")
            if not _same(s.session_id, resume):
                log.warning("agent %s: a reconnect from %s refused: logged in elsewhere since",
                            agent, source or "?")
                raise Refused("taken_over", f"agent {agent} logged in on another phone since")
            return self.snapshot(agent)
        s.session_id = secrets.token_urlsafe(SESSION_BYTES)
        if s.state == "logged_out":
            s.state, s.reason, s.pending = "idle", "login", None
            log.info("agent %s logged in", agent)
        elif s.state == "available" and not self._on_agent[agent]:
            # A login starts Not Ready: a phone back from a power cut (it logs in at boot) or
            # the agent at another desk says when they are ready; nobody may be at the desk.
            s.state, s.reason, s.pending = "idle", "login", None
            self.router.set_busy(agent)
            log.info("agent %s logged in again: Idle until they say they are ready", agent)
        self._dirty_agents[agent] = s
        snapshot = self.snapshot(agent)
        self._campaign_notices(agent)           # events after the snapshot (seq + 1, ...)
        return snapshot

    def snapshot(self, agent: str) -> p.Snapshot:
        s, a = self._logged_in(agent), self._agents[agent]
        contacts = sorted(self._on_agent[agent].values(), key=lambda c: c.n)
        return p.Snapshot(
            seq=s.seq, agent=p.Agent(a.id, a.name, a.team, a.extension), state=s.state,
            reason=s.reason, pending=s.pending,
            contacts=[self._wire(c, agent=agent) for c in contacts],
            idle_codes=list(self.scenario.idle_codes),
            wrapup_codes=list(self.scenario.wrapup_codes), layout=list(self.scenario.layout),
            settings=self.settings, favorites=list(self._favorites[agent]),
            server_time=self.clock(), session=s.session_id,
            campaigns=self._wire_campaigns(agent), **self._callback_snapshot(agent),
            help=self._help_open(agent), messages=self._wire_messages(),
            follow_ups=self._follow_ups_due(agent), **self._personal_snapshot(agent),
            voice_apps=self._wire_voice_apps())

    @_atomic
    def set_state(self, agent: str, state: str, reason: str = ""):
        s = self._logged_in(agent)
        if state == "idle" and reason not in self._idle_codes:
            raise Refused("unknown_code", f"no idle code {reason!r}")
        reason = reason if state == "idle" else ""
        if self._on_agent[agent]:
            self._refresh(s, pending=p.Pending(state, reason))
        else:
            self._apply(s, state, reason)
            self._serve(s)

    @_atomic
    def accept(self, agent: str, contact: str):
        self._logged_in(agent)
        c = self._contact_of(agent, contact)
        status = self._seen(agent, c)
        if status == "assigned":
            return
        if status not in UNANSWERED:
            raise Refused("not_allowed", f"contact {contact} is {status}, not being offered")
        busy = [o for o in self._on_agent[agent].values() if self._seen(agent, o) in TALKING]
        if busy and not self.settings.accept_all:
            raise Refused("not_allowed", f"already on contact {busy[0].id}")
        if self._consulted(agent, c):
            self._consult_answered(c)
        else:
            self._answer(c)

    @_atomic
    def reject(self, agent: str, contact: str):
        """The agent turns an offer down: a RONA at once, the agent Idle "rejected"."""
        self._logged_in(agent)
        c = self._contact_of(agent, contact)
        status = self._seen(agent, c)
        if status not in UNANSWERED:
            raise Refused("not_allowed", f"contact {contact} is {status}, not being offered")
        if self._consulted(agent, c):
            self._consult_over(c, "rejected")
        else:
            self._rona(c, "rejected", idle="rejected")

    @_atomic
    def dial(self, agent: str, number: str) -> tuple[str, str]:
        """The agent dials ``number``: (where the phone's INVITE goes, the outbound contact's id
        or "" for an internal call). Refused: a bad number, an outbound call while on a
        contact or in wrap-up, or the centre's call limit reached."""
        s = self._logged_in(agent)
        if not (0 < len(number) <= p.MAX_DIAL_CHARS and DIALABLE.fullmatch(number)):
            raise Refused("bad_number", f"cannot dial {number[:40]!r}")
        if self._is_voicemail(number):          # the agent's own box (personal.py)
            return number, ""
        internal = self._internal(number)
        if internal:
            return internal, ""
        if self._on_agent[agent]:
            raise Refused("not_allowed", "finish the current contact first")
        self._check_call_limit()
        n, now = self.store.next_contact_number(), self.clock()
        c = ContactRecord(f"c-{n}", n, "", number, {}, None, now, status="dialing",
                          agent=agent, offered_at=now, deadline=now + DIAL_GIVE_UP_S,
                          kind="outbound")
        c.attempts.append({"agent": agent, "at": now, "outcome": ""})
        self._live[c.id] = c
        self._on_agent[agent][c.id] = c
        self._arm(c)
        log.info("contact %s: agent %s dials out", c.id, agent)
        self._tell(c)
        # an agent who dials from Idle is back in that Idle afterwards, not made Available
        back = (p.Pending("idle", s.reason) if s.pending is None and s.state == "idle"
                else _KEEP)
        self._refresh(s, pending=back)
        return number, c.id

    def _check_call_limit(self):
        """Refused ``call_limit`` when the centre's outbound calls (scenario ``[outbound]
        call_limit``) are at the limit: the agents' calls dialing or up, outbound contacts and
        the preview campaigns' records (a standard preview's call the bridge places too; not
        the dialer's calls)."""
        limit = self.scenario.outbound.call_limit
        placed = ("outbound", "campaign")
        if limit and sum(1 for c in self._live.values()
                         if c.kind in placed and not self._dialed(c)
                         and c.status in ("dialing",) + TALKING) >= limit:
            raise Refused("call_limit", f"call limit reached ({limit} calls)")

    def _internal(self, number: str) -> str:
        """The extension (SIP user) an internal number reaches: an agent's id or extension."""
        a = self._agent_named(number)
        return extension_user(a.extension) if a else ""

    def _agent_named(self, number: str) -> AgentConfig | None:
        """The agent whose id or extension ``number`` is."""
        return next((a for a in self.scenario.agents
                     if number in (a.id, extension_user(a.extension))), None)

    @_atomic
    def call_event(self, agent: str, contact: str, event: str, leg: str = "customer",
                   reason: str = ""):
        """What the phone's SIP call did (``leg`` "consult": the requesting agent's consult
        leg; ``reason``: why a call ended before it was answered). Late or repeated events
        that no longer fit are ignored."""
        self._logged_in(agent)
        c = self._contact_of(agent, contact)
        if agent in c.owed:
            return                              # passed on: its calls are over
        if c.kind == "campaign" and leg == "customer" and self._campaign_call(c, event,
                                                                               reason[:64]):
            return
        if (c.kind == "callback" and leg == "customer" and c.agent == agent
                and self._callback_call_event(c, event, reason[:64])):
            return
        if (member := member_of(agent, c)) is not None:
            if event == "ended":                # a party's phone hung up: it leaves
                self._member_leaves(c, member, "wrapped_up")
            return
        if self._consulted(agent, c):
            self._consulted_call(c, event)
            return
        if leg == "consult":
            if c.consult is not None and self._requester(agent, c):
                self._consult_leg_call(c, event)
            return
        if event == "ringing" and c.status == "reserved":
            self._offer(c)
        elif event == "answered" and c.status in UNANSWERED + ("dialing",):
            self._answer(c)
        elif event == "ended" and c.status == "dialing":      # nobody answered the agent's call
            self._withdraw(c, "not answered")
        elif event == "held" and c.status == "assigned":
            self._hold(c, True)
        elif event == "resumed" and c.status == "held":
            self._hold(c, False)
        elif event == "ended" and c.status in UNANSWERED:
            self._rona(c, "rejected")
        elif event == "ended" and c.status in TALKING and c.conference is not None:
            self._controller_leaves(c)
        elif event == "ended" and c.status in TALKING:
            self._end(c)
            if c.kind == "inbound" or self._bridge_calls(c):
                self._hang_up_customer(c)

    @_atomic
    def wrapup(self, agent: str, contact: str, code: str, note: str = ""):
        """The agent wraps the contact up with ``code`` (a campaign's: a disposition) and its
        free ``note`` (at most settings.note_max characters; none where that is 0)."""
        self._logged_in(agent)
        c = self._contact_of(agent, contact)
        status = self._seen(agent, c)
        if status != "wrapup":
            raise Refused("not_allowed", f"contact {contact} is {status}, not in wrap-up")
        codes = self._dispositions(c) if c.kind == "campaign" else self._wrapup_codes
        if code not in codes:
            raise Refused("unknown_code", f"no wrap-up code {code!r}")
        limit = self.settings.note_max
        if note and not limit:
            raise Refused("bad_value", "note: this centre takes no wrap-up notes")
        if len(note) > limit:
            raise Refused("bad_value", f"note: at most {limit} characters, got {len(note)}")
        if agent in c.owed:
            self._wrap_owed(c, agent, code, note)
        else:
            self._wrap(c, code, note)

    @_atomic
    def logout(self, agent: str, reason: str = ""):
        s = self._logged_in(agent)
        contacts = self._on_agent[agent].values()
        if any(self._seen(agent, c) in UNANSWERED for c in contacts):
            raise Refused("not_allowed", "a contact is being offered")
        delay = self._negotiated_delay(agent)
        if delay is not None:                   # a campaign's agent: not at once (campaigns.py)
            self._negotiate_logout(s, reason, delay)
        elif contacts:
            self._refresh(s, pending=p.Pending("logged_out", reason))
        else:
            self._log_out(s, reason)

    # -- customers and the admin -------------------------------------------------------------
    @_atomic
    def new_contact(self, queue: str, ani: str, variables: dict[str, str],
                    talk_s: float | None = None) -> str:
        """A customer call enters ``queue``; its id. ValueError for an unknown queue or a field
        over its limit (limits.py), before anything changes."""
        problem = contact_problem(queue, ani, variables, talk_s)
        if problem:
            raise ValueError(problem)
        if queue not in self.scenario.queues:
            raise ValueError(f"unknown queue {queue!r}")
        n = self.store.next_contact_number()
        c = ContactRecord(f"c-{n}", n, queue, ani, dict(variables), talk_s, self.clock())
        self._live[c.id] = c
        self._dirty_contacts[c.id] = c
        log.debug("contact %s entered queue %s", c.id, queue)
        if self.bridge is not None:             # the customer calls the center: the bridge
            key = self._keys[c.id] = secrets.token_urlsafe(TOKEN_BYTES)
            self.customers.dial(c.id, self._bridge_uri, c.ani,
                                c.talk_s or self.scenario.customers.talk_s, key)
        self._route(c)
        return c.id

    @_atomic
    def hang_up(self, contact: str) -> bool:
        """The customer hangs up (admin); False if the contact is unknown or already over."""
        c = self._live.get(contact)
        if c is None or c.status in FINISHED:
            return False
        self.customers.hangup(c.id)
        self._gone(c)
        return True

    def _gone(self, c: ContactRecord, reason: str = ""):
        """The customer is gone: their contact is abandoned, withdrawn or ended; the bridge's
        legs of it (if any) are hung up. A conference goes on without them (post call).
        ``reason``: the bridge's, why the customer's leg ended."""
        if self._dialed(c) and self._dialer_gone(c, reason):
            return                              # a campaign's call never answered
        if c.kind == "callback" and self._callback_gone(c, reason):
            return                              # a callback's customer never answered
        if self._reservation_gone(c, reason):
            return                              # a standard preview's, or no call yet
        if c.conference is not None and c.status in TALKING:
            self._hang_up_leg(c, CUSTOMER)
            c.conference["post_call"] = True
            log.info("contact %s: the customer left the conference (post call)", c.id)
            self._after_leaving(c)
            return
        self._hang_up_legs(c)
        if c.status == "queued":
            self.router.remove_waiting(c.id)
            self._finish(c, "abandoned")
        elif c.status in UNANSWERED:
            self._withdraw(c)
        elif c.status in TALKING:
            self._end(c)                        # a consult under way goes on (its own legs)
        elif c.status == "transferred":
            self._finish(c, "wrapped_up")

    @_atomic
    def customer_event(self, contact: str, event: str):
        """What a simulated customer's call did: ringing, answered, ended or failed. Bridged,
        it called the bridge, whose events tell the rest: only its end counts here (the call
        may have failed before it reached the bridge)."""
        c = self._live.get(contact)
        if c is None:
            return
        if self.bridge is not None:
            if event in ("ended", "failed") and c.kind == "inbound":
                self._gone(c)
            return
        if event == "ringing" and c.status == "reserved":
            self._offer(c)
        elif event == "answered" and c.status in UNANSWERED:
            self._answer(c)
        elif event in ("ended", "failed") and c.status in UNANSWERED:
            self._rona(c, "failed")             # the phone could not be reached or refused
        elif event == "ended" and c.status in TALKING:
            self._end(c)

    # -- the media bridge --------------------------------------------------------------------
    @_atomic
    def bridge_event(self, event: dict):
        """What the bridge said (bridge.py's events): a customer calling in, a leg ringing,
        answered, ended, joining or leaving a room. Events of legs that are not (or no longer)
        a contact's are ignored."""
        kind, name = event.get("event"), event.get("leg")
        if not isinstance(name, str):
            if kind == "error":
                log.warning("bridge: %s", event.get("reason", ""))
            return
        if kind == "incoming":
            self._incoming(name, event)
            return
        if self._app_event(name, event):        # a leg in a voice application (voiceapps.py)
            return
        leg = self.legs.get(name)
        if leg is None:
            return
        c = self._live.get(leg.contact)
        if kind == "error":
            log.warning("bridge: leg %s (contact %s): %s", name, leg.contact,
                        event.get("reason", ""))
            if c is not None and leg.message and str(event.get("reason", "")).startswith("play"):
                self._message_failed(c, leg)    # the bridge could not play it (messages.py)
        elif kind == "joined":
            leg.room = event.get("room")
        elif kind == "left":
            leg.room = None
        elif c is None:                         # over meanwhile: the leg has no business
            if kind == "ended":
                self.legs.drop(name)
            else:
                self._hang_up_leg_named(name)
        elif kind == "amd":                     # answering-machine detection (dialer.py)
            self._dial_amd(c, leg, event)
        elif kind == "played":                  # a pre-recorded message is over (messages.py)
            self._message_played(c, leg, event)
        elif kind == "ringing" and leg.state != "answered":
            leg.state = "ringing"
            if leg.role == AGENT and c.status == "reserved":
                self._offer(c)
            elif leg.role == CONSULTED:
                self._consult_ringing(c)
        elif kind == "answered":
            leg.state = "answered"
            if leg.role == CUSTOMER and c.status == "dialing" and self._dialed(c):
                self._dial_answered(c)          # a campaign's customer: to its agents
            elif leg.role == CUSTOMER and c.status == "dialing" and c.kind == "callback":
                self._answer(c)                 # a callback's customer (callbacks.py)
            elif self._reserving(c):            # a preview's reservation call (reservation.py)
                self._reservation_answered(c, leg)
            elif leg.role == AGENT and c.status in UNANSWERED:
                self._answer(c)
            elif leg.role == CONSULTED:
                self._consult_answered(c)
            self._connect(c)
        elif kind == "ended":
            self.legs.drop(name)
            log.info("contact %s: the %s's leg %s ended (%s)", c.id, leg.role, name,
                     event.get("reason", ""))
            if leg.role == CUSTOMER:
                self._gone(c, str(event.get("reason", "")))
            elif leg.role == CONSULT:
                if c.consult is not None:
                    self._consult_over(c, "requester")
            elif leg.role == CONSULTED:
                if c.consult is not None:
                    self._consult_over(c, "consulted" if leg.state == "answered" else "failed")
            elif leg.role == PARTY:
                member = next((m for m in (c.conference or {}).get("members", ())
                               if m["leg"] == name), None)
                if member is not None:
                    self._member_leaves(c, member, "ended")
            elif self._reserving(c):            # the agent's reservation call (reservation.py)
                self._reservation_ended(c)
            elif c.kind == "callback" and self._callback_leg_ended(c):
                pass                            # hung up while the customer rang
            elif c.conference is not None and c.status in TALKING + ("transferred",):
                self._controller_leaves(c)      # the controller's leg ended: it leaves
            elif c.status == "transferred":
                self._number_gone(c, answered=leg.state == "answered")
            elif c.status in UNANSWERED:
                self._rona(c, "failed")         # not reached, refused, or no answer
            elif c.status in TALKING:
                self._end(c)                    # the agent hung up: so is the customer
                self._hang_up_legs(c)

    def _incoming(self, name: str, event: dict):
        """A call to the bridge: answered when it is the customer of a contact waiting for its
        call and carries that call's key, else refused (anyone may dial the bridge)."""
        headers = event.get("headers")
        cid = next((v for k, v in headers.items() if k.lower() == CONTACT_HEADER.lower()),
                   "") if isinstance(headers, dict) else ""
        c = self._live.get(cid) if isinstance(cid, str) else None
        key = self._keys.get(cid) if c is not None else None
        if (c is None or key is None or self.legs.of(c.id, CUSTOMER) is not None
                or not key_matches(key, event.get("token_sha256"))):
            log.warning("bridge: a call from %r for contact %r refused: no such contact "
                        "waiting for its customer, or not its key", str(event.get("from"))[:40],
                        str(cid)[:64])
            assert self.bridge is not None
            self.bridge.refuse(name)
            return
        del self._keys[c.id]                    # one call per contact
        self.legs.add(Leg(name, c.id, CUSTOMER, state="incoming"))
        assert self.bridge is not None
        self.bridge.answer(name)
        log.info("contact %s: its customer's call is on the bridge (leg %s)", c.id, name)

    def _connect(self, c: ContactRecord):
        """What each of the contact's answered legs should hear now. The customer: whoever has
        the call (both legs answered and the contact assigned, or transferred to a number: one
        room, the contact's id), else hold music. A consult's two legs: each other (a room of
        their own) while neither side holds, else music."""
        if self.bridge is None:
            return
        customer, agent = self.legs.of(c.id, CUSTOMER), self.legs.of(c.id, AGENT)
        if c.conference is not None:            # everyone on it, in one room: a held leg's
            for leg in (customer, agent, *self.legs.parties(c.id)):   # phone holds it itself
                if leg is not None and _up(leg):
                    self._place(leg, c.id)
        elif _up(customer):
            assert customer is not None
            if c.status in ("assigned", "transferred") and _up(agent):
                assert agent is not None
                self._place(customer, c.id)
                self._place(agent, c.id)
                self._start_recording(c)
            else:
                self._place(customer, None)
        k = c.consult
        if k is None:
            return
        mine, theirs = self.legs.of(c.id, CONSULT), self.legs.of(c.id, CONSULTED)
        together = (_up(mine) and not k.get("held") and _up(theirs)
                    and (not k["agent"] or k["agent_status"] == "assigned"))
        for leg in (mine, theirs):
            if leg is not None and _up(leg):
                self._place(leg, consult_room(c.id) if together else None)

    def _place(self, leg: Leg, room: str | None):
        """Put the leg in ``room``, or (None) out of any room, on hold music. A leg hearing a
        pre-recorded message stays out of any room until it has played (messages.py)."""
        assert self.bridge is not None
        if room is not None:
            if leg.message or self._hears_app(leg):
                return
            if leg.hold_music:
                leg.hold_music = False
                self.bridge.hold_music(leg.leg, False)
            if leg.room != room:
                leg.room = room
                self.bridge.join(room, leg.leg)
            return
        if leg.room is not None:
            leg.room = None
            self.bridge.leave(leg.leg)
        if not leg.hold_music:
            leg.hold_music = True
            self.bridge.hold_music(leg.leg, True)

    def _hang_up_leg(self, c: ContactRecord, role: str):
        leg = self.legs.of(c.id, role)
        if leg is not None:
            self._hang_up_leg_named(leg.leg)

    def _hang_up_leg_named(self, name: str):
        """Hang up a leg and forget it: its end, when the bridge reports it, is not news."""
        self.legs.drop(name)
        if self.bridge is not None:
            self.bridge.hangup(name)

    def _hang_up_legs(self, c: ContactRecord):
        self._stop_recording(c)
        for role in (AGENT, CUSTOMER):
            self._hang_up_leg(c, role)
        for leg in self.legs.parties(c.id):     # a conference's numbers left with no agent
            self._hang_up_leg_named(leg.leg)

    def _hang_up_customer(self, c: ContactRecord):
        """The agent ended the call: the customer's call ends too."""
        if self.bridge is None:
            self.customers.hangup(c.id)
        else:
            self._hang_up_legs(c)

    def bridge_lost(self, listing: dict):
        """The bridge died (its calls with it) and a new one runs: the legs ccsim knew are
        gone, so each contact goes on as after a restart that found them gone (adopt): a call
        up ends (wrap-up), an offer is a RONA, a queued customer's call is abandoned, a
        recording closes where it stopped."""
        self.legs = Legs()
        for c in self._live.values():
            self._stop_recording(c, bridge_gone=True)   # the file ends where the bridge did
        self.adopt(listing)

    @_atomic
    def adopt(self, listing: dict):
        """At start, with the bridge's ``legs`` listing: a restarted ccsim takes over the calls
        the bridge kept up. Each leg goes back to its contact (by the X-CC-Contact-Id it
        carries; an agent's leg only if it is the contact's current attempt); any other leg is
        hung up. A contact whose customer's call is gone is over (abandoned, withdrawn or
        ended); an offer whose agent leg is gone is a RONA; a call whose agent leg is gone is
        ended (wrap-up). Then the contacts queued at load are routed."""
        assert self.bridge is not None
        self._adopt_apps(listing)
        for item in listing.get("legs", []):
            name, state = str(item.get("leg", "")), item.get("state")
            if self._app_leg_kept(name):        # a voice application's alone (voiceapps.py)
                continue
            c = self._live.get(item.get("contact") or "")
            role = self._role_of(c, name, item.get("direction")) if c is not None else None
            ours = (c is not None and role is not None and self.legs.of(c.id, role) is None
                    and self.legs.get(name) is None)
            if ours and role == CUSTOMER:
                ours = state in ("answering", "answered") or (
                    c is not None and self._bridge_calls(c) and state in ("dialing", "ringing"))
            if not ours:
                log.info("bridge: leg %s (contact %r) is no contact's any more: hung up", name,
                         item.get("contact"))
                (self.bridge.refuse if state == "incoming" else self.bridge.hangup)(name)
                continue
            assert c is not None and role is not None
            agent, number = self._leg_party(c, role, name)
            leg = self.legs.add(Leg(name, c.id, role, agent=agent, number=number,
                                    state="answered" if state == "answered" else
                                    "ringing" if state == "ringing" else
                                    "incoming" if role == CUSTOMER
                                    and item.get("direction") == "in" else "dialing",
                                    room=item.get("room"),
                                    hold_music=bool(item.get("hold_music"))))
            self._adopt_message(leg, item, c.agent)
        for c in [c for c in self._live.values() if c.consult is not None]:
            self._adopt_consult(c)
        for c in [c for c in self._live.values() if c.conference is not None]:
            for m in list(c.conference["members"]):         # parties gone meanwhile left it
                if c.conference is not None and self.legs.get(m["leg"]) is None:
                    log.info("contact %s: a party's leg ended while ccsim was away", c.id)
                    self._member_leaves(c, m, "ended")
        for c in list(self._live.values()):
            if self._dialed(c) and self._adopt_dialed(c):
                continue
            if self._reserving(c):
                self._adopt_reservation(c)
                continue
            if c.kind == "callback" and self._adopt_callback(c):
                continue
            if (c.kind != "inbound" and not self._bridge_calls(c)) or c.status not in BRIDGED:
                continue
            agent = self.legs.of(c.id, AGENT)
            if self.legs.of(c.id, CUSTOMER) is None:
                log.warning("contact %s: its customer's call ended while ccsim was away", c.id)
                self._gone(c)
            elif c.status in UNANSWERED and agent is None:
                self._rona(c, "failed")
            elif c.status in TALKING and agent is None:
                log.info("contact %s: the agent's leg ended while ccsim was away", c.id)
                self._end(c)
                self._hang_up_legs(c)
            elif c.status == "transferred" and agent is None:
                self._number_gone(c, answered=True)
            else:
                if c.status in UNANSWERED and agent is not None and agent.state == "answered":
                    self._answer(c)
                elif c.status == "reserved" and agent is not None and agent.state == "ringing":
                    self._offer(c)
                self._connect(c)
        unrouted, self._unrouted = self._unrouted, []
        for c in unrouted:
            if self._live.get(c.id) is c and c.status == "queued":
                self._route(c)
        log.info("bridge adopted: %d legs of %d contacts", len(self.legs.by_name),
                 len({leg.contact for leg in self.legs.by_name.values()}))
        self._bridge_ready = True               # the dialer may call (dialer.py)
        self._serve_reservations()              # ... and reservations be placed
        self._serve_callbacks()                 # ... and callbacks due meanwhile fire
        self._pace_all()

    # -- time --------------------------------------------------------------------------------
    def next_deadline(self) -> float | None:
        """The earliest RONA or auto wrap-up time, or None."""
        while self._timers:
            at, cid = self._timers[0]
            if cid.startswith(CAMPAIGN_TIMERS):        # a negotiated logout, a recall
                if self._campaign_timer_due(cid, at):
                    return at
                heapq.heappop(self._timers)
                continue
            if cid.startswith(DIALER_TIMER):
                if self._dialer_due(cid, at):
                    return at
                heapq.heappop(self._timers)
                continue
            if cid.startswith(CALLBACK_TIMER):
                if self._callback_timer_due(cid, at):
                    return at
                heapq.heappop(self._timers)
                continue
            if cid.startswith(FOLLOW_UP_TIMER):
                if self._follow_up_timer_due(cid, at):
                    return at
                heapq.heappop(self._timers)
                continue
            c = self._live.get(cid)
            if c and (self._own_deadline(c, at) or self._consult_deadline(c, at)
                      or at in c.owed.values() or self._resume_deadline(c, at)):
                return at
            heapq.heappop(self._timers)
        return None

    @staticmethod
    def _own_deadline(c: ContactRecord, at: float) -> bool:
        return c.deadline == at and c.status in UNANSWERED + ("wrapup", "dialing", "preview")

    @staticmethod
    def _consult_deadline(c: ContactRecord, at: float) -> bool:
        k = c.consult
        return k is not None and k.get("deadline") == at and k.get("agent_status") in UNANSWERED

    @_atomic
    def expire(self):
        """RONA the offers (consult offers too) and auto wrap-up the contacts (and wrap-ups
        owed after a transfer) whose time has come."""
        now = self.clock()
        while (at := self.next_deadline()) is not None and at <= now:
            key = heapq.heappop(self._timers)[1]
            if key.startswith(CAMPAIGN_TIMERS):
                self._campaign_timer_expired(key)
                continue
            if key.startswith(DIALER_TIMER):
                self._dialer_expired(key)
                continue
            if key.startswith(CALLBACK_TIMER):
                self._callback_timer_expired(key)
                continue
            if key.startswith(FOLLOW_UP_TIMER):
                self._follow_up_timer_expired(key)
                continue
            c = self._live[key]
            if self._resume_deadline(c, at):
                log.info("contact %s: the recording resumes by itself", c.id)
                self._resume(c)
            elif self._consult_deadline(c, at):
                self._consult_over(c, "rona")
            elif not self._own_deadline(c, at):
                for agent in [a for a, due in c.owed.items() if due == at]:
                    self._wrap_owed(c, agent, AUTO_WRAPUP)
            elif c.status in UNANSWERED:
                self._rona(c, "rona")
            elif c.status == "preview":
                self._preview_timeout(c)
            elif c.status == "dialing" and self._dialed(c):
                self._dial_gave_up(c)
            elif c.status == "dialing" and c.kind == "campaign":
                self._campaign_failed(c, "no answer")
            elif c.status == "dialing" and c.kind == "callback":
                self._callback_failed(c, "no answer")
            elif c.status == "dialing":
                self._withdraw(c, "not answered")
            else:
                self._wrap(c, AUTO_WRAPUP)

    # -- consult and transfer (docs/cc-protocol.md, "Consult and transfer") -----------------
    # A consult is ``c.consult`` (kept with the contact): who is consulted (an agent, or a
    # number), how far it got, the requesting agent's consult leg's token and the consulted
    # agent's offer (its status, token and RONA deadline), and whether the requesting phone
    # holds the consult leg. Its legs are "<contact>.k<n>" (the requesting phone called back)
    # and "<contact>.t<n>" (the consulted party), n its attempt's number in ``c.attempts``.
    @_atomic
    def consult(self, agent: str, contact: str, kind: str, target: str):
        """The agent consults ``target`` about the contact it talks on: the customer is held
        (music), the target called (an agent: a consult offer; a queue or entry point: its
        longest-Available agent's; a number: dialed), and the agent's phone called back."""
        self._logged_in(agent)
        c = self._contact_of(agent, contact)
        self._passable(agent, c, "consult")
        if c.consult is not None:
            raise Refused("not_allowed", f"a consult of contact {contact} is up already")
        self._joinable(c)
        to, who, number, _queue = self._destination(kind, target, agent, pick_agent=True)
        now = self.clock()
        c.attempts.append({"agent": to, "at": now, "outcome": "", "consult": True,
                           **({"number": number} if number else {})})
        n = len(c.attempts)
        mine, theirs = consult_leg_names(c.id, n)
        c.consult = {"kind": kind, "who": who, "status": "dialing", "since": now,
                     "token": secrets.token_urlsafe(TOKEN_BYTES), "n": n, "requester": agent,
                     "agent": to, "number": number, "agent_status": "reserved" if to else "",
                     "agent_token": secrets.token_urlsafe(TOKEN_BYTES) if to else "",
                     "deadline": now + self.settings.rona_s if to else 0.0, "held": False}
        k = c.consult
        c.status = "held"                       # the customer: out of the agent's room, music
        self._connect(c)
        self._tell(c)
        self._refresh(self._records[agent])
        log.info("contact %s: agent %s consults %s %s", c.id, agent, kind, who)
        assert self.bridge is not None
        if to:
            self._on_agent[to][c.id] = c
            self._arm_at(k["deadline"], c)
            self._tell_to(to, c)
            self._refresh(self._records[to])
            self.legs.add(Leg(theirs, c.id, CONSULTED, agent=to))
            self.bridge.dial(theirs, self._agents[to].extension,
                             {CONTACT_HEADER: c.id, TOKEN_HEADER: k["agent_token"]},
                             ring_s=2 * self.settings.rona_s + RING_SLACK_S)
        else:
            self.legs.add(Leg(theirs, c.id, CONSULTED, number=number))
            self.bridge.dial(theirs, self._number_uri(number), {CONTACT_HEADER: c.id})
        self.legs.add(Leg(mine, c.id, CONSULT, agent=agent))
        self.bridge.dial(mine, self._agents[agent].extension,
                         {CONTACT_HEADER: c.id, TOKEN_HEADER: k["token"]})

    @_atomic
    def transfer(self, agent: str, contact: str, kind: str | None = None, target: str = ""):
        """Hand the contact on: with no target to the consulted party (consult transfer, once
        they answered); else blind to an agent (offered), a queue or entry point (routed) or a
        number (dialed; the customer on music until it answers). The agent owes the wrap-up."""
        self._logged_in(agent)
        c = self._contact_of(agent, contact)
        self._passable(agent, c, "transfer")
        if c.conference is not None:
            raise Refused("not_allowed", "a conference is up: exit it instead (the others go on)")
        k = c.consult
        if kind is None or not target:
            if k is None or k["status"] != "talking" or self.legs.of(c.id, CONSULTED) is None:
                raise Refused("not_allowed", "transfer to whom? No consulted party has answered")
            self._consult_transfer(c)
            return
        if k is not None:
            raise Refused("not_allowed", "a consult is up: transfer to the consulted party, "
                          "or exit the consult first")
        to, who, number, queue = self._destination(kind, target, agent, pick_agent=False)
        log.info("contact %s: agent %s transfers it to %s %s", c.id, agent, kind, who)
        self._hang_up_leg(c, AGENT)
        self._owe(c, agent)
        c.agent, c.token, c.agent_leg = "", "", ""
        if number:
            now = self.clock()
            c.attempts.append({"agent": "", "number": number, "at": now, "outcome": ""})
            c.agent_leg = number_leg_name(c.id, len(c.attempts))
            c.status = "transferred"
            self._connect(c)
            self.legs.add(Leg(c.agent_leg, c.id, AGENT, number=number))
            assert self.bridge is not None
            self.bridge.dial(c.agent_leg, self._number_uri(number), {CONTACT_HEADER: c.id})
        else:
            c.status = "queued"
            # a target agent who turns it down leaves it in their first queue
            c.queue = (self._agents[to].queues or (c.queue,))[0] if to else queue
            self._connect(c)
            if to:
                self._reserve(c, self._records[to])
            else:
                self._route(c)
        self._settle(self._records[agent])

    @_atomic
    def exit_consult(self, agent: str, contact: str):
        """The requesting agent ends its consult, or the consulted agent leaves it."""
        self._logged_in(agent)
        c = self._contact_of(agent, contact)
        k = c.consult
        if k is not None and self._consulted(agent, c):
            self._consult_over(c, "rejected" if k["agent_status"] in UNANSWERED
                               else "consulted")
        elif k is not None and self._requester(agent, c):
            self._consult_over(c, "requester")
        else:
            raise Refused("not_allowed", f"no consult of contact {contact} to exit")

    def _passable(self, agent: str, c: ContactRecord, what: str):
        """Refused unless the agent has the customer's call on the bridge."""
        if self.bridge is None:
            raise Refused("not_allowed", f"no {what} here: the contact center does not hold "
                          "the customers' calls (ccsim [bridge] enabled)")
        if c.agent != agent or c.status not in TALKING or agent in c.owed:
            raise Refused("not_allowed", f"contact {c.id} is {self._seen(agent, c)}: "
                          f"{what} needs a call you have")
        if self.legs.of(c.id, CUSTOMER) is None:
            raise Refused("not_allowed", f"no {what} of contact {c.id}: the customer's call "
                          "is not on the bridge")

    def _destination(self, kind: str, target: str, agent: str,
                     pick_agent: bool) -> tuple[str, str, str, str]:
        """(agent id, who as shown, number, queue) of a consult or transfer target: an agent,
        a number, or a queue or entry point: its queue, and with ``pick_agent`` its
        longest-Available agent. A typed number that is an agent's, a queue's or an entry
        point's counts as that. Refused before anything changes."""
        if kind == "number":
            if not (0 < len(target) <= p.MAX_DIAL_CHARS and DIALABLE.fullmatch(target)):
                raise Refused("bad_number", f"cannot dial {target[:40]!r}")
            entry = next((e for e in self._entries()
                          if e.number == target and e.kind != "number"), None)
            if entry is None:
                return "", target, target, ""
            kind, target = entry.kind, entry.id
        if kind == "agent":
            a = self._agent_named(target)
            if a is None:
                raise Refused("unknown_target", f"no agent {target[:40]!r}")
            if a.id == agent:
                raise Refused("not_allowed", "that is you")
            if self._records[a.id].state != "available":
                raise Refused("not_allowed", f"{a.name} is not available")
            return a.id, a.name, "", ""
        if kind == "entry_point":
            queue, who = self._entry(target).queue, self._entry(target).name
        elif kind == "queue":
            numbers = dict(self.scenario.queue_numbers)
            queue = next((q for q in self.scenario.queues
                          if target in (q, numbers.get(q))), "")
            if not queue:
                raise Refused("unknown_target", f"no queue {target[:40]!r}")
            who = queue
        else:
            raise Refused("unknown_target", f"cannot consult or transfer to a {kind[:20]}")
        if not pick_agent:
            return "", who, "", queue
        picked = self.router.longest_ready(queue)
        if picked is None:
            raise Refused("not_allowed", f"nobody is available in {who}")
        return picked, self._agents[picked].name, "", queue

    def _entry(self, target: str):
        e = next((e for e in self.scenario.entry_points if target in (e.name, e.number)), None)
        if e is None:
            raise Refused("unknown_target", f"no entry point {target[:40]!r}")
        if e.team_routing == "capacity":
            raise Refused("unsupported_destination", f"{e.name}: routed to a capacity-based "
                          "team: no consult or transfer there")
        return e

    def _number_uri(self, number: str) -> str:
        cc = self.scenario.customers
        return dial_uri(number, cc.proxy, cc.transport)

    def _consult_ringing(self, c: ContactRecord):
        k = c.consult
        if k is None or k["status"] != "dialing":
            return
        k["status"], k["since"] = "ringing", self.clock()
        if k["agent"] and k["agent_status"] == "reserved":
            k["agent_status"], k["deadline"] = "offered", self.clock() + self.settings.rona_s
            self._arm_at(k["deadline"], c)
            self._tell_to(k["agent"], c)
            self._refresh(self._records[k["agent"]])
        self._tell_requester(c)

    def _consult_answered(self, c: ContactRecord):
        """The consulted party took the call (the phone's answer, an accept or the bridge's
        answered: the first of them); the two talk once both legs are up."""
        k = c.consult
        if k is None or k["status"] == "talking":
            return
        k["status"], k["since"] = "talking", self.clock()
        c.attempts[k["n"] - 1]["outcome"] = "answered"
        if k["agent"]:
            k["agent_status"], k["deadline"] = "assigned", 0.0
            self._tell_to(k["agent"], c)
            self._refresh(self._records[k["agent"]])
        self._tell_requester(c)
        self._connect(c)

    def _consult_over(self, c: ContactRecord, why: str, tell_requester: bool = True):
        """The consult ends (``why``: requester, consulted, rona, rejected, failed, over): its
        legs are hung up; a consulted agent leaves it (``wrapped_up`` when it left by itself,
        ``rona`` when it did not take it, else ``ended``) owing nothing. The customer stays
        as it was (held: the requesting phone resumes it)."""
        k = c.consult
        assert k is not None
        c.consult = None
        self._dirty_contacts[c.id] = c
        for role in (CONSULT, CONSULTED):
            self._hang_up_leg(c, role)
        attempt = c.attempts[k["n"] - 1]
        if not attempt["outcome"]:
            attempt["outcome"] = why if why in ("rona", "rejected", "failed") else "cancelled"
        log.info("contact %s: the consult of %s is over (%s)", c.id, k["who"], why)
        if tell_requester and c.agent == k["requester"] and c.status not in FINISHED:
            self._tell(c)
        agent = k["agent"]
        if agent and self._on_agent[agent].pop(c.id, None) is not None:
            s = self._records[agent]
            missed = why in ("rona", "rejected", "failed")
            status = "rona" if missed else "wrapped_up" if why == "consulted" else "ended"
            self._emit(s, p.ContactUpdate, contact=self._wire_consulted(c, k, agent, status))
            if missed:
                keep = s.pending is not None and s.pending.state != "available"
                idle = "rejected" if why == "rejected" else "rona"
                self._refresh(s, pending=s.pending if keep else p.Pending("idle", idle))
            else:
                self._settle(s)
        self._connect(c)

    def _wire_consulted(self, c: ContactRecord, k: dict, agent: str, status: str) -> p.Contact:
        """The consulted agent's last word on a consult that is over."""
        r = self._agents[k["requester"]]
        return msgspec.structs.replace(
            self._wire(c, status, agent), primary=False, token="",
            requested_by=p.Requester(r.name, extension_user(r.extension), r.team))

    def _tell_requester(self, c: ContactRecord):
        if c.consult is not None and c.agent == c.consult["requester"]:
            self._tell(c)

    def _consulted_call(self, c: ContactRecord, event: str):
        """The consulted agent's phone reports its call."""
        k = c.consult
        assert k is not None
        status = k["agent_status"]
        if event == "ringing":
            self._consult_ringing(c)
        elif event == "answered" and status in UNANSWERED:
            self._consult_answered(c)
        elif event in ("held", "resumed") and status in TALKING:
            k["agent_status"] = "held" if event == "held" else "assigned"
            self._tell_to(k["agent"], c)
            self._refresh(self._records[k["agent"]])
            self._connect(c)
        elif event == "ended":
            self._consult_over(c, "rejected" if status in UNANSWERED else "consulted")

    def _consult_leg_call(self, c: ContactRecord, event: str):
        """The requesting phone reports its consult leg: hold and resume it (swap), end it."""
        k = c.consult
        assert k is not None
        if event in ("held", "resumed"):
            k["held"] = event == "held"
            self._dirty_contacts[c.id] = c
            self._connect(c)
        elif event == "ended":
            self._consult_over(c, "requester")

    def _consult_transfer(self, c: ContactRecord):
        """The customer goes to the consulted party, who has the call from now on; the
        requesting agent's legs end and it owes the wrap-up."""
        k = c.consult
        assert k is not None
        requester, theirs = c.agent, self.legs.of(c.id, CONSULTED)
        assert theirs is not None
        c.consult = None
        self._hang_up_leg(c, AGENT)
        self._hang_up_leg(c, CONSULT)
        self._owe(c, requester)
        self.legs.recast(theirs, AGENT)
        c.agent_leg = theirs.leg
        c.attempts[k["n"] - 1]["transferred"] = True
        log.info("contact %s: agent %s transferred it to %s", c.id, requester, k["who"])
        if k["agent"]:
            c.agent, c.token = k["agent"], k["agent_token"]
            c.status = "held" if k["agent_status"] == "held" else "assigned"
        else:
            c.agent, c.token, c.status = "", "", "transferred"
        self._connect(c)
        if c.agent:
            self._tell(c)
            self._refresh(self._records[c.agent])
        self._settle(self._records[requester])

    def _owe(self, c: ContactRecord, agent: str):
        """The agent passes the contact on: its call is over and it owes the wrap-up."""
        at = self.clock() + self.settings.wrapup_s if self.settings.wrapup_s else 0.0
        c.owed[agent] = at
        self._arm_at(at, c)
        self._tell_to(agent, c, "ended")
        self._tell_to(agent, c, "wrapup")

    def _wrap_owed(self, c: ContactRecord, agent: str, code: str, note: str = ""):
        del c.owed[agent]
        attempt = next((a for a in reversed(c.attempts)
                        if a.get("agent") == agent and not a.get("consult")), None)
        if attempt is not None:
            attempt["wrapup"] = code
            if note:
                attempt["note"] = note
        self._tell_to(agent, c, "wrapped_up")
        self._on_agent[agent].pop(c.id, None)
        if not c.owed and c.status in FINISHED:
            self._live.pop(c.id, None)
        log.info("contact %s wrapped up by %s (passed on): %s", c.id, agent, code)
        self._settle(self._records[agent])

    def _number_gone(self, c: ContactRecord, answered: bool):
        """The number the contact was transferred to hung up (the call is over) or never
        answered (the customer goes back to the contact's queue)."""
        if answered:
            self._hang_up_legs(c)
            self._finish(c, "wrapped_up")
            return
        c.attempts[-1]["outcome"] = "failed"
        c.status, c.agent_leg = "queued", ""
        self._connect(c)
        self._route(c)

    def _arm_at(self, at: float, c: ContactRecord):
        if at:
            heapq.heappush(self._timers, (at, c.id))

    # -- restart: a consult's legs -----------------------------------------------------------
    def _role_of(self, c: ContactRecord, name: str, direction: object) -> str | None:
        """Which of the contact's legs the bridge's leg ``name`` is, if any."""
        if self._reserving(c):
            return self._reservation_role(c, name)
        if c.kind == "callback" and c.status == "dialing":
            return self._callback_role(c, name)
        if c.kind != "inbound" and not self._bridge_calls(c):
            return None
        if self._bridge_calls(c) and name == customer_leg_name(c.id):
            return CUSTOMER if c.status in BRIDGED + ("dialing",) else None
        k = c.consult
        if k is not None:
            mine, theirs = consult_leg_names(c.id, k["n"])
            if name in (mine, theirs):
                return CONSULT if name == mine else CONSULTED
        if c.status not in BRIDGED:
            return None
        if any(m["leg"] == name for m in (c.conference or {}).get("members", ())):
            return PARTY
        if direction == "in":
            return CUSTOMER if c.kind == "inbound" else None
        current = c.agent_leg or agent_leg_name(c.id, len(c.attempts))
        return AGENT if c.status != "queued" and name == current else None

    def _leg_party(self, c: ContactRecord, role: str, name: str) -> tuple[str, str]:
        """(agent, number) of the contact's leg ``name`` in ``role``."""
        k = c.consult or {}
        if role == CONSULT:
            return k["requester"], ""
        if role == CONSULTED:
            return k["agent"], k["number"]
        if role == AGENT:
            return c.agent, "" if c.agent else c.attempts[-1].get("number", "")
        if role == PARTY:
            m = next(m for m in (c.conference or {})["members"] if m["leg"] == name)
            return m["agent"], m["number"]
        return "", ""

    def _adopt_consult(self, c: ContactRecord):
        """After a restart: a consult whose legs are gone is over; one whose consulted party
        answered meanwhile is talking."""
        k = c.consult
        assert k is not None
        mine, theirs = self.legs.of(c.id, CONSULT), self.legs.of(c.id, CONSULTED)
        if theirs is None:
            self._consult_over(c, "consulted" if k["status"] == "talking" else "failed")
        elif mine is None:
            self._consult_over(c, "requester")
        elif theirs.state == "answered":
            self._consult_answered(c)
        elif theirs.state == "ringing":
            self._consult_ringing(c)
        if c.consult is not None:
            self._connect(c)

    def change_settings(self, changes: dict) -> p.Settings:
        """The admin changes settings (PATCH /api/settings) while the centre runs: each phone
        logged in gets a snapshot carrying them at once, as after a reconnect, so no agent has to
        log in again. Only LIVE_SETTINGS may change; ValueError before any change otherwise.
        Kept until ccsim restarts (the scenario's then)."""
        for name, value in changes.items():
            if name not in LIVE_SETTINGS:
                raise ValueError(f"{str(name)[:40]!r}: not a setting that can be changed while "
                                 f"running (these can: {', '.join(LIVE_SETTINGS)})")
            if not isinstance(value, bool):
                raise ValueError(f"{name}: expected true or false, got {value!r}"[:120])
        settings = msgspec.structs.replace(self.settings, **changes)
        if settings == self.settings:
            return settings
        self.settings = settings
        log.info("settings changed by the admin: %s",
                 ", ".join(f"{k}={v}" for k, v in sorted(changes.items())))
        for agent, s in self._records.items():
            if s.state != "logged_out":
                snapshot = self.snapshot(agent)
                self.outbox.append((agent, snapshot, p.encode(snapshot)))
        return settings

    # -- admin views -------------------------------------------------------------------------
    def contact_info(self, contact: str) -> dict | None:
        c = self._live.get(contact) or self.store.contact(contact)
        if c is None:
            return None
        k = c.consult
        consult = None if k is None else {
            "who": k["who"], "kind": k["kind"], "status": k["status"], "since": k["since"],
            "requested_by": k["requester"], "agent": k["agent"] or None,
            "agent_state": k["agent_status"] or None, "number": k["number"] or None,
            "held": bool(k.get("held"))}
        return {"id": c.id, "kind": c.kind, "queue": c.queue, "ani": c.ani, "state": c.status,
                "agent": c.agent or None, "wrapup": c.wrapup or None, "note": c.note or None,
                "attempts": c.attempts,
                "participants": self.legs.participants(c.id),
                "control": c.agent if c.status in TALKING else None, "consult": consult,
                "conference": None if c.conference is None else {
                    "since": c.conference["since"], "post_call": c.conference["post_call"],
                    "members": [{"agent": m["agent"] or None, "number": m["number"] or None,
                                 "joined": m["joined"], "leg": m["leg"]}
                                for m in c.conference["members"]]},
                "recording": self._recording_info(c),
                "variables": self._variables_info(c),
                "wrapup_owed": sorted(c.owed), "messages_played": self._messages_info(c),
                "apps": self._apps_info(c.id),
                **self._campaign_contact_info(c),
                **self._callback_contact_info(c)}

    def agent_info(self, agent: str) -> dict | None:
        s = self._records.get(agent)
        if s is None:
            return None
        pending = ({"state": s.pending.state, "reason": s.pending.reason,
                    **({"at": s.pending.at} if s.pending.at else {})} if s.pending else None)
        return {"id": agent, "state": s.state, "reason": s.reason, "pending": pending}

    def favorites_info(self, agent: str) -> list[dict] | None:
        if agent not in self._favorites:
            return None
        return [msgspec.to_builtins(f) for f in self._favorites[agent]]

    # -- the directory and favorites ---------------------------------------------------------
    def directory(self, agent: str, query: str = "") -> tuple[list[p.DirectoryEntry], bool]:
        """The entries whose name or number holds ``query`` (any case; "": all), agents with
        their state now: (at most MAX_DIRECTORY_ENTRIES of them, whether more matched)."""
        self._logged_in(agent)
        q = query.casefold()
        found = [e for e in self._entries() if q in e.name.casefold() or q in e.number.casefold()]
        return found[:p.MAX_DIRECTORY_ENTRIES], len(found) > p.MAX_DIRECTORY_ENTRIES

    def _entries(self) -> list[p.DirectoryEntry]:
        """Agents, queues, entry points and dial numbers, in the scenario's order."""
        numbers = dict(self.scenario.queue_numbers)
        return ([p.DirectoryEntry("agent", a.id, a.name, extension_user(a.extension),
                                  self._records[a.id].state) for a in self.scenario.agents]
                + [p.DirectoryEntry("queue", q, q, numbers.get(q, ""))
                   for q in self.scenario.queues]
                + [p.DirectoryEntry("entry_point", e.name, e.name, e.number)
                   for e in self.scenario.entry_points]
                + [p.DirectoryEntry("number", d.name, d.name, d.number)
                   for d in self.scenario.dial_numbers])

    @_atomic
    def favorite_add(self, agent: str, kind: str, number: str, target: str = "",
                     name: str = ""):
        """A favorite for the agent: a directory entry (``target``: its id; kept with the
        directory's name and number for it) or a typed number (``target`` ""; one that a
        directory entry has is kept as that entry, so an agent's extension keeps the agent's
        name). A number that is a favorite already changes nothing."""
        self._logged_in(agent)
        if target or kind != "number":
            entry = next((e for e in self._entries() if (e.kind, e.id) == (kind, target)), None)
            if entry is None:
                raise Refused("bad_favorite", "Not in the directory")
        else:                   # the phone's label is checked even when the directory's wins
            _check_favorite_name(name)
            entry = next((e for e in self._entries() if number and e.number == number), None)
        if entry is not None:
            kind, target, number, name = entry.kind, entry.id, entry.number, entry.name
        if not (0 < len(number) <= p.MAX_DIAL_CHARS and DIALABLE.fullmatch(number)):
            raise Refused("bad_favorite", "No number to dial")
        _check_favorite_name(name)
        favorites = self._favorites[agent]
        if any(f.number == number for f in favorites):
            return
        if len(favorites) >= p.MAX_FAVORITES:
            raise Refused("too_many_favorites", f"Favorites full ({p.MAX_FAVORITES} max)")
        favorites.append(p.Favorite(kind=kind, number=number, id=target, name=name))
        self._favorites_changed(agent)

    @_atomic
    def favorite_remove(self, agent: str, number: str = "", target: str = ""):
        """Remove the favorite with ``number``, or (no number) those of directory entry
        ``target``; none there: nothing to do."""
        self._logged_in(agent)
        if not (number or target):
            raise Refused("bad_favorite", "Which favorite? No number or target")
        favorites = self._favorites[agent]
        kept = [f for f in favorites if not (f.number == number if number else f.id == target)]
        if len(kept) != len(favorites):
            self._favorites[agent] = kept
            self._favorites_changed(agent)

    def _favorites_changed(self, agent: str):
        """Kept, and told to the agent's phone (the list as it is now)."""
        self.store.save_favorites(agent, self._favorites[agent])
        self._emit(self._records[agent], p.Favorites, favorites=list(self._favorites[agent]))

    def take_outbox(self) -> list[tuple[str, p.ServerMessage, str]]:
        out, self.outbox = self.outbox, []
        return out

    # -- agents ------------------------------------------------------------------------------
    def _logged_in(self, agent: str) -> AgentRecord:
        s = self._records.get(agent)
        if s is None or s.state == "logged_out":
            raise Refused("not_logged_in", "send hello first")
        return s

    def _contact_of(self, agent: str, contact: str) -> ContactRecord:
        c = self._on_agent[agent].get(contact)
        if c is None:
            raise Refused("unknown_contact", f"contact {contact} is not yours")
        return c

    def _apply(self, s: AgentRecord, state: str, reason: str = "",
               pending: p.Pending | None = None):
        """Set the agent's state; tell the phone if anything changed."""
        if state == "available" and s.state != "available":
            s.available_since = self.clock()
        if state == "available" and not self._on_agent[s.agent] and not self._leaving(pending):
            self.router.set_ready(s.agent, s.available_since)
        else:
            self.router.set_busy(s.agent)
        if (s.state, s.reason, s.pending) != (state, reason, pending):
            s.state, s.reason, s.pending = state, reason, pending
            self._emit(s, p.AgentState, state=state, reason=reason, pending=pending)

    def _refresh(self, s: AgentRecord, pending=_KEEP):
        """Derive the agent's state from its contacts; with none left, apply what is pending."""
        pending = s.pending if pending is _KEEP else pending
        statuses = {self._seen(s.agent, c) for c in self._on_agent[s.agent].values()}
        if statuses:
            self._apply(s, next(st for status, st in _BUSY if status in statuses), "", pending)
        elif s.state in BUSY_STATES:
            then = pending or p.Pending("available")
            if then.state == "logged_out" and then.at > self.clock():
                self._apply(s, "idle", "", then)    # a negotiated logout: at ``at``
            elif then.state == "logged_out":
                self._log_out(s, then.reason)
            else:
                self._apply(s, then.state, then.reason)

    def _settle(self, s: AgentRecord, pending=_KEEP):
        self._refresh(s, pending)
        self._serve(s)

    def _can_take(self, s: AgentRecord) -> bool:
        """Available, or (stacking) only unanswered offers, fewer than max_offers."""
        if self._leaving(s.pending):
            return False
        if s.state == "available":
            return True
        contacts = self._on_agent[s.agent].values()
        return (0 < len(contacts) < self.settings.max_offers
                and (s.pending is None or s.pending.state == "available")
                and all(self._seen(s.agent, c) in UNANSWERED for c in contacts))

    def _serve(self, s: AgentRecord):
        """Give a free agent the oldest contacts waiting in its queues."""
        while self._can_take(s) and (cid := self.router.oldest_waiting(s.agent)):
            self._reserve(self._live[cid], s)
        self._serve_campaign(s)                 # nothing waiting: a campaign's next record

    @staticmethod
    def _leaving(pending: p.Pending | None) -> bool:
        """A negotiated logout is under way: nothing new for the agent."""
        return pending is not None and pending.state == "logged_out"

    def _log_out(self, s: AgentRecord, reason: str):
        self._help_at_logout(s.agent)           # told while the phone still listens
        s.state, s.reason, s.pending, s.session_id = "logged_out", reason, None, ""
        self.router.set_busy(s.agent)
        self._emit(s, p.LoggedOut, reason=reason)
        log.info("agent %s logged out (%s)", s.agent, reason or "no reason")

    def _emit(self, s: AgentRecord, kind, **fields):
        """The agent's next event: numbered, stored, and queued for its phone."""
        s.seq += 1
        message = kind(seq=s.seq, **fields)
        text = p.encode(message)
        self.store.add_event(s.agent, s.seq, self.clock(), p.encode(_without_token(message)))
        self._dirty_agents[s.agent] = s
        self.outbox.append((s.agent, message, text))

    # -- contacts ----------------------------------------------------------------------------
    def _wire(self, c: ContactRecord, status: str | None = None,
              agent: str | None = None) -> p.Contact:
        """The contact as ``agent`` (default: its primary agent) sees it: the primary with its
        consult; a consulted agent (``primary`` false, who asked); an agent who passed it on
        and owes its wrap-up."""
        agent = agent or c.agent
        status = status or self._seen(agent, c)
        k = c.consult
        consult = requested_by = None
        primary, token, expires = True, c.token, c.deadline
        wrapup_deadline = c.deadline
        if agent in c.owed:
            token, wrapup_deadline = "", c.owed[agent]
        elif self._consulted(agent, c):
            assert k is not None
            primary, token, expires = False, k["agent_token"], k["deadline"]
            r = self._agents[k["requester"]]
            requested_by = p.Requester(r.name, extension_user(r.extension), r.team)
        elif (member := member_of(agent, c)) is not None:
            primary, token = False, member["token"]
        if k is not None and k["requester"] == agent == c.agent:
            consult = p.ConsultLeg(who=k["who"], kind=k["kind"], status=k["status"],
                                   since=k["since"], token=k["token"])
        conf = c.conference
        conference = (p.ConferenceState(since=conf["since"], post_call=conf["post_call"])
                      if conf is not None and status not in ("wrapup", "wrapped_up", "ended")
                      else None)
        variables, versions, changed_by = self._wire_variables(c)
        # a reservation call (reservation.py): its token while it decides; no countdown
        # until it is up
        reservation = self._reservation(c)
        return p.Contact(id=c.id, status=status, ani=c.ani, variables=variables,
                         queue="" if c.kind == "campaign" else c.queue,   # its campaign's
                         kind=c.kind if c.kind in ("outbound", "campaign", "callback")
                         else "inbound",
                         offered_at=c.offered_at,
                         expires_at=expires if status in ("offered", "preview")
                         and reservation != "ringing" else 0.0,
                         wrapup_deadline=wrapup_deadline if status == "wrapup" else 0.0,
                         primary=primary,
                         token=token if status in UNANSWERED + TALKING
                         or (status in ("preview", "dialing")
                             and (self._reserving(c) or c.kind == "callback")) else "",
                         consult=consult, requested_by=requested_by,
                         participants=self._participants(c),
                         control=c.agent if c.status in TALKING else "",
                         conference=conference,
                         recording=self._wire_recording(c) if status in TALKING else None,
                         versions=versions, changed_by=changed_by,
                         campaign=(c.campaign or {}).get("id", ""),
                         customer=(c.campaign or c.callback or {}).get("customer", ""),
                         failed=(c.campaign or c.callback or {}).get("failed", ""),
                         alternates=self._alternates(c),
                         rescheduled=(c.campaign or {}).get("rescheduled", ""),
                         machine=bool((c.campaign or {}).get("machine")),
                         # (a direct preview's released: the phone shows it without one)
                         reservation=reservation in ("ringing", "up"),
                         callback=(c.callback or {}).get("id", ""),
                         dnis=(c.callback or {}).get("dnis", ""),
                         cancel=bool((c.callback or {}).get("cancel")),
                         auto_answer=status in UNANSWERED and self._auto_answer(c))

    def _tell(self, c: ContactRecord, status: str | None = None):
        """Tell its primary agent."""
        self._tell_to(c.agent, c, status)

    def _tell_to(self, agent: str, c: ContactRecord, status: str | None = None):
        self._dirty_contacts[c.id] = c
        self._emit(self._records[agent], p.ContactUpdate, contact=self._wire(c, status, agent))

    def _seen(self, agent: str, c: ContactRecord) -> str:
        """The contact's status as this agent has it (agent states and requests follow it)."""
        if agent in c.owed:
            return "wrapup"
        if self._consulted(agent, c):
            assert c.consult is not None
            return str(c.consult["agent_status"])
        if member_of(agent, c) is not None:
            return "assigned"
        return c.status

    @staticmethod
    def _consulted(agent: str, c: ContactRecord) -> bool:
        return c.consult is not None and c.consult["agent"] == agent and c.agent != agent

    @staticmethod
    def _requester(agent: str, c: ContactRecord) -> bool:
        return c.consult is not None and c.consult["requester"] == agent == c.agent

    def _participants(self, c: ContactRecord) -> list[p.Participant]:
        """Who is on the call, from the bridge's legs (the requesting agent's consult leg is
        that agent's second call: listed once)."""
        out = []
        k = c.consult
        for leg in self.legs.of_contact(c.id):
            if leg.role == CONSULT:
                continue
            held = ((leg.role == AGENT and c.status == "held")
                    or (leg.role == CONSULTED and k is not None
                        and k["agent_status"] == "held"))
            state = ("ringing" if leg.state != "answered" else "music" if leg.hold_music
                     else "held" if held else "talking")
            if leg.role == CUSTOMER:
                out.append(p.Participant(who=c.ani, kind="customer", state=state))
            elif leg.agent:
                out.append(p.Participant(who=self._agents[leg.agent].name, kind="agent",
                                         state=state, agent=leg.agent))
            else:
                out.append(p.Participant(who=leg.number, kind="number", state=state))
        return out

    def _arm(self, c: ContactRecord):
        if c.deadline:
            heapq.heappush(self._timers, (c.deadline, c.id))
        if c.recording is not None and c.recording["state"] == "paused":   # (a restart)
            self._arm_at(c.recording["resumes_at"], c)

    def _route(self, c: ContactRecord):
        """Reserve the longest-Available agent of the contact's queue (a personal callback's:
        its assignee's own), else let it wait."""
        queue = self._routing_queue(c)
        agent = self.router.longest_ready(queue)
        if agent is None and self.settings.max_offers > 1:
            stackable = [s for a in self.router.members(queue)
                         if self._can_take(s := self._records[a])]
            if stackable:
                agent = min(stackable, key=lambda s: (len(self._on_agent[s.agent]),
                                                      s.available_since)).agent
        if agent is None:
            self.router.add_waiting(queue, c.n, c.id)
        else:
            self._reserve(c, self._records[agent])

    def _reserve(self, c: ContactRecord, s: AgentRecord):
        now = self.clock()
        self.router.remove_waiting(c.id)
        c.status, c.agent, c.offered_at = "reserved", s.agent, now
        c.deadline = now + self.settings.rona_s
        c.attempts.append({"agent": s.agent, "at": now, "outcome": ""})
        c.token = secrets.token_urlsafe(TOKEN_BYTES)     # new for every attempt
        c.agent_leg = agent_leg_name(c.id, len(c.attempts))
        self._on_agent[s.agent][c.id] = c
        self._arm(c)
        self.offers += 1
        if self._dialed(c):
            self._dial_reserved(c)
        log.info("contact %s reserved agent %s", c.id, s.agent)
        self._tell(c)
        extension = self._agents[s.agent].extension
        if self.bridge is None:
            self.customers.dial(c.id, extension, c.ani,
                                c.talk_s or self.scenario.customers.talk_s, c.token)
        else:                                   # the bridge calls the agent: a leg per attempt
            leg = self.legs.add(Leg(c.agent_leg, c.id, AGENT, agent=s.agent))
            self.bridge.dial(leg.leg, extension, {CONTACT_HEADER: c.id, TOKEN_HEADER: c.token},
                             ring_s=2 * self.settings.rona_s + RING_SLACK_S)
        self._refresh(s)

    def _offer(self, c: ContactRecord):
        c.status, c.deadline = "offered", self.clock() + self.settings.rona_s
        self._arm(c)
        self._tell(c)
        self._refresh(self._records[c.agent])

    def _answer(self, c: ContactRecord):
        if c.kind == "callback" and self._callback_answer(c):
            return                              # the bridge calls the customer first
        c.status, c.deadline = "assigned", 0.0
        c.attempts[-1]["outcome"] = "answered"
        if self._dialed(c):
            self._dial_connected(c)
        self._tell(c)
        self._refresh(self._records[c.agent])

    def _hold(self, c: ContactRecord, held: bool):
        c.status = "held" if held else "assigned"
        self._tell(c)
        self._refresh(self._records[c.agent])
        self._connect(c)                        # bridged: music while held, then back

    def _end(self, c: ContactRecord):
        """The call is over: the agent is told, then wraps up (auto after wrapup_s if set)."""
        c.status, c.token = "wrapup", ""          # no call is bound to it any more
        c.deadline = self.clock() + self.settings.wrapup_s if self.settings.wrapup_s else 0.0
        self._arm(c)
        self._tell(c, "ended")
        self._tell(c)
        self._refresh(self._records[c.agent])

    def _wrap(self, c: ContactRecord, code: str, note: str = ""):
        s = self._records[c.agent]
        c.wrapup, c.note, c.deadline = code, note, 0.0
        if c.kind == "campaign":
            self._record_done(c, code)
        self._tell(c, "wrapped_up")
        self._finish(c, "wrapped_up")
        log.info("contact %s wrapped up by %s: %s", c.id, s.agent, code)
        self._settle(s)

    def _withdraw(self, c: ContactRecord, outcome: str = "withdrawn"):
        """The customer hung up while the agent was being offered the contact (or, outbound,
        never answered the agent's call)."""
        s = self._records[c.agent]
        c.attempts[-1]["outcome"] = outcome
        c.deadline = 0.0
        self._tell(c, "withdrawn")
        self._finish(c, "abandoned")
        self._settle(s)

    def _rona(self, c: ContactRecord, outcome: str, idle: str = "rona"):
        """Not answered in time (or rejected, or the phone unreachable): back to the queue, and
        the agent goes Idle ``idle`` unless it asked for Idle (or logout) already."""
        s = self._records[c.agent]
        c.attempts[-1]["outcome"] = outcome
        c.deadline = 0.0
        self._tell(c, "rona")
        del self._on_agent[s.agent][c.id]
        if self.bridge is None:
            self.customers.hangup(c.id)
        else:                                   # only the agent's leg: the customer stays
            self._hang_up_leg(c, AGENT)
        c.status, c.agent, c.token = "queued", "", ""
        self._connect(c)
        log.info("contact %s: RONA (%s) by agent %s, back to queue %s", c.id, outcome, s.agent,
                 c.queue)
        keep = s.pending is not None and s.pending.state != "available"
        self._refresh(s, pending=s.pending if keep else p.Pending("idle", idle))
        self._route(c)

    def _finish(self, c: ContactRecord, status: str):
        """The contact is over (a consult still up ends with it); it is kept among the live
        ones while an agent who passed it on still owes its wrap-up."""
        if c.consult is not None:
            self._consult_over(c, "over", tell_requester=False)
        c.status, c.token = status, ""
        self._keys.pop(c.id, None)
        self._dirty_contacts[c.id] = c
        if c.kind == "callback":
            self._callback_over(c, status)
        self._on_agent.get(c.agent, {}).pop(c.id, None)
        if not c.owed:
            self._live.pop(c.id, None)


def _without_token(message: p.ServerMessage) -> p.ServerMessage:
    """The event as stored (and shown by the admin API): a contact's token only ever goes to
    its agent's phone."""
    if isinstance(message, p.ContactUpdate) and (
            message.contact.token or (message.contact.consult and message.contact.consult.token)):
        consult = message.contact.consult
        return msgspec.structs.replace(message, contact=msgspec.structs.replace(
            message.contact, token="",
            consult=msgspec.structs.replace(consult, token="") if consult else None))
    return message


def _up(leg: Leg | None) -> bool:
    return leg is not None and leg.state == "answered"


def consult_room(contact: str) -> str:
    """The room a consult's two legs talk in (the contact's own room is its id)."""
    return f"{contact}.k"
