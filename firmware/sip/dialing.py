"""What the phone dials, and why a placed call did not go through: pure rules, no stack.

A number typed or picked becomes ``sip:<number>@<registrar domain>`` (the proxy routes it: a
registered user, or onward); a ``sip:`` URI is dialed as given (``sips:`` with TLS only). The
far end's final answer to the INVITE becomes the short reason the agent reads ("busy (486)").

Only URIs the stack can send get to it: baresip-python 0.5.2a3 corrupts its heap when it
refuses a dial (a ``sips:`` URI without TLS, ``transport=sctp``: the process aborts later).
"""
from __future__ import annotations

import re
import string

MAX_NUMBER = 64              # more than any E.164 number, extension or agent name
# digits and what a dial pad adds (* # +), and names (an agent or extension by name): the
# characters a SIP user part holds without quoting, bar those that re-route it (; ? / : @)
NUMBER_CHARS = frozenset(string.ascii_letters + string.digits + "*#+-._~")
_URI_BAD = re.compile(r'[\x00-\x20\x7f<>"]')     # they end the URI inside the INVITE
_STATUS = re.compile(r"(\d{3})\b")
_TRANSPORT = re.compile(r";\s*transport\s*=\s*([^;?>]*)", re.IGNORECASE)
_ERRNO = re.compile(r"(\D.*?) \[\d+\]")     # "Connection refused [111]": no SIP answer at all
TRANSPORTS = ("udp", "tcp", "tls")

# the far end's final answer -> what the agent reads (the code stays, for the log and support)
_FAILURES = {
    404: "not found", 604: "not found", 410: "not found",
    486: "busy", 600: "busy",
    603: "declined",
    408: "no answer", 480: "unavailable",
    484: "incomplete number", 485: "ambiguous number",
    403: "not allowed", 401: "not allowed", 407: "not allowed",
    488: "media not accepted", 606: "not accepted",
    503: "service unavailable",
}


def dial_uri(target: str, domain: str, transport: str = "udp") -> str:
    """The request URI for ``target``: a number (or extension, or agent name) becomes a user at
    the registrar's ``domain``, sent over the account's ``transport``; a SIP URI passes as it
    is. Raises ValueError, naming the problem, for anything that cannot be dialed."""
    if not isinstance(target, str) or not target:
        raise ValueError("nothing to dial: the number is empty")
    if target.lower().startswith(("sip:", "sips:")):
        bad = _URI_BAD.search(target)
        if bad or not target.partition(":")[2]:
            raise ValueError(f"not a SIP URI that can be dialed: {target[:80]!r}"
                             + (f" ({bad.group()!r} cannot be in it)" if bad else ""))
        if target.lower().startswith("sips:") and transport != "tls":
            raise ValueError(f"cannot dial {target[:80]!r}: sips: needs SIP over TLS "
                             f"(the account uses {transport})")
        for named in _TRANSPORT.findall(target):
            if named.strip().lower() not in TRANSPORTS:
                raise ValueError(f"cannot dial {target[:80]!r}: transport {named!r} "
                                 f"(only {', '.join(TRANSPORTS)})")
        return target
    if len(target) > MAX_NUMBER:
        raise ValueError(f"number too long: {len(target)} characters (at most {MAX_NUMBER})")
    bad_chars = sorted({ch for ch in target if ch not in NUMBER_CHARS})
    if bad_chars:
        raise ValueError(f"cannot dial {target!r}: {''.join(bad_chars)!r} cannot be in a SIP "
                         f"number (0-9 * # + letters - . _ ~)")
    user = target.replace("#", "%23")          # '#' only travels escaped in a SIP URI
    return f"sip:{user}@{domain}" + ("" if transport == "udp" else f";transport={transport}")


def failure_reason(text: str) -> str:
    """Why a placed call ended before it was answered, from the stack's close text
    ("486 Busy Here" -> "busy (486)"); a text without a status passes as it is."""
    text = text.strip()
    match = _STATUS.match(text)
    if not match:
        errno = _ERRNO.fullmatch(text)
        return f"unreachable ({errno.group(1)})" if errno else text or "failed"
    code = int(match.group(1))
    words = _FAILURES.get(code)
    return f"{words} ({code})" if words else text
