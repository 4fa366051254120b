"""Consult and transfer on the phone (docs/cc-protocol.md, "Consult and transfer"), as rules:
picking a target, the consult leg bound by its token and answered by itself, swapping, the
consult transfer, blind transfer, exit, the consulted agent's popover. Every model is reached
through real events."""
from dataclasses import replace

import pytest

from firmware.core import events as ev
from firmware.core.calls import WAIT_FOR_CONTACT_S
from firmware.core.effects import (CcAccept, CcCallEvent, CcConsult, CcExitConsult,
                                   CcGetDirectory, CcTransfer, SipAnswer, SipHangup, SipHold,
                                   SipRefuse, SipResume)
from firmware.core.events import ConsultLeg, Requester, VariableLayout
from firmware.core.model import (CallScreen, DialScreen, DirectoryScreen, OfferPopover,
                                 ReasonScreen, TaskScreen)
from firmware.ui.view import render
from tests.unit.test_agent_rules import (NOW, agent, contact, keys, offered, run, talking,
                                         token)
from tests.unit.test_phonebook import DIRECTORY

CONSULT_TOKEN = "Kp4-consult-c1-9wLxT2mRf7bN3sQd0YgHj5Vc8uEa6Zo"
BRIDGE = "sip:cc@127.0.0.1:5070"


def consult_of(cid="c1", status="dialing", who="Ben Okafor", kind="agent", since=NOW):
    """The server's contact event once it took the consult: the consult leg's token with it."""
    return ev.CcContact(contact(cid, "assigned",
                                consult=ConsultLeg(who, kind, status, since, CONSULT_TOKEN)))


def consult_invite(call="k2", cid="c1", tok=CONSULT_TOKEN):
    return ev.SipIncoming(call, cid, BRIDGE, tok)


def lcd(m):
    return render(m).rows


def softkeys(m):
    return lcd(m)[-1]


def picking():
    """Talking on c1, `xfer` pressed: the consult dial screen."""
    return agent(*talking(), ev.Key("xfer"))


def consulting(status="dialing"):
    """Talking on c1, consulted 1002 (Ben Okafor); the consult leg is up and shown."""
    return agent(*talking(), *keys("xfer", "1", "0", "0", "2", "ok"), consult_of(status=status),
                 consult_invite(), ev.SipCallState("k1", "held"),
                 ev.SipCallState("k2", "established"))


# -- picking the target ---------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["xfer", "conf"])
def test_xfer_or_conf_on_a_customer_call_opens_the_consult_dial_screen(key):
    m, fx = run(agent(*talking()), ev.Key(key))
    assert m.screen == DialScreen(consult="c1") and fx == ()
    assert lcd(m)[0].startswith("Consult") and softkeys(m) == "Cnslt Dir Blind Back"


def test_a_typed_number_is_consulted_and_the_call_shows_again():
    m, fx = run(picking(), *keys("5", "5", "5", "0", "1", "0", "0", "ok"))
    assert fx == (CcConsult("c1", "number", "5550100"),)
    assert m.screen == CallScreen("k1") and m.calls[0].state == "talking"   # not dialed here
    assert "c1" in m.consult_asked


def test_blind_from_the_dial_screen_transfers_to_the_number_typed():
    for blind in ("xfer", "soft3"):
        m, fx = run(picking(), *keys("5", "5", "5"), ev.Key(blind))
        assert fx == (CcTransfer("c1", "number", "555"),), blind
        assert m.screen == CallScreen("k1") and m.active_notice() == "Transferring..."


@pytest.mark.parametrize("search, kind, target", [
    ("236", "agent", "1002"),                  # Ben Okafor: the agent's id
    ("7877", "queue", "support"),              # a queue: its name
    ("6246", "entry_point", "Main line"),
    ("432", "number", "5550100"),              # a dial number: its number
])
def test_the_directory_picks_a_consult_target(search, kind, target):
    m, fx = run(picking(), ev.Key("soft2"))
    assert m.screen == DirectoryScreen(asked_at=NOW, waiting=True, consult="c1")
    assert fx == (CcGetDirectory(),)
    m, _ = run(m, ev.CcDirectory(DIRECTORY), *keys(*search))
    assert lcd(m)[0].startswith("Consult") and softkeys(m).startswith("Cnslt Blind")
    consulted, fx = run(m, ev.Key("ok"))
    assert fx == (CcConsult("c1", kind, target),)
    assert consulted.screen == CallScreen("k1")
    blind, fx = run(m, ev.Key("soft2"))
    assert fx == (CcTransfer("c1", kind, target),) and blind.screen == CallScreen("k1")


def test_speaker_on_the_consult_dial_screen_dials_nothing():
    m, fx = run(picking(), *keys("5", "5", "5"), ev.Key("speaker"))
    assert [c.id for c in m.calls] == ["k1"] and fx == () and m.hands_free == "speaker"


def test_an_emergency_number_typed_in_the_picker_still_dials_at_once():
    m, fx = run(picking(), *keys("9", "1", "1"))
    assert [c.emergency for c in m.calls] == [False, True]
    assert SipHold("k1") in fx and not any(isinstance(e, CcConsult) for e in fx)


@pytest.mark.parametrize("given, why", [
    (lambda: agent(ev.SipIncoming("k9", "", "sip:1002@pbx"), ev.Key("soft1"),
                   ev.SipCallState("k9", "established")), "Only a contact's call can be consulted"),
    (lambda: agent(*talking(), ev.CcLink("down")), "No server: can't consult now"),
    (lambda: agent(*talking(), consult_of()), "A consult is up already"),
])
def test_what_cannot_be_consulted_says_why(given, why):
    m, fx = run(given(), ev.Key("xfer"))
    assert fx == () and isinstance(m.screen, CallScreen) and m.active_notice() == why


@pytest.mark.parametrize("code, notice", [
    ("unsupported_destination", "Unsupported destination"),
    ("not_allowed", "Consult: Not allowed now"),
    ("unknown_target", "Consult: No such target"),
])
def test_a_refused_consult_is_a_notice_on_the_call(code, notice):
    m, _ = run(picking(), *keys("8", "0", "0", "0", "ok"), ev.CcRefused("consult", code, "x"))
    assert m.active_notice() == notice and m.consult_asked == frozenset()
    assert m.screen == CallScreen("k1") and m.calls[0].state == "talking"


def test_a_consult_that_ended_unanswered_can_be_asked_again():
    m, _ = run(picking(), *keys("1", "0", "0", "2", "ok"), consult_of(status="ringing"))
    assert m.consult_asked == frozenset()
    m, _ = run(m, ev.CcContact(contact("c1", "assigned")))      # never answered: gone
    m, fx = run(m, *keys("xfer", "1", "0", "0", "3", "ok"))
    assert fx == (CcConsult("c1", "number", "1003"),)


def test_a_consult_asked_twice_before_the_server_answers_goes_once():
    m, fx = run(picking(), *keys("1", "0", "0", "2", "ok", "xfer"))
    assert fx == (CcConsult("c1", "number", "1002"),)
    assert m.active_notice() == "A consult is up already"


def test_a_consult_or_transfer_asked_offline_is_refused_by_the_link_in_words():
    m, _ = run(picking(), *keys("5", "5", "5", "ok"),
               ev.CcRefused("consult", "offline", "No server: can't consult now"))
    assert m.active_notice() == "No server: can't consult now"


# -- the consult leg ------------------------------------------------------------------------------
def test_the_consult_leg_is_bound_by_its_token_and_answered_by_itself_holding_the_customer():
    m, _ = run(picking(), *keys("1", "0", "0", "2", "ok"), consult_of())
    m, fx = run(m, consult_invite())
    assert fx == (CcCallEvent("c1", "ringing", NOW, "consult"), SipHold("k1"), SipAnswer("k2"))
    assert not m.ringer and m.consult_asked == frozenset()
    m, fx = run(m, ev.SipCallState("k1", "held"), ev.SipCallState("k2", "established"))
    assert fx == (CcCallEvent("c1", "held", NOW), CcCallEvent("c1", "answered", NOW, "consult"))
    assert m.call_of("c1").id == "k1" and m.consult_of("c1").id == "k2"
    assert m.screen == CallScreen("k2") and m.history[0].direction == "in"   # one entry
    assert len(m.history) == 1


def test_the_consult_leg_may_come_before_its_token_and_waits_for_it():
    m, fx = run(picking(), *keys("1", "0", "0", "2", "ok"), consult_invite())
    assert fx == (CcConsult("c1", "number", "1002"),)      # the INVITE: nothing yet
    assert m.calls[-1].id == "k1" and m.waiting[0].id == "k2"
    m, fx = run(m, consult_of())
    assert SipAnswer("k2") in fx and m.consult_of("c1").id == "k2" and m.waiting == ()


def test_a_forged_invite_waiting_for_the_consult_token_is_refused_once_it_comes():
    m, _ = run(picking(), *keys("1", "0", "0", "2", "ok"), consult_invite("k6", tok="guess"))
    assert m.waiting and m.calls[-1].id == "k1"
    m, fx = run(m, consult_of())
    assert fx == (SipRefuse("k6", "c1", "wrong token"),) and m.waiting == ()


def test_an_invite_waiting_for_a_consult_token_that_never_comes_is_refused():
    m, _ = run(picking(), *keys("1", "0", "0", "2", "ok"), consult_invite())
    m, fx = run(m, ev.Tick(NOW + WAIT_FOR_CONTACT_S))
    assert fx == (SipRefuse("k2", "c1", "wrong token"),) and len(m.calls) == 1


@pytest.mark.parametrize("tok, why", [("guess", "wrong token"), ("", "no token"),
                                      (CONSULT_TOKEN, "consult leg already up")])
def test_an_invite_with_neither_token_or_a_second_consult_leg_is_refused(tok, why):
    m, fx = run(consulting(), consult_invite("k6", tok=tok))
    assert fx == (SipRefuse("k6", "c1", why),) and [c.id for c in m.calls] == ["k1", "k2"]


def test_without_a_consult_asked_a_wrong_token_is_refused_at_once_as_before():
    _, fx = run(agent(*talking()), consult_invite("k6"))
    assert fx == (SipRefuse("k6", "c1", "wrong token"),)


def test_the_offer_token_still_binds_the_customer_call():
    m = agent(*offered())
    assert m.call_of("c1").leg == "customer" and m.consult_of("c1") is None


@pytest.mark.parametrize("status, header", [("dialing", "Dialing 00:05"),
                                            ("ringing", "Ringing 00:05"),
                                            ("talking", "Talking 00:05")])
def test_the_consult_leg_shows_whom_and_how_far_with_its_own_timer(status, header):
    m, _ = run(consulting(status), ev.Tick(NOW + 5))
    r = lcd(m)
    assert r[0] == header.ljust(16) + " 2/2" and r[1] == "Consulting Ben Okafo"   # cut at 20
    xfer = "Xfer" if status == "talking" else "    "
    assert softkeys(m) == f" Hold Exit {xfer} Swap"
    m, _ = run(m, ev.Key("left"))                     # the customer, held by itself
    assert lcd(m)[0].startswith("Held") and softkeys(m) == "Resum End  Vars Swap"


def test_swap_talks_to_the_other_leg_holding_this_one_and_left_right_only_look():
    m, fx = run(consulting(), ev.Key("right"))
    assert fx == () and m.screen == CallScreen("k1")
    m, fx = run(consulting(), ev.Key("soft4"))        # Swap: back to the customer
    assert fx == (SipHold("k2"), SipResume("k1")) and m.screen == CallScreen("k1")
    m, fx = run(m, ev.SipCallState("k2", "held"), ev.SipCallState("k1", "resumed"))
    assert fx == (CcCallEvent("c1", "held", NOW, "consult"), CcCallEvent("c1", "resumed", NOW))
    m, fx = run(m, ev.Key("soft4"))                   # and to the consulted party again
    assert fx == (SipHold("k1"), SipResume("k2")) and m.screen == CallScreen("k2")


def test_both_legs_can_be_held():
    m, fx = run(consulting(), ev.Key("hold"), ev.SipCallState("k2", "held"))
    assert fx[0] == SipHold("k2") and [c.state for c in m.calls] == ["held", "held"]


def test_transfer_appears_once_the_consulted_party_answers_and_hands_the_customer_over():
    m, fx = run(consulting("ringing"), ev.Key("xfer"))
    assert fx == () and m.active_notice() == "Transfer once they answer"
    m, _ = run(m, consult_of(status="talking"))
    for key in ("soft3", "xfer"):
        done, fx = run(m, ev.Key(key))
        assert fx == (CcTransfer("c1"),) and done.active_notice() == "Transferring...", key
    _, fx = run(m, ev.Key("left"), ev.Key("xfer"))  # from the held customer's screen too
    assert fx == (CcTransfer("c1"),)


def test_after_a_transfer_the_wrapup_follows_once_both_legs_are_gone():
    m, _ = run(consulting("talking"), ev.Key("soft3"))
    m, fx = run(m, ev.SipCallState("k2", "ended"))
    assert fx == (CcCallEvent("c1", "ended", NOW, "consult"),)
    assert not isinstance(m.screen, ReasonScreen) and m.screen == CallScreen("k1")
    m, fx = run(m, ev.SipCallState("k1", "ended"))
    assert fx == (CcCallEvent("c1", "ended", NOW),)
    assert m.screen == ReasonScreen("wrapup", contact="c1") and m.agent.state == "wrapup"
    m, _ = run(m, ev.CcContact(contact("c1", "ended")), ev.CcContact(contact("c1", "wrapup")))
    assert [type(s) for s in m.screens].count(ReasonScreen) == 1


def test_the_servers_ended_and_wrapup_before_the_byes_give_one_wrapup():
    m, _ = run(consulting("talking"), ev.Key("soft3"), ev.CcContact(contact("c1", "ended")),
               ev.CcContact(contact("c1", "wrapup")), ev.SipCallState("k2", "ended"),
               ev.SipCallState("k1", "ended"))
    assert m.calls == () and [type(s) for s in m.screens].count(ReasonScreen) == 1
    assert m.screen == ReasonScreen("wrapup", contact="c1")


@pytest.mark.parametrize("leg_held", [False, True])
def test_exit_hangs_up_the_consult_leg_and_the_held_customer_shows_again(leg_held):
    m = consulting("talking")
    if leg_held:                                       # Exit, even with the leg held
        m, _ = run(m, ev.Key("hold"), ev.SipCallState("k2", "held"))
    m, fx = run(m, ev.Key("soft2"))
    assert fx == (CcExitConsult("c1"), SipHangup("k2"))
    m, fx = run(m, ev.SipCallState("k2", "ended"))
    assert fx == (CcCallEvent("c1", "ended", NOW, "consult"),)
    assert m.screen == CallScreen("k1") and m.calls[0].state == "held"
    assert lcd(m)[0].startswith("Held")               # still held until the agent resumes
    m, fx = run(m, ev.Key("soft1"))
    assert fx == (SipResume("k1"),)


def test_the_customer_hanging_up_during_a_consult_leaves_the_consult_then_the_wrapup():
    m, _ = run(consulting("talking"), ev.SipCallState("k1", "ended"))
    assert m.screen == CallScreen("k2") and find_wrapup(m) is None
    m, _ = run(m, ev.Key("soft2"), ev.SipCallState("k2", "ended"))
    assert find_wrapup(m) is not None


def find_wrapup(m):
    return next((s for s in m.screens if isinstance(s, ReasonScreen) and s.kind == "wrapup"),
                None)


def test_the_task_list_shows_the_consult_leg():
    m, _ = run(consulting("talking"), ev.Key("soft4"), ev.Key("ok"))
    assert m.screen == TaskScreen()
    r = lcd(m)
    assert r[1].startswith("→Held +15551234567") and r[2].startswith(" Cons Ben Okafor")


# -- the consulted agent --------------------------------------------------------------------------
ADA = Requester("Ada Byron", "sip:1001@pbx", "Sales")


def consult_offer(**kw):
    return ev.CcContact(contact("c1", "offered", primary=False, requested_by=ADA, **kw))


def test_the_consult_popover_shows_who_asked_then_the_variables_never_secure_ones():
    m = agent(consult_offer(), ev.SipIncoming("k1", "c1", BRIDGE, token("c1")))
    r = lcd(m)
    assert r[0] == "Consult        00:03" and r[1].rstrip() == "From: Ada Byron"
    m, _ = run(m, ev.Key("down"), ev.Key("down"), ev.Key("down"))
    seen = " ".join(lcd(m))
    assert "Topic: Billing" in seen and "Card" not in seen and "4111" not in seen


def test_a_consult_popover_shows_nine_lines_at_most():
    layout = tuple(VariableLayout(f"v{i}", f"V{i}") for i in range(12))
    m = agent(consult_offer(variables=tuple((f"v{i}", str(i)) for i in range(12))))
    m = replace(m, agent=replace(m.agent, layout=layout))
    shown = []
    for _ in range(12):
        shown += [r.rstrip() for r in lcd(m)[1:3]]
        m, _ = run(m, ev.Key("down"))
    assert sorted(set(shown)) == sorted(["From: Ada Byron", "Ext: 1001", "Team: Sales",
                                         *(f"V{i}: {i}" for i in range(6))])


def test_the_consulted_agent_accepts_exits_and_owes_no_wrapup():
    m, fx = run(agent(consult_offer(), ev.SipIncoming("k1", "c1", BRIDGE, token("c1"))),
                ev.Key("soft1"))
    assert CcAccept("c1") in fx and SipAnswer("k1") in fx
    m, _ = run(m, ev.SipCallState("k1", "established"), ev.CcContact(
        contact("c1", "assigned", primary=False, requested_by=ADA)))
    assert softkeys(m) == " Hold Exit Vars     " and lcd(m)[1].startswith("From: Ada Byron")
    m, fx = run(m, ev.Key("soft2"))
    assert fx == (CcExitConsult("c1"), SipHangup("k1"))
    m, _ = run(m, ev.SipCallState("k1", "ended"))
    assert find_wrapup(m) is None and m.calls == ()


def test_a_consulted_agent_made_primary_by_a_transfer_owes_the_wrapup():
    m, _ = run(agent(consult_offer(), ev.SipIncoming("k1", "c1", BRIDGE, token("c1"))),
               ev.Key("soft1"), ev.SipCallState("k1", "established"),
               ev.CcContact(contact("c1", "assigned", control="1002")))     # primary now
    assert softkeys(m) == " Hold End  Vars More"
    m, _ = run(m, ev.SipCallState("k1", "ended"))
    assert find_wrapup(m) is not None


def test_the_offer_popover_of_a_consult_is_no_customer_offer():
    m = agent(consult_offer())
    assert isinstance(m.screen, OfferPopover) and "+1555" not in " ".join(lcd(m))
