"""The contact-center protocol (docs/cc-protocol.md): every message on the wire, as msgspec
structs. This module is the single source of the wire format; the JSON Schema in the doc is
generated from it (``python -m firmware.cc.schema``), and tools/ccsim imports it too.

JSON text frames over a WebSocket at ``/agent/v1``. Each message is an object with a ``type``.
Requests from the phone carry an ``id`` the server echoes in its ``ack`` or ``error``. Events
from the server carry ``seq``, +1 per event of one agent session, so the phone sees a gap and
asks for a ``snapshot`` (which carries the seq it is current to).
"""
from __future__ import annotations

from typing import Any, Literal, TypeVar

import msgspec

VERSION = 1
PATH = "/agent/v1"
MAX_MESSAGE_BYTES = 1 << 20          # larger frames are refused unread (error "too_large")
MAX_LOG_PART = 32 * 1024            # characters of a log_upload part (a progress step each)
# a quality_report's problem: what the agent heard
QUALITY_PROBLEMS = ("choppy", "echo", "noise", "one_way", "delay", "other")
FOLLOW_UP_NOTE_MAX = 250            # characters of a follow-up's note
FOLLOW_UP_MAX_DAYS = 90             # how far ahead a follow-up may be
FORWARD_NO_ANSWER_S = (5, 120)      # a forward on no answer rings the phone this long first
CLOSE_TAKEN_OVER = 4001              # close code: another phone logged the agent in

# What a server puts in a contact (docs/cc-protocol.md, "Field limits"): with at most
# MAX_OFFERS contacts on an agent, a snapshot stays far below MAX_MESSAGE_BYTES.
MAX_ANI_CHARS = 64
MAX_QUEUE_CHARS = 64
MAX_VARIABLES = 20
MAX_VARIABLE_NAME_CHARS = 32
MAX_VARIABLE_VALUE_CHARS = 256
MAX_CONTACT_BYTES = 16 * 1024        # one contact as JSON, whatever its characters
MAX_OFFERS = 10                      # settings.max_offers

AgentStateName = Literal["logged_out", "idle", "available", "reserved", "ringing", "talking",
                         "held", "wrapup"]
ContactStatus = Literal["reserved", "offered", "dialing", "assigned", "held", "ended",
                        "wrapup", "wrapped_up", "rona", "withdrawn", "preview", "skipped",
                        "removed"]
# "campaign": a campaign's record, previewed by the agent and dialed by the phone;
# "callback": a callback the server calls the customer back for once the agent answers
ContactKind = Literal["inbound", "outbound", "campaign", "callback"]
CallbackKind = Literal["courtesy", "web", "scheduled"]
CallbackStatus = Literal["scheduled", "offered", "done", "deleted"]
# "standard_preview" / "direct_preview": a preview shown on a reservation call the server
# places to the phone first (the dialer, resp. the phone, then calls the customer)
CampaignMode = Literal["preview", "standard_preview", "direct_preview", "progressive",
                       "predictive"]
PreviewAction = Literal["call", "skip", "remove"]
MAX_CAMPAIGNS = 20                   # an agent's campaigns in a snapshot
MAX_DISPOSITIONS = 100               # a campaign's disposition codes
MAX_SCRIPT_CHARS = 4000              # a campaign's script
MAX_ALTERNATES = 5                   # a record's other numbers
MAX_PARTICIPANTS = 8                 # on a conference, the customer and the agents included
MAX_DIAL_CHARS = 32                  # a dial request's number (the phone's dial screen holds 32)
MAX_CALLBACKS = 50                   # callbacks in a callbacks_answer
# The directory and the agent's favorites ("Field limits"): an answer of MAX_DIRECTORY_ENTRIES
# entries stays under 400 KB, a snapshot's MAX_FAVORITES under 40 KB, whatever their characters.
MAX_DIRECTORY_ENTRIES = 500
MAX_FAVORITES = 50
MAX_NAME_CHARS = 64                  # names and ids of entries and favorites
EntryKind = Literal["agent", "queue", "entry_point", "number"]


class _Msg(msgspec.Struct, tag_field="type", forbid_unknown_fields=False, omit_defaults=True):
    pass


# -- shared shapes ------------------------------------------------------------------------------
class Code(msgspec.Struct, frozen=True):
    """An idle (not-ready) reason or a wrap-up reason the server offers."""
    code: str
    label: str


VariableKind = Literal["text", "date", "datetime"]


class VariableLayout(msgspec.Struct, frozen=True, omit_defaults=True):
    """One call variable the admin shows (on the offer popover and in the call's data), in
    display order. ``editable``: the agents on the contact may change it (``set_variable``);
    ``kind``: a date (YYYY-MM-DD) or a date and time (ISO 8601) is checked as one. A
    ``secure`` one's value is never sent with the contact: ``get_variable`` fetches it."""
    name: str
    label: str
    secure: bool = False
    editable: bool = False
    kind: VariableKind = "text"


class Settings(msgspec.Struct, frozen=True):
    rona_s: float = 15.0                # offered -> RONA if not answered within this
    wrapup_s: float = 0.0               # 0: no limit; else auto wrap-up after this long
    mask_ani: bool = False              # show only the caller number's last 4 digits
    accept_all: bool = False            # the agent may accept every stacked offer at once
    max_offers: int = 1                 # offers the server may stack on one agent
    customer_noise_removal: bool = False  # the phone removes the noise from the customer's audio
    auto_answer_speaker: bool = False   # an auto-answered offer may open the speaker's mic
    note_max: int = 0                   # a wrap-up note's limit in characters (0: no notes)


class Pending(msgspec.Struct, frozen=True, omit_defaults=True):
    """A state asked for while busy; the server applies it when the contact is wrapped up. A
    negotiated logout (docs/cc-protocol.md, "Campaigns") is applied no sooner than ``at``
    (server time; 0: as soon as the contacts allow)."""
    state: Literal["idle", "available", "logged_out"]
    reason: str = ""
    at: float = 0.0


class Campaign(msgspec.Struct, frozen=True, omit_defaults=True):
    """An outbound campaign the agent is assigned to (docs/cc-protocol.md, "Campaigns"). In a
    ``preview`` campaign the server sends the agent one record at a time as a contact of kind
    "campaign" in status "preview": the agent calls it, skips it or removes it (``preview``),
    and the server does ``timeout_action`` itself when ``preview_s`` pass (0: no countdown)."""
    id: str
    name: str
    mode: CampaignMode = "preview"
    status: Literal["started", "stopped"] = "stopped"
    preview_s: float = 0.0
    timeout_action: PreviewAction = "skip"
    skip: bool = True                   # the agent may skip a record (else no Skip softkey)
    remove: bool = True                 # ... take a record out of the campaign
    cancel: bool = False                # ... end the call before the customer answers
    dispositions: list[Code] = []       # its contacts' wrap-up codes: one is mandatory
    fields: list[VariableLayout] = []   # the record's variables on the preview, in order
    script: str = ""                    # what the agent says, at most MAX_SCRIPT_CHARS
    ends: str = ""                      # its last day (YYYY-MM-DD): no reschedule after it
    message: bool = False               # it has a recorded message (``play_message``)


class CallbackRules(msgspec.Struct, frozen=True, omit_defaults=True):
    """The rules a scheduled callback's fields follow (docs/cc-protocol.md, "Callbacks"). The
    server owns them and sends them in the snapshot; both ends check with
    firmware/core/callback_rules.py, so a field the server refuses reads as the phone's own
    check."""
    number_min: int = 7                 # characters of the number (digits, + - , . spaces)
    number_max: int = 15
    name_min: int = 3                   # the customer's name, any Unicode
    name_max: int = 250
    lead_min_s: int = 1800              # the window's start: this long after now at least
    lead_max_s: int = 31 * 86400        # ... and at most
    reason_max: int = 250


class CallbackDraft(msgspec.Struct, frozen=True, omit_defaults=True):
    """A callback as the agent typed it: the window is the customer's local ``date``, ``start``
    and ``end`` (HH:MM) in ``tz`` (an IANA zone); ``assignee`` "" for the queue's agents, an
    agent id (the agent's own, or a member of their team) for a personal callback."""
    number: str
    name: str
    date: str
    start: str
    end: str
    tz: str
    queue: str
    reason: str = ""
    assignee: str = ""


class Callback(msgspec.Struct, frozen=True, omit_defaults=True):
    """A callback as the server keeps it (``start``/``end``: server time of the window)."""
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
    status: CallbackStatus = "scheduled"
    attempts: int = 0
    date: str = ""                      # the window as typed: the customer's local date,
    start_local: str = ""               # start and end (an edit starts from them)
    end_local: str = ""


class ConsultLeg(msgspec.Struct, frozen=True, omit_defaults=True):
    """The requesting agent's consult of a contact (``consult``): who is being consulted and
    how far it got. The server calls the requesting phone back on a second SIP call, the
    **consult leg**: an INVITE with ``X-CC-Contact-Id`` = the contact and ``X-CC-Token`` =
    ``token`` (the phone answers it by itself: it asked for it)."""
    who: str                            # the consulted party as the agent reads it
    kind: EntryKind
    status: Literal["dialing", "ringing", "talking"]
    since: float = 0.0                  # server time of the last status change
    token: str = ""                     # the consult leg's secret; never shown or logged


class Requester(msgspec.Struct, frozen=True):
    """For a consulted agent: who asked (the consult popover's three defaults)."""
    name: str
    extension: str
    team: str


class Participant(msgspec.Struct, frozen=True, omit_defaults=True):
    """Someone on the contact's call, as the bridge holds them."""
    who: str                            # the customer's number, an agent's name, a number
    kind: Literal["customer", "agent", "number"]
    state: Literal["ringing", "talking", "held", "music"]
    agent: str = ""                     # the agent's id, for kind "agent"


class ConferenceState(msgspec.Struct, frozen=True, omit_defaults=True):
    """The contact's call is a conference (``conference``): since when, and whether the
    customer has left it (post call: the agents may talk on, nobody can be added)."""
    since: float                        # server time the conference began
    post_call: bool = False


class RecordingState(msgspec.Struct, frozen=True, omit_defaults=True):
    """The contact's call is recorded (on the server side): ``paused`` by the agent until
    ``resumes_at`` (server time), when it resumes by itself."""
    paused: bool = False
    resumes_at: float = 0.0


class CallQuality(msgspec.Struct, frozen=True, omit_defaults=True):
    """One call's media as the phone measured it (RTP/RTCP and its jitter buffer)."""
    duration_s: int = 0
    codec: str = ""
    rx_packets: int = 0
    rx_lost: int = 0                    # packets the far end sent that never came
    tx_lost: int = 0                    # ours the far end reported lost (RTCP)
    rx_jitter_ms: float = 0.0
    tx_jitter_ms: float = 0.0
    rtt_ms: float = 0.0
    late: int = 0                       # packets that came after their playout time
    concealed: int = 0                  # packets the phone made up for lost ones
    mos: float = 0.0                    # listening quality, estimated (ITU-T G.107 E-model)


class VoiceApp(msgspec.Struct, frozen=True, omit_defaults=True):
    """A voice application the server can connect a customer to (``connect_app``): an IVR
    (a card payment, a survey) or a voice signature (a consent prompt, the customer's answer
    recorded)."""
    code: str
    label: str
    kind: Literal["ivr", "signature"] = "ivr"
    # the agent stays on the contact while it runs (the customer comes back after); else the
    # agent's leg is released at once (wrap-up) and the application ends the call
    agent_stays: bool = True


class Forwarding(msgspec.Struct, frozen=True, omit_defaults=True):
    """Where the agent's personal calls (to their extension, never a queue's) go instead of
    their phone: ``always``; else when the phone is ``busy`` or gives ``no_answer`` within
    ``no_answer_s`` (or is off: no answer). "": not forwarded (a call not taken goes to the
    agent's voicemail). Carried out by the call server, so a phone that is off still
    forwards."""
    always: str = ""
    busy: str = ""
    no_answer: str = ""
    no_answer_s: int = 20


class FollowUp(msgspec.Struct, frozen=True, omit_defaults=True):
    """A reminder the agent scheduled (``schedule_follow_up``), come due."""
    id: str
    at: float                           # when it was due (server time)
    note: str
    contact: str = ""                   # the contact it is about
    customer: str = ""                  # that contact's customer number, if it had one


class Contact(msgspec.Struct, frozen=True, omit_defaults=True):
    """A customer interaction as the agent sees it. Secure variables are not sent with it
    (``get_variable`` fetches one); never shown but on request, never logged."""
    id: str
    status: ContactStatus
    queue: str
    ani: str
    variables: dict[str, str] = {}
    offered_at: float = 0.0             # server time (s since epoch) of the reservation
    expires_at: float = 0.0             # RONA deadline while offered; 0 otherwise
    wrapup_deadline: float = 0.0        # auto wrap-up time; 0 for none
    primary: bool = True                # only the primary agent wraps up
    # "outbound": the agent dialed the customer (a ``dial`` request); ``ani`` is the number
    # dialed and the status starts at "dialing" until the call is answered
    kind: ContactKind = "inbound"
    # The secret the contact's SIP call carries as X-CC-Token, new for each offer attempt: the
    # phone binds an INVITE to the contact only if it matches. Never shown or logged.
    token: str = ""
    # consult and transfer (docs/cc-protocol.md, "Consult and transfer"): the requesting
    # agent's consult; for a consulted agent (``primary`` false) who asked; who is on the call
    # and which agent has control of it
    consult: ConsultLeg | None = None
    requested_by: Requester | None = None
    participants: list[Participant] = []
    control: str = ""
    # a conference (docs/cc-protocol.md, "Conference"): ``participants`` are all on it
    conference: ConferenceState | None = None
    # recorded (docs/cc-protocol.md, "Recording"): None when the contact is not recorded
    recording: RecordingState | None = None
    # call data (docs/cc-protocol.md, "Call data"): each changed variable's version (1 when
    # never changed: not listed) and the name of the agent who changed it last
    versions: dict[str, int] = {}
    changed_by: dict[str, str] = {}
    # a campaign's record (kind "campaign"): the campaign's id, the customer's name, and why
    # the last attempt failed ("busy", "no answer", ...: "" while none has), which the agent
    # wraps up with a disposition like a call
    campaign: str = ""
    customer: str = ""
    failed: str = ""
    # a predictive campaign's offer the phone answers by itself after a short tone (on the
    # headset; on the speaker only where settings.auto_answer_speaker allows it)
    auto_answer: bool = False
    # a campaign's record: its other numbers (``preview`` call may pick one), and the time
    # it is rescheduled to (``reschedule``: ISO 8601, the customer's local time; "" none)
    alternates: list[str] = []
    rescheduled: str = ""
    # the dialer's answering-machine detection found a machine on the line
    machine: bool = False
    # a callback (kind "callback"): its id, the number the customer called (``dnis``), and
    # whether the agent may end it before the customer answers (a web callback, where its
    # queue allows); the customer's name is ``customer``, the reason the variable
    # ``callback_reason``
    callback: str = ""
    dnis: str = ""
    cancel: bool = False
    # a standard or direct preview's record: the server first calls the phone on a
    # reservation call (X-CC-Contact-Id, X-CC-Token = ``token``, as an offer), which the phone
    # answers by itself with its mic closed; the preview shows once that call is up
    reservation: bool = False


class DirectoryEntry(msgspec.Struct, frozen=True, omit_defaults=True):
    """Someone or something the agent can call: an agent (with its state now), a queue, an
    entry point or a dial number. ``number`` is what the phone dials (an agent's extension, a
    queue's or entry point's dial number); "" when there is nothing to dial (a queue with no
    dial number of its own)."""
    kind: EntryKind
    id: str                             # unique within its kind
    name: str
    number: str = ""
    state: AgentStateName | None = None     # agents only: the agent's state now


class Favorite(msgspec.Struct, frozen=True, omit_defaults=True):
    """One of the agent's favorites: a directory entry (its ``kind`` and ``id``), or a number
    typed on the dial screen (kind "number", ``id`` ""). ``number`` is what the phone dials,
    and is unique among the agent's favorites."""
    kind: EntryKind
    number: str
    id: str = ""
    name: str = ""


class Agent(msgspec.Struct, frozen=True):
    id: str
    name: str
    team: str
    extension: str                      # the phone's SIP URI, where customers are sent


# -- phone -> server ----------------------------------------------------------------------------
class Hello(_Msg, tag="hello"):
    """Opens (or resumes) the agent's session; the server answers with a snapshot. A first
    hello logs the agent in, in Idle with reason "login"."""
    id: str
    agent: str
    pin: str
    version: int = VERSION
    client: str = ""
    # "" for a login (it takes the agent over from any other link); on an automatic reconnect,
    # the ``session`` of the phone's latest snapshot: refused (taken_over) if the agent has
    # logged in elsewhere since, so a phone coming back online never takes the agent back.
    resume: str = ""


class SetState(_Msg, tag="set_state"):
    """Available, or Idle with a reason. While on a contact it becomes the pending state."""
    id: str
    state: Literal["available", "idle"]
    reason: str = ""


class Accept(_Msg, tag="accept"):
    id: str
    contact: str


class Reject(_Msg, tag="reject"):
    """The agent turns an offered contact down: the server takes its call back and routes it
    again (counted as an attempt, like a RONA); the agent goes Idle "rejected"."""
    id: str
    contact: str


class Dial(_Msg, tag="dial"):
    """The agent dials ``number`` (not an emergency number: the phone never asks the server
    for those). The server answers ``dial_answer`` (where the phone's INVITE goes, and the
    outbound contact made for it, if it is one), or an ``error``: ``call_limit`` (the centre's
    concurrent-call limit is reached), ``not_allowed`` (not now: in wrap-up, on a contact),
    ``bad_number``. Never queued: offline, the phone says so at once."""
    id: str
    number: str


class Directory(_Msg, tag="directory"):
    """Look the directory up: the entries whose name or number holds ``query`` (any case; ""
    for all). Answered by ``directory_answer``, or an ``error``. Never queued."""
    id: str
    query: str = ""


class FavoriteAdd(_Msg, tag="favorite_add"):
    """Add to the agent's favorites (kept by the server: they follow the agent to any phone).
    ``target``: the directory entry's id, "" for a typed number (one that a directory entry
    has is kept as that entry, with its name). A number already among the favorites is not
    added again. Acked, then a ``favorites`` event; refused
    ``too_many_favorites`` or ``bad_favorite``. Never queued: offline, the phone refuses it."""
    id: str
    kind: EntryKind
    number: str
    target: str = ""
    name: str = ""


class FavoriteRemove(_Msg, tag="favorite_remove"):
    """Remove the favorite with this ``target`` (a directory entry's id) if given, else the one
    with this ``number``. Acked (also when there is none: it is gone either way), then a
    ``favorites`` event if one was removed."""
    id: str
    number: str = ""
    target: str = ""


class CallEvent(_Msg, tag="call"):
    """What happened to the SIP call of a contact, as the phone saw it (``leg`` "consult": the
    requesting agent's consult leg; its end ends the consult)."""
    id: str
    contact: str
    event: Literal["ringing", "answered", "held", "resumed", "ended"]
    at: float = 0.0                     # phone time; queued events are sent late
    leg: Literal["customer", "consult"] = "customer"
    reason: str = ""                    # "ended" before an answer: why ("busy (486)", ...)


class Consult(_Msg, tag="consult"):
    """Consult someone about the contact the agent talks on: the server puts the customer on
    hold (music), calls ``target`` (an agent: a consult offer on their phone; a queue or entry
    point: the next agent it routes to; a number: dialed), and calls this phone back on the
    consult leg (``Contact.consult``). Errors: ``not_allowed`` (not talking on the contact, or
    a consult already up), ``unknown_target``, ``unsupported_destination`` (an entry point
    routed to a capacity-based team)."""
    id: str
    contact: str
    kind: EntryKind
    target: str                         # an agent's id, a queue's or entry point's name, a number


class Transfer(_Msg, tag="transfer"):
    """Hand the contact on. With no ``target``: to the consulted party, once they answered
    (consult, or attended, transfer). With one: blind, to an agent or a number (the customer
    hears music until they answer) or to a queue or entry point (routed again). The customer
    is never dropped; this agent's legs end and it owes the wrap-up."""
    id: str
    contact: str
    kind: EntryKind | None = None
    target: str = ""


class ExitConsult(_Msg, tag="exit_consult"):
    """Leave the consult: the requesting agent goes back to the customer (the consult leg
    ends), or the consulted agent leaves it (the call goes on between the first agent and the
    customer; no wrap-up is owed)."""
    id: str
    contact: str


class Conference(_Msg, tag="conference"):
    """Join the consulted party, once they answered, into the contact's call: the customer,
    this agent and everyone already on it hear each other (each hears all the others, never
    itself). The consult leg ends; this phone resumes its customer call to be heard again.
    A conference's controller may consult again and join the next. Errors: ``not_allowed``
    (no consulted party talking; the customer has left), ``conference_full`` (more than
    MAX_PARTICIPANTS)."""
    id: str
    contact: str


class ExitConference(_Msg, tag="exit_conference"):
    """Leave the conference: the call goes on between the others. The controller's leaving
    passes control to the agent on the call longest (it then owes the wrap-up, as after a
    transfer; with no agent left, to no one); the call ends when one participant remains."""
    id: str
    contact: str


class PauseRecording(_Msg, tag="pause_recording"):
    """Pause the contact's recording (a card number is about to be read out): silence goes
    into the recording until ``resume_recording``, or the admin's time is up. Errors:
    ``not_allowed`` (not recorded, paused already, not the agent in control, or in a consult
    or a conference: the others on the call did not ask for it)."""
    id: str
    contact: str


class ResumeRecording(_Msg, tag="resume_recording"):
    """Resume a paused recording. Errors: ``not_allowed`` (not paused, not in control, in a
    consult or a conference)."""
    id: str
    contact: str


class SetVariable(_Msg, tag="set_variable"):
    """Save a call variable the admin made editable, over the ``version`` the agent's draft
    started from: the first save wins. Errors: ``not_editable`` (not in the layout, not
    editable, or secure), ``bad_value`` (over MAX_VARIABLE_VALUE_CHARS, or not a date /
    ISO 8601 date and time where the layout says so), ``variable_changed`` (saved by another
    agent since: the message says who and the value now), ``unknown_contact``."""
    id: str
    contact: str
    name: str
    value: str
    version: int


class GetVariable(_Msg, tag="get_variable"):
    """Fetch a variable's value now, a secure one included (answered by ``variable_value``;
    ``unknown_contact`` to an agent not on the contact)."""
    id: str
    contact: str
    name: str


class Preview(_Msg, tag="preview"):
    """The agent's answer to a previewed campaign record (status "preview"): ``call`` it (the
    server sets it "dialing" and the phone INVITEs its ``ani``), ``skip`` it (back to the
    campaign, the next record comes) or ``remove`` it from the campaign. Refused
    ``not_allowed`` when the campaign does not allow it or the record is no longer in
    preview."""
    id: str
    contact: str
    action: PreviewAction
    number: str = ""                    # call: the record's ``ani`` ("") or an alternate


class PlayMessage(_Msg, tag="play_message"):
    """``message`` "": leave the campaign's recorded message on an answering machine: the side
    that holds the customer's leg (the media bridge, for a call the dialer placed) plays it to
    them and hangs up when it ends; the agent's leg is ended at once (the disposition is still
    owed). Refused ``not_allowed`` when the campaign has no message or the call is not the
    bridge's (a preview call the phone dialed itself), ``unknown_contact``.
    ``message`` one of the snapshot's ``messages``: that pre-recorded message is played to the
    customer by the side that holds their leg while the agent stays on the call (the
    customer hears the message instead of the agent until it ends, then the conversation
    again); ack, and a ``notice`` when it has played. Refused ``unknown_code`` (not one of
    ``messages``), ``not_allowed`` (not talking with the customer, on hold, in a consult or
    conference, a message already playing, or a call that is not the bridge's)."""
    id: str
    contact: str
    message: str = ""


class SetForwarding(_Msg, tag="set_forwarding"):
    """The agent's call forwarding, whole (all "": off). Ack, then a ``forwarding`` event with
    it as kept. Refused ``bad_value`` (``fields`` names each refused field: ``bad_number``, a
    number that is no number; ``own_number``, the agent's own extension; ``loop``, a number
    whose own forwarding leads back to the agent; ``no_answer_s`` outside
    FORWARD_NO_ANSWER_S)."""
    id: str
    forwarding: Forwarding


class ConnectApp(_Msg, tag="connect_app"):
    """Connect the customer of ``contact`` to the voice application ``app`` (one of the
    snapshot's ``voice_apps``), run by the side that holds the customer's leg: the customer
    hears the application, not the agent (nor does the agent hear them: a card number keyed
    into a payment IVR reaches no one but it). Ack, then an ``app_result`` when it ends (the
    customer back with the agent where the application lets the agent stay). Refused
    ``unknown_code``, ``not_allowed`` (not talking with the customer, held, in a consult or
    conference, an application or message already running, not the bridge's call)."""
    id: str
    contact: str
    app: str


class ScheduleFollowUp(_Msg, tag="schedule_follow_up"):
    """A reminder for the agent: at ``at`` (server time, Unix seconds) the server brings it back
    to the agent's phone (a ``follow_up`` event; in the snapshot's ``follow_ups`` until done),
    with ``note`` and the contact it is about ("": none). Ack. Refused ``bad_value`` for a time
    not in the future by the server's clock or more than FOLLOW_UP_MAX_DAYS ahead, an empty
    note or one over FOLLOW_UP_NOTE_MAX characters; ``unknown_contact`` for a contact the agent
    never had."""
    id: str
    at: float
    note: str
    contact: str = ""


class FollowUpDone(_Msg, tag="follow_up_done"):
    """The agent has seen a follow-up that came due: the server drops it. Ack (also for one
    already done); ``not_allowed`` for one not due yet, ``unknown_follow_up`` for one that is
    not the agent's."""
    id: str
    follow_up: str


class Reschedule(_Msg, tag="reschedule"):
    """Call the campaign's record again at ``at`` (YYYY-MM-DDTHH:MM, the customer's local time)
    instead of now, while the agent is on it (its call, or its wrap-up: the disposition is
    still owed). Refused ``bad_value`` (not a date and time, in the past by the server's
    clock, after the campaign's end: the message says which rule), ``not_allowed`` (not a
    campaign record), ``unknown_contact``."""
    id: str
    contact: str
    at: str


class ScheduleCallback(_Msg, tag="schedule_callback"):
    """Schedule a callback (docs/cc-protocol.md, "Callbacks"): ``callback_answer`` with it, or
    ``error`` ``bad_value`` whose ``fields`` name each field's broken rule. ``contact``: the
    contact the agent is on ("" from idle); refused for a campaign's."""
    id: str
    callback: CallbackDraft
    contact: str = ""


class EditCallback(_Msg, tag="edit_callback"):
    """Change a scheduled callback (all its fields, as ``schedule_callback`` checks them);
    refused ``not_allowed`` once its window has started."""
    id: str
    callback_id: str
    callback: CallbackDraft


class DeleteCallback(_Msg, tag="delete_callback"):
    """Delete a scheduled callback: ``ack``; refused ``not_allowed`` once its window started."""
    id: str
    callback_id: str


class ListCallbacks(_Msg, tag="callbacks"):
    """The scheduled callbacks (not yet started) of the customer at ``number``, or with ""
    the agent's own (those they scheduled or are assigned): ``callbacks_answer``."""
    id: str
    number: str = ""


class WrapUp(_Msg, tag="wrapup"):
    """The contact's wrap-up reason (or campaign disposition) ``code``, and the agent's free
    ``note`` with it (at most Settings.note_max characters: over it, or a note where the
    centre takes none, is refused ``bad_value`` and nothing is wrapped up)."""
    id: str
    contact: str
    code: str
    note: str = ""


class RequestHelp(_Msg, tag="request_help"):
    """The agent asks a supervisor for help, with ``contact`` (the one in view; "": none).
    The server shows the request to supervisors (admin API) and acks; ``help`` messages say
    what becomes of it. One stands at a time: a second is refused ``not_allowed``."""
    id: str
    contact: str = ""


class CancelHelp(_Msg, tag="cancel_help"):
    """The agent takes their help request back (``not_allowed`` when none stands)."""
    id: str


class QualityReport(_Msg, tag="quality_report"):
    """The agent reports a call that sounded bad, during it or after it (the phone keeps its
    last call's figures): ``problem`` (QUALITY_PROBLEMS), the call's ``contact`` ("": an
    internal call) and the phone's own measurements of it. The server keeps it and acks."""
    id: str
    problem: str
    quality: CallQuality
    contact: str = ""


class LogUpload(_Msg, tag="log_upload"):
    """Part ``part`` (1-based) of ``parts`` of the phone's recent log, redacted on the phone
    (no PIN, password, session, secure variable or DTMF digit), each part at most
    MAX_LOG_PART characters. The server acks each; the upload ``upload`` (the phone's id for
    it) is kept once its last part is in. A part out of order is refused ``bad_value``."""
    id: str
    upload: str
    part: int
    parts: int
    text: str


class Logout(_Msg, tag="logout"):
    id: str
    reason: str = ""


class Resync(_Msg, tag="resync"):
    """Ask for a snapshot (the phone saw a seq gap)."""
    id: str


# -- server -> phone ----------------------------------------------------------------------------
class Ack(_Msg, tag="ack"):
    id: str


class Error(_Msg, tag="error"):
    """A refused request (``id`` set) or a refused frame (``id`` empty)."""
    code: str                           # see ERROR_CODES
    message: str
    id: str = ""
    retry_after: int = 0                # locked_out: seconds before a hello is looked at again
    # bad_value of a callback: each refused field's rule (firmware/core/callback_rules.py WORDS)
    fields: dict[str, str] = {}


class DialAnswer(_Msg, tag="dial_answer"):
    """Go ahead with a ``dial``: INVITE ``to`` (a number the proxy routes, or a SIP URI) with
    ``X-CC-Contact-Id: <contact>`` when ``contact`` is set: an outbound contact (kind
    "outbound", status "dialing", its ``contact`` event follows), reported with ``call``
    events and wrapped up like any other. ``contact`` "": an internal call (an agent or an
    extension), no contact, no wrap-up."""
    id: str
    to: str
    contact: str = ""


class DirectoryAnswer(_Msg, tag="directory_answer"):
    """The answer to ``directory`` (same ``id``): agents, queues, entry points, dial numbers,
    at most MAX_DIRECTORY_ENTRIES; ``truncated`` when more matched than were sent."""
    id: str
    entries: list[DirectoryEntry] = []
    truncated: bool = False


class VariableValue(_Msg, tag="variable_value"):
    """The answer to ``get_variable`` (same ``id``): the value (a secure one: shown a few
    seconds, never logged or kept) and its version."""
    id: str
    contact: str
    name: str
    value: str = ""
    version: int = 1


class CallbackAnswer(_Msg, tag="callback_answer"):
    """A callback scheduled or edited (same ``id``): as the server keeps it."""
    id: str
    callback: Callback


class CallbacksAnswer(_Msg, tag="callbacks_answer"):
    """The answer to ``callbacks``: at most MAX_CALLBACKS, soonest first."""
    id: str
    callbacks: list[Callback] = []


class Snapshot(_Msg, tag="snapshot"):
    seq: int
    agent: Agent
    state: AgentStateName
    reason: str = ""
    pending: Pending | None = None
    contacts: list[Contact] = []
    idle_codes: list[Code] = []
    wrapup_codes: list[Code] = []
    layout: list[VariableLayout] = []
    settings: Settings = Settings()
    favorites: list[Favorite] = []      # the agent's, in the order they were added
    server_time: float = 0.0
    # this login's id, new at each login (a hello without ``resume``): the phone resumes with
    # it. A secret like the PIN: never shown or logged.
    session: str = ""
    campaigns: list[Campaign] = []      # those the agent is assigned to, at most MAX_CAMPAIGNS
    # callbacks ("Callbacks"): the rules, the queues the agent may schedule one for (active
    # voice queues of theirs), and their team's members (a personal callback's assignees)
    callback_rules: CallbackRules = CallbackRules()
    callback_queues: list[Code] = []
    team: list[Code] = []
    help: bool = False                  # the agent's help request stands (``help`` open)
    # the centre's pre-recorded messages the agent may play into a call (``play_message``)
    messages: list[Code] = []
    follow_ups: list[FollowUp] = []     # the agent's follow-ups come due and not done
    voice_apps: list[VoiceApp] = []     # what ``connect_app`` may connect a customer to
    forwarding: Forwarding = Forwarding()
    voicemail_waiting: int = 0          # voicemail messages not yet heard
    voicemail_messages: int = 0         # ... and in all
    # what the phone dials to reach the agent's voicemail box (its menu: keys 1 play, 4 back
    # 5 s, 6 next, 7 delete, 9 record the greeting)
    voicemail_number: str = ""


class AgentState(_Msg, tag="agent_state"):
    seq: int
    state: AgentStateName
    reason: str = ""
    pending: Pending | None = None


class ContactUpdate(_Msg, tag="contact"):
    """A contact is new or changed (its status says which step of its life it is at)."""
    seq: int
    contact: Contact


class Notice(_Msg, tag="notice"):
    seq: int
    text: str


class CampaignUpdate(_Msg, tag="campaign"):
    """A campaign of the agent's changed (started, stopped, its rules): as it is now."""
    seq: int
    campaign: Campaign


class Favorites(_Msg, tag="favorites"):
    """The agent's favorites changed (on this phone or another): all of them, as they are now."""
    seq: int
    favorites: list[Favorite] = []


class Help(_Msg, tag="help"):
    """The agent's help request: ``open`` (taken; the supervisors see it), ``answered`` (a
    supervisor, ``supervisor``, is on it: the request is over), ``closed`` (cancelled by the
    agent, or the supervisors closed it)."""
    seq: int
    state: Literal["open", "answered", "closed"]
    supervisor: str = ""
    contact: str = ""


class AppResult(_Msg, tag="app_result"):
    """A voice application the agent connected ended: ``ok`` and what the agent is told
    (``Signature recorded``, ``Payment taken``; or why not: ``No answer: signature not
    recorded``, ``Customer hung up``)."""
    seq: int
    contact: str
    app: str
    ok: bool
    text: str


class ForwardingUpdate(_Msg, tag="forwarding"):
    """The agent's call forwarding changed (on this phone, another, or by the admin)."""
    seq: int
    forwarding: Forwarding


class Voicemail(_Msg, tag="voicemail"):
    """The agent's voicemail box changed: ``waiting`` messages not yet heard (the phone lights
    its message lamp while there are any), ``messages`` in all."""
    seq: int
    waiting: int
    messages: int = 0


class FollowUpDue(_Msg, tag="follow_up"):
    """A follow-up of the agent's came due (also to a phone that reconnects: the snapshot
    lists those not done)."""
    seq: int
    follow_up: FollowUp


class LoggedOut(_Msg, tag="logged_out"):
    seq: int
    reason: str = ""


ClientMessage = (Hello | SetState | Accept | Reject | Dial | Directory | FavoriteAdd
                 | FavoriteRemove | CallEvent | Consult | Transfer | ExitConsult | Conference
                 | ExitConference | PauseRecording | ResumeRecording | SetVariable | GetVariable
                 | Preview | Reschedule | PlayMessage | ScheduleCallback | EditCallback
                 | DeleteCallback | ListCallbacks | WrapUp | RequestHelp | CancelHelp
                 | QualityReport | LogUpload | ScheduleFollowUp | FollowUpDone | ConnectApp
                 | SetForwarding | Logout | Resync)
ServerMessage = (Ack | Error | DialAnswer | DirectoryAnswer | VariableValue | CallbackAnswer
                 | CallbacksAnswer | Snapshot | AgentState | ContactUpdate | Notice
                 | CampaignUpdate | Favorites | Help | FollowUpDue | AppResult
                 | ForwardingUpdate | Voicemail | LoggedOut)
Message = ClientMessage | ServerMessage

ERROR_CODES = {
    "bad_message": "not JSON, not an object, a field of the wrong type, or an unknown type",
    "too_large": "the frame is over MAX_MESSAGE_BYTES",
    "auth_failed": "unknown agent or wrong PIN",
    "locked_out": "too many failed logins: no hello is checked for retry_after seconds",
    "taken_over": "the agent logged in on another phone; this link is closed (or this "
                  "reconnect refused: the session it resumes was taken over)",
    "version": "protocol version not supported",
    "not_logged_in": "a request before a successful hello, or a reconnect to a session "
                     "that is over",
    "unknown_code": "an idle or wrap-up code (or a pre-recorded message, a voice "
                    "application) the server does not offer",
    "unknown_contact": "a contact that is not (or no longer) the agent's",
    "not_allowed": "the request does not fit the agent's state (e.g. logout while offered)",
    "bad_number": "a dial of something that is no number (empty, too long, bad characters)",
    "too_many_favorites": "the agent has MAX_FAVORITES favorites already",
    "bad_favorite": "a favorite with no number or one too long, a name too long, or a "
                    "target the directory does not have",
    "unknown_target": "a consult or transfer to an agent, queue or entry point the server "
                      "does not have",
    "unsupported_destination": "a consult or transfer to an entry point routed to a "
                               "capacity-based team",
    "conference_full": "a conference, or a consult from one, past MAX_PARTICIPANTS",
    "not_editable": "a set_variable of a variable the layout does not make editable (or a "
                    "secure one)",
    "bad_value": "a set_variable value too long, or not the date (YYYY-MM-DD) or ISO 8601 "
                 "date and time its layout kind says; a reschedule not a date and time, in "
                 "the past or after the campaign's end (the message says which); a "
                 "callback's fields against its rules (``fields`` says which); a wrap-up "
                 "note over Settings.note_max; a log part out of order or over MAX_LOG_PART; "
                 "a quality report's problem not in QUALITY_PROBLEMS; a follow-up in the "
                 "past, too far ahead, with no note or one too long",
    "unknown_callback": "an edit or delete of a callback that is not (or no longer) there",
    "unknown_follow_up": "a follow_up_done of a follow-up that is not the agent's",
    "call_limit": "a dial refused: the centre's concurrent-call limit is reached (also a "
                  "preview's call)",
    "variable_changed": "a set_variable over a version another agent's save replaced: the "
                        "message says who and the value now",
}


class DecodeError(ValueError):
    """A frame that is not a valid message; ``code`` is one of ERROR_CODES."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


_client: msgspec.json.Decoder[ClientMessage] = msgspec.json.Decoder(ClientMessage)
_server: msgspec.json.Decoder[ServerMessage] = msgspec.json.Decoder(ServerMessage)
_encoder = msgspec.json.Encoder()


def encode(message: Message) -> str:
    return _encoder.encode(message).decode()


def _size(data: str | bytes) -> int:
    """Bytes on the wire; a str is only encoded when its length leaves the answer open."""
    if isinstance(data, str) and len(data) * 4 > MAX_MESSAGE_BYTES >= len(data):
        return len(data.encode("utf-8", "surrogatepass"))
    return len(data)


_T = TypeVar("_T")


def _decode(decoder: msgspec.json.Decoder[_T], data: str | bytes) -> _T:
    if (size := _size(data)) > MAX_MESSAGE_BYTES:
        raise DecodeError("too_large", f"message of {size} bytes (limit {MAX_MESSAGE_BYTES})")
    try:
        return decoder.decode(data)
    # msgspec lets broken UTF-8 (UnicodeError) and deep nesting in skipped fields through
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeError, RecursionError) as e:
        raise DecodeError("bad_message", str(e)) from None


def decode_server(data: str | bytes) -> ServerMessage:
    """A server message from a frame; DecodeError for anything else."""
    return _decode(_server, data)


def decode_client(data: str | bytes) -> ClientMessage:
    """A phone request from a frame; DecodeError for anything else."""
    return _decode(_client, data)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of every message, both directions."""
    return msgspec.json.schema(Message)
