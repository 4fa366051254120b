"""The boot and home screens, and the agent's state as words."""
from __future__ import annotations

import time

from firmware.core.campaigns import logout_left
from firmware.core.forwarding import forward_line
from firmware.core.helprequest import help_line
from firmware.core.model import Model
from firmware.core.reasons import label

from ..glyphs import CHECK, CROSS, HANDSET
from ..text import split, wrap

STATE_NAMES = {"idle": "Idle", "available": "Available", "reserved": "Connecting",
               "ringing": "Ringing", "talking": "Talking", "held": "Held", "wrapup": "Wrap-up"}
# reasons the server sets itself: "login" is plain Idle, "rona" a missed offer, "rejected" one
# the agent turned down
SYSTEM_REASONS = {"login": "", "rona": "RONA", "rejected": "Rejected"}
# no synchronized clock yet (firmware.app.timesync): the links wait, and so does the clock
WAITING_FOR_TIME = "Waiting for time"
NO_CLOCK = "--:--"


def boot(m: Model, _s):
    return [f"hardphone {m.info.version}", "Starting..."]


def home(m: Model, _s):
    cols = m.info.display.cols
    clock = NO_CLOCK if m.waiting_for_time else time.strftime("%H:%M", time.localtime(m.now))
    date = "" if m.waiting_for_time else time.strftime("%a %d %b %Y", time.localtime(m.now))
    status = (f"NET{_mark(m.links.ip is not None)} SIP{_link(m.links.sip, 'registered')} "
              f"CC{_link(m.links.cc, 'up')}")
    message = (m.active_notice() or m.storage_problem
               or (WAITING_FOR_TIME if m.waiting_for_time else "") or m.sip_problem
               or (m.cc_problem if m.links.cc != "up" else "")
               or (m.logged_out_why if m.agent is None else ""))
    if len(message) > cols:                 # a long message takes the status row too
        return [split(state_line(m), clock, cols), *wrap(message, cols, 2)]
    if len(status) + 1 + len(date) <= cols:   # a wide display has the date beside the links
        status, date = split(status, date, cols), ""
    third = (message or (f"{HANDSET} Handset lifted" if m.hook_lifted else "")
             or help_line(m) or pending_line(m) or forward_line(m) or voicemail_line(m) or date)
    return [split(state_line(m), clock, cols), status, third]


def voicemail_line(m: Model) -> str:
    waiting = m.agent.voicemail_waiting if m.agent is not None else 0
    return f"{waiting} voicemail{'s' if waiting > 1 else ''}" if waiting else ""


def state_line(m: Model) -> str:
    """"Available", "Idle: Lunch", "Wrap-up", ..."""
    if m.agent is None:
        return "Logging in..." if m.login_pending else "Logged out"
    s = m.agent
    name = STATE_NAMES.get(s.state, s.state.title())
    reason = SYSTEM_REASONS.get(s.reason, label(s.idle_codes, s.reason))
    return f"{name}: {reason}" if s.state == "idle" and reason else name


def pending_line(m: Model) -> str:
    """The state the server applies after the contact: "Next: Idle Lunch"."""
    if m.agent is None or m.agent.pending is None:
        return ""
    state, reason = m.agent.pending
    if state == "idle":
        return f"Next: Idle {label(m.agent.idle_codes, reason)}".rstrip()
    if state == "logged_out":
        left = logout_left(m)           # a negotiated one (campaigns): its countdown
        if left is not None:
            return f"Logout in {left} s" if left else "Logout after call"
        return "Next: Logout"
    return f"Next: {STATE_NAMES.get(state, state.title())}"


def _mark(ok: bool) -> str:
    return CHECK if ok else CROSS


def _link(state: str, good: str) -> str:
    return "-" if state == "off" else _mark(state == good)
