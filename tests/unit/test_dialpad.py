"""The dial pad and emergency calls, as rules: typing, dialing, the placed call's life, and 911
from every state the phone can be in (each reached through real events)."""
from dataclasses import replace

import pytest

from firmware.core import events as ev
from firmware.core.dialpad import MAX_DIAL, TOO_LONG
from firmware.core.effects import CcCallEvent, CcDial, SipDial, SipHangup, SipHold, StopTone
from firmware.core.model import (CallScreen, DeviceInfo, DialScreen, IdleScreen, LoginScreen,
                                 Model, ReasonScreen)
from firmware.ui.view import render
from tests.unit.test_agent_rules import NOW, agent, home, keys, offered, run, talking

LOCAL = DeviceInfo("1.2.3", "sim", "a", emergency=("911", "112", "999"))


def typed(m, number):
    return run(m, *keys(*number))


def placed(m, fx):
    return [e for e in fx if isinstance(e, SipDial)]


def asked(fx):
    return [e for e in fx if isinstance(e, CcDial)]


def go(m, call="dial-1", to="5550100", contact="c-9"):
    """The server's go-ahead for the phone's dial."""
    return run(m, ev.CcDialAnswer(call, to, contact))


def lcd(m):
    return render(m).rows


def test_digits_at_home_open_the_dial_screen_and_back_deletes():
    m, fx = typed(home(), "555")
    assert m.screen == DialScreen("555") and fx == ()
    assert lcd(m)[1].startswith("555_")
    m, _ = run(m, ev.Key("back"))
    assert m.screen == DialScreen("55")
    m, _ = run(m, *keys("back", "back", "back"))
    assert isinstance(m.screen, IdleScreen)


@pytest.mark.parametrize("key", ["ok", "soft1"])
def test_ok_or_the_dial_softkey_asks_the_server_then_places_the_call_on_the_speaker(key):
    m, fx = run(typed(agent(), "5550100")[0], ev.Key(key))
    assert fx == (CcDial("dial-1", "5550100"),)             # the server first: no INVITE yet
    assert isinstance(m.screen, CallScreen) and m.hands_free == "speaker"
    assert [(c.state, c.peer, c.outbound) for c in m.calls] == [("calling", "5550100", True)]
    assert lcd(m)[0].startswith("Calling 00:00") and "5550100" in lcd(m)[1]
    m, fx = go(m)
    assert fx == (SipDial("dial-1", "5550100", False, "c-9"),)
    assert m.calls[0].contact == "c-9" and not m.calls[0].awaiting


def test_an_internal_call_has_no_contact():
    m, _ = run(typed(agent(), "1002")[0], ev.Key("ok"))
    m, fx = go(m, to="1002", contact="")
    assert fx == (SipDial("dial-1", "1002", False, ""),)


@pytest.mark.parametrize("given, why", [
    (lambda: home(), "Log in to dial (emergency calls always go)"),
    (lambda: agent(ev.CcLink("down")), "No server: only emergency calls"),
])
def test_a_number_needs_a_logged_in_agent_and_the_server(given, why):
    m, fx = run(typed(given(), "5550100")[0], ev.Key("ok"))
    assert fx == () and m.calls == () and m.screen == DialScreen("5550100")
    assert m.active_notice() == why


def test_the_server_refusing_a_dial_says_why_and_the_phone_is_back_home():
    m, _ = run(typed(agent(), "5550100")[0], ev.Key("ok"),
               ev.CcRefused("dial", "call_limit", "call limit reached (2 calls)"))
    assert m.calls == () and isinstance(m.screen, IdleScreen) and m.hands_free is None
    assert m.active_notice() == "Not dialed: call limit reached (2 calls)"


def test_giving_up_before_the_server_answers_tells_it_the_contact_ended():
    m, _ = run(typed(agent(), "5550100")[0], ev.Key("ok"))
    m, fx = run(m, ev.Key("soft2"))                                  # End
    assert fx == () and m.calls == ()
    m, fx = go(m)
    assert fx == (CcCallEvent("c-9", "ended", NOW),)


def test_the_placed_call_rings_is_answered_and_ends():
    m, _ = run(typed(agent(), "5550100")[0], ev.Key("ok"))
    m, _ = run(go(m)[0], ev.SipDialed("dial-1", "7"))
    assert m.calls[0].id == "7" and m.screen == CallScreen("7")
    m, _ = run(m, ev.SipCallState("7", "ringing"))
    assert lcd(m)[0].startswith("Ringing")
    m, _ = run(m, ev.SipCallState("7", "established"))
    assert m.calls[0].state == "talking" and lcd(m)[0].startswith("Talking")
    m, fx = run(m, ev.Key("soft2"))                                  # End
    assert fx == (SipHangup("7"),)
    m, _ = run(m, ev.SipCallState("7", "ended", "local hangup"))
    assert m.calls == () and m.hands_free is None
    assert m.active_notice() == ""                                   # nothing failed


def test_a_number_that_does_not_exist_says_so_and_the_phone_is_back_home():
    m, _ = run(typed(agent(), "5550000")[0], ev.Key("ok"))
    m, _ = run(go(m, contact="")[0], ev.SipDialed("dial-1", "7"),
               ev.SipCallState("7", "ended", "not found (404)"))
    assert m.calls == () and isinstance(m.screen, IdleScreen)
    assert m.active_notice() == "Call failed: not found (404)"
    assert "Call failed: not found (404)" in " ".join(r.strip() for r in lcd(m))


def test_a_dial_the_stack_refuses_is_said_and_nothing_is_left():
    m, _ = run(typed(agent(), "5550100")[0], ev.Key("ok"))
    m, fx = run(go(m)[0], ev.SipDialed("dial-1", error="SIP not running"))
    assert m.calls == () and m.active_notice() == "Not dialed: SIP not running"
    assert fx == (CcCallEvent("c-9", "ended", NOW),)                 # the server's contact too


def test_a_number_too_long_for_the_dial_screen_is_refused_with_a_message():
    m, _ = typed(home(), "5" * MAX_DIAL)
    m, _ = run(m, ev.Key("7"))
    assert m.screen == DialScreen("5" * MAX_DIAL) and m.active_notice() == TOO_LONG
    m, _ = run(m, ev.Tick(NOW + 10))
    assert lcd(m)[1].endswith("5_")                     # the end of the number stays in view


def test_a_long_zero_types_plus():
    m, _ = run(home(), ev.Key("0"), ev.Key("0", "long"), *keys("4", "4"))
    assert m.screen == DialScreen("+44")


def test_lifting_the_handset_opens_the_dial_screen_and_replacing_it_closes_it():
    m, _ = run(home(), ev.Hook(True))
    assert m.screen == DialScreen("")
    m, _ = run(m, ev.Hook(False))
    assert isinstance(m.screen, IdleScreen)


def test_lifting_the_handset_with_a_number_typed_dials_it_on_the_handset():
    m, fx = run(typed(agent(), "1002")[0], ev.Hook(True))
    assert asked(fx) == [CcDial("dial-1", "1002")] and m.hands_free is None


def test_the_speaker_key_goes_off_hook_and_dials():
    m, _ = run(home(), ev.Key("speaker"))
    assert m.screen == DialScreen("") and m.hands_free == "speaker"
    m, fx = run(m, *keys("1", "0", "0", "2"), ev.Key("ok"))
    assert fx == ()                                     # logged out: only emergency numbers


def test_dialing_holds_the_call_in_front():
    m = agent(*talking())
    m, _ = run(m, ev.Key("hold"), ev.SipCallState("k1", "held"), ev.Hook(True))
    m, fx = run(m, *keys("1", "0", "0", "2", "ok"))
    assert asked(fx) == [CcDial("dial-1", "1002")]
    assert [c.state for c in m.calls] == ["held", "calling"]


# -- emergency: dialed the moment the number is complete, from every state -----------------------
def logged_out_pin_never_typed():
    return home(cc="off")


def login_locked_out():
    m = home()
    m = replace(m, login_locked_until=NOW + 30)
    return run(m, ev.Key("soft1"))[0]


def in_wrap_up():
    m = agent(*talking(), ev.SipCallState("k1", "ended"))
    assert isinstance(m.screen, ReasonScreen) and m.screen.kind == "wrapup"
    return m


def server_unreachable():
    return agent(ev.CcLink("down"))


def offer_ringing():
    return agent(*offered())


STATES = {"logged out, PIN never typed": logged_out_pin_never_typed,
          "login locked out": login_locked_out, "in wrap-up": in_wrap_up,
          "server unreachable": server_unreachable, "an offer ringing": offer_ringing}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("number", ["911", "112"])
def test_an_emergency_number_dials_at_once_off_hook_from_every_state(state, number):
    m = STATES[state]()
    m, _ = run(m, ev.Hook(True))
    if state == "an offer ringing":      # lifting answers the offer; the emergency comes next
        m, _ = run(m, ev.SipCallState("k1", "established"), ev.Key("hold"),
                   ev.SipCallState("k1", "held"), ev.Hook(False), ev.Hook(True))
    assert isinstance(m.screen, DialScreen), state
    m, fx = typed(m, number)
    assert placed(m, fx) == [SipDial("dial-1", number, True)]
    call = m.calls[-1]
    assert call.emergency and call.state == "calling"
    m, _ = run(m, ev.Tick(NOW + 10))                      # any notice gone
    assert lcd(m)[0].startswith("Calling") and f"EMERGENCY {number}" in lcd(m)[1]


@pytest.mark.parametrize("state", ["logged out, PIN never typed", "in wrap-up"])
def test_an_emergency_number_dials_at_once_from_the_dial_pad(state):
    m = STATES[state]()
    if isinstance(m.screen, ReasonScreen):   # the wrap-up list takes digits: the speaker key
        m, _ = run(m, ev.Key("speaker"))     # opens the dial pad over it ...
        assert m.screen != DialScreen("")    # ... only at home
        m, _ = run(m, ev.Hook(True))
    m, fx = typed(m, "911")
    assert placed(m, fx) == [SipDial("dial-1", "911", True)]


def test_a_local_emergency_number_from_the_config_dials_at_once():
    m = replace(home(), info=LOCAL)
    m, fx = typed(m, "999")
    assert placed(m, fx) == [SipDial("dial-1", "999", True)]
    m, fx = typed(replace(home(), info=LOCAL), "998")
    assert placed(m, fx) == []


def test_digits_on_a_ringing_offer_dial_an_emergency_and_silence_the_ringer():
    m = offer_ringing()
    assert m.ringer
    m, fx = typed(m, "911")
    assert placed(m, fx) == [SipDial("dial-1", "911", True)]
    assert StopTone("ringer") in fx and not m.ringer and m.hands_free == "speaker"


def test_wrap_up_is_still_owed_after_the_emergency_call():
    m = in_wrap_up()
    m, _ = run(m, ev.Hook(True), *keys("9", "1", "1"), ev.SipDialed("dial-1", "e1"),
               ev.SipCallState("e1", "established"))
    assert isinstance(m.screen, CallScreen)
    m, _ = run(m, ev.SipCallState("e1", "ended", "remote hangup"), ev.Hook(False))
    assert isinstance(m.screen, ReasonScreen) and m.screen.kind == "wrapup"


def test_replacing_the_handset_cancels_a_call_being_placed():
    m, _ = run(agent(), ev.Hook(True), *keys("1", "0", "0", "2", "ok"))
    m, fx = run(go(m, to="1002", contact="")[0], ev.SipDialed("dial-1", "7"), ev.Hook(False))
    assert fx == (SipHangup("7"),)


def test_locked_login_screen_stays_under_the_dial_pad():
    m = login_locked_out()
    assert isinstance(m.screen, LoginScreen)
    m, _ = run(m, ev.Hook(True))
    assert isinstance(m.screens[-2], LoginScreen) and m.screen == DialScreen("")


def test_nothing_is_dialed_without_keys():
    m = Model(info=LOCAL, now=NOW)
    m, fx = run(m, ev.Booted(), ev.Hook(True), ev.Hook(False))
    assert placed(m, fx) == [] and not any(isinstance(e, SipHold) for e in fx)


def test_digits_on_a_held_call_open_the_dial_pad_for_an_emergency():
    m = agent(*talking(), ev.Key("hold"), ev.SipCallState("k1", "held"))
    m, fx = typed(m, "112")
    assert placed(m, fx) == [SipDial("dial-1", "112", True)]
    assert [c.state for c in m.calls] == ["held", "calling"]


# -- redial and the call history ---------------------------------------------------------------
def test_redial_dials_the_last_number_but_never_an_emergency_one():
    m, _ = run(typed(agent(), "5550100")[0], ev.Key("ok"))
    m, _ = run(go(m)[0], ev.SipDialed("dial-1", "7"), ev.SipCallState("7", "ended", "busy (486)"))
    m, _ = run(m, ev.Hook(True), *keys("9", "1", "1"), ev.SipDialed("dial-2", "8"),
               ev.SipCallState("8", "ended", "remote hangup"), ev.Hook(False))
    m, fx = run(m, ev.Key("redial"))
    assert asked(fx) == [CcDial("dial-3", "5550100")]


def test_nothing_to_redial_says_so():
    m, fx = run(agent(), ev.Key("redial"))
    assert fx == () and m.active_notice() == "Nothing to redial"


def test_the_history_lists_calls_newest_first_and_dials_one_again():
    m, _ = run(typed(agent(), "5550100")[0], ev.Key("ok"))
    m, _ = run(go(m)[0], ev.SipDialed("dial-1", "7"), ev.SipCallState("7", "ended", "busy (486)"))
    m, _ = run(m, ev.SipIncoming("k9", "", "sip:1002@pbx"), ev.SipCallState("k9", "ended"))
    assert [(h.number, h.direction) for h in m.history] == [("1002", "missed"),
                                                             ("5550100", "out")]
    m, _ = run(m, *keys("soft2", "3"), ev.Tick(NOW + 10))     # Menu -> Call history
    assert "Mis 1002" in lcd(m)[1] and "Out 5550100" in lcd(m)[2]
    m, fx = run(m, ev.Key("down"), ev.Key("ok"))
    assert asked(fx) == [CcDial("dial-2", "5550100")]


def test_history_and_redial_go_with_the_agent_at_logout():
    m, _ = run(typed(agent(), "5550100")[0], ev.Key("ok"),
               ev.CcRefused("dial", "x", "no"))
    assert m.history
    m, _ = run(m, ev.CcLoggedOut("shift over"))
    assert m.history == ()


def test_a_customers_number_is_masked_in_the_history_when_the_admin_masks_numbers():
    from firmware.core.events import CcSettings
    m = agent(*talking(), ev.SipCallState("k1", "ended"), settings=CcSettings(mask_ani=True))
    assert m.history[0].customer
    m, _ = run(m, ev.CcContact(replace(m.contacts[0], status="wrapped_up")))
    m = replace(m, screens=m.screens[:1])
    m, _ = run(m, *keys("soft2", "3"))
    assert "*******4567" in lcd(m)[1] and "+15551234567" not in "".join(lcd(m))


# -- the task list ------------------------------------------------------------------------------
def test_the_task_list_shows_every_call_and_offer_and_goes_to_one():
    from firmware.core.model import TaskScreen
    m = agent(*talking(), ev.Key("hold"), ev.SipCallState("k1", "held"), ev.Hook(False))
    m, _ = run(m, *keys("5", "5", "5", "0", "1", "0", "0", "ok"),
               ev.CcDialAnswer("dial-1", "5550100"),
               ev.SipDialed("dial-1", "7"), ev.SipCallState("7", "established"), ev.Tick(NOW + 10))
    m, _ = run(m, ev.Key("ok"))                                    # ok on the call screen
    assert isinstance(m.screen, TaskScreen)
    rows = lcd(m)
    assert rows[0].startswith("Tasks") and "1/2" in rows[0]
    assert "Held +15551234567" in rows[1] and "Talking 5550100" in rows[2]
    m, _ = run(m, ev.Key("ok"))                                    # go to the held customer
    assert m.screen == CallScreen("k1")
    m, fx = run(m, ev.Key("soft1"))                                # Resum there
    assert SipHold("7") in fx


def test_an_emergency_call_is_never_muted():
    m = agent(*talking(), ev.Key("mute"), ev.Key("hold"), ev.SipCallState("k1", "held"))
    assert m.muted
    m, _ = typed(m, "911")
    assert not m.muted and m.calls[-1].emergency
