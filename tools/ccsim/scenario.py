"""A ccsim scenario: one TOML file -> frozen dataclasses, checked once at start.

Every table but [[agents]], [[queues]], [[wrapup_codes]] and [[layout]] may be left out::

    [server]                      # where ccsim listens and keeps its state
    host = "127.0.0.1"
    port = 8800                   # 0: pick a free port (the ready line prints it)
    db = "var/ccsim.db"           # SQLite; relative to the working directory
    front_desk = ""               # HOST:PORT (UDP) where the call server tells of emergency
                                  # calls (tools/ccsim/frontdesk.py); "": not listened for

    [settings]                    # sent to every phone (firmware.cc.protocol.Settings)
    rona_s = 15                   # an offer not answered within this is RONA'd (> 0)
    wrapup_s = 0                  # 0: wrap-up has no limit; else auto wrap-up ("auto") after it
    mask_ani = false              # phones show only the caller number's last 4 digits
    accept_all = false            # an agent may accept every stacked offer at once
    max_offers = 1                # offers the server may stack on one agent (1..10)
    customer_noise_removal = false  # phones remove the noise from the customer's audio (the
                                  # admin API's PATCH /api/settings changes it while running)
    auto_answer_speaker = false   # a predictive campaign's auto-answered offer may open the
                                  # speaker's mic (else the phone auto-answers on a headset only)
    note_max = 500                # a wrap-up note's characters at most (0..4000; 0: no notes)

    [[agents]]                    # one per agent; ids unique
    id = "1001"
    name = "Ana Diaz"
    pin = "1234"
    team = "Blue"
    extension = "sip:1001@127.0.0.1:5062"   # where customers are sent (the phone's SIP URI)
    queues = ["sales", "support"]           # names of [[queues]]

    [[queues]]
    name = "sales"
    number = "8001"               # its dial number in the directory (optional; "": none)
    record = false                # its calls are recorded (on the bridge: [recording])
    active = true                 # false: no callback may be scheduled for it (queue_inactive)
    media = "voice"               # "chat" / "email": not a voice queue (no callbacks for it)
    callback_cancel = false       # the agent may cancel a web callback of this queue while
                                  # the customer rings (the offer's ``cancel``)

    [[entry_points]]              # numbers customers call that lead to a queue (directory)
    name = "Main line"            # 1-64 characters, unique
    number = "8000"               # 1-32 of A-Z a-z 0-9 + * . _ ~ -, unique in the directory
    queue = "sales"               # a name of [[queues]]
    team_routing = "queue"        # "capacity": routed to a capacity-based team; consult and
                                  # transfer there are refused (unsupported_destination)

    [[dial_numbers]]              # other numbers agents call from the directory
    name = "Head office"
    number = "5550100"

    [[idle_codes]]                # the agent's Idle (not ready) reasons, in display order;
    code = "lunch"                # "rona" (Missed call (RONA)), "rejected" (Rejected an offer)
    label = "Lunch"               # and "login" (Logged in) are always added, the server puts
                                  # agents in them

    [[wrapup_codes]]              # at least one; "auto" is what the server records itself
    code = "sale"
    label = "Sale made"

    [[messages]]                  # the centre's pre-recorded messages, which an agent plays
    code = "hold_on"              # into a call (play_message with ``message``): the bridge
    label = "Please hold"         # plays ``file`` to the customer, then puts them back in the
    file = "message-hold-on.raw"  # call (tools/ccsim/messages.py). ``file``: raw S16LE mono
                                  # 8 kHz, at most 60 s; absolute, or relative to this file,
                                  # else to tools/ccsim/scenarios (as a campaign's ``message``).
                                  # Codes unique; code and label 1-64 characters; at most 50

    [[voice_apps]]                # voice applications an agent connects the customer to
    code = "payment"              # (connect_app; tools/ccsim/voiceapps.py): the bridge plays
    label = "Card payment"        # ``prompt`` (a raw file, as [[messages]]' ``file``) to the
    kind = "ivr"                  # customer, out of the call, then takes the answer: "ivr"
    agent_stays = true            # collects DTMF digits, "signature" records the customer's
    prompt = "app-payment.raw"    # voice. agent_stays: the customer comes back to the agent
    collect = "digits"            # after it (else the agent's leg ends at once, wrap-up, and
    max_digits = 20               # the application hangs the customer up). ivr: digits until
    timeout_s = 8                 # #, max_digits (1-64) or timeout_s without a key (ok: any
    ok_text = "Payment taken"     # came); signature: record_s of the answer (0 < s <= 120,
    fail_text = "Payment failed"  # default 4; ok: 0.5 s over -40 dBFS). ok_text / fail_text:
                                  # what the agent is told (signature: "Signature recorded" /
                                  # "No answer: signature not recorded"; ivr: "<label>: done" /
                                  # "<label>: no answer"). Codes unique; at most 20

    [[layout]]                    # 3 to 6 call variables shown on the offer, in order;
    name = "customer"             # secure ones are not sent with the contact, fetched on Show
    label = "Customer"
    secure = false
    editable = false              # the agents on the contact may change it (Vars, Edit)
    kind = "text"                 # "date" (YYYY-MM-DD) or "datetime" (ISO 8601) is checked

    [customers]                   # simulated customers (python -m tools.ccsim.customers)
    enabled = false
    proxy = "127.0.0.1:5062"      # the SIP proxy they dial through
    password = "secret"
    talk_s = 60                   # a customer hangs up after talking this long
    listen = "127.0.0.1:5090"     # their own SIP address
    transport = "udp"             # "tls": SIP over TLS (proxy = its TLS address, 5061 usually)
    cafile = ""                   # the proxy's CA for tls, relative to this file ("": system's)
    media = "rtp"                 # "srtp": SRTP only (needs tls)
    answer = []                   # numbers that can be called: they answer, each with its tone
    refuse = []                   # numbers that answer 486 Busy Here
    ring = []                     # numbers that ring and never answer
    machine = []                  # answering machines: they answer, play a ~3.5 s greeting
                                  # and a beep, then record what they hear (reported)

    [bridge]                      # the media bridge (tools/ccsim/bridge.py) holds customers'
    enabled = false               # calls: a customer dials it, hears hold music while queued,
    user = "cc-bridge"            # and the bridge dials the agent and joins the two legs. It
    listen = "127.0.0.1:5094"     # registers as ``user`` at [customers] proxy (the same
    control = "var/ccsim-bridge.sock"   # password, transport, cafile, media); ``listen``: its
                                  # SIP address (PORT+1 too); ``control``: the Unix socket ccsim
                                  # drives it through (a restarted ccsim adopts the bridge
                                  # there), relative to the working directory. Needs
                                  # [customers] enabled. false: customers dial agents directly

    [recording]                   # recorded queues' calls, mixed by the bridge (needs it)
    dir = "var/recordings"        # <contact>.wav, 8 kHz mono; relative to the working directory
    auto_resume_s = 60            # a paused recording resumes by itself after this (> 0)

    [voicemail]                   # the agents' voicemail boxes (tools/ccsim/personal.py; the
    enabled = false               # lab's service: tools/voicemail.py): personal calls not taken
    number = "*97"                # go to the box; ``number`` is what a phone dials to reach
    max_messages = 20             # its own (snapshot voicemail_number); a box with
                                  # max_messages takes no more (0..10000). false: no boxes,
                                  # the snapshot's voicemail_number is ""

    [traffic]                     # demo traffic: a new contact every N s into a random queue
    every_s = 0                   # that has an Available agent; 0 = off

    [outbound]                    # calls agents dial (protocol: dial); an agent's number or
    call_limit = 0                # extension is an internal call, anything else an outbound
                                  # contact; call_limit: outbound contacts (and preview
                                  # campaigns' calls) dialing or up at once in the centre
                                  # (more are refused "call_limit"), 0: any

    [callbacks]                   # callbacks (docs/cc-protocol.md, "Callbacks";
    retry_s = 300                 # tools/ccsim/callbacks.py): a callback whose customer did
                                  # not answer is offered again no sooner than this
    max_attempts = 3              # calls of a callback's customer, then it is done "failed"
    ring_s = 25                   # the customer's phone rings this long (then "no answer")
    # the rules of a scheduled callback's fields (protocol.CallbackRules, sent to the phones
    # in the snapshot; the defaults are these):
    number_min = 7                # the number's characters (digits, + - , . spaces)
    number_max = 15
    name_min = 3                  # the customer's name
    name_max = 250
    lead_min_s = 1800             # the window's start: at least this long after now ...
    lead_max_s = 2678400          # ... and at most (31 days)
    reason_max = 250

    [[campaigns]]                 # outbound campaigns (docs/cc-protocol.md, "Campaigns";
    id = "spring"                 # tools/ccsim/campaigns.py); ids unique
    name = "Spring offer"
    mode = "preview"              # "progressive" / "predictive": ccsim dials (needs [bridge]
                                  # enabled to start), below. "standard_preview" /
                                  # "direct_preview": a preview shown on a reservation call
                                  # the bridge places to the agent's phone first (needs
                                  # [bridge] enabled to start; tools/ccsim/reservation.py):
                                  # on Call the bridge rings the customer on it (standard,
                                  # ``ring_s``) or the phone hangs it up and dials (direct)
    agents = ["1001"]             # ids of [[agents]] assigned to it
    started = false               # at ccsim's first start (then the database keeps it)
    preview_s = 30                # the preview's countdown; 0: none
    timeout_action = "skip"       # what the server does when it runs out: skip, remove, call
    skip = true                   # the agent may skip a record
    remove = true                 # ... take a record out of the campaign
    cancel = false                # ... end the call before the customer answers
    logout_delay_s = 5            # a logout takes effect this long after it is asked for
    dispositions = [{code = "sale", label = "Sale"}]  # its wrap-up codes: at least one
    fields = [{name = "account", label = "Account"}]  # the record variables shown, in order;
                                  # ``editable = true`` (and ``kind``) as in [[layout]]: the
                                  # agent on the record updates it (set_variable), kept on it
    records = [{name = "Ana Ruiz", number = "5550101", variables = {account = "A-1"}}]
                                  # loaded into the database at the first start (by index:
                                  # records added later are added), then it is the truth; a
                                  # record's ``tz`` (IANA) is its calling hours' zone (and a
                                  # reschedule's), ``alternates`` its other numbers (at most
                                  # 5, dialable like ``number``: the agent may call one).
                                  # A record whose number a phone cannot dial is loaded but
                                  # never called (done, "bad_number"), unless one of its
                                  # alternates can be: the first such becomes its number; an
                                  # alternate that cannot be dialed is dropped (warnings)
    script = ""                   # what the agent says (at most 4000 characters, line breaks kept)
    ends = ""                     # its last day, YYYY-MM-DD: no reschedule after it; "": none
    calling_hours = "09:00-21:00" # records are dialed (previewed) only then, in their own time
                                  # zone ("22:00-06:00" wraps midnight); "": all day
    tz = "UTC"                    # the records' time zone unless a record has its own ``tz``
    do_not_call = ["do_not_call"] # dispositions that put the record's number on the
                                  # campaign's do-not-call list: no record with it is dialed
    # progressive and predictive (tools/ccsim/dialer.py, pacing.py): ccsim's bridge dials the
    # records and routes the answered customers to the campaign's free agents
    ring_s = 25                   # a record's call rings this long before it is "no answer"
                                  # (a standard preview's call to the customer too)
    max_attempts = 3              # calls of a record that did not reach an agent, then done
    retry_s = 60                  # a record that was not reached is dialed again after this
    # predictive only: more calls than free agents, as the answer rate allows
    max_ratio = 2.5               # calls in flight per free agent at most (>= 1)
    abandon_s = 2                 # an answered customer no agent took within this: abandoned
    abandon_limit = 0.03          # abandoned / answered kept under this ...
    abandon_window_s = 86400      # ... over this period
    message = "music"             # the campaign's recorded message: a raw file (S16LE mono
                                  # 8 kHz, at most 60 s; absolute, or relative to this file,
                                  # else to tools/ccsim/scenarios),
                                  # played by the bridge to an abandoned customer and to an
                                  # answering machine (then hung up); "music": none, an
    message_s = 5                 # abandoned customer hears hold music for message_s
    amd = true                    # answering-machine detection on the dialer's calls (the
                                  # bridge's; default true for progressive and predictive)
    machine_action = "agent"      # a machine found: "agent": offered to an agent as usual
                                  # (the contact says ``machine``; the agent may play the
                                  # message: play_message); "message": the bridge plays the
                                  # message and hangs up, the attempt is "machine" (retried
                                  # like a busy one); needs a ``message``
    outcomes = {answer = 0.5, busy = 0.1, no_answer = 0.3, machine = 0.1}
                                  # the lab's simulated outcomes of the campaign's calls
                                  # (rates of answer, busy, no_answer, machine, each 0-1,
                                  # summing to 1): each call the bridge places for it draws
                                  # one (dialer.lab_outcome: seeded by campaign, record and
                                  # attempt) and tells the called number by X-Lab-Outcome,
                                  # which a [customers] "answer" number honours
                                  # (customers.py); {} (the default): each number does what
                                  # the lab registered it for

Mistakes raise ScenarioError naming the file and the field (``demo.toml: agents[1].pin: ...``).
A campaign's table is read by ``campaign_config``, which the admin API's ``POST /api/campaigns``
(a JSON object of the same shape) uses too.
"""
from __future__ import annotations

import logging
import math
import os
import re
import tomllib
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from firmware.cc.protocol import (MAX_ALTERNATES, MAX_ANI_CHARS, MAX_CAMPAIGNS,
                                  MAX_DIAL_CHARS, MAX_DISPOSITIONS, MAX_NAME_CHARS,
                                  MAX_OFFERS, MAX_SCRIPT_CHARS, MAX_VARIABLE_VALUE_CHARS,
                                  MAX_VARIABLES, CallbackRules, Campaign, Code, Settings,
                                  VariableLayout)

from .limits import contact_problem

log = logging.getLogger("ccsim")

# a number the simulated customers can be called at: a SIP user part the proxy registers
CALLED_NUMBER = re.compile(r"[A-Za-z0-9+*._~-]{1,64}")
CALLED_MODES = ("answer", "refuse", "ring", "machine")
# a number in the directory: what a phone dials (its dial screen holds MAX_DIAL_CHARS)
DIRECTORY_NUMBER = re.compile(rf"[A-Za-z0-9+*._~-]{{1,{MAX_DIAL_CHARS}}}")
RESERVED_IDLE_CODES = (Code("rona", "Missed call (RONA)"),
                       Code("rejected", "Rejected an offer"), Code("login", "Logged in"))
AUTO_WRAPUP = "auto"
NOTE_MAX = 500                  # [settings] note_max's default: a wrap-up note's characters
MAX_NOTE_CHARS = 4000           # ... and its largest
# what a phone may be asked to dial (a dial request, a campaign record's number)
DIALABLE = re.compile(r"[0-9A-Za-z*#+._~-]+")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
CAMPAIGN_MODES = ("preview", "standard_preview", "direct_preview", "progressive", "predictive")
DIALER_MODES = ("progressive", "predictive")
# records handed to an agent to preview (campaigns.py); the last two on a reservation call
PREVIEW_MODES = ("preview", "standard_preview", "direct_preview")
RESERVING_MODES = ("standard_preview", "direct_preview")
MESSAGES = ("music",)           # a campaign without a recorded message: hold music
MESSAGE_RATE = 8000             # a recorded message: raw S16LE mono at the bridge's rate,
MESSAGE_MAX_S = 60.0            # at most this long
MESSAGE_MAX_BYTES = int(MESSAGE_MAX_S * MESSAGE_RATE) * 2
MACHINE_ACTIONS = ("agent", "message")
MAX_MESSAGES = 50               # [[messages]]: the centre's pre-recorded messages
MAX_VOICE_APPS = 20             # [[voice_apps]]
VOICE_APP_KINDS = ("ivr", "signature")
IVR_COLLECTS = ("digits",)      # what an ivr takes from the customer
APP_MAX_DIGITS = 64             # an ivr's max_digits at most
APP_MAX_WAIT_S = 120.0          # an ivr's timeout_s, a signature's record_s at most
APP_TEXT_CHARS = 100            # ok_text, fail_text at most
# a campaign's simulated outcomes (``outcomes``: their rates), in the order a draw walks them
LAB_OUTCOMES = ("answer", "busy", "no_answer", "machine")
BUNDLED = Path(__file__).resolve().parent / "scenarios"     # the demo's recordings
HOURS = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)")
PREVIEW_ACTIONS = ("skip", "remove", "call")
MEDIA = ("voice", "chat", "email")     # a queue's media: callbacks are for voice queues


def dialable(number: str) -> bool:
    """A number a phone may dial (``dial``'s check): 1-MAX_DIAL_CHARS of DIALABLE."""
    return 0 < len(number) <= MAX_DIAL_CHARS and DIALABLE.fullmatch(number) is not None


class ScenarioError(ValueError):
    """The scenario file cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8800
    db: str = "var/ccsim.db"
    front_desk: str = ""


@dataclass(frozen=True)
class AgentConfig:
    id: str
    name: str
    pin: str
    team: str
    extension: str
    queues: tuple[str, ...]


@dataclass(frozen=True)
class EntryPoint:
    """A number customers call that leads to a queue."""
    name: str
    number: str
    queue: str
    team_routing: str = "queue"       # "capacity": no consult or transfer to it


@dataclass(frozen=True)
class DialNumber:
    name: str
    number: str


@dataclass(frozen=True)
class CustomersConfig:
    enabled: bool = False
    proxy: str = "127.0.0.1:5062"
    password: str = ""
    talk_s: float = 60.0
    listen: str = "127.0.0.1:5090"
    transport: str = "udp"        # "tls": proxy is the proxy's TLS address
    cafile: str = ""              # the proxy's CA for tls ("": the system's)
    media: str = "rtp"            # "srtp": SRTP only
    answer: tuple[str, ...] = ()  # called numbers (registered at the proxy by the customers)
    refuse: tuple[str, ...] = ()
    ring: tuple[str, ...] = ()
    machine: tuple[str, ...] = ()  # answering machines (greeting, beep, then they record)


@dataclass(frozen=True)
class BridgeConfig:
    enabled: bool = False
    user: str = "cc-bridge"         # the SIP user customers call and agents are called from
    listen: str = "127.0.0.1:5094"
    control: str = "var/ccsim-bridge.sock"


@dataclass(frozen=True)
class VoicemailConfig:
    """[voicemail]: the agents' boxes (personal.py)."""
    enabled: bool = False
    number: str = "*97"             # what a phone dials to reach its own box
    max_messages: int = 20          # a box this full takes no more


@dataclass(frozen=True)
class RecordingConfig:
    dir: str = "var/recordings"
    auto_resume_s: float = 60.0


@dataclass(frozen=True)
class QueueConfig:
    """A queue's options besides its name (the scenario's ``queues`` are the names)."""
    name: str
    number: str = ""                # its dial number ("": none)
    record: bool = False
    active: bool = True             # false: no callback can be scheduled for it
    media: str = "voice"            # one of MEDIA
    callback_cancel: bool = False   # a web callback of it may be cancelled while it rings


@dataclass(frozen=True)
class CallbacksConfig:
    """[callbacks] (tools/ccsim/callbacks.py)."""
    retry_s: float = 300.0          # a callback not answered is offered again no sooner
    max_attempts: int = 3           # then it is done, "failed"
    ring_s: float = 25.0            # the customer's ringing
    rules: CallbackRules = CallbackRules()


@dataclass(frozen=True)
class TrafficConfig:
    every_s: float = 0.0


@dataclass(frozen=True)
class OutboundConfig:
    call_limit: int = 0              # outbound calls up at once in the centre; 0: no limit


@dataclass(frozen=True)
class CampaignRecordConfig:
    """A campaign's record as the scenario has it (the database keeps it from then on)."""
    name: str
    number: str
    variables: tuple[tuple[str, str], ...] = ()
    tz: str = ""                    # its calling hours' time zone ("": the campaign's)
    alternates: tuple[str, ...] = ()    # its other numbers (the agent may call one instead)
    # the number it was given when a phone cannot dial it ("": none was wrong) and what was
    # done: the record is never called (``number`` is that number, ``usable`` false), or its
    # first dialable alternate became its ``number``
    bad_number: str = ""
    why: str = ""

    @property
    def usable(self) -> bool:
        """Its number can be dialed: else it is loaded done ("bad_number"), never called."""
        return dialable(self.number)


@dataclass(frozen=True)
class VoiceAppConfig:
    """A voice application an agent connects the customer to ([[voice_apps]]; voiceapps.py):
    what the phone lists (code, label, kind, agent_stays), the prompt the bridge plays (an
    absolute path), how the answer is taken (an ivr: ``collect`` "digits" until #,
    ``max_digits`` or ``timeout_s`` without a key; a signature: ``record_s`` of the customer's
    voice) and what the agent is told of it (``ok_text``, ``fail_text``)."""
    code: str
    label: str
    kind: str
    agent_stays: bool
    prompt: str
    ok_text: str
    fail_text: str
    collect: str = "digits"
    max_digits: int = 20
    timeout_s: float = 8.0
    record_s: float = 4.0


@dataclass(frozen=True)
class MessageConfig:
    """One of the centre's pre-recorded messages ([[messages]]): what the phone lists (code,
    label) and the raw file the bridge plays (an absolute path)."""
    code: str
    label: str
    file: str


@dataclass(frozen=True)
class CampaignConfig:
    id: str
    name: str
    mode: str
    agents: tuple[str, ...]
    started: bool
    preview_s: float
    timeout_action: str
    skip: bool
    remove: bool
    cancel: bool
    logout_delay_s: float
    dispositions: tuple[Code, ...]
    fields: tuple[VariableLayout, ...]
    records: tuple[CampaignRecordConfig, ...]
    # calling hours: minutes since midnight (start, end), in each record's zone; None: all day
    calling_hours: tuple[int, int] | None = None
    tz: str = "UTC"
    do_not_call: tuple[str, ...] = ("do_not_call",)
    # the dialer (progressive, predictive)
    ring_s: float = 25.0
    max_attempts: int = 3
    retry_s: float = 60.0
    max_ratio: float = 2.5
    abandon_s: float = 2.0
    abandon_limit: float = 0.03
    abandon_window_s: float = 86400.0
    message: str = "music"          # "music", or the recorded message's absolute path
    message_s: float = 5.0
    amd: bool = False               # the dialer's calls get answering-machine detection
    machine_action: str = "agent"   # a machine found: "agent" or "message" (play, hang up)
    # the lab's simulated outcomes: (outcome, rate) in LAB_OUTCOMES order, the rates summing
    # to 1; (): none, each number does what the lab registered it for
    outcomes: tuple[tuple[str, float], ...] = ()
    script: str = ""                # what the agent says (shown on the record)
    ends: str = ""                  # its last day (YYYY-MM-DD): no reschedule after it; "": none

    @property
    def message_file(self) -> str:
        """The recorded message's absolute path; "" when the campaign has none."""
        return "" if self.message in MESSAGES else self.message

    @property
    def dialer(self) -> bool:
        """ccsim dials its records (progressive, predictive), not the agents' phones."""
        return self.mode in DIALER_MODES

    @property
    def previews(self) -> bool:
        """Its records are handed to its agents to preview, one at a time (campaigns.py)."""
        return self.mode in PREVIEW_MODES

    @property
    def reserves(self) -> bool:
        """A preview shown on a reservation call the bridge places first (reservation.py)."""
        return self.mode in RESERVING_MODES

    def wire(self, status: str) -> Campaign:
        """As the phone gets it (snapshot, ``campaign`` event)."""
        return Campaign(id=self.id, name=self.name, mode=self.mode, status=status,
                        preview_s=self.preview_s, timeout_action=self.timeout_action,
                        skip=self.skip, remove=self.remove, cancel=self.cancel,
                        dispositions=list(self.dispositions), fields=list(self.fields),
                        script=self.script, ends=self.ends,
                        message=bool(self.message_file))

    def record_zone(self, index: int) -> str:
        """The record's time zone (its own ``tz``, else the campaign's)."""
        tz = self.records[index].tz if 0 <= index < len(self.records) else ""
        return tz or self.tz

    def alternates(self, index: int) -> tuple[str, ...]:
        """The record's other numbers (the scenario's, by index)."""
        return self.records[index].alternates if 0 <= index < len(self.records) else ()

    def bad_records(self, first: int = 0) -> list[dict]:
        """The records (from index ``first``) whose number a phone cannot dial, as the admin
        API lists them: {"index", "name", "number" (as given), "why"}."""
        return [{"index": i, "name": r.name, "number": r.bad_number, "why": r.why}
                for i, r in enumerate(self.records[first:], first) if r.bad_number or r.why]


@dataclass(frozen=True)
class Scenario:
    path: str
    server: ServerConfig
    settings: Settings
    agents: tuple[AgentConfig, ...]
    queues: tuple[str, ...]
    idle_codes: tuple[Code, ...]
    wrapup_codes: tuple[Code, ...]
    layout: tuple[VariableLayout, ...]
    customers: CustomersConfig
    traffic: TrafficConfig
    outbound: OutboundConfig = OutboundConfig()
    # the directory besides agents and queues: (queue, dial number) of queues that have one
    queue_numbers: tuple[tuple[str, str], ...] = ()
    entry_points: tuple[EntryPoint, ...] = ()
    dial_numbers: tuple[DialNumber, ...] = ()
    bridge: BridgeConfig = BridgeConfig()
    recorded: tuple[str, ...] = ()          # the queues whose calls are recorded
    recording: RecordingConfig = RecordingConfig()
    campaigns: tuple[CampaignConfig, ...] = ()
    queue_options: tuple[QueueConfig, ...] = ()     # each queue's, in ``queues``' order
    callbacks: CallbacksConfig = CallbacksConfig()
    messages: tuple[MessageConfig, ...] = ()        # [[messages]], in the file's order
    voicemail: VoicemailConfig = VoicemailConfig()
    voice_apps: tuple[VoiceAppConfig, ...] = ()     # [[voice_apps]], in the file's order

    def agent(self, agent_id: str) -> AgentConfig | None:
        return next((a for a in self.agents if a.id == agent_id), None)

    def message(self, code: str) -> MessageConfig | None:
        """The pre-recorded message ``code`` (None: no such message)."""
        return next((m for m in self.messages if m.code == code), None)

    def voice_app(self, code: str) -> VoiceAppConfig | None:
        """The voice application ``code`` (None: no such application)."""
        return next((a for a in self.voice_apps if a.code == code), None)

    def queue(self, name: str) -> QueueConfig | None:
        """The queue's options (None: no such queue)."""
        return next((q for q in self.queue_options if q.name == name), None)


_MISSING = object()


class _Table:
    """Reads one TOML table, naming ``file: where.field`` in every complaint."""

    def __init__(self, file: str, where: str, data):
        self.file, self.where = file, where
        if not isinstance(data, dict):
            self.fail(f"{where}: expected a table")
        self.data, self.seen = data, set()

    def fail(self, message: str):
        raise ScenarioError(f"{self.file}: {message}" if self.file else message)

    def _get(self, name, default, kinds, kind_name):
        self.seen.add(name)
        value = self.data.get(name, default)
        if value is _MISSING:
            self.fail(f"{self.where}.{name}: missing")
        if isinstance(value, bool) != (bool in kinds) or not isinstance(value, kinds):
            self.fail(f"{self.where}.{name}: expected {kind_name}, got {value!r}")
        return value

    def text(self, name, default=_MISSING, nonempty=True) -> str:
        value = self._get(name, default, (str,), "a string")
        if nonempty and not value.strip():
            self.fail(f"{self.where}.{name}: must not be empty")
        return value

    def number(self, name, default=_MISSING, minimum=0.0, above=False) -> float:
        value = self._get(name, default, (int, float), "a number")
        if not math.isfinite(value):
            self.fail(f"{self.where}.{name}: expected a finite number, got {value!r}")
        if value < minimum or (above and value == minimum):
            bound = f"{'>' if above else '>='} {minimum:g}"
            self.fail(f"{self.where}.{name}: must be {bound}, got {value!r}")
        return float(value)

    def integer(self, name, default=_MISSING, minimum=0, maximum=None) -> int:
        value = self._get(name, default, (int,), "an integer")
        if value < minimum or (maximum is not None and value > maximum):
            limits = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum}"
            self.fail(f"{self.where}.{name}: must be {limits}, got {value}")
        return value

    def choice(self, name, default, options: tuple[str, ...]) -> str:
        value = self.text(name, default)
        if value not in options:
            self.fail(f"{self.where}.{name}: one of {', '.join(options)}, got {value!r}")
        return value

    def flag(self, name, default=_MISSING) -> bool:
        return self._get(name, default, (bool,), "true or false")

    def texts(self, name, default=_MISSING) -> tuple[str, ...]:
        value = self._get(name, default, (list,), "a list of strings")
        if not all(isinstance(v, str) for v in value):
            self.fail(f"{self.where}.{name}: expected a list of strings, got {value!r}")
        return tuple(value)

    def address(self, name, default=_MISSING) -> str:
        value = self.text(name, default)
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            self.fail(f"{self.where}.{name}: expected HOST:PORT, got {value!r}")
        return value

    def done(self):
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            self.fail(f"{self.where or 'the body'}: unknown field {unknown[0]!r}")


def _array(file: str, doc: dict, name: str, required: bool) -> list[_Table]:
    items = doc.get(name, [])
    if not isinstance(items, list):
        raise ScenarioError(f"{file}: {name}: expected an array of tables ([[{name}]])")
    if required and not items:
        raise ScenarioError(f"{file}: {name}: at least one [[{name}]] is needed")
    return [_Table(file, f"{name}[{i}]", item) for i, item in enumerate(items)]


def _unique(file: str, where: str, field: str, values):
    seen = set()
    for i, v in enumerate(values):
        if v in seen:
            where_field = f"{where}[{i}].{field}: duplicate {v!r}"
            raise ScenarioError(f"{file}: {where_field}" if file else where_field)
        seen.add(v)


def _name(t: _Table) -> str:
    """A directory name: what a phone lists, so no longer than the protocol lets it be."""
    name = t.text("name")
    if len(name) > MAX_NAME_CHARS:
        t.fail(f"{t.where}.name: {len(name)} characters, at most {MAX_NAME_CHARS}")
    return name


def _number(t: _Table, number: str | None = None) -> str:
    number = t.text("number") if number is None else number
    if not DIRECTORY_NUMBER.fullmatch(number):
        t.fail(f"{t.where}.number: not a number a phone can dial: {number!r} "
               f"(1-{MAX_DIAL_CHARS} of A-Z a-z 0-9 + * . _ ~ -)")
    return number


def _codes(file: str, doc: dict, name: str, required: bool) -> tuple[Code, ...]:
    codes = []
    for t in _array(file, doc, name, required):
        codes.append(Code(t.text("code"), t.text("label")))
        t.done()
    _unique(file, name, "code", [c.code for c in codes])
    return tuple(codes)


def parse(text: str, file: str = "scenario.toml") -> Scenario:
    """A Scenario from TOML text (``file`` names it in errors)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"{file}: not valid TOML: {e}") from None
    known = {"server", "settings", "agents", "queues", "idle_codes", "wrapup_codes", "layout",
             "customers", "traffic", "outbound", "entry_points", "dial_numbers", "bridge",
             "recording", "campaigns", "callbacks", "messages", "voicemail",
             "voice_apps"}
    for key in doc:
        if key not in known:
            raise ScenarioError(f"{file}: unknown table {key!r}")

    t = _Table(file, "server", doc.get("server", {}))
    server = ServerConfig(t.text("host", "127.0.0.1"), t.integer("port", 8800, 0, 65535),
                          t.text("db", "var/ccsim.db"), t.text("front_desk", "", nonempty=False))
    if server.front_desk and not re.fullmatch(r"[\w.-]+:\d{1,5}", server.front_desk):
        t.fail(f"server.front_desk: expected HOST:PORT, got {server.front_desk!r}")
    t.done()

    t = _Table(file, "settings", doc.get("settings", {}))
    settings = Settings(rona_s=t.number("rona_s", 15.0, above=True),
                        wrapup_s=t.number("wrapup_s", 0.0),
                        mask_ani=t.flag("mask_ani", False), accept_all=t.flag("accept_all", False),
                        max_offers=t.integer("max_offers", 1, minimum=1, maximum=MAX_OFFERS),
                        customer_noise_removal=t.flag("customer_noise_removal", False),
                        auto_answer_speaker=t.flag("auto_answer_speaker", False),
                        note_max=t.integer("note_max", NOTE_MAX, maximum=MAX_NOTE_CHARS))
    t.done()

    queues, queue_numbers, recorded, queue_options = [], [], [], []
    for t in _array(file, doc, "queues", True):
        queues.append(_name(t))
        if t.flag("record", False):
            recorded.append(queues[-1])
        if number := t.text("number", "", nonempty=False):
            queue_numbers.append((queues[-1], _number(t, number)))
        queue_options.append(QueueConfig(queues[-1], number, queues[-1] in recorded,
                                         t.flag("active", True),
                                         t.choice("media", "voice", MEDIA),
                                         t.flag("callback_cancel", False)))
        t.done()
    _unique(file, "queues", "name", queues)

    entry_points = []
    for t in _array(file, doc, "entry_points", False):
        entry = EntryPoint(_name(t), _number(t), t.text("queue"),
                           t.choice("team_routing", "queue", ("queue", "capacity")))
        if entry.queue not in queues:
            t.fail(f"{t.where}.queue: unknown queue {entry.queue!r} (queues: {', '.join(queues)})")
        t.done()
        entry_points.append(entry)
    _unique(file, "entry_points", "name", [e.name for e in entry_points])
    dial_numbers = []
    for t in _array(file, doc, "dial_numbers", False):
        dial_numbers.append(DialNumber(_name(t), _number(t)))
        t.done()
    _unique(file, "dial_numbers", "name", [d.name for d in dial_numbers])
    numbers = ([n for _q, n in queue_numbers] + [e.number for e in entry_points]
               + [d.number for d in dial_numbers])
    if len(set(numbers)) != len(numbers):
        dup = next(n for n in numbers if numbers.count(n) > 1)
        raise ScenarioError(f"{file}: number {dup!r} is in the directory twice (queues, "
                            f"entry_points, dial_numbers)")

    agents = []
    for t in _array(file, doc, "agents", True):
        agent = AgentConfig(t.text("id"), _name(t), t.text("pin"), t.text("team"),
                            t.text("extension"), t.texts("queues"))
        for q in agent.queues:
            if q not in queues:
                t.fail(f"{t.where}.queues: unknown queue {q!r} (queues: {', '.join(queues)})")
        t.done()
        agents.append(agent)
    _unique(file, "agents", "id", [a.id for a in agents])

    idle = _codes(file, doc, "idle_codes", False)
    idle += tuple(r for r in RESERVED_IDLE_CODES if r.code not in {c.code for c in idle})
    wrapup = _codes(file, doc, "wrapup_codes", True)

    layout = []
    for t in _array(file, doc, "layout", True):
        layout.append(VariableLayout(t.text("name"), t.text("label"), t.flag("secure", False),
                                     t.flag("editable", False),
                                     t.choice("kind", "text", ("text", "date", "datetime"))))
        t.done()
    if not 3 <= len(layout) <= 6:
        raise ScenarioError(f"{file}: layout: 3 to 6 [[layout]] entries, got {len(layout)}")
    _unique(file, "layout", "name", [v.name for v in layout])

    t = _Table(file, "customers", doc.get("customers", {}))
    customers = CustomersConfig(t.flag("enabled", False), t.address("proxy", "127.0.0.1:5062"),
                                t.text("password", "", nonempty=False),
                                t.number("talk_s", 60.0, above=True),
                                t.address("listen", "127.0.0.1:5090"),
                                t.choice("transport", "udp", ("udp", "tcp", "tls")),
                                t.text("cafile", "", nonempty=False),
                                t.choice("media", "rtp", ("rtp", "srtp")),
                                *(t.texts(mode, []) for mode in CALLED_MODES))
    for mode in CALLED_MODES:
        for i, number in enumerate(getattr(customers, mode)):
            if not CALLED_NUMBER.fullmatch(number):
                t.fail(f"customers.{mode}[{i}]: not a number that can be called: {number!r} "
                       f"(1-64 of A-Z a-z 0-9 + * . _ ~ -)")
    called = [n for mode in CALLED_MODES for n in getattr(customers, mode)]
    if len(set(called)) != len(called):
        t.fail("customers: a number is in more than one of answer, refuse, ring (or twice)")
    if customers.cafile:                  # relative to the scenario file
        customers = replace(customers, cafile=str(Path(file).parent / customers.cafile))
    if customers.media == "srtp" and customers.transport != "tls":
        t.fail('customers.media: srtp needs transport = "tls" (its keys travel in the SIP '
               'messages)')
    t.done()

    t = _Table(file, "bridge", doc.get("bridge", {}))
    bridge = BridgeConfig(t.flag("enabled", False), t.text("user", "cc-bridge"),
                          t.address("listen", "127.0.0.1:5094"),
                          t.text("control", "var/ccsim-bridge.sock"))
    if not CALLED_NUMBER.fullmatch(bridge.user):
        t.fail(f"bridge.user: not a SIP user: {bridge.user!r} (1-64 of A-Z a-z 0-9 + * . _ ~ -)")
    if bridge.enabled and not customers.enabled:
        t.fail("bridge.enabled: the bridge holds the customers' calls: [customers] enabled "
               "must be true too")
    if bridge.user in called or any(bridge.user == extension_user(a.extension) for a in agents):
        t.fail(f"bridge.user: {bridge.user!r} is already a called number or an agent's extension")
    t.done()

    t = _Table(file, "traffic", doc.get("traffic", {}))
    traffic = TrafficConfig(t.number("every_s", 0.0))
    t.done()

    t = _Table(file, "outbound", doc.get("outbound", {}))
    outbound = OutboundConfig(t.integer("call_limit", 0, 0, 100_000))
    t.done()

    t = _Table(file, "recording", doc.get("recording", {}))
    recording = RecordingConfig(t.text("dir", "var/recordings"),
                                t.number("auto_resume_s", 60.0, above=True))
    t.done()
    if recorded and not bridge.enabled:
        raise ScenarioError(f"{file}: queues {', '.join(recorded)} record: the bridge records "
                            "([bridge] enabled = true)")

    campaigns = _campaigns(file, doc, [a.id for a in agents])
    for i, c in enumerate(campaigns):
        if problem := bridge_problem(c, bridge.enabled):
            raise ScenarioError(f"{file}: campaigns[{i}]: {problem}")

    t = _Table(file, "callbacks", doc.get("callbacks", {}))
    callbacks = _callbacks(t)
    t.done()

    return Scenario(file, server, settings, tuple(agents), tuple(queues), idle, wrapup,
                    tuple(layout), customers, traffic, outbound, tuple(queue_numbers),
                    tuple(entry_points), tuple(dial_numbers), bridge, tuple(recorded),
                    recording, campaigns, tuple(queue_options), callbacks,
                    _messages(file, doc), _voicemail(file, doc, agents),
                    voice_apps=_voice_apps(file, doc))


def _voicemail(file: str, doc: dict, agents: list[AgentConfig]) -> VoicemailConfig:
    """[voicemail]: its number one a phone can dial (no #: it is a SIP user) that is no
    agent's extension."""
    t = _Table(file, "voicemail", doc.get("voicemail", {}))
    voicemail = VoicemailConfig(t.flag("enabled", False), _number(t, t.text("number", "*97")),
                                t.integer("max_messages", 20, 0, 10_000))
    if any(voicemail.number in (a.id, extension_user(a.extension)) for a in agents):
        t.fail(f"voicemail.number: {voicemail.number!r} is an agent's id or extension")
    t.done()
    return voicemail


def _code_and_label(t) -> tuple[str, str]:
    """A listed item's code and label: 1-MAX_NAME_CHARS characters each, no control characters
    (the phone lists them)."""
    code, label = t.text("code"), t.text("label")
    for name, value in (("code", code), ("label", label)):
        if len(value) > MAX_NAME_CHARS or not value.isprintable():
            t.fail(f"{t.where}.{name}: 1-{MAX_NAME_CHARS} characters, no control "
                   f"characters, got {value[:80]!r}")
    return code, label


def _messages(file: str, doc: dict) -> tuple[MessageConfig, ...]:
    """[[messages]]: each a code and a label (1-MAX_NAME_CHARS characters, no control
    characters: the phone lists them) and a raw file, found and checked as a campaign's
    ``message`` is (``_raw_file``); codes unique, at most MAX_MESSAGES."""
    base, messages = Path(file).parent, []
    for t in _array(file, doc, "messages", False):
        code, label = _code_and_label(t)
        value = t.text("file")
        rule = (f"{t.where}.file: a recorded message's path (raw S16LE mono {MESSAGE_RATE} Hz, "
                f"at most {MESSAGE_MAX_S:g} s, relative to the scenario file)")
        messages.append(MessageConfig(code, label, _raw_file(t, value, base, rule)))
        t.done()
    if len(messages) > MAX_MESSAGES:
        raise ScenarioError(f"{file}: messages: at most {MAX_MESSAGES}, got {len(messages)}")
    _unique(file, "messages", "code", [m.code for m in messages])
    return tuple(messages)


def _voice_apps(file: str, doc: dict) -> tuple[VoiceAppConfig, ...]:
    """[[voice_apps]]: each a code and a label (as [[messages]]' are), a kind, a prompt (a raw
    file found and checked as a message's, ``_raw_file``) and the kind's own fields (another
    kind's are unknown fields); codes unique, at most MAX_VOICE_APPS."""
    base, apps = Path(file).parent, []
    for t in _array(file, doc, "voice_apps", False):
        code, label = _code_and_label(t)
        kind = t.choice("kind", "ivr", VOICE_APP_KINDS)
        stays = t.flag("agent_stays", True)
        rule = (f"{t.where}.prompt: a recorded prompt's path (raw S16LE mono {MESSAGE_RATE} Hz, "
                f"at most {MESSAGE_MAX_S:g} s, relative to the scenario file)")
        prompt = _raw_file(t, t.text("prompt"), base, rule)
        if kind == "ivr":
            how = {"collect": t.choice("collect", "digits", IVR_COLLECTS),
                   "max_digits": t.integer("max_digits", 20, 1, APP_MAX_DIGITS),
                   "timeout_s": _app_seconds(t, "timeout_s", 8.0)}
            ok, fail = f"{label}: done", f"{label}: no answer"
        else:
            how = {"record_s": _app_seconds(t, "record_s", 4.0)}
            ok, fail = "Signature recorded", "No answer: signature not recorded"
        texts = []
        for name, default in (("ok_text", ok), ("fail_text", fail)):
            value = t.text(name, default)
            if len(value) > APP_TEXT_CHARS or not value.isprintable():
                t.fail(f"{t.where}.{name}: 1-{APP_TEXT_CHARS} characters, no control "
                       f"characters, got {value[:80]!r}")
            texts.append(value)
        apps.append(VoiceAppConfig(code, label, kind, stays, prompt, *texts, **how))
        t.done()
    if len(apps) > MAX_VOICE_APPS:
        raise ScenarioError(f"{file}: voice_apps: at most {MAX_VOICE_APPS}, got {len(apps)}")
    _unique(file, "voice_apps", "code", [a.code for a in apps])
    return tuple(apps)


def _app_seconds(t: _Table, name: str, default: float) -> float:
    value = t.number(name, default, above=True)
    if value > APP_MAX_WAIT_S:
        t.fail(f"{t.where}.{name}: at most {APP_MAX_WAIT_S:g} s, got {value:g}")
    return value


def _callbacks(t: _Table) -> CallbacksConfig:
    """[callbacks]: the scheduler's numbers and the rules' limits (protocol.CallbackRules'
    defaults unless given), each pair's least at most its most."""
    d = CallbackRules()
    rules = CallbackRules(
        number_min=t.integer("number_min", d.number_min, 1, MAX_ANI_CHARS),
        number_max=t.integer("number_max", d.number_max, 1, MAX_ANI_CHARS),
        name_min=t.integer("name_min", d.name_min, 1, MAX_VARIABLE_VALUE_CHARS),
        name_max=t.integer("name_max", d.name_max, 1, MAX_VARIABLE_VALUE_CHARS),
        lead_min_s=t.integer("lead_min_s", d.lead_min_s, 0, 366 * 86400),
        lead_max_s=t.integer("lead_max_s", d.lead_max_s, 1, 366 * 86400),
        reason_max=t.integer("reason_max", d.reason_max, 0, MAX_VARIABLE_VALUE_CHARS))
    for low, high in (("number_min", "number_max"), ("name_min", "name_max"),
                      ("lead_min_s", "lead_max_s")):
        if getattr(rules, low) > getattr(rules, high):
            t.fail(f"callbacks.{low}: {getattr(rules, low)} is more than {high} "
                   f"({getattr(rules, high)})")
    return CallbacksConfig(retry_s=t.number("retry_s", 300.0),
                           max_attempts=t.integer("max_attempts", 3, 1, 100),
                           ring_s=t.number("ring_s", 25.0, above=True), rules=rules)


def _items(t: _Table, name: str, required: bool) -> list[_Table]:
    """A list of tables inside ``t`` (``fields = [{...}, ...]`` or ``[[t.fields]]``)."""
    t.seen.add(name)
    items = t.data.get(name, [])
    if not isinstance(items, list):
        t.fail(f"{t.where}.{name}: expected a list of tables")
    if required and not items:
        t.fail(f"{t.where}.{name}: at least one is needed")
    where = f"{t.where}.{name}" if t.where else name
    return [_Table(t.file, f"{where}[{i}]", item) for i, item in enumerate(items)]


def _campaigns(file: str, doc: dict, agents: list[str]) -> tuple[CampaignConfig, ...]:
    base = Path(file).parent
    campaigns = tuple(campaign_config(t, agents, base)
                      for t in _array(file, doc, "campaigns", False))
    _unique(file, "campaigns", "id", [c.id for c in campaigns])
    for a in agents:
        if problem := campaigns_problem(a, campaigns):
            raise ScenarioError(f"{file}: {problem}")
    return campaigns


def campaigns_problem(agent: str, campaigns) -> str | None:
    """Why the agent cannot be assigned to these campaigns (too many), or None."""
    mine = [c.id for c in campaigns if agent in c.agents]
    if len(mine) > MAX_CAMPAIGNS:
        return f"agent {agent!r} is assigned to {len(mine)} campaigns, at most {MAX_CAMPAIGNS}"
    return None


def bridge_problem(c: CampaignConfig, bridge: bool) -> str | None:
    """Why the campaign cannot be loaded started (``bridge``: the scenario has the media
    bridge), or None."""
    if c.dialer and c.started and not bridge:
        return (f"a {c.mode} campaign is dialed by the media bridge: [bridge] enabled = true, "
                "or started = false (it cannot be started without the bridge)")
    if c.reserves and c.started and not bridge:
        return (f"a {c.mode} campaign calls its agents through the media bridge: [bridge] "
                "enabled = true, or started = false (it cannot be started without the bridge)")
    return None


def campaign_config(t: _Table, agents, base: Path) -> CampaignConfig:
    """One campaign: a scenario's [[campaigns]] table, or the admin API's JSON object of the
    same shape (``POST /api/campaigns``: a _Table with no file, so its messages name only the
    field). ``agents``: the scenario's agent ids; ``base``: the directory a relative
    ``message`` is read from (the scenario file's). Every mistake is a ScenarioError, except a
    record's number a phone cannot dial (``campaign_records``). Checks across campaigns (ids
    unique, MAX_CAMPAIGNS per agent: ``campaigns_problem``, the bridge: ``bridge_problem``)
    are the caller's."""
    cid = t.text("id")
    if len(cid) > MAX_NAME_CHARS:
        t.fail(f"{t.where}.id: {len(cid)} characters, at most {MAX_NAME_CHARS}")
    name = _name(t)
    mode = t.choice("mode", "preview", CAMPAIGN_MODES)
    assigned = t.texts("agents", [])
    for a in assigned:
        if a not in agents:
            t.fail(f"{t.where}.agents: unknown agent {a!r} (agents: {', '.join(agents)})")
    if len(set(assigned)) != len(assigned):
        t.fail(f"{t.where}.agents: an agent is listed twice")
    started = t.flag("started", False)
    preview_s = t.number("preview_s", 30.0)
    timeout_action = t.choice("timeout_action", "skip", PREVIEW_ACTIONS)
    skip, remove, cancel = t.flag("skip", True), t.flag("remove", True), t.flag("cancel", False)
    logout_delay_s = t.number("logout_delay_s", 5.0)
    dispositions = []
    for d in _items(t, "dispositions", True):
        dispositions.append(Code(d.text("code"), d.text("label")))
        d.done()
    if len(dispositions) > MAX_DISPOSITIONS:
        t.fail(f"{t.where}.dispositions: at most {MAX_DISPOSITIONS}, got {len(dispositions)}")
    _unique(t.file, f"{t.where}.dispositions", "code", [d.code for d in dispositions])
    fields = []
    for f in _items(t, "fields", False):
        fields.append(VariableLayout(f.text("name"), f.text("label"),
                                     editable=f.flag("editable", False),
                                     kind=f.choice("kind", "text", ("text", "date", "datetime"))))
        f.done()
    _unique(t.file, f"{t.where}.fields", "name", [f.name for f in fields])
    records = campaign_records(t, cid)
    hours = _hours(t)
    tz = _zone(t, "tz", "UTC")
    codes = [d.code for d in dispositions]
    explicit = "do_not_call" in t.data
    do_not_call = t.texts("do_not_call", ["do_not_call"])
    for code in do_not_call:
        if explicit and code not in codes:
            t.fail(f"{t.where}.do_not_call: {code!r} is not one of its dispositions")
    dialer = dict(
        ring_s=t.number("ring_s", 25.0, above=True),
        max_attempts=t.integer("max_attempts", 3, minimum=1, maximum=100),
        retry_s=t.number("retry_s", 60.0),
        max_ratio=t.number("max_ratio", 2.5, minimum=1.0),
        abandon_s=t.number("abandon_s", 2.0, above=True),
        abandon_limit=t.number("abandon_limit", 0.03, above=True),
        abandon_window_s=t.number("abandon_window_s", 86400.0, above=True),
        message=_message(t, base),
        message_s=t.number("message_s", 5.0),
        amd=t.flag("amd", mode in DIALER_MODES),
        machine_action=t.choice("machine_action", "agent", MACHINE_ACTIONS),
        outcomes=_outcomes(t))
    script = t.text("script", "", nonempty=False)
    if len(script) > MAX_SCRIPT_CHARS:
        t.fail(f"{t.where}.script: {len(script)} characters, at most {MAX_SCRIPT_CHARS}")
    if any(ord(ch) < 0x20 and ch not in "\n\t" for ch in script):
        t.fail(f"{t.where}.script: a control character (only line breaks and tabs)")
    ends = t.text("ends", "", nonempty=False)
    if ends and not _is_date(ends):
        t.fail(f"{t.where}.ends: expected a date YYYY-MM-DD, got {ends!r}")
    if dialer["machine_action"] == "message" and dialer["message"] in MESSAGES:
        t.fail(f'{t.where}.machine_action: "message" needs the campaign\'s message (a raw '
               'file: message = "...")')
    if dialer["abandon_limit"] > 1:
        t.fail(f"{t.where}.abandon_limit: a rate, 0 < limit <= 1, got "
               f"{dialer['abandon_limit']!r}")
    t.done()
    return CampaignConfig(cid, name, mode, assigned, started, preview_s, timeout_action, skip,
                          remove, cancel, logout_delay_s, tuple(dispositions), tuple(fields),
                          records, hours, tz, tuple(do_not_call), **dialer, script=script,
                          ends=ends)


def campaign_from_json(body, agents, base: Path) -> CampaignConfig:
    """The admin API's campaign (a JSON object shaped as a [[campaigns]] table): its
    messages name the field only (``campaign.mode: ...``)."""
    return campaign_config(_Table("", "campaign", body), agents, base)


def records_from_json(body, cid: str, first: int) -> tuple[CampaignRecordConfig, ...]:
    """The admin API's ``{"records": [...]}`` appended to campaign ``cid`` (its next index
    ``first``): at least one."""
    t = _Table("", "", body)
    if not t.data.get("records"):
        t.fail("records: at least one is needed")
    records = campaign_records(t, cid, first)
    t.done()
    return records


def campaign_records(t: _Table, cid: str, first: int = 0) -> tuple[CampaignRecordConfig, ...]:
    """``t``'s ``records`` (a campaign's, or those the admin API appends to campaign ``cid``,
    the first of them its record ``first``)."""
    return tuple(_record(r, cid, first + i) for i, r in enumerate(_items(t, "records", False)))


def _record(r: _Table, cid: str, index: int) -> CampaignRecordConfig:
    """One record. A number a phone cannot dial (or none) does not refuse it: the record is
    kept (its number as given, ``usable`` false: loaded done, "bad_number") unless one of its
    alternates can be dialed, which becomes its number; an alternate a phone cannot dial is
    dropped. Each is logged. Anything else wrong is a ScenarioError."""
    rname, number = r.text("name"), r.text("number", "", nonempty=False)
    r.seen.add("variables")
    variables = r.data.get("variables", {})
    if not isinstance(variables, dict) or len(variables) > MAX_VARIABLES:
        r.fail(f"{r.where}.variables: expected a table of at most {MAX_VARIABLES} strings")
    rtz = _zone(r, "tz", "")
    given = r.texts("alternates", [])
    if len(given) > MAX_ALTERNATES:
        r.fail(f"{r.where}.alternates: at most {MAX_ALTERNATES} numbers, got {len(given)}")
    alternates: list[str] = []
    for i, alt in enumerate(given):
        if not dialable(alt):
            log.warning("campaign %s record %d (%s): alternate %r dropped: not a number a "
                        "phone can dial", cid, index, rname, alt)
            continue
        if alt == number or alt in alternates:
            r.fail(f"{r.where}.alternates[{i}]: {alt!r} is the record's number or listed "
                   "twice")
        alternates.append(alt)
    bad, why = "", ""
    if not dialable(number):
        bad = number
        rule = (f"not a number a phone can dial (1-{MAX_DIAL_CHARS} of 0-9 A-Z a-z * # + . _ "
                "~ -)" if number else "no number")
        if alternates:
            number = alternates.pop(0)
            why = f"{rule}: its alternate {number!r} is its number"
        else:
            why = f"{rule}: never called (done, bad_number)"
        log.warning("campaign %s record %d (%s): number %r: %s", cid, index, rname, bad, why)
    problem = contact_problem(cid, number if dialable(number) else "", variables, None)
    if problem:
        r.fail(f"{r.where}: {problem}")
    r.done()
    return CampaignRecordConfig(rname, number, tuple(variables.items()), rtz, tuple(alternates),
                                bad_number=bad, why=why)


def _outcomes(t: _Table) -> tuple[tuple[str, float], ...]:
    """``outcomes``: {outcome: rate} of LAB_OUTCOMES, each rate 0-1, summing to 1 (within
    1e-6); as (outcome, rate) pairs in LAB_OUTCOMES order. {} (the default): ()."""
    rates = t._get("outcomes", {}, (dict,), "a table of rates")
    where = f"{t.where}.outcomes"
    for key, rate in rates.items():
        if key not in LAB_OUTCOMES:
            t.fail(f"{where}: unknown outcome {str(key)[:40]!r} (outcomes: "
                   f"{', '.join(LAB_OUTCOMES)})")
        if (isinstance(rate, bool) or not isinstance(rate, (int, float))
                or not math.isfinite(rate) or not 0 <= rate <= 1):
            t.fail(f"{where}.{key}: a rate, 0 to 1, got {rate!r}")
    total = sum(rates.values())
    if rates and abs(total - 1) > 1e-6:
        t.fail(f"{where}: the rates must add up to 1, got {total:g}")
    return tuple((key, float(rates[key])) for key in LAB_OUTCOMES if key in rates)


def _message(t: _Table, base: Path) -> str:
    """``message``: "music" (none), or a recorded message's raw file (absolute, or relative to
    ``base``, the scenario file's directory; not found there, to ccsim's own scenarios,
    BUNDLED: a copy of the demo elsewhere still finds its recording), checked here: it exists,
    can be read, and is whole S16 samples of at most MESSAGE_MAX_S at MESSAGE_RATE. Its
    absolute path."""
    value = t.text("message", "music")
    if value in MESSAGES:
        return value
    rule = (f"{t.where}.message: one of {', '.join(MESSAGES)} or a recorded message's path (raw "
            f"S16LE mono {MESSAGE_RATE} Hz, at most {MESSAGE_MAX_S:g} s, relative to the "
            f"scenario file)")
    return _raw_file(t, value, base, rule)


def _raw_file(t: _Table, value: str, base: Path, rule: str) -> str:
    """A recorded message's raw file ``value`` (a campaign's ``message``, a [[messages]]'
    ``file``): absolute, or relative to ``base``, else to BUNDLED; it must be a file that can
    be read, of whole S16 samples, at most MESSAGE_MAX_S at MESSAGE_RATE (else ScenarioError
    with ``rule``, what the field takes). Its absolute path."""
    path = Path(value) if Path(value).is_absolute() else base / value
    if not path.exists() and not Path(value).is_absolute() and (BUNDLED / value).exists():
        path = BUNDLED / value
    path = path.resolve()
    if not path.is_file():
        t.fail(f"{rule}: {value!r} is not a file")
    if not os.access(path, os.R_OK):
        t.fail(f"{rule}: {value!r} cannot be read")
    size = path.stat().st_size
    if not 0 < size <= MESSAGE_MAX_BYTES or size % 2:
        t.fail(f"{rule}: {value!r} is {size} bytes (whole samples, at most "
               f"{MESSAGE_MAX_BYTES})")
    return str(path)


def _is_date(text: str) -> bool:
    """YYYY-MM-DD, a real day."""
    if not DATE.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _hours(t: _Table) -> tuple[int, int] | None:
    """``calling_hours`` "HH:MM-HH:MM" as minutes since midnight; None (all day) when ""."""
    text = t.text("calling_hours", "", nonempty=False)
    if not text:
        return None
    m = HOURS.fullmatch(text)
    if m is None:
        t.fail(f"{t.where}.calling_hours: expected HH:MM-HH:MM, got {text!r}")
    assert m is not None
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end > 24 * 60 or start == end:
        t.fail(f"{t.where}.calling_hours: an empty or impossible period {text!r}")
    return start, end


def _zone(t: _Table, name: str, default: str) -> str:
    """An IANA time zone name (zoneinfo must know it); ``default`` when not given."""
    value = t.text(name, default, nonempty=False)
    if value:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            t.fail(f"{t.where}.{name}: not a time zone: {value!r} (an IANA name such as "
                   "Europe/Madrid)")
    return value


def extension_user(extension: str) -> str:
    """What a phone dials to reach an extension: its SIP URI's user ("sip:1001@pbx" -> "1001")."""
    return extension.removeprefix("sip:").split("@")[0]


def load(path: str | Path) -> Scenario:
    """The scenario in the TOML file at ``path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ScenarioError(f"{path}: cannot read: {e.strerror}") from None
    return parse(text, str(path))
