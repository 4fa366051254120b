"""The phone's recent log, kept in memory for "Send logs to the administrator".

``RecentLog`` keeps the newest lines, bounded by a line count and a character budget, as
``logging`` hands them over (from the loop, baresip's threads and the sim room's). What leaves
the phone goes through ``redact`` first (the PIN, the SIP password, secure variable values,
DTMF digits, card numbers), then ``parts`` cuts it to the protocol's part size.
"""
from __future__ import annotations

import logging
import re
import threading
from collections import deque
from collections.abc import Iterable

MAX_LINES = 5000
MAX_CHARS = 512 * 1024
MASK = "***"
MIN_SECRET = 3          # shorter literals would mask half the log ("1" is in every time stamp)

_FORMAT = "%(asctime)s.%(msecs)03d %(levelname)s %(name)s: %(message)s"
_DATE = "%Y-%m-%dT%H:%M:%S"

# key names whose values are secrets; a prefix ending in _ or - counts ("sip_password",
# "X-CC-Token", "Proxy-Authorization"), a word merely containing one does not ("spin", "mapping")
_KEY = r"(?<![\w-])(?:[\w-]*[_-])?(?:authorization|password|passwd|secret|session|token|pin|auth)"
_DIGIT = r"[0-9*#A-D]"  # what a DTMF key sends

# (pattern, replacement), applied in order after the literal secrets
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # an Authorization header: its value has spaces ("Digest username=.., response=..",
    # "Bearer x"), so all of the rest of the line goes
    (re.compile(r"(?i)(?P<head>(?<![\w-])(?:[\w-]*[_-])?authorization[ \t]*[:=][ \t]*)"
                r"(?![\"'])[^\r\n]+"), r"\g<head>" + MASK),
    # key=value, key: value, "key": "value", key='value' (a dataclass repr), in any case; a
    # quoted value up to its quote, a bare one up to a space or a separator (&, ;, ...)
    (re.compile(rf"(?i)(?P<head>[\"']?{_KEY}[\"']?[ \t]*[:=][ \t]*(?P<q>[\"'])?)"
                r"(?(q)[^\"'\r\n]*|[^\s,;&\"')\]}]+)"), r"\g<head>" + MASK),
    # SRTP master keys in an SDP (a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:<key>)
    (re.compile(r"(?P<head>\binline:)[^\s|]+"), r"\g<head>" + MASK),
    # DTMF as logged: "dtmf 1234#", "DTMF=5", "dtmf digits: 4111", baresip's "send DTMF digit:
    # '5'" and "received SIP INFO DTMF: '5'"; up to three words between, the word kept
    (re.compile(rf"(?P<head>(?i:dtmf)(?:[ \t]+[A-Za-z-]+){{0,3}}[ \t]*[:=]?[ \t]*[\"']?)"
                rf"{_DIGIT}(?:[ ,]?{_DIGIT})*(?!\w)"), r"\g<head>" + MASK),
    # DTMF in a SIP INFO body (application/dtmf-relay)
    (re.compile(r"(?P<head>(?<![\w-])Signal[ \t]*=[ \t]*)[0-9*#A-Da-d]+"),
     r"\g<head>" + MASK),
    # card numbers: 13 to 19 digits, single spaces or dashes between allowed, not part of a
    # longer run; phone numbers (at most 12 digits) stay: the administrator needs them
    (re.compile(r"(?<!\d)(?<!\d[ -])\d(?:[ -]?\d){12,18}(?![ -]?\d)"), MASK),
)


class RecentLog(logging.Handler):
    """The newest formatted lines, oldest first; a record of several lines (a traceback)
    counts each. Thread-safe: records arrive on any thread, ``text`` is read on another."""

    def __init__(self, max_lines: int = MAX_LINES, max_chars: int = MAX_CHARS):
        super().__init__()
        self.setFormatter(logging.Formatter(_FORMAT, _DATE))
        self.max_lines = max_lines
        self.max_chars = max_chars
        self._lines: deque[str] = deque()
        self._chars = 0                     # len(line) + 1 (its newline) each
        self._guard = threading.Lock()      # not Handler.lock: text() is no handler call

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)      # outside the guard: formatting takes time
        except Exception:                   # noqa: BLE001 - logging's own report, as its handlers do
            self.handleError(record)
            return
        with self._guard:
            for line in text.splitlines() or [""]:
                line = line[:self.max_chars - 1]          # one huge line still fits, cut
                self._lines.append(line)
                self._chars += len(line) + 1
            while self._lines and (len(self._lines) > self.max_lines
                                   or self._chars > self.max_chars):
                self._chars -= len(self._lines.popleft()) + 1

    def text(self) -> str:
        with self._guard:
            return "\n".join(self._lines)


def install(root: logging.Logger | None = None) -> RecentLog:
    """Add a RecentLog to ``root`` (the "hardphone" logger by default), or return the one it
    has already."""
    logger = root if root is not None else logging.getLogger("hardphone")
    for handler in logger.handlers:
        if isinstance(handler, RecentLog):
            return handler
    handler = RecentLog()
    logger.addHandler(handler)
    return handler


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every secret masked as ``***``: the literals in ``secrets`` (the PIN,
    the SIP password, secure variable values seen), then the values _RULES find."""
    literals = sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len, reverse=True)
    if literals:        # longest first: a secret inside another is masked with it, whole
        text = re.sub("|".join(map(re.escape, literals)), MASK, text)
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def parts(text: str, size: int) -> list[str]:
    """``text`` in pieces of at most ``size`` characters that join back to it, cut between
    lines where a line fits (a longer one is cut inside); one empty part for no text."""
    if size < 1:
        raise ValueError(f"part size {size} < 1")
    out: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > size:
            if current:
                out.append(current)
                current = ""
            out.append(line[:size])
            line = line[size:]
        if len(current) + len(line) > size:
            out.append(current)
            current = ""
        current += line
    if current or not out:
        out.append(current)
    return out
