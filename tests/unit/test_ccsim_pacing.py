"""The dialer's pacing (tools/ccsim/pacing.py): how many calls a campaign places now."""
import pytest

from tools.ccsim.pacing import ratio, to_dial


@pytest.mark.parametrize("free,in_flight,want", [
    (0, 0, 0), (1, 0, 1), (3, 0, 3), (3, 1, 2), (3, 3, 0), (2, 5, 0), (-1, 0, 0)])
def test_progressive_never_has_more_calls_than_free_agents(free, in_flight, want):
    # whatever the answer rate: progressive ignores it
    assert to_dial("progressive", free, in_flight, answer_rate=0.1, abandon_rate=0.0) == want


def test_predictive_dials_more_than_the_free_agents_under_the_limit():
    # half the calls answered: two calls per free agent
    assert to_dial("predictive", 2, 0, answer_rate=0.5, abandon_rate=0.0) == 4
    assert to_dial("predictive", 2, 1, answer_rate=0.5, abandon_rate=0.0) == 3
    # a tenth answered: capped at max_ratio
    assert to_dial("predictive", 2, 0, answer_rate=0.1, abandon_rate=0.0, max_ratio=2.5) == 5
    assert to_dial("predictive", 2, 0, answer_rate=0.1, abandon_rate=0.0, max_ratio=1.5) == 3
    # everyone answers: one call per agent is enough
    assert to_dial("predictive", 2, 0, answer_rate=1.0, abandon_rate=0.0) == 2


def test_predictive_backs_off_near_the_limit_and_dials_as_progressive_over_it():
    dials = [to_dial("predictive", 10, 0, answer_rate=0.4, abandon_rate=rate,
                     abandon_limit=0.03) for rate in (0.0, 0.015, 0.02, 0.025, 0.029, 0.03, 0.2)]
    assert dials[0] == dials[1] == 25                       # under half the limit: in full
    assert dials[1] > dials[2] > dials[3] > dials[4] > dials[5]   # fewer and fewer
    assert dials[5] == dials[6] == 10                       # at or over: one per free agent


def test_predictive_with_no_free_agent_or_no_answer_rate_yet():
    assert to_dial("predictive", 0, 0, answer_rate=0.2, abandon_rate=0.0) == 0
    assert to_dial("predictive", 0, 3, answer_rate=0.2, abandon_rate=0.0) == 0
    assert to_dial("predictive", 3, 0, answer_rate=None, abandon_rate=0.0) == 3
    assert to_dial("predictive", 3, 0, answer_rate=0.0, abandon_rate=0.0) == 3


def test_the_ratio_stays_between_one_and_max_ratio():
    for answer_rate in (None, 0.0, 0.01, 0.3, 0.5, 0.9, 1.0):
        for abandon_rate in (0.0, 0.01, 0.02, 0.03, 0.5, 1.0):
            r = ratio(answer_rate, abandon_rate, 0.03, 2.5)
            assert 1.0 <= r <= 2.5, (answer_rate, abandon_rate, r)
