"""Voicemail: personal calls the agent doesn't take go to their box on the server side (the
call server routes them; forwarding.py). The server says how many messages wait (over the
contact-center link: the SIP stack has no message-summary subscription), the message lamp
lights while any do, and `Menu` -> `Voicemail` calls the box, whose menu the keys drive as
on any desk phone (1 play, 4 back 5 s, 6 next, 7 delete, 9 record the greeting)."""
from __future__ import annotations

from dataclasses import replace

from . import dialpad
from . import events as ev
from .effects import Step
from .model import Model, with_notice
from .navigation import leave_menus

NO_BOX = "No voicemail on this server"


def lamp(m: Model) -> bool:
    """The message lamp: messages wait."""
    return m.agent is not None and m.agent.voicemail_waiting > 0


def call_box(m: Model) -> Step:
    m = leave_menus(m)
    number = m.agent.voicemail_number if m.agent is not None else ""
    if not number:
        return with_notice(m, NO_BOX), ()
    return dialpad.dial(m, number)


def changed(m: Model, e: ev.CcVoicemail) -> Step:
    if m.agent is None:
        return m, ()
    more = e.waiting > m.agent.voicemail_waiting
    m = replace(m, agent=replace(m.agent, voicemail_waiting=e.waiting,
                                 voicemail_messages=e.messages))
    return (with_notice(m, f"New voicemail ({e.waiting})") if more else m), ()
