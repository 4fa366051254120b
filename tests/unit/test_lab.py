"""The lab's scenario: the demo scenario with this lab's ports put in."""
import tomllib

from tools.lab import DEMO_SCENARIO, scenario_text


def test_ports_are_put_in_whole_whatever_digits_they_begin_with():
    # A registrar port beginning with the customers' placeholder (5090...) once came out as the
    # customers' port with its last digit after it, and ccsim refused the scenario.
    scenario = tomllib.loads(scenario_text(DEMO_SCENARIO, 50907, 52091, {}))
    assert scenario["customers"]["proxy"] == "127.0.0.1:50907"
    assert scenario["customers"]["listen"] == "127.0.0.1:52091"
    assert all(a["extension"].endswith("@127.0.0.1:50907") for a in scenario["agents"])
