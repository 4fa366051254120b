"""The calls the media bridge holds for ccsim's contacts ("legs"), as ccsim knows them: which
contact each leg belongs to, whose it is (the customer's, or an agent's offer attempt), how far
it got and which room it is in. Bookkeeping only: the engine decides, the bridge
(tools/ccsim/bridge.py, through BridgeLink) does. Nothing here is stored: after a restart the
bridge's own listing (``legs``) is the truth, and the engine maps it back to its contacts.

Leg names: a customer's leg is named by the bridge when the call comes in ("in-3"); an agent's
is named by ccsim, one per offer attempt ("c-12.a2": contact c-12, its second attempt), so a
late event of an earlier attempt's leg is never taken for the current one's.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Protocol

CUSTOMER, AGENT = "customer", "agent"
CONTACT_HEADER = "X-CC-Contact-Id"      # as customers.py and the phone spell them
TOKEN_HEADER = "X-CC-Token"


class Bridge(Protocol):
    """What the engine has the bridge do (BridgeLink's commands)."""

    def dial(self, leg: str, to: str, headers: dict[str, str] | None = None,
             ring_s: float = 60.0) -> None: ...

    def answer(self, leg: str) -> None: ...

    def refuse(self, leg: str) -> None: ...

    def join(self, room: str, leg: str) -> None: ...

    def leave(self, leg: str) -> None: ...

    def hold_music(self, leg: str, on: bool) -> None: ...

    def hangup(self, leg: str) -> None: ...


@dataclass
class Leg:
    leg: str
    contact: str
    role: str                       # CUSTOMER | AGENT
    agent: str = ""                 # an agent leg's agent
    state: str = "dialing"          # incoming | dialing | ringing | answered
    room: str | None = None         # as the bridge last said
    hold_music: bool = False        # as ccsim last asked


class Legs:
    """Each contact's customer leg and current agent leg, and every leg by name."""

    def __init__(self) -> None:
        self.by_name: dict[str, Leg] = {}
        self.customer: dict[str, str] = {}      # contact -> its customer's leg
        self.agent: dict[str, str] = {}         # contact -> its current offer's agent leg

    def add(self, leg: Leg) -> Leg:
        self.by_name[leg.leg] = leg
        (self.customer if leg.role == CUSTOMER else self.agent)[leg.contact] = leg.leg
        return leg

    def get(self, name: str) -> Leg | None:
        return self.by_name.get(name)

    def of(self, contact: str, role: str) -> Leg | None:
        name = (self.customer if role == CUSTOMER else self.agent).get(contact)
        return self.by_name.get(name) if name else None

    def drop(self, name: str) -> Leg | None:
        """Forget a leg (it ended, or was hung up): its later events are ignored."""
        leg = self.by_name.pop(name, None)
        if leg is not None:
            mine = self.customer if leg.role == CUSTOMER else self.agent
            if mine.get(leg.contact) == name:
                del mine[leg.contact]
        return leg

    def of_contact(self, contact: str) -> list[Leg]:
        return [leg for leg in (self.of(contact, CUSTOMER), self.of(contact, AGENT)) if leg]

    def participants(self, contact: str) -> list[dict[str, Any]]:
        """The admin API's view of a contact's legs: who, how far, which room."""
        return [{"leg": leg.leg, "who": leg.role, **({"agent": leg.agent} if leg.agent else {}),
                 "state": leg.state, "room": leg.room, "hold_music": leg.hold_music}
                for leg in self.of_contact(contact)]


def agent_leg_name(contact: str, attempt: int) -> str:
    return f"{contact}.a{attempt}"


def key_digest(key: str) -> str:
    """What the bridge reports of a call's X-CC-Token (its SHA-256, hex): enough to check the
    key a customer's call carries without the key itself ever leaving the SIP message."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_matches(key: str, digest: object) -> bool:
    return isinstance(digest, str) and hmac.compare_digest(key_digest(key), digest)
