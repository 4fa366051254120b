"""Reporting a call that sounded bad: `Report call` (a call's or a wrap-up's More, or the menu
for the last call) asks what was wrong, then sends the report with the phone's own figures
for that call (firmware/sip/quality.py: packets lost, jitter, late packets, a MOS estimate),
which the server keeps for the administrator."""
from __future__ import annotations

from dataclasses import dataclass

from . import events as ev
from .effects import CcQualityReport, MeasureCall, Step
from .form import Field, FieldKind, Purpose, Submitted
from .forms import ON_SUBMIT, open_form
from .model import Model, with_notice
from .navigation import in_view, leave_menus

TITLE = "Report call"
# what the agent heard (cc protocol QUALITY_PROBLEMS)
PROBLEMS = (("choppy", "Choppy"), ("echo", "Echo"), ("noise", "Noise"),
            ("one_way", "One way"), ("delay", "Delay"), ("other", "Other"))
NO_SERVER = "No server: report not sent"
NO_FIGURES = "No figures for that call"
SENDING = "Sending report"
SENT = "Report sent"


@dataclass(frozen=True)
class QualityFor(Purpose):
    call: str           # "": the last call that ended
    contact: str


def open_report(m: Model) -> Step:
    """The report of the call in view, or of the last one (from the wrap-up or the menu)."""
    call, contact = in_view(m)
    m = leave_menus(m)
    if m.links.cc != "up":
        return with_notice(m, NO_SERVER), ()
    field = Field("problem", "Problem", FieldKind.CHOICE, required=True, choices=PROBLEMS,
                  initial=PROBLEMS[0][0])
    return open_form(m, QualityFor(call, contact), TITLE, (field,)), ()


def save(m: Model, p: QualityFor, values: Submitted) -> Step:
    return with_notice(m, SENDING), (MeasureCall(p.call, p.contact, values["problem"]),)


ON_SUBMIT[QualityFor] = save


def measured(m: Model, e: ev.CallMeasured) -> Step:
    if e.quality is None:
        return with_notice(m, NO_FIGURES), ()
    return m, (CcQualityReport(e.problem, e.quality, e.contact),)


def acked(m: Model, _e: ev.CcAcked) -> Step:
    return with_notice(m, SENT), ()


def refused(m: Model, e: ev.CcRefused) -> Step:
    return with_notice(m, f"Report not sent: {e.message}"), ()
