"""The virtual board page in headless Debian Chromium.

Two benches:
- ``bench``: the sim board's real hal drivers in this process, the page served on a loop in a
  background thread, and a key handler that writes each key's name onto the LCD. A click
  travels: browser -> WebSocket -> emulated pins -> the real keypad scan -> the LCD driver's
  I2C bytes -> HD44780 model -> back to the page.
- ``phone``: the firmware in its own process on the sim board, driven through its page.
"""
import asyncio
import io
import json
import shutil
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from PIL import Image

from firmware.core.menus import MENUS
from hal.board import load_board
from hal.devices import Devices
from hal.sim.backend import open_devices
from hal.sim.page import BoardPage
from hal.sim.render import image_size
from tests.waits import until, wait_until
from tools import simphone

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "out" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1080, "height": 700}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# A CGRAM glyph (a handset), as the firmware defines them.
HANDSET = (0x00, 0x18, 0x1C, 0x0C, 0x06, 0x07, 0x03, 0x00)


def eventually(check, timeout=3.0, what="condition"):
    wait_until(check, timeout, what)


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail("Debian chromium is missing (make setup installs it)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield b
        finally:
            b.close()


# ---- the page alone, over the sim board's drivers ---------------------------------------------

@dataclass
class Bench:
    devices: Devices
    server: BoardPage
    loop: asyncio.AbstractEventLoop
    keys: list = field(default_factory=list)       # key-down events the keypad driver reported

    @property
    def sim(self):
        return self.devices.backend

    @property
    def url(self):
        return self.server.url

    def run(self, coro, timeout=10):
        """Run a coroutine on the page's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    devices = open_devices(load_board("sim"), tmp_path_factory.mktemp("sim"))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="board-page-loop", daemon=True)
    thread.start()
    b = Bench(devices, BoardPage(devices.backend, port=0), loop)

    def echo(event):
        if event.kind == "down":
            b.keys.append(event.key)
            devices.lcd.show(["Key pressed:", event.key, "", f"{len(b.keys)} keys so far"])

    devices.keypad.when_key = echo
    devices.lcd.show(["Board page bench"])
    try:
        b.run(b.server.start())
        yield b
    finally:
        if b.server.url:
            b.run(b.server.stop())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
        devices.close()


@pytest.fixture(scope="module")
def bench_page(bench, browser):
    context = browser.new_context(viewport=VIEWPORT)
    pg = context.new_page()
    pg.set_default_timeout(3000)
    pg.goto(bench.url)
    yield pg
    context.close()


@pytest.fixture
def page(bench_page):
    """One tab for all the bench's tests (a new one costs ~1 s); each test leaves the board
    as it found it."""
    bench_page.wait_for_selector("#link.up")
    return bench_page


def lcd_row(page, n):
    return page.locator(f"#lcd-row-{n}").text_content()


def wait_lcd_row(page, n, text):
    """Wait until LCD row n (trailing blanks aside) reads exactly ``text``."""
    page.wait_for_function(
        "([n, text]) => document.getElementById('lcd-row-' + n).textContent.trimEnd() === text",
        arg=[n, text])


def test_clicking_a_key_reaches_the_keypad_driver_and_the_lcd_shows_it(bench, page):
    before = len(bench.keys)
    page.click("#k-5")
    wait_lcd_row(page, 1, "5")
    assert lcd_row(page, 0).startswith("Key pressed:")
    assert len(lcd_row(page, 1)) == 20                       # one character per cell
    assert bench.keys[before:] == ["5"]                      # one press, debounced once
    eventually(lambda: not bench.sim.matrix.pressed(), what="the key to be released")


@pytest.mark.parametrize("shortcut,key", [("ArrowDown", "down"), ("Enter", "ok"),
                                          ("F3", "soft3"), ("Escape", "back"), ("*", "*")])
def test_keyboard_shortcuts_press_keys(bench, page, shortcut, key):
    page.keyboard.press(shortcut)
    wait_lcd_row(page, 1, key)
    eventually(lambda: not bench.sim.matrix.pressed(), what="the key to be released")


def test_star_and_hash_buttons(bench, page):
    page.click("#k-star")
    wait_lcd_row(page, 1, "*")
    page.click("#k-hash")
    wait_lcd_row(page, 1, "#")


def test_holding_a_button_holds_the_key(bench, page):
    box = page.locator("#k-ok").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    try:
        eventually(lambda: bench.sim.matrix.pressed() == {"ok"}, what="ok to be held")
        page.wait_for_selector("#k-ok.held")
        assert bench.sim.matrix.wait_scanned("ok", 50, 5)   # 50 scans (200 ms and more) on,
        assert bench.sim.matrix.pressed() == {"ok"}          # still down while the button is
    finally:
        page.mouse.up()
    eventually(lambda: not bench.sim.matrix.pressed(), what="ok to be released")


def test_hook_button_and_space_lift_and_replace_the_handset(bench, page):
    assert page.get_attribute("#hook", "data-state") == "on"
    page.click("#hook")
    page.wait_for_selector('#hook[data-state="off"]')
    assert bench.sim.contact.lifted
    eventually(lambda: bench.devices.hook.is_lifted, what="the hook driver to see the lift")
    page.keyboard.press("Space")
    page.wait_for_selector('#hook[data-state="on"]')
    eventually(lambda: not bench.devices.hook.is_lifted, what="the hook driver to see it back")


def test_leds_follow_the_pins_including_a_2hz_blink(bench, page):
    leds = bench.devices.leds
    try:
        leds.set("mute", "on")
        page.wait_for_selector("#led-mute.lit")
        assert page.locator(".led.lit").count() == 1
        leds.set("mute", "off")
        page.wait_for_selector("#led-mute:not(.lit)")
        leds.set("line", "blink")
        for _ in range(2):                                   # on, off, on, off: a blink
            page.wait_for_selector("#led-line.lit", timeout=1000)
            page.wait_for_selector("#led-line:not(.lit)", timeout=1000)
    finally:
        leds.set("mute", "off")
        leds.set("line", "off")


def test_custom_glyphs_and_backlight(bench, page):
    lcd = bench.devices.lcd
    lcd.define_glyph(2, HANDSET, "☎")
    lcd.show(["\x02 Handset glyph", "", "", "F1 softkey  F4"])
    wait_lcd_row(page, 0, "▪ Handset glyph")
    assert page.locator('#lcd-row-0 [data-glyph="2"]').count() == 1
    state = json.loads(urllib.request.urlopen(bench.url + "api/state", timeout=3).read())
    assert state["glyphs"][2] == list(HANDSET) and state["rows"][0][0] == "\x02"
    try:
        lcd.backlight = False
        page.wait_for_selector("#lcd.dim")
    finally:
        lcd.backlight = True
    page.wait_for_selector("#lcd:not(.dim)")


def test_screenshot_of_the_page(bench, page):
    lcd, leds = bench.devices.lcd, bench.devices.leds
    lcd.define_glyph(2, HANDSET, "☎")
    lcd.show(["Line 1      09:41 \x02", "Alice Smith", "ext. 4021  00:12", "Hold Xfer Conf  End"])
    leds.set("line", "on")
    leds.set("mwi", "on")
    try:
        wait_lcd_row(page, 3, "Hold Xfer Conf  End")
        page.wait_for_selector("#led-mwi.lit")
        SHOTS.mkdir(parents=True, exist_ok=True)
        shot = SHOTS / "board_page.png"
        page.screenshot(path=str(shot))
        assert shot.read_bytes()[:8] == PNG_MAGIC
        assert shot.stat().st_size > 20_000
        assert Image.open(shot).size == (VIEWPORT["width"], VIEWPORT["height"])
    finally:
        leds.set("line", "off")
        leds.set("mwi", "off")


def test_lcd_png_and_state_version(bench):
    v1 = json.loads(urllib.request.urlopen(bench.url + "api/state", timeout=3).read())["version"]
    bench.devices.lcd.show(["PNG render", "of the glass"])
    bench.devices.lcd.wait_idle()
    state = json.loads(urllib.request.urlopen(bench.url + "api/state", timeout=3).read())
    assert state["version"] > v1 and state["rows"][0].startswith("PNG render")
    with urllib.request.urlopen(bench.url + "lcd.png", timeout=3) as r:
        assert r.headers["Content-Type"] == "image/png"
        data = r.read()
    assert data[:8] == PNG_MAGIC
    img = Image.open(io.BytesIO(data))
    assert img.size == image_size(20, 4, 4)
    assert 2.5 < img.width / img.height < 3.5                 # a 20x4 glass is ~76 x 25 mm
    lo, hi = img.convert("L").getextrema()
    assert hi - lo > 64                                      # characters drawn, not a blank box


def test_bad_websocket_messages_get_errors_and_the_page_still_works(bench, page):
    async def talk():
        async with aiohttp.ClientSession() as s, s.ws_connect(bench.url + "ws") as ws:
            first = await ws.receive_json(timeout=3)
            assert {"rows", "leds", "hook", "version", "glyphs"} <= first.keys()
            errors = []
            for bad in ("not json", json.dumps({"tap": "banana"}), json.dumps({"fly": 1}),
                        json.dumps([1, 2]), json.dumps({"hook": "sideways"}),
                        json.dumps({"press": 5}), json.dumps({"tap": "1", "hook": "on"})):
                await ws.send_str(bad)
                errors.append(await next_error(ws))
            await ws.send_bytes(b"\x00\x01")
            errors.append(await next_error(ws))
            await ws.send_str(json.dumps({"tap": "9"}))      # the socket still works
            return errors

    async def next_error(ws):
        while True:
            msg = await ws.receive_json(timeout=3)
            if "error" in msg:
                return msg["error"]

    errors = bench.run(talk())
    assert len(errors) == 8 and "unknown key 'banana'" in errors[1], errors
    assert errors[0] == "not JSON" and "unknown command 'fly'" in errors[2]
    wait_lcd_row(page, 1, "9")
    page.click("#k-8")                                      # and so does the page
    wait_lcd_row(page, 1, "8")


def test_a_closed_socket_releases_the_keys_it_held(bench):
    async def press_and_leave():
        async with aiohttp.ClientSession() as s, s.ws_connect(bench.url + "ws") as ws:
            await ws.send_str(json.dumps({"press": "3"}))
            return await until(bench.sim.matrix.pressed, 3, "3 pressed")

    before = len(bench.keys)
    assert bench.run(press_and_leave()) == {"3"}
    eventually(lambda: not bench.sim.matrix.pressed(), what="3 to be released")
    assert bench.keys[before:] == ["3"]


def test_the_page_reconnects_when_the_server_comes_back(bench, page):
    url, port = bench.url, int(bench.url.rstrip("/").rsplit(":", 1)[1])
    bench.run(bench.server.stop())
    page.wait_for_selector("#link.down")
    assert page.text_content("#link") == "disconnected"
    bench.server.port = port                                # same address: the tab retries it
    bench.run(bench.server.start())
    assert bench.url == url
    page.wait_for_selector("#link.up", timeout=5000)
    page.click("#k-7")
    wait_lcd_row(page, 1, "7")


# ---- the firmware, through its page -----------------------------------------------------------

@pytest.fixture(scope="module")
def phone(tmp_path_factory):
    p = simphone.start(tmp_path_factory.mktemp("phone"))
    yield p
    assert p.stop() == 0


@pytest.fixture(scope="module")
def phone_page(phone, browser):
    context = browser.new_context(viewport=VIEWPORT)
    pg = context.new_page()
    pg.goto(phone.page_url)
    pg.wait_for_selector("#link.up")
    yield pg
    context.close()


def row(page, n):
    return page.inner_text(f"#lcd-row-{n}")


def wait_row(page, n, startswith, timeout=3000):
    page.wait_for_function(
        f"document.getElementById('lcd-row-{n}').textContent.startsWith({json.dumps(startswith)})",
        timeout=timeout)


def test_idle_screen_is_drawn(phone_page):
    wait_row(phone_page, 0, "Logged out")
    assert row(phone_page, 3).strip() == "Login      Menu Info"
    assert phone_page.locator("#lcd-row-1 [data-glyph]").count() >= 1   # the ✓/✗ custom glyphs


def test_clicking_softkeys_and_arrows_navigates_the_menu(phone_page):
    wait_row(phone_page, 0, "Logged out")
    phone_page.click("#k-soft3")
    wait_row(phone_page, 0, "Menu")
    phone_page.click("#k-ok")
    wait_row(phone_page, 0, "Settings")
    phone_page.click("#k-down")
    wait_row(phone_page, 0, f"Settings         2/{len(MENUS['settings'][1])}")
    # the page may catch the panel mid-frame (the header written, the rows not yet): wait
    # for the selection, as an eye would
    phone_page.wait_for_function(
        "[1, 2].some(n => document.getElementById('lcd-row-' + n).textContent"
        ".startsWith('→Handset volume'))", timeout=3000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / "board_page_firmware.png"
    phone_page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000


def test_keyboard_shortcuts(phone_page):
    phone_page.keyboard.press("Escape")
    phone_page.keyboard.press("Escape")
    wait_row(phone_page, 0, "Logged out")
    phone_page.keyboard.press("F4")
    wait_row(phone_page, 0, "hardphone")
    phone_page.keyboard.press("Backspace")
    wait_row(phone_page, 0, "Logged out")


def test_hook_switch_and_line_led(phone_page):
    wait_row(phone_page, 0, "Logged out")
    phone_page.click("#hook")
    phone_page.wait_for_selector('#hook[data-state="off"]')
    wait_row(phone_page, 0, "Dial")                  # off-hook: the dial screen, dial tone's place
    phone_page.wait_for_selector("#led-line.lit")
    phone_page.click("#k-back")                      # back out of it: home says the handset is up
    wait_row(phone_page, 2, "▪ Handset lifted")
    phone_page.click("#hook")
    phone_page.wait_for_selector('#hook[data-state="on"]')
    phone_page.wait_for_selector("#led-line:not(.lit)")
    wait_row(phone_page, 0, "Logged out")


def test_volume_key_blinks_the_line_led_during_the_test_ring(phone_page):
    wait_row(phone_page, 0, "Logged out")
    phone_page.click("#k-volup")
    wait_row(phone_page, 0, "Ringer volume")
    phone_page.wait_for_selector("#led-line.lit", timeout=2000)
    phone_page.wait_for_selector("#led-line:not(.lit)", timeout=2000)   # blinking, not steady
    phone_page.click("#k-back")
    if row(phone_page, 0).startswith("Settings"):
        wait_row(phone_page, 0, "Settings")
    else:
        wait_row(phone_page, 0, "Logged out")


def test_firmware_lcd_png_and_bad_websocket_messages(phone):
    async def go():
        async with aiohttp.ClientSession() as s:
            async with s.get(phone.page_url + "lcd.png") as r:
                data = await r.read()
                assert r.status == 200 and data[:8] == PNG_MAGIC
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


# ---- the 40x4 sim board: two controllers on the glass, 40 columns by 4 rows --------------------

@pytest.fixture(scope="module")
def wide_phone(tmp_path_factory):
    p = simphone.start(tmp_path_factory.mktemp("wide-phone"), board="sim-40x4")
    yield p
    assert p.stop() == 0


def test_the_40x4_board_page_shows_40_columns_by_4_rows(wide_phone, browser):
    context = browser.new_context(viewport=VIEWPORT)
    pg = context.new_page()
    try:
        pg.goto(wide_phone.page_url)
        pg.wait_for_selector("#link.up")
        wait_row(pg, 0, "Logged out")
        assert pg.locator("#lcd .row").count() == 4
        assert [pg.locator(f"#lcd-row-{n} .cell").count() for n in range(4)] == [40] * 4
        assert pg.get_attribute("#lcd", "aria-label") == "LCD, 40 by 4 characters"
        # the bottom two rows are the second controller's: its softkeys and its date line
        assert row(pg, 3).split() == ["Login", "Menu", "Info"]
        assert row(pg, 1).rstrip().endswith(time.strftime("%Y"))    # the date beside the links
        # the softkeys sit under the quarters of the wider glass, and the phone fits the window
        glass = pg.locator("#lcd").bounding_box()
        keys = pg.locator(".softkeys").bounding_box()
        assert abs(keys["width"] - glass["width"]) < 0.1 * glass["width"]
        assert pg.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"]
        SHOTS.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(SHOTS / "board_page_40x4.png"))
        pg.click("#k-soft4")
        wait_row(pg, 0, "hardphone")
        # the emulated bus writes a row at a time: the next row may still be on its way
        wait_row(pg, 1, "Board sim-40x4")
        pg.click("#k-back")
        wait_row(pg, 0, "Logged out")
        with urllib.request.urlopen(wide_phone.page_url + "lcd.png", timeout=5) as r:
            img = Image.open(io.BytesIO(r.read()))
        assert img.size == image_size(40, 4, 4)
    finally:
        context.close()
