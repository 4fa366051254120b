"""Recording (docs/cc-protocol.md, "Recording"): the server records a contact of a recorded
queue and says so on the contact; the call screen shows `REC`, or `REC‖` and the time until
the pause resumes by itself. `Pause` (a softkey, while the customer reads out a card number)
and `Resum` ask the server, which pauses the recording itself: the phone records nothing.
Neither in a consult nor in a conference (the others did not ask for it): said at once, and
the server refuses them there too.
"""
from __future__ import annotations

from . import events as ev
from .effects import CcPauseRecording, CcResumeRecording, Step
from .model import Call, Model, with_notice

IN_CONSULT = "No rec pause: consult"
IN_CONFERENCE = "No rec pause: conf"
NO_SERVER = "No server: rec as is"
NOT_RECORDED = "Not recorded"
# the server's refusals (CcRefused "pause_recording" / "resume_recording"), in the agent's words
REFUSED = {"not_allowed": "Rec pause not allowed"}


def recording(m: Model, call: Call) -> ev.Recording | None:
    """The recording of the call's contact while it records (the customer leg only)."""
    contact = m.contact(call.contact)
    if call.leg != "customer" or contact is None:
        return None
    return contact.recording


def toggle(m: Model, call: Call) -> Step:
    """`Pause` / `Resum`: ask the server to pause or resume the contact's recording."""
    contact = m.contact(call.contact)
    rec = recording(m, call)
    if contact is None or rec is None:
        return with_notice(m, NOT_RECORDED), ()
    if contact.consult is not None or m.consult_of(contact.id):
        return with_notice(m, IN_CONSULT), ()
    if contact.conference is not None:
        return with_notice(m, IN_CONFERENCE), ()
    if m.links.cc != "up":
        return with_notice(m, NO_SERVER), ()
    return m, ((CcResumeRecording if rec.paused else CcPauseRecording)(contact.id),)


def refused(m: Model, e: ev.CcRefused) -> Step:
    return with_notice(m, REFUSED.get(e.code, e.message)), ()
