"""The SIP account settings ([sip] in the phone's config). Stdlib only: the config loader
reads them without loading baresip."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SipConfig:
    user: str
    domain: str                    # registrar/proxy "host:port"
    password: str = field(default="", repr=False)
    listen: str = "0.0.0.0:5060"   # our SIP address; baresip also takes PORT+1 for TLS
    reg_interval: int = 60
    transport: str = "udp"
    rtp_timeout: int = 10          # s without RTP before a call is declared dead (not while held)
