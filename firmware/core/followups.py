"""Follow-ups: a reminder with a date, a time and a note (`More` -> `Follow-up` on a call or
in wrap-up, about that contact; `Menu` -> `Follow-up`), kept by the server, which brings it
back at its time: the phone shows it (FollowUpScreen) until the agent presses OK. The time is
typed in the phone's local time and checked against the server's clock (the snapshot's skew),
as the server checks it again."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from . import events as ev
from .effects import CcFollowUpDone, CcScheduleFollowUp, Step
from .form import Field, FieldKind, Purpose, Submitted
from .forms import ON_SUBMIT, open_form
from .model import FollowUpScreen, Model, with_notice
from .navigation import in_view, leave_menus, pop

TITLE = "Follow-up"
NOTE_MAX = 250            # the server's limit (cc protocol FOLLOW_UP_NOTE_MAX)
MAX_DAYS = 90             # ... and how far ahead (FOLLOW_UP_MAX_DAYS)
NO_SERVER = "No server: follow-up not set"
IN_THE_PAST = "Time: not in the future"
TOO_FAR = f"Date: at most {MAX_DAYS} days ahead"


@dataclass(frozen=True)
class FollowUpFor(Purpose):
    contact: str


def open_follow_up(m: Model, draft: tuple[str, str, str] = ("", "", ""),
                   contact: str | None = None, note: str = "") -> Step:
    """The form, empty or with a refused draft (date, time, note) and why."""
    about = in_view(m)[1] if contact is None else contact
    m = leave_menus(m)
    if m.agent is None:
        return m, ()
    date, time, text = draft
    m = open_form(m, FollowUpFor(about), TITLE, (
        Field("date", "Date", FieldKind.DATE, required=True, initial=date),
        Field("time", "Time", FieldKind.TIME, required=True, initial=time),
        Field("note", "Note", FieldKind.TEXT, required=True, max_len=NOTE_MAX, initial=text)))
    return (with_notice(m, note) if note else m), ()


def server_time(m: Model, date: str, time: str) -> float:
    """The typed local date and time on the server's clock, to the whole second: the skew is
    an estimate a few ms off, and 10:33 must not go out as 10:32:59.998 (due, and shown, a
    minute early)."""
    skew = m.agent.skew if m.agent is not None else 0.0
    return float(round(datetime.fromisoformat(f"{date}T{time}").timestamp() + skew))


def schedule(m: Model, p: FollowUpFor, values: Submitted) -> Step:
    draft = (values["date"], values["time"], values["note"])
    if m.links.cc != "up":
        return open_follow_up(m, draft, p.contact, NO_SERVER)
    at = server_time(m, draft[0], draft[1])
    server_now = m.now + (m.agent.skew if m.agent is not None else 0.0)
    if at <= server_now:
        return open_follow_up(m, draft, p.contact, IN_THE_PAST)
    if at > server_now + MAX_DAYS * 86400:
        return open_follow_up(m, draft, p.contact, TOO_FAR)
    return (with_notice(m, f"Follow-up set for {draft[0][5:]} {draft[1]}"),
            (CcScheduleFollowUp(at, draft[2].strip(), p.contact),))


ON_SUBMIT[FollowUpFor] = schedule


def refused(m: Model, e: ev.CcRefused) -> Step:
    return with_notice(m, f"Follow-up: {e.message}"), ()


def due(m: Model, e: ev.CcFollowUp) -> Step:
    """Shown (navigation.arrange) until seen; once each, however often the server says it."""
    if e.follow_up.id in m.follow_ups_seen or any(f.id == e.follow_up.id for f in m.follow_ups):
        return m, ()
    return replace(m, follow_ups=m.follow_ups + (e.follow_up,)), ()


def shown(m: Model, s: FollowUpScreen) -> ev.FollowUp | None:
    return next((f for f in m.follow_ups if f.id == s.follow_up), None)


def follow_up_key(m: Model, s: FollowUpScreen, action: str) -> Step:
    if action not in ("ok", "back"):
        return m, ()
    m = replace(pop(m), follow_ups=tuple(f for f in m.follow_ups if f.id != s.follow_up),
                follow_ups_seen=m.follow_ups_seen | {s.follow_up})
    return m, (CcFollowUpDone(s.follow_up),)
