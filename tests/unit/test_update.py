"""Every rule of update(model, event), table-driven where it can be."""
from dataclasses import replace

import pytest

from firmware.core import events as ev
from firmware.core.effects import PlayTone, SaveSettings, StopTone
from firmware.core.model import (AboutScreen, AdjustScreen, BootScreen, ChoiceScreen, DeviceInfo,
                                 DialScreen, IdleScreen, LoginScreen, MenuScreen, Model, Settings)
from firmware.core.menus import MENUS
from firmware.core.update import update

INFO = DeviceInfo("1.2.3", "sim", "a")
LAST = len(MENUS["main"][1]) - 1          # the main menu's last item


def idle(**kw):
    kw.setdefault("screens", (IdleScreen(),))
    return Model(info=INFO, now=1000.0, **kw)


def run(m, *events):
    effects = []
    for e in events:
        m, fx = update(m, e)
        effects.extend(fx)
    return m, effects


def keys(*names):
    return [ev.Key(n) for n in names]


def test_boot_lands_on_idle():
    m, fx = update(Model(info=INFO), ev.Booted())
    assert m.screens == (IdleScreen(),) and fx == ()
    assert isinstance(Model(info=INFO).screen, BootScreen)


@pytest.mark.parametrize("start,key,expected_top", [
    (idle(), "soft1", LoginScreen()),                     # logged out: Login, -, Menu, Info
    (idle(), "soft3", MenuScreen("main")),
    (idle(), "ok", MenuScreen("main")),
    (idle(), "soft4", AboutScreen()),
    (idle(), "soft2", IdleScreen()),                      # no softkey there
    (idle(), "5", DialScreen("5")),                       # digits at home: the dial pad
    (idle(screens=(IdleScreen(), MenuScreen("main"))), "down", MenuScreen("main", 1)),
    (idle(screens=(IdleScreen(), MenuScreen("main"))), "up", MenuScreen("main", LAST)),  # wraps
    (idle(screens=(IdleScreen(), MenuScreen("main", LAST))), "down", MenuScreen("main", 0)),
    (idle(screens=(IdleScreen(), MenuScreen("main"))), "ok", MenuScreen("settings")),
    (idle(screens=(IdleScreen(), MenuScreen("main"))), "2", AboutScreen()),
    (idle(screens=(IdleScreen(), MenuScreen("settings"))), "9",
     MenuScreen("settings")),                                      # no item 9
    (idle(screens=(IdleScreen(), MenuScreen("main"))), "back", IdleScreen()),
    (idle(screens=(IdleScreen(), MenuScreen("main"))), "soft4", IdleScreen()),
    (idle(screens=(IdleScreen(), AboutScreen())), "back", IdleScreen()),
    (idle(screens=(IdleScreen(), MenuScreen("settings"))), "5",
     AdjustScreen("contrast", 6, 6)),
    (idle(screens=(IdleScreen(), MenuScreen("settings"))), "6", ChoiceScreen("backlight", 1)),
])
def test_navigation(start, key, expected_top):
    m, _ = update(start, ev.Key(key))
    assert m.screen == expected_top


def test_key_up_and_long_presses_other_than_back_do_nothing():
    m = idle(screens=(IdleScreen(), MenuScreen("main")))
    assert update(m, ev.Key("down", "up")) == (m, ())
    after, fx = update(m, ev.Key("down", "long"))
    assert after.screens == m.screens and fx == ()


def test_long_back_leaves_every_screen_and_undoes_unsaved_changes():
    m, _ = run(idle(), *keys("soft3", "1", "5", "up", "up"))     # contrast 6 -> 8, unsaved
    assert m.settings.contrast == 8 and len(m.screens) == 4
    m, fx = update(m, ev.Key("back", "long"))
    assert m.screens == (IdleScreen(),) and m.settings.contrast == 6 and fx == ()


def test_ringer_volume_plays_a_test_ring_at_each_step_and_saves_on_ok():
    m, fx = run(idle(), *keys("soft3", "1", "1"))
    assert m.screen == AdjustScreen("ringer_volume", 6, 6)
    m, fx = run(m, *keys("up", "up", "soft1"))
    assert fx == [PlayTone("test_ring", "ringer", 7), PlayTone("test_ring", "ringer", 8),
                  PlayTone("test_ring", "ringer", 7)]
    assert m.ringing_test and m.settings.ringer_volume == 7
    m, fx = update(m, ev.Key("soft3"))                                 # Save
    assert fx == (SaveSettings(replace(Settings(), ringer_volume=7)), StopTone("ringer"))
    assert m.screen == MenuScreen("settings")
    m, _ = update(m, ev.ToneFinished("test_ring"))
    assert not m.ringing_test


def test_back_out_of_an_adjustment_restores_the_old_value_and_saves_nothing():
    m, _ = run(idle(), *keys("soft3", "1", "2", "down", "down", "down"))
    assert m.settings.handset_volume == 3
    m, fx = update(m, ev.Key("back"))
    assert m.settings.handset_volume == 6 and fx == ()
    assert m.screen == MenuScreen("settings", cursor=1)


@pytest.mark.parametrize("presses,expected", [(["up"] * 9, 10), (["down"] * 9, 0)])
def test_volume_is_clamped(presses, expected):
    m, _ = run(idle(), *keys("soft3", "1", "4", *presses))
    assert m.settings.speaker_volume == expected == m.screen.value


def test_volume_keys_at_idle_set_the_ringer():
    m, fx = run(idle(), ev.Key("volup"))
    assert m.screen == AdjustScreen("ringer_volume", 7, 6)
    assert fx == [PlayTone("test_ring", "ringer", 7)]


def test_backlight_choice_is_saved():
    m, _ = run(idle(), *keys("soft3", "1", "6"))
    assert m.screen == ChoiceScreen("backlight", 1)          # cursor on the current value
    m, fx = run(m, *keys("down", "ok"))
    assert m.settings.backlight == "off" and fx == [SaveSettings(m.settings)]
    assert m.screen == MenuScreen("settings", cursor=5)


@pytest.mark.parametrize("event,field,value", [
    (ev.Hook(True), "hook_lifted", True),
    (ev.Hook(False), "hook_lifted", False),
    (ev.Tick(1234.5), "now", 1234.5),
])
def test_device_events(event, field, value):
    m, fx = update(idle(), event)
    assert getattr(m, field) == value and fx == ()


def test_network_change_updates_the_links():
    m, _ = update(idle(), ev.NetworkChanged("10.1.2.3"))
    assert m.links.ip == "10.1.2.3"


def test_keys_and_hook_count_as_activity():
    m, _ = run(idle(), ev.Tick(2000.0), ev.Key("5"))
    assert m.last_touch == 2000.0
    m, _ = run(m, ev.Tick(2100.0), ev.Hook(True))
    assert m.last_touch == 2100.0


def test_an_event_without_a_rule_is_an_error_not_silence():
    """A kind of event nobody wrote a rule for fails where it is handled (the phone logs it and
    keeps its model: tests/unit/test_registries.py) instead of being dropped unseen."""
    with pytest.raises(LookupError, match="no rule for object"):
        update(idle(), object())


def test_settings_from_a_saved_dict_keep_good_fields_and_report_bad_ones():
    s, problems = Settings.from_dict({"ringer_volume": 3, "contrast": 99, "backlight": "dim",
                                      "speaker_volume": True, "colour": "red"})
    assert s == replace(Settings(), ringer_volume=3)
    assert len(problems) == 4 and any("colour" in p for p in problems)
