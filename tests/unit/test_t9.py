"""T9 search over reason labels: which labels a row of typed keys finds."""
import pytest

from firmware.core.t9 import keys_for, matches, search


@pytest.mark.parametrize("word,keys", [
    ("Lunch", "58624"),
    ("LUNCH", "58624"),                 # case does not matter
    ("Café", "2233"),                   # accents are dropped
    ("2nd", "263"),                     # digits are typed as themselves
    ("pqrs", "7777"),
    ("wxyz", "9999"),
])
def test_keys_for_a_word(word, keys):
    assert keys_for(word) == keys


@pytest.mark.parametrize("label,query,found", [
    ("Lunch break", "58", True),        # first word
    ("Lunch break", "273", True),       # a later word: b-r-e
    ("Lunch break", "3", False),        # no word starts with d/e/f
    ("Lunch break", "862", False),      # letters inside a word don't count
    ("Wrap-up call", "87", True),       # "up": words split at punctuation
    ("Callback 2nd try", "263", True),  # "2nd"
    ("Other 42", "42", True),           # a number in the label
    ("Other 42", "43", False),
    ("Réunion équipe", "378", True),    # "équipe" typed as e-q-u
])
def test_a_label_matches_when_a_word_starts_with_the_keys(label, query, found):
    assert matches(label, query) is found


def test_search_returns_the_matching_positions_in_order():
    labels = ["Break", "Lunch", "Team meeting", "Training", "Coaching", "Lunch late"]
    assert search(labels, "2") == [0, 4]                # Break, Coaching
    assert search(labels, "8") == [2, 3]                # Team meeting, Training
    assert search(labels, "586") == [1, 5]              # both "Lunch" labels
    assert search(labels, "5283") == [5]                # "late"
    assert search(labels, "") == list(range(6))


def test_search_keeps_everything_until_enough_keys_are_typed():
    labels = ["Sale", "No sale", "Callback requested", "Complaint"]
    assert search(labels, "22", min_keys=3) == [0, 1, 2, 3]
    assert search(labels, "225", min_keys=3) == [2]     # c-a-l
    assert search(labels, "999", min_keys=3) == []


def test_search_over_hundreds_of_labels():
    labels = [f"Project {n}" for n in range(500)] + ["Lunch"]
    assert search(labels, "586") == [500]              # no project number starts 586
    assert len(search(labels, "7")) == 500              # every "Project"
    assert search(labels, "499") == [499]
