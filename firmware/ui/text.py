"""Text for a 20-column character display: fitting, wrapping, timers, masked numbers."""
from __future__ import annotations

import textwrap

COLS = 20


def fit(text: str) -> str:
    return text[:COLS].ljust(COLS)


def split(left: str, right: str) -> str:
    """``left`` and ``right`` on one row, the left cut short if they don't both fit."""
    if not right:
        return fit(left)
    room = COLS - len(right) - 1
    return left[:room].ljust(room) + " " + right


def wrap(text: str, rows: int) -> list[str]:
    """``text`` over up to ``rows`` rows, broken between words."""
    return textwrap.wrap(text, COLS, max_lines=rows, placeholder="") or [""]


def timer(seconds: float) -> str:
    """mm:ss, or h:mm:ss from an hour on."""
    s = max(0, int(seconds))
    h, rest = divmod(s, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{s // 60:02d}:{s % 60:02d}"


def mask(number: str) -> str:
    """Only the last 4 digits of a caller's number (sensitive data protection)."""
    digits = [ch for ch in number if ch.isdigit()]
    if len(digits) <= 4:
        return number if not digits else "".join(digits)
    return "*" * (len(digits) - 4) + "".join(digits[-4:])
