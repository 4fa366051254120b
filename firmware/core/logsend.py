"""Send logs: `Send logs` (the menu) uploads the phone's recent log to the server for the
administrator, redacted on the phone (firmware/app/logbook.py: no PIN, password, secure
variable or DTMF digit), in parts the server takes one at a time while the LCD counts them."""
from __future__ import annotations

from dataclasses import replace

from . import events as ev
from .effects import CcLogUpload, CollectLogs, Step
from .model import LogUpload, Model, with_notice
from .navigation import leave_menus

COLLECTING = "Collecting logs"
BUSY = "Logs already on their way"
NO_SERVER = "No server: logs not sent"


def start(m: Model) -> Step:
    m = leave_menus(m)
    if m.agent is None or m.links.cc != "up":
        return with_notice(m, NO_SERVER), ()
    if m.log_upload is not None:
        return with_notice(m, BUSY), ()
    upload = f"log-{int(m.now * 1000)}"
    return (with_notice(replace(m, log_upload=LogUpload(upload)), COLLECTING),
            (CollectLogs(upload),))


def progress(up: LogUpload) -> str:
    return f"Sending logs {100 * up.sent // max(1, len(up.parts))}%"


def _next(m: Model, up: LogUpload) -> Step:
    """The next part out, or the upload done."""
    if up.sent == len(up.parts):
        size = sum(len(p) for p in up.parts)
        return with_notice(replace(m, log_upload=None), f"Logs sent ({-(-size // 1024)} KB)"), ()
    part = up.sent + 1
    return (with_notice(replace(m, log_upload=up), progress(up)),
            (CcLogUpload(up.upload, part, len(up.parts), up.parts[part - 1]),))


def collected(m: Model, e: ev.LogsCollected) -> Step:
    up = m.log_upload
    if up is None or up.upload != e.upload or up.parts:
        return m, ()
    return _next(m, replace(up, parts=e.parts))


def acked(m: Model, e: ev.CcAcked) -> Step:
    up = m.log_upload
    if up is None or e.part != up.sent + 1:
        return m, ()
    return _next(m, replace(up, sent=e.part))


def refused(m: Model, e: ev.CcRefused) -> Step:
    return with_notice(replace(m, log_upload=None), f"Logs not sent: {e.message}"), ()
