"""The model: one immutable snapshot of the phone (device status, settings, the logged-in agent,
contacts and calls, the screens shown)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import assert_never, get_args

from .events import (Callback, CallbackDraft, CallbackRules, Campaign, CcSettings, Code, Contact,
                     DirectoryEntry, Favorite, FollowUp, Forwarding, VariableLayout, VoiceApp)
from .form import Form, Purpose
from .vocab import (AgentState, Backlight, CallDirection, CallLeg, CallRoute, CallState,
                    CcLinkState, HandsFree, Level, LoginEntry, MenuName, Mode, ReasonKind, Route,
                    SipLink)

VOLUME_MAX = 10
CONTRAST_MAX = 10
LEVELS: tuple[Level, ...] = get_args(Level)
BACKLIGHT_MODES: tuple[Backlight, ...] = get_args(Backlight)
BACKLIGHT_AUTO_S = 30          # "auto": the backlight goes out after this long untouched
NOTICE_S = 6                   # how long a transient notice stays up
# the setting that sets how loud a route plays
VOLUME_OF: dict[Route, Level] = {"ringer": "ringer_volume", "handset": "handset_volume",
                                 "headset": "headset_volume", "speaker": "speaker_volume"}
CALL_ROUTES: tuple[CallRoute, ...] = get_args(CallRoute)


def level_max(which: Level) -> int:
    return CONTRAST_MAX if which == "contrast" else VOLUME_MAX


@dataclass(frozen=True)
class Settings:
    """What the user changes in the menu; saved across restarts."""
    ringer_volume: int = 6
    handset_volume: int = 6
    headset_volume: int = 6
    speaker_volume: int = 5
    contrast: int = 6
    backlight: Backlight = "auto"
    # Noise removal on the agent's voice, per route: on where the mic hears the floor (the
    # headset's boom, hands-free), off at the handset's mouthpiece, close to the mouth.
    handset_noise_removal: bool = False
    headset_noise_removal: bool = True
    speaker_noise_removal: bool = True
    # the agent works on the headset: calls answered with a key (and those the phone answers
    # by itself) go to it, as dialed ones do, unless the handset is lifted
    headset_mode: bool = False

    def level(self, which: Level) -> int:
        match which:
            case "ringer_volume":
                return self.ringer_volume
            case "handset_volume":
                return self.handset_volume
            case "headset_volume":
                return self.headset_volume
            case "speaker_volume":
                return self.speaker_volume
            case "contrast":
                return self.contrast
        assert_never(which)

    def with_level(self, which: Level, value: int) -> Settings:
        match which:
            case "ringer_volume":
                return replace(self, ringer_volume=value)
            case "handset_volume":
                return replace(self, handset_volume=value)
            case "headset_volume":
                return replace(self, headset_volume=value)
            case "speaker_volume":
                return replace(self, speaker_volume=value)
            case "contrast":
                return replace(self, contrast=value)
        assert_never(which)

    def volume(self, route: Route) -> int:
        """How loud ``route`` plays (0-VOLUME_MAX)."""
        return self.level(VOLUME_OF[route])

    def mode(self, which: Mode) -> Backlight:
        match which:
            case "backlight":
                return self.backlight
        assert_never(which)

    def with_mode(self, which: Mode, value: Backlight) -> Settings:
        match which:
            case "backlight":
                return replace(self, backlight=value)
        assert_never(which)

    def noise_removal(self, route: CallRoute) -> bool:
        """Whether noise is removed from the agent's voice on ``route``."""
        match route:
            case "handset":
                return self.handset_noise_removal
            case "headset":
                return self.headset_noise_removal
            case "speaker":
                return self.speaker_noise_removal
        assert_never(route)

    def with_noise_removal(self, route: CallRoute, on: bool) -> Settings:
        match route:
            case "handset":
                return replace(self, handset_noise_removal=on)
            case "headset":
                return replace(self, headset_noise_removal=on)
            case "speaker":
                return replace(self, speaker_noise_removal=on)
        assert_never(route)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> tuple[Settings, list[str]]:
        """Settings from a saved dict; each bad or unknown field is dropped with a message."""
        problems: list[str] = []
        defaults = settings = cls()
        for which in LEVELS:
            value = data.get(which, None)
            if which not in data:
                continue
            if (isinstance(value, int) and not isinstance(value, bool)
                    and 0 <= value <= level_max(which)):
                settings = settings.with_level(which, value)
            else:
                problems.append(f"{which}: bad value {value!r}, using {defaults.level(which)!r}")
        if "backlight" in data:
            value = data["backlight"]
            mode = next((b for b in BACKLIGHT_MODES if b == value), None)
            if mode is not None:
                settings = settings.with_mode("backlight", mode)
            else:
                problems.append(f"backlight: bad value {value!r}, using {defaults.backlight!r}")
        for route in CALL_ROUTES:            # a file older than the setting: the defaults
            name = f"{route}_noise_removal"
            if name not in data:
                continue
            value = data[name]
            if isinstance(value, bool):
                settings = settings.with_noise_removal(route, value)
            else:
                problems.append(f"{name}: bad value {value!r}, "
                                f"using {defaults.noise_removal(route)!r}")
        if "headset_mode" in data:
            value = data["headset_mode"]
            if isinstance(value, bool):
                settings = replace(settings, headset_mode=value)
            else:
                problems.append(f"headset_mode: bad value {value!r}, using False")
        for name in data:
            if name not in {f.name for f in fields(cls)}:
                problems.append(f"{name}: unknown setting, ignored")
        return settings, problems


@dataclass(frozen=True)
class Display:
    """The character grid of the board's display (board file [lcd]): 20x4 at least, which the
    board loader checks. A larger one shows more: the offer's caller and variables take every
    row between the header and the softkeys, side by side in cells of 20 columns."""
    cols: int = 20
    rows: int = 4
    # The characters the panel can draw (its character ROM, board file [lcd] charset), so
    # text entry offers only letters the agent will see; None: any.
    chars: frozenset[str] | None = field(default=None, repr=False)

    @property
    def detail_columns(self) -> int:
        """Caller and variable lines side by side on one row."""
        return max(1, self.cols // DETAIL_CELL)

    @property
    def detail_lines(self) -> int:
        """Caller and variable lines shown at once (offer popover, call data): the rows under
        the header and above the softkeys, times the lines side by side."""
        return max(1, self.rows - 2) * self.detail_columns

    def scrolled(self, count: int, scroll: int, rows: int) -> int:
        """``scroll`` (the first of ``count`` detail lines shown) moved by ``rows`` rows of
        the display, which may hold several lines side by side, stopping where the last line
        shows."""
        per_row = self.detail_columns
        last = max(0, -(-(count - self.detail_lines) // per_row) * per_row)   # whole rows
        return max(0, min(last, scroll + rows * per_row))


DETAIL_CELL = 20               # columns of one caller/variable line


@dataclass(frozen=True)
class DeviceInfo:
    version: str
    board: str
    slot: str
    display: Display = Display()
    # numbers that reach emergency services, dialed at once from any state (config [emergency])
    emergency: tuple[str, ...] = ("911", "112")


@dataclass(frozen=True)
class Links:
    """What the status line's indicators show. 'off' means not configured."""
    ip: str | None = None
    sip: SipLink = "off"
    cc: CcLinkState = "off"


@dataclass(frozen=True)
class Agent:
    """The logged-in agent, as the server's last snapshot and events describe it."""
    id: str
    name: str
    team: str
    extension: str
    state: AgentState = "idle"
    reason: str = ""
    pending: tuple[AgentState, str] | None = None      # (state, reason) applied after the contact
    idle_codes: tuple[Code, ...] = ()
    wrapup_codes: tuple[Code, ...] = ()
    layout: tuple[VariableLayout, ...] = ()
    cc: CcSettings = CcSettings()
    favorites: tuple[Favorite, ...] = ()   # kept by the server: they follow the agent
    campaigns: tuple[Campaign, ...] = ()   # the outbound campaigns the agent is in
    logout_at: float = 0.0     # a negotiated logout pending: when it takes effect
    # callbacks (callbacks.py): the server's rules, the queues the agent may schedule for, the
    # team's members (a personal callback's assignees), and the server's clock ahead of ours
    callback_rules: CallbackRules = CallbackRules()
    callback_queues: tuple[Code, ...] = ()
    team_members: tuple[Code, ...] = ()
    skew: float = 0.0
    help: bool = False         # a help request of the agent's stands (helprequest.py)
    messages: tuple[Code, ...] = ()      # the centre's pre-recorded messages (messages.py)
    voice_apps: tuple[VoiceApp, ...] = ()  # what a customer can be connected to (voiceapps.py)
    forwarding: Forwarding = Forwarding()     # the agent's personal calls (forwarding.py)
    voicemail_waiting: int = 0           # messages not heard yet: the message lamp (voicemail.py)
    voicemail_messages: int = 0
    voicemail_number: str = ""           # what reaches the agent's box

    def campaign(self, campaign_id: str) -> Campaign | None:
        return next((c for c in self.campaigns if c.id == campaign_id), None)


@dataclass(frozen=True)
class Call:
    """A SIP call on the phone (``id``: the SIP adapter's); ``contact`` pairs it with a contact
    ("" for none)."""
    id: str
    contact: str
    peer: str
    state: CallState
    since: float               # when it entered ``state`` (the screen's timer)
    accepted: bool = False     # answered by the agent (SipAnswer out), maybe not yet established
    hold_when_up: bool = False  # accept-all: hold it as soon as it is established
    dtmf_sent: int = 0         # keys sent as DTMF on this call: only counted, as they may be a card
                               # number; never kept, shown or logged
    outbound: bool = False     # the phone placed it (``peer``: the number dialed)
    emergency: bool = False    # to an emergency number
    far_ringing: bool = False  # placed, and the far end rings
    awaiting: bool = False     # placed, waiting for the server's go-ahead (no SIP call yet)
    leg: CallLeg = "customer"  # "consult": the agent's consult leg of ``contact``
    # a standard preview's reservation call, up already: the server dials the customer on it
    # (``calling`` until the server says the customer answered)
    server_dials: bool = False


@dataclass(frozen=True)
class WaitingCall:
    """An INVITE naming a contact the phone doesn't know yet (it can overtake the offer: the
    server and the customer's call travel separately). It waits, silent and unshown, until the
    contact arrives and its token is checked; it is no ``Call`` until then."""
    id: str                    # the SIP adapter's call id
    contact: str
    peer: str
    token: str = field(repr=False)
    since: float               # when it arrived; refused after calls.WAIT_FOR_CONTACT_S


@dataclass(frozen=True)
class Reservation:
    """A standard or direct preview's reservation call (reservation.py): the server's call that
    holds the agent for a previewed record. The phone answers it by itself and keeps it silent
    (no ``Call``: nothing routes audio to or from it); the preview shows once it is ``up``."""
    call: str                  # the SIP adapter's id
    contact: str
    peer: str
    up: bool = False           # established


@dataclass(frozen=True)
class HistoryEntry:
    """A call in the agent's history: ``out`` placed, ``in`` answered, ``missed`` not answered.
    ``customer``: the number is a customer's (masked where the admin masks numbers)."""
    number: str
    direction: CallDirection
    at: float
    customer: bool = False
    emergency: bool = False


@dataclass(frozen=True)
class Notice:
    text: str
    until: float


# -- screens: what the display shows, the top one of Model.screens ------------------------------
@dataclass(frozen=True)
class Screen:
    """Every screen: each has a key handler (update._HANDLERS), a body (firmware.ui.screens
    BODIES) and softkeys (softkeys._FIXED or _BY_MODEL); tests/unit/test_registries.py checks."""


@dataclass(frozen=True)
class BootScreen(Screen):
    pass


@dataclass(frozen=True)
class IdleScreen(Screen):
    pass


@dataclass(frozen=True)
class MenuScreen(Screen):
    menu: MenuName             # a key of firmware.core.menus.MENUS
    cursor: int = 0


@dataclass(frozen=True)
class AdjustScreen(Screen):
    """Changing one numeric setting; ``before`` is restored if the user backs out."""
    setting: Level
    value: int
    before: int


@dataclass(frozen=True)
class ChoiceScreen(Screen):
    """Choosing one of a setting's fixed values."""
    setting: Mode
    cursor: int


@dataclass(frozen=True)
class NoiseScreen(Screen):
    """Noise removal on the agent's voice, on or off per route (cursor: CALL_ROUTES)."""
    cursor: int = 0


@dataclass(frozen=True)
class AboutScreen(Screen):
    page: int = 0


@dataclass(frozen=True)
class LoginScreen(Screen):
    """Typing the agent id, then the PIN (``entry`` says which)."""
    agent: str = ""
    pin: str = field(default="", repr=False)
    entry: LoginEntry = "agent"
    error: str = ""


@dataclass(frozen=True)
class ReasonScreen(Screen):
    """A list of codes to pick from: "idle", "logout" (idle codes) or "wrapup" (for ``contact``),
    searched by T9 ``query`` (digits)."""
    kind: ReasonKind
    cursor: int = 0
    query: str = ""
    contact: str = ""


@dataclass(frozen=True)
class ConnectingPopover(Screen):
    contact: str


@dataclass(frozen=True)
class OfferPopover(Screen):
    """The stacked offers; ``contact`` is the one shown, ``scroll`` its first visible line."""
    contact: str
    scroll: int = 0


@dataclass(frozen=True)
class PreviewPopover(Screen):
    """A campaign's record to call, skip or remove; ``scroll``: its first visible field;
    ``number``: which of its numbers Call dials (0: its own, then its alternates)."""
    contact: str
    scroll: int = 0
    number: int = 0


@dataclass(frozen=True)
class FollowUpScreen(Screen):
    """A follow-up come due: its note until the agent has seen it (followups.py)."""
    follow_up: str


@dataclass(frozen=True)
class ScriptScreen(Screen):
    """The campaign's script for the record the agent is on, from row ``scroll``."""
    contact: str
    scroll: int = 0


@dataclass(frozen=True)
class CallbacksScreen(Screen):
    """Scheduled callbacks (callbacks.py): the customer's at ``number``, or ("") the agent's
    own; ``confirm``: Del asked, Yes or No."""
    number: str = ""
    cursor: int = 0
    confirm: bool = False


@dataclass(frozen=True)
class CampaignsScreen(Screen):
    """The campaigns the agent is in, with their status; ``cursor`` on one."""
    cursor: int = 0


@dataclass(frozen=True)
class RonaPopover(Screen):
    """A missed offer put the agent in Idle: go Available, or pick an idle reason."""


@dataclass(frozen=True)
class CallScreen(Screen):
    """The calls on the phone; ``call`` is the one shown (left/right switch)."""
    call: str


@dataclass(frozen=True)
class DialScreen(Screen):
    """Typing a number to call (digits at home, or the handset lifted with nothing to answer).
    ``consult``: the contact whose consult or transfer target is typed (firmware.core.consult)."""
    number: str = ""
    consult: str = ""


@dataclass(frozen=True)
class DirectoryScreen(Screen):
    """The server's directory (firmware.core.directory), searched by T9 ``query`` (digits);
    ``entries`` None until the first answer, ``error`` why there is none. While on show it is
    asked again every few seconds (``asked_at``), so agents' states stay current."""
    cursor: int = 0
    query: str = ""
    entries: tuple[DirectoryEntry, ...] | None = None
    truncated: bool = False
    error: str = ""
    asked_at: float = 0.0
    waiting: bool = False        # a look-up is out
    consult: str = ""            # picking the target of this contact's consult or transfer


@dataclass(frozen=True)
class FavoritesScreen(Screen):
    """The agent's favorites (firmware.core.favorites), searched by T9 ``query``. ``number``:
    the number typed on the dial screen it was opened from (``Add`` makes it a favorite);
    ``confirm``: ``Del`` pressed once, the number of the favorite that a second press deletes."""
    cursor: int = 0
    query: str = ""
    number: str = ""
    confirm: str = ""


@dataclass(frozen=True)
class TaskScreen(Screen):
    """Every offer and call with its state (firmware.core.tasks); ``cursor`` the one in view."""
    cursor: int = 0


@dataclass(frozen=True)
class HistoryScreen(Screen):
    """The agent's calls, newest first; ``cursor`` the one ``ok`` dials."""
    cursor: int = 0


@dataclass(frozen=True)
class VarsScreen(Screen):
    contact: str
    scroll: int = 0


@dataclass(frozen=True)
class CallDataScreen(Screen):
    """The call's data (calldata.py): every variable of the admin's layout, ``selected`` the
    one the pointer is on (Edit, Show)."""
    contact: str
    selected: int = 0


@dataclass(frozen=True)
class LogUpload:
    """Send logs (logsend.py): the redacted log's parts, () while the phone collects them, and
    how many of them the server has taken."""
    upload: str
    parts: tuple[str, ...] = field(default=(), repr=False)
    sent: int = 0


@dataclass(frozen=True)
class Saving:
    """A variable's save on its way to the server: the agent's draft, kept to reopen the form
    if the save is refused (another agent's save came first, or the link is down)."""
    contact: str
    name: str
    value: str
    version: int


@dataclass(frozen=True)
class Revealed:
    """A secure variable's value the agent asked to see, shown until ``until``; in memory only,
    out of repr (no log line shows it)."""
    contact: str
    name: str
    value: str = field(repr=False)
    until: float = 0.0


@dataclass(frozen=True)
class PeopleScreen(Screen):
    """Who is on the contact's conference (its participants), from ``scroll``."""
    contact: str
    scroll: int = 0


@dataclass(frozen=True)
class FormScreen(Screen):
    """A form being filled in (firmware.core.form): the draft lives here, so nothing but the
    agent closes it (a dropped link doesn't). ``purpose``: what its values are for."""
    form: Form
    purpose: Purpose


@dataclass(frozen=True)
class Model:
    info: DeviceInfo
    settings: Settings = field(default_factory=Settings)
    links: Links = field(default_factory=Links)
    agent: Agent | None = None           # logged in (the server's snapshot came)
    login_pending: bool = False          # a CcLogin is out and no snapshot came yet
    login_agent: str = ""                # the agent id of that CcLogin (kept if it is refused)
    logged_out_why: str = ""             # shown at home while logged out ("Logged in elsewhere")
    login_locked_until: float = 0.0      # too many wrong PINs: the server checks none till then
    contacts: tuple[Contact, ...] = ()
    calls: tuple[Call, ...] = ()        # a call with a contact is bound: its token matched
    waiting: tuple[WaitingCall, ...] = ()  # INVITEs waiting for the contact they name
    answer_on_arrival: frozenset[str] = frozenset()  # contacts accepted before their INVITE
    # contacts whose consult the phone asked for and whose consult leg token has not come yet:
    # the consult leg's INVITE may overtake it, and waits for it as an offer's INVITE does
    consult_asked: frozenset[str] = frozenset()
    # contacts whose conference the phone asked for: once the server says it is up, the
    # customer call the consult held is resumed (the agent is heard on the conference)
    conference_asked: frozenset[str] = frozenset()
    wrapped_locally: frozenset[str] = frozenset()    # wrap-ups sent (maybe queued offline)
    saving: Saving | None = None         # a call variable's save the server has not taken yet
    revealed: Revealed | None = None     # a secure variable shown for a few seconds
    # offers the agent rejected, as (contact id, the attempt's token), until the server takes
    # them back: a snapshot still listing that attempt (the reject was queued offline) and an
    # INVITE for it are not offered again. Out of repr: the tokens are secrets.
    rejected: frozenset[tuple[str, str]] = field(default=frozenset(), repr=False)
    ringer: bool = False                 # the ringer plays for an incoming call
    # an offer the phone answers by itself once its beeps end (the call, and where)
    auto_answering: tuple[str, HandsFree] | None = None
    # a campaign record's reschedule asked for (contact, at): a refused one reopens its form
    rescheduling: tuple[str, str] | None = None
    reservation: Reservation | None = None   # a preview's reservation call (reservation.py)
    # callbacks.py: the list the server last sent (None: asked, not come yet), and a callback
    # sent to be scheduled or changed (its form and what was typed: a refusal reopens it)
    callbacks: tuple[Callback, ...] | None = None
    scheduling: tuple[Purpose, CallbackDraft] | None = None
    # wrap-up notes the agent typed (notes.py), by contact, until the wrap-up takes them
    notes: tuple[tuple[str, str], ...] = ()
    log_upload: LogUpload | None = None      # the phone's log on its way to the server
    follow_ups: tuple[FollowUp, ...] = ()    # come due and not seen yet (followups.py)
    forwarding_sent: Forwarding | None = None  # sent, not taken yet: a refusal reopens it
    # seen here while the server may not know yet (its done queued offline): not shown again
    follow_ups_seen: frozenset[str] = frozenset()
    notice: Notice | None = None
    sip_problem: str = ""                # shown while links.sip == "failed"
    cc_problem: str = ""                 # why the server can't be reached; shown while it can't
    storage_problem: str = ""            # "Storage full": the phone's state can't be written
    waiting_for_time: bool = False       # no synchronized clock yet: no TLS link, no clock shown
    hook_lifted: bool = False
    hands_free: HandsFree | None = None  # while the agent talks hands-free
    muted: bool = False         # the mute key: the customer hears nothing until pressed again
    now: float = 0.0
    last_touch: float = 0.0     # when a key or the hook was last used (backlight auto-off)
    ringing_test: bool = False
    next_dial: int = 1          # numbers the phone's placed calls until the SIP stack names them
    # the agent's calls, newest first (redial: the latest placed); cleared at logout: they are
    # the agent's, not the desk's
    history: tuple[HistoryEntry, ...] = ()
    screens: tuple[Screen, ...] = (BootScreen(),)

    @property
    def screen(self) -> Screen:
        return self.screens[-1]

    @property
    def agent_status(self) -> str:
        """The agent's state for the console: LOGGED_OUT, LOGGING_IN, IDLE, ..., WRAPUP."""
        if self.agent is None:
            return "LOGGING_IN" if self.login_pending else "LOGGED_OUT"
        return self.agent.state.upper()

    def contact(self, contact_id: str) -> Contact | None:
        return next((c for c in self.contacts if c.id == contact_id), None)

    def call(self, call_id: str) -> Call | None:
        return next((c for c in self.calls if c.id == call_id), None)

    def call_of(self, contact_id: str) -> Call | None:
        """The contact's customer call: only ever one whose token matched (calls.incoming binds
        it)."""
        return next((c for c in self.calls if contact_id and c.contact == contact_id
                     and c.leg == "customer"), None)

    def consult_of(self, contact_id: str) -> Call | None:
        """The contact's consult leg (the agent consults someone about it), if up."""
        return next((c for c in self.calls if contact_id and c.contact == contact_id
                     and c.leg == "consult"), None)

    def emergency_call(self) -> Call | None:
        """The emergency call on the phone, if one is up (placed, talking or held)."""
        return next((c for c in self.calls if c.emergency), None)

    @property
    def hands_free_route(self) -> HandsFree:
        """Where a call goes hands-free when the agent chose no route: the headset in headset
        mode, else the speaker."""
        return "headset" if self.settings.headset_mode else "speaker"

    def previews(self) -> tuple[Contact, ...]:
        """Campaign records in preview (one at a time, from the server) the agent has not
        called yet; one that rides on a reservation call once that call is up."""
        def shown(c: Contact) -> bool:
            r = self.reservation
            return not c.reservation or (r is not None and r.contact == c.id and r.up)
        return tuple(c for c in self.contacts
                     if c.status == "preview" and self.call_of(c.id) is None and shown(c))

    def offers(self) -> tuple[Contact, ...]:
        """Offered contacts the agent has not taken yet, oldest first (the popover's order)."""
        def waiting(c: Contact) -> bool:
            call = self.call_of(c.id)
            return (c.status == "offered" and c.id not in self.answer_on_arrival
                    and not (call and call.accepted))
        return tuple(sorted(filter(waiting, self.contacts), key=lambda c: (c.offered_at, c.id)))

    def ringing(self) -> tuple[Call, ...]:
        """Calls that ring and nobody answered yet."""
        return tuple(c for c in self.calls if c.state == "ringing" and not c.accepted)

    def shown_calls(self) -> tuple[Call, ...]:
        """Calls for the call screen: all but unanswered ones a popover presents."""
        return tuple(c for c in self.calls
                     if c.state != "ringing" or c.accepted or self.contact(c.contact) is None)

    def active_notice(self) -> str:
        return self.notice.text if self.notice and self.notice.until > self.now else ""


def with_notice(m: Model, text: str) -> Model:
    return replace(m, notice=Notice(text, m.now + NOTICE_S))
