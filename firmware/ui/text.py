"""Text for a character display ``cols`` wide: fitting, wrapping, cells, timers, masked numbers.

The width is the board's (Model.info.display): nothing here assumes a panel size.
"""
from __future__ import annotations

import textwrap
from collections.abc import Sequence


def fit(text: str, cols: int) -> str:
    return text[:cols].ljust(cols)


def split(left: str, right: str, cols: int) -> str:
    """``left`` and ``right`` on one row, the left cut short if they don't both fit."""
    if not right:
        return fit(left, cols)
    room = cols - len(right) - 1
    return left[:room].ljust(room) + " " + right


def wrap(text: str, cols: int, rows: int) -> list[str]:
    """``text`` over up to ``rows`` rows, broken between words."""
    return textwrap.wrap(text, cols, max_lines=rows, placeholder="") or [""]


def cells(lines: Sequence[str], cols: int, per_row: int) -> list[str]:
    """``lines`` side by side, ``per_row`` to a row of ``cols``, in reading order; each cell
    is cut a column short of the next so that neighbours never run together."""
    width = cols // per_row
    rows = []
    for i in range(0, len(lines), per_row):
        group = lines[i:i + per_row]
        row = "".join(fit(line[:width - 1], width) for line in group[:-1]) + group[-1]
        rows.append(fit(row, cols))
    return rows


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
