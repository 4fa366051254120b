"""Everything that can happen to the phone, as small frozen values (each an ``Event``), and
the data the server's events carry (``Code``, ``VariableLayout``, ``CcSettings``, ``Contact``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .vocab import (AgentState, CallbackKind, CampaignMode, ConsultStatus, ContactKind,
                    ContactStatus, EntryKind, KeyKind, KeyName, ParticipantKind, ParticipantState,
                    PreviewAction, SipCallChange, StorageProblem, Tone, VariableKind)


@dataclass(frozen=True)
class Event:
    """Something that happened: each kind has its rule in update._EVENTS
    (tests/unit/test_registries.py checks)."""


@dataclass(frozen=True)
class Booted(Event):
    """The devices are up and the console is listening."""


@dataclass(frozen=True)
class Key(Event):
    name: KeyName
    kind: KeyKind = "down"


@dataclass(frozen=True)
class Hook(Event):
    lifted: bool


@dataclass(frozen=True)
class Tick(Event):
    now: float         # wall-clock seconds (time.time()), once a second


@dataclass(frozen=True)
class NetworkChanged(Event):
    ip: str | None     # the phone's address, None without a network


@dataclass(frozen=True)
class ToneFinished(Event):
    """A tone started by PlayTone has ended (played out, or stopped)."""
    tone: Tone


@dataclass(frozen=True)
class StorageStatus(Event):
    """Whether the phone's state can be written: "" yes, "full" or "failed"
    (firmware.app.storage)."""
    problem: StorageProblem


@dataclass(frozen=True)
class ClockSync(Event):
    """Whether the wall clock can be trusted yet (firmware.app.timesync): until it is, a board
    without a battery-backed clock opens no TLS link and shows why."""
    synchronized: bool


@dataclass(frozen=True)
class SettingsNotSaved(Event):
    """A settings Save did not reach the disk (``full``: no space left)."""
    full: bool


# -- the contact-center link (firmware.cc turns protocol messages into these) --------------------
@dataclass(frozen=True)
class Code:
    code: str
    label: str


@dataclass(frozen=True)
class VariableLayout:
    name: str
    label: str
    secure: bool = False
    editable: bool = False
    kind: VariableKind = "text"          # "date", "datetime": checked as such when edited


@dataclass(frozen=True)
class CcSettings:
    rona_s: float = 15.0
    wrapup_s: float = 0.0
    mask_ani: bool = False
    accept_all: bool = False
    max_offers: int = 1
    customer_noise_removal: bool = False    # remove the noise from the customer's audio
    auto_answer_speaker: bool = False       # an auto-answered offer may open the speaker's mic
    note_max: int = 0                       # a wrap-up note's most characters (0: no notes)


@dataclass(frozen=True)
class Forwarding:
    """Where the agent's personal calls go instead (cc protocol Forwarding; "": not)."""
    always: str = ""
    busy: str = ""
    no_answer: str = ""
    no_answer_s: int = 20


@dataclass(frozen=True)
class ConsultLeg:
    """The agent's consult of a contact (firmware.cc.protocol.ConsultLeg): its SIP call, the
    consult leg, carries ``token`` as X-CC-Token."""
    who: str
    kind: EntryKind
    status: ConsultStatus
    since: float = 0.0
    token: str = field(default="", repr=False)


@dataclass(frozen=True)
class Requester:
    """For a consulted agent: who asked (the consult popover's three defaults)."""
    name: str
    extension: str
    team: str


@dataclass(frozen=True)
class Participant:
    """Someone on the contact's call, as the server's bridge holds them."""
    who: str
    kind: ParticipantKind
    state: ParticipantState
    agent: str = ""


@dataclass(frozen=True)
class Conference:
    """The contact's call is a conference: since when (phone time), and whether the customer
    has left it (post call)."""
    since: float
    post_call: bool = False


@dataclass(frozen=True)
class Recording:
    """The contact's call is recorded (server side); ``paused`` until ``resumes_at`` (phone
    time), when it resumes by itself."""
    paused: bool = False
    resumes_at: float = 0.0


@dataclass(frozen=True)
class Contact:
    """A customer interaction (firmware.cc.protocol.Contact)."""
    id: str
    status: ContactStatus
    queue: str
    ani: str
    # (name, value) pairs; out of repr so a logged event never shows a secure value
    variables: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    offered_at: float = 0.0
    expires_at: float = 0.0
    wrapup_deadline: float = 0.0
    primary: bool = True
    kind: ContactKind = "inbound"
    # the secret its SIP call carries (X-CC-Token); out of repr so no log line shows it
    token: str = field(default="", repr=False)
    # consult and transfer: this agent's consult; for a consulted agent (``primary`` false)
    # who asked; who is on the call, and the agent with control of it
    consult: ConsultLeg | None = None
    requested_by: Requester | None = None
    participants: tuple[Participant, ...] = ()
    control: str = ""
    conference: Conference | None = None
    recording: Recording | None = None
    # call data: each changed variable's version (absent: 1) and who changed it last
    versions: tuple[tuple[str, int], ...] = ()
    changed_by: tuple[tuple[str, str], ...] = ()
    # a campaign's record: the campaign's id, the customer's name, why its last attempt failed
    campaign: str = ""
    customer: str = ""
    failed: str = ""
    auto_answer: bool = False       # a predictive campaign's offer: answered by the phone
    alternates: tuple[str, ...] = ()    # a campaign record's other numbers
    rescheduled: str = ""           # when it is called again (the customer's local time)
    machine: bool = False           # the dialer found an answering machine on the line
    reservation: bool = False       # a preview shown on the server's reservation call
    # a callback (kind "callback"): its id, the number the customer called, and whether the
    # agent may end it while the customer rings (the server calls them once answered)
    callback: str = ""
    dnis: str = ""
    cancel: bool = False

    def version(self, name: str) -> int:
        return dict(self.versions).get(name, 1)


@dataclass(frozen=True)
class Campaign:
    """An outbound campaign the agent is in (firmware.cc.protocol.Campaign)."""
    id: str
    name: str
    mode: CampaignMode = "preview"
    started: bool = False
    preview_s: float = 0.0              # the preview's countdown (0: none)
    timeout_action: PreviewAction = "skip"
    skip: bool = True                   # Skip and Remove show only where allowed
    remove: bool = True
    cancel: bool = False                # the call may be ended before it connects
    dispositions: tuple[Code, ...] = ()
    fields: tuple[VariableLayout, ...] = ()
    script: str = ""                    # what the agent says
    ends: str = ""                      # its last day (YYYY-MM-DD)
    message: bool = False               # it has a recorded message (Msg on a machine)


@dataclass(frozen=True)
class DirectoryEntry:
    """Someone or something the agent can call (firmware.cc.protocol.DirectoryEntry): ``number``
    is what the phone dials ("" for nothing), ``state`` an agent's state now ("" otherwise)."""
    kind: EntryKind
    id: str
    name: str
    number: str = ""
    state: AgentState | None = None


@dataclass(frozen=True)
class Favorite:
    """One of the agent's favorites (firmware.cc.protocol.Favorite): a directory entry, or a
    number the agent typed (kind "number", ``id`` "")."""
    kind: EntryKind
    number: str
    id: str = ""
    name: str = ""


@dataclass(frozen=True)
class CcLink(Event):
    """The connection to the server: "connecting", "up" (snapshot applied) or "down"
    (``detail``: why an attempt failed, in a few words; "" when an open link closed)."""
    state: Literal["connecting", "up", "down"]
    detail: str = ""


@dataclass(frozen=True)
class CallbackRules:
    """The server's rules of a scheduled callback (callback_rules.py checks with them)."""
    number_min: int = 7
    number_max: int = 15
    name_min: int = 3
    name_max: int = 250
    lead_min_s: int = 1800
    lead_max_s: int = 31 * 86400
    reason_max: int = 250


@dataclass(frozen=True)
class CallbackDraft:
    """A callback as the agent typed it (the window in the customer's zone ``tz``)."""
    number: str
    name: str
    date: str
    start: str
    end: str
    tz: str
    queue: str
    reason: str = ""
    assignee: str = ""


@dataclass(frozen=True)
class Callback:
    """A scheduled callback as the server keeps it (``start``, ``end``: the phone's clock)."""
    id: str
    kind: CallbackKind
    number: str
    name: str
    queue: str
    start: float
    end: float
    tz: str = "UTC"
    reason: str = ""
    assignee: str = ""
    date: str = ""              # the window as typed: the customer's local date and times
    start_local: str = ""
    end_local: str = ""

    def draft(self) -> CallbackDraft:
        return CallbackDraft(self.number, self.name, self.date, self.start_local,
                             self.end_local, self.tz, self.queue, self.reason, self.assignee)


@dataclass(frozen=True)
class CcSnapshot(Event):
    """Everything the server holds for the agent (state, contacts, code lists), sent on every
    (re)connect: replaces what the phone knew."""
    agent: str
    name: str
    team: str
    extension: str
    state: AgentState
    reason: str = ""
    pending: tuple[AgentState, str] | None = None      # (state, reason)
    contacts: tuple[Contact, ...] = ()
    idle_codes: tuple[Code, ...] = ()
    wrapup_codes: tuple[Code, ...] = ()
    layout: tuple[VariableLayout, ...] = ()
    settings: CcSettings = CcSettings()
    favorites: tuple[Favorite, ...] = ()     # the agent's: they follow it to any phone
    campaigns: tuple[Campaign, ...] = ()
    logout_at: float = 0.0      # a negotiated logout pending: when it takes effect (phone time)
    # callbacks: the rules, the queues the agent may schedule for, their team (assignees), and
    # how far the server's clock is ahead of the phone's (the rules go by the server's)
    callback_rules: CallbackRules = CallbackRules()
    callback_queues: tuple[Code, ...] = ()
    team_members: tuple[Code, ...] = ()
    skew: float = 0.0
    help: bool = False          # the agent's help request stands
    messages: tuple[Code, ...] = ()       # pre-recorded messages to play into a call
    follow_ups: tuple[FollowUp, ...] = ()  # come due, not done
    voice_apps: tuple[VoiceApp, ...] = ()
    forwarding: Forwarding = Forwarding()
    voicemail_waiting: int = 0
    voicemail_messages: int = 0
    voicemail_number: str = ""


@dataclass(frozen=True)
class CcAgentState(Event):
    state: AgentState
    reason: str = ""
    pending: tuple[AgentState, str] | None = None
    logout_at: float = 0.0


@dataclass(frozen=True)
class CcCampaign(Event):
    """A campaign of the agent's changed (started, stopped): as it is now."""
    campaign: Campaign


@dataclass(frozen=True)
class CcContact(Event):
    contact: Contact


@dataclass(frozen=True)
class CcNotice(Event):
    text: str


@dataclass(frozen=True)
class FollowUp:
    """A reminder the agent scheduled, come due (``at`` on the phone's clock)."""
    id: str
    at: float
    note: str
    contact: str = ""
    customer: str = ""          # the contact's customer number, if it had one


@dataclass(frozen=True)
class CcForwarding(Event):
    forwarding: Forwarding


@dataclass(frozen=True)
class CcVoicemail(Event):
    """The agent's voicemail box: messages not heard yet, and in all."""
    waiting: int
    messages: int = 0


@dataclass(frozen=True)
class VoiceApp:
    """A voice application the server connects a customer to (cc protocol VoiceApp)."""
    code: str
    label: str
    kind: str = "ivr"           # "ivr" or "signature"
    agent_stays: bool = True


@dataclass(frozen=True)
class CcAppResult(Event):
    """A voice application the agent connected ended: ``text`` says how."""
    contact: str
    app: str
    ok: bool
    text: str


@dataclass(frozen=True)
class CcFollowUp(Event):
    """A follow-up of the agent's came due."""
    follow_up: FollowUp


@dataclass(frozen=True)
class CcLoggedOut(Event):
    reason: str = ""


@dataclass(frozen=True)
class CcRefused(Event):
    """The server refused a request: ``request`` is its kind ("hello", "set_state", ...)."""
    request: str
    code: str
    message: str
    retry_after: float = 0.0    # "locked_out": seconds before the server checks a login again
    fields: tuple[tuple[str, str], ...] = ()    # bad_value of a callback: (field, rule code)


@dataclass(frozen=True)
class CcDialAnswer(Event):
    """The server's go-ahead for the phone's dial ``call``: INVITE ``to``, as ``contact``'s call
    (an outbound contact) or, with ``contact`` "", as an internal call."""
    call: str
    to: str
    contact: str = ""


@dataclass(frozen=True)
class CcCallbackSaved(Event):
    """The server scheduled (or changed) the agent's callback (effects.CcScheduleCallback)."""
    callback: Callback


@dataclass(frozen=True)
class CcCallbacks(Event):
    """The server's list of scheduled callbacks (effects.CcListCallbacks), soonest first."""
    callbacks: tuple[Callback, ...]


@dataclass(frozen=True)
class CcDirectory(Event):
    """The server's answer to a directory look-up (effects.CcGetDirectory)."""
    entries: tuple[DirectoryEntry, ...]
    truncated: bool = False     # more matched than the server sends (MAX_DIRECTORY_ENTRIES)


@dataclass(frozen=True)
class CcVariable(Event):
    """A variable's value as the server has it now (effects.CcGetVariable); a secure one's
    value is out of repr: no log line shows it."""
    contact: str
    name: str
    value: str = field(default="", repr=False)
    version: int = 1


@dataclass(frozen=True)
class CcFavorites(Event):
    """The agent's favorites changed (on this phone or another): all of them, as now."""
    favorites: tuple[Favorite, ...]


@dataclass(frozen=True)
class CcHelp(Event):
    """The agent's help request: "open" (the supervisors see it), "answered" by ``supervisor``
    or "closed" (cancelled, or closed by the supervisors)."""
    state: str
    supervisor: str = ""


@dataclass(frozen=True)
class CcAcked(Event):
    """The server took a request that has no answer of its own but the phone follows:
    ``request`` its wire name ("quality_report", "log_upload"), ``part`` a log upload's."""
    request: str
    part: int = 0


@dataclass(frozen=True)
class CcTakenOver(Event):
    """The agent logged in on another phone: this one is off the session until a new login."""


# -- SIP (firmware.sip turns stack events into these) --------------------------------------------
@dataclass(frozen=True)
class SipRegistration(Event):
    state: Literal["registering", "registered", "failed"]
    detail: str = ""     # e.g. "401 Unauthorized"


@dataclass(frozen=True)
class SipIncoming(Event):
    """An INVITE arrived; ``contact`` is its X-CC-Contact-Id header ("" if none), ``token``
    its X-CC-Token: the contact's secret, which binds the call to the offer only if it matches
    (anyone can name a contact id)."""
    call: str            # the SIP adapter's call id
    contact: str
    peer: str
    token: str = field(default="", repr=False)


@dataclass(frozen=True)
class SipCallState(Event):
    call: str
    state: SipCallChange
    reason: str = ""


@dataclass(frozen=True)
class SipDialed(Event):
    """The stack sent the INVITE of the phone's placed call ``dial`` (effects.SipDial) and
    named it ``call``; or it could not (``error`` says why, nothing was sent)."""
    dial: str
    call: str = ""
    error: str = ""


@dataclass(frozen=True)
class CallQuality:
    """A call's media as the phone measured it (firmware/sip/quality.py): what a quality
    report carries (cc protocol CallQuality)."""
    duration_s: int = 0
    codec: str = ""
    rx_packets: int = 0
    rx_lost: int = 0
    tx_lost: int = 0
    rx_jitter_ms: float = 0.0
    tx_jitter_ms: float = 0.0
    rtt_ms: float = 0.0
    late: int = 0
    concealed: int = 0
    mos: float = 0.0


@dataclass(frozen=True)
class CallMeasured(Event):
    """The figures of the call a quality report is about (effects.MeasureCall), or None: the
    phone has none (the call is gone and was not the last)."""
    contact: str
    problem: str
    quality: CallQuality | None


@dataclass(frozen=True)
class LogsCollected(Event):
    """The phone's recent log for ``upload`` (effects.CollectLogs), redacted, in parts."""
    upload: str
    parts: tuple[str, ...] = field(repr=False)


@dataclass(frozen=True)
class LoginFromConfig(Event):
    """The config names the agent: log in at boot without the login screen."""
    agent: str
    pin: str = field(repr=False)
