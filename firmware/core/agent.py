"""The logged-in agent: login, the server's snapshot and state events, logout, notices."""
from __future__ import annotations

import math
from dataclasses import replace

from . import dialpad
from . import events as ev
from .effects import CcLogin, CcLogout, CcSetState, Step
from .model import Agent, LoginScreen, Model, ReasonScreen, Screen, with_notice
from .navigation import leads_to_state, pop, push, replace_top
from .vocab import Action, AgentChoice

AGENT_ID_MAX, PIN_MAX = 16, 12
WRONG_LOGIN = "Wrong agent ID or PIN"
ELSEWHERE = "Logged in elsewhere"
NO_SERVER = "No server: can't log out now"
OFFER_SHOWING = "Answer or miss the offer first"
LOGOUT_DONE = "Done: logged out"       # a negotiated logout (campaigns) carried out


# -- logging in ----------------------------------------------------------------------------------
def log_in(m: Model, agent: str, pin: str) -> Step:
    return (replace(m, login_pending=True, login_agent=agent, logged_out_why=""),
            (CcLogin(agent, pin),))


def locked_for(m: Model) -> int:
    """Seconds the server still refuses logins after too many wrong PINs (0: none)."""
    return max(0, math.ceil(m.login_locked_until - m.now))


def _typed(s: LoginScreen, text: str) -> LoginScreen:
    """The login screen with ``text`` in the field being typed."""
    return replace(s, agent=text) if s.entry == "agent" else replace(s, pin=text)


def login_key(m: Model, s: LoginScreen, action: Action | None) -> Step:
    typed = s.agent if s.entry == "agent" else s.pin
    if action is not None and action.isdigit() and len(action) == 1:
        limit = AGENT_ID_MAX if s.entry == "agent" else PIN_MAX
        if len(typed) < limit:
            s = _typed(s, typed + action)
        return replace_top(m, replace(s, error="")), ()
    if action == "back":
        if typed:
            return replace_top(m, replace(_typed(s, typed[:-1]), error="")), ()
        if s.entry == "pin":
            return replace_top(m, replace(s, entry="agent", error="")), ()
        return pop(m), ()
    if action == "ok" and typed:
        if s.entry == "agent":
            return replace_top(m, replace(s, entry="pin", error="")), ()
        if locked_for(m):               # the server would only say so again: wait (shown)
            return m, ()
        return log_in(pop(m), s.agent, s.pin)
    return m, ()


def refused(m: Model, e: ev.CcRefused) -> Step:
    if e.request == "hello" and e.code in ("auth_failed", "locked_out"):
        # A wrong PIN, or too many: back to the login screen, the agent id kept. Locked out,
        # the screen counts the wait down and the phone sends no login before it is over.
        agent = m.login_agent or (m.agent.id if m.agent else "")
        m, _ = logged_out(m, ev.CcLoggedOut())
        locked = e.code == "locked_out"
        if locked:
            m = replace(m, login_locked_until=m.now + max(1.0, e.retry_after))
        again = LoginScreen(agent=agent, entry="pin", error="" if locked else WRONG_LOGIN)
        return (replace_top(m, again) if isinstance(m.screen, LoginScreen)
                else push(m, again)), ()
    if e.request == "hello":
        m = replace(m, login_pending=False)
    if e.request == "dial":
        return dialpad.refused(m, e)
    if e.request in ("call", "reject"):
        # A call event the server no longer needs, or a reject it was too late for (the
        # contact went back to the queue, or ended there first): the server's own events tell
        # the agent what matters.
        return m, ()
    return with_notice(m, e.message), ()


# -- what the server says ------------------------------------------------------------------------
def snapshot(m: Model, e: ev.CcSnapshot) -> Step:
    """The agent's whole state, replacing what the phone knew; the screens follow
    (navigation.arrange)."""
    if e.state == "logged_out":
        return logged_out(m, ev.CcLoggedOut())
    agent = Agent(id=e.agent, name=e.name, team=e.team, extension=e.extension,
                  state=e.state, reason=e.reason, pending=e.pending,
                  idle_codes=e.idle_codes, wrapup_codes=e.wrapup_codes, layout=e.layout,
                  cc=e.settings, favorites=e.favorites, campaigns=e.campaigns,
                  logout_at=e.logout_at, callback_rules=e.callback_rules,
                  callback_queues=e.callback_queues, team_members=e.team_members, skew=e.skew,
                  help=e.help, messages=e.messages, voice_apps=e.voice_apps,
                  forwarding=e.forwarding, voicemail_waiting=e.voicemail_waiting,
                  voicemail_messages=e.voicemail_messages, voicemail_number=e.voicemail_number)
    ids = {c.id: c.status for c in e.contacts}
    # A wrap-up queued while offline still shows as "wrapup" on the server: don't ask again.
    wrapped = frozenset(i for i in m.wrapped_locally if ids.get(i) == "wrapup")
    early = frozenset(i for i in m.answer_on_arrival if ids.get(i) == "offered")
    # An offer rejected while offline is still offered until the queued reject arrives: not
    # shown again (a new attempt at the contact has a new token, and shows).
    rejected = frozenset((c.id, c.token) for c in e.contacts if (c.id, c.token) in m.rejected)
    contacts = tuple(c for c in e.contacts if (c.id, c.token) not in rejected)
    listed = {f.id for f in e.follow_ups}
    seen = m.follow_ups_seen & listed          # the server forgets them once told
    follow_ups = tuple(f for f in e.follow_ups if f.id not in seen)
    return replace(m, agent=agent, contacts=contacts, login_pending=False, login_agent="",
                   wrapped_locally=wrapped, answer_on_arrival=early, rejected=rejected,
                   follow_ups=follow_ups, follow_ups_seen=seen), ()


def agent_state(m: Model, e: ev.CcAgentState) -> Step:
    if m.agent is None:
        return m, ()
    agent = replace(m.agent, state=e.state, reason=e.reason, pending=e.pending,
                    logout_at=e.logout_at)
    return replace(m, agent=agent), ()


def logged_out(m: Model, e: ev.CcLoggedOut) -> Step:
    negotiated = m.agent is not None and bool(m.agent.logout_at)
    # the agent's call history goes with the agent (redial too): the next one finds none
    m = replace(m, agent=None, contacts=(), answer_on_arrival=frozenset(),
                wrapped_locally=frozenset(), rejected=frozenset(), login_pending=False,
                cc_problem="", history=(), follow_ups=(), notes=())
    if negotiated:                  # the countdown on the status line ends with it
        return with_notice(m, LOGOUT_DONE), ()
    return (with_notice(m, f"Logged out: {e.reason}") if e.reason else m), ()


def taken_over(m: Model, _e: ev.CcTakenOver) -> Step:
    """The agent logged in on another phone: logged out here, saying why, until a new login."""
    m, _ = logged_out(m, ev.CcLoggedOut())
    return replace(m, logged_out_why=ELSEWHERE), ()


def link(m: Model, e: ev.CcLink) -> Step:
    m = replace(m, links=replace(m.links, cc=e.state))
    if e.state == "up":
        m = replace(m, cc_problem="")
    elif e.state == "down" and e.detail:        # kept through the retries' "connecting"
        m = replace(m, cc_problem=e.detail)
    return m, ()


# -- the agent's choices -------------------------------------------------------------------------
def set_state(m: Model, state: AgentChoice, reason: str = "") -> Step:
    """Ask for Available or Idle; the lists that led here close."""
    def leads_here(s: Screen) -> bool:
        return (isinstance(s, ReasonScreen) and s.kind == "idle") or leads_to_state(s)

    while leads_here(m.screen):
        m = pop(m)
    return m, (CcSetState(state, reason),)


def logout_blocked(m: Model) -> str:
    """Why the agent may not log out now ("" if they may)."""
    if m.offers() or any(c.status == "reserved" for c in m.contacts):   # a popover is up
        return OFFER_SHOWING
    if m.links.cc != "up":
        return NO_SERVER
    return ""


def open_logout(m: Model) -> Step:
    why = logout_blocked(m)
    if why:
        return with_notice(m, why), ()
    return push(m, ReasonScreen("logout")), ()


def log_out(m: Model, reason: str) -> Step:
    why = logout_blocked(m)
    if why:
        return with_notice(m, why), ()
    m = pop(m)
    while leads_to_state(m.screen):       # picked from the State menu: it closes too
        m = pop(m)
    return m, (CcLogout(reason),)
