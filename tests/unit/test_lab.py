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


def test_the_bridge_is_off_unless_the_lab_asks_and_then_ccsim_takes_the_scenario(tmp_path):
    from tools.ccsim.scenario import parse

    plain = scenario_text(DEMO_SCENARIO, 5062, 5090, {})
    assert "bridge" not in tomllib.loads(plain)
    assert not parse(plain, "lab.toml").bridge.enabled
    text = scenario_text(DEMO_SCENARIO, 50907, 52091, {}, bridge={
        "enabled": True, "listen": "127.0.0.1:52095", "control": "/tmp/lab/bridge.sock"})
    bridge = parse(text, "lab.toml").bridge
    assert (bridge.enabled, bridge.user, bridge.listen, bridge.control) == (
        True, "cc-bridge", "127.0.0.1:52095", "/tmp/lab/bridge.sock")
    base = tmp_path / "with-bridge.toml"          # a base that has a [bridge] table already
    base.write_text(DEMO_SCENARIO.read_text() + '\n[bridge]\nuser = "pbx-b2bua"\n')
    text = scenario_text(base, 50907, 52091, {}, bridge={"enabled": True})
    assert text.count("[bridge]") == 1
    bridge = parse(text, "lab.toml").bridge
    assert (bridge.enabled, bridge.user) == (True, "pbx-b2bua")
