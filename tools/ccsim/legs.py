"""The calls the media bridge holds for ccsim's contacts ("legs"), as ccsim knows them: which
contact each leg belongs to, whose it is (the customer's, or an agent's offer attempt), how far
it got and which room it is in. Bookkeeping only: the engine decides, the bridge
(tools/ccsim/bridge.py, through BridgeLink) does. Nothing here is stored: after a restart the
bridge's own listing (``legs``) is the truth, and the engine maps it back to its contacts.

Leg names: a customer's leg is named by the bridge when the call comes in ("in-3"); an agent's
is named by ccsim, one per offer attempt ("c-12.a2": contact c-12, its second attempt), so a
late event of an earlier attempt's leg is never taken for the current one's. A consult's legs
are "c-12.k1" (the requesting phone called back) and "c-12.t1" (the consulted party), numbered
per consult; a blind transfer's number "c-12.n3". A consulted party joined into a conference
keeps its leg ("c-12.t1") as a PARTY, of which a contact has any number.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Protocol

CUSTOMER, AGENT = "customer", "agent"
# a consult's two legs: the requesting agent's phone called back (CONSULT) and the consulted
# party, an agent or a number (CONSULTED); AGENT is whoever has the customer: an agent's offer
# attempt, or after a transfer the consulted party's leg or a number's
CONSULT, CONSULTED = "consult", "consulted"
# a conference's other parties (agents or numbers), besides the customer and the AGENT
PARTY = "party"
ROLES = (CUSTOMER, AGENT, CONSULT, CONSULTED)
CONTACT_HEADER = "X-CC-Contact-Id"      # as customers.py and the phone spell them
TOKEN_HEADER = "X-CC-Token"
# lab only: a campaign call's simulated outcome (dialer.lab_outcome), which the simulated
# customers' "answer" numbers honour (customers.py); never on a real phone's call
OUTCOME_HEADER = "X-Lab-Outcome"


class Bridge(Protocol):
    """What the engine has the bridge do (BridgeLink's commands)."""

    def dial(self, leg: str, to: str, headers: dict[str, str] | None = None,
             ring_s: float = 60.0) -> None: ...

    def answer(self, leg: str) -> None: ...

    def refuse(self, leg: str) -> None: ...

    def join(self, room: str, leg: str) -> None: ...

    def leave(self, leg: str) -> None: ...

    def hold_music(self, leg: str, on: bool) -> None: ...

    def play(self, leg: str, file: str, then: str = "") -> None: ...

    def app(self, leg: str, app: str, prompt: str, collect: str, then: str, *,
            max_digits: int = 1, timeout_s: float = 10.0, record_s: float = 4.0,
            file: str = "") -> None: ...

    def hangup(self, leg: str) -> None: ...


@dataclass
class Leg:
    leg: str
    contact: str
    role: str                       # one of ROLES
    agent: str = ""                 # an agent's leg's agent
    state: str = "dialing"          # incoming | dialing | ringing | answered
    room: str | None = None         # as the bridge last said
    hold_music: bool = False        # as ccsim last asked
    number: str = ""                # a number's leg: the number dialed
    # a customer's leg hearing one of the centre's pre-recorded messages (messages.py): its
    # code and the agent who played it, until the bridge says "played"; "": none
    message: str = ""
    message_by: str = ""


class Legs:
    """Each contact's legs by role (one each, and any number of conference PARTY legs), and
    every leg by name."""

    def __init__(self) -> None:
        self.by_name: dict[str, Leg] = {}
        self.roles: dict[str, dict[str, str]] = {}     # contact -> role -> leg name
        self._parties: dict[str, list[str]] = {}       # contact -> PARTY legs, as they joined

    def add(self, leg: Leg) -> Leg:
        self.by_name[leg.leg] = leg
        if leg.role == PARTY:
            self._parties.setdefault(leg.contact, []).append(leg.leg)
        else:
            self.roles.setdefault(leg.contact, {})[leg.role] = leg.leg
        return leg

    def get(self, name: str) -> Leg | None:
        return self.by_name.get(name)

    def of(self, contact: str, role: str) -> Leg | None:
        name = self.roles.get(contact, {}).get(role)
        return self.by_name.get(name) if name else None

    def drop(self, name: str) -> Leg | None:
        """Forget a leg (it ended, or was hung up): its later events are ignored."""
        leg = self.by_name.pop(name, None)
        if leg is not None and leg.role == PARTY:
            parties = self._parties.get(leg.contact, [])
            if name in parties:
                parties.remove(name)
            if not parties:
                self._parties.pop(leg.contact, None)
        elif leg is not None:
            mine = self.roles.get(leg.contact, {})
            if mine.get(leg.role) == name:
                del mine[leg.role]
            if not mine:
                self.roles.pop(leg.contact, None)
        return leg

    def recast(self, leg: Leg, role: str) -> None:
        """The leg now plays ``role`` (a consulted party who takes the customer: AGENT)."""
        self.drop(leg.leg)
        leg.role = role
        self.add(leg)

    def parties(self, contact: str) -> list[Leg]:
        """The contact's conference parties, in the order they joined."""
        return [self.by_name[name] for name in self._parties.get(contact, [])]

    def of_contact(self, contact: str) -> list[Leg]:
        return [leg for role in ROLES if (leg := self.of(contact, role))] + self.parties(contact)

    def participants(self, contact: str) -> list[dict[str, Any]]:
        """The admin API's view of a contact's legs: who, how far, which room."""
        return [{"leg": leg.leg, "who": leg.role, **({"agent": leg.agent} if leg.agent else {}),
                 **({"number": leg.number} if leg.number else {}),
                 "state": leg.state, "room": leg.room, "hold_music": leg.hold_music}
                for leg in self.of_contact(contact)]


def agent_leg_name(contact: str, attempt: int) -> str:
    return f"{contact}.a{attempt}"


def consult_leg_names(contact: str, n: int) -> tuple[str, str]:
    """The n-th consult's legs: (the requesting phone's, the consulted party's)."""
    return f"{contact}.k{n}", f"{contact}.t{n}"


def number_leg_name(contact: str, n: int) -> str:
    return f"{contact}.n{n}"


def key_digest(key: str) -> str:
    """What the bridge reports of a call's X-CC-Token (its SHA-256, hex): enough to check the
    key a customer's call carries without the key itself ever leaving the SIP message."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_matches(key: str, digest: object) -> bool:
    return isinstance(digest, str) and hmac.compare_digest(key_digest(key), digest)
