"""The centre's noise removal on the customer's audio: a scenario setting the admin changes while
ccsim runs (engine.change_settings, PATCH /api/settings), reaching every logged-in phone in a
snapshot, and the phone's link turning it into CcSettings."""
import pytest

from firmware.cc import protocol as p
from firmware.cc.client import CcClient
from firmware.core import effects as fx
from firmware.core import events as ev
from tools.ccsim.scenario import ScenarioError

from .test_ccsim_engine import Desk


def test_off_unless_the_scenario_says_so():
    assert Desk().engine.settings.customer_noise_removal is False
    assert Desk("customer_noise_removal = true").engine.settings.customer_noise_removal is True
    with pytest.raises(ScenarioError, match="customer_noise_removal"):
        Desk('customer_noise_removal = "yes"')


def test_a_change_reaches_the_agents_logged_in_at_once_in_a_snapshot():
    desk = Desk()
    desk.run("hello 1001")
    desk.run("hello 1002")
    desk.run("logout 1002")
    seq = desk.engine.snapshot("1001").seq
    desk.sent.clear()
    settings = desk.engine.change_settings({"customer_noise_removal": True})
    desk.drain()
    assert settings.customer_noise_removal and desk.engine.settings == settings
    [snapshot] = desk.sent["1001"]
    assert isinstance(snapshot, p.Snapshot) and snapshot.settings == settings
    assert snapshot.seq == seq                   # no event skipped: the phone's seq still fits
    assert "1002" not in desk.sent and "1003" not in desk.sent     # logged out: nothing
    desk.run("hello 1003")                       # a later login gets it too
    assert desk.engine.snapshot("1003").settings.customer_noise_removal


def test_the_same_value_again_sends_nothing():
    desk = Desk("customer_noise_removal = true")
    desk.run("hello 1001")
    desk.sent.clear()
    desk.engine.change_settings({"customer_noise_removal": True})
    desk.drain()
    assert desk.sent == {}


@pytest.mark.parametrize("changes,why", [
    ({"customer_noise_removal": 1}, "expected true or false"),
    ({"customer_noise_removal": "true"}, "expected true or false"),
    ({"rona_s": 5}, "not a setting that can be changed while running"),
    ({"customer_noise_removal": True, "bogus": 1}, "'bogus'"),
])
def test_a_bad_change_is_refused_and_changes_nothing(changes, why):
    desk = Desk()
    desk.run("hello 1001")
    desk.sent.clear()
    with pytest.raises(ValueError, match=why):
        desk.engine.change_settings(changes)
    desk.drain()
    assert desk.engine.settings == p.Settings(rona_s=10, note_max=500) and desk.sent == {}


def test_the_phone_takes_the_setting_from_a_snapshot_sent_while_logged_in():
    client = CcClient()
    client.request(fx.CcLogin("1001", "1234"))
    client.connection_made()
    agent = p.Agent(id="1001", name="Ana Diaz", team="Blue", extension="sip:1001@pbx")
    first, _ = client.receive(p.encode(p.Snapshot(seq=5, agent=agent, state="idle")))
    assert first[0].settings.customer_noise_removal is False
    events, frames = client.receive(p.encode(p.Snapshot(
        seq=5, agent=agent, state="idle", settings=p.Settings(customer_noise_removal=True))))
    assert isinstance(events[0], ev.CcSnapshot) and frames == []
    assert events[0].settings.customer_noise_removal is True
