"""The centre's pre-recorded messages (docs/cc-protocol.md, ``play_message`` with ``message``):
an agent on a call has one played to the customer and stays on. A mixin of Engine (engine.py
imports this module), like assist.py; the scenario's ``[[messages]]`` are the messages (code,
label, a raw S16LE mono 8 kHz file), which every snapshot lists (``messages``).

**The request** (``play_recorded``): refused ``unknown_contact`` (not the agent's contact),
``unknown_code`` (not one of the messages), ``not_allowed`` unless the agent has the call and
talks on it (its status "assigned": not held, not passed on), the media bridge holds the
customer's answered leg and it is in the call's room with the agent, no consult or conference
is up, and no message plays to that leg already nor a voice application runs on it
(``_customer_on_call``, which a voice application's request shares: voiceapps.py). The
existing ``play_message`` without a message (the campaign's, on an answering machine:
dialer.py) is another request.

**The playback** is the bridge's: ``play`` with then "rejoin" takes the customer's leg out of
the call's room (the agent hears nothing of the customer meanwhile, the customer only the
message) and, when the file ends, puts it back in that room ("joined"), then says "played".
Until then the leg is marked (``Leg.message``): ccsim places it nowhere else (``_place``
leaves a leg hearing a message out of any room; the bridge does the rejoin), except that
putting it on hold music (the agent holds, consults or transfers meanwhile) is passed on, and
the bridge then leaves it out of the room when the file ends. On "played" ccsim puts the leg
where the call is now (``_connect``: usually nothing is left to do) and tells the agent who
played it a ``notice``: "Message played: <label>" ("Message stopped: <label>" when it was cut
short; "Message not played: <label>" when the bridge refused the play, an "error" of it: the
customer is put back in the call at once). A hang-up on either side ends it with the call,
without a notice.

**Kept**: each message played goes on its contact (``messages``: {"code", "at"}, the admin
API's ``messages_played``). What plays now is the bridge's to say: after a restart, ``adopt``
marks a customer's leg the bridge lists "playing" one of the messages' files.
"""
from __future__ import annotations

import logging

from firmware.cc import protocol as p

from .legs import CUSTOMER, Leg
from .store import ContactRecord, atomic

log = logging.getLogger("ccsim")

# the agent's notices: the message ended, was cut short, or the bridge could not play it
PLAYED, STOPPED, NOT_PLAYED = ("Message played: {}", "Message stopped: {}",
                               "Message not played: {}")


class Messages:
    @atomic
    def play_recorded(self, agent: str, contact: str, code: str):
        """The agent has the centre's message ``code`` played to the customer of the call it
        talks on (the playback ends with a notice)."""
        self._logged_in(agent)
        c = self._contact_of(agent, contact)
        message = self.scenario.message(code)
        if message is None:
            raise self.Refused("unknown_code", f"no message {code[:64]!r}")
        customer = self._customer_on_call(agent, c, "a message is played")
        customer.message, customer.message_by = code, agent
        customer.room = None                    # the bridge takes it out for the message
        self.bridge.play(customer.leg, message.file, "rejoin")
        c.messages.append({"code": code, "at": self.clock()})
        self._dirty_contacts[c.id] = c
        log.info("contact %s: agent %s plays the message %s to the customer", c.id, agent,
                 code)

    def _customer_on_call(self, agent: str, c: ContactRecord, what: str) -> Leg:
        """The customer's leg of the call ``agent`` talks on, for ``what`` ("a message is
        played", "an application is connected"); Refused ``not_allowed`` unless the agent has
        the call and talks on it (status "assigned": not held, not passed on), the bridge
        holds the customer's answered leg in the call's room with the agent, no consult or
        conference is up, no message plays to the leg and no voice application runs on it."""
        status = self._seen(agent, c)
        customer = self.legs.of(c.id, CUSTOMER)
        if c.agent != agent or status != "assigned":
            raise self.Refused("not_allowed", f"contact {c.id} is {status}: {what} on a call "
                               "you talk on")
        if customer is not None and customer.message:
            raise self.Refused("not_allowed", f"contact {c.id}: a message is playing already")
        if customer is not None and self._hears_app(customer):
            raise self.Refused("not_allowed", f"contact {c.id}: the customer is in an "
                               "application already")
        if self.bridge is None or customer is None or customer.state != "answered" \
                or customer.room != c.id:
            raise self.Refused("not_allowed", f"contact {c.id}: the customer's call is not "
                               "the bridge's, or not in the call with you")
        if c.consult is not None or c.conference is not None:
            raise self.Refused("not_allowed", f"contact {c.id}: end the consult or the "
                               "conference first")
        return customer

    def _message_played(self, c: ContactRecord, leg: Leg, event: dict):
        """The bridge's "played" of a leg: the centre's message the customer heard is over
        (the campaign's, played before a hang-up, is no news: its leg is forgotten)."""
        if leg.message:
            stopped = event.get("stopped") is True
            log.info("contact %s: the message %s %s", c.id, leg.message,
                     "was stopped" if stopped else "has played")
            self._message_over(c, leg, STOPPED if stopped else PLAYED)

    def _message_failed(self, c: ContactRecord, leg: Leg):
        """The bridge refused to play the message (an "error" of its play): the customer is
        put back in the call at once."""
        log.warning("contact %s: the message %s was not played", c.id, leg.message)
        self._message_over(c, leg, NOT_PLAYED)

    def _message_over(self, c: ContactRecord, leg: Leg, notice: str):
        """The leg hears no message any more: the agent who played it is told (``notice``
        with its label), the customer is put where the call is now."""
        message = self.scenario.message(leg.message)
        label = message.label if message is not None else leg.message
        s = self._records.get(leg.message_by or c.agent)
        leg.message = leg.message_by = ""
        if s is not None and s.state != "logged_out":
            self._emit(s, p.Notice, text=notice.format(label))
        self._connect(c)                        # (usually in the room already: the rejoin)

    def _adopt_message(self, leg: Leg, item: dict, agent: str):
        """After a restart: a customer's leg the bridge lists playing one of the messages."""
        playing = item.get("playing")
        code = next((m.code for m in self.scenario.messages if m.file == playing), "")
        if leg.role == CUSTOMER and code:
            leg.message, leg.message_by = code, agent

    def _wire_messages(self) -> list[p.Code]:
        """The snapshot's ``messages``."""
        return [p.Code(m.code, m.label) for m in self.scenario.messages]

    @staticmethod
    def _messages_info(c: ContactRecord) -> list[dict]:
        """The admin's ``messages_played``."""
        return [{"code": m["code"], "at": m["at"]} for m in c.messages]
