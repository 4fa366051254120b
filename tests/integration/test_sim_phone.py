"""The sim phone as the device runs it: no board page, and no web framework in the process."""
import urllib.request

import pytest

from tools import simphone
from tools.lab import Desk


def test_without_its_page_the_phone_serves_no_web_and_loads_no_aiohttp(tmp_path):
    with simphone.start(tmp_path, page_port=None) as phone:
        desk = Desk(phone)
        try:
            assert phone.page_url is None
            assert not any(line.startswith("board page:") for line in phone.lines)
            desk.key("soft4")                                 # the console drives it as ever
            assert "sim" in desk.text()
            libraries = open(f"/proc/{phone.pid}/maps").read()
            # the contact-center link is websockets; aiohttp (with its C parts) serves the
            # sim's page only
            assert "aiohttp" not in libraries
        finally:
            desk.close()


def test_with_its_page_it_serves_it_with_aiohttp(tmp_path):
    with simphone.start(tmp_path, page_port=0) as phone:
        assert phone.page_url
        with urllib.request.urlopen(phone.page_url, timeout=5) as r:
            assert r.status == 200
        assert "aiohttp" in open(f"/proc/{phone.pid}/maps").read()


@pytest.mark.parametrize("value", ['"no"', "0"])
def test_enabled_must_be_true_or_false(tmp_path, value):
    from firmware.app.config import ConfigError, load_config
    p = tmp_path / "phone.toml"
    p.write_text(f"[board_page]\nenabled = {value}\n")
    with pytest.raises(ConfigError, match="board_page.enabled: expected bool"):
        load_config(str(p))


def test_the_40x4_board_runs_the_phone_on_two_lcd_controllers(tmp_path):
    """board/sim-40x4: the console's lcd shows 4 rows of 40, and the screens use the room."""
    with simphone.start(tmp_path, page_port=None, board="sim-40x4") as phone:
        desk = Desk(phone)
        try:
            rows = desk.lcd()
            assert len(rows) == 4 and all(len(r) == 40 for r in rows), rows
            assert rows[0].startswith("Logged out") and rows[3].split() == ["Login", "Menu", "Info"]
            desk.key("soft4")
            assert "Board sim-40x4  Slot" in desk.text()
        finally:
            desk.close()
