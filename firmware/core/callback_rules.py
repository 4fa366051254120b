"""A scheduled callback's rules (docs/cc-protocol.md, "Callbacks"), checked by the phone as the
agent types and by the server again on the request. Both ends use this module, so a field the
server refuses reads on the LCD in the very words of the phone's own check and the two can't
drift apart. The limits are the server's (protocol.CallbackRules, sent in the snapshot); the
time is the server's clock (the phone adds the snapshot's skew to its own).

A problem is a code (WORDS' keys), kept per field: "number", "name", "date", "start", "end",
"tz", "queue", "reason", "assignee". Pure, and typed by shape: the protocol's CallbackRules and
CallbackDraft (ccsim) and the phone's own (events.py) both fit.
"""
from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

FIELDS = ("number", "name", "date", "start", "end", "tz", "queue", "reason", "assignee")
NUMBER_CHARS = re.compile(r"[0-9+ ,.\-]*")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
HHMM = re.compile(r"\d{2}:\d{2}")

# each rule's words, as the LCD shows them under the field ({...}: the server's limits)
WORDS = {
    "required": "required",
    "number_chars": "digits + - , . only",
    "number_short": "at least {number_min} characters",
    "number_long": "at most {number_max} characters",
    "name_short": "at least {name_min} characters",
    "name_long": "at most {name_max} characters",
    "not_a_date": "not a date",
    "not_a_time": "not a time",
    "not_a_zone": "no such time zone",
    "dst_gap": "not a time there (DST)",
    "too_soon": "at least {lead_min} from now",
    "too_late": "at most {lead_max} ahead",
    "end_before_start": "ends before it starts",
    "queue_unknown": "not a queue you can use",
    "queue_inactive": "queue not active",
    "reason_long": "at most {reason_max} characters",
    "assignee_unknown": "not in your team",
    "campaign_contact": "not for a campaign call",
}


class CallbackRules(Protocol):
    """The server's limits (protocol.CallbackRules)."""
    @property
    def number_min(self) -> int: ...
    @property
    def number_max(self) -> int: ...
    @property
    def name_min(self) -> int: ...
    @property
    def name_max(self) -> int: ...
    @property
    def lead_min_s(self) -> int: ...
    @property
    def lead_max_s(self) -> int: ...
    @property
    def reason_max(self) -> int: ...


class CallbackDraft(Protocol):
    """What the agent typed (protocol.CallbackDraft)."""
    @property
    def number(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def date(self) -> str: ...
    @property
    def start(self) -> str: ...
    @property
    def end(self) -> str: ...
    @property
    def tz(self) -> str: ...
    @property
    def queue(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def assignee(self) -> str: ...


class Problem(ValueError):
    """A field's rule broken: ``field`` and ``code`` (WORDS)."""

    def __init__(self, field: str, code: str):
        super().__init__(f"{field}: {code}")
        self.field, self.code = field, code


def words(code: str, rules: CallbackRules) -> str:
    """The rule in the agent's words, with the server's numbers in it."""
    text = WORDS.get(code, code)
    return text.format(number_min=rules.number_min, number_max=rules.number_max,
                       name_min=rules.name_min, name_max=rules.name_max,
                       reason_max=rules.reason_max, lead_min=span(rules.lead_min_s),
                       lead_max=span(rules.lead_max_s))


def span(seconds: int) -> str:
    """30 min, 2 h, 31 days: a lead time as the rule says it."""
    if seconds % 86400 == 0:
        return f"{seconds // 86400} days" if seconds != 86400 else "1 day"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{max(1, seconds // 60)} min"


def number_problem(number: str, rules: CallbackRules) -> str:
    if not number.strip():
        return "required"
    if not NUMBER_CHARS.fullmatch(number):
        return "number_chars"
    if len(number) < rules.number_min:
        return "number_short"
    return "number_long" if len(number) > rules.number_max else ""


def name_problem(name: str, rules: CallbackRules) -> str:
    if not name.strip():
        return "required"
    if len(name) < rules.name_min:
        return "name_short"
    return "name_long" if len(name) > rules.name_max else ""


def reason_problem(reason: str, rules: CallbackRules) -> str:
    return "reason_long" if len(reason) > rules.reason_max else ""


def zone(tz: str) -> ZoneInfo | None:
    """The IANA zone named ``tz`` (None: no such zone; paths and odd names never load)."""
    if not tz or tz not in zones():
        return None
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return None


_ZONES: frozenset[str] = frozenset()


def zones() -> frozenset[str]:
    """Every IANA zone this system knows (the time zone list the agent searches)."""
    global _ZONES
    if not _ZONES:
        _ZONES = frozenset(available_timezones())
    return _ZONES


def local_time(date: str, hhmm: str, tz: ZoneInfo, field: str) -> float:
    """``date`` at ``hhmm`` in ``tz`` as a timestamp; a time the clocks skip there (a DST gap)
    is a Problem, an ambiguous one (clocks back) its first occurrence."""
    try:
        naive = datetime.fromisoformat(f"{date}T{hhmm}")
    except ValueError:
        raise Problem(field, "not_a_time") from None
    at = naive.replace(tzinfo=tz)
    back = datetime.fromtimestamp(at.timestamp(), tz).replace(tzinfo=None)
    if back != naive:
        raise Problem(field, "dst_gap")
    return at.astimezone(UTC).timestamp()


def problems(d: CallbackDraft, rules: CallbackRules, now: float,
             queues: Collection[str] | None = None,
             team: Collection[str] | None = None) -> dict[str, str]:
    """Every field's broken rule ({} when the draft may be scheduled). ``now``: the server's
    clock; ``queues`` / ``team``: the queue ids and agent ids the agent may use (None: not
    checked here)."""
    out: dict[str, str] = {}
    for name, code in (("number", number_problem(d.number, rules)),
                       ("name", name_problem(d.name, rules)),
                       ("reason", reason_problem(d.reason, rules))):
        if code:
            out[name] = code
    if not d.queue:
        out["queue"] = "required"
    elif queues is not None and d.queue not in queues:
        out["queue"] = "queue_unknown"
    if d.assignee and team is not None and d.assignee not in team:
        out["assignee"] = "assignee_unknown"
    try:
        start, _end = window(d)
    except Problem as p:
        out[p.field] = p.code
        return out
    if start < now + rules.lead_min_s:
        out["start"] = "too_soon"
    elif start > now + rules.lead_max_s:
        out["start"] = "too_late"
    return out


def window(d: CallbackDraft) -> tuple[float, float]:
    """The window's start and end (timestamps) from the customer's local date, times and zone;
    a Problem names the first field in the way."""
    if not d.tz:
        raise Problem("tz", "required")
    tz = zone(d.tz)
    if tz is None:
        raise Problem("tz", "not_a_zone")
    if not d.date:
        raise Problem("date", "required")
    if not DATE.fullmatch(d.date):
        raise Problem("date", "not_a_date")
    try:
        date.fromisoformat(d.date)
    except ValueError:
        raise Problem("date", "not_a_date") from None
    for field, value in (("start", d.start), ("end", d.end)):
        if not value:
            raise Problem(field, "required")
        if not HHMM.fullmatch(value):
            raise Problem(field, "not_a_time")
    start = local_time(d.date, d.start, tz, "start")
    end = local_time(d.date, d.end, tz, "end")
    if end <= start:
        raise Problem("end", "end_before_start")
    return start, end
