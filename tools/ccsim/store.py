"""ccsim's records and their SQLite store: agents, contacts and the events sent to agents;
callbacks and campaigns; help requests, call-quality reports and log uploads (assist.py);
the agents' follow-ups (followups.py).

Write-through: the engine saves every record it changes inside one transaction per operation
(a savepoint when the server groups the operations of one loop turn into one commit), so a
ccsim killed at any moment starts again from the last commit, and the server sends nothing
before the commit it depends on. WAL with synchronous=NORMAL keeps a commit cheap and survives
a killed process (not a power cut).
"""
from __future__ import annotations

import functools
import json
import sqlite3
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from firmware.cc.protocol import Favorite, Pending

# a campaign's contact also ends skipped, removed, or withdrawn (a negotiated logout); an
# inbound one "callback" (its customer chose a courtesy callback: callbacks.py)
FINISHED = ("wrapped_up", "abandoned", "skipped", "removed", "withdrawn", "callback")
TALKING = ("assigned", "held")         # an agent has the customer's call
_json = msgspec.json.Encoder()
_favorites = msgspec.json.Decoder(list[Favorite])

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (   -- AgentRecord rows (the table keeps its old name)
    agent TEXT PRIMARY KEY, state TEXT NOT NULL, reason TEXT NOT NULL,
    pending_state TEXT, pending_reason TEXT NOT NULL, available_since REAL NOT NULL,
    seq INTEGER NOT NULL, session_id TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS contacts (
    id TEXT PRIMARY KEY, n INTEGER NOT NULL UNIQUE, queue TEXT NOT NULL, ani TEXT NOT NULL,
    variables TEXT NOT NULL, talk_s REAL, created_at REAL NOT NULL, status TEXT NOT NULL,
    agent TEXT NOT NULL, offered_at REAL NOT NULL, deadline REAL NOT NULL, wrapup TEXT NOT NULL,
    attempts TEXT NOT NULL, token TEXT NOT NULL DEFAULT '', kind TEXT NOT NULL DEFAULT '',
    consult TEXT NOT NULL DEFAULT '', owed TEXT NOT NULL DEFAULT '',
    agent_leg TEXT NOT NULL DEFAULT '', conference TEXT NOT NULL DEFAULT '',
    recording TEXT NOT NULL DEFAULT '', variable_meta TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS contacts_live ON contacts (status);
CREATE TABLE IF NOT EXISTS favorites (  -- each agent's favorites: a JSON list, in order
    agent TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS campaigns (  -- each campaign's status (started / stopped)
    id TEXT PRIMARY KEY, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS campaign_records (   -- CampaignRecord rows
    campaign TEXT NOT NULL, idx INTEGER NOT NULL, name TEXT NOT NULL, number TEXT NOT NULL,
    variables TEXT NOT NULL, state TEXT NOT NULL, ord INTEGER NOT NULL, attempts TEXT NOT NULL,
    disposition TEXT NOT NULL, contact TEXT NOT NULL, not_before REAL NOT NULL DEFAULT 0,
    rescheduled TEXT NOT NULL DEFAULT '', PRIMARY KEY (campaign, idx));
CREATE TABLE IF NOT EXISTS campaign_defs (   -- what the admin API loaded (campaigns.py)
    id TEXT PRIMARY KEY, n INTEGER NOT NULL,    -- n: the order they were loaded in
    body TEXT NOT NULL,         -- a campaign loaded through the API: its JSON ("": the scenario's)
    appended TEXT NOT NULL,     -- the records appended through the API: a JSON list
    first INTEGER NOT NULL);    -- the index of the first of them
CREATE TABLE IF NOT EXISTS callbacks (  -- CallbackRecord rows (callbacks.py)
    id TEXT PRIMARY KEY, n INTEGER NOT NULL UNIQUE, kind TEXT NOT NULL, number TEXT NOT NULL,
    name TEXT NOT NULL, queue TEXT NOT NULL, start REAL NOT NULL, "end" REAL NOT NULL,
    tz TEXT NOT NULL, date TEXT NOT NULL, start_local TEXT NOT NULL, end_local TEXT NOT NULL,
    reason TEXT NOT NULL, assignee TEXT NOT NULL, created_by TEXT NOT NULL,
    created_at REAL NOT NULL, dnis TEXT NOT NULL, status TEXT NOT NULL,
    attempts INTEGER NOT NULL, not_before REAL NOT NULL, contact TEXT NOT NULL,
    outcome TEXT NOT NULL, history TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS callbacks_live ON callbacks (status);
CREATE TABLE IF NOT EXISTS help_requests (     -- HelpRecord rows (assist.py)
    n INTEGER PRIMARY KEY, agent TEXT NOT NULL, contact TEXT NOT NULL, created REAL NOT NULL,
    state TEXT NOT NULL, supervisor TEXT NOT NULL, closed_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS help_requests_agent ON help_requests (agent, state);
CREATE TABLE IF NOT EXISTS quality_reports (   -- QualityRecord rows (assist.py)
    n INTEGER PRIMARY KEY, agent TEXT NOT NULL, contact TEXT NOT NULL, problem TEXT NOT NULL,
    quality TEXT NOT NULL,      -- protocol.CallQuality's fields: a JSON object
    created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS log_parts (   -- the parts of an upload in progress (assist.py)
    agent TEXT NOT NULL, upload TEXT NOT NULL, part INTEGER NOT NULL, parts INTEGER NOT NULL,
    text TEXT NOT NULL, PRIMARY KEY (agent, upload, part));
CREATE TABLE IF NOT EXISTS logs (        -- LogRecord rows: the uploads whose last part came
    n INTEGER PRIMARY KEY, agent TEXT NOT NULL, upload TEXT NOT NULL, created REAL NOT NULL,
    size INTEGER NOT NULL, parts INTEGER NOT NULL, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS follow_ups (      -- FollowUpRecord rows (followups.py)
    n INTEGER PRIMARY KEY, agent TEXT NOT NULL, at REAL NOT NULL, note TEXT NOT NULL,
    contact TEXT NOT NULL, customer TEXT NOT NULL, created REAL NOT NULL, state TEXT NOT NULL,
    due_at REAL NOT NULL, done_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS follow_ups_state ON follow_ups (state, at);
CREATE INDEX IF NOT EXISTS follow_ups_agent ON follow_ups (agent, state, at);
CREATE TABLE IF NOT EXISTS events (
    agent TEXT NOT NULL, seq INTEGER NOT NULL, at REAL NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (agent, seq));
"""


@dataclass
class AgentRecord:
    """An agent as the server keeps it, logged in or not: its state and its event counter, and
    while logged in the id of its session (docs/cc-protocol.md: one login)."""
    agent: str
    state: str = "logged_out"
    reason: str = ""
    pending: Pending | None = None
    available_since: float = 0.0       # when the agent last became Available (routing key)
    seq: int = 0                       # the last event's seq; never goes back, across logins
    # this login's id ("" while logged out): a reconnecting phone resumes with it. Kept so a
    # restarted server still recognizes the phone; never logged nor shown by the admin API
    session_id: str = field(default="", repr=False)


@dataclass
class ContactRecord:
    """A customer interaction from its arrival until it is wrapped up or abandoned.

    status: queued | reserved | offered | assigned | held | wrapup | wrapped_up | abandoned.
    ``deadline`` is the RONA time while reserved/offered, the auto wrap-up time in wrap-up.
    """
    id: str
    n: int                             # arrival order: older contacts are served first
    queue: str
    ani: str
    variables: dict[str, str]
    talk_s: float | None
    created_at: float
    status: str = "queued"
    agent: str = ""                    # the agent it is reserved/assigned to ("" while queued)
    offered_at: float = 0.0            # when the current attempt reserved the agent
    deadline: float = 0.0
    wrapup: str = ""
    attempts: list[dict] = field(default_factory=list)   # {"agent", "at", "outcome"}
    # the current offer attempt's secret, which its SIP call carries; "" when none. Kept so a
    # restarted server still sends it; never logged nor shown by the admin API
    token: str = field(default="", repr=False)
    kind: str = "inbound"              # "outbound": an agent dialed it (status "dialing" first)
    # consult and transfer (engine.py): the consult under way (None: none; its tokens are kept
    # so a restarted server still sends them), the wrap-ups owed by agents who passed the
    # contact on ({agent: auto wrap-up time or 0}: the contact stays theirs until done) and
    # the bridge leg that has the customer when it is not the current attempt's ("c-1.t1")
    consult: dict | None = field(default=None, repr=False)
    owed: dict[str, float] = field(default_factory=dict)
    agent_leg: str = ""
    # a conference (engine.py): {"since", "post_call", "members": [{"leg", "agent", "number",
    # "joined", "token"}]}, the parties besides the customer and the agent in control, in the
    # order they joined (their tokens kept, as the consult's)
    conference: dict | None = field(default=None, repr=False)
    # its recording (recording.py): {"file", "state", "started", "resumes_at", "pauses"}
    recording: dict | None = None
    # call data (calldata.py): {name: {"version", "by"}} of each variable an agent changed
    variable_meta: dict[str, dict] = field(default_factory=dict)
    # a campaign's contact (kind "campaign", campaigns.py): {"id", "record" (its index),
    # "customer", "failed"}, and once the agent rescheduled it "rescheduled" (the local text)
    # and "not_before" (server time)
    campaign: dict | None = None
    # a callback's contact (kind "callback", callbacks.py): {"id", "customer", "dnis",
    # "cancel", "assignee", "failed", "cancelled", "connected"}
    callback: dict | None = None
    # the primary agent's free note with its wrap-up (settings.note_max; an agent who passed
    # the contact on keeps its own in its attempt: {"wrapup", "note"})
    note: str = ""
    # the centre's pre-recorded messages played into its call (messages.py), in order:
    # {"code", "at"} (when it began)
    messages: list[dict] = field(default_factory=list)


@dataclass(slots=True)
class CallbackRecord:
    """A callback (callbacks.py), from its creation on; kept when done or deleted.

    kind: courtesy | web | scheduled. status: scheduled | offered (``contact`` is its live
    contact) | done (``outcome``: connected, failed, cancelled...) | deleted. ``start`` and
    ``end``: the window, server time (a courtesy or web one's start is its creation);
    ``date``, ``start_local`` and ``end_local``: as the agent typed them, in ``tz``.
    ``not_before``: a failed attempt's retry time. Its history is the database's only (the
    ``history`` column, a JSON list of {"at", "event": created | edited | deleted | offered |
    attempted | completed, "agent"?, "detail"?}, appended to by ``save_callback``): a
    hundred thousand callbacks pending hold no history in memory."""
    id: str
    n: int
    kind: str
    number: str
    name: str
    queue: str
    start: float
    end: float
    tz: str = "UTC"
    date: str = ""
    start_local: str = ""
    end_local: str = ""
    reason: str = ""
    assignee: str = ""
    created_by: str = ""
    created_at: float = 0.0
    dnis: str = ""
    status: str = "scheduled"
    attempts: int = 0
    not_before: float = 0.0
    contact: str = ""
    outcome: str = ""

    @property
    def due(self) -> float:
        """When it is offered: its window's start, or a failed attempt's retry time."""
        return max(self.start, self.not_before)


@dataclass
class HelpRecord:
    """An agent's help request (assist.py): ``open`` until a supervisor answers it
    (``answered``, ``supervisor`` says who) or it is ``closed`` (by the agent, the
    supervisors, or the agent's logout); ``closed_at``: when it stopped being open (0: open)."""
    n: int
    agent: str
    contact: str                        # the contact in view when asked ("": none)
    created: float
    state: str = "open"
    supervisor: str = ""
    closed_at: float = 0.0

    @property
    def id(self) -> str:
        return f"{HELP_PREFIX}{self.n}"


@dataclass
class QualityRecord:
    """A call-quality report of an agent's (assist.py): the problem heard and the phone's
    figures of the call (protocol.CallQuality's fields, all of them)."""
    n: int
    agent: str
    contact: str                        # "": an internal call
    problem: str
    quality: dict
    created: float

    @property
    def id(self) -> str:
        return f"{QUALITY_PREFIX}{self.n}"


@dataclass
class LogRecord:
    """A phone's log upload once its last part came (assist.py): ``upload`` the phone's id for
    it, ``size`` its text's bytes (UTF-8), ``text`` None when listed without it."""
    n: int
    agent: str
    upload: str
    created: float
    size: int
    parts: int
    text: str | None = None

    @property
    def id(self) -> str:
        return f"{LOG_PREFIX}{self.n}"


@dataclass
class FollowUpRecord:
    """A follow-up an agent scheduled (followups.py): ``scheduled`` until ``at`` (server time),
    then ``due`` (``due_at``: when it fired) until the agent marks it ``done`` (``done_at``).
    ``contact`` the contact it is about ("": none), ``customer`` that contact's number then."""
    n: int
    agent: str
    at: float
    note: str
    contact: str
    customer: str
    created: float
    state: str = "scheduled"
    due_at: float = 0.0
    done_at: float = 0.0

    @property
    def id(self) -> str:
        return f"{FOLLOW_UP_PREFIX}{self.n}"


HELP_PREFIX, QUALITY_PREFIX, LOG_PREFIX, FOLLOW_UP_PREFIX = "h-", "q-", "log-", "f-"


def _number_of(record_id: str, prefix: str) -> int | None:
    """N of an id "<prefix>N" (N a positive integer that SQLite holds), else None."""
    digits = record_id[len(prefix):] if record_id.startswith(prefix) else ""
    if not (digits.isascii() and digits.isdigit()) or digits.startswith("0") or len(digits) > 18:
        return None
    return int(digits)


@dataclass
class CampaignRecord:
    """A campaign's record (campaigns.py), from the scenario at the first start, then kept.

    state: pending | previewing | dialing | done | removed. ``order``: its place in the
    campaign's list (a skipped one goes to the end); ``contact``: the contact it is (or was
    last) while previewing or dialing. A reschedule (``reschedule``): ``not_before``, the
    server time before which it is not called again (0: none), and ``rescheduled``, when the
    agent said (YYYY-MM-DDTHH:MM, the customer's local time)."""
    campaign: str
    index: int
    name: str
    number: str
    variables: dict[str, str]
    state: str = "pending"
    order: int = 0
    attempts: list[dict] = field(default_factory=list)   # {"at", "agent", "outcome"}
    disposition: str = ""
    contact: str = ""
    not_before: float = 0.0
    rescheduled: str = ""


KEEP_EVENTS = 10_000          # per agent: the latest, for the admin API; older ones are pruned
PRUNE_EVERY = 100             # events between prunes (a delete on the primary key's range)


class Store:
    def __init__(self, path: str | Path, keep_events: int = KEEP_EVENTS):
        self.keep_events = keep_events
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._add_text_column("contacts", "token")          # from before offer tokens
        self._add_text_column("sessions", "session_id")     # from before session ids
        self._add_text_column("contacts", "kind")           # from before outbound contacts
        for column in ("consult", "owed", "agent_leg"):     # from before consult and transfer
            self._add_text_column("contacts", column)
        self._add_text_column("contacts", "conference")     # from before conferences
        self._add_text_column("contacts", "recording")      # from before recordings
        self._add_text_column("contacts", "variable_meta")  # from before call data editing
        self._add_text_column("contacts", "campaign")       # from before campaigns
        self._add_text_column("contacts", "callback")       # from before callbacks
        self._add_text_column("contacts", "note")           # from before wrap-up notes
        self._add_text_column("contacts", "messages")       # from before pre-recorded messages
        if "not_before" not in {row[1] for row in
                                self._db.execute("PRAGMA table_info(campaign_records)")}:
            self._db.execute("ALTER TABLE campaign_records ADD COLUMN not_before REAL NOT NULL "
                             "DEFAULT 0")                # from before reschedules
        self._add_text_column("campaign_records", "rescheduled")
        if "pending_at" not in {row[1] for row in self._db.execute("PRAGMA table_info(sessions)")}:
            self._db.execute("ALTER TABLE sessions ADD COLUMN pending_at REAL NOT NULL DEFAULT 0")
        self._depth = 0
        self._last_n = self._db.execute("SELECT COALESCE(MAX(n), 0) FROM contacts").fetchone()[0]
        self._last_callback = self._db.execute(
            "SELECT COALESCE(MAX(n), 0) FROM callbacks").fetchone()[0]

    def _add_text_column(self, table: str, column: str):
        """A column this version added, to a database an older one made."""
        if column not in {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}:
            self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")
    @property
    def db(self) -> sqlite3.Connection:
        """The connection, for a module that keeps tables of its own (personal.py) in this
        file and in these transactions."""
        return self._db

    def close(self):
        self._db.close()

    def begin(self):
        """Open a transaction that several operations share (a group commit)."""
        self._db.execute("BEGIN")
        self._depth = 1

    def commit(self):
        self._db.execute("COMMIT")
        self._depth = 0

    @contextmanager
    def transaction(self):
        """One operation: its own commit, or a savepoint inside an open group commit."""
        savepoint = f"op{self._depth}"
        if self._depth == 0:
            self.begin()
        else:
            self._db.execute(f"SAVEPOINT {savepoint}")
            self._depth += 1
        try:
            yield
        except BaseException:
            if self._depth == 1:
                self._db.execute("ROLLBACK")
                self._depth = 0
            else:
                self._db.execute(f"ROLLBACK TO {savepoint}")
                self._db.execute(f"RELEASE {savepoint}")
                self._depth -= 1
            raise
        if self._depth == 1:
            self.commit()
        else:
            self._db.execute(f"RELEASE {savepoint}")
            self._depth -= 1

    # -- agents ------------------------------------------------------------------------------
    def agents(self) -> list[AgentRecord]:
        rows = self._db.execute("SELECT agent, state, reason, pending_state, pending_reason, "
                                "available_since, seq, session_id, pending_at FROM sessions")
        return [AgentRecord(a, st, r, Pending(ps, pr, at) if ps else None, since, seq, sid)
                for a, st, r, ps, pr, since, seq, sid, at in rows]

    def save_agent(self, s: AgentRecord):
        self._db.execute(
            "INSERT OR REPLACE INTO sessions (agent, state, reason, pending_state, "
            "pending_reason, available_since, seq, session_id, pending_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (s.agent, s.state, s.reason, s.pending.state if s.pending else None,
             s.pending.reason if s.pending else "", s.available_since, s.seq, s.session_id,
             s.pending.at if s.pending else 0.0))

    # -- contacts ----------------------------------------------------------------------------
    def next_contact_number(self) -> int:
        self._last_n += 1
        return self._last_n

    def live_contacts(self) -> list[ContactRecord]:
        """Every contact not yet wrapped up or abandoned, or with a wrap-up still owed, oldest
        first."""
        rows = self._db.execute(f"SELECT * FROM contacts WHERE status NOT IN {FINISHED} "
                                "OR owed NOT IN ('', '{}') ORDER BY n")
        return [_contact(r) for r in rows]

    def contact(self, contact_id: str) -> ContactRecord | None:
        row = self._db.execute("SELECT * FROM contacts WHERE id = ?", (contact_id,)).fetchone()
        return _contact(row) if row else None

    def save_contact(self, c: ContactRecord):
        self._db.execute(
            "INSERT OR REPLACE INTO contacts VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (c.id, c.n, c.queue, c.ani, _json.encode(c.variables).decode(), c.talk_s, c.created_at,
             c.status, c.agent, c.offered_at, c.deadline, c.wrapup,
             _json.encode(c.attempts).decode(), c.token, c.kind,
             _json.encode(c.consult).decode() if c.consult else "",
             _json.encode(c.owed).decode() if c.owed else "", c.agent_leg,
             _json.encode(c.conference).decode() if c.conference else "",
             _json.encode(c.recording).decode() if c.recording else "",
             _json.encode(c.variable_meta).decode() if c.variable_meta else "",
             _json.encode(c.campaign).decode() if c.campaign else "",
             _json.encode(c.callback).decode() if c.callback else "", c.note,
             _json.encode(c.messages).decode() if c.messages else ""))

    # -- callbacks ---------------------------------------------------------------------------
    def next_callback_number(self) -> int:
        self._last_callback += 1
        return self._last_callback

    def live_callbacks(self) -> list[CallbackRecord]:
        """The callbacks scheduled or offered, oldest first."""
        rows = self._db.execute(f"SELECT {_CALLBACK_COLUMNS} FROM callbacks "
                                "WHERE status IN ('scheduled', 'offered') ORDER BY n")
        return [_callback(r) for r in rows]

    def callback(self, callback_id: str) -> CallbackRecord | None:
        row = self._db.execute(f"SELECT {_CALLBACK_COLUMNS} FROM callbacks WHERE id = ?",
                               (callback_id,)).fetchone()
        return _callback(row) if row else None

    def callbacks(self, status: str = "", limit: int = -1) -> list[CallbackRecord]:
        """The callbacks (those in ``status``; "": all), newest first (at most ``limit``; -1:
        all)."""
        where = "WHERE status = ? " if status else ""
        rows = self._db.execute(f"SELECT {_CALLBACK_COLUMNS} FROM callbacks {where}"
                                "ORDER BY n DESC LIMIT ?", (status, limit) if status else (limit,))
        return [_callback(r) for r in rows]

    def callback_history(self, callback_id: str) -> list[dict]:
        row = self._db.execute("SELECT history FROM callbacks WHERE id = ?",
                               (callback_id,)).fetchone()
        return json.loads(row[0]) if row else []

    def save_callback(self, cb: CallbackRecord, history: list[dict] | tuple = ()):
        """The callback as it is now, ``history`` appended to its history."""
        self._db.execute(
            f"INSERT INTO callbacks ({_CALLBACK_COLUMNS}, history) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '[]') "
            f"ON CONFLICT (id) DO UPDATE SET {_CALLBACK_UPDATE}",
            (cb.id, cb.n, cb.kind, cb.number, cb.name, cb.queue, cb.start, cb.end, cb.tz,
             cb.date, cb.start_local, cb.end_local, cb.reason, cb.assignee, cb.created_by,
             cb.created_at, cb.dnis, cb.status, cb.attempts, cb.not_before, cb.contact,
             cb.outcome))
        for entry in history:
            self._db.execute("UPDATE callbacks SET history = json_insert(history, '$[#]', "
                             "json(?)) WHERE id = ?", (_json.encode(entry).decode(), cb.id))

    # -- campaigns ---------------------------------------------------------------------------
    def campaign_statuses(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT id, status FROM campaigns").fetchall())

    def save_campaign_status(self, campaign: str, status: str):
        self._db.execute("INSERT OR REPLACE INTO campaigns VALUES (?, ?)", (campaign, status))

    def campaign_records(self) -> list[CampaignRecord]:
        """Every campaign's records, each campaign's in its list order."""
        rows = self._db.execute("SELECT campaign, idx, name, number, variables, state, ord, "
                                "attempts, disposition, contact, not_before, rescheduled "
                                "FROM campaign_records ORDER BY campaign, ord, idx")
        return [CampaignRecord(cid, idx, name, number, json.loads(variables), state, order,
                               json.loads(attempts), disposition, contact, not_before,
                               rescheduled)
                for cid, idx, name, number, variables, state, order, attempts, disposition,
                contact, not_before, rescheduled in rows]

    def save_campaign_record(self, r: CampaignRecord):
        self._db.execute(
            "INSERT OR REPLACE INTO campaign_records (campaign, idx, name, number, variables, "
            "state, ord, attempts, disposition, contact, not_before, rescheduled) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (r.campaign, r.index, r.name, r.number, _json.encode(r.variables).decode(),
             r.state, r.order, _json.encode(r.attempts).decode(), r.disposition, r.contact,
             r.not_before, r.rescheduled))

    def campaign_known(self, campaign: str) -> bool:
        """The database has a status or records of this campaign (it ran before)."""
        return bool(self._db.execute(
            "SELECT 1 FROM campaigns WHERE id = ? UNION ALL "
            "SELECT 1 FROM campaign_records WHERE campaign = ? LIMIT 1",
            (campaign, campaign)).fetchone())

    def campaign_defs(self) -> list[tuple[str, dict | None, list, int]]:
        """What the admin API loaded, in the order it did: (campaign id, its definition (None:
        the scenario's campaign), the records appended to it, the first one's index)."""
        rows = self._db.execute("SELECT id, body, appended, first FROM campaign_defs ORDER BY n")
        return [(cid, json.loads(body) if body else None, json.loads(appended), first)
                for cid, body, appended, first in rows]

    def save_campaign_def(self, campaign: str, body: dict | None, appended: list, first: int):
        self._db.execute(
            "INSERT INTO campaign_defs (id, n, body, appended, first) VALUES (?, "
            "(SELECT COALESCE(MAX(n), 0) + 1 FROM campaign_defs), ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET body = excluded.body, appended = excluded.appended, "
            "first = excluded.first",
            (campaign, json.dumps(body) if body is not None else "", json.dumps(appended), first))

    def delete_campaign_def(self, campaign: str):
        self._db.execute("DELETE FROM campaign_defs WHERE id = ?", (campaign,))

    # -- favorites ---------------------------------------------------------------------------
    def favorites(self) -> dict[str, list[Favorite]]:
        """Every agent's favorites (agents with none are left out)."""
        rows = self._db.execute("SELECT agent, body FROM favorites")
        return {agent: _favorites.decode(body) for agent, body in rows}

    def save_favorites(self, agent: str, favorites: list[Favorite]):
        self._db.execute("INSERT OR REPLACE INTO favorites VALUES (?, ?)",
                         (agent, _json.encode(favorites).decode()))

    # -- help requests (assist.py) -----------------------------------------------------------
    def add_help(self, agent: str, contact: str, created: float) -> HelpRecord:
        """A new open help request of the agent's."""
        cursor = self._db.execute(
            "INSERT INTO help_requests (agent, contact, created, state, supervisor, closed_at) "
            "VALUES (?, ?, ?, 'open', '', 0)", (agent, contact, created))
        assert cursor.lastrowid is not None
        return HelpRecord(cursor.lastrowid, agent, contact, created)

    def help_request(self, help_id: str) -> HelpRecord | None:
        n = _number_of(help_id, HELP_PREFIX)
        row = None if n is None else self._db.execute(
            f"SELECT {_HELP_COLUMNS} FROM help_requests WHERE n = ?", (n,)).fetchone()
        return HelpRecord(*row) if row else None

    def open_help(self, agent: str) -> HelpRecord | None:
        """The agent's open help request (at most one is), or None."""
        row = self._db.execute(f"SELECT {_HELP_COLUMNS} FROM help_requests "
                               "WHERE agent = ? AND state = 'open' ORDER BY n DESC LIMIT 1",
                               (agent,)).fetchone()
        return HelpRecord(*row) if row else None

    def help_requests(self, state: str = "") -> list[HelpRecord]:
        """The help requests (those in ``state``; "": all), newest first."""
        where = "WHERE state = ? " if state else ""
        rows = self._db.execute(f"SELECT {_HELP_COLUMNS} FROM help_requests {where}"
                                "ORDER BY n DESC", (state,) if state else ())
        return [HelpRecord(*row) for row in rows]

    def save_help(self, h: HelpRecord):
        """The request's state, supervisor and end, as they are now."""
        self._db.execute("UPDATE help_requests SET state = ?, supervisor = ?, closed_at = ? "
                         "WHERE n = ?", (h.state, h.supervisor, h.closed_at, h.n))

    # -- call-quality reports (assist.py) ----------------------------------------------------
    def add_quality(self, agent: str, contact: str, problem: str, quality: dict,
                    created: float) -> QualityRecord:
        cursor = self._db.execute(
            "INSERT INTO quality_reports (agent, contact, problem, quality, created) "
            "VALUES (?, ?, ?, ?, ?)",
            (agent, contact, problem, _json.encode(quality).decode(), created))
        assert cursor.lastrowid is not None
        return QualityRecord(cursor.lastrowid, agent, contact, problem, quality, created)

    def quality_report(self, report_id: str) -> QualityRecord | None:
        n = _number_of(report_id, QUALITY_PREFIX)
        row = None if n is None else self._db.execute(
            f"SELECT {_QUALITY_COLUMNS} FROM quality_reports WHERE n = ?", (n,)).fetchone()
        return _quality(row) if row else None

    def quality_reports(self) -> list[QualityRecord]:
        """Every quality report, newest first."""
        rows = self._db.execute(f"SELECT {_QUALITY_COLUMNS} FROM quality_reports "
                                "ORDER BY n DESC")
        return [_quality(row) for row in rows]

    # -- log uploads (assist.py) -------------------------------------------------------------
    def log_progress(self, agent: str, upload: str) -> tuple[int, int]:
        """(the last part in, the parts it has) of the agent's upload in progress; (0, 0)
        when none is."""
        row = self._db.execute("SELECT part, parts FROM log_parts WHERE agent = ? AND "
                               "upload = ? ORDER BY part DESC LIMIT 1", (agent, upload)).fetchone()
        return (row[0], row[1]) if row else (0, 0)

    def add_log_part(self, agent: str, upload: str, part: int, parts: int, text: str):
        self._db.execute("INSERT OR REPLACE INTO log_parts VALUES (?, ?, ?, ?, ?)",
                         (agent, upload, part, parts, text))

    def log_parts_text(self, agent: str, upload: str) -> str:
        """The parts in so far of the agent's upload, joined in order."""
        rows = self._db.execute("SELECT text FROM log_parts WHERE agent = ? AND upload = ? "
                                "ORDER BY part", (agent, upload))
        return "".join(text for (text,) in rows)

    def drop_log_parts(self, agent: str):
        """Forget the agent's uploads in progress."""
        self._db.execute("DELETE FROM log_parts WHERE agent = ?", (agent,))

    def add_log(self, agent: str, upload: str, created: float, parts: int,
                text: str) -> LogRecord:
        size = len(text.encode("utf-8"))
        cursor = self._db.execute(
            "INSERT INTO logs (agent, upload, created, size, parts, text) "
            "VALUES (?, ?, ?, ?, ?, ?)", (agent, upload, created, size, parts, text))
        assert cursor.lastrowid is not None
        return LogRecord(cursor.lastrowid, agent, upload, created, size, parts, text)

    def log(self, log_id: str) -> LogRecord | None:
        """The upload with its text."""
        n = _number_of(log_id, LOG_PREFIX)
        row = None if n is None else self._db.execute(
            f"SELECT {_LOG_COLUMNS}, text FROM logs WHERE n = ?", (n,)).fetchone()
        return LogRecord(*row) if row else None

    def logs(self) -> list[LogRecord]:
        """Every upload kept, newest first, without its text."""
        rows = self._db.execute(f"SELECT {_LOG_COLUMNS} FROM logs ORDER BY n DESC")
        return [LogRecord(*row) for row in rows]

    # -- follow-ups (followups.py) -----------------------------------------------------------
    def add_follow_up(self, agent: str, at: float, note: str, contact: str, customer: str,
                      created: float) -> FollowUpRecord:
        """A new scheduled follow-up of the agent's."""
        cursor = self._db.execute(
            "INSERT INTO follow_ups (agent, at, note, contact, customer, created, state, "
            "due_at, done_at) VALUES (?, ?, ?, ?, ?, ?, 'scheduled', 0, 0)",
            (agent, at, note, contact, customer, created))
        assert cursor.lastrowid is not None
        return FollowUpRecord(cursor.lastrowid, agent, at, note, contact, customer, created)

    def follow_up(self, follow_up_id: str) -> FollowUpRecord | None:
        n = _number_of(follow_up_id, FOLLOW_UP_PREFIX)
        row = None if n is None else self._db.execute(
            f"SELECT {_FOLLOW_UP_COLUMNS} FROM follow_ups WHERE n = ?", (n,)).fetchone()
        return FollowUpRecord(*row) if row else None

    def follow_ups(self, agent: str = "", state: str = "",
                   limit: int = -1) -> list[FollowUpRecord]:
        """The follow-ups (of ``agent``, in ``state``; "": any), soonest ``at`` first (at most
        ``limit``; -1: all)."""
        where = [f"{column} = ?" for column, value in (("agent", agent), ("state", state))
                 if value]
        rows = self._db.execute(
            f"SELECT {_FOLLOW_UP_COLUMNS} FROM follow_ups "
            f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY at, n LIMIT ?",
            (*(v for v in (agent, state) if v), limit))
        return [FollowUpRecord(*row) for row in rows]

    def save_follow_up(self, f: FollowUpRecord):
        """The follow-up's state and its times, as they are now."""
        self._db.execute("UPDATE follow_ups SET state = ?, due_at = ?, done_at = ? WHERE n = ?",
                         (f.state, f.due_at, f.done_at, f.n))

    # -- events ------------------------------------------------------------------------------
    def add_event(self, agent: str, seq: int, at: float, body: str):
        self._db.execute("INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?)",
                         (agent, seq, at, body))
        if seq % PRUNE_EVERY == 0:        # a long-running demo must not grow without end
            self._db.execute("DELETE FROM events WHERE agent = ? AND seq <= ?",
                             (agent, seq - self.keep_events))

    def events(self, agent: str, after: int = 0, limit: int = 1000) -> list[tuple[int, float, str]]:
        """(seq, at, body) of the agent's events with seq > after, oldest first."""
        return self._db.execute("SELECT seq, at, body FROM events WHERE agent = ? AND seq > ? "
                                "ORDER BY seq LIMIT ?", (agent, after, limit)).fetchall()


_CALLBACK_COLUMNS = ('id, n, kind, number, name, queue, start, "end", tz, date, start_local, '
                     'end_local, reason, assignee, created_by, created_at, dnis, status, '
                     'attempts, not_before, contact, outcome')
_CALLBACK_UPDATE = ", ".join(f"{c} = excluded.{c}" for c in _CALLBACK_COLUMNS.split(", ")[1:])
# the fields that many callbacks share (a queue, a zone, a date, a time...): one string each
_SHARED = {2, 5, 8, 9, 10, 11, 12, 13, 14, 16, 17, 21}


_HELP_COLUMNS = "n, agent, contact, created, state, supervisor, closed_at"
_QUALITY_COLUMNS = "n, agent, contact, problem, quality, created"
_LOG_COLUMNS = "n, agent, upload, created, size, parts"
_FOLLOW_UP_COLUMNS = "n, agent, at, note, contact, customer, created, state, due_at, done_at"


def _quality(row) -> QualityRecord:
    n, agent, contact, problem, quality, created = row
    return QualityRecord(n, agent, contact, problem, json.loads(quality), created)


def _callback(row) -> CallbackRecord:
    return CallbackRecord(*(sys.intern(v) if i in _SHARED and v else v
                            for i, v in enumerate(row)))


def _contact(row) -> ContactRecord:
    (cid, n, queue, ani, variables, talk_s, created, status, agent, offered_at, deadline,
     wrapup, attempts, token, kind, consult, owed, agent_leg, conference, recording,
     variable_meta, campaign, callback, note, messages) = row
    return ContactRecord(cid, n, queue, ani, json.loads(variables), talk_s, created, status,
                         agent, offered_at, deadline, wrapup, json.loads(attempts), token,
                         kind or "inbound", json.loads(consult) if consult else None,
                         json.loads(owed) if owed else {}, agent_leg,
                         json.loads(conference) if conference else None,
                         json.loads(recording) if recording else None,
                         json.loads(variable_meta) if variable_meta else {},
                         json.loads(campaign) if campaign else None,
                         json.loads(callback) if callback else None, note,
                         json.loads(messages) if messages else [])

def atomic(method):
    """An engine operation: one store transaction; the records it changed (the engine's
    ``_dirty_agents``, ``_dirty_contacts``, ``_dirty_records`` and ``_dirty_callbacks``) are
    written once, at the end."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        try:
            with self.store.transaction():
                result = method(self, *args, **kwargs)
                for s in self._dirty_agents.values():
                    self.store.save_agent(s)
                for c in self._dirty_contacts.values():
                    self.store.save_contact(c)
                for r in self._dirty_records.values():
                    self.store.save_campaign_record(r)
                for cb in self._dirty_callbacks.values():
                    self.store.save_callback(cb, self._new_history.pop(cb.id, ()))
            return result
        finally:
            self._dirty_agents.clear()
            self._dirty_contacts.clear()
            self._dirty_records.clear()
            self._dirty_callbacks.clear()
            self._new_history.clear()
    return run
