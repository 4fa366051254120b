"""The model: one immutable snapshot of the phone (device status, settings, the agent's session,
contacts and calls, screen stack)."""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from .events import CcSettings, Code, Contact, VariableLayout

VOLUME_MAX = 10
CONTRAST_MAX = 10
BACKLIGHT_MODES = ("on", "auto", "off")
BACKLIGHT_AUTO_S = 30          # "auto": the backlight goes out after this long untouched
NOTICE_S = 6                   # how long a transient notice stays up


@dataclass(frozen=True)
class Settings:
    """What the user changes in the menu; saved across restarts."""
    ringer_volume: int = 6
    handset_volume: int = 6
    headset_volume: int = 6
    speaker_volume: int = 5
    contrast: int = 6
    backlight: str = "auto"

    @classmethod
    def from_dict(cls, data: dict) -> tuple["Settings", list[str]]:
        """Settings from a saved dict; each bad or unknown field is dropped with a message."""
        problems, good = [], {}
        defaults = cls()
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            if f.name == "backlight":
                ok = value in BACKLIGHT_MODES
            else:
                top = CONTRAST_MAX if f.name == "contrast" else VOLUME_MAX
                ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= top
            if ok:
                good[f.name] = value
            else:
                problems.append(f"{f.name}: bad value {value!r}, using {getattr(defaults, f.name)!r}")
        for name in data:
            if name not in {f.name for f in fields(cls)}:
                problems.append(f"{name}: unknown setting, ignored")
        return replace(defaults, **good), problems


@dataclass(frozen=True)
class DeviceInfo:
    version: str
    board: str
    slot: str


@dataclass(frozen=True)
class Links:
    """What the status line's indicators show. 'off' means not configured."""
    ip: str | None = None
    sip: str = "off"           # off | registering | registered | failed
    cc: str = "off"            # off | connecting | up | down


@dataclass(frozen=True)
class Session:
    """The logged-in agent, as the server's last snapshot and events describe it."""
    id: str
    name: str
    team: str
    extension: str
    state: str = "idle"        # protocol names: idle|available|reserved|ringing|talking|held|wrapup
    reason: str = ""
    pending: tuple[str, str] | None = None      # (state, reason) applied after the contact
    idle_codes: tuple[Code, ...] = ()
    wrapup_codes: tuple[Code, ...] = ()
    layout: tuple[VariableLayout, ...] = ()
    cc: CcSettings = CcSettings()


@dataclass(frozen=True)
class Call:
    """A SIP call on the phone; ``contact`` pairs it with a contact ("" for none)."""
    call: str
    contact: str
    peer: str
    state: str                 # "ringing" | "talking" | "held"
    since: float               # when it entered ``state`` (the screen's timer)
    accepted: bool = False     # answered by the agent (SipAnswer out), maybe not yet established
    hold_when_up: bool = False  # accept-all: hold it as soon as it is established
    dtmf_sent: int = 0         # keys sent as DTMF on this call: only counted, as they may be a card
                               # number; never kept, shown or logged


@dataclass(frozen=True)
class WaitingCall:
    """An INVITE naming a contact the phone doesn't know yet (it can overtake the offer: the
    server and the customer's call travel separately). It waits, silent and unshown, until the
    contact arrives and its token is checked; it is no ``Call`` until then."""
    call: str
    contact: str
    peer: str
    token: str = field(repr=False)
    since: float               # when it arrived; refused after calls.WAIT_FOR_CONTACT_S


@dataclass(frozen=True)
class Notice:
    text: str
    until: float


# -- screens: the stack's entries ---------------------------------------------------------------
@dataclass(frozen=True)
class BootScreen:
    pass


@dataclass(frozen=True)
class IdleScreen:
    pass


@dataclass(frozen=True)
class MenuScreen:
    menu: str                  # a key of firmware.core.menus.MENUS
    cursor: int = 0


@dataclass(frozen=True)
class AdjustScreen:
    """Changing one numeric setting; ``before`` is restored if the user backs out."""
    setting: str
    value: int
    before: int


@dataclass(frozen=True)
class ChoiceScreen:
    """Choosing one of a setting's fixed values."""
    setting: str
    cursor: int


@dataclass(frozen=True)
class AboutScreen:
    page: int = 0


@dataclass(frozen=True)
class LoginScreen:
    """Typing the agent id, then the PIN (``entry`` says which)."""
    agent: str = ""
    pin: str = field(default="", repr=False)
    entry: str = "agent"       # "agent" | "pin"
    error: str = ""


@dataclass(frozen=True)
class ReasonScreen:
    """A list of codes to pick from: "idle", "logout" (idle codes) or "wrapup" (for ``contact``),
    searched by T9 ``query`` (digits)."""
    kind: str
    cursor: int = 0
    query: str = ""
    contact: str = ""


@dataclass(frozen=True)
class ConnectingPopover:
    contact: str


@dataclass(frozen=True)
class OfferPopover:
    """The stacked offers; ``contact`` is the one shown, ``scroll`` its first visible line."""
    contact: str
    scroll: int = 0


@dataclass(frozen=True)
class RonaPopover:
    """A missed offer put the agent in Idle: go Available, or pick an idle reason."""


@dataclass(frozen=True)
class CallScreen:
    """The calls on the phone; ``call`` is the one shown (left/right switch)."""
    call: str


@dataclass(frozen=True)
class VarsScreen:
    contact: str
    scroll: int = 0


@dataclass(frozen=True)
class Model:
    info: DeviceInfo
    settings: Settings = field(default_factory=Settings)
    links: Links = field(default_factory=Links)
    session: Session | None = None
    login_pending: bool = False          # a CcLogin is out and no snapshot came yet
    login_agent: str = ""                # the agent id of that CcLogin (kept if it is refused)
    logged_out_why: str = ""             # shown at home while logged out ("Logged in elsewhere")
    login_locked_until: float = 0.0      # too many wrong PINs: the server checks none till then
    contacts: tuple[Contact, ...] = ()
    calls: tuple[Call, ...] = ()        # a call with a contact is bound: its token matched
    waiting: tuple[WaitingCall, ...] = ()  # INVITEs waiting for the contact they name
    answer_on_arrival: frozenset[str] = frozenset()  # contacts accepted before their INVITE
    wrapped_locally: frozenset[str] = frozenset()    # wrap-ups sent (maybe queued offline)
    ringer: bool = False                 # the ringer plays for an incoming call
    notice: Notice | None = None
    sip_problem: str = ""                # shown while links.sip == "failed"
    cc_problem: str = ""                 # why the server can't be reached; shown while it can't
    storage_problem: str = ""            # "Storage full": the phone's state can't be written
    hook_lifted: bool = False
    hands_free: str = ""        # "speaker" or "headset" while the agent talks hands-free
    muted: bool = False         # the mute key: the customer hears nothing until pressed again
    now: float = 0.0
    last_touch: float = 0.0     # when a key or the hook was last used (backlight auto-off)
    ringing_test: bool = False
    screens: tuple = (BootScreen(),)

    @property
    def screen(self):
        return self.screens[-1]

    @property
    def agent_status(self) -> str:
        """The agent's state for the console: LOGGED_OUT, LOGGING_IN, IDLE, ..., WRAPUP."""
        if self.session is None:
            return "LOGGING_IN" if self.login_pending else "LOGGED_OUT"
        return self.session.state.upper()

    agent_state = agent_status

    def contact(self, contact_id: str) -> Contact | None:
        return next((c for c in self.contacts if c.id == contact_id), None)

    def call(self, call_id: str) -> Call | None:
        return next((c for c in self.calls if c.call == call_id), None)

    def call_of(self, contact_id: str) -> Call | None:
        """The contact's call: only ever one whose token matched (calls.incoming binds it)."""
        return next((c for c in self.calls if contact_id and c.contact == contact_id), None)

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
