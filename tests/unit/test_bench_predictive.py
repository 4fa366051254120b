"""``python -m tools.bench predictive``: a short simulated day of a dialing campaign on ccsim's
real engine (virtual clock), predictive against progressive.

8 agents for an hour: with fewer, a couple of abandons among the first answered customers is
already past 3% (the engine backs off only once the rate climbs)."""
import pytest

from tools.bench import predictive
from tools.ccsim.dialer import lab_outcome
from tools.ccsim.scenario import ScenarioError


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


OUTCOMES = {"answer": 0.5, "busy": 0.2, "no_answer": 0.2, "machine": 0.1}
FATES = {"answer": ("answered", "connected", "abandoned"), "machine": ("answered", "connected",
         "abandoned"), "busy": ("busy",), "no_answer": ("no_answer",)}


def test_a_campaign_s_outcomes_are_its_calls_fates_as_ccsim_s_dialer_draws_them():
    sim = predictive.Sim("progressive", 4, 1.0, 1, answer=0.35, busy=0.10, talk_s=60.0,
                         outcomes=OUTCOMES)
    day = sim.run()
    assert sim.cfg.outcomes == tuple(OUTCOMES.items())
    info = sim.engine.campaign_info(predictive.CAMPAIGN)
    seen = 0
    for r in info["records"]:
        for n, attempt in enumerate(r["attempts"], 1):
            if attempt["outcome"]:
                drawn = lab_outcome(sim.cfg.outcomes, predictive.CAMPAIGN, r["index"], n)
                assert attempt["outcome"] in FATES[drawn], (r, n, drawn)
                seen += 1
    assert seen > 50 and day.connected > 20


def test_the_report_names_the_outcomes_and_the_options_read_them():
    text = predictive.run(agents=2, hours=0.1, parallel=False, outcomes=OUTCOMES)
    assert "(outcomes answer 50%, busy 20%, no_answer 20%, machine 10%, talk" in text
    assert "(answer 35%, busy 10%, talk" in predictive.run(agents=2, hours=0.1, parallel=False)
    assert predictive.parse_outcomes("answer=0.5, busy=0.5") == {"answer": 0.5, "busy": 0.5}
    for bad in ("answer", "ringing=1", "answer=lots"):
        with pytest.raises(ValueError, match="outcomes"):
            predictive.parse_outcomes(bad)
    with pytest.raises(ScenarioError, match="outcomes: the rates must add up to 1"):
        predictive.simulate("progressive", agents=2, hours=0.1, outcomes={"answer": 0.5})
