"""``python -m tools.bench predictive``: a short simulated day of a dialing campaign on ccsim's
real engine (virtual clock), predictive against progressive.

8 agents for an hour: with fewer, a couple of abandons among the first answered customers is
already past 3% (the engine backs off only once the rate climbs)."""
import pytest

from tools.bench import predictive


@pytest.fixture(scope="module")
def days():
    return {mode: predictive.simulate(mode, agents=8, hours=1.0, seed=1)
            for mode in ("predictive", "progressive")}


def test_the_day_runs_and_the_agents_take_calls(days):
    for d in days.values():
        assert d.dialed > d.answered >= d.connected > 50, d
        assert d.pending_left > 0, "the list ran out"
        assert 0.0 < d.idle_share < 1.0
        assert d.connected + d.abandoned <= d.answered


def test_predictive_stays_under_its_abandon_limit(days):
    d = days["predictive"]
    assert d.abandon_limit == 0.03
    assert d.abandoned / d.answered < d.abandon_limit
    assert d.abandon_rate < d.abandon_limit            # the engine's own figure


def test_progressive_never_abandons_nor_dials_more_than_its_free_agents(days):
    d = days["progressive"]
    assert d.abandoned == 0
    assert max(d.lines) <= 1.0


def test_predictive_keeps_its_agents_busier(days):
    fast, slow = days["predictive"], days["progressive"]
    assert fast.lines_per_free_agent > 1.0
    assert fast.per_agent_hour >= slow.per_agent_hour
    assert fast.idle_share < slow.idle_share


def test_the_report_is_a_table_of_both_days():
    text = predictive.run(agents=3, hours=0.25, parallel=False)
    lines = text.splitlines()
    assert any(line.startswith("| predictive") for line in lines)
    assert any(line.startswith("| progressive ") for line in lines)
    assert "wall time:" in text
