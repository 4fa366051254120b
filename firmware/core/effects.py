"""What the rules ask the app to do. The app carries them out (firmware/app/phone.py, one case
per kind of ``Effect``); the rules never do I/O."""
from __future__ import annotations

from dataclasses import dataclass, field

from .events import CallbackDraft, CallQuality, Forwarding
from .model import Model, Settings
from .vocab import AgentChoice, CallLeg, CallReport, EntryKind, PreviewAction, Route, Tone


@dataclass(frozen=True)
class PlayTone:
    tone: Tone
    route: Route
    level: int          # volume level 0-10


@dataclass(frozen=True)
class StopTone:
    route: Route


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
    state: AgentChoice
    reason: str = ""


@dataclass(frozen=True)
class CcAccept:
    contact: str


@dataclass(frozen=True)
class CcReject:
    """The agent turns an offer down (the server routes it again, the agent goes Idle).
    ``why``: the phone turned it down by itself (firmware.core.emergency), said in its log;
    the server gets the same reject either way."""
    contact: str
    why: str = ""


@dataclass(frozen=True)
class CcDial:
    """Ask the server to dial ``number`` for the phone's call ``call`` (events.CcDialAnswer, or
    CcRefused "dial"). Never for an emergency number."""
    call: str
    number: str


@dataclass(frozen=True)
class CcGetDirectory:
    """Look the directory up (events.CcDirectory, or CcRefused "directory"); "": all of it."""
    query: str = ""


@dataclass(frozen=True)
class CcFavoriteAdd:
    """Add to the agent's favorites (the server's CcFavorites follows). ``target``: the
    directory entry's id, "" for a typed number."""
    kind: EntryKind
    number: str
    target: str = ""
    name: str = ""


@dataclass(frozen=True)
class CcFavoriteRemove:
    """Remove the favorite with ``target`` if given, else the one with ``number``."""
    number: str = ""
    target: str = ""


@dataclass(frozen=True)
class CcCallEvent:
    contact: str
    event: CallReport
    at: float
    leg: CallLeg = "customer"       # "consult": the agent's consult leg of the contact
    reason: str = ""                # "ended" before an answer: why ("busy (486)", "no answer")


@dataclass(frozen=True)
class CcConsult:
    """Consult ``target`` about the contact talked on (the server calls the phone back on the
    consult leg; or CcRefused "consult")."""
    contact: str
    kind: EntryKind
    target: str                     # an agent's id, a queue's or entry point's name, a number


@dataclass(frozen=True)
class CcTransfer:
    """Hand the contact on: to the consulted party (no ``kind``), or blind to ``target``."""
    contact: str
    kind: EntryKind | None = None
    target: str = ""


@dataclass(frozen=True)
class CcExitConsult:
    """Leave the consult (the requesting agent back to the customer, or the consulted agent
    out of it)."""
    contact: str


@dataclass(frozen=True)
class CcConference:
    """Join the consulted party, who answered, into the contact's call (or CcRefused
    "conference")."""
    contact: str


@dataclass(frozen=True)
class CcExitConference:
    """Leave the contact's conference; the others go on."""
    contact: str


@dataclass(frozen=True)
class CcSetVariable:
    """Save a call variable over the version the draft started from (or CcRefused
    "set_variable")."""
    contact: str
    name: str
    value: str = field(repr=False)      # may be a secure variable's: never in a log line
    version: int = 0


@dataclass(frozen=True)
class CcGetVariable:
    """Fetch a variable's value now (events.CcVariable, or CcRefused "get_variable")."""
    contact: str
    name: str


@dataclass(frozen=True)
class CcPauseRecording:
    """Pause the contact's recording (or CcRefused "pause_recording")."""
    contact: str


@dataclass(frozen=True)
class CcResumeRecording:
    """Resume the contact's paused recording (or CcRefused "resume_recording")."""
    contact: str


@dataclass(frozen=True)
class CcPreview:
    """The agent's answer to a previewed campaign record: call, skip or remove it (or
    CcRefused "preview"). Called, the server sets it "dialing" and the phone dials it."""
    contact: str
    action: PreviewAction
    number: str = ""        # call: one of the record's alternates ("": its number)


@dataclass(frozen=True)
class CcPlayMessage:
    """``message`` "": leave the campaign's recorded message on the answering machine of the
    contact's call: the server plays it to them and ends the agent's call. Else play that
    pre-recorded message to the customer, the agent staying on (or CcRefused
    "play_message")."""
    contact: str
    message: str = ""


@dataclass(frozen=True)
class CcConnectApp:
    """Connect the contact's customer to the voice application ``app`` (events.CcAppResult,
    or CcRefused "connect_app")."""
    contact: str
    app: str


@dataclass(frozen=True)
class CcSetForwarding:
    """The agent's call forwarding, whole (events.CcForwarding, or CcRefused with fields)."""
    forwarding: Forwarding


@dataclass(frozen=True)
class CcScheduleFollowUp:
    """A reminder the server brings back at ``at`` (server time; events.CcFollowUp)."""
    at: float
    note: str
    contact: str = ""


@dataclass(frozen=True)
class CcFollowUpDone:
    follow_up: str


@dataclass(frozen=True)
class CcReschedule:
    """Call the campaign's record again at ``at`` (YYYY-MM-DDTHH:MM, the customer's time; or
    CcRefused "reschedule" with the rule it broke)."""
    contact: str
    at: str


@dataclass(frozen=True)
class CcScheduleCallback:
    """Schedule a callback (events.CcCallbackSaved, or CcRefused "schedule_callback" with each
    field's rule); ``contact``: the one the agent is on, "" from idle."""
    draft: CallbackDraft
    contact: str = ""


@dataclass(frozen=True)
class CcEditCallback:
    """Change a scheduled callback (events.CcCallbackSaved, or CcRefused "edit_callback")."""
    callback: str
    draft: CallbackDraft


@dataclass(frozen=True)
class CcDeleteCallback:
    """Delete a scheduled callback (CcRefused "delete_callback" when the server won't)."""
    callback: str


@dataclass(frozen=True)
class CcListCallbacks:
    """The scheduled callbacks of the customer at ``number`` ("": the agent's own):
    events.CcCallbacks."""
    number: str = ""


@dataclass(frozen=True)
class CcWrapUp:
    contact: str
    code: str
    note: str = ""


@dataclass(frozen=True)
class CcRequestHelp:
    """Ask a supervisor for help with ``contact`` ("": none in view); events.CcHelp follows."""
    contact: str = ""


@dataclass(frozen=True)
class CcCancelHelp:
    pass


@dataclass(frozen=True)
class CcQualityReport:
    """Report a call that sounded bad, with the phone's figures for it (events.CcAcked)."""
    problem: str
    quality: CallQuality
    contact: str = ""


@dataclass(frozen=True)
class CcLogUpload:
    """One part of the phone's redacted recent log (events.CcAcked with its ``part``)."""
    upload: str
    part: int
    parts: int
    text: str = field(repr=False)


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


@dataclass(frozen=True)
class SipDial:
    """Place a call to ``number``; ``call`` is the phone's name for it until the stack answers
    with its own (events.SipDialed). An emergency call carries the phone's location."""
    call: str
    number: str
    emergency: bool = False
    contact: str = ""       # the outbound contact it is (its INVITE carries X-CC-Contact-Id)


# -- to the phone's own edges ------------------------------------------------------------------
@dataclass(frozen=True)
class MeasureCall:
    """The figures of ``call`` (a live one, or the last that ended; "": the last) for a quality
    report of ``problem`` (events.CallMeasured)."""
    call: str
    contact: str
    problem: str


@dataclass(frozen=True)
class CollectLogs:
    """The phone's recent log, redacted and cut in parts, for ``upload`` (events.LogsCollected)."""
    upload: str


# What the phone carries out, and what goes to each of its links; tests/unit/test_registries.py
# checks that every effect above is in ``Effect`` and that the phone carries each out.
CcEffect = (CcLogin | CcSetState | CcAccept | CcReject | CcDial | CcGetDirectory | CcFavoriteAdd
            | CcFavoriteRemove | CcCallEvent | CcConsult | CcTransfer | CcExitConsult
            | CcConference | CcExitConference | CcPauseRecording | CcResumeRecording
            | CcSetVariable | CcGetVariable | CcPreview | CcReschedule | CcPlayMessage
            | CcScheduleCallback | CcEditCallback | CcDeleteCallback | CcListCallbacks | CcWrapUp
            | CcRequestHelp | CcCancelHelp | CcQualityReport | CcLogUpload | CcScheduleFollowUp
            | CcFollowUpDone | CcConnectApp | CcSetForwarding | CcLogout)
SipEffect = SipAnswer | SipHold | SipResume | SipHangup | SipRefuse | SipDtmf | SipDial
Effect = PlayTone | StopTone | SaveSettings | MeasureCall | CollectLogs | CcEffect | SipEffect

Effects = tuple[Effect, ...]
Step = tuple[Model, Effects]        # what a rule returns: the new model and what to do
