"""The dialer of progressive and predictive campaigns (docs/cc-protocol.md, "Campaigns"):
ccsim's media bridge calls the records, and an answered customer is routed to the campaign's
agents like an inbound customer. A mixin of Engine (engine.py imports this module).

**Pacing** (pacing.py) runs whenever something that matters changes (an agent freed, a
contact over, a call's outcome, a campaign started) and every PACE_S while a dialing campaign
is started (a record's calling hours or its retry time may have come): for each started
progressive or predictive campaign, the free agents (assigned, Available, no contact, nothing
pending) and the calls in flight (dialing, or answered and not yet reserved to an agent) say
how many of its next dialable records to call.

**A record's call** is a contact of kind "campaign" (``c.campaign`` {"id", "record",
"customer", "failed", "dialer": true, "answered_at"}) in the campaign's pseudo-queue
``campaign:<id>``, whose members are the campaign's agents (the router's). It is "dialing",
on no agent, while the bridge rings the number (leg "<contact>.c", ``ring_s``); answered, it
is "queued": the customer hears hold music until an agent's phone answers the offer, as an
inbound customer does (reserved, offered, assigned, wrap-up with the campaign's
dispositions). A predictive campaign's offers carry ``auto_answer``.

**Outcomes.** Each call is an attempt on its record ({"at", "agent", "outcome", "reason"?,
"answered_at"?, "disposition"?}); outcome "" while dialing, then "busy", "no_answer" or
"failed" (the bridge's reason kept), "answered" while waiting, "connected" once an agent
answered, "abandoned" when the customer got no agent: a predictive campaign's answered
customer not reserved to an agent within ``abandon_s`` (the bridge plays the campaign's
``message`` then hangs up; without one, hold music for ``message_s``), or one who hung up
while waiting; "machine" (an answering machine, ``machine_action = "message"``: the bridge
played it the message, ``message_left``), "message_left" (the agent pressed Msg:
``play_message``).

**The lab's outcomes** (a campaign's ``outcomes``: rates of answer, busy, no_answer, machine):
each call the bridge places draws one (``lab_outcome``, seeded by campaign, record and
attempt: the same every run) and carries it as X-Lab-Outcome, which the simulated customers'
"answer" numbers act out (customers.py: 486, ringing on, an answering machine). The attempt's
outcome is still what the bridge reports of the call, not what was drawn.

**Answering machines** (``amd``, a bridge that detects them): the customer's leg is dialed
with "amd"; answered, the contact waits (``c.campaign["amd"]`` "pending") for the bridge's
"amd" event before it is routed (``_dial_amd``): "machine" sets ``machine`` (the wire's
Contact.machine, the admin's), and with ``machine_action = "message"`` the bridge plays the
message and hangs up instead of an agent being offered the call. A record not connected goes back
to the end of the list, dialed again no sooner than ``retry_s`` later, until ``max_attempts``;
then it is done with the system disposition of its last outcome (no_answer, busy, failed,
abandoned). Calling hours and the do-not-call list (campaigns.py) hold for every mode.

**Restart**: the records "dialing" have their contacts in the database; ``adopt`` maps the
bridge's legs back ("<contact>.c" is the customer's), a call gone meanwhile counts as failed,
and nothing is dialed before the bridge's legs are known (``_bridge_ready``).
"""
from __future__ import annotations

import bisect
import heapq
import logging
import random
from collections.abc import Iterable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from . import pacing
from .legs import AGENT, CONTACT_HEADER, CUSTOMER, OUTCOME_HEADER, Leg
from .scenario import LAB_OUTCOMES, CampaignConfig
from .store import CampaignRecord, ContactRecord, atomic

log = logging.getLogger("ccsim")

DIALER_TIMER = "dialer:"            # timer keys: "dialer:pace", "dialer:abandon:<contact>",
PACE_TIMER = "dialer:pace"          # "dialer:hangup:<leg>" (an abandoned customer's message)
ABANDON_TIMER = "dialer:abandon:"
HANGUP_TIMER = "dialer:hangup:"
PACE_S = 5.0                        # pacing runs at least this often while a campaign dials
DIAL_SLACK_S = 10.0                 # a call still dialing ring_s + this after it was placed is
                                    # given up by ccsim (the bridge gives up at ring_s)
WAITING = ("queued", "reserved", "offered")     # answered, no agent talking yet
# the system disposition of a record done without reaching an agent
SYSTEM_DISPOSITIONS = {"busy": "busy", "no_answer": "no_answer", "failed": "failed",
                       "abandoned": "abandoned", "machine": "machine"}
AMD_RESULTS = ("human", "machine", "unknown")


def queue_of(campaign: str) -> str:
    """A dialing campaign's pseudo-queue: its answered customers wait there for its agents."""
    return f"campaign:{campaign}"


def customer_leg_name(contact: str) -> str:
    return f"{contact}.c"


def outcome_of(reason: str) -> str:
    """A call that ended before it was answered, by the bridge's reason: busy, no_answer,
    failed."""
    text = reason.lower()
    if "busy" in text or "(486)" in text or "(600)" in text:
        return "busy"
    if "no answer" in text or "(480)" in text or "(408)" in text:
        return "no_answer"
    return "failed"


def lab_outcome(outcomes: Mapping[str, float] | Iterable[tuple[str, float]], campaign: str,
                index: int, attempt: int) -> str | None:
    """The lab's simulated outcome (one of LAB_OUTCOMES) of campaign ``campaign``'s call to
    record ``index``, its ``attempt``-th attempt (1: the first), drawn at the campaign's
    ``outcomes`` rates (CampaignConfig.outcomes' pairs, or a mapping) with randomness seeded
    by the three: the same call draws the same outcome every run. None: no ``outcomes``."""
    rates = dict(outcomes)
    if not rates:
        return None
    draw = random.Random(f"{campaign}:{index}:{attempt}").random()
    total, last = 0.0, None
    for outcome in LAB_OUTCOMES:
        rate = rates.get(outcome, 0.0)
        total += rate
        if rate > 0:
            last = outcome
            if draw < total:
                return outcome
    return last                         # the rates' sum a hair under 1: the last one


def lab_headers(cfg: CampaignConfig, r: CampaignRecord) -> dict[str, str]:
    """The lab's headers of a call the bridge places to record ``r`` for campaign ``cfg``
    (to be added to the INVITE's): X-Lab-Outcome, the outcome drawn for the record's latest
    attempt (so: once the call's attempt is appended), when the campaign has ``outcomes``;
    else none."""
    outcome = lab_outcome(cfg.outcomes, cfg.id, r.index, len(r.attempts))
    return {OUTCOME_HEADER: outcome} if outcome else {}


class Dialer:
    def _init_dialer(self):
        self._bridge_ready = False      # the bridge's legs are known (adopt): dialing may start
        self._pace_armed = 0.0          # the pace timer's time, 0: none armed
        self._records_looked = 0        # records _eligible looked at (a measure for tests)

    @staticmethod
    def _dialed(c: ContactRecord) -> bool:
        """A contact the dialer placed (its customer's leg is the bridge's call to them)."""
        return c.kind == "campaign" and bool((c.campaign or {}).get("dialer"))

    def _campaign_queues(self, agent: str) -> tuple[str, ...]:
        """The dialing campaigns' pseudo-queues the agent is a member of (the router's)."""
        return tuple(queue_of(cfg.id) for cfg in self._campaigns.values()
                     if cfg.dialer and agent in cfg.agents)

    # -- pacing ------------------------------------------------------------------------------
    def _dialing_now(self, cfg: CampaignConfig) -> bool:
        return (cfg.dialer and self._campaign_status[cfg.id] == "started"
                and self.bridge is not None and self._bridge_ready)

    def _pace_agent(self, agent: str):
        """An agent may have been freed: its dialing campaigns place calls."""
        for cfg in self._campaigns.values():
            if agent in cfg.agents and self._dialing_now(cfg):
                self._pace(cfg)
        self._arm_pace()

    def _pace_all(self):
        for cfg in self._campaigns.values():
            if self._dialing_now(cfg):
                self._pace(cfg)
        self._arm_pace()

    def _free_agents(self, cfg: CampaignConfig) -> int:
        return sum(1 for a in cfg.agents
                   if (s := self._records[a]).state == "available" and not self._on_agent[a]
                   and s.pending is None)

    def _in_flight(self, cfg: CampaignConfig) -> int:
        return sum(1 for c in self._live.values()
                   if self._dialed(c) and c.campaign["id"] == cfg.id
                   and c.status in ("dialing", "queued"))

    def _pace(self, cfg: CampaignConfig):
        free = self._free_agents(cfg)
        if not free:
            return
        stats = self._dial_stats(cfg)
        finished = stats["answered"] + sum(stats["failed"].values())
        n = pacing.to_dial(cfg.mode, free, self._in_flight(cfg),
                           answer_rate=stats["answered"] / finished if finished else None,
                           abandon_rate=stats["abandon_rate"],
                           abandon_limit=cfg.abandon_limit, max_ratio=cfg.max_ratio)
        if n <= 0:
            return
        now = self.clock()
        for r in self._eligible(cfg, now, n):
            self._dial_record(cfg, r)

    def _eligible(self, cfg: CampaignConfig, now: float,
                  limit: int | None = None) -> list[CampaignRecord]:
        """The campaign's records that may be called now, in list order (the first ``limit``):
        pending, not on the do-not-call list, within their calling hours, past their retry
        time. Only the pending records whose retry (or recall) time has come, in zones within
        their calling hours, are looked at (campaigns.RecordBook), in list order until enough."""
        self._sync_records()
        book = self._books[cfg.id]
        book.promote(now)
        dnc = book.dnc
        # the calling hours are the zone's: one record of each zone says
        zones = [z for z in book.ready.values()
                 if z and (cfg.calling_hours is None
                           or self._in_hours(cfg, book.by_index[z[0][1]], now))]
        out: list[CampaignRecord] = []
        if limit is not None and limit <= 0:
            return out
        for _, index in heapq.merge(*zones):
            r = book.by_index[index]
            self._records_looked += 1
            if r.state != "pending" or r.number in dnc or not self._may_call(cfg, r, now):
                continue
            if r.attempts and now < r.attempts[-1].get("at", 0.0) + cfg.retry_s:
                continue
            out.append(r)
            if len(out) == limit:
                break
        return out

    def _in_hours(self, cfg: CampaignConfig, r: CampaignRecord, now: float) -> bool:
        """Within the campaign's calling hours in the record's time zone."""
        if cfg.calling_hours is None:
            return True
        tz = cfg.records[r.index].tz if r.index < len(cfg.records) else ""
        local = datetime.fromtimestamp(now, ZoneInfo(tz or cfg.tz))
        minute = local.hour * 60 + local.minute
        start, end = cfg.calling_hours
        return start <= minute < end if start < end else (minute >= start or minute < end)

    def _dial_record(self, cfg: CampaignConfig, r: CampaignRecord):
        assert self.bridge is not None
        n, now = self.store.next_contact_number(), self.clock()
        c = ContactRecord(f"c-{n}", n, queue_of(cfg.id), r.number, dict(r.variables), None, now,
                          status="dialing", deadline=now + cfg.ring_s + DIAL_SLACK_S,
                          kind="campaign",
                          campaign={"id": cfg.id, "record": r.index, "customer": r.name,
                                    "failed": "", "dialer": True})
        r.state, r.contact = "dialing", c.id
        r.attempts.append({"at": now, "agent": "", "outcome": ""})
        self._record_changed(r)
        self._live[c.id] = c
        self._dirty_contacts[c.id] = c
        self._arm(c)
        lab = lab_headers(cfg, r)           # the campaign's simulated outcome (the lab's)
        log.info("contact %s: campaign %s dials record %d (attempt %d)%s", c.id, cfg.id,
                 r.index, len(r.attempts),
                 f" (lab outcome: {lab[OUTCOME_HEADER]})" if lab else "")
        amd = self._amd(cfg)                # answering-machine detection (below)
        if amd:
            c.campaign["amd"] = "pending"
        self._ring_customer(c, self._number_uri(r.number), cfg.ring_s, lab, amd)

    def _ring_customer(self, c: ContactRecord, uri: str, ring_s: float,
                       headers: dict[str, str] | None = None, amd: bool = False) -> Leg:
        """The bridge calls the contact's customer (leg "<contact>.c", X-CC-Contact-Id): the
        dialer's records, a standard preview's, a callback's. ccsim gives up DIAL_SLACK_S
        after the bridge's ``ring_s`` (the caller sets the contact's deadline)."""
        assert self.bridge is not None
        leg = self.legs.add(Leg(customer_leg_name(c.id), c.id, CUSTOMER))
        more = {"amd": True} if amd else {}     # only a bridge that detects machines takes it
        self.bridge.dial(leg.leg, uri, {CONTACT_HEADER: c.id, **(headers or {})},
                         ring_s=ring_s, **more)
        return leg

    def _arm_pace(self):
        """The pace timer, while a dialing campaign is started."""
        if not any(self._dialing_now(cfg) for cfg in self._campaigns.values()):
            return
        now = self.clock()
        if self._pace_armed > now:
            return
        self._pace_armed = now + PACE_S
        heapq.heappush(self._timers, (self._pace_armed, PACE_TIMER))

    # -- the call ----------------------------------------------------------------------------
    def _dial_answered(self, c: ContactRecord):
        """The customer answered: on hold music, routed to the campaign's agents."""
        now = self.clock()
        c.status, c.deadline = "queued", 0.0
        c.campaign = {**c.campaign, "answered_at": now}
        self._dirty_contacts[c.id] = c
        r = self._record_of(c)
        if r is not None and r.attempts:
            r.attempts[-1].update(outcome="answered", answered_at=now)
            self._record_changed(r)
        if c.campaign.get("amd") == "pending":
            log.info("contact %s: answered: answering-machine detection", c.id)
            return                          # routed once the bridge tells (_dial_amd)
        self._dial_waits(c, now)

    def _dial_waits(self, c: ContactRecord, now: float):
        """The answered customer waits for an agent: on hold music, routed (a predictive
        campaign's abandon timer from ``now``)."""
        cfg = self._campaigns.get(c.campaign["id"])
        if cfg is not None and cfg.mode == "predictive":
            heapq.heappush(self._timers, (now + cfg.abandon_s, ABANDON_TIMER + c.id))
        log.info("contact %s: the customer answered: waiting for an agent", c.id)
        self._connect(c)
        self._route(c)

    def _dial_reserved(self, c: ContactRecord):
        """An agent is being offered the customer (the record's attempt names it)."""
        r = self._record_of(c)
        if r is not None and r.attempts:
            r.attempts[-1]["agent"] = c.agent
            self._record_changed(r)

    def _dial_connected(self, c: ContactRecord):
        """The agent answered: the record is reached."""
        r = self._record_of(c)
        if r is not None and r.attempts and r.attempts[-1].get("outcome") == "answered":
            r.attempts[-1].update(outcome="connected", agent=c.agent)
            self._record_changed(r)

    def _dialer_gone(self, c: ContactRecord, reason: str) -> bool:
        """The customer's leg ended (True: handled here; else as an inbound customer's)."""
        if c.status == "dialing":
            self._attempt_over(c, outcome_of(reason), reason or "ended")
            self._hang_up_legs(c)
            self._finish(c, "failed")
            self._pace_campaign(c)
            return True
        if c.status in WAITING:
            self._attempt_over(c, "abandoned", "the customer hung up waiting")
        return False

    def _dial_gave_up(self, c: ContactRecord):
        """Still dialing long after ring_s: the bridge never said (ccsim gives up)."""
        self._dialer_gone(c, "no answer")

    def _attempt_over(self, c: ContactRecord, outcome: str, reason: str):
        """The attempt did not reach an agent: the record goes back to the end of the list,
        or is done after max_attempts with the system disposition of ``outcome``."""
        c.campaign = {**c.campaign, "failed": reason}
        self._dirty_contacts[c.id] = c
        r = self._record_of(c)
        if r is None:
            return
        if r.attempts:
            r.attempts[-1]["outcome"] = outcome
            if reason and outcome != "abandoned":
                r.attempts[-1]["reason"] = reason[:64]
        cfg = self._campaigns[r.campaign]
        if len(r.attempts) >= cfg.max_attempts:
            r.state, r.disposition = "done", SYSTEM_DISPOSITIONS[outcome]
        else:
            r.state = "pending"
            r.order = self._next_order(r.campaign)
        r.contact = ""
        self._record_changed(r)
        log.info("contact %s: campaign %s record %d: %s (%s)%s", c.id, r.campaign, r.index,
                 outcome, reason, ", done" if r.state == "done" else ", to be retried")

    def _abandon(self, c: ContactRecord):
        """A predictive campaign's customer no agent took within abandon_s: the bridge plays
        the campaign's message, then hangs up; a campaign without one: hold music for
        message_s, then ccsim hangs up."""
        cfg = self._campaigns[c.campaign["id"]]
        self._attempt_over(c, "abandoned", "no agent took it in time")
        self.router.remove_waiting(c.id)
        customer = self.legs.of(c.id, CUSTOMER)
        self._finish(c, "abandoned")
        log.info("contact %s: abandoned (no agent within %g s)", c.id, cfg.abandon_s)
        if customer is None:
            return
        if cfg.message_file:
            self._play_and_hang_up(customer, cfg)
            return
        if cfg.message_s <= 0:
            self._hang_up_leg_named(customer.leg)
            return
        self._place(customer, None)             # the "message": hold music
        heapq.heappush(self._timers, (self.clock() + cfg.message_s, HANGUP_TIMER + customer.leg))

    # -- answering machines and the recorded message ----------------------------------------
    def _amd(self, cfg: CampaignConfig) -> bool:
        """The campaign's calls get answering-machine detection (a bridge that does it)."""
        return cfg.amd and bool(getattr(self.bridge, "detects_machines", False))

    def _dial_amd(self, c: ContactRecord, leg: Leg, event: dict):
        """The bridge's answering-machine detection on a campaign customer's leg: the result
        is kept on the contact (``machine``: the wire's, and the admin's). A machine, when the
        campaign's machine_action is "message": the bridge plays the message and hangs up,
        the attempt is "machine" (retried like a busy one), the message left. Else the
        customer waits for an agent, as any answered one (a machine too: the agent sees it)."""
        result = event.get("result")
        if (leg.role != CUSTOMER or not self._dialed(c) or result not in AMD_RESULTS
                or c.campaign.get("amd") != "pending"):
            return
        speech = event.get("speech_s")
        c.campaign = {**c.campaign, "amd": result, "machine": result == "machine",
                      "speech_s": speech if isinstance(speech, (int, float)) else None}
        self._dirty_contacts[c.id] = c
        cfg = self._campaigns.get(c.campaign["id"])
        log.info("contact %s: answering-machine detection: %s (%s s of speech)", c.id, result,
                 speech)
        r = self._record_of(c)
        if r is not None and r.attempts and result == "machine":
            r.attempts[-1]["machine"] = True
            self._record_changed(r)
        if c.status != "queued":                # (routed meanwhile: a restart) the agent sees
            if c.agent and c.status not in ("wrapped_up",):
                self._tell(c)
            return
        if result == "machine" and cfg is not None and cfg.machine_action == "message":
            self._attempt_over(c, "machine", "answering machine")
            if r is not None and r.attempts:
                r.attempts[-1]["message_left"] = True
                self._record_changed(r)
            c.campaign = {**c.campaign, "message_left": True}
            self.router.remove_waiting(c.id)
            self._finish(c, "failed")
            self._play_and_hang_up(leg, cfg)
            self._pace_campaign(c)
            return
        now = self.clock()                      # waiting for an agent from now (abandon_s)
        c.campaign = {**c.campaign, "answered_at": now}
        self._dial_waits(c, now)

    def _play_and_hang_up(self, leg: Leg, cfg: CampaignConfig):
        """The bridge plays the campaign's message to the customer's leg and hangs it up when
        it ends; ccsim forgets the leg now (its end is no news)."""
        assert self.bridge is not None
        self.legs.drop(leg.leg)
        self.bridge.play(leg.leg, cfg.message_file, "hangup")
        log.info("leg %s: the campaign's message, then hang up", leg.leg)

    @atomic
    def play_message(self, agent: str, contact: str):
        """PlayMessage: leave the campaign's message on the answering machine the agent is
        talking to. The agent's leg is hung up (the phone's call ends: wrap-up, the
        disposition still owed); the customer's leaves the room, hears the message and is hung
        up by the bridge; the attempt's outcome is "message_left"."""
        self._logged_in(agent)
        c = self._contact_of(agent, contact)
        status = self._seen(agent, c)
        cfg = self._campaigns.get((c.campaign or {}).get("id", "")) \
            if c.kind == "campaign" else None
        customer = self.legs.of(c.id, CUSTOMER)
        if cfg is None:
            raise self.Refused("not_allowed", f"contact {contact} is not a campaign record")
        if not cfg.message_file:
            raise self.Refused("not_allowed", f"campaign {cfg.name} has no recorded message")
        if not self._bridge_calls(c) or self.bridge is None:
            raise self.Refused("not_allowed", f"contact {contact}: the call is the phone's own "
                               "(a preview call): the message can only be played on a call the "
                               "bridge placed")
        if c.agent != agent or status not in ("assigned", "held") or customer is None \
                or customer.state != "answered":
            raise self.Refused("not_allowed", f"contact {contact} is {status}: the message is "
                               "played on the call, while talking to the customer")
        if c.consult is not None or c.conference is not None:
            raise self.Refused("not_allowed", f"contact {contact}: end the consult or the "
                               "conference first")
        log.info("contact %s: agent %s leaves the campaign's message", c.id, agent)
        r = self._record_of(c)
        if r is not None and r.attempts:
            r.attempts[-1].update(outcome="message_left", message_left=True)
            self._record_changed(r)
        c.campaign = {**c.campaign, "message_left": True}
        self._stop_recording(c)
        self._hang_up_leg(c, AGENT)
        self._play_and_hang_up(customer, cfg)
        self._end(c)

    def _pace_campaign(self, c: ContactRecord):
        cfg = self._campaigns.get((c.campaign or {}).get("id", ""))
        if cfg is not None and self._dialing_now(cfg):
            self._pace(cfg)
            self._arm_pace()

    # -- timers ------------------------------------------------------------------------------
    def _dialer_due(self, key: str, at: float) -> bool:
        """Is this dialer timer still wanted? (else it is dropped)"""
        if key == PACE_TIMER:
            return at == self._pace_armed
        if key.startswith(ABANDON_TIMER):
            c = self._live.get(key[len(ABANDON_TIMER):])
            if c is None or c.status != "queued" or not self._dialed(c):
                return False
            cfg = self._campaigns.get(c.campaign["id"])
            return (cfg is not None and cfg.mode == "predictive"
                    and c.campaign.get("answered_at", 0.0) + cfg.abandon_s == at)
        if key.startswith(HANGUP_TIMER):
            return self.legs.get(key[len(HANGUP_TIMER):]) is not None
        return False

    def _dialer_expired(self, key: str):
        if key == PACE_TIMER:
            self._pace_armed = 0.0
            self._pace_all()
        elif key.startswith(ABANDON_TIMER):
            self._abandon(self._live[key[len(ABANDON_TIMER):]])
            self._pace_all()
        elif key.startswith(HANGUP_TIMER):
            self._hang_up_leg_named(key[len(HANGUP_TIMER):])

    # -- restart -----------------------------------------------------------------------------
    def _adopt_dialed(self, c: ContactRecord) -> bool:
        """After adopt: a dialer's contact still dialing (True: dealt with here); a predictive
        one's customer still waiting gets its abandon timer back."""
        if c.status == "queued" and self._auto_answer(c) and "answered_at" in c.campaign:
            cfg = self._campaigns[c.campaign["id"]]
            heapq.heappush(self._timers, (c.campaign["answered_at"] + cfg.abandon_s,
                                          ABANDON_TIMER + c.id))
        if c.status != "dialing":
            return False
        leg = self.legs.of(c.id, CUSTOMER)
        if leg is None:
            log.warning("contact %s: its call ended while ccsim was away", c.id)
            self._dialer_gone(c, "ended while ccsim was away")
        elif leg.state == "answered":
            self._dial_answered(c)
        return True

    # -- what is shown -----------------------------------------------------------------------
    def _auto_answer(self, c: ContactRecord) -> bool:
        """A predictive campaign's offer: the phone answers it by itself."""
        if not self._dialed(c):
            return False
        cfg = self._campaigns.get(c.campaign["id"])
        return cfg is not None and cfg.mode == "predictive"

    def _dial_stats(self, cfg: CampaignConfig) -> dict:
        """dialed, answered, abandoned, abandon_rate (over abandon_window_s), connected,
        failed {outcome: n}, from the records' attempts (the dialer's: the campaign's calls):
        the running totals of their ``_attempt_tally`` (campaigns.RecordBook)."""
        self._sync_records()
        book = self._books[cfg.id]
        since = self.clock() - cfg.abandon_window_s
        window_answered = len(book.answered_at) - bisect.bisect_left(book.answered_at, since)
        window_abandoned = len(book.abandoned_at) - bisect.bisect_left(book.abandoned_at, since)
        return {"dialed": book.dialed, "answered": book.answered, "abandoned": book.abandoned,
                "abandon_rate": window_abandoned / window_answered if window_answered else 0.0,
                "connected": book.connected, "failed": dict(book.failed)}

    @staticmethod
    def _attempt_tally(cfg: CampaignConfig, r: CampaignRecord) -> tuple:
        """One record's share of ``_dial_stats``: (dialed, answered, abandoned, connected,
        the outcomes of its failed attempts, the answer times of its answered attempts and of
        its abandoned ones: the abandon window's)."""
        dialed = answered = abandoned = connected = 0
        failed: list[str] = []
        answered_at: list[float] = []
        abandoned_at: list[float] = []
        for a in r.attempts:
            if not cfg.dialer and not a.get("outcome"):
                continue
            dialed += 1
            outcome = a.get("outcome", "")
            if outcome in ("answered", "connected", "abandoned"):
                answered += 1
                at = a.get("answered_at", a.get("at", 0.0))
                answered_at.append(at)
                # a preview's call answered is the agent's own: connected
                if outcome == "connected" or not cfg.dialer:
                    connected += 1
                elif outcome == "abandoned":
                    abandoned += 1
                    abandoned_at.append(at)
            elif outcome:
                failed.append(outcome)
        return (dialed, answered, abandoned, connected, tuple(failed), tuple(answered_at),
                tuple(abandoned_at))
