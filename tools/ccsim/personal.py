"""Personal calls: the agents' call forwarding and voicemail boxes. A mixin of Engine
(engine.py imports this module), like followups.py; kept in ccsim's SQLite file, in tables of
this module's own (``forwarding``, ``voicemail``), in the engine's transactions.

A personal call is one to an agent's extension that is no contact's: Kamailio tells them
apart (a contact's INVITE carries X-CC-Contact-Id / X-CC-Token) and carries the forwarding out
(tools/kamailio.py, ``personal_db``), so a phone that is off still forwards. Queue, campaign
and consult calls are never forwarded, never sent to voicemail.

**Forwarding** (protocol.Forwarding; ``set_forwarding`` from the phone, PUT
/api/agents/<id>/forwarding from the admin): checked whole, each broken rule named in
``Error.fields`` ({field: code}, nothing changes): a target ("" is none) must be a number a
phone can dial (1-MAX_DIAL_CHARS of 0-9 A-Z a-z * + . _ ~ -: dial's rule, bar #, which no
SIP user holds) else ``bad_number``; not the agent's own id or extension (``own_number``);
not another agent's whose forwarding (any kind) leads back to this agent, directly or through
a chain of agents (``loop``); ``no_answer_s`` within protocol.FORWARD_NO_ANSWER_S
(``no_answer_s``). An agent's id as a target is kept as its extension: what Kamailio dials.
Acked, then a ``forwarding`` event to the agent's phone (the admin's change too).

Table ``forwarding`` (ext, agent, always, busy, no_answer, no_answer_s) is what Kamailio
reads per personal INVITE: one row per agent of the scenario, keyed by its extension's SIP
user, written again at each start (a row is what makes an extension an agent's: calls to
other users are not personal). The file is in WAL mode (store.py), so Kamailio reads while
ccsim writes.

**Voicemail** ([voicemail] enabled): the voicemail service (tools/voicemail.py, its own
process) answers the calls Kamailio sends to a box, keeps the audio files, and tells ccsim
through the admin API (/api/voicemail/<ext>: a new message, heard, deleted); ccsim keeps the
messages (table ``voicemail``: ext, id, caller, at, duration_s, file, heard), so it owns the
count: the agent's phone gets ``voicemail`` events (waiting = not heard, messages = all) and
the snapshot has them with ``voicemail_number`` (what the phone dials to reach its box). The
message-waiting indication goes over the contact-center link, not SIP: baresip-python has no
message-summary (RFC 3842) subscription, and the lab's Debian Kamailio has no MWI notifier
set up. A box with ``max_messages`` takes no more (BoxFull: the caller hears it is full).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping

from firmware.cc import protocol as p

from .limits import text_problem
from .scenario import DIRECTORY_NUMBER, extension_user
from .store import atomic

log = logging.getLogger("ccsim")

FORWARDING_FIELDS = ("always", "busy", "no_answer")
LOW_S, HIGH_S = p.FORWARD_NO_ANSWER_S
# each rule's code (Error.fields) -> what the refusal says of it
RULES = {"bad_number": "not a number a phone can dial (1-32 of 0-9 A-Z a-z * + . _ ~ -)",
         "own_number": "the agent's own extension",
         "loop": "another agent's whose forwarding leads back to this agent",
         "no_answer_s": f"{LOW_S}-{HIGH_S} seconds"}
MESSAGE_PREFIX = "vm-"
MAX_CALLER_CHARS = p.MAX_ANI_CHARS
MAX_FILE_CHARS = 4096
MAX_DURATION_S = 3600.0

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS forwarding (   -- Kamailio reads it (tools/kamailio.py)
        ext TEXT PRIMARY KEY,                    -- an agent's extension: its SIP user
        agent TEXT NOT NULL, always TEXT NOT NULL DEFAULT '', busy TEXT NOT NULL DEFAULT '',
        no_answer TEXT NOT NULL DEFAULT '', no_answer_s INTEGER NOT NULL DEFAULT 20)""",
    """CREATE TABLE IF NOT EXISTS voicemail (    -- the boxes' messages (the service's files)
        n INTEGER PRIMARY KEY, ext TEXT NOT NULL, agent TEXT NOT NULL, caller TEXT NOT NULL,
        at REAL NOT NULL, duration_s REAL NOT NULL, file TEXT NOT NULL,
        heard INTEGER NOT NULL DEFAULT 0)""",
    "CREATE INDEX IF NOT EXISTS voicemail_agent ON voicemail (agent, n)",
)


class BoxFull(Exception):
    """A new message for a box that has max_messages."""


def check_forwarding(agent: str, f: p.Forwarding, extensions: Mapping[str, str],
                     current: Mapping[str, p.Forwarding]) -> tuple[p.Forwarding, dict[str, str]]:
    """``f`` for ``agent`` as it would be kept (an agent's id as a target becomes its
    extension), and {field: code} of every rule it breaks (RULES). ``extensions``: each
    agent's extension (SIP user) by id; ``current``: the agents' forwarding now."""
    by_ext = {ext: a for a, ext in extensions.items()}
    by_id = {a: ext for a, ext in extensions.items()}

    def reach(number: str) -> str:
        """The agent a number rings ("" for none)."""
        return by_ext.get(number) or (number if number in by_id else "")

    kept = {name: getattr(f, name) for name in FORWARDING_FIELDS}
    problems: dict[str, str] = {}
    for name, number in kept.items():
        if not number:
            continue
        if not DIRECTORY_NUMBER.fullmatch(number):
            problems[name] = "bad_number"
            continue
        target = reach(number)
        if target:
            kept[name] = by_id[target]
        if target == agent:
            problems[name] = "own_number"
        elif target and _leads_to(agent, target, current, reach):
            problems[name] = "loop"
    if not LOW_S <= f.no_answer_s <= HIGH_S:
        problems["no_answer_s"] = "no_answer_s"
    return p.Forwarding(**kept, no_answer_s=f.no_answer_s), problems


def _leads_to(agent: str, start: str, current: Mapping[str, p.Forwarding], reach) -> bool:
    """Does ``start``'s forwarding (any kind), followed from agent to agent, come to
    ``agent``?"""
    seen, todo = {start}, [start]
    while todo:
        f = current.get(todo.pop())
        for number in (getattr(f, name) for name in FORWARDING_FIELDS) if f else ():
            target = reach(number) if number else ""
            if target == agent:
                return True
            if target and target not in seen:
                seen.add(target)
                todo.append(target)
    return False


def refusal(problems: dict[str, str]) -> str:
    """What a refusal says: each field and its rule."""
    return "; ".join(f"{name}: {RULES[code]}" for name, code in problems.items())


def message_info(row) -> dict:
    n, ext, caller, at, duration_s, file, heard = row
    return {"id": f"{MESSAGE_PREFIX}{n}", "ext": ext, "caller": caller, "at": at,
            "duration_s": duration_s, "file": file, "heard": bool(heard)}


def _message_number(message: str) -> int | None:
    digits = message[len(MESSAGE_PREFIX):] if message.startswith(MESSAGE_PREFIX) else ""
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) < 18 else None


class Personal:
    # -- start and restart -------------------------------------------------------------------
    def _init_personal(self):
        db = self.store.db
        for statement in _SCHEMA:
            db.execute(statement)
        self._forwarding: dict[str, p.Forwarding] = {a.id: p.Forwarding()
                                                     for a in self.scenario.agents}
        self._extensions = {a.id: extension_user(a.extension) for a in self.scenario.agents}

    def _load_personal(self):
        """Inside _load's transaction: the agents' forwarding as kept, and Kamailio's table
        written again for the scenario's agents (their extensions now; nobody else's)."""
        db = self.store.db
        for agent, always, busy, no_answer, no_answer_s in db.execute(
                "SELECT agent, always, busy, no_answer, no_answer_s FROM forwarding"):
            if agent in self._forwarding:
                self._forwarding[agent] = p.Forwarding(always, busy, no_answer, no_answer_s)
        db.execute("DELETE FROM forwarding")
        for agent in self._forwarding:
            self._save_forwarding(agent)

    def _save_forwarding(self, agent: str):
        f = self._forwarding[agent]
        self.store.db.execute(
            "INSERT OR REPLACE INTO forwarding (ext, agent, always, busy, no_answer, "
            "no_answer_s) VALUES (?, ?, ?, ?, ?, ?)",
            (self._extensions[agent], agent, f.always, f.busy, f.no_answer, f.no_answer_s))

    # -- forwarding --------------------------------------------------------------------------
    @atomic
    def set_forwarding(self, agent: str, forwarding: p.Forwarding):
        """The agent's phone sets its forwarding (acked; a ``forwarding`` event follows)."""
        self._logged_in(agent)
        self._forward(agent, forwarding)

    @atomic
    def change_forwarding(self, agent: str, forwarding: p.Forwarding) -> p.Forwarding | None:
        """The admin sets an agent's forwarding (None: no such agent)."""
        if agent not in self._forwarding:
            return None
        return self._forward(agent, forwarding)

    def _forward(self, agent: str, forwarding: p.Forwarding) -> p.Forwarding:
        kept, problems = check_forwarding(agent, forwarding, self._extensions, self._forwarding)
        if problems:
            raise self.Refused("bad_value", refusal(problems), fields=problems)
        if kept != self._forwarding[agent]:
            self._forwarding[agent] = kept
            self._save_forwarding(agent)
            log.info("agent %s forwards: %s", agent, kept)
        s = self._records[agent]
        if s.state != "logged_out":
            self._emit(s, p.ForwardingUpdate, forwarding=kept)
        return kept

    def forwarding_of(self, agent: str) -> p.Forwarding | None:
        return self._forwarding.get(agent)

    # -- voicemail ---------------------------------------------------------------------------
    def _box_agent(self, box: str) -> str:
        """The agent whose box ``box`` is (its extension or id); "" for none (or no boxes)."""
        if not self.scenario.voicemail.enabled:
            return ""
        return next((a for a, ext in self._extensions.items() if box == ext), "") \
            or (box if box in self._extensions else "")

    def _counts(self, agent: str) -> tuple[int, int]:
        """(not heard, in all) of the agent's messages."""
        waiting, count = self.store.db.execute(
            "SELECT COALESCE(SUM(heard = 0), 0), COUNT(*) FROM voicemail WHERE agent = ?",
            (agent,)).fetchone()
        return waiting, count

    def _tell_voicemail(self, agent: str):
        s = self._records[agent]
        if s.state != "logged_out":
            waiting, count = self._counts(agent)
            self._emit(s, p.Voicemail, waiting=waiting, messages=count)

    def voicemail_box_info(self, box: str) -> dict | None:
        """``GET /api/voicemail/<ext>``: the box and its messages, newest first."""
        agent = self._box_agent(box)
        if not agent:
            return None
        waiting, count = self._counts(agent)
        rows = self.store.db.execute(
            "SELECT n, ext, caller, at, duration_s, file, heard FROM voicemail WHERE agent = ? "
            "ORDER BY n DESC", (agent,))
        limit = self.scenario.voicemail.max_messages
        return {"ext": self._extensions[agent], "agent": agent, "waiting": waiting,
                "count": count, "max_messages": limit, "full": count >= limit,
                "messages": [message_info(row) for row in rows]}

    @atomic
    def voicemail_add(self, box: str, caller, duration_s, file) -> dict | None:
        """The service kept a new message in the box: its record (None: no such box). Refused
        with ValueError (a field) or BoxFull."""
        agent = self._box_agent(box)
        if not agent:
            return None
        problem = (text_problem("caller", caller, MAX_CALLER_CHARS)
                   or text_problem("file", file, MAX_FILE_CHARS, empty=False))
        if problem:
            raise ValueError(problem)
        if (isinstance(duration_s, bool) or not isinstance(duration_s, (int, float))
                or not 0 <= duration_s <= MAX_DURATION_S):
            raise ValueError(f"duration_s: a number of seconds, 0-{MAX_DURATION_S:g}")
        limit = self.scenario.voicemail.max_messages
        if self._counts(agent)[1] >= limit:
            raise BoxFull(f"box {self._extensions[agent]} is full ({limit} messages)")
        ext, at = self._extensions[agent], self.clock()
        n = self.store.db.execute(
            "INSERT INTO voicemail (ext, agent, caller, at, duration_s, file, heard) "
            "VALUES (?, ?, ?, ?, ?, ?, 0)", (ext, agent, caller, at, float(duration_s),
                                              file)).lastrowid
        log.info("voicemail for agent %s from %s (%.1f s)", agent, caller or "?", duration_s)
        self._tell_voicemail(agent)
        return message_info((n, ext, caller, at, float(duration_s), file, 0))

    @atomic
    def voicemail_heard(self, box: str, message: str, heard) -> dict | None:
        """Mark a message heard (or not): its record; None for no such box or message."""
        if not isinstance(heard, bool):
            raise ValueError("heard: true or false")
        agent, n = self._box_agent(box), _message_number(message)
        if not agent or n is None:
            return None
        changed = self.store.db.execute("UPDATE voicemail SET heard = ? WHERE n = ? AND "
                                        "agent = ? AND heard != ?", (heard, n, agent, heard))
        row = self.store.db.execute("SELECT n, ext, caller, at, duration_s, file, heard FROM "
                                    "voicemail WHERE n = ? AND agent = ?", (n, agent)).fetchone()
        if row is not None and changed.rowcount:
            self._tell_voicemail(agent)
        return message_info(row) if row is not None else None

    @atomic
    def voicemail_delete(self, box: str, message: str) -> bool:
        """Delete a message (the service deletes its file); False for none."""
        agent, n = self._box_agent(box), _message_number(message)
        if not agent or n is None:
            return False
        gone = self.store.db.execute("DELETE FROM voicemail WHERE n = ? AND agent = ?",
                                     (n, agent)).rowcount
        if gone:
            self._tell_voicemail(agent)
        return bool(gone)

    # -- what the phone is told --------------------------------------------------------------
    def _personal_snapshot(self, agent: str) -> dict:
        """The snapshot's forwarding and voicemail fields."""
        v = self.scenario.voicemail
        waiting, count = self._counts(agent) if v.enabled else (0, 0)
        return {"forwarding": self._forwarding[agent], "voicemail_waiting": waiting,
                "voicemail_messages": count, "voicemail_number": v.number if v.enabled else ""}

    def _is_voicemail(self, number: str) -> bool:
        """A dial of the voicemail number: an internal call to the agent's box."""
        return self.scenario.voicemail.enabled and number == self.scenario.voicemail.number
