"""The dial pad: typing a number and placing the call; emergency numbers from any state.

Digits at home, or the handset lifted with nothing to answer, open the dial screen. `ok`, the
`Dial` softkey, `speaker` or `headset` (or lifting the handset) dial what is typed.

Any other number goes to the contact-center server first (CcDial): it says where the call goes
and whether it is an outbound contact (wrapped up like any other) or an internal call, or
refuses it with a reason (the centre's concurrent-call limit). An emergency number (the
device's list: 911, 112 and the config's) never waits for that: it dials the moment it is
typed, whatever the agent's state, the server's or the calls up. (Extensions must therefore not
begin with one, as on any call server that routes 911 urgently.)
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from . import events as ev
from .effects import CcCallEvent, CcDial, Effects, SipDial, SipHold, Step, StopTone
from .model import Call, CallScreen, DialScreen, HistoryEntry, HistoryScreen, Model, with_notice
from .navigation import change, close, find, pop, push, replace_top, show
from .vocab import Action, HandsFree

MAX_DIAL = 32                # more than any E.164 number (15) with a prefix and an extension
DIAL_KEYS = frozenset("0123456789*#")
TOO_LONG = f"Number too long ({MAX_DIAL} max)"
LOG_IN_FIRST = "Log in to dial (emergency calls always go)"
NO_SERVER = "No server: only emergency calls"
HISTORY_KEPT = 30


def is_emergency(m: Model, number: str) -> bool:
    return number in m.info.emergency


def open_dial(m: Model, first: str = "") -> Step:
    """Open the dial screen (with the first key typed), or type into the one already open."""
    screen = find(m, DialScreen)
    if screen is None:
        m = push(m, DialScreen())
    return type_key(m, first) if first else (m, ())


def type_key(m: Model, key: str) -> Step:
    """One more character on the dial screen; an emergency number is dialed as soon as it is
    complete."""
    screen = find(m, DialScreen)
    if screen is None:
        return m, ()
    if len(screen.number) >= MAX_DIAL:
        return with_notice(m, TOO_LONG), ()
    number = screen.number + key
    m = replace_top(m, replace(screen, number=number)) if m.screen is screen else m
    if is_emergency(m, number):
        return dial(m, number)
    return m, ()


def plus(m: Model, s: DialScreen) -> Step:
    """A long press of 0 types `+` (international prefix) in place of the 0 it began."""
    if s.number.endswith("0"):
        return replace_top(m, replace(s, number=s.number[:-1] + "+")), ()
    return m, ()


def dial_key(m: Model, s: DialScreen, action: Action) -> Step:
    if action in DIAL_KEYS:
        return type_key(m, action)
    if action == "back":
        if s.number:
            return replace_top(m, replace(s, number=s.number[:-1])), ()
        return pop(m), ()
    if action in ("ok", "dial") and s.number:
        return dial(m, s.number)
    return m, ()


def hands_free(m: Model, s: DialScreen, key: HandsFree) -> Step:
    """`speaker` / `headset` on the dial screen: dial on it, or (nothing typed yet) go
    off-hook on it, as on any desk phone."""
    m = replace(m, hands_free=key)
    return dial(m, s.number) if s.number else (m, ())


def dial(m: Model, number: str) -> Step:
    """Place the call: it shows `Calling` on the call screen at once; the call up in front is
    held first. Its audio goes to the handset if lifted, else hands-free (the speaker unless
    the headset was chosen). An emergency number goes out at once; any other asks the server
    (which may refuse it: the dial screen stays, with the reason)."""
    emergency = is_emergency(m, number)
    if not emergency:
        why = cannot_dial(m)
        if why:
            return with_notice(m, why), ()
    m, call, fx = place(m, number, emergency=emergency)
    go = SipDial(call.id, number, emergency) if emergency else CcDial(call.id, number)
    return m, fx + (go,)


def cannot_dial(m: Model) -> str:
    """Why the agent can't place a (non-emergency) call now; "" if they can."""
    return (LOG_IN_FIRST if m.agent is None else NO_SERVER if m.links.cc != "up"
            else "Dialing already" if any(c.awaiting for c in m.calls) else "")


def place(m: Model, number: str, contact: str = "", emergency: bool = False,
          awaiting: bool | None = None, sip_call: str = "") -> tuple[Model, Call, Effects]:
    """A placed call on the call screen, `Calling`, the call up in front held first; what
    sends its INVITE (or asks the server first: ``awaiting``, the default for all but an
    emergency call) is the caller's to add. ``sip_call``: a SIP call up already, on which the
    server dials ``number`` (reservation.py)."""
    call = Call(sip_call or f"dial-{m.next_dial}", contact, number, "calling", m.now,
                accepted=True, outbound=True, emergency=emergency,
                awaiting=not emergency if awaiting is None else awaiting,
                server_dials=bool(sip_call))
    holds: Effects = tuple(SipHold(c.id) for c in m.calls if c.state == "talking"
                           and not c.hold_when_up)
    m = replace(m, calls=m.calls + (call,), next_dial=m.next_dial + 1)
    m = remember(m, HistoryEntry(number, "out", m.now, emergency=emergency,
                                 customer=bool(contact)))
    if not m.hook_lifted and m.hands_free is None:
        m = replace(m, hands_free=m.hands_free_route)
    m = close(m, lambda s: isinstance(s, DialScreen))
    shown = find(m, CallScreen)          # one call screen: it shows the new call
    m = change(m, shown, CallScreen(call.id)) if shown else show(m, CallScreen(call.id))
    quiet: Effects = ()
    if emergency:                    # the centre must hear the agent: mute from a call before
        m = replace(m, muted=False)  # is off, and nothing rings over the call
    if emergency and m.ringer:
        m, quiet = replace(m, ringer=False), (StopTone("ringer"),)
    return m, call, holds + quiet


def go_ahead(m: Model, e: ev.CcDialAnswer) -> Step:
    """The server said where the call goes (and which contact it is): now the INVITE. A dial
    the agent gave up on meanwhile is told to the server as ended."""
    call = m.call(e.call)
    if call is None or not call.awaiting:
        gone = CcCallEvent(e.contact, "ended", m.now)
        return m, (gone,) if e.contact else ()
    placed = replace(call, contact=e.contact, awaiting=False)
    m = replace(m, calls=tuple(placed if c.id == call.id else c for c in m.calls))
    return m, (SipDial(call.id, e.to, False, e.contact),)


def refused(m: Model, e: ev.CcRefused) -> Step:
    """The server would not dial: the reason, and the phone back where it was."""
    m = drop(m, lambda c: c.awaiting)
    return with_notice(m, f"Not dialed: {e.message}"), ()


def drop(m: Model, which: Callable[[Call], bool]) -> Model:
    """Calls that never reached the SIP stack, gone."""
    m = replace(m, calls=tuple(c for c in m.calls if not which(c)))
    return m if m.calls else replace(m, hands_free=None, muted=False)


def remember(m: Model, entry: HistoryEntry) -> Model:
    """A call in the agent's history (none while logged out: it would be the desk's)."""
    if m.agent is None:
        return m
    return replace(m, history=((entry,) + m.history)[:HISTORY_KEPT])


def redial(m: Model) -> Step:
    """The `redial` key: the last number the agent dialed (never an emergency number: a
    mistaken press must not call 911 again)."""
    last = next((h for h in m.history if h.direction == "out" and not h.emergency), None)
    if last is None:
        return with_notice(m, "Nothing to redial"), ()
    return dial(m, last.number)


def dialed(m: Model, e: ev.SipDialed) -> Step:
    """The stack named the placed call (its events follow under that name), or refused it."""
    call = m.call(e.dial)
    if call is None:
        return m, ()
    if e.error:
        m = drop(m, lambda c: c.id == call.id)
        report = (CcCallEvent(call.contact, "ended", m.now),) if call.contact else ()
        return with_notice(m, f"Not dialed: {e.error}"), report
    renamed = replace(call, id=e.call)
    m = replace(m, calls=tuple(renamed if c.id == call.id else c for c in m.calls))
    screens = tuple(CallScreen(e.call) if isinstance(s, CallScreen) and s.call == call.id else s
                    for s in m.screens)
    return replace(m, screens=screens), ()


def masked(m: Model, h: HistoryEntry) -> bool:
    """A customer's number, shown masked where the admin masks numbers."""
    return h.customer and m.agent is not None and m.agent.cc.mask_ani


def in_view(m: Model, s: HistoryScreen) -> HistoryEntry | None:
    """The call the history's cursor is on (None: no calls yet)."""
    return m.history[min(s.cursor, len(m.history) - 1)] if m.history else None


def history_key(m: Model, s: HistoryScreen, action: Action) -> Step:
    """The call history: up/down pick a call, `ok` or `Dial` calls its number again (`Fav+`:
    favorites.add_from_history)."""
    if action == "back":
        return pop(m), ()
    entry = in_view(m, s)
    if entry is None:
        return m, ()
    if action in ("up", "down"):
        step = 1 if action == "down" else -1
        return replace_top(m, replace(s, cursor=(s.cursor + step) % len(m.history))), ()
    if action in ("ok", "dial"):
        return dial(m, entry.number)
    return m, ()


def hook_lifted(m: Model) -> Step:
    """The handset lifted with nothing ringing: the dial screen, ready for a number (a number
    already typed is dialed)."""
    if any(c.state in ("calling", "talking") for c in m.calls):
        return m, ()
    screen = find(m, DialScreen)
    if screen is not None and screen.number and m.screen is screen:
        return dial(m, screen.number)
    return open_dial(m)


def hook_replaced(m: Model) -> Step:
    """The handset down with only the dial screen up: back to where the agent was."""
    if m.hands_free is None and isinstance(m.screen, DialScreen):
        return pop(m), ()
    return m, ()
