"""Conference (docs/cc-protocol.md, "Conference"): from a consult whose party answered, the
party joins the contact's room on the bridge with the customer and the agent (each hears all
the others, never itself); at most MAX_PARTICIPANTS; a party leaves owing nothing; the agent in
control leaving passes control to the agent on the call longest; the customer leaving is post
call; the last one left ends it. ``c.conference`` (kept with the contact): {"since",
"post_call", "members": [{"leg", "agent", "number", "joined", "token"}]}.

A mixin of Engine, like recording.py: it uses the engine's legs, bridge, telling and rules.
"""
from __future__ import annotations

import logging

import msgspec

from firmware.cc import protocol as p

from .legs import AGENT, CONSULT, CONSULTED, CUSTOMER, PARTY
from .store import TALKING, ContactRecord, atomic

log = logging.getLogger("ccsim")


class Conferences:
    @atomic
    def conference(self, agent: str, contact: str):
        """The consulted party, who answered, joins the contact's call: the customer, the
        agent and every party already on it talk together in the contact's room (the
        bridge's mix-minus). The consult leg ends; the agent's phone resumes its customer
        call. The agent keeps control."""
        self._logged_in(agent)
        c = self._contact_of(agent, contact)
        self._passable(agent, c, "conference")
        k, theirs = c.consult, self.legs.of(c.id, CONSULTED)
        if (k is None or k["requester"] != agent or k["status"] != "talking" or theirs is None
                or (k["agent"] and k["agent_status"] not in TALKING)):
            raise self.Refused("not_allowed", "conference with whom? No consulted party is talking")
        self._joinable(c, joining=1)
        now = self.clock()
        conf = c.conference or {"since": now, "post_call": False, "members": []}
        conf["members"].append({"leg": theirs.leg, "agent": k["agent"], "number": k["number"],
                                "joined": now, "token": k["agent_token"]})
        c.conference, c.consult = conf, None
        c.attempts[k["n"] - 1]["conference"] = True
        self._hang_up_leg(c, CONSULT)
        self.legs.recast(theirs, PARTY)
        log.info("contact %s: agent %s joins %s into a conference of %d", c.id, agent,
                 k["who"], self._on_call(c))
        self._connect(c)
        self._tell_all(c)

    def _joinable(self, c: ContactRecord, joining: int = 1):
        """Refused unless ``joining`` more can be on the contact's call: not once the customer
        left a conference (post call), nor past MAX_PARTICIPANTS."""
        conf = c.conference
        if conf is None:
            return
        if conf["post_call"]:
            raise self.Refused("not_allowed", f"the customer has left contact {c.id}'s conference: "
                          "nobody can be added")
        if self._on_call(c) + joining > p.MAX_PARTICIPANTS:
            raise self.Refused("conference_full", f"contact {c.id}'s conference has "
                          f"{self._on_call(c)} on it (at most {p.MAX_PARTICIPANTS})")

    def _on_call(self, c: ContactRecord) -> int:
        """How many are on the contact's call: the customer, the agent's leg, the parties."""
        return (sum(1 for role in (CUSTOMER, AGENT) if self.legs.of(c.id, role) is not None)
                + len(self.legs.parties(c.id)))

    @atomic
    def exit_conference(self, agent: str, contact: str):
        """The agent leaves the conference; the call goes on between the others."""
        self._logged_in(agent)
        c = self._contact_of(agent, contact)
        member = member_of(agent, c)
        if member is not None:
            self._member_leaves(c, member, "wrapped_up")
        elif c.conference is not None and c.agent == agent and agent not in c.owed:
            self._controller_leaves(c)
        else:
            raise self.Refused("not_allowed", f"contact {contact} has no conference you are on")

    def _member_leaves(self, c: ContactRecord, member: dict, status: str):
        """A party leaves (``status``: what its agent is told: ``wrapped_up`` when it left by
        itself, ``ended`` when its call did): its leg ends; it owes nothing."""
        log.info("contact %s: %s left the conference", c.id,
                 member["agent"] or member["number"])
        self._party_off(c, member, status)
        self._after_leaving(c)

    def _party_off(self, c: ContactRecord, member: dict, status: str):
        """A party is off the call: its leg ends, its agent is told ``status``."""
        assert c.conference is not None
        c.conference["members"].remove(member)
        if self.legs.get(member["leg"]) is not None:
            self._hang_up_leg_named(member["leg"])
        agent = member["agent"]
        if agent and self._on_agent[agent].pop(c.id, None) is not None:
            view = msgspec.structs.replace(self._wire(c, status, agent), primary=False,
                                           token="", conference=None)
            self._emit(self._records[agent], p.ContactUpdate, contact=view)
            self._settle(self._records[agent])

    def _controller_leaves(self, c: ContactRecord):
        """The agent in control leaves: control passes to the agent on the call longest (its
        leg now the contact's AGENT leg), and the leaver owes the wrap-up, as after a transfer.
        With no agent left, a number that was on it has the customer (as after a transfer to
        it)."""
        assert c.conference is not None
        leaver = c.agent
        self._hang_up_leg(c, AGENT)
        members = c.conference["members"]
        heir = next((m for m in members if m["agent"]), None) or (members[0] if members else None)
        if leaver:
            self._owe(c, leaver)
        c.agent, c.token, c.agent_leg = "", "", ""
        if heir is not None:
            members.remove(heir)
            leg = self.legs.get(heir["leg"])
            if leg is not None:
                self.legs.recast(leg, AGENT)
            c.agent_leg = heir["leg"]
            if heir["agent"]:
                c.agent, c.token, c.status = heir["agent"], heir["token"], "assigned"
            else:
                c.status = "transferred"
            log.info("contact %s: %s left the conference; %s has control", c.id, leaver,
                     heir["agent"] or heir["number"])
        if leaver:
            self._settle(self._records[leaver])
        self._after_leaving(c)

    def _after_leaving(self, c: ContactRecord):
        """Someone left the conference: with one left the call is over (wrap-up for the agent
        in control, if any); with no party left besides the customer and the agent, it is a
        plain call again; everyone on it is told."""
        assert c.conference is not None
        if self._on_call(c) <= 1 or self.legs.of(c.id, AGENT) is None:
            for m in list(c.conference["members"]):
                self._party_off(c, m, "ended")
            c.conference = None
            if c.agent and c.status in TALKING:
                self._end(c)
                self._hang_up_legs(c)
            else:
                self._hang_up_legs(c)
                self._finish(c, "wrapped_up")
            return
        if not c.conference["members"] and not c.conference["post_call"]:
            c.conference = None                 # the customer and the agent: a plain call
        self._connect(c)
        self._tell_all(c)

    def _tell_all(self, c: ContactRecord):
        """Tell everyone on the contact's call: the agent in control and the parties."""
        self._dirty_contacts[c.id] = c
        if c.agent:
            self._tell(c)
            self._refresh(self._records[c.agent])
        for m in (c.conference or {}).get("members", ()):
            if m["agent"]:
                self._tell_to(m["agent"], c)
                self._refresh(self._records[m["agent"]])


def member_of(agent: str, c: ContactRecord) -> dict | None:
    """The agent's place on the contact's conference, as a party (not the one in control)."""
    if c.conference is None or c.agent == agent:
        return None
    return next((m for m in c.conference["members"] if m["agent"] == agent), None)
