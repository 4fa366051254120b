"""What the rules ask the app to do. The app carries them out; the rules never do I/O."""
from __future__ import annotations

from dataclasses import dataclass, field

from .model import Settings


@dataclass(frozen=True)
class PlayTone:
    tone: str           # "test_ring"
    route: str          # an audio route: "ringer", "handset", ...
    level: int          # volume level 0-10


@dataclass(frozen=True)
class StopTone:
    route: str


@dataclass(frozen=True)
class SaveSettings:
    settings: Settings


# -- to the contact-center link (firmware.cc queues what it cannot send yet; docs/cc-protocol.md)
@dataclass(frozen=True)
class CcLogin:
    agent: str
    pin: str = field(repr=False)


@dataclass(frozen=True)
class CcSetState:
    state: str           # "available" | "idle"
    reason: str = ""


@dataclass(frozen=True)
class CcAccept:
    contact: str


@dataclass(frozen=True)
class CcCallEvent:
    contact: str
    event: str           # "ringing" | "answered" | "held" | "resumed" | "ended"
    at: float


@dataclass(frozen=True)
class CcWrapUp:
    contact: str
    code: str


@dataclass(frozen=True)
class CcLogout:
    reason: str = ""


# -- to the SIP stack ----------------------------------------------------------------------------
@dataclass(frozen=True)
class SipAnswer:
    call: str


@dataclass(frozen=True)
class SipHold:
    call: str


@dataclass(frozen=True)
class SipResume:
    call: str


@dataclass(frozen=True)
class SipHangup:
    call: str


@dataclass(frozen=True)
class SipRefuse:
    """Turn down an INVITE the phone will not ring (486, never rung, never reported): one that
    claims ``contact`` without its token, or an unbound call beyond what the rules let ring
    (firmware/core/calls.py). The SIP adapter logs that it did, without the token."""
    call: str
    contact: str
    why: str


@dataclass(frozen=True)
class SipDtmf:
    """Digits keyed during a call, for the far end (an IVR, a card-payment line)."""
    call: str
    digits: str
