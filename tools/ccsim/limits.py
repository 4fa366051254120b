"""What a new contact may hold (docs/cc-protocol.md, "Field limits"), checked before anything
changes: a contact the admin API refuses leaves no trace, and one it takes always fits in a
frame the phone reads (a snapshot carries at most protocol.MAX_OFFERS of them)."""
from __future__ import annotations

import math
import unicodedata

import msgspec

from firmware.cc import protocol as p

MAX_TALK_S = 24 * 3600.0
# room for what the server adds to the admin's data: id, status, times, and any later field
_SERVER_FIELDS_BYTES = 1024


def text_problem(name: str, value, limit: int, *, empty: bool = True) -> str | None:
    """Why ``value`` can't be a text field of at most ``limit`` characters, or None."""
    if not isinstance(value, str):
        return f"{name}: expected a string"
    if len(value) > limit:
        return f"{name}: at most {limit} characters, got {len(value)}"
    if not value and not empty:
        return f"{name}: must not be empty"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return f"{name}: not valid Unicode (a lone surrogate)"
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        return f"{name}: control characters are not allowed"
    return None


def contact_problem(queue, ani, variables, talk_s) -> str | None:
    """Why these can't make a contact, or None. Types are checked too: the body is JSON."""
    problem = (text_problem("queue", queue, p.MAX_QUEUE_CHARS, empty=False)
               or text_problem("ani", ani, p.MAX_ANI_CHARS))
    if problem:
        return problem
    if not isinstance(variables, dict):
        return "variables: expected an object of strings"
    if len(variables) > p.MAX_VARIABLES:
        return f"variables: at most {p.MAX_VARIABLES}, got {len(variables)}"
    for name, value in variables.items():
        problem = text_problem("variables: a name", name, p.MAX_VARIABLE_NAME_CHARS, empty=False)
        if problem is None and not isinstance(value, str):
            problem = "variables: expected an object of strings"
        problem = problem or text_problem(f"variables.{name}", value, p.MAX_VARIABLE_VALUE_CHARS)
        if problem:
            return problem
    if talk_s is not None and (isinstance(talk_s, bool) or not isinstance(talk_s, (int, float))
                               or not 0 < talk_s <= MAX_TALK_S or not math.isfinite(talk_s)):
        return f"talk_s: expected a number of seconds > 0 and <= {MAX_TALK_S:.0f}"
    size = len(msgspec.json.encode({"queue": queue, "ani": ani, "variables": variables}))
    if size > p.MAX_CONTACT_BYTES - _SERVER_FIELDS_BYTES:
        return (f"the contact is {size} bytes as JSON; at most "
                f"{p.MAX_CONTACT_BYTES - _SERVER_FIELDS_BYTES}")
    return None
