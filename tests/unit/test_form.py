"""Forms as the agent fills them in: keypad events and the clock through update(), the rows the
display shows (20x4 and 40x4), and a draft that outlives a dropped contact-center link."""
from dataclasses import dataclass, replace

import pytest

from firmware.core import events as ev
from firmware.core import forms
from firmware.core import textentry as te
from firmware.core.effects import SaveSettings
from firmware.core.form import Field, FieldKind, Form, Purpose, form_key, new_form, validate
from firmware.core.model import Display, FormScreen, IdleScreen, with_notice
from firmware.ui.screens.form import form_rows
from firmware.ui.view import render
from hal.charset import rom

from .test_agent_rules import NOW, agent, offered, run, snapshot


@dataclass(frozen=True)
class CallbackFor(Purpose):
    contact: str


FIELDS = (
    Field("name", "Name", required=True, max_len=20),
    Field("phone", "Phone", FieldKind.PHONE, required=True),
    Field("email", "Email", FieldKind.EMAIL),
    Field("when", "Date", FieldKind.DATE),
    Field("outcome", "Outcome", FieldKind.CHOICE,
          choices=(("later", "Call later"), ("done", "Done"), ("no", "No interest"))),
)
NAME, PHONE, EMAIL, WHEN, OUTCOME = range(5)


@pytest.fixture
def submitted(monkeypatch):
    """The callback rule a feature would enter: it gets the values and says so."""
    got = []

    def save(m, purpose, values):
        got.append((purpose, values))
        return with_notice(m, "Callback saved"), (SaveSettings(m.settings),)
    monkeypatch.setitem(forms.ON_SUBMIT, CallbackFor, save)
    return got


def opened(m=None, fields=FIELDS, language="en"):
    m = m if m is not None else agent()
    return forms.open_form(m, CallbackFor("c1"), "Callback", fields, language)


def press(m, spec):
    """Keys by name through update(), stamped with the model's clock; "_" is a pause (a Tick
    long enough to commit a letter); spaces only make it readable."""
    effects = []
    for name in spec.split():
        if name == "_":
            m, fx = run(m, ev.Tick(m.now + te.COMMIT_S))
        else:
            m, fx = run(m, ev.Key(name))
        effects.extend(fx)
    return m, tuple(effects)


def form(m) -> Form:
    s = next(s for s in reversed(m.screens) if isinstance(s, FormScreen))
    return s.form


def rows(m, cols=20):
    m = replace(m, info=replace(m.info, display=Display(cols, 4)))
    return render(m).rows


def typed_name(m=None):
    """"Ann" typed in the first field (the last n still being picked)."""
    m, _ = press(opened(m), "2 _ 6 6 _ 6 6")
    return m


# -- typing --------------------------------------------------------------------------------------
def test_typing_a_name_shows_the_letter_being_picked_and_the_case():
    m = typed_name()
    assert form(m).editor.text == "An" and form(m).editor.pending_char == "n"
    assert rows(m) == ("Name*        abc 1/5",
                       "Ann_                ",
                       "m [n] o 6           ",
                        " Save Next Clear Del")
    m, _ = press(m, "_")
    assert form(m).value(NAME) == "Ann"
    assert rows(m)[2] == "Phone:              "       # the next field, once nothing is pending


def test_the_agents_language_types_the_text_and_an_address_stays_latin():
    m, _ = press(opened(language="ru"), "3 _ 2 _ down down 2 1 1 3 _")
    assert form(m).value(NAME) == "Да"
    assert form(m).value(EMAIL) == "a@d"


def test_a_form_offers_only_the_letters_the_boards_display_can_draw():
    """The sim board's A00 ROM has ä but no Cyrillic: a German agent gets ä on 2, a Russian
    one no letter at all on an A00 panel (each key types its digit)."""
    a00 = replace(agent(), info=replace(agent().info, display=Display(
        20, 4, frozenset(rom("A00").codes))))
    assert form(opened(a00, language="de")).editor.keymap.letters("2", upper=False) == "abcä2"
    assert form(opened(agent(), language="ru")).editor.keymap.letters("2", upper=False) \
        == "абвг2"  # noqa: RUF001
    m, _ = press(opened(a00, language="ru"), "2 2 _")
    assert form(m).value(NAME) == "2"


def test_phone_field_takes_digits_and_says_why_a_letter_key_does_nothing():
    m, _ = press(typed_name(), "down 5 5 5 0 1 #")
    assert form(m).current == PHONE and form(m).value(PHONE) == "55501"
    assert rows(m)[:3] == ("Phone*       123 2/5",
                           "55501_              ",
                           "Phone: digits only  ")
    m, _ = press(m, "2")                                  # typing clears the message
    assert form(m).error == "" and form(m).value(PHONE) == "555012"


def test_the_name_stops_at_its_most_characters():
    m = opened()
    m, _ = press(m, "* *" + " 2 _" * 21)                  # ABC mode, 21 times A
    assert form(m).value(NAME) == "A" * 20
    assert rows(m)[2].rstrip() == "Name: at most 20"


def test_cursor_moves_and_delete_in_the_middle():
    m, _ = press(typed_name(), "_ left back")
    assert (form(m).value(NAME), form(m).editor.cursor) == ("An", 1)
    m, _ = press(m, "4 4 4 _")
    assert form(m).value(NAME) == "Ain" and rows(m)[1] == "Ai_n".ljust(20)


def test_up_and_down_move_between_fields_and_commit_the_pending_letter():
    m, _ = press(typed_name(), "down")
    assert form(m).current == PHONE and form(m).value(NAME) == "Ann"
    assert form(m).editors[NAME].pending is None
    m, _ = press(m, "up up")
    assert form(m).current == OUTCOME                     # round from the first to the last


def test_a_choice_field_by_left_right_or_its_number():
    m, _ = press(opened(), "up")
    assert rows(m)[:2] == ("Outcome          5/5", "< -                >")
    m, _ = press(m, "right")
    assert rows(m)[1] == "< Call later   1/3 >"
    m, _ = press(m, "left left")
    assert form(m).value(OUTCOME) == "done"
    m, _ = press(m, "3")
    assert form(m).value(OUTCOME) == "no"


# -- rules and submitting ------------------------------------------------------------------------
@pytest.mark.parametrize("fld,value,message", [
    (FIELDS[PHONE], "55x1", "Phone: digits only"),
    (FIELDS[PHONE], "+4930123", ""),
    (FIELDS[PHONE], "", "Phone: required"),
    (FIELDS[EMAIL], "ann.example.com", "Email: needs @"),
    (FIELDS[EMAIL], "ann@example", "Email: like a@b.com"),
    (FIELDS[EMAIL], "ann@example.com", ""),
    (FIELDS[EMAIL], "", ""),                              # not required
    (FIELDS[WHEN], "2026-02-30", "Date: no such day"),
    (FIELDS[WHEN], "2026-2-3", "Date: YYYY-MM-DD"),
    (FIELDS[WHEN], "2026-02-28", ""),
    (Field("at", "Time", FieldKind.TIME), "24:00", "Time: HH:MM"),
    (Field("n", "Note", min_len=5), "abc", "Note: at least 5"),
    (Field("n", "Ref", FieldKind.DIGITS), "12a", "Ref: digits only"),
    (FIELDS[OUTCOME], "", ""),
    (replace(FIELDS[OUTCOME], required=True), "", "Outcome: pick one"),
    (Field("n", "Note", check=lambda v: "Note: no swearing" if "darn" in v else ""),
     "oh darn", "Note: no swearing"),
])
def test_field_rules_and_their_messages(fld, value, message):
    assert validate(fld, value) == message


def test_submit_shows_the_first_error_on_its_field(submitted):
    m, _ = press(typed_name(), "down down 2 6 6 _ 2 _ up up up")   # an email typed as "bna"
    assert form(m).current == OUTCOME
    m, fx = press(m, "soft1")
    assert fx == () and not submitted
    f = form(m)
    assert f.current == PHONE and f.errors[PHONE] == "Phone: required"
    assert f.errors[EMAIL] == "Email: needs @" and f.errors[NAME] == ""
    assert rows(m)[:3] == ("Phone*       123 2/5", "_                   ",
                           "Phone: required     ")


def test_a_valid_form_goes_to_its_purpose_rule_and_closes(submitted):
    m, _ = press(typed_name(), "down * 4 4 2 0 ok ok 2 0 2 6 0 3 1 5 ok 2")
    assert form(m).current == OUTCOME
    m, fx = press(m, "soft1")
    assert not any(isinstance(s, FormScreen) for s in m.screens)
    (purpose, values), = submitted
    assert purpose == CallbackFor("c1")
    assert dict(values) == {"name": "Ann", "phone": "+4420", "email": "",
                            "when": "2026-03-15", "outcome": "done"}
    assert fx == (SaveSettings(m.settings),) and m.active_notice() == "Callback saved"


def test_ok_on_the_last_field_submits(submitted):
    press(typed_name(), "down 5 up up ok")
    assert len(submitted) == 1


def test_a_purpose_without_a_rule_keeps_the_draft():
    m, fx = press(opened(agent(), fields=FIELDS[:1]), "2 soft1")
    assert fx == () and form(m).value(NAME) == "A"
    assert rows(m)[2].rstrip() == forms.NO_RULE


# -- leaving -------------------------------------------------------------------------------------
def test_back_deletes_then_asks_before_losing_the_draft():
    m = typed_name()
    assert render(m).rows[3] ==  " Save Next Clear Del"
    m, _ = press(m, "back back back")                   # the pending n, then n, A
    assert form(m).value(NAME) == ""
    m, _ = press(m, "back")
    assert isinstance(m.screen, IdleScreen)             # nothing typed: out at once
    m, _ = press(typed_name(), "down")
    assert render(m).rows[3] == " Save Next      Back"
    m, _ = press(m, "back")
    assert isinstance(m.screen, FormScreen) and rows(m)[2].rstrip() == "Back again: discard"
    m, _ = press(m, "back")
    assert isinstance(m.screen, IdleScreen)


def test_another_key_takes_the_discard_question_back():
    m, _ = press(typed_name(), "down back 5 back")
    assert isinstance(m.screen, FormScreen) and form(m).value(PHONE) == ""


# -- the draft and the link ----------------------------------------------------------------------
def test_the_draft_survives_a_dropped_contact_center_link():
    m, _ = press(typed_name(), "_ down 5 5 5")
    before = form(m)
    m, _ = run(m, ev.CcLink("down", "Connection refused"), ev.CcLink("connecting"),
               ev.Tick(m.now + 1), ev.CcLink("down", "Connection refused"),
               ev.CcLink("connecting"), snapshot(), ev.CcLink("up"))
    assert isinstance(m.screen, FormScreen) and m.links.cc == "up"
    assert form(m).editors[:2] == before.editors[:2]
    assert form(m).value(NAME) == "Ann" and form(m).value(PHONE) == "555"
    m, _ = press(m, "2")
    assert form(m).value(PHONE) == "5552"


def test_a_long_back_keeps_a_form_with_typing_in_it_and_closes_an_untouched_one():
    m, _ = run(typed_name(), ev.Key("back", "long"))
    assert isinstance(m.screen, FormScreen) and form(m).value(NAME) == "Ann"
    m, _ = press(opened(), "2")                  # one letter, not yet committed
    m, _ = run(m, ev.Key("back", "long"))
    assert isinstance(m.screen, FormScreen)
    m, _ = run(opened(), ev.Key("back", "long"))
    assert isinstance(m.screen, IdleScreen)


def test_a_pending_letter_commits_on_the_clock_even_under_a_popover():
    m, _ = press(opened(), "2 2")
    m, _ = run(m, *offered("c9", "k9", offered_at=m.now))
    assert not isinstance(m.screen, FormScreen)           # the offer is in front
    assert form(m).editor.pending is not None
    m, _ = run(m, ev.Tick(m.now + te.COMMIT_S))
    assert form(m).editor.pending is None and form(m).value(NAME) == "B"


# -- rendering -----------------------------------------------------------------------------------
def test_rows_on_40x4_use_the_width():
    m, _ = press(typed_name(), "_ down * 4 4 2")
    assert rows(m, 40) == ("Phone*".ljust(32) + " 123 2/5",
                           "+442_".ljust(40),
                           "Email:".ljust(40),
                           "   Save      Next      Clear      Del   ")
    m, _ = press(m, "#")
    assert rows(m, 40)[2] == "Phone: digits only".ljust(40)


def test_a_long_value_scrolls_to_keep_the_cursor_in_view():
    f = new_form("Note", [Field("note", "Note", initial="The customer wants a callback")])
    assert form_rows(f, 20, 3)[1] == "<r wants a callback_"
    for _ in range(len("a callback")):
        f, _ = form_key(f, "left", NOW)
    assert form_rows(f, 20, 3)[1] == "<e customer wants _>"
    while f.editor.cursor:
        f, _ = form_key(f, "left", NOW)
    assert form_rows(f, 20, 3)[1] == "_The customer wants>"
    assert form_rows(f, 40, 3)[1] == "_The customer wants a callback"


def test_a_taller_display_shows_the_title_and_the_other_fields():
    m, _ = press(typed_name(), "_")
    assert form_rows(form(m), 40, 7) == [
        "Callback".ljust(36) + " 1/5", "Name*".ljust(37) + "abc", "Ann_", "",
        "Phone: ", "Email: ", "Date: "]


def test_the_symbol_strip_scrolls_with_the_pick():
    f = new_form("Note", [Field("note", "Note")])
    for _ in range(12):
        f, _ = form_key(f, "#", NOW)
    strip = form_rows(f, 20, 3)[2]
    assert "[" + te.SYMBOLS[11] + "]" in strip
