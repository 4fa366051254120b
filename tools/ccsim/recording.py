"""Recording (docs/cc-protocol.md, "Recording"): a recorded queue's contact is recorded from
when the customer and an agent first talk until its call is over, by the bridge (recorder.py:
the room's mix into ``<contact>.wav``). The agent in control may pause it (a card number is
read out) and resume it; a pause resumes by itself after [recording] auto_resume_s. Neither in
a consult nor in a conference: the others on the call did not ask for it.

``c.recording`` (kept with the contact): {"file", "state": "on" | "paused" | "stopped",
"started", "resumes_at", "pauses": [[from, until], ...]} (server times; until 0 while paused).
A mixin of Engine: it uses the engine's clock, bridge, timers and telling (and its Refused,
as ``self.Refused``: engine.py imports this module).
"""
from __future__ import annotations

import logging
from pathlib import Path

from firmware.cc import protocol as p

from .store import TALKING, ContactRecord, atomic

log = logging.getLogger("ccsim")


class Recording:
    # -- requests ---------------------------------------------------------------------------
    @atomic
    def pause_recording(self, agent: str, contact: str):
        c = self._recordable(agent, contact, "pause")
        rec = c.recording
        if rec["state"] != "on":
            raise self.Refused("not_allowed", f"contact {c.id}'s recording is paused already")
        now = self.clock()
        rec.update(state="paused", resumes_at=now + self.scenario.recording.auto_resume_s)
        rec["pauses"].append([now, 0.0])
        self.bridge.record_pause(c.id, True)
        self._arm_at(rec["resumes_at"], c)
        log.info("contact %s: agent %s paused the recording", c.id, agent)
        self._tell_all(c)

    @atomic
    def resume_recording(self, agent: str, contact: str):
        c = self._recordable(agent, contact, "resume")
        if c.recording["state"] != "paused":
            raise self.Refused("not_allowed", f"contact {c.id}'s recording is not paused")
        self._resume(c)
        log.info("contact %s: agent %s resumed the recording", c.id, agent)

    def _recordable(self, agent: str, contact: str, what: str) -> ContactRecord:
        self._logged_in(agent)
        c = self._contact_of(agent, contact)
        if c.recording is None or c.recording["state"] == "stopped":
            raise self.Refused("not_allowed", f"contact {c.id} is not recorded")
        if c.agent != agent or c.status not in TALKING or agent in c.owed:
            raise self.Refused("not_allowed", f"only the agent in control may {what} "
                               f"contact {c.id}'s recording")
        if c.consult is not None:
            raise self.Refused("not_allowed", f"no recording {what} during a consult")
        if c.conference is not None:
            raise self.Refused("not_allowed", f"no recording {what} in a conference")
        return c

    # -- the recording's life ---------------------------------------------------------------
    def _start_recording(self, c: ContactRecord):
        """The customer and an agent talk: a recorded queue's contact starts recording (once:
        it goes on through holds, consults and transfers until the call is over)."""
        if (c.recording is not None or self.bridge is None
                or c.queue not in self.scenario.recorded):
            return
        folder = Path(self.scenario.recording.dir).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        c.recording = {"file": str(folder / f"{c.id}.wav"), "state": "on",
                       "started": self.clock(), "resumes_at": 0.0, "pauses": []}
        self.bridge.record(c.id, c.recording["file"])
        log.info("contact %s: recording into %s", c.id, c.recording["file"])
        self._tell_all(c)

    def _resume(self, c: ContactRecord):
        rec = c.recording
        rec.update(state="on", resumes_at=0.0)
        rec["pauses"][-1][1] = self.clock()
        self.bridge.record_pause(c.id, False)
        self._tell_all(c)

    def _stop_recording(self, c: ContactRecord, bridge_gone: bool = False):
        """The contact's call is over: its recording file is closed (``bridge_gone``: the
        bridge that wrote it died, the file ends where it did)."""
        rec = c.recording
        if rec is None or rec["state"] == "stopped":
            return
        if rec["state"] == "paused":
            rec["pauses"][-1][1] = self.clock()
        rec.update(state="stopped", resumes_at=0.0)
        if self.bridge is not None and not bridge_gone:
            self.bridge.record_stop(c.id)
        self._dirty_contacts[c.id] = c

    @staticmethod
    def _resume_deadline(c: ContactRecord, at: float) -> bool:
        rec = c.recording
        return rec is not None and rec["state"] == "paused" and rec["resumes_at"] == at

    # -- what is shown ----------------------------------------------------------------------
    @staticmethod
    def _wire_recording(c: ContactRecord) -> p.RecordingState | None:
        rec = c.recording
        if rec is None or rec["state"] == "stopped":
            return None
        return p.RecordingState(paused=rec["state"] == "paused", resumes_at=rec["resumes_at"])

    @staticmethod
    def _recording_info(c: ContactRecord) -> dict | None:
        rec = c.recording
        if rec is None:
            return None
        return {"state": rec["state"], "file": rec["file"], "started": rec["started"],
                "resumes_at": rec["resumes_at"] or None,
                "pauses": [{"from": a, "until": b or None} for a, b in rec["pauses"]]}
