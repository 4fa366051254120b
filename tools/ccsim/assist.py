"""What an agent asks of the centre besides its contacts (docs/cc-protocol.md): a supervisor's
help, a call-quality report, the phone's log. A mixin of Engine (engine.py imports this
module), like callbacks.py; kept in SQLite (store.py: ``help_requests``, ``quality_reports``,
``log_parts``, ``logs``) from the request on, so a restarted ccsim has every one of them.

**Help** (``request_help``, ``cancel_help``): one request stands per agent at a time (a second
is refused ``not_allowed``), with the contact in view ("": none; else one the agent has or
had). The phone is told what becomes of it with ``help`` events (seq'd, as every event):
``open`` once taken, ``answered`` when a supervisor takes it up (admin API ``POST
/api/help/<id>/answer {"supervisor"}``: the request is over), ``closed`` when the agent
cancels it, the supervisors close it (``POST /api/help/<id>/close``) or the agent logs out. The
snapshot's ``help`` is true while it is open, so a phone that reconnects knows.

**Quality reports** (``quality_report``): the problem the agent heard (protocol.QUALITY_PROBLEMS,
else ``bad_value``), the call's contact ("": an internal call; else one the agent has or had,
else ``unknown_contact``: reported after the call, it may be wrapped up already) and every
figure of the phone's protocol.CallQuality, kept as they came.

**Log uploads** (``log_upload``): parts 1..``parts`` of an upload (the phone's id for it), in
order, each acked; a part out of order, ``parts`` outside 1..MAX_LOG_PARTS, a text over
protocol.MAX_LOG_PART characters or an upload id that is empty or over MAX_UPLOAD_ID_CHARS is
refused ``bad_value``. Part 1 (re)starts the upload: one is in progress per agent, so a new
one's part 1 drops an unfinished one. The parts wait in the database; when the last comes the
text is joined and kept (``logs``), its parts dropped.
"""
from __future__ import annotations

import logging

import msgspec

from firmware.cc import protocol as p

from .limits import text_problem
from .store import HelpRecord, LogRecord, QualityRecord, atomic

log = logging.getLogger("ccsim")

HELP_STATES = ("open", "answered", "closed")
MAX_LOG_PARTS = 1000                # parts of one log upload
MAX_UPLOAD_ID_CHARS = p.MAX_NAME_CHARS
MAX_SUPERVISOR_CHARS = p.MAX_NAME_CHARS


class HelpOver(ValueError):
    """The admin answers or closes a help request that is no longer open."""


def log_part_problem(upload: str, part: int, parts: int, text: str) -> str | None:
    """Why this can't be a part of a log upload, whatever came before it, or None."""
    problem = text_problem("upload", upload, MAX_UPLOAD_ID_CHARS, empty=False)
    if problem:
        return problem
    if not 1 <= parts <= MAX_LOG_PARTS:
        return f"parts: 1 to {MAX_LOG_PARTS}, got {parts}"
    if not 1 <= part <= parts:
        return f"part: 1 to parts ({parts}), got {part}"
    if len(text) > p.MAX_LOG_PART:
        return f"text: at most {p.MAX_LOG_PART} characters a part, got {len(text)}"
    return None


def order_problem(upload: str, part: int, parts: int, last: int, started: int) -> str | None:
    """Why part ``part`` of ``parts`` is out of order after the upload's part ``last`` (0:
    none in) of ``started`` parts, or None. Part 1 always starts the upload afresh."""
    if part == 1:
        return None
    if last == 0:
        return f"part {part} of upload {upload!r}, which has not started: send part 1 first"
    if parts != started:
        return f"upload {upload!r} has {started} parts, not {parts}"
    if part != last + 1:
        return f"part {part} of upload {upload!r} out of order: part {last + 1} is next"
    return None


def help_info(h: HelpRecord) -> dict:
    return {"id": h.id, "agent": h.agent, "contact": h.contact or None, "state": h.state,
            "supervisor": h.supervisor or None, "created": h.created,
            "closed_at": h.closed_at or None}


def quality_info(q: QualityRecord) -> dict:
    return {"id": q.id, "agent": q.agent, "contact": q.contact or None, "problem": q.problem,
            "quality": q.quality, "created": q.created}


def log_info(r: LogRecord) -> dict:
    """The upload as the admin API shows it (with its text, when it was read with it)."""
    info = {"id": r.id, "agent": r.agent, "upload": r.upload, "created": r.created,
            "size": r.size, "parts": r.parts}
    return info if r.text is None else {**info, "text": r.text}


class Assist:
    # -- help --------------------------------------------------------------------------------
    @atomic
    def request_help(self, agent: str, contact: str = ""):
        """The agent asks for a supervisor's help (with the contact in view, "": none)."""
        self._logged_in(agent)
        if contact:
            self._check_had_contact(agent, contact)
        if self.store.open_help(agent) is not None:
            raise self.Refused("not_allowed", "your help request stands already")
        h = self.store.add_help(agent, contact, self.clock())
        log.info("agent %s asks for help (%s): %s", agent, contact or "no contact", h.id)
        self._tell_help(h)

    @atomic
    def cancel_help(self, agent: str):
        """The agent takes its open help request back."""
        self._logged_in(agent)
        h = self.store.open_help(agent)
        if h is None:
            raise self.Refused("not_allowed", "no help request of yours stands")
        log.info("agent %s cancels help request %s", agent, h.id)
        self._help_over(h, "closed")

    @atomic
    def answer_help(self, help_id: str, supervisor) -> dict | None:
        """A supervisor takes the open request up (admin); None for an unknown id. ValueError
        for a supervisor that is no name, HelpOver for a request no longer open."""
        problem = text_problem("supervisor", supervisor, MAX_SUPERVISOR_CHARS, empty=False)
        if problem:
            raise ValueError(problem)
        h = self._open_help_request(help_id)
        if h is None:
            return None
        log.info("help request %s of agent %s answered by %s", h.id, h.agent, supervisor)
        self._help_over(h, "answered", supervisor)
        return help_info(h)

    @atomic
    def close_help(self, help_id: str) -> dict | None:
        """The supervisors close the open request (admin); None for an unknown id, HelpOver
        for a request no longer open."""
        h = self._open_help_request(help_id)
        if h is None:
            return None
        log.info("help request %s of agent %s closed by the supervisors", h.id, h.agent)
        self._help_over(h, "closed")
        return help_info(h)

    def _open_help_request(self, help_id: str) -> HelpRecord | None:
        h = self.store.help_request(help_id)
        if h is not None and h.state != "open":
            raise HelpOver(f"help request {h.id} is {h.state} already")
        return h

    def _help_over(self, h: HelpRecord, state: str, supervisor: str = ""):
        h.state, h.supervisor, h.closed_at = state, supervisor, self.clock()
        self.store.save_help(h)
        self._tell_help(h)

    def _tell_help(self, h: HelpRecord):
        """The request as it is now, to its agent's phone (a ``help`` event), if logged in."""
        s = self._records.get(h.agent)
        if s is not None and s.state != "logged_out":
            self._emit(s, p.Help, state=h.state, supervisor=h.supervisor, contact=h.contact)

    def _help_at_logout(self, agent: str):
        """The agent logs out: its open request is closed (nobody is there to help)."""
        h = self.store.open_help(agent)
        if h is not None:
            log.info("help request %s closed: agent %s logs out", h.id, agent)
            self._help_over(h, "closed")

    def _help_open(self, agent: str) -> bool:
        """The agent's help request stands (the snapshot's ``help``)."""
        return self.store.open_help(agent) is not None

    def helps_info(self, state: str = "") -> list[dict]:
        """The help requests (only those in ``state``, one of HELP_STATES; "": all), newest
        first."""
        return [help_info(h) for h in self.store.help_requests(state)]

    def help_request_info(self, help_id: str) -> dict | None:
        h = self.store.help_request(help_id)
        return help_info(h) if h is not None else None

    # -- call quality ------------------------------------------------------------------------
    @atomic
    def quality_report(self, agent: str, problem: str, quality: p.CallQuality,
                       contact: str = "") -> str:
        """The agent reports a call that sounded bad; the report's id."""
        self._logged_in(agent)
        if problem not in p.QUALITY_PROBLEMS:
            raise self.Refused("bad_value", f"problem: one of {', '.join(p.QUALITY_PROBLEMS)}, "
                               f"got {problem[:40]!r}")
        if contact:
            self._check_had_contact(agent, contact)
        q = self.store.add_quality(agent, contact, problem, msgspec.structs.asdict(quality),
                                   self.clock())
        log.info("agent %s reports %s on %s (MOS %.2f): %s", agent, problem,
                 contact or "an internal call", quality.mos, q.id)
        return q.id

    def qualities_info(self) -> list[dict]:
        return [quality_info(q) for q in self.store.quality_reports()]

    def quality_report_info(self, report_id: str) -> dict | None:
        q = self.store.quality_report(report_id)
        return quality_info(q) if q is not None else None

    # -- log uploads -------------------------------------------------------------------------
    @atomic
    def log_upload(self, agent: str, upload: str, part: int, parts: int,
                   text: str) -> str | None:
        """A part of the agent's log upload: the kept log's id once it was the last, else
        None."""
        self._logged_in(agent)
        problem = log_part_problem(upload, part, parts, text)
        if problem is None:
            problem = order_problem(upload, part, parts, *self.store.log_progress(agent, upload))
        if problem:
            raise self.Refused("bad_value", problem)
        if part == 1:
            self.store.drop_log_parts(agent)
        if part < parts:
            self.store.add_log_part(agent, upload, part, parts, text)
            return None
        joined = self.store.log_parts_text(agent, upload) + text
        self.store.drop_log_parts(agent)
        r = self.store.add_log(agent, upload, self.clock(), parts, joined)
        log.info("agent %s uploaded its log %r: %s, %d bytes in %d parts", agent, upload[:40],
                 r.id, r.size, parts)
        return r.id

    def logs_info(self) -> list[dict]:
        return [log_info(r) for r in self.store.logs()]

    def log_text_info(self, log_id: str) -> dict | None:
        r = self.store.log(log_id)
        return log_info(r) if r is not None else None

    # -- the agent's contacts ----------------------------------------------------------------
    def _check_had_contact(self, agent: str, contact: str):
        """Refused ``unknown_contact`` unless the agent has the contact, or had it: an attempt
        of it was the agent's (offered, consulted, dialed), wrapped up or not."""
        if contact in self._on_agent[agent]:
            return
        c = self._live.get(contact) or self.store.contact(contact)
        if c is None or not (c.agent == agent
                             or any(a.get("agent") == agent for a in c.attempts)):
            raise self.Refused("unknown_contact", f"contact {contact[:64]} was never yours")
