"""The agent's rules, table-driven: a state, an event (or a few keys), the model and effects after.

Every case starts from a model built by feeding real events through update(), so the state it
names is one the phone can really be in."""
from dataclasses import replace

import pytest

from firmware.core import events as ev
from firmware.core.effects import (CcAccept, CcCallEvent, CcLogin, CcLogout, CcReject, CcSetState,
                                   CcWrapUp, PlayTone, SipAnswer, SipDtmf, SipHangup, SipHold,
                                   SipRefuse, SipResume, StopTone)
from firmware.core.events import CcSettings, Code, Contact, VariableLayout
from firmware.core.model import (CallScreen, ConnectingPopover, DeviceInfo, IdleScreen, Links,
                                 LoginScreen, MenuScreen, Model, OfferPopover, ReasonScreen,
                                 RonaPopover, VarsScreen)
from firmware.core.update import update

INFO = DeviceInfo("1.2.3", "sim", "a")
NOW = 1_800_000_000.0

IDLE = (Code("break", "Break"), Code("lunch", "Lunch"), Code("meeting", "Team meeting"),
        Code("training", "Training"), Code("coaching", "Coaching"),
        *(Code(f"o{n}", f"Other {n}") for n in range(115)))                 # 120 codes
WRAPUP = (Code("sale", "Sale"), Code("no_sale", "No sale"),
          Code("callback", "Callback requested"), Code("complaint", "Complaint"),
          *(Code(f"case{n}", f"Case {n}") for n in range(40)))
LAYOUT = (VariableLayout("account", "Account"), VariableLayout("card", "Card", secure=True),
          VariableLayout("topic", "Topic"))


def token(cid):
    """The secret the server sends with contact ``cid`` and its SIP call carries."""
    return f"Zq3-{cid}-7vKpW2xRfN0bL5sYd8TgHj4Mc6uEa1Qo"


def contact(cid="c1", status="offered", **kw):
    kw.setdefault("variables", (("account", "88-1203"), ("card", "4111111111111111"),
                                ("topic", "Billing")))
    kw.setdefault("token", token(cid))
    return Contact(cid, status, kw.pop("queue", "Sales"), kw.pop("ani", "+15551234567"),
                   offered_at=kw.pop("offered_at", NOW - 3), **kw)


def snapshot(state="available", contacts=(), settings=CcSettings(), pending=None, reason=""):
    return ev.CcSnapshot(agent="1001", name="Ada Byron", team="Sales", extension="sip:1001@pbx",
                         state=state, reason=reason, pending=pending, contacts=tuple(contacts),
                         idle_codes=IDLE, wrapup_codes=WRAPUP, layout=LAYOUT, settings=settings)


def run(m, *events):
    effects = []
    for e in events:
        m, fx = update(m, e)
        effects.extend(fx)
    return m, tuple(effects)


def keys(*names):
    return [ev.Key(n) for n in names]


def home(cc="up"):
    m = Model(info=INFO, now=NOW, links=Links(ip="10.0.0.5", sip="registered", cc=cc))
    return run(m, ev.Booted())[0]


def agent(*events, cc="up", **snap):
    """Logged in (from a snapshot), then ``events``."""
    return run(home(cc), snapshot(**snap), *events)[0]


def invite(call="k1", cid="c1", peer="sip:+15551234567@pbx", **kw):
    """The contact's SIP call arriving, with the contact's token (``token=`` to forge one)."""
    return ev.SipIncoming(call, cid, peer, kw.get("token", token(cid)))


def offered(cid="c1", call="k1", **kw):
    """Events that offer a contact and ring its call."""
    return [ev.CcContact(contact(cid, "offered", **kw)), invite(call, cid)]


def talking(cid="c1", call="k1"):
    return [*offered(cid, call), ev.Key("soft1"), ev.SipCallState(call, "established"),
            ev.CcContact(contact(cid, "assigned"))]


def check(m, fx, expect):
    for name, want in expect.items():
        if name == "effects":
            assert fx == want
        elif name == "top":
            assert (isinstance(m.screen, want) if isinstance(want, type) else m.screen == want)
        elif name == "notice":
            assert m.active_notice() == want
        elif name == "calls":
            assert tuple((c.id, c.state) for c in m.calls) == want
        elif name == "screens":
            assert tuple(type(s) for s in m.screens) == want
        else:
            assert getattr(m, name) == want, name


def case(given, event, **expect):
    return pytest.param(given, event if isinstance(event, list) else [event], expect)


# -- login --------------------------------------------------------------------------------------
LOGIN_CASES = {
    "config login goes out at once": case(
        home(), ev.LoginFromConfig("1001", "4711"),
        effects=(CcLogin("1001", "4711"),), login_pending=True, agent_status="LOGGING_IN"),
    "Login softkey opens the login screen": case(home(), ev.Key("soft1"), top=LoginScreen()),
    "digits type the agent id": case(
        home(), keys("soft1", "1", "0", "0", "1"), top=LoginScreen(agent="1001")),
    "ok moves to the PIN": case(
        home(), keys("soft1", "7", "ok"), top=LoginScreen(agent="7", entry="pin")),
    "ok on an empty agent id does nothing": case(
        home(), keys("soft1", "ok"), top=LoginScreen(), effects=()),
    "back deletes a digit": case(
        home(), keys("soft1", "1", "2", "back"), top=LoginScreen(agent="1")),
    "back on an empty agent id leaves": case(
        home(), keys("soft1", "back"), screens=(IdleScreen,)),
    "back on an empty PIN returns to the agent id": case(
        home(), keys("soft1", "1", "ok", "back"), top=LoginScreen(agent="1", entry="agent")),
    "ok on the PIN logs in": case(
        home(), keys("soft1", "1", "0", "0", "1", "ok", "4", "7", "1", "1", "ok"),
        effects=(CcLogin("1001", "4711"),), screens=(IdleScreen,), login_pending=True),
    "a wrong PIN returns to the login screen, agent id kept": case(
        home(), [*keys("soft1", "1", "0", "0", "1", "ok", "9", "ok"),
                 ev.CcRefused("hello", "auth_failed", "unknown agent or wrong PIN")],
        top=LoginScreen(agent="1001", pin="", entry="pin", error="Wrong agent ID or PIN"),
        login_pending=False, agent_status="LOGGED_OUT"),
    "a wrong PIN from the config opens the login screen": case(
        home(), [ev.LoginFromConfig("1001", "0000"), ev.CcRefused("hello", "auth_failed", "x")],
        top=LoginScreen(agent="1001", entry="pin", error="Wrong agent ID or PIN")),
    "other refusals of a login are a notice": case(
        home(), [ev.LoginFromConfig("1001", "4711"),
                 ev.CcRefused("hello", "version", "protocol version not supported")],
        notice="protocol version not supported", login_pending=False, screens=(IdleScreen,)),
    "a refused state change is a notice": case(
        agent(), ev.CcRefused("set_state", "unknown_code", "no idle code 'x'"),
        notice="no idle code 'x'"),
    "a refused call event is not (the server's events say what matters)": case(
        agent(), ev.CcRefused("call", "unknown_contact", "contact c-1 is not yours"),
        notice=""),
    "the snapshot ends logging in": case(
        home(), [ev.LoginFromConfig("1001", "4711"), snapshot(state="idle", reason="login")],
        login_pending=False, agent_status="IDLE"),
}


@pytest.mark.parametrize("given,events,expect", LOGIN_CASES.values(), ids=LOGIN_CASES.keys())
def test_login(given, events, expect):
    check(*run(given, *events), expect)


def test_the_snapshot_sets_the_agent():
    m = agent(state="idle", reason="lunch", pending=("available", ""),
              settings=CcSettings(mask_ani=True, accept_all=True, max_offers=3))
    s = m.agent
    assert (s.id, s.name, s.team, s.extension) == ("1001", "Ada Byron", "Sales", "sip:1001@pbx")
    assert (s.state, s.reason, s.pending) == ("idle", "lunch", ("available", ""))
    assert s.idle_codes == IDLE and s.wrapup_codes == WRAPUP and s.layout == LAYOUT
    assert s.cc.mask_ani and s.cc.max_offers == 3
    assert m.agent_status == "IDLE"


# -- the snapshot rebuilds the screens ----------------------------------------------------------
def wrapping_up(query=""):
    """In wrap-up for c1 (its call ended), ``query`` typed into the list."""
    return run(agent(*talking()), ev.SipCallState("k1", "ended"), *keys(*query))[0]


SNAPSHOT_CASES = {
    "an offer shows its popover": case(
        home(), snapshot(state="ringing", contacts=[contact("c1", "offered")]),
        top=OfferPopover("c1"), contacts=(contact("c1", "offered"),)),
    "a reservation shows the connecting popover": case(
        home(), snapshot(state="reserved", contacts=[contact("c1", "reserved")]),
        top=ConnectingPopover("c1")),
    "a contact in wrap-up asks for the wrap-up": case(
        home(), snapshot(state="wrapup", contacts=[contact("c1", "wrapup")]),
        top=ReasonScreen("wrapup", contact="c1")),
    "only the primary agent wraps up": case(
        home(), snapshot(state="wrapup", contacts=[contact("c1", "wrapup", primary=False)]),
        screens=(IdleScreen,)),
    "a wrap-up sent offline is not asked again": case(
        replace(wrapping_up(), links=Links(cc="down")),
        [ev.Key("ok"), snapshot(state="wrapup", contacts=[contact("c1", "wrapup")])],
        screens=(IdleScreen,), wrapped_locally=frozenset({"c1"})),
    "a half-typed wrap-up search is kept": case(
        wrapping_up("72"), snapshot(state="wrapup", contacts=[contact("c1", "wrapup")]),
        top=ReasonScreen("wrapup", query="72", contact="c1")),
    "an open menu is kept": case(
        agent(*keys("soft2", "1")), snapshot(),
        screens=(IdleScreen, MenuScreen, MenuScreen), top=MenuScreen("settings")),
    "an offer the server no longer has is closed": case(
        agent(ev.CcContact(contact("c1", "offered"))), snapshot(), screens=(IdleScreen,),
        contacts=()),
    "a logged-out snapshot ends the session": case(
        agent(), snapshot(state="logged_out"), agent=None, agent_status="LOGGED_OUT"),
}


@pytest.mark.parametrize("given,events,expect", SNAPSHOT_CASES.values(), ids=SNAPSHOT_CASES.keys())
def test_snapshot(given, events, expect):
    check(*run(given, *events), expect)


def test_wrapped_locally_is_forgotten_once_the_server_has_it():
    m, _ = run(wrapping_up(), ev.Key("ok"))
    assert m.wrapped_locally == {"c1"}
    m, _ = run(m, snapshot(state="available"))
    assert m.wrapped_locally == frozenset()


# -- agent state ---------------------------------------------------------------------------------
STATE_CASES = {
    "State softkey opens the state menu": case(agent(), ev.Key("soft1"), top=MenuScreen("state")),
    "Available is asked for": case(
        agent(state="idle"), keys("soft1", "1"),
        effects=(CcSetState("available"),), screens=(IdleScreen,)),
    "Idle opens the idle reasons": case(
        agent(), keys("soft1", "2"), top=ReasonScreen("idle")),
    "an idle reason is asked for": case(
        agent(), keys("soft1", "2", "down", "ok"),
        effects=(CcSetState("idle", "lunch"),), screens=(IdleScreen,)),
    "the server's state and pending state": case(
        agent(*talking()), ev.CcAgentState("talking", "", ("idle", "lunch")),
        agent_status="TALKING"),
    "a state during a call goes out (the server makes it pending)": case(
        agent(*talking()), keys("soft4", "1", "2", "ok"),
        effects=(CcSetState("idle", "break"),), top=CallScreen("k1")),
    "a state event while logged out is ignored": case(
        home(), ev.CcAgentState("idle"), agent=None),
    "the link state shows": case(agent(), ev.CcLink("down", "refused"), links=Links(
        ip="10.0.0.5", sip="registered", cc="down")),
    "a server notice shows": case(agent(), ev.CcNotice("Campaign Winter started"),
                                  notice="Campaign Winter started"),
}


@pytest.mark.parametrize("given,events,expect", STATE_CASES.values(), ids=STATE_CASES.keys())
def test_agent_state(given, events, expect):
    check(*run(given, *events), expect)


def test_pending_state_is_kept_on_the_agent():
    m, _ = run(agent(*talking()), ev.CcAgentState("talking", "", ("idle", "lunch")))
    assert m.agent.pending == ("idle", "lunch") and m.agent.state == "talking"


def test_logged_out_by_the_server_closes_every_agent_screen():
    m = agent(*keys("soft1", "2"))                          # the idle reasons are open
    m, _ = run(m, *keys("back", "back", "soft2", "1"), ev.CcContact(contact("c1", "offered")))
    assert [type(s) for s in m.screens] == [IdleScreen, MenuScreen, MenuScreen, OfferPopover]
    m, fx = run(m, ev.CcLoggedOut("supervisor"))
    assert m.agent is None and m.contacts == () and fx == ()
    assert m.screens == (IdleScreen(), MenuScreen("main"), MenuScreen("settings"))
    assert m.active_notice() == "Logged out: supervisor"


# -- contacts and popovers -----------------------------------------------------------------------
CONTACT_CASES = {
    "reserved shows Connecting": case(
        agent(), ev.CcContact(contact("c1", "reserved")), top=ConnectingPopover("c1")),
    "offered replaces Connecting": case(
        agent(ev.CcContact(contact("c1", "reserved"))), ev.CcContact(contact("c1", "offered")),
        screens=(IdleScreen, OfferPopover)),
    "a second offer stacks under the first": case(
        agent(*offered("c1", "k1")), offered("c2", "k2", offered_at=NOW - 1),
        top=OfferPopover("c1"), screens=(IdleScreen, OfferPopover)),
    "RONA stops the ringer and asks Available or Idle": case(
        agent(*offered()), ev.CcContact(contact("c1", "rona")),
        effects=(StopTone("ringer"), SipHangup("k1")), screens=(IdleScreen, RonaPopover),
        contacts=(), calls=(), ringer=False),
    "Avail after RONA": case(
        agent(*offered(), ev.CcContact(contact("c1", "rona"))), ev.Key("soft1"),
        effects=(CcSetState("available"),), screens=(IdleScreen,)),
    "Idle after RONA picks a reason": case(
        agent(*offered(), ev.CcContact(contact("c1", "rona"))), keys("soft2", "ok"),
        effects=(CcSetState("idle", "break"),), screens=(IdleScreen,)),
    "withdrawn removes the offer": case(
        agent(*offered()), ev.CcContact(contact("c1", "withdrawn")),
        screens=(IdleScreen,), contacts=(), effects=(StopTone("ringer"), SipHangup("k1"))),
    "wrapped up by the server closes the wrap-up": case(
        wrapping_up("2"), ev.CcContact(contact("c1", "wrapped_up")),
        screens=(IdleScreen,), contacts=()),
    "a contact that is not ours leaving changes nothing": case(
        agent(), ev.CcContact(contact("zz", "withdrawn")), screens=(IdleScreen,), effects=()),
    "contacts while logged out are ignored": case(
        home(), ev.CcContact(contact("c1", "offered")), contacts=(), screens=(IdleScreen,)),
    "Vars opens the variables": case(
        agent(*offered()), ev.Key("soft3"), top=VarsScreen("c1")),
    "right pages to the next offer": case(
        agent(*offered("c1", "k1"), *offered("c2", "k2", offered_at=NOW)), ev.Key("right"),
        top=OfferPopover("c2")),
    "left pages round to the last offer": case(
        agent(*offered("c1", "k1"), *offered("c2", "k2", offered_at=NOW)), ev.Key("left"),
        top=OfferPopover("c2")),
    "down scrolls the caller and variables": case(
        agent(*offered()), keys("down", "down", "down"), top=OfferPopover("c1", scroll=1)),
}


@pytest.mark.parametrize("given,events,expect", CONTACT_CASES.values(), ids=CONTACT_CASES.keys())
def test_contacts(given, events, expect):
    check(*run(given, *events), expect)


# -- rejecting an offer --------------------------------------------------------------------------
REJECTED = "the agent rejected the offer"


def two_offers(**snap):
    return agent(*offered("c1", "k1", offered_at=NOW - 3), *offered("c2", "k2", offered_at=NOW - 1),
                 **snap)


REJECT_CASES = {
    "Reject is the last softkey: the offer goes at once, the ringer stops, the call is declined":
        case(agent(*offered()), ev.Key("soft4"),
             effects=(CcReject("c1"), StopTone("ringer"), SipHangup("k1")),
             screens=(IdleScreen,), contacts=(), calls=(), ringer=False),
    "the next stacked offer shows, and still rings": case(
        two_offers(), ev.Key("soft4"), effects=(CcReject("c1"), SipHangup("k1")),
        top=OfferPopover("c2"), calls=(("k2", "ringing"),), ringer=True),
    "Reject turns down the offer on show, not the oldest": case(
        two_offers(), keys("right", "soft4"), effects=(CcReject("c2"), SipHangup("k2")),
        top=OfferPopover("c1"), calls=(("k1", "ringing"),)),
    "Reject before the call came: the call is refused when it comes": case(
        agent(ev.CcContact(contact("c1", "offered")), ev.Key("soft4")), invite(),
        effects=(SipRefuse("k1", "c1", REJECTED),), calls=(), screens=(IdleScreen,)),
    "the server's RONA for it is no missed call; home shows its state": case(
        agent(*offered(), ev.Key("soft4")),
        [ev.CcContact(contact("c1", "rona", token="")), ev.CcAgentState("idle", "rejected")],
        effects=(), screens=(IdleScreen,), agent_status="IDLE", rejected=frozenset()),
    "a late offered event for the rejected attempt does not bring it back": case(
        agent(*offered(), ev.Key("soft4")), ev.CcContact(contact("c1", "offered")),
        screens=(IdleScreen,), contacts=()),
    "the contact offered again (a new attempt) shows": case(
        agent(*offered(), ev.Key("soft4"), ev.CcContact(contact("c1", "rona", token=""))),
        ev.CcContact(contact("c1", "offered", token="a-new-attempt's-token")),
        top=OfferPopover("c1"), rejected=frozenset()),
    "a refused reject says nothing (the contact's events tell)": case(
        agent(*offered(), ev.Key("soft4")),
        ev.CcRefused("reject", "unknown_contact", "contact c1 is not yours"),
        notice="", screens=(IdleScreen,)),
    "no Reject once the call is being answered": case(
        agent(*offered(), ev.Hook(True)), ev.Key("soft4"), effects=()),
}


@pytest.mark.parametrize("given,events,expect", REJECT_CASES.values(), ids=REJECT_CASES.keys())
def test_reject(given, events, expect):
    check(*run(given, *events), expect)


def test_an_offer_rejected_offline_stays_hidden_until_the_server_has_the_reject():
    m = agent(*offered(), ev.CcLink("down"), ev.Key("soft4"))
    assert m.screens == (IdleScreen(),) and m.contacts == ()
    # the link is back before the RONA: the snapshot still offers that attempt
    m, fx = run(m, snapshot(state="ringing", contacts=[contact("c1", "offered")]),
                ev.CcLink("up"))
    assert m.screens == (IdleScreen(),) and m.offers() == () and fx == ()
    m, fx = run(m, invite("k7", "c1"))
    assert fx == (SipRefuse("k7", "c1", REJECTED),) and m.calls == ()
    m, fx = run(m, ev.CcContact(contact("c1", "rona", token="")),
                ev.CcAgentState("idle", "rejected"))
    assert m.screens == (IdleScreen(),) and m.rejected == frozenset()
    assert (m.agent.state, m.agent.reason) == ("idle", "rejected")


def test_a_snapshot_forgets_rejected_offers_the_server_has_moved_past():
    m = agent(*offered(), ev.CcLink("down"), ev.Key("soft4"))
    m, _ = run(m, snapshot(state="idle", reason="rona"), ev.CcLink("up"))
    assert m.rejected == frozenset() and m.screens == (IdleScreen(),)


# -- incoming calls and answering ----------------------------------------------------------------
ANSWER = (SipAnswer("k1"), CcAccept("c1"), StopTone("ringer"))
INCOMING_CASES = {
    "an offered call rings": case(
        agent(ev.CcContact(contact("c1", "offered"))), invite("k1", "c1", "sip:x@pbx"),
        effects=(PlayTone("ring", "ringer", 6), CcCallEvent("c1", "ringing", NOW)),
        calls=(("k1", "ringing"),), ringer=True),
    "a call behind a call does not ring": case(
        agent(*talking()), ev.SipIncoming("k2", "", "sip:1002@pbx"),
        effects=(), calls=(("k1", "talking"), ("k2", "ringing")), ringer=False),
    "a call accepted early is answered on arrival": case(
        agent(ev.CcContact(contact("c1", "offered")), ev.Key("soft1")),
        invite("k1", "c1", "sip:x@pbx"),
        effects=(CcCallEvent("c1", "ringing", NOW), SipAnswer("k1")),
        answer_on_arrival=frozenset(), ringer=False),
    "lifting the handset accepts the offer": case(agent(*offered()), ev.Hook(True), effects=ANSWER),
    "the speaker key accepts the offer": case(agent(*offered()), ev.Key("speaker"), effects=ANSWER),
    "the headset key accepts the offer": case(agent(*offered()), ev.Key("headset"), effects=ANSWER),
    "the Accept softkey accepts the offer": case(
        agent(*offered()), ev.Key("soft1"), effects=ANSWER, screens=(IdleScreen, CallScreen)),
    "accepting before the call arrives": case(
        agent(ev.CcContact(contact("c1", "offered"))), ev.Key("soft1"),
        effects=(CcAccept("c1"),), answer_on_arrival=frozenset({"c1"}), screens=(IdleScreen,)),
    "lifting the handset answers a plain call": case(
        agent(ev.SipIncoming("k9", "", "sip:1002@pbx")), ev.Hook(True),
        effects=(SipAnswer("k9"), StopTone("ringer"))),
    "lifting the handset with nothing ringing": case(
        agent(), ev.Hook(True), effects=(), hook_lifted=True),
    "a second INVITE with the same id is ignored": case(
        agent(*offered()), invite("k1", "c1", "sip:x@pbx"), effects=()),
    "answering a second call holds the first": case(
        agent(*talking(), *offered("c2", "k2")), ev.Key("soft1"),
        effects=(SipHold("k1"), SipAnswer("k2"), CcAccept("c2"))),
}


@pytest.mark.parametrize("given,events,expect", INCOMING_CASES.values(), ids=INCOMING_CASES.keys())
def test_incoming(given, events, expect):
    check(*run(given, *events), expect)


def test_accept_all_answers_the_first_and_parks_the_others():
    all_ = CcSettings(accept_all=True, max_offers=3)
    m = agent(*offered("c1", "k1", offered_at=NOW - 3), *offered("c2", "k2", offered_at=NOW - 2),
              ev.CcContact(contact("c3", "offered", offered_at=NOW - 1)), settings=all_)
    m, fx = run(m, ev.Key("soft2"))                                   # All
    assert fx == (SipAnswer("k1"), CcAccept("c1"), SipAnswer("k2"), CcAccept("c2"),
                  StopTone("ringer"), CcAccept("c3"))
    assert m.answer_on_arrival == {"c3"} and m.offers() == ()
    m, fx = run(m, ev.SipCallState("k1", "established"), ev.SipCallState("k2", "established"))
    assert fx == (CcCallEvent("c1", "answered", NOW), CcCallEvent("c2", "answered", NOW),
                  SipHold("k2"))
    m, fx = run(m, ev.SipCallState("k2", "held"), invite("k3", "c3", "sip:x@pbx"),
                ev.SipCallState("k3", "established"))
    assert SipAnswer("k3") in fx and fx[-1] == SipHold("k3")          # answered, then held
    assert m.screen == CallScreen("k1")                               # still talking on k1


# -- calls ---------------------------------------------------------------------------------------
def held():
    return agent(*talking(), ev.SipCallState("k1", "held"))


CALL_CASES = {
    "established: talking, on the call screen": case(
        agent(*offered(), ev.Key("soft1")), ev.SipCallState("k1", "established"),
        effects=(CcCallEvent("c1", "answered", NOW),), calls=(("k1", "talking"),),
        top=CallScreen("k1")),
    "held is reported": case(
        agent(*talking()), ev.SipCallState("k1", "held"),
        effects=(CcCallEvent("c1", "held", NOW),), calls=(("k1", "held"),)),
    "resumed is reported": case(
        held(), ev.SipCallState("k1", "resumed"),
        effects=(CcCallEvent("c1", "resumed", NOW),), calls=(("k1", "talking"),)),
    "the hold key holds": case(agent(*talking()), ev.Key("hold"), effects=(SipHold("k1"),)),
    "the hold key resumes": case(held(), ev.Key("hold"), effects=(SipResume("k1"),)),
    "the Hold softkey holds": case(agent(*talking()), ev.Key("soft1"), effects=(SipHold("k1"),)),
    "End hangs up": case(agent(*talking()), ev.Key("soft2"), effects=(SipHangup("k1"),)),
    "a held call cannot be ended": case(
        held(), ev.Key("soft2"), effects=(), notice="Resume the call to end it",
        calls=(("k1", "held"),)),
    "putting the handset down ends the call": case(
        agent(*offered(), ev.Hook(True), ev.SipCallState("k1", "established")), ev.Hook(False),
        effects=(SipHangup("k1"),), hook_lifted=False),
    "putting the handset down keeps a held call": case(
        run(held(), ev.Hook(True))[0], ev.Hook(False), effects=(),
        notice="Resume the call to end it", calls=(("k1", "held"),)),
    "the call ends: wrap-up": case(
        agent(*talking()), ev.SipCallState("k1", "ended"),
        effects=(CcCallEvent("c1", "ended", NOW),), calls=(),
        top=ReasonScreen("wrapup", contact="c1")),
    "the call ends with the server down: wrap-up still": case(
        agent(*talking(), ev.CcLink("down")), ev.SipCallState("k1", "ended"),
        top=ReasonScreen("wrapup", contact="c1")),
    "a held call the customer ends: wrap-up": case(
        held(), ev.SipCallState("k1", "ended"), top=ReasonScreen("wrapup", contact="c1")),
    "an unanswered call that ends: no wrap-up": case(
        agent(*offered()), ev.SipCallState("k1", "ended"),
        effects=(CcCallEvent("c1", "ended", NOW), StopTone("ringer")), calls=(),
        screens=(IdleScreen, OfferPopover)),
    "a consulted agent owes no wrap-up": case(
        agent(*talking(), ev.CcContact(contact("c1", "assigned", primary=False))),
        ev.SipCallState("k1", "ended"), screens=(IdleScreen,)),
    "a call without a contact reports nothing": case(
        agent(ev.SipIncoming("k9", "", "sip:1002@pbx"), ev.Hook(True)),
        ev.SipCallState("k9", "established"), effects=(), top=CallScreen("k9")),
    "an unknown call is ignored": case(
        agent(*talking()), ev.SipCallState("nope", "ended"), effects=(),
        calls=(("k1", "talking"),)),
}


@pytest.mark.parametrize("given,events,expect", CALL_CASES.values(), ids=CALL_CASES.keys())
def test_calls(given, events, expect):
    check(*run(given, *events), expect)


def test_the_call_timer_restarts_on_each_state():
    m = agent(*talking())
    assert m.call("k1").since == NOW
    m, _ = run(m, ev.Tick(NOW + 30), ev.SipCallState("k1", "held"))
    assert m.call("k1").since == NOW + 30


# -- wrap-up -------------------------------------------------------------------------------------
WRAPUP_CASES = {
    "picking a code sends the wrap-up": case(
        wrapping_up(), ev.Key("ok"), effects=(CcWrapUp("c1", "sale"),), screens=(IdleScreen,),
        wrapped_locally=frozenset({"c1"}), notice="Wrap-up sent"),
    "offline the wrap-up is saved": case(
        replace(wrapping_up(), links=Links(cc="down")), ev.Key("soft1"),
        effects=(CcWrapUp("c1", "sale"),), notice="Wrap-up saved; sends when online"),
    "the server's wrapup after ours does not ask again": case(
        run(wrapping_up(), ev.Key("ok"))[0], ev.CcContact(contact("c1", "wrapup")),
        screens=(IdleScreen,)),
    "two keys do not filter yet": case(
        wrapping_up(), keys("2", "2", "down", "ok"), effects=(CcWrapUp("c1", "no_sale"),)),
    "three keys filter": case(
        wrapping_up(), keys("2", "2", "5", "ok"), effects=(CcWrapUp("c1", "callback"),)),
    "back deletes a key": case(
        wrapping_up("225"), ev.Key("back"), top=ReasonScreen("wrapup", query="22", contact="c1")),
    "back cannot skip a wrap-up": case(
        wrapping_up(), ev.Key("back"), top=ReasonScreen("wrapup", contact="c1")),
    "long back cannot skip a wrap-up": case(
        wrapping_up(), ev.Key("back", "long"), top=ReasonScreen("wrapup", contact="c1")),
    "State from the wrap-up": case(wrapping_up(), ev.Key("soft3"), top=MenuScreen("state")),
}


@pytest.mark.parametrize("given,events,expect", WRAPUP_CASES.values(), ids=WRAPUP_CASES.keys())
def test_wrapup(given, events, expect):
    check(*run(given, *events), expect)


@pytest.mark.parametrize("pending,after", [(None, ("available", "")),
                                           (("idle", "lunch"), ("idle", "lunch"))])
def test_the_state_the_server_will_set_shows_at_once_even_offline(pending, after):
    m = agent(*talking(), cc="down")
    if pending:
        m = run(m, ev.CcAgentState("talking", "", pending))[0]
    m = run(m, ev.SipCallState("k1", "ended"))[0]
    assert m.agent.state == "wrapup" and m.agent_status == "WRAPUP"
    m, fx = run(m, *keys("7", "2", "5", "ok"))
    assert fx == (CcWrapUp("c1", "sale"),)
    assert (m.agent.state, m.agent.reason) == after and m.agent.pending is None


# -- reason lists --------------------------------------------------------------------------------
def idle_list(*typed):
    return agent(*keys("soft1", "2", *typed))


LIST_CASES = {
    "down moves": case(idle_list(), keys("down", "down"), top=ReasonScreen("idle", cursor=2)),
    "up from the top wraps to the end": case(
        idle_list(), ev.Key("up"), top=ReasonScreen("idle", cursor=119)),
    "down from the end wraps to the top": case(
        idle_list(*["up"]), ev.Key("down"), top=ReasonScreen("idle", cursor=0)),
    "a key filters at once": case(
        idle_list(), keys("8", "down", "ok"), effects=(CcSetState("idle", "training"),)),
    "digits in labels match themselves": case(
        idle_list(), keys("4", "2", "ok"), effects=(CcSetState("idle", "o42"),)),
    "0 and 1 type nothing": case(idle_list(), keys("1", "0"), top=ReasonScreen("idle")),
    "a key resets the cursor": case(
        idle_list("down", "down"), ev.Key("5"), top=ReasonScreen("idle", query="5")),
    "back removes the last key": case(
        idle_list("5", "8"), ev.Key("back"), top=ReasonScreen("idle", query="5")),
    "back on an empty search leaves": case(
        idle_list(), ev.Key("back"), top=MenuScreen("state", cursor=1)),
    "ok with no match does nothing": case(
        idle_list("9", "9", "9"), ev.Key("ok"), effects=(), top=ReasonScreen("idle", query="999")),
}


@pytest.mark.parametrize("given,events,expect", LIST_CASES.values(), ids=LIST_CASES.keys())
def test_reason_lists(given, events, expect):
    check(*run(given, *events), expect)


# -- logout --------------------------------------------------------------------------------------
LOGOUT_CASES = {
    "Logout shows the reasons": case(agent(), ev.Key("soft3"), top=ReasonScreen("logout")),
    "a reason logs out": case(
        agent(), keys("soft3", "down", "ok"), effects=(CcLogout("lunch"),), screens=(IdleScreen,)),
    "no logout without the server": case(
        agent(ev.CcLink("down")), ev.Key("soft3"), effects=(), screens=(IdleScreen,),
        notice="No server: can't log out now"),
    "no logout while an offer shows": case(
        # the offer popover covers the home screen; the rule still guards it
        replace(agent(ev.CcContact(contact("c1", "offered"))), screens=(IdleScreen(),)),
        ev.Key("soft3"), effects=(), notice="Answer or miss the offer first"),
    "no logout while connecting": case(
        replace(agent(ev.CcContact(contact("c1", "reserved"))),
                screens=(IdleScreen(), ReasonScreen("logout"))),
        ev.Key("ok"), effects=(), notice="Answer or miss the offer first"),
    "logged out": case(
        agent(), ev.CcLoggedOut("end of shift"), agent=None,
        notice="Logged out: end of shift", agent_status="LOGGED_OUT"),
}


@pytest.mark.parametrize("given,events,expect", LOGOUT_CASES.values(), ids=LOGOUT_CASES.keys())
def test_logout(given, events, expect):
    check(*run(given, *events), expect)


# -- the server link -----------------------------------------------------------------------------
@pytest.mark.parametrize("events,cc,problem", [
    ([ev.CcLink("down", "Server unreachable")], "down", "Server unreachable"),
    ([ev.CcLink("down", "Server unreachable"), ev.CcLink("connecting")],     # retrying: kept
     "connecting", "Server unreachable"),
    ([ev.CcLink("down", "Server refused (404)"), ev.CcLink("down")], "down",
     "Server refused (404)"),
    ([ev.CcLink("down", "Server unreachable"), ev.CcLink("up")], "up", ""),
    ([ev.CcLink("down", "Server unreachable"), ev.CcLoggedOut("")], "down", ""),
])
def test_the_server_link_and_why_it_is_down(events, cc, problem):
    m, fx = run(agent(), *events)
    assert (m.links.cc, m.cc_problem, fx) == (cc, problem, ())


# -- SIP registration, notices, robustness -------------------------------------------------------
@pytest.mark.parametrize("events,sip,problem,notice", [
    ([ev.SipRegistration("registering")], "registering", "", ""),
    ([ev.SipRegistration("failed", "401 Unauthorized")], "failed", "SIP: 401 Unauthorized", ""),
    ([ev.SipRegistration("failed", "401 Unauthorized"), ev.SipRegistration("registered", "200 OK")],
     "registered", "", "SIP: 200 OK"),
])
def test_sip_registration(events, sip, problem, notice):
    m, fx = run(agent(), *events)
    assert (m.links.sip, m.sip_problem, m.active_notice(), fx) == (sip, problem, notice, ())


def test_a_notice_lasts_a_few_seconds():
    m, _ = run(agent(), ev.CcNotice("logout in 5 seconds"), ev.Tick(NOW + 3))
    assert m.notice.text == "logout in 5 seconds"
    m, _ = run(m, ev.Tick(NOW + 10))
    assert m.notice is None and m.now == NOW + 10


@pytest.mark.parametrize("event", [
    ev.SipCallState("ghost", "established"), ev.SipCallState("ghost", "held"),
    ev.SipCallState("ghost", "resumed"), ev.SipCallState("ghost", "ended"),
    ev.CcContact(contact("ghost", "rona")), ev.CcContact(contact("ghost", "wrapped_up")),
    ev.CcRefused("wrapup", "unknown_contact", "no such contact"),
])
def test_events_about_unknown_calls_and_contacts_are_harmless(event):
    m = agent(*talking())
    after, fx = update(m, event)
    assert after.calls == m.calls and after.contacts == m.contacts and fx == ()
    assert after.screen == CallScreen("k1")


# -- where the call's audio goes -----------------------------------------------------------------
def test_audio_routes_follow_the_handset_and_the_hands_free_keys():
    from firmware.core.calls import audio_route
    from firmware.ui.view import leds

    m = agent(*offered())
    assert audio_route(m) is None                                    # ringing: nothing to hear
    m, fx = run(m, ev.Key("speaker"))                                # answered hands-free
    assert SipAnswer("k1") in fx
    m = run(m, ev.SipCallState("k1", "established"))[0]
    assert audio_route(m) == "speaker" and ("speaker", "on") in leds(m)
    m = run(m, ev.Hook(True))[0]                                     # the handset takes over
    assert audio_route(m) == "handset" and ("speaker", "off") in leds(m)
    m, fx = run(m, ev.Key("headset"))
    assert audio_route(m) == "headset" and ("headset", "on") in leds(m) and fx == ()
    m, fx = run(m, ev.Hook(False))                                   # the handset down: the
    assert audio_route(m) == "headset" and fx == ()                  # headset call goes on
    m, fx = run(m, ev.Key("headset"))                                # headset off, handset down
    assert fx == (SipHangup("k1"),)


def test_a_softkey_answer_plays_on_the_speaker():
    from firmware.core.calls import audio_route

    m = agent(*talking())                                            # Accpt, handset down
    assert audio_route(m) == "speaker"
    m, fx = run(m, ev.Key("speaker"))                                # already hands-free: on
    assert audio_route(m) == "speaker"
    m, fx = run(m, ev.Key("speaker"))                                # off, handset down: ends
    assert fx == (SipHangup("k1"),)


# -- the agent's voice: which mic, to which call, and mute --------------------------------------
def test_the_voice_goes_to_the_call_talked_on_from_the_mic_of_the_route():
    from firmware.core.calls import voice_target

    m = agent(*offered())
    assert voice_target(m) is None                                   # ringing: mic closed
    m = run(m, ev.Hook(True), ev.SipCallState("k1", "established"))[0]
    assert voice_target(m) == ("k1", "mic")                          # the handset's mic
    m = run(m, ev.Key("headset"))[0]
    assert voice_target(m) == ("k1", "headset_mic")
    m = run(m, ev.Key("headset"), ev.Key("speaker"))[0]              # hands-free on the base:
    assert voice_target(m) == ("k1", "mic")                          # the one mic it has
    m = run(m, ev.SipCallState("k1", "held"))[0]
    assert voice_target(m) is None                                   # a held customer hears hold
    m = run(m, ev.SipCallState("k1", "resumed"), *talking("c2", "k2"))[0]
    assert [c.state for c in m.calls] == ["talking", "talking"]     # k1's hold on its way
    assert voice_target(m) == ("k2", "mic")                          # never to k1 meanwhile
    m = run(m, ev.SipCallState("k1", "held"), ev.Key("left"))[0]     # k1 on the screen, held
    assert voice_target(m) == ("k2", "mic")


def test_the_agent_hears_their_own_voice_on_the_route_they_talk_on_while_it_is_sent():
    from firmware.core.calls import sidetone_route

    m = agent(*offered())
    assert sidetone_route(m) is None                                 # ringing
    m = run(m, ev.Hook(True), ev.SipCallState("k1", "established"))[0]
    assert sidetone_route(m) == "handset"
    m = run(m, ev.Key("headset"))[0]
    assert sidetone_route(m) == "headset"
    m = run(m, ev.Key("mute"))[0]
    assert sidetone_route(m) is None                                 # muted: nothing sent
    m = run(m, ev.Key("mute"), ev.SipCallState("k1", "held"))[0]
    assert sidetone_route(m) is None                                 # held
    m = run(m, ev.SipCallState("k1", "resumed"), ev.SipCallState("k1", "ended"))[0]
    assert sidetone_route(m) is None                                 # between calls


MUTE_CASES = {
    "mute during a call": case(agent(*talking()), ev.Key("mute"), effects=(), muted=True),
    "pressed again: unmuted": case(
        agent(*talking(), ev.Key("mute")), ev.Key("mute"), muted=False),
    "mute stays on across hold and resume": case(
        agent(*talking(), ev.Key("mute")),
        [ev.SipCallState("k1", "held"), ev.SipCallState("k1", "resumed")], muted=True),
    "the mute key does nothing without a call": case(agent(), ev.Key("mute"), muted=False),
    "nor while a call only rings": case(agent(*offered()), ev.Key("mute"), muted=False),
    "the last call ending unmutes": case(
        agent(*talking(), ev.Key("mute")), ev.SipCallState("k1", "ended"), muted=False),
}


@pytest.mark.parametrize("given,events,expect", MUTE_CASES.values(), ids=MUTE_CASES.keys())
def test_mute(given, events, expect):
    check(*run(given, *events), expect)


def test_muted_the_voice_goes_nowhere_and_the_mute_led_is_lit():
    from firmware.core.calls import voice_target
    from firmware.ui.view import leds

    m = agent(*talking())
    assert ("mute", "off") in leds(m)
    m = run(m, ev.Key("mute"))[0]
    assert voice_target(m) is None and ("mute", "on") in leds(m)
    m = run(m, ev.Key("mute"))[0]
    assert voice_target(m) == ("k1", "mic") and ("mute", "off") in leds(m)


# -- the volume keys during a call: the route it plays on --------------------------------------
def test_the_volume_keys_during_a_call_set_the_routes_volume_and_keep_it():
    from firmware.core.effects import SaveSettings
    from firmware.ui.view import render

    m = agent(*talking())                                   # answered how talking() does
    route = "handset" if m.hook_lifted else "speaker"
    before = m.settings.volume(route)
    m, fx = run(m, ev.Key("volup"))
    assert m.settings.volume(route) == before + 1 and fx == (SaveSettings(m.settings),)
    assert f"{route.capitalize()} volume {before + 1}" in "\n".join(render(m).rows)
    assert m.settings.ringer_volume == agent().settings.ringer_volume     # not the ringer's
    m = run(m, ev.Key("headset"), *[ev.Key("volup")] * 12)[0]
    assert m.settings.headset_volume == 10                  # the top, whatever is pressed
    m = run(m, ev.Key("voldown"))[0]
    assert m.settings.headset_volume == 9


def test_at_idle_the_volume_keys_still_set_the_ringer():
    m = agent()
    m = run(m, ev.Key("volup"))[0]
    assert m.settings.ringer_volume == agent().settings.ringer_volume + 1


# -- digits keyed during a call go to the far end as DTMF ----------------------------------------
DTMF_CASES = {
    "a digit while talking": case(agent(*talking()), ev.Key("4"), effects=(SipDtmf("k1", "4"),)),
    "star and hash too": case(
        agent(*talking(), ev.Key("1")), [ev.Key("*"), ev.Key("#")],
        effects=(SipDtmf("k1", "*"), SipDtmf("k1", "#"))),
    "not to a held customer": case(held(), ev.Key("4"), effects=()),
    "not while it only rings": case(agent(*offered(), ev.Key("soft1")), ev.Key("4"), effects=()),
}


@pytest.mark.parametrize("given,events,expect", DTMF_CASES.values(), ids=DTMF_CASES.keys())
def test_dtmf(given, events, expect):
    check(*run(given, *events), expect)


def test_the_digits_keyed_stay_with_their_call():
    m = run(agent(*talking()), *keys("1", "2", "#"))[0]
    assert m.call("k1").dtmf_sent == 3                          # counted, the digits not kept
    m = run(m, *talking("c2", "k2"), ev.SipCallState("k1", "held"), ev.Key("9"))[0]
    assert (m.call("k1").dtmf_sent, m.call("k2").dtmf_sent) == (3, 1)
