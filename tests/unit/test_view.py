"""Screens rendered to text, without I/O."""
import time
from dataclasses import replace

import pytest

from firmware.core import events as ev
from firmware.core.model import (AdjustScreen, ChoiceScreen, DeviceInfo, Display, IdleScreen, Links,
                                 MenuScreen, Model)
from firmware.core.update import update
from firmware.ui.view import render

INFO = DeviceInfo("1.2.3", "sim", "b")
NOW = time.mktime((2026, 11, 22, 9, 41, 0, 0, 0, -1))


def screen(**kw):
    kw.setdefault("screens", (IdleScreen(),))
    return render(Model(info=INFO, now=NOW, last_touch=NOW, **kw))


def test_every_frame_is_4_rows_of_20():
    menu = (IdleScreen(), MenuScreen("settings", 5))
    for m in (Model(info=INFO), Model(info=INFO, screens=menu)):
        rows = render(m).rows
        assert len(rows) == 4 and all(len(r) == 20 for r in rows)


# 40x4: two HD44780 controllers; 21x8: the text grid of a 128x64 graphic panel (6x8 font)
@pytest.mark.parametrize("display", [Display(20, 4), Display(40, 4), Display(21, 8)],
                         ids=lambda d: f"{d.cols}x{d.rows}")
def test_frames_take_the_size_of_the_boards_display(display):
    info = replace(INFO, display=display)
    menu = (IdleScreen(), MenuScreen("settings", 5))
    for m in (Model(info=info), Model(info=info, screens=menu)):
        rows = render(m).rows
        assert len(rows) == display.rows and all(len(r) == display.cols for r in rows)


def test_a_taller_display_shows_more_of_a_list():
    info = replace(INFO, display=Display(21, 8))
    rows = render(Model(info=info, now=NOW, screens=(IdleScreen(), MenuScreen("settings", 3)))).rows
    assert rows[0] == "Settings          4/8"
    assert [r.strip() for r in rows[1:7]] == ["Headset volume", "→Speaker volume",
                                              "Contrast", "Backlight", "Noise removal",
                                              "Headset mode"]
    assert rows[7] == " Open           Back "


def test_boot_screen():
    assert render(Model(info=INFO)).rows[:2] == ("hardphone 1.2.3".ljust(20),
                                                 "Starting...".ljust(20))


def test_idle_shows_state_clock_links_and_softkeys():
    rows = screen(links=Links(ip="10.0.0.5", sip="failed", cc="off")).rows
    assert rows[0] == "Logged out     09:41"
    assert rows[1] == "NET\x00 SIP\x01 CC-".ljust(20)
    assert rows[2].startswith("Sun 22 Nov 2026")
    assert rows[3] == "Login      Menu Info"         # logged out: Login, -, Menu, Info


def test_idle_with_the_handset_lifted():
    f = screen(hook_lifted=True)
    assert "Handset lifted" in f.rows[2]
    assert dict(f.leds)["line"] == "on"


def test_menu_shows_a_window_around_the_cursor():
    rows = screen(screens=(IdleScreen(), MenuScreen("settings", 3))).rows
    assert rows[0] == "Settings         4/8"
    assert rows[1] == "→Speaker volume".ljust(20)
    assert rows[2] == " Contrast".ljust(20)
    assert rows[3] == " Open           Back"
    last = screen(screens=(IdleScreen(), MenuScreen("settings", 6))).rows
    assert last[1:3] == ("→Noise removal".ljust(20), " Headset mode".ljust(20))


def test_adjust_shows_a_bar_and_the_value():
    rows = screen(screens=(IdleScreen(), AdjustScreen("handset_volume", 4, 6))).rows
    assert rows[0].rstrip() == "Handset volume"
    assert rows[1] == "████\x04\x04\x04\x04\x04\x04  4/10".ljust(20)
    assert rows[3] == "  -    +   Save Back"


def test_choice_marks_the_current_value():
    rows = screen(screens=(IdleScreen(), ChoiceScreen("backlight", 0))).rows
    assert rows[1] == "→Always on".ljust(19) + " "
    assert rows[2] == " Auto off 30s".ljust(19) + "\x00"        # "auto" is the default


@pytest.mark.parametrize("mode,idle_s,lit", [
    ("on", 3600, True), ("off", 0, False), ("auto", 5, True), ("auto", 31, False)])
def test_backlight(mode, idle_s, lit):
    m = Model(info=INFO, screens=(IdleScreen(),), now=NOW, last_touch=NOW - idle_s)
    m, _ = update(m, ev.Tick(NOW))
    from dataclasses import replace
    m = replace(m, settings=replace(m.settings, backlight=mode))
    assert render(m).backlight is lit


def test_test_ring_blinks_the_line_led():
    m = Model(info=INFO, screens=(IdleScreen(),), now=NOW)
    m, _ = update(m, ev.Key("volup"))
    f = render(m)
    assert dict(f.leds)["line"] == "blink"
    assert "\x03" in f.rows[0]            # the bell glyph while the test ring plays


def test_contrast_follows_the_setting():
    m = Model(info=INFO, screens=(IdleScreen(),))
    assert render(m).contrast == pytest.approx(0.6)


def test_a_full_disk_shows_at_home_until_it_is_writable_again():
    m = Model(info=INFO, screens=(IdleScreen(),), now=NOW)
    m, _ = update(m, ev.StorageStatus("full"))
    assert render(m).rows[2] == "Storage full".ljust(20)
    m, _ = update(m, ev.StorageStatus(""))
    assert "Storage" not in "".join(render(m).rows)


def test_a_save_that_failed_says_so_on_the_settings_screen():
    m = Model(info=INFO, screens=(IdleScreen(),), now=NOW)
    for key in ("ok", "1", "1", "volup", "ok"):           # Menu > Settings > Ringer, up, Save
        m, _ = update(m, ev.Key(key))
    assert isinstance(m.screen, MenuScreen)
    m, _ = update(m, ev.SettingsNotSaved(full=True))
    rows = render(m).rows
    assert " ".join(r.strip() for r in rows[:2]) == "Settings not saved: storage full"
    m, _ = update(m, ev.Tick(NOW + 7))                   # a notice, then the menu again
    assert "not saved" not in "".join(render(m).rows)
