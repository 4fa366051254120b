"""Pre-recorded messages: `More` -> `Message` on a call picks one of the centre's (the
snapshot's ``messages``: a privacy notice, "please hold") and the side that holds the
customer's leg plays it to them while the agent stays on; the server says when it has played.
The campaign's answering-machine message is campaigns.leave_message."""
from __future__ import annotations

from dataclasses import dataclass

from .effects import CcPlayMessage, Step
from .form import Field, FieldKind, Purpose, Submitted
from .forms import ON_SUBMIT, open_form
from .model import Model, with_notice
from .navigation import in_view, leave_menus
from .reasons import label

TITLE = "Message"
NONE = "No messages on this server"
NO_CALL = "Messages play on a call"
NO_SERVER = "No server: no message"


@dataclass(frozen=True)
class MessageFor(Purpose):
    contact: str


def open_messages(m: Model) -> Step:
    """The centre's messages to pick from, for the customer on the call in view."""
    call, contact = in_view(m)
    m = leave_menus(m)
    messages = m.agent.messages if m.agent is not None else ()
    if not messages:
        return with_notice(m, NONE), ()
    if not call or not contact:
        return with_notice(m, NO_CALL), ()
    field = Field("message", TITLE, FieldKind.CHOICE, required=True,
                  choices=tuple((c.code, c.label) for c in messages), initial=messages[0].code)
    return open_form(m, MessageFor(contact), TITLE, (field,)), ()


def play(m: Model, p: MessageFor, values: Submitted) -> Step:
    if m.links.cc != "up":
        return with_notice(m, NO_SERVER), ()
    code = values["message"]
    shown = label(m.agent.messages if m.agent is not None else (), code)
    return with_notice(m, f"Playing {shown}"), (CcPlayMessage(p.contact, code),)


ON_SUBMIT[MessageFor] = play
