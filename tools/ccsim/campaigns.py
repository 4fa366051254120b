"""Campaigns (docs/cc-protocol.md, "Campaigns"): ccsim as the dialer of outbound campaigns.

A **preview** campaign hands its records one at a time to its assigned agents: while an agent
is Available with no contact and no pending state, the next ``pending`` record of one of its
started preview campaigns (scenario order; a record's place in its list is ``order``, a
skipped one going to the end) becomes a contact of kind "campaign" in status "preview" (the
agent ``reserved``: no inbound contact is routed to it meanwhile). Inbound contacts waiting in
the agent's queues come first (``_serve`` routes them before asking a campaign). The agent
calls it (``preview`` call: "dialing", the phone dials ``ani`` and reports the call as an
outbound contact's), skips it (back to the end of the list, not an attempt) or removes it
(out of the campaign); when ``preview_s`` pass the campaign's ``timeout_action`` is done.
A call that ends before it was answered goes to wrap-up with ``failed`` set; every dialed
contact is wrapped up with one of the campaign's dispositions, and its record is ``done``.

A campaign contact's ``queue`` is "": it belongs to no queue (``campaign`` names the
campaign). ``c.campaign`` (kept with the contact): {"id", "record", "customer", "failed"}.

Records (store.CampaignRecord) are loaded from the scenario at the first start (by campaign id
and index; an index the database lacks is added), then the database is the truth: their state
(pending | previewing | dialing | done | removed), attempts ({"at", "agent", "outcome"}) and
disposition. A record "previewing" or "dialing" is a live campaign contact's, reloaded with it
after a restart, so nothing is handed out or dialed twice.

**Negotiated logout**: a logout while the agent is assigned to a started campaign is pending
(``Pending.at`` = now + the largest ``logout_delay_s`` of those campaigns): a preview is taken
back ("withdrawn", its record back in its place), a call goes on and is wrapped up, nothing
new is sent (inbound included); the agent is logged out at ``at`` if it has no contact left,
else after its last wrap-up. Its timer is the key ``logout:<agent>`` in the engine's heap.

**Calling hours and do-not-call** (every mode): a record is handed out (or dialed) only within
the campaign's ``calling_hours`` in its own time zone (the record's ``tz``, else the
campaign's); a wrap-up with one of the campaign's ``do_not_call`` dispositions puts the
record's number on the campaign's do-not-call list (the numbers of its records done with such
a disposition): its other pending records are done ("do_not_call") and none is dialed.

**While on the record** (its call or its wrap-up; docs/cc-protocol.md, "Campaigns"): the
campaign's ``script`` and ``ends`` go with it to the phone, the record's ``alternates`` (the
scenario's, by index) with its contact. A preview ``call`` may name one of them in ``number``:
the contact's ``ani`` becomes it and the record's attempt says ``number`` (an attempt without
it called the record's own). A ``call`` (the agent's, or the countdown's) is refused
``call_limit`` when the centre's outbound calls are at ``[outbound] call_limit``
(engine._check_call_limit); the countdown's then leaves the record in preview with no
countdown (a notice says why): the agent calls it when a line is free, or skips it.
``reschedule`` (``recall_time``: the customer's local time in the record's zone, checked
against the server's clock and the campaign's ``ends``) stores the recall on the record
(``not_before``, ``rescheduled``) and on the contact (``c.campaign``); its wrap-up then puts the
record back ``pending`` instead of ``done`` (the disposition kept in its attempt; a do-not-call
one wins: done), not handed out (or dialed: ``_may_call``, dialer.py's pick too) before
``not_before``, when a timer (``recall:<campaign>:<index>``) serves the campaign's free agents.
The campaign's ``fields`` that are ``editable`` are saved with ``set_variable`` (calldata.py)
on the contact and on the record: its next attempt shows them.

**A record with no valid number** (scenario.py ``_record``: one a phone cannot dial, and no
alternate that can be) is loaded like the others but is never previewed nor dialed: at once
``done``, disposition "bad_number", one attempt {"outcome": "bad_number", "at": its load
time, "agent": ""}.

**Campaigns loaded through the admin API** (``load_campaign``: ``POST /api/campaigns``, a JSON
object shaped as a scenario's [[campaigns]] table, read by the scenario's own
``campaign_config``) and **records appended** to a campaign (``append_records``) are kept in
the database (store ``campaign_defs``: the definition, the appended records), so a restart
has them: the scenario's campaigns, then these in the order they were loaded (one whose id
the scenario now defines too is dropped: the scenario wins; one no longer valid against the
scenario, e.g. an agent gone, is left out), each with its appended records. A campaign
loaded ``started`` starts at once; its logged-in agents get its ``campaign`` event either
way.

"standard_preview" and "direct_preview" campaigns hand out their records as "preview" does,
each on a reservation call the bridge places to the agent's phone first (reservation.py).
They, and the "progressive" and "predictive" campaigns ccsim dials (dialer.py, pacing.py),
need the bridge (a start without it is refused). A mixin of Engine, like recording.py (its
DIAL_GIVE_UP_S and TOKEN_BYTES come as ``self.``: engine.py imports this module).
"""
from __future__ import annotations

import bisect
import heapq
import logging
import re
import secrets
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from firmware.cc import protocol as p

from .dialer import queue_of
from .scenario import (CampaignConfig, CampaignRecordConfig, ScenarioError, bridge_problem,
                       campaign_from_json, campaigns_problem, records_from_json)
from .store import AgentRecord, CampaignRecord, ContactRecord, atomic

log = logging.getLogger("ccsim")

LOGOUT_TIMER = "logout:"        # a negotiated logout's timer key: "logout:<agent>"
RECALL_TIMER = "recall:"        # a rescheduled record's time: "recall:<campaign>:<index>"
CAMPAIGN_TIMERS = (LOGOUT_TIMER, RECALL_TIMER)   # the engine's timers campaigns.py handles
RECORD_STATES = ("pending", "previewing", "dialing", "done", "removed")
ON_RECORD = ("dialing", "assigned", "held", "wrapup")   # a record's call or its wrap-up
RESCHEDULE_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
# a refused reschedule's rule, in the agent's words (the phone shows it in the form)
NOT_A_TIME = "Not a date and time"
NOT_THERE = "Not a time there (DST)"
IN_THE_PAST = "In the past"
AFTER_END = "After the campaign's end"
BAD_NUMBER = "bad_number"       # a record's disposition (and attempt) when it has no valid number


class CampaignExists(ValueError):
    """The admin API's campaign has the id of one there is (or was: its records are kept)."""


class RecordBook:
    """A campaign's records as pacing reads them, so that a run costs what it dials, not the
    size of the list: kept up by ``Campaigns._sync_records`` from every record
    ``_record_changed`` named, rebuilt from the records at each load (a restart).

    The records by index; the highest ``order``; the do-not-call numbers (``_do_not_call``);
    the pending records, by the time they may be called again (``waiting``, their reschedule's
    ``not_before`` or their last attempt's retry time), then once that time came by zone (the
    calling hours are the zone's) in list order (``ready``); and the running totals of
    ``_dial_stats`` (dialer.py), with the answer times of the answered and abandoned calls
    sorted for the abandon window. The book only says which records to look at, and in which
    order: ``_eligible`` still checks each one it looks at as it always did."""

    def __init__(self):
        self.by_index: dict[int, CampaignRecord] = {}
        self.max_order = -1
        self.dnc: dict[str, int] = {}               # number -> its records on the list
        self.on_dnc: dict[int, str] = {}            # index -> the number it puts on the list
        self.waiting: list[tuple[float, int, int]] = []     # sorted (ready at, order, index)
        self.ready: dict[str, list[tuple[int, int]]] = {}   # zone -> sorted (order, index)
        self.place: dict[int, tuple[float, int, str]] = {}  # index -> (ready at, order, zone)
        self.promoted: set[int] = set()             # the indexes in ``ready``
        self.tally: dict[int, tuple] = {}           # index -> its share of the totals
        self.dialed = self.answered = self.abandoned = self.connected = 0
        self.failed: dict[str, int] = {}
        self.answered_at: list[float] = []          # sorted, for the abandon window
        self.abandoned_at: list[float] = []

    def set_place(self, index: int, place: tuple[float, int, str] | None):
        """A pending record's (ready at, order, zone); None: not pending."""
        old = self.place.get(index)
        if old == place:
            return
        if old is not None:
            if index in self.promoted:
                self.promoted.discard(index)
                _remove(self.ready[old[2]], (old[1], index))
            else:
                _remove(self.waiting, (old[0], old[1], index))
            del self.place[index]
        if place is not None:
            self.place[index] = place
            bisect.insort(self.waiting, (place[0], place[1], index))

    def promote(self, now: float):
        """The pending records whose time has come join their zone's list."""
        n = bisect.bisect_right(self.waiting, (now, float("inf"), float("inf")))
        for _, order, index in self.waiting[:n]:
            bisect.insort(self.ready.setdefault(self.place[index][2], []), (order, index))
            self.promoted.add(index)
        del self.waiting[:n]

    def set_dnc(self, index: int, number: str | None):
        """The number the record puts on the do-not-call list (None: none)."""
        old = self.on_dnc.pop(index, None)
        if old is not None:
            self.dnc[old] -= 1
            if not self.dnc[old]:
                del self.dnc[old]
        if number is not None:
            self.on_dnc[index] = number
            self.dnc[number] = self.dnc.get(number, 0) + 1

    def set_tally(self, index: int, tally: tuple):
        """The record's share of the dial statistics (dialer.py ``_attempt_tally``)."""
        old = self.tally.get(index)
        if old == tally:
            return
        if old is not None:
            self._count(old, -1)
        self.tally[index] = tally
        self._count(tally, 1)

    def _count(self, tally: tuple, sign: int):
        dialed, answered, abandoned, connected, failed, answered_at, abandoned_at = tally
        self.dialed += sign * dialed
        self.answered += sign * answered
        self.abandoned += sign * abandoned
        self.connected += sign * connected
        for outcome in failed:
            n = self.failed.get(outcome, 0) + sign
            if n:
                self.failed[outcome] = n
            else:
                del self.failed[outcome]
        for times, sorted_times in ((answered_at, self.answered_at),
                                    (abandoned_at, self.abandoned_at)):
            for t in times:
                if sign > 0:
                    bisect.insort(sorted_times, t)
                else:
                    _remove(sorted_times, t)


def _remove(sorted_list: list, item):
    """Take ``item`` out of a sorted list (it is there)."""
    i = bisect.bisect_left(sorted_list, item)
    assert i < len(sorted_list) and sorted_list[i] == item, item
    del sorted_list[i]


class Campaigns:
    # -- start and restart -------------------------------------------------------------------
    def _init_campaigns(self):
        self._campaigns: dict[str, CampaignConfig] = {c.id: c for c in self.scenario.campaigns}
        # what the admin API loaded (store.campaign_defs): {id: [definition or None (the
        # scenario's campaign), the records appended (JSON), the first one's index]}
        self._defs: dict[str, list] = {}
        self._superseded: list[str] = []        # API campaigns the scenario now defines
        for cid, body, appended, first in self.store.campaign_defs():
            self._restore_campaign(cid, body, appended, first)
        self._campaign_status: dict[str, str] = {}
        self._crecords: dict[str, list[CampaignRecord]] = {c: [] for c in self._campaigns}
        self._dirty_records: dict[tuple[str, int], CampaignRecord] = {}
        # pacing's view of the records (RecordBook), rebuilt at load; the records changed
        # since it last looked (_sync_records)
        self._books: dict[str, RecordBook] = {c: RecordBook() for c in self._campaigns}
        self._unsynced: dict[tuple[str, int], CampaignRecord] = {}

    def _load_campaigns(self):
        """Inside _load's transaction: statuses and records from the database, the scenario's
        for what it does not have yet (the first start)."""
        for cid in self._superseded:
            self.store.delete_campaign_def(cid)
        statuses = self.store.campaign_statuses()
        for cid, cfg in self._campaigns.items():
            if cid not in statuses:
                statuses[cid] = "started" if cfg.started else "stopped"
                self.store.save_campaign_status(cid, statuses[cid])
            self._campaign_status[cid] = statuses[cid]
        for r in self.store.campaign_records():
            if r.campaign in self._crecords:
                self._crecords[r.campaign].append(r)
        for cid, cfg in self._campaigns.items():
            have = {r.index for r in self._crecords[cid]}
            last = max((r.order for r in self._crecords[cid]), default=-1)
            for i, rc in enumerate(cfg.records):
                if i not in have:
                    last += 1
                    r = self._new_record(cid, i, rc, last)
                    self._crecords[cid].append(r)
                    self.store.save_campaign_record(r)
        # a record handed out whose contact did not come back (its agent left the scenario)
        for records in self._crecords.values():
            for r in records:
                if r.state in ("previewing", "dialing") and r.contact not in self._live:
                    log.warning("campaign %s record %d: its contact %s is gone", r.campaign,
                                r.index, r.contact or "?")
                    # previewed only: back in the list; dialed: never dialed again
                    r.state = "pending" if r.state == "previewing" else "done"
                    self.store.save_campaign_record(r)
        self._books = {cid: RecordBook() for cid in self._campaigns}
        self._unsynced = {}
        for records in self._crecords.values():
            for r in records:
                self._books[r.campaign].by_index[r.index] = r
                self._index_record(r)
        for s in self._records.values():
            if s.pending is not None and s.pending.state == "logged_out" and s.pending.at:
                heapq.heappush(self._timers, (s.pending.at, LOGOUT_TIMER + s.agent))
        for records in self._crecords.values():
            for r in records:
                self._arm_recall(r)
        for s in self._records.values():
            self._serve_campaign(s)

    def _new_record(self, cid: str, index: int, rc: CampaignRecordConfig,
                    order: int) -> CampaignRecord:
        """A record as first loaded: pending, or done at once when it has no valid number."""
        r = CampaignRecord(cid, index, rc.name, rc.number, dict(rc.variables), order=order)
        if not rc.usable:
            r.state, r.disposition = "done", BAD_NUMBER
            r.attempts = [{"outcome": BAD_NUMBER, "at": self.clock(), "agent": ""}]
        return r

    def _restore_campaign(self, cid: str, body: dict | None, appended: list, first: int):
        """At the start: what the admin API loaded (store.campaign_defs) joins the scenario's."""
        try:
            if body is not None:
                if cid in self._campaigns:
                    log.warning("campaign %s: loaded through the admin API, and the scenario "
                                "defines it too: the scenario's wins (the database keeps its "
                                "records, by index)", cid)
                    self._superseded.append(cid)
                    return
                cfg = self._checked_campaign(body)
            elif (cfg := self._campaigns.get(cid)) is None:
                log.warning("campaign %s: records were appended to it through the admin API, "
                            "and the scenario no longer has it: left out", cid)
                return
            if appended:
                if len(cfg.records) != first:
                    log.warning("campaign %s: its records appended through the admin API "
                                "were from index %d, the campaign has %d records before "
                                "them now (the database's records are kept, by index)",
                                cid, first, len(cfg.records))
                cfg = replace(cfg, records=cfg.records + records_from_json(
                    {"records": appended}, cid, len(cfg.records)))
        except ScenarioError as e:
            log.warning("campaign %s (loaded through the admin API) left out: %s", cid, e)
            return
        self._campaigns[cid] = cfg
        self._defs[cid] = [body, appended, first]

    def _checked_campaign(self, body) -> CampaignConfig:
        """The admin API's campaign, checked as the scenario's are (ScenarioError)."""
        agents = [a.id for a in self.scenario.agents]
        cfg = campaign_from_json(body, agents, Path(self.scenario.path).parent)
        together = [c for c in self._campaigns.values() if c.id != cfg.id] + [cfg]
        for a in cfg.agents:
            if problem := campaigns_problem(a, together):
                raise ScenarioError(problem)
        if problem := bridge_problem(cfg, self.scenario.bridge.enabled):
            raise ScenarioError(f"campaign: {problem}")
        return cfg

    # -- the admin: campaigns and records loaded while running -------------------------------
    @atomic
    def load_campaign(self, body: dict) -> dict:
        """``POST /api/campaigns``: a new campaign (its definition kept in the database); the
        campaign as ``campaign_info`` shows it, with ``bad_records``. ScenarioError (a
        ValueError) for anything wrong, CampaignExists for an id there is or was; nothing
        changes then."""
        cid = body.get("id")
        if isinstance(cid, str) and cid in self._campaigns:
            raise CampaignExists(f"campaign {cid!r} exists")
        cfg = self._checked_campaign(body)
        if self.store.campaign_known(cfg.id):
            raise CampaignExists(f"campaign {cfg.id!r} ran before: its records are in the "
                                 "database")
        self._campaigns[cfg.id] = cfg
        self._defs[cfg.id] = [body, [], len(cfg.records)]
        self.store.save_campaign_def(cfg.id, body, [], len(cfg.records))
        self._campaign_status[cfg.id] = "stopped"
        self.store.save_campaign_status(cfg.id, "stopped")
        self._crecords[cfg.id] = []
        self._books[cfg.id] = RecordBook()
        self._add_records(cfg, 0)
        if cfg.dialer:                          # its agents serve its pseudo-queue
            for agent in cfg.agents:
                self.router.add_queue(agent, queue_of(cfg.id))
                s = self._records[agent]
                if (s.state == "available" and not self._on_agent[agent]
                        and not self._leaving(s.pending)):
                    self.router.set_ready(agent, s.available_since)
        log.info("campaign %s loaded through the admin API (%d records, %d with no valid "
                 "number)", cfg.id, len(cfg.records), len(cfg.bad_records()))
        if cfg.started:
            self._set_campaign(cfg.id, "started")   # tells its agents, serves them
        else:
            for agent in cfg.agents:
                s = self._records[agent]
                if s.state != "logged_out":
                    self._emit(s, p.CampaignUpdate, campaign=cfg.wire("stopped"))
        return {**self.campaign_info(cfg.id), "bad_records": cfg.bad_records()}

    @atomic
    def append_records(self, campaign: str, body: dict) -> dict | None:
        """``POST /api/campaigns/<id>/records`` {"records": [...]}: appended to the campaign
        (kept in the database); None: no such campaign. ScenarioError for anything wrong (a
        number a phone cannot dial is not: that record is done, "bad_number")."""
        cfg = self._campaigns.get(campaign)
        if cfg is None:
            return None
        first = len(cfg.records)
        records = records_from_json(body, campaign, first)
        cfg = replace(cfg, records=cfg.records + records)
        self._campaigns[campaign] = cfg
        body_def, appended, since = self._defs.get(campaign, [None, [], first])
        appended = [*appended, *body["records"]]
        self._defs[campaign] = [body_def, appended, since]
        self.store.save_campaign_def(campaign, body_def, appended, since)
        added = self._add_records(cfg, first)
        log.info("campaign %s: %d records appended through the admin API", campaign,
                 len(added))
        if self._campaign_status[campaign] == "started":
            for agent in cfg.agents:
                s = self._records[agent]
                if s.state != "logged_out":
                    self._serve(s)
            self._pace_all()
        counts = dict.fromkeys(RECORD_STATES, 0)
        for r in added:
            counts[r.state] += 1
        return {"id": campaign, "added": len(added), "added_counts": counts,
                "counts": next(i["counts"] for i in self.campaigns_info()
                               if i["id"] == campaign),
                "bad_records": cfg.bad_records(first)}

    def _add_records(self, cfg: CampaignConfig, first: int) -> list[CampaignRecord]:
        """The campaign's records from index ``first`` the database lacks, at the end of its
        list."""
        have = {r.index for r in self._crecords[cfg.id]}
        added = []
        for i, rc in enumerate(cfg.records[first:], first):
            if i in have:
                continue
            r = self._new_record(cfg.id, i, rc, self._next_order(cfg.id))
            self._crecords[cfg.id].append(r)
            self._books[cfg.id].by_index[i] = r
            self._index_record(r)               # its order counts for the next one's
            self._record_changed(r)
            added.append(r)
        return added

    # -- phone requests ----------------------------------------------------------------------
    @atomic
    def preview(self, agent: str, contact: str, action: str, number: str = ""):
        """The agent's answer to a previewed record: call (``number``: "" its own, or one of
        its alternates), skip or remove it."""
        self._logged_in(agent)
        c = self._contact_of(agent, contact)
        if c.kind != "campaign" or c.agent != agent or c.status != "preview":
            raise self.Refused("not_allowed", f"contact {contact} is {self._seen(agent, c)}, "
                               "not in preview")
        cfg = self._campaigns.get(c.campaign["id"])
        if cfg is None:
            raise self.Refused("not_allowed", f"contact {contact}: its campaign is gone")
        if action == "skip" and not cfg.skip:
            raise self.Refused("not_allowed", f"campaign {cfg.name} does not allow skipping")
        if action == "remove" and not cfg.remove:
            raise self.Refused("not_allowed", f"campaign {cfg.name} does not allow removing")
        if action not in ("call", "skip", "remove"):
            raise self.Refused("not_allowed", f"no preview action {action[:20]!r}")
        if action == "call":
            own = self._record_number(c)
            if number and number != own and number not in self._alternates(c):
                raise self.Refused("not_allowed", f"{number[:40]!r} is not one of the record's "
                                   "numbers")
            self._check_call_limit()
        self._check_reservation(c, action)
        log.info("contact %s: agent %s %ss the campaign record", c.id, agent, action)
        self._preview_action(c, action, number)

    @atomic
    def reschedule(self, agent: str, contact: str, at: str):
        """Call the agent's campaign record again at ``at`` (YYYY-MM-DDTHH:MM, the customer's
        local time) instead of in its turn; its wrap-up is still owed."""
        self._logged_in(agent)
        c = self._contact_of(agent, contact)
        status = self._seen(agent, c)
        if c.kind != "campaign" or c.agent != agent or status not in ON_RECORD:
            what = "not a campaign record" if c.kind != "campaign" else status
            raise self.Refused("not_allowed", f"contact {contact} is {what}: only a campaign "
                               "record on its call or in its wrap-up can be rescheduled")
        r = self._record_of(c)
        cfg = self._campaigns.get(c.campaign["id"])
        if r is None or cfg is None:
            raise self.Refused("not_allowed", f"contact {contact}: its campaign record is gone")
        try:
            when = recall_time(at, cfg.record_zone(r.index), cfg.ends, self.clock())
        except ValueError as e:
            raise self.Refused("bad_value", str(e)) from None
        r.not_before, r.rescheduled = when, at
        self._record_changed(r)
        c.campaign = {**c.campaign, "rescheduled": at, "not_before": when}
        log.info("contact %s: agent %s reschedules campaign %s record %d to %s (%s)", c.id,
                 agent, r.campaign, r.index, at, cfg.record_zone(r.index))
        self._tell(c)

    # -- the admin ---------------------------------------------------------------------------
    @atomic
    def start_campaign(self, campaign: str) -> bool:
        """Start it (False if there is no such campaign): its logged-in agents are told (a
        ``campaign`` event and a notice) and the Available ones get a preview."""
        return self._set_campaign(campaign, "started")

    @atomic
    def stop_campaign(self, campaign: str) -> bool:
        """Stop it: no new previews (a record in preview stays until the agent acts on it)."""
        return self._set_campaign(campaign, "stopped")

    def _set_campaign(self, campaign: str, status: str) -> bool:
        cfg = self._campaigns.get(campaign)
        if cfg is None:
            return False
        if self._campaign_status[campaign] == status:
            return True
        if status == "started" and (cfg.dialer or cfg.reserves) and self.bridge is None:
            how = "is dialed by" if cfg.dialer else "calls its agents through"
            raise ValueError(f"campaign {campaign}: a {cfg.mode} campaign {how} the media "
                             "bridge, and this scenario has none ([bridge] enabled)")
        self._campaign_status[campaign] = status
        self.store.save_campaign_status(campaign, status)
        log.info("campaign %s %s", campaign, status)
        for agent in cfg.agents:
            s = self._records[agent]
            if s.state == "logged_out":
                continue
            self._emit(s, p.CampaignUpdate, campaign=cfg.wire(status))
            if status == "started":
                self._emit(s, p.Notice, text=_started_notice(cfg))
        if status == "started":
            for agent in cfg.agents:
                s = self._records[agent]
                if s.state != "logged_out":
                    self._serve(s)
            self._pace_all()                    # a dialing campaign (dialer.py)
        return True

    # -- serving -----------------------------------------------------------------------------
    def _serve_campaign(self, s: AgentRecord):
        """A free agent (Available, no contact, nothing pending) gets the next record of one
        of its started preview campaigns (standard and direct ones once the bridge is ready)."""
        if s.state != "available" or self._on_agent[s.agent] or s.pending is not None:
            return
        now = self.clock()
        for cfg in self._campaigns.values():
            if (s.agent not in cfg.agents or not cfg.previews
                    or self._campaign_status[cfg.id] != "started"
                    or (cfg.reserves and not self._reservations_ready())):
                continue
            dnc = self._do_not_call(cfg.id)
            r = next((r for r in sorted(self._crecords[cfg.id], key=lambda r: r.order)
                      if r.state == "pending" and r.number not in dnc
                      and self._may_call(cfg, r, now)), None)
            if r is not None:
                self._hand_out(cfg, r, s)
                return
        self._pace_agent(s.agent)               # its dialing campaigns call (dialer.py)

    def _may_call(self, cfg: CampaignConfig, r: CampaignRecord, now: float) -> bool:
        """A pending record may be handed out (or dialed, dialer.py) now: its recall time (a
        reschedule's ``not_before``) has come, and it is within its calling hours."""
        return r.not_before <= now and self._in_hours(cfg, r, now)

    def _hand_out(self, cfg: CampaignConfig, r: CampaignRecord, s: AgentRecord):
        n, now = self.store.next_contact_number(), self.clock()
        c = ContactRecord(f"c-{n}", n, "", r.number, dict(r.variables), None, now,
                          status="preview", agent=s.agent, offered_at=now,
                          deadline=now + cfg.preview_s if cfg.preview_s else 0.0,
                          token=secrets.token_urlsafe(self.TOKEN_BYTES), kind="campaign",
                          campaign={"id": cfg.id, "record": r.index, "customer": r.name,
                                    "failed": ""})
        r.state, r.contact = "previewing", c.id
        self._record_changed(r)
        self._live[c.id] = c
        self._on_agent[s.agent][c.id] = c
        if cfg.reserves:                        # on a reservation call (reservation.py)
            self._call_agent(c, cfg)
        self._arm(c)
        log.info("contact %s: campaign %s record %d previewed by agent %s", c.id, cfg.id,
                 r.index, s.agent)
        self._tell(c)
        self._refresh(s)

    def _preview_action(self, c: ContactRecord, action: str, number: str = ""):
        r = self._record_of(c)
        s = self._records[c.agent]
        if action == "call":
            now = self.clock()
            own = self._record_number(c)
            c.ani = number or own               # the number the phone dials
            c.status, c.deadline = "dialing", now + self.DIAL_GIVE_UP_S
            c.attempts.append({"agent": c.agent, "at": now, "outcome": ""})
            if r is not None:
                r.state = "dialing"
                attempt = {"at": now, "agent": c.agent, "outcome": ""}
                if c.ani != own:
                    attempt["number"] = c.ani   # an alternate
                r.attempts.append(attempt)
                self._record_changed(r)
            self._reservation_call(c)           # a standard or direct preview's (its deadline)
            self._arm(c)
            self._tell(c)
            self._refresh(s)
            return
        if r is not None:
            if action == "skip":
                r.state, r.contact = "pending", ""
                r.order = 1 + max(x.order for x in self._crecords[r.campaign])
            else:
                r.state = "removed"
            self._record_changed(r)
        status = "skipped" if action == "skip" else "removed"
        self._release_reservation(c)
        c.deadline = 0.0
        self._tell(c, status)
        self._finish(c, status)
        self._settle(s)

    def _preview_timeout(self, c: ContactRecord):
        if self._reservation_missed(c):         # its reservation call was not answered
            return
        cfg = self._campaigns.get(c.campaign["id"]) if c.campaign else None
        action = cfg.timeout_action if cfg is not None else "skip"
        log.info("contact %s: the preview ran out: %s", c.id, action)
        if action == "call":
            try:
                self._check_call_limit()
            except self.Refused as e:
                # Not called: the record stays in preview, its countdown gone, for the agent to
                # call when a line is free (refused call_limit until then) or skip. Skipping it
                # instead would hand out the next record only to run out on the same limit.
                log.info("contact %s: not called: %s", c.id, e.message)
                c.deadline = 0.0
                self._tell(c)
                self._emit(self._records[c.agent], p.Notice,
                           text=f"Not called: {e.message}")
                return
        self._preview_action(c, action)

    def _withdraw_preview(self, c: ContactRecord):
        """A negotiated logout takes the preview back: its record keeps its place."""
        r = self._record_of(c)
        if r is not None:
            r.state, r.contact = "pending", ""
            self._record_changed(r)
        self._release_reservation(c)
        c.deadline = 0.0
        self._tell(c, "withdrawn")
        self._finish(c, "withdrawn")

    # -- the call ----------------------------------------------------------------------------
    def _campaign_call(self, c: ContactRecord, event: str, reason: str) -> bool:
        """The phone's call of a campaign contact (True: handled here; else as any contact's)."""
        if c.status == "preview":
            return True                         # no call yet: nothing to report
        if self._reservation_call_event(c, event, reason):
            return True                         # a standard preview's: the bridge's call
        if c.status != "dialing":
            return False
        if event == "answered":
            r = self._record_of(c)
            if r is not None and r.attempts:
                r.attempts[-1]["outcome"] = "answered"
                self._record_changed(r)
            self._answer(c)
        elif event == "ended":
            self._campaign_failed(c, reason or "no answer")
        return True

    def _campaign_failed(self, c: ContactRecord, reason: str):
        """Ended before it was answered: an attempt that failed, wrapped up like a call."""
        c.campaign = {**c.campaign, "failed": reason}
        c.attempts[-1]["outcome"] = "failed"
        r = self._record_of(c)
        if r is not None and r.attempts:
            r.attempts[-1]["outcome"] = reason
            self._record_changed(r)
        log.info("contact %s: the campaign call failed (%s)", c.id, reason)
        self._release_reservation(c)            # a standard preview's legs
        self._end(c)

    def _dispositions(self, c: ContactRecord) -> set[str]:
        cfg = self._campaigns.get(c.campaign["id"]) if c.campaign else None
        return {d.code for d in cfg.dispositions} if cfg is not None else set()

    def _record_done(self, c: ContactRecord, code: str):
        """The record's contact is wrapped up with ``code``: the record is done, or back in the
        list until its recall when the agent rescheduled it (a do-not-call code wins)."""
        r = self._record_of(c)
        if r is not None:
            if r.attempts:
                r.attempts[-1]["disposition"] = code
            cfg = self._campaigns.get(r.campaign)
            recall = (c.campaign or {}).get("not_before", 0.0)
            if recall and not (cfg is not None and code in cfg.do_not_call):
                r.state, r.contact = "pending", ""
                r.not_before, r.rescheduled = recall, c.campaign.get("rescheduled", "")
                self._record_changed(r)
                self._arm_recall(r)
                log.info("campaign %s record %d: called again at %s", r.campaign, r.index,
                         r.rescheduled)
                return
            r.state, r.disposition = "done", code
            r.not_before, r.rescheduled = 0.0, ""
            self._record_changed(r)
            if cfg is not None and code in cfg.do_not_call:
                self._no_more_calls(cfg, r.number)

    def _no_more_calls(self, cfg: CampaignConfig, number: str):
        """The number is on the campaign's do-not-call list: its pending records are done."""
        log.info("campaign %s: %s is not to be called again", cfg.id, number)
        for r in self._crecords[cfg.id]:
            if r.number == number and r.state == "pending":
                r.state, r.disposition = "done", "do_not_call"
                self._record_changed(r)

    def _do_not_call(self, campaign: str) -> set[str]:
        """The campaign's do-not-call list: the numbers of its records wrapped up with one of
        its do_not_call dispositions (RecordBook.dnc)."""
        self._sync_records()
        return set(self._books[campaign].dnc)

    # -- negotiated logout -------------------------------------------------------------------
    def _negotiated_delay(self, agent: str) -> float | None:
        """The largest logout_delay_s of the agent's started campaigns; None: none started."""
        delays = [cfg.logout_delay_s for cfg in self._campaigns.values()
                  if agent in cfg.agents and self._campaign_status[cfg.id] == "started"]
        return max(delays) if delays else None

    def _negotiate_logout(self, s: AgentRecord, reason: str, delay: float):
        old = s.pending
        at = (old.at if old is not None and old.state == "logged_out" and old.at
              else self.clock() + delay)
        pending = p.Pending("logged_out", reason, at=at)
        log.info("agent %s logs out at %.0f (negotiated)", s.agent, at)
        for c in [c for c in self._on_agent[s.agent].values()
                  if c.kind == "campaign" and c.status == "preview" and c.agent == s.agent]:
            self._withdraw_preview(c)
        heapq.heappush(self._timers, (at, LOGOUT_TIMER + s.agent))
        self.router.set_busy(s.agent)
        if self._on_agent[s.agent]:
            self._refresh(s, pending=pending)
        elif s.state in ("available", "idle"):
            self._apply(s, s.state, s.reason, pending)
        else:                                   # the preview it had is gone
            self._apply(s, "idle", "", pending)

    def _logout_due(self, key: str, at: float) -> bool:
        s = self._records.get(key[len(LOGOUT_TIMER):])
        return (s is not None and s.state != "logged_out" and s.pending is not None
                and s.pending.state == "logged_out" and s.pending.at == at)

    def _logout_expired(self, key: str):
        s = self._records[key[len(LOGOUT_TIMER):]]
        if not self._on_agent[s.agent]:
            assert s.pending is not None
            self._log_out(s, s.pending.reason)
        # else: after the last wrap-up (_refresh)

    # -- timers (the engine's heap: CAMPAIGN_TIMERS) -----------------------------------------
    def _campaign_timer_due(self, key: str, at: float) -> bool:
        """Is this timer still wanted? (else the engine drops it)"""
        if key.startswith(LOGOUT_TIMER):
            return self._logout_due(key, at)
        r = self._recall_record(key)
        return r is not None and r.state == "pending" and r.not_before == at

    def _campaign_timer_expired(self, key: str):
        if key.startswith(LOGOUT_TIMER):
            self._logout_expired(key)
            return
        r = self._recall_record(key)
        if r is None:
            return
        log.info("campaign %s record %d: its recall time has come", r.campaign, r.index)
        for agent in self._campaigns[r.campaign].agents:
            s = self._records[agent]
            if s.state != "logged_out":
                self._serve(s)

    def _arm_recall(self, r: CampaignRecord):
        """A rescheduled pending record: the free agents are served at its recall time."""
        if r.state == "pending" and r.not_before > self.clock():
            heapq.heappush(self._timers, (r.not_before,
                                          f"{RECALL_TIMER}{r.campaign}:{r.index}"))

    def _recall_record(self, key: str) -> CampaignRecord | None:
        campaign, _, index = key[len(RECALL_TIMER):].rpartition(":")
        return next((r for r in self._crecords.get(campaign, ()) if str(r.index) == index),
                    None)

    # -- what is shown -----------------------------------------------------------------------
    def _wire_campaigns(self, agent: str) -> list[p.Campaign]:
        return [cfg.wire(self._campaign_status[cfg.id]) for cfg in self._campaigns.values()
                if agent in cfg.agents][:p.MAX_CAMPAIGNS]

    def _campaign_notices(self, agent: str):
        """At a login: a notice for each started campaign of the agent's."""
        s = self._records[agent]
        for cfg in self._campaigns.values():
            if agent in cfg.agents and self._campaign_status[cfg.id] == "started":
                self._emit(s, p.Notice, text=_started_notice(cfg))

    def campaigns_info(self) -> list[dict]:
        """GET /api/campaigns."""
        out = []
        for cid, cfg in self._campaigns.items():
            counts = dict.fromkeys(RECORD_STATES, 0)
            for r in self._crecords[cid]:
                counts[r.state] = counts.get(r.state, 0) + 1
            out.append({"id": cid, "name": cfg.name, "mode": cfg.mode,
                        "status": self._campaign_status[cid], "agents": list(cfg.agents),
                        "counts": counts})
        return out

    def campaign_info(self, campaign: str) -> dict | None:
        """GET /api/campaigns/<id>: the campaign, its rules and its records in list order."""
        cfg = self._campaigns.get(campaign)
        if cfg is None:
            return None
        info = next(i for i in self.campaigns_info() if i["id"] == campaign)
        hours = cfg.calling_hours
        return {**info, "preview_s": cfg.preview_s, "timeout_action": cfg.timeout_action,
                "skip": cfg.skip, "remove": cfg.remove, "cancel": cfg.cancel,
                "logout_delay_s": cfg.logout_delay_s,
                "calling_hours": (f"{hours[0] // 60:02d}:{hours[0] % 60:02d}-"
                                  f"{hours[1] // 60:02d}:{hours[1] % 60:02d}"
                                  if hours else None),
                "tz": cfg.tz, "do_not_call": list(cfg.do_not_call),
                "outcomes": dict(cfg.outcomes) or None,
                "dialer": {"ring_s": cfg.ring_s, "max_attempts": cfg.max_attempts,
                           "retry_s": cfg.retry_s, "max_ratio": cfg.max_ratio,
                           "abandon_s": cfg.abandon_s, "abandon_limit": cfg.abandon_limit,
                           "abandon_window_s": cfg.abandon_window_s, "message": cfg.message,
                           "message_s": cfg.message_s, "amd": cfg.amd,
                           "machine_action": cfg.machine_action} if cfg.dialer else None,
                "stats": self._dial_stats(cfg),
                "dispositions": [{"code": d.code, "label": d.label} for d in cfg.dispositions],
                "fields": [{"name": f.name, "label": f.label, "editable": f.editable,
                            "kind": f.kind} for f in cfg.fields],
                "script": cfg.script, "ends": cfg.ends or None,
                "records": [{"index": r.index, "name": r.name, "number": r.number,
                             "alternates": list(cfg.alternates(r.index)),
                             "variables": r.variables, "state": r.state, "attempts": r.attempts,
                             "disposition": r.disposition or None, "contact": r.contact or None,
                             "not_before": r.not_before or None,
                             "rescheduled": r.rescheduled or None,
                             **self._record_reservation(cfg, r)}
                            for r in sorted(self._crecords[campaign], key=lambda r: r.order)]}

    @staticmethod
    def _campaign_contact_info(c: ContactRecord) -> dict:
        k = c.campaign or {}
        return {"campaign": k.get("id"), "customer": k.get("customer"),
                "failed": k.get("failed") or None,
                "rescheduled": k.get("rescheduled") or None,
                # the dialer's answering-machine detection (dialer.py): its result ("human",
                # "machine", "unknown"; "pending"; null: none), and the message left
                "amd": k.get("amd"), "machine": bool(k.get("machine")),
                "message_left": bool(k.get("message_left")),
                # a standard or direct preview's reservation call (reservation.py): "ringing",
                # "up", "released"; null: none
                "reservation": k.get("reservation")} if c.kind == "campaign" else {}

    def _alternates(self, c: ContactRecord) -> list[str]:
        """A campaign contact's record's other numbers (the wire's ``alternates``)."""
        k = c.campaign
        cfg = self._campaigns.get(k["id"]) if c.kind == "campaign" and k else None
        return list(cfg.alternates(k["record"])) if cfg is not None else []

    def _record_number(self, c: ContactRecord) -> str:
        """The record's own number (the contact's ``ani`` until an alternate is called)."""
        r = self._record_of(c)
        return r.number if r is not None else c.ani

    def _record_fields(self, c: ContactRecord) -> tuple[p.VariableLayout, ...]:
        """A campaign contact's variables as its campaign lays them out (``fields``)."""
        cfg = self._campaigns.get((c.campaign or {}).get("id", ""))
        return cfg.fields if cfg is not None else ()

    def _record_variable_saved(self, c: ContactRecord, name: str, value: str):
        """An editable field saved on the contact (calldata.py): the record keeps it too."""
        r = self._record_of(c)
        if r is not None:
            r.variables = {**r.variables, name: value}
            self._record_changed(r)

    # -- records -----------------------------------------------------------------------------
    def _record_of(self, c: ContactRecord) -> CampaignRecord | None:
        k = c.campaign
        if not k:
            return None
        book = self._books.get(k["id"])
        return book.by_index.get(k["record"]) if book is not None else None

    def _record_changed(self, r: CampaignRecord):
        self._dirty_records[(r.campaign, r.index)] = r
        self._unsynced[(r.campaign, r.index)] = r

    def _sync_records(self):
        """The books (RecordBook) take in the records changed since they last did. A record
        changed in this operation is taken in again next time too (until its operation is
        over: ``_dirty_records`` cleared), in case it changed again after it was named."""
        if not self._unsynced:
            return
        for r in self._unsynced.values():
            self._index_record(r)
        self._unsynced = {k: r for k, r in self._unsynced.items() if k in self._dirty_records}

    def _index_record(self, r: CampaignRecord):
        """The record as it is now, in its campaign's book."""
        book, cfg = self._books.get(r.campaign), self._campaigns.get(r.campaign)
        if book is None or cfg is None:
            return
        book.max_order = max(book.max_order, r.order)
        book.set_dnc(r.index, r.number if (
            r.state == "done" and r.disposition in cfg.do_not_call
            and any(a.get("disposition") == r.disposition for a in r.attempts)) else None)
        if r.state == "pending":
            ready = (max(r.not_before, r.attempts[-1].get("at", 0.0) + cfg.retry_s)
                     if r.attempts else r.not_before)
            tz = cfg.records[r.index].tz if r.index < len(cfg.records) else ""
            book.set_place(r.index, (ready, r.order, tz or cfg.tz))     # as _in_hours's
        else:
            book.set_place(r.index, None)
        book.set_tally(r.index, self._attempt_tally(cfg, r))

    def _next_order(self, campaign: str) -> int:
        """A place at the end of the campaign's list."""
        self._sync_records()
        return self._books[campaign].max_order + 1


def _started_notice(cfg: CampaignConfig) -> str:
    return f"Campaign {cfg.name} started, you are assigned"


def recall_time(at: str, zone: str, ends: str, now: float) -> float:
    """A reschedule's ``at`` (YYYY-MM-DDTHH:MM, local time in ``zone``) as server time; a
    ValueError naming the rule it breaks: not a date and time, a time a DST change skips
    there, in the past (``now``), or a day after the campaign's last (``ends``, "": none)."""
    if not RESCHEDULE_AT.fullmatch(at):
        raise ValueError(NOT_A_TIME)
    try:
        local = datetime.strptime(at, "%Y-%m-%dT%H:%M")
    except ValueError:
        raise ValueError(NOT_A_TIME) from None
    tz = ZoneInfo(zone)
    instant = local.replace(tzinfo=tz).astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != local:    # in a DST gap
        raise ValueError(NOT_THERE)
    when = instant.timestamp()
    if when < now:
        raise ValueError(IN_THE_PAST)
    if ends and local.date() > date.fromisoformat(ends):
        raise ValueError(AFTER_END)
    return when

