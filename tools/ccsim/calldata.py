"""Call data (docs/cc-protocol.md, "Call data"): the agents on a contact (the one in control,
a consulted agent, a conference's agents) change the variables the admin's layout makes
editable, the first save winning: each save names the version its draft started from, and a
save over a version another agent's save replaced is refused ``variable_changed`` with who
changed it and the value now (the refused agent keeps the draft to retry). Secure variables
are never sent with the contact; ``get_variable`` fetches one for an agent on the contact.

``c.variable_meta`` (kept with the contact): {name: {"version", "by"}} for each variable
changed (version 1, by nobody, until then). A mixin of Engine, like recording.py.

A campaign's record (kind "campaign"): its campaign's ``fields`` are its layout (those
``editable`` are saved, by the same rules), also by its agent while it dials or in its
wrap-up ("While on the record"), and a saved value is kept on the record (campaigns.py): its
next attempt shows it.
"""
from __future__ import annotations

import datetime
import logging

from firmware.cc import protocol as p
from firmware.core.form import is_iso_datetime

from .store import TALKING, ContactRecord, atomic

log = logging.getLogger("ccsim")


class CallData:
    @atomic
    def set_variable(self, agent: str, contact: str, name: str, value: str, version: int):
        c = self._on_contact(agent, contact, on_record=True)
        layout = self._record_fields(c) if c.kind == "campaign" else self.scenario.layout
        spec = next((v for v in layout if v.name == name), None)
        if spec is None or not spec.editable or spec.secure:
            raise self.Refused("not_editable", f"{name} is not an editable variable")
        problem = value_problem(spec, value)
        if problem:
            raise self.Refused("bad_value", f"{spec.label}: {problem}")
        meta = c.variable_meta.get(name, {"version": 1, "by": ""})
        if version != meta["version"]:
            by = self._agents[meta["by"]].name if meta["by"] in self._agents else "another agent"
            raise self.Refused("variable_changed",
                               f"Changed by {by}: {c.variables.get(name, '')}")
        c.variables = {**c.variables, name: value}
        c.variable_meta = {**c.variable_meta, name: {"version": meta["version"] + 1,
                                                      "by": agent}}
        log.info("contact %s: %s changed %s (version %d)", c.id, agent, name,
                 meta["version"] + 1)
        self._dirty_contacts[c.id] = c
        if c.kind == "campaign":
            self._record_variable_saved(c, name, value)
        self._tell_everyone(c)

    def get_variable(self, agent: str, contact: str, name: str) -> p.VariableValue:
        """The value now (never logged: a secure one goes only to the asking phone)."""
        c = self._on_contact(agent, contact)
        if name not in c.variables:
            raise self.Refused("not_editable", f"contact {c.id} has no variable {name}")
        version = c.variable_meta.get(name, {"version": 1})["version"]
        return p.VariableValue(id="", contact=c.id, name=name, value=c.variables[name],
                               version=version)

    def _on_contact(self, agent: str, contact: str, on_record: bool = False) -> ContactRecord:
        """The contact, if ``agent`` talks on it (in control, consulted, or in its conference);
        ``on_record``: a campaign record's agent also while it dials or in its wrap-up."""
        self._logged_in(agent)
        c = self._contact_of(agent, contact)
        if (on_record and c.kind == "campaign" and c.agent == agent and agent not in c.owed
                and c.status in ("dialing", "wrapup")):
            return c
        if c.status not in TALKING or agent in c.owed:
            raise self.Refused("unknown_contact", f"you are not on contact {c.id}'s call")
        return c

    def _tell_everyone(self, c: ContactRecord):
        """Every agent on the contact's call: in control, consulted, in its conference."""
        self._tell_all(c)
        k = c.consult
        if k is not None and k.get("agent") and k["agent"] in self._on_agent and (
                c.id in self._on_agent[k["agent"]]):
            self._tell_to(k["agent"], c)

    # -- what is shown ----------------------------------------------------------------------
    def _wire_variables(self, c: ContactRecord) -> tuple[dict[str, str], dict[str, int],
                                                         dict[str, str]]:
        """The variables as a phone gets them (a secure one by name only: its value ""),
        their versions and who changed them."""
        secure = {v.name for v in self.scenario.layout if v.secure}
        return ({k: "" if k in secure else v for k, v in c.variables.items()},
                {k: m["version"] for k, m in c.variable_meta.items()},
                {k: self._agents[m["by"]].name for k, m in c.variable_meta.items()
                 if m["by"] in self._agents})

    def _variables_info(self, c: ContactRecord) -> dict[str, dict]:
        """The admin's view: each variable's value (a secure one: never) and version."""
        secure = {v.name for v in self.scenario.layout if v.secure}
        return {name: {"value": None if name in secure else value, "secure": name in secure,
                       "version": c.variable_meta.get(name, {}).get("version", 1),
                       "changed_by": c.variable_meta.get(name, {}).get("by") or None}
                for name, value in c.variables.items()}


def value_problem(spec: p.VariableLayout, value: str) -> str:
    """What is wrong with ``value`` for the variable, in the agent's words; "" if nothing."""
    if len(value) > p.MAX_VARIABLE_VALUE_CHARS:
        return f"at most {p.MAX_VARIABLE_VALUE_CHARS} characters"
    if any(ord(ch) < 0x20 for ch in value):
        return "one line, no control characters"
    if spec.kind == "datetime" and value and not is_iso_datetime(value):
        return "ISO 8601, YYYY-MM-DDTHH:MM"
    if spec.kind == "date" and value:
        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            return "a date, YYYY-MM-DD"
    return ""
