"""Noise removal both ways, the settings side: the agent's per route (menu, defaults, kept across
restarts), the centre's on the customer's audio (from the server), and what is on right now
(calls.noise_removal, what the phone's audio and the console use)."""
import json
import logging
from dataclasses import replace

import pytest

from firmware.app.store import SettingsStore
from firmware.core import events as ev
from firmware.core.calls import noise_removal
from firmware.core.effects import SaveSettings
from firmware.core.events import CcSettings
from firmware.core.model import NoiseScreen, Settings
from firmware.ui.view import render

from .test_agent_rules import agent, home, keys, run, talking

NOISE_ITEM = "7"            # Menu -> Settings -> 7 Noise removal


def noise_screen(m=None):
    return run(m or home(), *keys("ok", "1", NOISE_ITEM))[0]


def rows(m):
    return render(m).rows


def test_on_by_default_for_headset_and_speaker_off_for_the_handset():
    s = Settings()
    assert (s.noise_removal("handset"), s.noise_removal("headset"),
            s.noise_removal("speaker")) == (False, True, True)


def test_the_menu_shows_each_route_and_the_key_says_what_it_does():
    m = noise_screen()
    assert m.screen == NoiseScreen(0)
    assert rows(m) == ("Noise removal    1/3", "→Handset         Off",
                       " Headset          On", "  On            Back")
    m = run(m, *keys("down", "down"))[0]                 # scrolls as a menu does
    assert rows(m) == ("Noise removal    3/3", " Headset          On",
                       "→Speaker          On", " Off            Back")


def test_turning_the_speaker_off_in_the_menu_is_kept_at_once():
    m, fx = run(noise_screen(), *keys("down", "down", "soft1"))
    assert not m.settings.noise_removal("speaker")
    assert fx == (SaveSettings(replace(Settings(), speaker_noise_removal=False)),)
    assert rows(m)[2] == "→Speaker         Off"
    m, fx = run(m, ev.Key("ok"))                         # and on again
    assert m.settings == Settings() and fx == (SaveSettings(Settings()),)


def test_a_digit_turns_its_route_over():
    m, fx = run(noise_screen(), ev.Key("1"))
    assert m.settings.noise_removal("handset") and m.screen == NoiseScreen(0)
    assert fx == (SaveSettings(replace(Settings(), handset_noise_removal=True)),)
    m, _ = run(m, ev.Key("9"))                           # no route 9: nothing
    assert m.settings.noise_removal("handset")


def test_back_leaves_the_settings_menu_in_view():
    m, fx = run(noise_screen(), ev.Key("back"))
    assert rows(m)[0].startswith("Settings") and fx == ()


def test_without_a_call_nothing_is_removed():
    assert noise_removal(home()) == (False, False)
    assert noise_removal(agent(settings=CcSettings(customer_noise_removal=True))) == (False, False)


@pytest.mark.parametrize("how,voice", [
    ([], True),                                  # answered with a softkey: the speaker
    ([ev.Key("headset")], True),
    ([ev.Hook(True)], False),                    # the handset: off by default
])
def test_the_agents_voice_follows_the_route_in_use(how, voice):
    m = agent(*talking(), *how)
    assert noise_removal(m) == (voice, False)


def test_the_agents_choice_applies_on_the_route_it_was_made_for():
    m = agent(*talking())                        # on the speaker
    m = replace(m, settings=replace(m.settings, speaker_noise_removal=False))
    assert noise_removal(m) == (False, False)
    assert noise_removal(run(m, ev.Key("headset"))[0]) == (True, False)


def test_the_customers_audio_follows_the_centres_setting():
    m = agent(*talking(), settings=CcSettings(customer_noise_removal=True))
    assert noise_removal(m) == (True, True)
    m = run(m, ev.Hook(True))[0]
    assert noise_removal(m) == (False, True)     # the agent's handset off, the customer's on


def test_kept_across_restarts(tmp_path):
    changed = replace(Settings(), handset_noise_removal=True, speaker_noise_removal=False)
    SettingsStore(tmp_path).save(changed)
    assert SettingsStore(tmp_path).load() == changed


def test_a_file_from_before_the_setting_loads_with_the_defaults(tmp_path, caplog):
    (tmp_path / "settings.json").write_text(json.dumps(
        {"ringer_volume": 3, "handset_volume": 6, "headset_volume": 6, "speaker_volume": 5,
         "contrast": 6, "backlight": "on"}))
    with caplog.at_level(logging.WARNING):
        loaded = SettingsStore(tmp_path).load()
    assert loaded == replace(Settings(), ringer_volume=3, backlight="on")
    assert caplog.records == []


def test_a_bad_value_falls_back_to_its_default_alone(tmp_path, caplog):
    (tmp_path / "settings.json").write_text(json.dumps(
        {"headset_noise_removal": "yes", "speaker_noise_removal": False, "contrast": 2}))
    with caplog.at_level(logging.WARNING):
        loaded = SettingsStore(tmp_path).load()
    assert loaded == replace(Settings(), speaker_noise_removal=False, contrast=2)
    assert "headset_noise_removal: bad value 'yes', using True" in caplog.text
