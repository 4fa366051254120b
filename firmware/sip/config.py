"""The SIP account settings ([sip] in the phone's config). Stdlib only: the config loader
reads them without loading baresip."""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

# checked by problems(): the config file gives strings
Transport = Literal["udp", "tcp", "tls"]


@dataclass(frozen=True)
class SipConfig:
    user: str
    domain: str                    # registrar/proxy "host:port"
    password: str = field(default="", repr=False)
    listen: str = "0.0.0.0:5060"   # our SIP address; baresip also takes PORT+1 for TLS
    reg_interval: int = 60
    transport: Transport = "udp"   # "tls" in production; "udp"/"tcp" with a loopback registrar only
    cafile: Path | None = None     # the proxy's CA for TLS (default: the system's); always verified
    media: str = "rtp"             # "srtp": calls without SRTP are refused (production: mandatory)
    rtp_timeout: int = 10          # s without RTP before a call is declared dead (not while held)
    direct_calls: bool = False     # True: take SIP from anyone, not only the proxy (sip/guard.py)
    max_calls: int = 8             # calls held at once (ringing and up); more get 486
    # DiffServ marks, so the network queues voice first: a class name or a number 0-63
    dscp_sip: str | int = "CS3"    # signalling (RFC 4594)
    dscp_rtp: str | int = "EF"     # voice: expedited forwarding (RFC 3246)
    # received audio waits this long in the jitter buffer before it plays: baresip's own
    # 100 ms is cut to 30, which still rides out 20 ms of jitter with no packet too late
    # (python -m tools.bench latency; 20 let 1.4% through late) ...
    jitter_buffer_ms: int = 30
    # ... and on a worse network the wait grows as packets come late, up to this (adaptive:
    # baresip's jbuf sets it to twice the jitter it measures after 3 late packets); None:
    # JITTER_BUFFER_MAX_MS (or jitter_buffer_ms, if longer); equal to jitter_buffer_ms: fixed
    jitter_buffer_max_ms: int | None = None

    @property
    def jitter_buffer_limit_ms(self) -> int:
        """How long the playout delay may grow to (jitter_buffer_max_ms or its default)."""
        if self.jitter_buffer_max_ms is not None:
            return self.jitter_buffer_max_ms
        return max(JITTER_BUFFER_MAX_MS, self.jitter_buffer_ms)


# -- the config file's [sip] fields, checked before the stack sees them: a bad value otherwise
# only shows later as a stack that never starts or never registers ----------------------------
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_USER_BAD = set('<>"@:;/?# ')            # they end or re-route the SIP address the user goes in
REG_INTERVAL_MAX = 86400
MAX_CALLS_MAX = 100
JITTER_BUFFER_MS = (20, 1000)
JITTER_BUFFER_MAX_MS = 160      # the adaptive delay's ceiling unless [sip] jitter_buffer_max_ms


def problems(c: SipConfig) -> list[tuple[str, str]]:
    """(field, why) for each [sip] field the stack could not use."""
    out = []
    if not c.user or any(ch in _USER_BAD or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in c.user):
        out.append(("user", f"not a SIP user name: {c.user!r}"))
    why = _address_problem(c.domain, ip_only=False)
    if why:
        out.append(("domain", f"{why} (host or host:port), got {c.domain!r}"))
    why = _address_problem(c.listen, ip_only=True, need_port=True, top_port=65534)
    if why:
        out.append(("listen", f"{why} (IP:port; the stack also takes port+1), got {c.listen!r}"))
    if not 1 <= c.reg_interval <= REG_INTERVAL_MAX:
        out.append(("reg_interval", f"must be 1-{REG_INTERVAL_MAX} s, got {c.reg_interval}"))
    if not 1 <= c.max_calls <= MAX_CALLS_MAX:
        out.append(("max_calls", f"must be 1-{MAX_CALLS_MAX}, got {c.max_calls}"))
    low, high = JITTER_BUFFER_MS
    if not low <= c.jitter_buffer_ms <= high:
        out.append(("jitter_buffer_ms", f"must be {low}-{high} ms, got {c.jitter_buffer_ms}"))
    if not c.jitter_buffer_ms <= c.jitter_buffer_limit_ms <= high:
        out.append(("jitter_buffer_max_ms", f"must be jitter_buffer_ms ({c.jitter_buffer_ms}) "
                                            f"to {high} ms, got {c.jitter_buffer_max_ms}"))
    for name in ("dscp_sip", "dscp_rtp"):
        value = getattr(c, name)
        if dscp(value) is None:
            out.append((name, f"not a DSCP: a class name (CS0-CS7, AF11-AF43, EF, DF) or "
                              f"0-63, got {value!r}"))
    return out + _security_problems(c)


# DiffServ class names -> code points: CSn = 8n (RFC 2474), AFxy = 8x + 2y (RFC 2597),
# EF = 46 (RFC 3246), DF = 0 (best effort)
DSCP_CLASSES = ({"DF": 0, "EF": 46} | {f"CS{n}": 8 * n for n in range(8)}
                | {f"AF{x}{y}": 8 * x + 2 * y for x in range(1, 5) for y in range(1, 4)})


def dscp(value: str | int) -> int | None:
    """The code point a [sip] dscp_* value names ("EF", "af41", 46, "46"); None if none."""
    if isinstance(value, bool):             # an int subclass: `dscp_rtp = true` is no mark
        return None
    if isinstance(value, str):
        text = value.strip().upper()
        if text in DSCP_CLASSES:
            return DSCP_CLASSES[text]
        if not (text.isascii() and text.isdigit()):
            return None
        value = int(text)
    return value if isinstance(value, int) and 0 <= value <= 63 else None


def tos(value: str | int) -> int:
    """The IPv4 TOS byte (IPv6 traffic class) for a DSCP that problems() has passed: the
    DSCP is its upper six bits, ECN the lower two, left to the kernel."""
    point = dscp(value)
    if point is None:
        raise ValueError(f"not a DSCP: {value!r}")
    return point << 2


TRANSPORTS: tuple[Transport, ...] = get_args(Transport)
MEDIA = ("rtp", "srtp")


def _security_problems(c: SipConfig) -> list[tuple[str, str]]:
    """Calls carry card numbers: SIP over TLS with SRTP, unless the registrar is on this
    machine (as ws:// is for the contact-center link)."""
    if c.transport not in TRANSPORTS:
        return [("transport", f'must be "tls" (or "udp"/"tcp" on loopback), got {c.transport!r}')]
    if c.media not in MEDIA:
        return [("media", f'must be "srtp" (or "rtp" on loopback), got {c.media!r}')]
    host = split_host_port(c.domain)[0]
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    loopback = host == "localhost" or (ip is not None and ip.is_loopback)
    out = []
    if c.transport != "tls" and not loopback:
        out.append(("transport", f'SIP over {c.transport} is unencrypted and allowed with a '
                                 f'loopback registrar only; use "tls"'))
    if c.media != "srtp" and not loopback:
        out.append(("media", 'plain RTP is allowed with a loopback registrar only; use "srtp"'))
    if c.media == "srtp" and c.transport != "tls":
        out.append(("media", 'srtp needs transport = "tls" (its keys travel in the SIP '
                             'messages)'))
    if c.cafile is not None and c.transport != "tls":
        out.append(("cafile", 'only used with transport = "tls"'))
    if c.cafile is not None and any(ord(ch) < 0x20 or ch == '"' for ch in str(c.cafile)):
        # it becomes a quoted value on a line of the stack's config
        out.append(("cafile", 'a path with control characters or " cannot be used'))
    if c.transport == "tls" and ip is not None and not loopback:
        # the stack checks a certificate's name against a host name, but not against an
        # IP address: with an address any certificate the CA signed would pass
        out.append(("domain", f"TLS verifies the proxy by its host name: use the name, not "
                              f"the address {host}"))
    return out


def split_host_port(domain: str) -> tuple[str, int | None]:
    """'pbx.example.com:5060' -> ('pbx.example.com', 5060); '[::1]:5062' -> ('::1', 5062);
    a bare host -> (host, None). For a ``domain`` problems() has passed."""
    if domain.startswith("["):
        host, _, rest = domain[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else None
    if domain.count(":") == 1:
        host, port = domain.split(":")
        return host, int(port)
    return domain, None


def _address_problem(text: str, *, ip_only: bool, need_port: bool = False,
                     top_port: int = 65535) -> str | None:
    """Why ``text`` is not host[:port] ([v6] in brackets); None when it is."""
    host, port = text, None
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            return "not an address"
        port = rest[1:] if rest else None
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return "not an IPv6 address"
    else:
        if text.count(":") == 1:
            host, port = text.split(":")
        if ip_only:
            try:
                ipaddress.IPv4Address(host)
            except ValueError:
                return "not an IP address"
        elif not _is_host(host):
            return "not a host name or address"
    if port is None:
        return "needs a port" if need_port else None
    if not port.isascii() or not port.isdigit() or not 1 <= int(port) <= top_port:
        return f"port must be 1-{top_port}"
    return None


def _is_host(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
        return True
    except ValueError:
        pass
    labels = host.rstrip(".").split(".") if host else []
    return bool(labels) and len(host) <= 253 and all(_HOST_LABEL.match(x) for x in labels)


def jitter_buffer_text(ms: int, max_ms: int | None = None) -> str:
    """The stack's config lines for a playout delay of ``ms`` that grows up to ``max_ms`` as
    packets come late (adaptive), or stays at ``ms`` (fixed: no ``max_ms``, or the same; past
    200 ms, or the delay, of backlog the buffer then drops the oldest rather than let the
    delay grow). baresip's own default is a fixed 100 ms."""
    if max_ms is not None and max_ms > ms:
        return f"audio_jitter_buffer_type adaptive\naudio_jitter_buffer_ms {ms}-{max_ms}\n"
    return f"audio_jitter_buffer_type fixed\naudio_jitter_buffer_ms {ms}-{max(200, ms)}\n"


# -- the call's audio format ----------------------------------------------------------------
# Offered in this order: wideband first when the board's audio runs at 16 kHz or more (G.722,
# then Opus), narrowband (G.711) always, so any peer can still call. Names as the stack's
# Account takes them: a bare name is 8 kHz, others need name/rate/channels.
NARROWBAND_CODECS = ("pcmu", "pcma")
WIDEBAND_CODECS = ("g722/16000/1", "opus/48000/2")
WIDEBAND_RATE = 16000


def audio_codecs(rate: int) -> tuple[str, ...]:
    """The codecs a phone whose audio runs at ``rate`` Hz offers, preferred first."""
    return (WIDEBAND_CODECS if rate >= WIDEBAND_RATE else ()) + NARROWBAND_CODECS


def audio_format_text(rate: int) -> str:
    """The stack's config lines for a call's audio taps at ``rate`` Hz mono whatever the codec.
    The stack resamples what the phone sends; what it receives comes out of the tap at the
    codec's own rate and channels all the same (baresip-python 0.5.2a3: PCMU at 8 kHz, Opus
    at 48 kHz stereo, though the tap's info says ``rate``), which sip/decoded.py converts.
    (``opus_stereo no`` makes the stack lose "opus/48000/2": not set.)"""
    return f"ausrc_srate {rate}\nauplay_srate {rate}\nausrc_channels 1\nauplay_channels 1\n"
