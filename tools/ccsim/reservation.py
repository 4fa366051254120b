"""Standard and direct preview (docs/cc-protocol.md, "Campaigns"): a preview campaign's record
shown on a **reservation call**, the bridge's call to the agent's phone that holds the agent
for it. A mixin of Engine (engine.py imports this module); campaigns.py's hand-out and preview
actions, and the engine's bridge events, call in here.

A record handed out by a "standard_preview" or "direct_preview" campaign is a preview contact
as in "preview" (campaigns.py) whose ``c.campaign`` also has "mode" (the campaign's, kept with
the contact) and "reservation", the reservation call's state::

    ringing --the agent's leg answers--> up --call--> standard: the bridge rings the customer
       |                                  |           direct: hung up ("released"), the phone dials
       |                                  \\--the leg ends--> standard: withdrawn, Idle "rejected"
       |                                                     direct: "released", the preview stays
       \\--rona_s pass, or the leg ends (the phone busy, refusing)--> withdrawn, Idle "rona"

- **ringing**: the bridge dials the agent's extension (leg "<contact>.a1", AGENT, with
  X-CC-Contact-Id and X-CC-Token as an offer's); the phone is told at once (``reservation``,
  the token, ``expires_at`` 0); ``deadline`` is the answer's, now + rona_s. A reservation lost
  gives the record back in its place (``_withdraw_preview``) and puts the agent Idle (unless
  it asked for Idle or a logout already), as a RONA does; another free agent may get it.
- **up**: the preview's countdown (``preview_s``) runs from the answer. Skip, remove, the
  countdown's skip or remove and a negotiated logout's withdrawal hang the reservation up with
  the preview (``_release_reservation``).
- **call**, standard: "dialing" (the attempt counted as a preview's), the bridge rings the
  customer (leg "<contact>.c", CUSTOMER, ``ring_s``; ccsim gives up DIAL_SLACK_S later) while
  the agent's leg stays up, silent, in no room. The customer answering: "assigned", both legs
  in the contact's room; from then it is a bridged call like an inbound one (hold, consult,
  either side hanging up, wrap-up with the campaign's dispositions). The customer's leg ending
  first (the bridge's reason: "busy (486)"...), the dialing running out ("no answer"), or the
  agent hanging up meanwhile (the phone's ``call`` ``ended``, or its leg's end: "cancelled"):
  wrap-up with ``failed`` set, the other leg hung up.

While a reservation decides (preview, a standard record dialing) the phone's own ``call``
events are not news, the bridge's are: all but an ``ended`` while the customer rings.

Restart: ``adopt`` gives a reservation whose agent's leg is gone the end that leg's end would
have; a standard record dialing whose customer's leg is gone fails ("ended while ccsim was
away"). No record is handed out on a reservation before the bridge's legs are known.
"""
from __future__ import annotations

import logging

from firmware.cc import protocol as p

from .dialer import DIAL_SLACK_S, customer_leg_name, lab_headers
from .legs import AGENT, CONTACT_HEADER, CUSTOMER, TOKEN_HEADER, Leg, agent_leg_name
from .scenario import CampaignConfig
from .store import ContactRecord

log = logging.getLogger("ccsim")

STANDARD = "standard_preview"
LIVE = ("ringing", "up")            # the reservation call is being placed, or up
DECIDES = ("preview", "dialing")    # the contact's statuses its legs' events decide
RING_SLACK_S = 5.0                  # the bridge rings the phone up to rona_s + this (ccsim
                                    # gives up first)


class Reservation:
    # -- what a contact is -------------------------------------------------------------------
    @staticmethod
    def _reservation(c: ContactRecord) -> str:
        """The record's reservation call: "ringing", "up", "released"; "": none (not a
        reserving campaign's)."""
        return (c.campaign or {}).get("reservation", "") if c.kind == "campaign" else ""

    def _reserving(self, c: ContactRecord) -> bool:
        """The reservation call's legs decide what becomes of the contact (its preview, or a
        standard record's dialing)."""
        return self._reservation(c) in LIVE and c.status in DECIDES

    def _bridge_calls(self, c: ContactRecord) -> bool:
        """The bridge calls the customer (the leg "<contact>.c"): the dialer's records, a
        standard preview's and a callback's (callbacks.py; else the phone dials, or the
        customer calls in)."""
        return c.kind == "callback" or self._dialed(c) or (
            bool(self._reservation(c)) and c.campaign.get("mode") == STANDARD)

    def _reservations_ready(self) -> bool:
        """A reservation call can be placed: there is a bridge and its legs are known."""
        return self.bridge is not None and self._bridge_ready

    # -- the reservation call ----------------------------------------------------------------
    def _call_agent(self, c: ContactRecord, cfg: CampaignConfig):
        """The record just handed out (campaigns._hand_out): the bridge calls the agent's phone
        first; the preview's countdown waits for the answer, due within rona_s."""
        assert self.bridge is not None
        c.campaign = {**c.campaign, "mode": cfg.mode, "reservation": "ringing"}
        c.deadline = self.clock() + self.settings.rona_s
        c.agent_leg = agent_leg_name(c.id, len(c.attempts) + 1)    # the call's attempt's
        leg = self.legs.add(Leg(c.agent_leg, c.id, AGENT, agent=c.agent))
        self.bridge.dial(leg.leg, self._agents[c.agent].extension,
                         {CONTACT_HEADER: c.id, TOKEN_HEADER: c.token},
                         ring_s=self.settings.rona_s + RING_SLACK_S)
        log.info("contact %s: the reservation call rings agent %s", c.id, c.agent)

    def _reservation_answered(self, c: ContactRecord, leg: Leg):
        """A leg of a reservation answered (bridge): the agent's (the preview shows, its
        countdown from now) or a standard record's customer (they talk once joined)."""
        if leg.role == AGENT and c.status == "preview" and self._reservation(c) == "ringing":
            cfg = self._campaigns.get(c.campaign["id"])
            preview_s = cfg.preview_s if cfg is not None else 0.0
            c.campaign = {**c.campaign, "reservation": "up"}
            c.deadline = self.clock() + preview_s if preview_s else 0.0
            self._arm(c)
            log.info("contact %s: the reservation call is up: the preview shows", c.id)
            self._tell(c)
        elif leg.role == CUSTOMER and c.status == "dialing":
            r = self._record_of(c)
            if r is not None and r.attempts:
                r.attempts[-1]["outcome"] = "answered"
                self._record_changed(r)
            log.info("contact %s: the customer answered the reservation's call", c.id)
            self._answer(c)                     # the bridge's event then joins the two legs

    def _reservation_ended(self, c: ContactRecord):
        """The agent's leg of a reservation ended (the bridge's news, or gone at a restart)."""
        if c.status == "dialing":               # standard: hung up while the customer rang
            log.info("contact %s: the agent hung up the reservation's call", c.id)
            self._campaign_failed(c, "cancelled")
        elif self._reservation(c) == "ringing":
            log.info("contact %s: the reservation call was not answered", c.id)
            self._reservation_lost(c, "rona")
        elif c.campaign.get("mode") == STANDARD:
            log.info("contact %s: the agent hung up the reservation call", c.id)
            self._reservation_lost(c, "rejected")
        else:                                   # direct: the phone dials the preview
            c.campaign = {**c.campaign, "reservation": "released"}
            log.info("contact %s: the reservation call ended: the preview stays", c.id)
            if c.status == "preview":           # the phone shows it without a reservation
                self._tell(c)

    def _reservation_missed(self, c: ContactRecord) -> bool:
        """The contact's deadline came in preview (True: a reservation not answered in time:
        dealt with here; else the preview's countdown ran out)."""
        if self._reservation(c) != "ringing":
            return False
        log.info("contact %s: the reservation call was not answered in time", c.id)
        self._reservation_lost(c, "rona")
        return True

    def _reservation_lost(self, c: ContactRecord, idle: str):
        """The record goes back in its place, the agent Idle ``idle`` as after a RONA or a
        reject (unless it asked for Idle or a logout); the campaign's free agents are served."""
        s = self._records[c.agent]
        self._withdraw_preview(c)               # hangs the reservation up (if still there)
        keep = s.pending is not None and s.pending.state != "available"
        self._refresh(s, pending=s.pending if keep else p.Pending("idle", idle))
        cfg = self._campaigns.get(c.campaign["id"])
        for agent in cfg.agents if cfg is not None else ():
            other = self._records[agent]
            if other.state != "logged_out":
                self._serve(other)

    def _release_reservation(self, c: ContactRecord):
        """The reservation call ends with the preview (skip, remove, withdrawn), with a
        standard record's failed attempt, or as a direct record is called: its legs are hung
        up (their end no news)."""
        if self._reservation(c) not in LIVE:
            return
        self._hang_up_leg(c, CUSTOMER)
        self._hang_up_leg(c, AGENT)
        c.campaign = {**c.campaign, "reservation": "released"}
        self._dirty_contacts[c.id] = c

    # -- the record's call -------------------------------------------------------------------
    def _check_reservation(self, c: ContactRecord, action: str):
        """A ``preview`` call before the reservation call is up is refused (the phone shows no
        preview until then)."""
        if action == "call" and self._reservation(c) == "ringing":
            raise self.Refused("not_allowed", f"contact {c.id}: its reservation call is not "
                               "up yet")

    def _reservation_call(self, c: ContactRecord):
        """``call`` on a reservation's record (campaigns._preview_action: "dialing", the attempt
        counted): direct, the reservation ends and the phone dials; standard, the bridge rings
        the customer while the agent's leg waits."""
        if self._reservation(c) not in LIVE:
            return                              # (a direct one's leg ended: released)
        if c.campaign.get("mode") != STANDARD:
            self._release_reservation(c)
            return
        assert self.bridge is not None
        cfg = self._campaigns[c.campaign["id"]]
        c.deadline = self.clock() + cfg.ring_s + DIAL_SLACK_S
        r = self._record_of(c)
        lab = lab_headers(cfg, r) if r is not None else {}   # the lab's simulated outcome
        self._ring_customer(c, self._number_uri(c.ani), cfg.ring_s, lab)
        log.info("contact %s: the bridge calls the customer on the reservation", c.id)

    def _reservation_call_event(self, c: ContactRecord, event: str, reason: str) -> bool:
        """The phone reports a standard record's call while the customer rings (True: dealt
        with here): its ``ended`` cancels the attempt; the rest is the bridge's to say."""
        if not (self._reserving(c) and c.status == "dialing"):
            return False
        if event == "ended":
            log.info("contact %s: the agent hung up while the customer rang", c.id)
            self._campaign_failed(c, reason or "cancelled")
        return True

    def _reservation_gone(self, c: ContactRecord, reason: str) -> bool:
        """The customer's leg ended, or the admin hung the customer up (True: dealt with
        here): a standard record's call never answered fails with the bridge's reason; a
        preview has no customer yet."""
        if not self._reserving(c):
            return False
        if c.status == "dialing":
            self._campaign_failed(c, reason or "ended")
        return True

    # -- restart -----------------------------------------------------------------------------
    def _reservation_role(self, c: ContactRecord, name: str) -> str | None:
        """Which of a reservation's legs the bridge's leg ``name`` is (adopt), if any."""
        if name == c.agent_leg:
            return AGENT
        if c.status == "dialing" and name == customer_leg_name(c.id):
            return CUSTOMER
        return None

    def _adopt_reservation(self, c: ContactRecord):
        """After adopt: a reservation whose legs ended, or answered, while ccsim was away."""
        agent, customer = self.legs.of(c.id, AGENT), self.legs.of(c.id, CUSTOMER)
        if c.status == "dialing" and customer is None:
            log.warning("contact %s: its call ended while ccsim was away", c.id)
            self._campaign_failed(c, "ended while ccsim was away")
        elif agent is None:
            log.warning("contact %s: its reservation call ended while ccsim was away", c.id)
            self._reservation_ended(c)
        elif agent.state == "answered" and self._reservation(c) == "ringing":
            self._reservation_answered(c, agent)
        elif customer is not None and customer.state == "answered":
            self._reservation_answered(c, customer)
            self._connect(c)

    def _serve_reservations(self):
        """The bridge's legs are known: the free agents of the started reserving campaigns
        get their records (none was handed out before)."""
        agents = dict.fromkeys(a for cfg in self._campaigns.values()
                               if cfg.reserves and self._campaign_status[cfg.id] == "started"
                               for a in cfg.agents)
        for agent in agents:
            s = self._records[agent]
            if s.state != "logged_out":
                self._serve(s)

    # -- what is shown -----------------------------------------------------------------------
    def _record_reservation(self, cfg: CampaignConfig, r) -> dict:
        """A reserving campaign's record as the admin API shows it: its contact's reservation
        call ("ringing", "up", "released"; null: none)."""
        if not cfg.reserves:
            return {}
        c = self._live.get(r.contact) if r.contact else None
        return {"reservation": (self._reservation(c) or None) if c is not None else None}
