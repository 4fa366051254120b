"""Multi-tap text entry, driven as the keypad drives it: key presses (ev.Key) and the model's
clock (ev.Tick) through the pure editor functions."""
import pytest

from firmware.core import events as ev
from firmware.core import textentry as te
from firmware.core.textentry import Case, Input, Refusal
from hal.charset import rom

T0 = 1_800_000_000.0


def feed(e, *events, now=T0):
    """``events`` (Key presses, Ticks) in order; returns the editor and the last refusal. A key
    is stamped with the last Tick's time, as the model stamps it."""
    why = None
    for event in events:
        if isinstance(event, ev.Tick):
            now = event.now
            e = te.tick(e, now)
        elif event.kind == "down":
            e, why = te.key(e, event.name, now)
    return e, why


def keys(spec):
    """"44 33 555" -> presses of 4, 4, 3, 3, 5, 5, 5 (spaces only make it readable)."""
    return [ev.Key(ch) for ch in spec if ch != " "]


def pause(after):
    """A Tick long enough after ``after`` to commit a pending letter."""
    return ev.Tick(after + te.COMMIT_S)


def test_hello_by_multitap_with_a_pause_between_two_letters_on_one_key():
    e, _ = feed(te.editor(), *keys("44 33 555"), pause(T0), *keys("555 666"), pause(T0 + 2))
    assert e.text == "Hello" and e.cursor == 5 and e.pending is None


def test_another_key_commits_at_once_and_the_same_key_picks_the_next_letter():
    e, _ = feed(te.editor(), *keys("2 3"))
    assert (e.text, e.pending_char) == ("A", "d")          # 3 committed A; d is being picked
    e, _ = feed(te.editor(), *keys("2222"))
    assert e.pending_char == "2"                          # a, b, c, then the digit
    e, _ = feed(te.editor(), *keys("22222"))
    assert e.pending_char == "A"                          # and round again


def test_a_letter_commits_only_after_the_pause_not_on_the_tick_right_after_its_key():
    """The app's clock ticks once a second and a key carries the last tick's time: the tick
    right after a key may come a moment later, so it must not commit."""
    e, _ = feed(te.editor(), ev.Key("5"), ev.Tick(T0 + 1))
    assert e.pending_char == "J" and e.text == ""
    e, _ = feed(e, ev.Key("5"), now=T0 + 1)               # still the same letter: cycles on
    assert e.pending_char == "K"
    e, _ = feed(e, ev.Tick(T0 + 2), ev.Tick(T0 + 3))
    assert e.text == "K" and e.pending is None


def test_star_shifts_case_as_phones_do():
    e = te.editor()
    assert e.mode is Case.CAPITAL
    seen = []
    for _ in range(4):
        seen.append(e.mode.value)
        e, _ = feed(e, ev.Key("*"))
    assert seen == ["Abc", "abc", "ABC", "123"] and e.mode is Case.CAPITAL
    # Abc: one capital, then lower; ABC stays upper; 123 types digits at once
    e, _ = feed(te.editor(), ev.Key("2"), pause(T0), ev.Key("2"), pause(T0 + 2))
    assert e.text == "Aa" and e.mode is Case.LOWER
    e, _ = feed(e, *keys("* 2 3 * 22"), now=T0 + 4)
    assert e.text == "AaAD22" and e.mode is Case.DIGITS


def test_star_commits_the_pending_letter_first():
    e, _ = feed(te.editor(), *keys("33*"))
    assert e.text == "E" and e.pending is None and e.mode is Case.LOWER


def test_hash_cycles_the_symbols_and_waits_for_a_key():
    e, _ = feed(te.editor("Ann", mode=Case.LOWER), *keys("###"))
    assert e.pending_char == "@"
    assert te.candidates(e)[1] == 2
    e, _ = feed(e, ev.Tick(T0 + 10))                      # the agent may scroll at leisure
    assert e.pending_char == "@" and e.text == "Ann"
    e, _ = feed(e, ev.Key("2"))
    assert e.text == "Ann@" and e.pending_char == "a"


def test_cyrillic_letters_from_the_russian_table():
    ru = te.keymap("ru")
    e, _ = feed(te.editor(keymap=ru), *keys("3"), pause(T0), *keys("2"), pause(T0 + 2))
    assert e.text == "Да"
    e, _ = feed(te.editor(keymap=ru, mode=Case.LOWER), *keys("33"))
    assert e.pending_char == "е"  # noqa: RUF001 (Cyrillic)
    assert te.keymap("ru").letters("9", upper=True) == "ЬЭЮЯ9"  # noqa: RUF001


@pytest.mark.parametrize("name,code", [("en", "en"), ("en-US", "en"), ("English", "en"),
                                       ("Deutsch", "de"), ("fr_FR", "fr"), ("русский", "ru")])
def test_the_table_comes_from_the_language_name(name, code):
    assert te.keymap(name).language == code


def test_an_unknown_language_is_a_clear_error():
    with pytest.raises(ValueError, match="no keypad letters for language 'tlh'"):
        te.keymap("tlh")


def test_accented_letters_of_german_and_french():
    de, fr = te.keymap("de"), te.keymap("fr")
    assert de.letters("2", upper=False) == "abcä2" and de.letters("7", upper=False) == "pqrsß7"
    e, _ = feed(te.editor(keymap=fr, mode=Case.LOWER), *keys("33333"))
    assert e.pending_char == "è"


def test_letters_the_display_cannot_show_are_skipped():
    """The HD44780 A00 ROM has ä but neither Ä nor ß nor any Cyrillic."""
    a00 = rom("A00").codes
    de = te.keymap("de", shows=a00)
    assert de.letters("2", upper=False) == "abcä2"
    assert de.letters("2", upper=True) == "ABCä2"          # no Ä: the ä it has
    assert de.letters("7", upper=False) == "pqrs7"         # no ß at all: skipped
    e, _ = feed(te.editor(keymap=de, mode=Case.LOWER), *keys("77777"))
    assert e.pending_char == "7"                          # p q r s 7, ß never offered
    ru = te.keymap("ru", shows=a00)
    e, _ = feed(te.editor(keymap=ru), *keys("22"))
    assert e.pending_char == "2"                          # only the digit is left on the key
    # a predicate works as well as a set
    assert te.keymap("en", shows=lambda ch: ch not in "bB").letters("2", upper=False) == "ac2"


def test_cursor_moves_and_back_deletes_before_it_in_the_middle():
    e, _ = feed(te.editor(), *keys("44 33 555"), pause(T0), *keys("666"), pause(T0 + 2))
    assert e.text == "Helo"
    e, _ = feed(e, ev.Key("left"), *keys("555"), pause(T0 + 4))
    assert (e.text, e.cursor) == ("Hello", 4)
    e, _ = feed(e, ev.Key("left"), ev.Key("left"), ev.Key("back"))
    assert (e.text, e.cursor) == ("Hllo", 1)
    e, why = feed(e, ev.Key("left"), ev.Key("left"), ev.Key("back"))
    assert (e.text, e.cursor, why) == ("Hllo", 0, Refusal.NOTHING_TO_DELETE)
    e, _ = feed(e, *[ev.Key("right")] * 9)
    assert e.cursor == 4                                  # stops at the end


def test_back_drops_the_letter_being_picked():
    e, _ = feed(te.editor("Hi", mode=Case.LOWER), *keys("222"), ev.Key("back"))
    assert e.text == "Hi" and e.pending is None


def test_max_length_reached():
    e, why = feed(te.editor(max_len=3), *keys("2 3 4"))
    assert e.value == "Adg" and why is None
    e, why = feed(e, ev.Key("5"))
    assert e.text == "Adg" and e.pending is None and why is Refusal.FULL
    e, why = feed(e, ev.Key("#"))
    assert why is Refusal.FULL
    e, why = feed(te.editor("12", takes=Input.DIGITS, max_len=2), ev.Key("3"))
    assert e.text == "12" and why is Refusal.FULL


def test_digits_field_types_digits_and_refuses_case_and_symbols():
    e, why = feed(te.editor(takes=Input.DIGITS), *keys("2 2 7"))
    assert (e.text, why, e.mode) == ("227", None, Case.DIGITS)
    for k in ("*", "#"):
        e2, why = feed(e, ev.Key(k))
        assert e2.text == "227" and why is Refusal.DIGITS_ONLY


def test_phone_field_star_types_a_leading_plus_only():
    e, why = feed(te.editor(takes=Input.PHONE), *keys("* 4 4"))
    assert e.text == "+44" and why is None
    e, why = feed(e, ev.Key("*"))
    assert e.text == "+44" and why is Refusal.DIGITS_ONLY


def test_separators_are_typed_for_the_agent():
    e, _ = feed(te.editor(takes=Input.DIGITS, max_len=10, separators=((4, "-"), (7, "-"))),
                *keys("20250315"))
    assert e.text == "2025-03-15"
    e, why = feed(e, ev.Key("9"))
    assert e.text == "2025-03-15" and why is Refusal.FULL


def test_other_keys_commit_the_pending_letter_and_keys_up_do_nothing():
    e, _ = feed(te.editor(), *keys("22"), ev.Key("up"))
    assert e.text == "B"
    e, _ = feed(te.editor(), ev.Key("2"), ev.Key("2", "up"), ev.Key("2", "long"))
    assert e.pending_char == "A"
