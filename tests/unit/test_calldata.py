"""Call data on the phone (docs/cc-protocol.md, "Call data"), as rules: `Vars` on a call lists
every variable with a pointer; `Edit` on an editable one opens its form (the value now, at most
256 characters, a date or an ISO 8601 date and time checked as typed); `Save` sends it over
the version the draft started from; the server's refusal reopens the form with the agent's
draft and why (`Changed by Ana Diaz: VIP`); a secure one shows `****` and `Show` fetches it
for five seconds, kept in memory only and out of every repr."""
from dataclasses import replace

from firmware.core import events as ev
from firmware.core.effects import CcGetVariable, CcSetVariable
from firmware.core.events import VariableLayout
from firmware.core.model import CallDataScreen, FormScreen
from tests.unit.test_agent_rules import NOW, contact, home, offered, run, snapshot
from tests.unit.test_consult import lcd, softkeys
from tests.unit.test_form import form, press

LAYOUT = (VariableLayout("note", "Note", editable=True),
          VariableLayout("card", "Card", secure=True),
          VariableLayout("due", "Due", editable=True, kind="date"),
          VariableLayout("callback_at", "Callback", editable=True, kind="datetime"),
          VariableLayout("topic", "Topic"))
VARIABLES = (("note", "New"), ("card", ""), ("due", "2026-12-24"),
             ("callback_at", ""), ("topic", "Billing"))


def on_call(cc="up", **kw):
    """Talking on c1 with its call data open."""
    m = run(home(cc), replace(snapshot(), layout=LAYOUT),
            *offered("c1", "k1", variables=VARIABLES), ev.Key("soft1"),
            ev.SipCallState("k1", "established"),
            ev.CcContact(contact("c1", "assigned", variables=VARIABLES, **kw)),
            ev.Key("soft3"))[0]
    assert m.screen == CallDataScreen("c1")
    return m


def saved_event(value, version, by="Ana Diaz", name="note"):
    variables = tuple((k, value if k == name else v) for k, v in VARIABLES)
    return ev.CcContact(contact("c1", "assigned", variables=variables,
                                versions=((name, version),), changed_by=((name, by),)))


def test_vars_on_a_call_lists_every_variable_with_a_pointer_secure_ones_hidden():
    m = on_call()
    assert list(lcd(m)[:3]) == ["Call data        1/5", "→Note: New          ",
                                " Card: ****         "]
    assert softkeys(m).split() == ["Edit", "Back"]
    m, _ = run(m, ev.Key("down"))
    assert list(lcd(m)[1:3]) == [" Note: New          ", "→Card: ****         "]
    assert softkeys(m).split() == ["Show", "Back"]
    m, _ = run(m, ev.Key("down"), ev.Key("down"), ev.Key("down"))
    assert lcd(m)[0].endswith("5/5") and softkeys(m).split() == ["Back"]    # Topic: read only


def test_edit_then_save_sends_it_over_the_version_it_started_from():
    m, _ = run(on_call(), ev.Key("soft1"))                      # Edit Note
    assert isinstance(m.screen, FormScreen) and form(m).value(0) == "New"
    m, fx = press(m, "back back back 8 8 8 _ 4 4 4 _ 7 _")        # "New" -> "vip" (multi-tap)
    m, fx = run(m, ev.Key("soft1"))                             # Save
    assert fx == (CcSetVariable("c1", "note", "vip", 1),)
    assert m.screen == CallDataScreen("c1") and m.active_notice() == "Saving..."
    m, _ = run(m, saved_event("vip", 2))
    assert m.active_notice() == "Saved" and m.saving is None
    assert "Note: vip" in lcd(m)[1]


def test_another_agents_save_first_keeps_the_draft_to_retry_over_the_new_version():
    m, _ = run(on_call(), ev.Key("soft1"))
    m, _ = press(m, "back back back 4 _ 6 6 6 _ 5 5 5 _ 3 _")       # "gold"
    m, fx = run(m, ev.Key("soft1"))
    assert fx == (CcSetVariable("c1", "note", "gold", 1),)
    m, _ = run(m, saved_event("Silver", 2),                     # Ana's save came first
               ev.CcRefused("set_variable", "variable_changed", "Changed by Ana Diaz: Silver"))
    assert isinstance(m.screen, FormScreen) and form(m).value(0) == "gold"
    assert form(m).note == "Changed by Ana Diaz: Silver"
    m, fx = run(m, ev.Key("soft1"))                             # retried, over version 2
    assert fx == (CcSetVariable("c1", "note", "gold", 2),)


def test_offline_the_save_is_refused_and_the_draft_kept():
    m, _ = run(on_call(), ev.Key("soft1"))
    m, _ = press(m, "back back back 4 _ 6 6 6 _")               # "go"
    m, fx = run(m, ev.Key("soft1"))
    assert fx == (CcSetVariable("c1", "note", "go", 1),)
    m, _ = run(m, ev.CcRefused("set_variable", "offline", "No server: not saved"))
    assert form(m).value(0) == "go" and form(m).note == "No server: not saved"


def test_a_date_and_an_iso_datetime_are_checked_as_typed():
    m, _ = run(on_call(), ev.Key("down"), ev.Key("down"), ev.Key("soft1"))   # Due
    m, _ = press(m, "back back back back back back back back 2 0 2 6 0 2 3 0")
    m, fx = run(m, ev.Key("soft1"))
    assert fx == () and "Due: no such day" in " ".join(lcd(m))
    m, _ = run(on_call(), ev.Key("up"), ev.Key("up"), ev.Key("soft1"))       # Callback
    m, _ = press(m, "2 0 2 6 _")
    m, fx = run(m, ev.Key("soft1"))
    assert fx == () and form(m).error == "Callback: ISO 8601, YYYY-MM-DDTHH:MM"


def test_at_most_256_characters():
    m, _ = run(on_call(), ev.Key("soft1"))
    field = form(m).fields[0]
    assert field.most == 256


def test_show_fetches_a_secure_value_for_five_seconds_kept_out_of_every_repr():
    m, fx = run(on_call(), ev.Key("down"), ev.Key("soft1"))       # Show on Card
    assert fx == (CcGetVariable("c1", "card"),)
    m, _ = run(m, ev.CcVariable("c1", "card", "4111111111111111", 1))
    assert [r.strip() for r in lcd(m)[1:3]] == ["→Card:", "4111111111111111"]
    assert "4111" not in repr(m) and "4111" not in repr(ev.CcVariable("c1", "card", "4111"))
    m, _ = run(m, ev.Tick(NOW + 6))
    assert "→Card: ****" in lcd(m)[2] and m.revealed is None


def test_show_offline_says_so():
    m, _ = run(on_call(), ev.CcLink("down"), ev.Key("down"), ev.Key("soft1"))
    assert m.active_notice() == "No server: can't show"
