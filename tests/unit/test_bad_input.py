"""Bad board files and configs: a one-line error naming the file and field, exit non-zero."""
import subprocess
import sys
from pathlib import Path

import pytest

from firmware.app.config import ConfigError, load_config
from hal.board import BOARDS_DIR, load_board
from hal.errors import BoardError

SIM = (BOARDS_DIR / "sim" / "board.toml").read_text()
ROOT = Path(__file__).resolve().parents[2]


def board_with(tmp_path, old, new):
    assert old in SIM, old
    p = tmp_path / "board.toml"
    p.write_text(SIM.replace(old, new, 1))
    return p


@pytest.mark.parametrize("old,new,field,problem", [
    ('backend = "sim"\n', "", "board.backend", "missing"),
    ('backend = "sim"', 'backend = "fpga"', "board.backend", "unknown backend"),
    ("cols = 20\n", 'cols = "twenty"\n', "lcd.cols", "expected an integer"),
    ("address = 0x27", "address = 0x99", "lcd.address", "0x03-0x77"),
    ("pin = 4 ", "pin = 99 ", "hook.pin", "0-53"),
    ("mute = 25", "mute = 23", "leds.mute", "already used by leds.line"),
    ('["7",  "8",    "9"', '["7",  "8",    "99"', "keypad.keys[2][2]", "unknown key '99'"),
    ('["*",  "0",    "#"', '["*",  "0",    "9"', "keypad.keys[3][2]", "appears twice"),
    ('["ok", "back", "redial"', '["ok", "back", ""', "keypad.keys", "keys not on the matrix: redial"),
    ("[audio.pcm]\n", "[audio.pcmx]\n", "audio.pcm", "missing"),
    ('ringer = "ringer"\n', "ringer = 5\n", "audio.pcm.ringer", "expected a string"),
])
def test_bad_board_fields_are_named(tmp_path, old, new, field, problem):
    path = board_with(tmp_path, old, new)
    with pytest.raises(BoardError) as e:
        load_board(str(path))
    msg = str(e.value)
    assert msg.startswith(f"{path}: {field}: ") and problem in msg and "\n" not in msg


def test_unknown_board_lists_the_known_ones():
    with pytest.raises(BoardError, match=r"no such board file \(known boards: rpi4, sim\)"):
        load_board("nokia")


def test_board_that_is_not_toml(tmp_path):
    p = tmp_path / "board.toml"
    p.write_text("[board\nname=")
    with pytest.raises(BoardError, match="not valid TOML"):
        load_board(str(p))


@pytest.mark.parametrize("text,problem", [
    ("[phone\n", "not valid TOML"),
    ("[phone]\nstate_dir = 5\n", "phone.state_dir: expected str"),
    ("[phone]\ncolour = 'red'\n", "phone.colour: unknown field"),
    ("[speakers]\n", "speakers: unknown section"),
    ("[board_page]\nport = 70000\n", "board_page.port: must be 0-65535"),
])
def test_bad_config(tmp_path, text, problem):
    p = tmp_path / "phone.toml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=problem):
        load_config(str(p))


def test_config_state_dir_is_relative_to_the_config(tmp_path):
    p = tmp_path / "phone.toml"
    p.write_text("[phone]\nstate_dir = 'st'\n[board_page]\nport = 0\n")
    c = load_config(str(p))
    assert c.state_dir == tmp_path / "st" and c.page_port == 0


@pytest.mark.parametrize("args,needle", [
    (["--board", "nokia"], "nokia/board.toml: no such board file"),
    (["--board", "sim", "--config", "/nonexistent/phone.toml"], "/nonexistent/phone.toml: no such file"),
])
def test_the_firmware_exits_with_one_line(args, needle):
    r = subprocess.run([sys.executable, "-m", "firmware", *args], cwd=ROOT,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and lines[0].startswith("hardphone: ")


def test_firmware_names_the_field_of_a_bad_board_file(tmp_path):
    path = board_with(tmp_path, "rows = 4\n", "rows = 3\n")
    r = subprocess.run([sys.executable, "-m", "firmware", "--board", str(path)], cwd=ROOT,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert r.stderr.strip() == f"hardphone: {path}: lcd.cols: unsupported HD44780 geometry 20x3"
