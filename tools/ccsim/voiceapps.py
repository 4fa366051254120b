"""Voice applications (docs/cc-protocol.md, ``connect_app``): an agent on a call connects the
customer to an IVR (a card payment, a survey) or a voice signature, which the media bridge
runs on the customer's leg (bridge_apps.py). A mixin of Engine (engine.py imports this
module), like messages.py; the scenario's ``[[voice_apps]]`` are the applications, which
every snapshot lists (``voice_apps``). Kept in ccsim's SQLite file, in a table of this
module's own (``voice_apps``: one row per run), in the engine's transactions.

**The request** (``connect_app``): refused ``unknown_contact`` (not the agent's contact),
``unknown_code`` (not one of the applications), ``not_allowed`` on the same grounds as a
pre-recorded message (messages.py ``_customer_on_call``: the agent talks on the call, not
held, the bridge holds the customer's answered leg in the call's room, no consult or
conference, no message playing and no application running on that leg).

**The run** is the bridge's "app": the customer's leg leaves the call's room (the agent hears
nothing of the customer, the customer nothing of the agent), hears the prompt, then an "ivr"
counts the DTMF keys the customer sends (until #, max_digits, or timeout_s without a key; ok
when any came) and a "signature" records record_s of the customer's voice into
``<data dir>/signatures/<contact>-<code>-<k>.wav`` (the database file's directory) and judges
it by level (ok: speech). The digits never leave the bridge: only how many came is told,
kept (``digits``) and shown to the admin; nothing of them is logged or sent to the phone.
While it runs the leg is the application's: ccsim places it in no room (``_place``; hold
music asked meanwhile is passed on, and then the bridge does not put it back by itself).

**The end**: where the application lets the agent stay (``agent_stays``), the bridge puts the
customer back in the room it left ("joined"), then says "app_done"; ccsim puts the leg where
the call is now (``_connect``) and sends the agent who connected it an ``app_result``: ok and
the application's ok_text or fail_text. Otherwise the agent's leg is released at once on
connect (the contact goes to wrap-up as when the agent hangs up), the customer's leg is the
application's alone (forgotten by the contact) and the bridge hangs it up when it is over;
the ``app_result`` still goes to the agent. A customer who hangs up meanwhile: "Customer hung
up"; the call ended by the agent: "Call ended"; an application the bridge could not start:
"Application not connected" (the customer is put back at once).

**Kept**: each run's row (contact, code, agent, the leg, when, ok NULL while it runs, the text,
the digits' count, the recording's path): the admin API's ``apps`` of a contact. After a
restart ``adopt`` takes back the runs the bridge lists going on (a leg's "app"), and ends the
others "Call ended".
"""
from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from firmware.cc import protocol as p

from .legs import Leg
from .store import atomic

log = logging.getLogger("ccsim")

CUSTOMER_GONE, CALL_ENDED, NOT_CONNECTED = ("Customer hung up", "Call ended",
                                            "Application not connected")
SIGNATURES = "signatures"       # the recordings' folder, beside the database file

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS voice_apps (   -- each application run (voiceapps.py)
        n INTEGER PRIMARY KEY, contact TEXT NOT NULL, code TEXT NOT NULL, agent TEXT NOT NULL,
        leg TEXT NOT NULL, at REAL NOT NULL,
        ok INTEGER,                              -- NULL while it runs
        text TEXT NOT NULL DEFAULT '', digits INTEGER, recording TEXT)""",
    "CREATE INDEX IF NOT EXISTS voice_apps_contact ON voice_apps (contact, n)",
)


@dataclass
class Running:
    """An application running on a customer's leg, as ccsim knows it."""
    n: int                      # its row
    contact: str
    code: str
    agent: str                  # who connected it: told how it ended
    stays: bool                 # the agent stays on the call (else the leg is the app's alone)


class VoiceApps:
    def _init_voice_apps(self):
        for statement in _SCHEMA:
            self.store.db.execute(statement)
        self._app_runs: dict[str, Running] = {}     # by the customer's leg

    def _wire_voice_apps(self) -> list[p.VoiceApp]:
        """The snapshot's ``voice_apps``."""
        return [p.VoiceApp(a.code, a.label, a.kind, a.agent_stays)
                for a in self.scenario.voice_apps]

    def _hears_app(self, leg: Leg) -> bool:
        """The leg is in a voice application: the bridge, not ccsim, says where it is."""
        return leg.leg in self._app_runs

    # -- the request -------------------------------------------------------------------------
    @atomic
    def connect_app(self, agent: str, contact: str, code: str):
        """The agent connects the customer of the call it talks on to the application
        ``code`` (an ``app_result`` tells how it ended)."""
        self._logged_in(agent)
        c = self._contact_of(agent, contact)
        app = self.scenario.voice_app(code)
        if app is None:
            raise self.Refused("unknown_code", f"no voice application {code[:64]!r}")
        customer = self._customer_on_call(agent, c, "an application is connected")
        db = self.store.db
        n = db.execute("INSERT INTO voice_apps (contact, code, agent, leg, at) VALUES "
                       "(?, ?, ?, ?, ?)", (c.id, code, agent, customer.leg, self.clock())
                       ).lastrowid
        self._app_runs[customer.leg] = Running(n, c.id, code, agent, app.agent_stays)
        customer.room = None                    # the bridge takes it out for the application
        then = "rejoin" if app.agent_stays else "hangup"
        if app.kind == "signature":
            file = self._signature_file(c.id, code)
            db.execute("UPDATE voice_apps SET recording = ? WHERE n = ?", (file, n))
            self.bridge.app(customer.leg, code, app.prompt, "speech", then,
                            record_s=app.record_s, file=file)
        else:
            self.bridge.app(customer.leg, code, app.prompt, app.collect, then,
                            max_digits=app.max_digits, timeout_s=app.timeout_s)
        log.info("contact %s: agent %s connects the customer to the application %s%s", c.id,
                 agent, code, "" if app.agent_stays else " and leaves the call")
        if not app.agent_stays:
            self.legs.drop(customer.leg)        # the application's alone: it hangs up
            self._end(c)                        # as when the agent hangs up: wrap-up
            self._hang_up_legs(c)

    def _signature_file(self, contact: str, code: str) -> str:
        """Where a signature's answer is recorded: <data dir>/signatures/<contact>-<code>-<k>
        .wav, k counting the contact's runs (the data dir: the database file's, else the
        temporary directory's ccsim/)."""
        rows = self.store.db.execute("PRAGMA database_list").fetchall()
        db = next((row[2] for row in rows if row[1] == "main"), "")
        folder = (Path(db).resolve().parent if db else Path(tempfile.gettempdir()) / "ccsim") \
            / SIGNATURES
        folder.mkdir(parents=True, exist_ok=True)
        k = self.store.db.execute("SELECT count(*) FROM voice_apps WHERE contact = ?",
                                  (contact,)).fetchone()[0]
        return str(folder / f"{contact}-{code}-{k}.wav")

    # -- the bridge's news -------------------------------------------------------------------
    def _app_event(self, name: str, event: dict) -> bool:
        """A bridge event of leg ``name`` while it is in an application: its end ("app_done"),
        the bridge's refusal of it, the leg's end. True when nothing more is to be done with
        it (the contact's own handling of the leg is skipped)."""
        run = self._app_runs.get(name)
        if run is None:
            return False
        kind = event.get("event")
        if kind == "app_done":
            app = self.scenario.voice_app(run.code)
            ok = event.get("ok") is True
            text = (app.ok_text if ok else app.fail_text) if app is not None else \
                ("Done" if ok else "Not done")
            digits = event.get("digits")
            self._app_over(name, run, ok, text,
                           digits if isinstance(digits, int) and digits >= 0 else None)
            return True
        if kind == "error" and str(event.get("reason", "")).startswith("app"):
            log.warning("contact %s: the bridge could not connect the application %s: %s",
                        run.contact, run.code, event.get("reason", ""))
            self._app_over(name, run, False, NOT_CONNECTED)
            if not run.stays:                   # nobody's call any more
                self.bridge.hangup(name)
            return True
        if kind == "ended":                     # ccsim hung it up (the call ended), or not
            asked = event.get("reason") == "hangup requested" or (
                run.stays and self.legs.get(name) is None)
            self._app_over(name, run, False, CALL_ENDED if asked else CUSTOMER_GONE,
                           put_back=False)
            return not run.stays                # else the customer is gone, as ever
        return not run.stays

    def _app_over(self, name: str, run: Running, ok: bool, text: str,
                  digits: int | None = None, put_back: bool = True):
        """The run is over: kept, the agent who connected it told (``app_result``), and the
        customer put where the call is now (``put_back``: the leg is still up)."""
        del self._app_runs[name]
        self.store.db.execute("UPDATE voice_apps SET ok = ?, text = ?, digits = ? WHERE n = ?",
                              (int(ok), text, digits, run.n))
        log.info("contact %s: the application %s is over (%s)", run.contact, run.code,
                 "ok" if ok else text)
        s = self._records.get(run.agent)
        if s is not None and s.state != "logged_out":
            self._emit(s, p.AppResult, contact=run.contact, app=run.code, ok=ok, text=text)
        c = self._live.get(run.contact)
        if put_back and run.stays and c is not None:
            self._connect(c)                    # (usually in the room already: the rejoin)

    # -- restart -----------------------------------------------------------------------------
    def _adopt_apps(self, listing: dict):
        """At adopt: the runs the bridge lists going on (a leg's "app", that run's leg and
        code) are taken back; the others are over, "Call ended"."""
        self._app_runs = {}
        listed = {(str(item.get("leg")), item.get("app")) for item in listing.get("legs", [])
                  if isinstance(item, dict) and item.get("app")}
        db = self.store.db
        for n, contact, code, agent, leg in db.execute(
                "SELECT n, contact, code, agent, leg FROM voice_apps WHERE ok IS NULL "
                "ORDER BY n").fetchall():
            app = self.scenario.voice_app(code)
            if (leg, code) in listed and leg not in self._app_runs and app is not None:
                self._app_runs[leg] = Running(n, contact, code, agent, app.agent_stays)
                log.info("contact %s: the application %s goes on (leg %s)", contact, code, leg)
            else:
                db.execute("UPDATE voice_apps SET ok = 0, text = ? WHERE n = ?", (CALL_ENDED, n))

    def _app_leg_kept(self, name: str) -> bool:
        """At adopt: the leg is an application's alone (the agent left it): no contact's."""
        run = self._app_runs.get(name)
        return run is not None and not run.stays

    def _apps_info(self, contact: str) -> list[dict]:
        """The admin's ``apps`` of a contact: each run, in order (ok null while it runs)."""
        rows = self.store.db.execute(
            "SELECT code, at, ok, text, digits, recording FROM voice_apps WHERE contact = ? "
            "ORDER BY n", (contact,)).fetchall()
        return [{"code": code, "at": at, "ok": None if ok is None else bool(ok), "text": text,
                 **({"digits": digits} if digits is not None else {}),
                 **({"recording": recording} if recording else {})}
                for code, at, ok, text, digits, recording in rows]
