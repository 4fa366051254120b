"""The virtual board page in headless Debian Chromium, driving a real sim phone process.

A click travels: browser -> WebSocket -> emulated pins -> the real keypad scan -> firmware ->
the real LCD driver's I2C bytes -> HD44780 model -> back to the page.
"""
import asyncio
import json
import shutil
import threading
from pathlib import Path

import aiohttp
import pytest

from tools import simphone

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "out" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def phone(tmp_path_factory):
    p = simphone.start(tmp_path_factory.mktemp("phone"))
    yield p
    assert p.stop() == 0


@pytest.fixture(scope="module")
def page(phone):
    if not shutil.which(CHROMIUM):
        pytest.fail("Debian chromium is missing (make setup installs it)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        pg = browser.new_page(viewport={"width": 760, "height": 900})
        pg.goto(phone.page_url)
        pg.wait_for_selector("#link.up")
        yield pg
        browser.close()


def row(page, n):
    return page.inner_text(f"#lcd-row-{n}")


def wait_row(page, n, startswith, timeout=3000):
    page.wait_for_function(
        f"document.getElementById('lcd-row-{n}').textContent.startsWith({json.dumps(startswith)})",
        timeout=timeout)


def test_idle_screen_is_drawn(page):
    wait_row(page, 0, "Logged out")
    assert row(page, 3).strip() == "Menu           Info"
    assert page.locator("#lcd-row-1 [data-glyph]").count() >= 1     # the ✓/✗ custom glyphs


def test_clicking_softkeys_and_arrows_navigates_the_menu(page):
    wait_row(page, 0, "Logged out")
    page.click("#k-soft1")
    wait_row(page, 0, "Menu")
    page.click("#k-ok")
    wait_row(page, 0, "Settings")
    page.click("#k-down")
    wait_row(page, 0, "Settings         2/6")
    assert row(page, 1).startswith("→Handset volume") or row(page, 2).startswith("→Handset volume")
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / "board_page.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000


def test_keyboard_shortcuts(page):
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    wait_row(page, 0, "Logged out")
    page.keyboard.press("F4")
    wait_row(page, 0, "hardphone")
    page.keyboard.press("Backspace")
    wait_row(page, 0, "Logged out")


def test_hook_switch_and_line_led(page):
    wait_row(page, 0, "Logged out")
    page.click("#hook")
    page.wait_for_selector('#hook[data-state="off"]')
    wait_row(page, 2, "▪ Handset lifted")
    page.wait_for_selector("#led-line.lit")
    page.click("#hook")
    page.wait_for_selector('#hook[data-state="on"]')
    page.wait_for_selector("#led-line:not(.lit)")


def test_volume_key_blinks_the_line_led_during_the_test_ring(page):
    wait_row(page, 0, "Logged out")
    page.click("#k-volup")
    wait_row(page, 0, "Ringer volume")
    page.wait_for_selector("#led-line.lit", timeout=2000)
    page.wait_for_selector("#led-line:not(.lit)", timeout=2000)     # blinking, not steady
    page.click("#k-back")
    wait_row(page, 0, "Settings") if row(page, 0).startswith("Settings") else wait_row(page, 0, "Logged out")


def test_lcd_png_and_bad_websocket_messages(phone):
    async def go():
        async with aiohttp.ClientSession() as s:
            async with s.get(phone.page_url + "lcd.png") as r:
                data = await r.read()
                assert r.status == 200 and data[:8] == b"\x89PNG\r\n\x1a\n"
            async with s.ws_connect(phone.page_url + "ws") as ws:
                first = await ws.receive_json()
                assert first["rows"][0].startswith(("Logged out", "Ringer", "Settings"))
                replies = []
                for bad in ("not json", json.dumps({"tap": "banana"}), json.dumps({"fly": 1}),
                            json.dumps([1, 2]), json.dumps({"hook": "sideways"})):
                    await ws.send_str(bad)
                    while True:
                        msg = await ws.receive_json(timeout=2)
                        if "error" in msg:
                            replies.append(msg["error"])
                            break
                assert len(replies) == 5 and "unknown key 'banana'" in replies[1]
                await ws.send_str(json.dumps({"tap": "soft4"}))
                for _ in range(50):
                    msg = await ws.receive_json(timeout=2)
                    if msg.get("rows", [""])[0].startswith("hardphone"):
                        break
                else:
                    pytest.fail("the page did not show About after bad messages")
                await ws.send_str(json.dumps({"tap": "back"}))
    # Playwright's sync API owns this thread's event loop; talk to the page from another.
    errors = []
    t = threading.Thread(target=lambda: _run(go, errors))
    t.start()
    t.join(30)
    assert not errors, errors[0]


def _run(coro_fn, errors):
    try:
        asyncio.run(coro_fn())
    except BaseException as e:          # noqa: BLE001 - handed to the test thread
        errors.append(e)
