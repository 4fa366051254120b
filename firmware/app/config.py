"""The phone's config file (TOML): where state lives, and per-install overrides.

Example (every field optional):

    [phone]
    state_dir = "/var/lib/hardphone"   # settings and generated files
    [console]
    port = "pty"                        # overrides the board file's console port
    [board_page]                        # sim board only
    enabled = true                      # false: no page, no web server (as on the device)
    host = "127.0.0.1"
    port = 8765                         # 0 picks a free port; the address is printed
    [update]
    root = "/var/lib/hardphone/update"  # A/B slots (default: $HARDPHONE_UPDATE_ROOT, else
                                        # <state_dir>/update)
    public_key = "keys/dev-ed25519.pub.pem"   # verifies images; relative to this file
    require_sip = false                 # a trial slot confirms itself only once SIP registers
    require_cc = false                  # ... and once the contact-center link is up
    [cc]                                # the contact-center server (docs/cc-protocol.md)
    url = "wss://cc.example.com/agent/v1"   # ws:// is allowed on loopback only
    cafile = "ca.pem"                   # extra CA for wss:// (default: the system's)
    agent = "1001"                      # log in at boot; without these the agent types them
    pin = "1234"
    [sip]
    user = "1001"                       # the extension: sip:<user>@<domain>
    password = "secret"
    domain = "pbx.example.com:5061"     # registrar and outbound proxy (5061: SIP over TLS)
    listen = "0.0.0.0:5060"
    reg_interval = 60
    direct_calls = false                # true: take calls from anyone, not only the proxy
    max_calls = 8                       # calls held at once (ringing and up); more get 486
    transport = "tls"                   # udp/tcp are refused unless the registrar is loopback
    cafile = "proxy-ca.pem"             # the proxy's CA (default: the system's); always verified
    media = "srtp"                      # SRTP mandatory (rtp: loopback registrar only)
    dscp_sip = "CS3"                    # DiffServ marks: CS0-CS7, AF11-AF43, EF, DF or 0-63
    dscp_rtp = "EF"
    jitter_buffer_ms = 30               # received audio's playout delay (20-1000) ...
    jitter_buffer_max_ms = 160          # ... growing up to this on a jittery network
    [emergency]                         # 911 and 112 always reach emergency services
    numbers = ["999"]                   # local ones besides (dialed at once, from any state)
    [emergency.location]                # the desk's dispatchable location (RFC 5139 elements)
    country = "US"                      # required: ISO 3166 code
    A1 = "IL"                           # state, A3 city, RD road, HNO number, FLR floor ...
    A3 = "Chicago"
    RD = "Main St"
    HNO = "100"
    FLR = "3"
    ROOM = "3-117"
    NAM = "Acme Contact Center"
    [time]                              # no battery-backed clock (docs/pi.md, "Time")
    wait_for_sync = true                # no TLS link (cc, SIP) before the clock is synchronized
                                        # (default: true on the rpi backend, else false)
    sync_file = "/run/systemd/timesync/synchronized"   # synchronized once this exists
                                        # ("": no file; relative: to this file) ...
    kernel_sync = true                  # ... or once the kernel's clock status says so (chrony)
    servers = ["ntp.example.com"]       # NTP servers: deploy/install.sh hands them to
                                        # systemd-timesyncd (else DHCP option 42, then Debian's)

A file holding a PIN or a SIP password must be readable by its owner only (chmod 600).
"""
from __future__ import annotations

import os
import ssl
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from firmware.cc.connection import UrlError, check_url
from firmware.sip import location
from firmware.sip.config import SipConfig
from firmware.sip.config import problems as sip_problems


class ConfigError(Exception):
    def __init__(self, path, field, problem):
        where = f"{path}: {field}" if field else str(path)
        super().__init__(f"{where}: {problem}")


DEFAULT_STATE_DIR = Path("var/state")
DEFAULT_PUBLIC_KEY = "keys/dev-ed25519.pub.pem"


@dataclass(frozen=True)
class UpdateConfig:
    """[update]: where the A/B slots live and when a trial slot may confirm itself."""
    root: Path
    public_key: Path = Path(DEFAULT_PUBLIC_KEY)
    require_sip: bool = False
    require_cc: bool = False


def default_update_root(state_dir: Path) -> Path:
    """The launcher tells the firmware its root; a phone started by hand looks in its state."""
    env = os.environ.get("HARDPHONE_UPDATE_ROOT")
    return Path(env) if env else state_dir / "update"


@dataclass(frozen=True)
class CcConfig:
    url: str
    cafile: Path | None = None
    agent: str | None = None
    pin: str | None = field(default=None, repr=False)


ALWAYS_EMERGENCY = ("911", "112")
EMERGENCY_CHARS = frozenset("0123456789*#+")


@dataclass(frozen=True)
class EmergencyConfig:
    """[emergency]: the numbers that reach emergency services, and where the desk is."""
    numbers: tuple[str, ...] = ALWAYS_EMERGENCY
    location: dict[str, str] | None = None       # RFC 5139 civic address; None: not set


@dataclass(frozen=True)
class TimeConfig:
    """[time]: whether the phone waits for a synchronized clock before it opens TLS links."""
    wait_for_sync: bool | None = None            # None: the board's backend decides
    sync_file: Path | None = Path("/run/systemd/timesync/synchronized")
    kernel_sync: bool = True
    servers: tuple[str, ...] = ()

    def waits(self, backend: str) -> bool:
        """A Raspberry Pi has no battery-backed clock; the sim boards run on the host's."""
        return self.wait_for_sync if self.wait_for_sync is not None else backend == "rpi"


@dataclass(frozen=True)
class Config:
    path: Path | None
    state_dir: Path
    console_port: str | None = None
    page_host: str | None = None
    page_port: int | None = None
    page_enabled: bool = True
    update: UpdateConfig = field(default_factory=lambda: UpdateConfig(
        root=default_update_root(DEFAULT_STATE_DIR)))
    cc: CcConfig | None = None
    sip: SipConfig | None = None
    emergency: EmergencyConfig = field(default_factory=EmergencyConfig)
    time: TimeConfig = field(default_factory=TimeConfig)


_SCHEMA: dict[str, dict[str, type | tuple[type, ...]]] = {
    "phone": {"state_dir": str},
    "console": {"port": str},
    "board_page": {"enabled": bool, "host": str, "port": int},
    "update": {"root": str, "public_key": str, "require_sip": bool, "require_cc": bool},
    "cc": {"url": str, "cafile": str, "agent": str, "pin": str},
    "sip": {"user": str, "password": str, "domain": str, "listen": str, "reg_interval": int,
            "direct_calls": bool, "max_calls": int, "transport": str, "cafile": str,
            "media": str, "dscp_sip": (str, int), "dscp_rtp": (str, int),
            "jitter_buffer_ms": int, "jitter_buffer_max_ms": int},
    "emergency": {"numbers": list, "location": dict},
    "time": {"wait_for_sync": bool, "sync_file": str, "kernel_sync": bool, "servers": list},
}
_REQUIRED = {"cc": ("url",), "sip": ("user", "domain")}
_SECRETS = (("cc", "pin"), ("sip", "password"))


def load_config(path: str | None) -> Config:
    if path is None:
        return Config(path=None, state_dir=DEFAULT_STATE_DIR)
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(p, None, "no such file") from None
    except IsADirectoryError:
        raise ConfigError(p, None, "is a directory, not a config file") from None
    except OSError as e:
        raise ConfigError(p, None, f"unreadable: {e.strerror or e}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(p, None, f"not valid TOML: {e}") from None
    for table, value in data.items():
        if table not in _SCHEMA:
            raise ConfigError(p, table, f"unknown section (known: {', '.join(_SCHEMA)})")
        if not isinstance(value, dict):
            raise ConfigError(p, table, "expected a table")
        for key, v in value.items():
            kind = _SCHEMA[table].get(key)
            if kind is None:
                raise ConfigError(p, f"{table}.{key}", "unknown field")
            # bool is an int subclass: `port = true` must not pass as a number
            kinds = kind if isinstance(kind, tuple) else (kind,)
            if not isinstance(v, kinds) or (isinstance(v, bool) and bool not in kinds):
                raise ConfigError(p, f"{table}.{key}", f"expected "
                                  f"{' or '.join(k.__name__ for k in kinds)}, got {v!r}")
    for table, names in _REQUIRED.items():
        for name in names:
            if table in data and name not in data[table]:
                raise ConfigError(p, f"{table}.{name}", "missing (required in this section)")
    if any(key in data.get(table, {}) for table, key in _SECRETS):
        mode = p.stat().st_mode & 0o777
        if mode & 0o077:
            raise ConfigError(p, None, f"holds credentials but is readable by others (mode "
                              f"{mode:o}); chmod 600 {p}")
    cc = data.get("cc")
    if cc is not None:
        cc = CcConfig(url=cc["url"], agent=cc.get("agent"), pin=cc.get("pin"),
                      cafile=p.parent / cc["cafile"] if "cafile" in cc else None)
        if (cc.agent is None) != (cc.pin is None):
            raise ConfigError(p, "cc", "agent and pin go together (or neither: typed at login)")
        try:
            check_url(cc.url)
        except UrlError as e:
            raise ConfigError(p, "cc.url", str(e)) from None
        if cc.cafile is not None:
            _check_cafile(p, cc.cafile)
    sip = data.get("sip")
    if sip is not None:
        if "cafile" in sip:
            sip["cafile"] = p.parent / sip["cafile"]      # relative to this file, as [cc]'s
        sip = SipConfig(**sip)
        problems = sip_problems(sip)
        if problems:
            name, why = problems[0]
            raise ConfigError(p, f"sip.{name}", why)
        if sip.cafile is not None:
            _check_cafile(p, sip.cafile, "sip.cafile")
    emergency = _emergency(p, data.get("emergency", {}))
    page_port = data.get("board_page", {}).get("port")
    if page_port is not None and not 0 <= page_port <= 65535:
        raise ConfigError(p, "board_page.port", f"must be 0-65535, got {page_port}")
    state_dir = Path(data.get("phone", {}).get("state_dir", DEFAULT_STATE_DIR))
    if not state_dir.is_absolute():
        state_dir = p.parent / state_dir
    update = data.get("update", {})
    root = Path(update["root"]) if "root" in update else default_update_root(state_dir)
    if "root" in update and not root.is_absolute():
        root = p.parent / root
    return Config(path=p, state_dir=state_dir,
                  console_port=data.get("console", {}).get("port"),
                  page_host=data.get("board_page", {}).get("host"),
                  page_port=page_port,
                  page_enabled=data.get("board_page", {}).get("enabled", True),
                  update=UpdateConfig(root=root,
                                      public_key=p.parent / update.get("public_key",
                                                                       DEFAULT_PUBLIC_KEY),
                                      require_sip=update.get("require_sip", False),
                                      require_cc=update.get("require_cc", False)),
                  cc=cc, sip=sip, emergency=emergency, time=_time(p, data.get("time", {})))


def _time(p: Path, table: dict) -> TimeConfig:
    servers = table.get("servers", [])
    for server in servers:
        if not (isinstance(server, str) and server and server.isprintable()
                and " " not in server and len(server) <= 253):
            raise ConfigError(p, "time.servers", f"{server!r}: not a host name or address")
    sync_file = table.get("sync_file")
    return TimeConfig(wait_for_sync=table.get("wait_for_sync"),
                      sync_file=(TimeConfig.sync_file if sync_file is None
                                 else p.parent / sync_file if sync_file else None),
                      kernel_sync=table.get("kernel_sync", True), servers=tuple(servers))


def _emergency(p: Path, table: dict) -> EmergencyConfig:
    numbers = list(ALWAYS_EMERGENCY)
    for number in table.get("numbers", []):
        if not (isinstance(number, str) and 0 < len(number) <= 15
                and set(number) <= EMERGENCY_CHARS):
            raise ConfigError(p, "emergency.numbers", f"{number!r}: a number is 1-15 of "
                              f"0-9 * # +")
        if number not in numbers:
            numbers.append(number)
    address = table.get("location")
    if address is not None:
        found = location.problems(address)
        if found:
            name, why = found[0]
            raise ConfigError(p, f"emergency.location.{name}", why)
    return EmergencyConfig(tuple(numbers), address)


def _check_cafile(p: Path, cafile: Path, name: str = "cc.cafile"):
    """The CA must load now: at connect time a bad one is only a link that never comes up."""
    try:
        ssl.create_default_context(cafile=str(cafile))
    except FileNotFoundError:
        raise ConfigError(p, name, f"{cafile}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(p, name, f"{cafile}: is a directory, not a PEM file") from None
    except ssl.SSLError:
        raise ConfigError(p, name, f"{cafile}: no PEM certificate in it") from None
    except OSError as e:
        raise ConfigError(p, name, f"{cafile}: unreadable: {e.strerror or e}") from None
