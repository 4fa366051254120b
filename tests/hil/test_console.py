"""The service console contract, driven over serial by pytest-embedded."""
import re

import pytest

from firmware.core.menus import MENUS

pytestmark = pytest.mark.hil


def lcd(dut):
    dut.write("lcd")
    m = dut.expect(r"lcd:0:(.*)\r?\nlcd:1:(.*)\r?\nlcd:2:(.*)\r?\nlcd:3:(.*)\r?\nlcd\.", timeout=5)
    return [g.decode() for g in m.groups()]


def press(dut, key):
    dut.write(f"key {key}")
    dut.expect_exact("ok", timeout=5)


def test_boots_to_idle_and_reports_status(phone):
    phone.write("status")
    m = phone.expect(r"status agent=(\S+) sip=(\S+) cc=(\S+) calls=(\d+) fw=(\S+) slot=([ab])",
                     timeout=5)
    assert m.group(1) == b"LOGGED_OUT" and m.group(4) == b"0"
    rows = lcd(phone)
    assert rows[0].startswith("Logged out")
    assert re.search(r"\d\d:\d\d$", rows[0].rstrip())
    assert rows[1].startswith("NET")
    assert rows[3] == "Login      Menu Info"


def test_menu_navigation_by_keys(phone):
    press(phone, "soft3")
    place = f"1/{len(MENUS['main'][1])}"
    assert lcd(phone)[:2] == ["Menu" + place.rjust(16), "→Settings".ljust(20)]
    press(phone, "ok")
    settings = len(MENUS["settings"][1])
    assert lcd(phone)[0] == f"Settings         1/{settings}"
    for _ in range(4):
        press(phone, "down")
    rows = lcd(phone)
    assert rows[0] == f"Settings         5/{settings}" and rows[1] == "→Contrast".ljust(20)
    press(phone, "ok")
    was = int(lcd(phone)[1].split()[-1].split("/")[0])   # a real phone keeps its last setting
    step = -1 if was == 10 else 1
    press(phone, "left" if step < 0 else "right")
    rows = lcd(phone)
    assert rows[0].rstrip() == "Contrast" and rows[1].rstrip().endswith(f"{was + step}/10")
    press(phone, "soft3")                     # Save
    assert lcd(phone)[0] == f"Settings         5/{settings}"
    press(phone, "back")
    press(phone, "back")
    assert lcd(phone)[0].startswith("Logged out")


def test_about_shows_version_board_and_slot(phone):
    press(phone, "soft4")
    rows = lcd(phone)
    assert rows[0].startswith("hardphone ")
    assert re.match(r"(Board )?\S+  Slot [ab]", rows[1]) and rows[2].startswith("IP ")


def test_ringer_volume_blinks_the_line_led_while_the_test_ring_plays(phone):
    phone.write("leds")
    phone.expect_exact("leds line=off mwi=off mute=off headset=off speaker=off", timeout=5)
    press(phone, "volup")
    assert lcd(phone)[0].startswith("Ringer volume")
    phone.write("leds")
    phone.expect(r"leds line=blink ", timeout=5)
    press(phone, "back")
    phone.write("leds")
    phone.expect_exact("leds line=off", timeout=5)


def test_hook_shows_on_the_display_and_line_led(phone):
    phone.write("hook off")
    phone.expect_exact("ok", timeout=5)
    assert lcd(phone)[0].startswith("Dial")          # off-hook dialing
    phone.write("leds")
    phone.expect(r"leds line=on ", timeout=5)
    press(phone, "back")                             # out of it: home says the handset is up
    assert "Handset lifted" in lcd(phone)[2]
    phone.write("hook on")
    phone.expect_exact("ok", timeout=5)
    assert "Handset lifted" not in lcd(phone)[2] and lcd(phone)[0].startswith("Logged out")


@pytest.mark.parametrize("line,reply", [
    (b"bogus", rb"error unknown command 'bogus'"),
    (b"key banana", rb"error unknown key 'banana'"),
    (b"key", rb"error usage: key <name>"),
    (b"hook sideways", rb"error usage: hook off\|on"),
    (b"status now", rb"error status takes no arguments"),
    (b"\xff\xfe\x80garbage", rb"error binary data"),
    (b"x" * 3000, rb"error line too long"),
])
def test_malformed_commands_get_an_error_and_the_phone_stays_responsive(phone, line, reply):
    phone.serial.proc.write(line + b"\n")
    phone.expect(reply, timeout=5)
    press(phone, "soft3")
    assert lcd(phone)[0].startswith("Menu")


def test_help_lists_the_commands(phone):
    phone.write("help")
    m = phone.expect(r"((?:help .*\r?\n)+)help\.", timeout=5)
    text = m.group(1).decode()
    for cmd in ("status", "lcd", "key <name>", "hook off|on", "leds"):
        assert f"help {cmd}" in text
