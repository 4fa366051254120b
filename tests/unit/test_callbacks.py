"""Callbacks on the phone (firmware/core/callbacks.py): the form's rules at their bounds as the
agent types and before it is sent, in the server's words and by the server's clock; the
server's refusal back on the form; the list, edit and delete; a callback offered and the
customer called back on the agent's call."""
from dataclasses import replace

import pytest

from firmware.core import callbacks
from firmware.core import events as ev
from firmware.core.effects import (CcDeleteCallback, CcEditCallback, CcListCallbacks,
                                   CcScheduleCallback)
from firmware.core.events import Callback, CallbackDraft, Code
from firmware.core.model import CallbacksScreen, CallScreen, FormScreen
from firmware.ui.view import render

from .test_agent_rules import NOW, contact, home, invite, keys, run, snapshot

QUEUES = (Code("sales", "Sales"), Code("support", "Support"))
TEAM = (Code("1001", "Ada Byron"), Code("1002", "Ben Okafor"))
# 2027-03-01 09:00 UTC on the server's clock
SERVER_NOW = 1803891600.0
SKEW = SERVER_NOW - NOW          # the server's clock ahead of the phone's
DRAFT = CallbackDraft("+15550100", "Zoë Ærø", "2027-03-01", "09:30", "10:00", "UTC", "sales")
CB1 = Callback("cb-1", "scheduled", "+15550100", "Zoë Ærø", "sales", NOW + 3600, NOW + 7200,
               "Europe/Berlin", date="2026-12-03", start_local="10:00", end_local="11:00")
CB2 = Callback("cb-2", "scheduled", "+15550111", "Ben", "sales", NOW + 90000, NOW + 93600,
               date="2026-12-04", start_local="09:00", end_local="10:00")


def agent(*events):
    snap = replace(snapshot(), callback_queues=QUEUES, team_members=TEAM, skew=SKEW)
    return run(home(), snap, *events)


def rows(m):
    return [r.rstrip() for r in render(m).rows]


def form(m):
    assert isinstance(m.screen, FormScreen), m.screen
    return m.screen.form


def on_form(draft=DRAFT, at="number"):
    """The callback form filled with ``draft``, the cursor on field ``at``."""
    m, _ = agent()
    m = callbacks._open(m, callbacks.CallbackFor(), draft, {})
    f = form(m)
    at_index = [fld.name for fld in f.fields].index(at)
    return replace(m, screens=m.screens[:-1] + (replace(m.screen, form=replace(
        f, current=at_index)),))


def error_of(m, name):
    f = form(m)
    return f.errors[[fld.name for fld in f.fields].index(name)]


def submit(m):
    return run(m, ev.Key("soft1"))          # Save


# -- the rules as typed ------------------------------------------------------------------------
@pytest.mark.parametrize("digits, message", [
    ("555010", "Number: at least 7 characters"),      # 6
    ("5550100", ""),                                  # 7
])
def test_the_number_s_length_is_checked_as_soon_as_the_field_is_left(digits, message):
    m = on_form(replace(DRAFT, number=""))
    m, _ = run(m, *keys(*digits), ev.Key("down"))
    assert error_of(m, "number") == message


def test_a_sixteenth_character_can_t_be_typed():
    m = on_form(replace(DRAFT, number=""))
    m, _ = run(m, *keys(*"555010012345678"))              # 15
    assert form(m).editor.value == "555010012345678" and error_of(m, "number") == ""
    m, _ = run(m, ev.Key("9"))                              # the 16th
    assert form(m).editor.value == "555010012345678"
    assert error_of(m, "number") == "Number: at most 15"


@pytest.mark.parametrize("name, message", [
    ("Zo", "Name: at least 3 characters"), ("Zoë", ""), ("Z" * 250, ""),
])
def test_the_name_s_length_at_its_bounds(name, message):
    m, fx = submit(on_form(replace(DRAFT, name=name), at="reason"))
    assert error_of(m, "name") == message if message else fx[0].draft.name == name


def test_a_251st_character_of_the_name_can_t_be_typed():
    m = on_form(replace(DRAFT, name="Z" * 250), at="name")
    m, _ = run(m, ev.Key("2"), ev.Tick(NOW + 5))
    assert form(m).editor.value == "Z" * 250


# -- the window, by the server's clock ---------------------------------------------------------
@pytest.mark.parametrize("date, start, end, field, message", [
    ("2027-03-01", "09:29", "10:00", "start", "From: at least 30 min from now"),
    ("2027-04-01", "09:01", "10:00", "start", "From: at most 31 days ahead"),
    ("2027-03-01", "10:00", "09:30", "end", "To: ends before it starts"),
])
def test_a_window_too_soon_too_late_or_backwards_comes_back_with_its_rule(date, start, end,
                                                                           field, message):
    m, fx = submit(on_form(replace(DRAFT, date=date, start=start, end=end)))
    assert fx == ()
    assert error_of(m, field) == message
    assert form(m).current == [f.name for f in form(m).fields].index(field)


@pytest.mark.parametrize("date, start", [("2027-03-01", "09:30"), ("2027-04-01", "09:00")])
def test_thirty_minutes_and_thirty_one_days_ahead_are_allowed(date, start):
    _, fx = submit(on_form(replace(DRAFT, date=date, start=start, end="10:30")))
    assert fx == (CcScheduleCallback(replace(DRAFT, date=date, start=start, end="10:30")),)


def test_the_server_s_clock_decides_not_the_phone_s():
    # the phone's clock is weeks behind the server's: by it 09:29 would be too far ahead;
    # by the server's it is 29 minutes from now
    m, fx = submit(on_form(replace(DRAFT, start="09:29")))
    assert SKEW > 31 * 86400
    assert fx == () and error_of(m, "start") == "From: at least 30 min from now"


def test_a_time_the_clocks_skip_is_refused_in_the_customer_s_zone():
    m, fx = submit(on_form(replace(DRAFT, date="2027-03-28", start="02:30", end="03:30",
                                   tz="Europe/Berlin")))
    assert fx == () and error_of(m, "start") == "From: not a time there (DST)"


def test_the_zone_is_found_by_typing_the_city():
    m = on_form(at="tz")
    m, _ = run(m, *keys("2", "3", "7", "5"))            # "Berl"
    assert form(m).editor.value == "Europe/Berlin"
    assert "Europe/Berlin" in " ".join(rows(m))


# -- the server's word --------------------------------------------------------------------------
def test_the_server_s_refusal_shows_under_each_field_in_the_phone_s_words():
    m, fx = submit(on_form())
    assert fx == (CcScheduleCallback(DRAFT),)
    m, _ = run(m, ev.CcRefused("schedule_callback", "bad_value", "queue: queue_inactive",
                               fields=(("queue", "queue_inactive"), ("number", "number_short"))))
    assert error_of(m, "queue") == "Queue: queue not active"
    assert error_of(m, "number") == "Number: at least 7 characters"
    assert form(m).value(0) == DRAFT.number                  # what was typed, kept


def test_taken_it_is_said_once():
    m, _ = submit(on_form())
    m, _ = run(m, ev.CcCallbackSaved(CB1))
    assert m.active_notice() == "Callback 2026-12-03 10:00"
    assert not isinstance(m.screen, FormScreen)


# -- from a call --------------------------------------------------------------------------------
def test_more_on_a_call_schedules_a_callback_for_that_customer():
    m, _ = agent(*talking_to(contact("c1", "offered")))
    assert rows(m)[-1].split()[-1] == "More"
    m, _ = run(m, *keys("soft4", "2"))
    f = form(m)
    assert f.value(0) == "+15551234567" and f.title == "Callback"
    assert f.value([fld.name for fld in f.fields].index("queue")) == "sales"


def test_not_from_a_campaign_call():
    m, _ = agent(*talking_to(contact("c1", "offered", kind="campaign", campaign="spring")))
    m, _ = run(m, *keys("soft4"))
    assert not any(isinstance(s, FormScreen) for s in m.screens)


def talking_to(c):
    return [ev.CcContact(c), invite("k1", c.id), ev.Key("soft1"),
            ev.SipCallState("k1", "established"), ev.CcContact(replace(c, status="assigned"))]


# -- the list -----------------------------------------------------------------------------------
def listed():
    m, fx = agent(*keys("soft2", "8"))
    assert fx == (CcListCallbacks(""),) and isinstance(m.screen, CallbacksScreen)
    return run(m, ev.CcCallbacks((CB1, CB2)))[0]


def test_edit_opens_the_form_as_typed_and_sends_an_edit():
    m, _ = run(listed(), ev.Key("soft2"))
    f = form(m)
    assert (f.title, f.value(0), f.value(2), f.value(3)) == ("Edit callback", "+15550100",
                                                             "2026-12-03", "10:00")


def test_delete_asks_first_then_goes():
    m, fx = run(listed(), ev.Key("down"), ev.Key("soft3"))
    assert fx == () and rows(m)[0] == "Delete 12-04 09:00?"
    m, fx = run(m, ev.Key("soft3"))                           # Yes
    assert fx == (CcDeleteCallback("cb-2"),) and m.callbacks == (CB1,)


def test_one_whose_window_started_can_t_be_changed():
    started = replace(CB1, start=NOW - 60)
    m, _ = agent(*keys("soft2", "8"), ev.CcCallbacks((started,)))
    m, fx = run(m, ev.Key("soft2"))
    assert fx == () and m.active_notice() == "Already started: can't change"
    m, fx = run(m, ev.Key("soft3"))
    assert fx == () and m.active_notice() == "Already started: can't change"


def test_an_edit_goes_as_an_edit():
    m, _ = run(listed(), ev.Key("soft2"))
    m = replace(m, now=NOW)
    future = replace(CB1.draft(), date="2027-03-02", tz="UTC")
    m = callbacks._open(m, callbacks.CallbackFor(callback="cb-1"), future, {})
    m, fx = submit(m)
    assert fx == (CcEditCallback("cb-1", future),)


# -- offered ------------------------------------------------------------------------------------
CALLBACK = contact("c5", "offered", kind="callback", callback="cb-1", customer="Zoë Ærø",
                   ani="+15550100", dnis="5550000", cancel=True,
                   variables=(("callback_reason", "Quote"),))


def offered_callback():
    return agent(ev.CcContact(CALLBACK), invite("k5", "c5"))[0]


def test_the_customer_is_called_back_on_the_agent_s_call():
    m = offered_callback()
    m, _ = run(m, ev.Key("soft1"), ev.SipCallState("k5", "established"),
               ev.CcContact(replace(CALLBACK, status="dialing")))
    call = m.calls[0]
    assert (call.state, call.server_dials) == ("calling", True)
    assert isinstance(m.screen, CallScreen) and rows(m)[0].startswith("Calling")
    assert rows(m)[-1] == "     Cancl"                      # a web callback its queue lets go
    m, _ = run(m, ev.CcContact(replace(CALLBACK, status="assigned")))
    assert m.calls[0].state == "talking"


def test_the_call_s_menu_makes_way_for_the_form_so_saving_returns_to_the_call():
    m, _ = agent(*talking_to(contact("c1", "offered")))
    m, _ = run(m, *keys("soft4", "2"))
    assert [type(s).__name__ for s in m.screens] == ["IdleScreen", "CallScreen", "FormScreen"]


def test_a_list_the_server_can_t_give_says_why_instead_of_waiting():
    m, _ = agent(*keys("soft2", "8"))
    m, _ = run(m, ev.CcRefused("callbacks", "offline", "No server: callbacks unavailable"))
    assert m.active_notice() == "No server: callbacks unavailable" and m.callbacks == ()
    m, _ = run(m, ev.Tick(NOW + 30))                         # the notice over
    assert rows(m)[:2] == ["Callbacks", " None scheduled"]
