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
    ('["ok", "back", "redial"', '["ok", "back", ""', "keypad.keys",
     "keys not on the matrix: redial"),
    ("[audio.pcm]\n", "[audio.pcmx]\n", "audio.pcm", "missing"),
    ('ringer = "ringer"\n', "ringer = 5\n", "audio.pcm.ringer", "expected a string"),
    # the LCD's wiring and character ROM
    ("cols = 20\n", "cols = 40\n", "lcd.e2_bit", "two controllers: name the PCF8574 bit"),
    ("rows = 4\n", "rows = 4\ne2_bit = 1\n", "lcd.e2_bit", "one controller and one E line"),
    ("cols = 20\n", "cols = 40\ne2_bit = 3\n", "lcd.e2_bit", "bit 3 is taken by the backpack"),
    ('charset = "A00"', 'charset = "KOI8"', "lcd.charset", "unknown HD44780 character ROM 'KOI8'"),
])
def test_bad_board_fields_are_named(tmp_path, old, new, field, problem):
    path = board_with(tmp_path, old, new)
    with pytest.raises(BoardError) as e:
        load_board(str(path))
    msg = str(e.value)
    assert msg.startswith(f"{path}: {field}: ") and problem in msg and "\n" not in msg


@pytest.mark.parametrize("cols,rows,field", [(16, 2, "cols"), (20, 2, "rows"), (16, 4, "cols"),
                                             (40, 2, "rows")])
def test_a_panel_smaller_than_20x4_is_refused_at_board_load(tmp_path, cols, rows, field):
    path = board_with(tmp_path, "cols = 20\nrows = 4\n", f"cols = {cols}\nrows = {rows}\n")
    with pytest.raises(BoardError) as e:
        load_board(str(path))
    assert str(e.value) == (f"{path}: lcd.{field}: a {cols}x{rows} LCD is too small: the agent's "
                            "screens need 20x4 at least")




def test_the_40x4_sim_board_loads():
    lcd = load_board("sim-40x4").lcd
    assert (lcd.cols, lcd.rows, lcd.controllers, lcd.charset) == (40, 4, 2, "A00")


def test_the_firmware_refuses_a_16x2_board_with_one_line(tmp_path):
    path = board_with(tmp_path, "cols = 20\nrows = 4\n", "cols = 16\nrows = 2\n")
    r = subprocess.run([sys.executable, "-m", "firmware", "--board", str(path)], cwd=ROOT,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert r.stderr.strip() == (f"hardphone: {path}: lcd.cols: a 16x2 LCD is too small: the "
                                "agent's screens need 20x4 at least")


def test_unknown_board_lists_the_known_ones():
    with pytest.raises(BoardError, match=r"no such board file \(known boards: rpi4, sim, "
                                         r"sim-40x4, sim-frontpanel, sim-room\)"):
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
    (["--board", "sim", "--config", "/nonexistent/phone.toml"],
     "/nonexistent/phone.toml: no such file"),
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


# -- each of these once crashed with a traceback, or booted and failed later out of sight --------
CA_TOML = '[cc]\nurl = "{scheme}://cc.example.com/agent/v1"\ncafile = "{ca}"\n'
# a production [sip]: TLS and SRTP (udp/tcp and plain RTP are for a loopback registrar only)
SIP_TOML = ('[board_page]\nenabled = false\n[sip]\nuser = "1001"\ntransport = "tls"\n'
            'media = "srtp"\n{field} = {value}\n')


def _config(tmp_path, name):
    """A config file (or, for "dir", a directory in its place) that is wrong in one field."""
    (tmp_path / "junk.pem").write_text("not a certificate\n")
    p = tmp_path / "phone.toml"
    if name == "dir":
        p.mkdir()
        return p
    text = {
        "cafile missing": CA_TOML.format(scheme="wss", ca="nope.pem"),
        "cafile not PEM": CA_TOML.format(scheme="wss", ca="junk.pem"),
        "cafile a directory": CA_TOML.format(scheme="wss", ca="."),
        "WSS cafile not PEM": CA_TOML.format(scheme="WSS", ca="junk.pem"),
        "listen": SIP_TOML.format(field='domain = "127.0.0.1:5060"\nlisten', value='"nonsense"'),
        "listen port": SIP_TOML.format(field='domain = "127.0.0.1:5060"\nlisten',
                                       value='"0.0.0.0:70000"'),
        "domain": SIP_TOML.format(field="domain", value='"bad domain::"'),
        "domain port": SIP_TOML.format(field="domain", value='"pbx:0"'),
        "reg_interval": SIP_TOML.format(field='domain = "127.0.0.1"\nreg_interval', value="-5"),
        "reg_interval 0": SIP_TOML.format(field='domain = "127.0.0.1"\nreg_interval', value="0"),
        "dscp_sip": SIP_TOML.format(field='domain = "pbx.example.com"\ndscp_sip', value='"CS8"'),
        "dscp_rtp": SIP_TOML.format(field='domain = "pbx.example.com"\ndscp_rtp', value="64"),
        "dscp_rtp bool": SIP_TOML.format(field='domain = "pbx.example.com"\ndscp_rtp',
                                         value="true"),
    }[name]
    p.write_text(text)
    return p


@pytest.mark.parametrize("name,field,why", [
    ("dir", None, "is a directory"),
    ("cafile missing", "cc.cafile", "nope.pem: no such file"),
    ("cafile not PEM", "cc.cafile", "junk.pem: no PEM certificate"),
    ("cafile a directory", "cc.cafile", "is a directory"),
    ("WSS cafile not PEM", "cc.cafile", "junk.pem: no PEM certificate"),
    ("listen", "sip.listen", "not an IP address"),
    ("listen port", "sip.listen", "port must be 1-65534"),
    ("domain", "sip.domain", "not a host name or address"),
    ("domain port", "sip.domain", "port must be 1-65535"),
    ("reg_interval", "sip.reg_interval", "must be 1-86400 s, got -5"),
    ("reg_interval 0", "sip.reg_interval", "got 0"),
    ("dscp_sip", "sip.dscp_sip", "not a DSCP: a class name (CS0-CS7, AF11-AF43, EF, DF) or "
                                 "0-63, got 'CS8'"),
    ("dscp_rtp", "sip.dscp_rtp", "not a DSCP"),
    ("dscp_rtp bool", "sip.dscp_rtp", "expected str or int, got True"),
])
def test_a_bad_config_field_stops_the_phone_with_one_line(tmp_path, name, field, why):
    path = _config(tmp_path, name)
    r = subprocess.run([sys.executable, "-m", "firmware", "--board", "sim", "--config", str(path),
                        "--console", "pty"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    where = f"hardphone: {path}: {field}: " if field else f"hardphone: {path}: "
    assert lines[0].startswith(where) and why in lines[0], lines[0]


@pytest.mark.parametrize("old,new,field,why", [
    ('ringer = "ringer"', 'ringer = "ri\\"nger"', "audio.pcm.ringer", "not a PCM name"),
    ('mic = "mic"', 'mic = "mic two"', "audio.pcm.mic", "not a PCM name"),
    ("rate = 8000", "rate = 0", "audio.rate", "must be one of 8000, 16000, 32000, 48000 Hz"),
    ("rate = 8000", "rate = 8001", "audio.rate", "got 8001"),
    ("rate = 8000", "rate = 12000", "audio.rate", "the rates the call's codecs run at"),
])
def test_a_bad_board_audio_field_stops_the_phone_with_one_line(tmp_path, old, new, field, why):
    path = board_with(tmp_path, old, new)
    r = subprocess.run([sys.executable, "-m", "firmware", "--board", str(path), "--console", "pty"],
                       cwd=ROOT, capture_output=True, text=True, timeout=30)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert lines[0].startswith(f"hardphone: {path}: {field}: ") and why in lines[0], lines[0]


def test_good_sip_addresses_pass():
    from firmware.sip.config import SipConfig, problems
    for domain, listen in [("pbx.example.com", "0.0.0.0:5060"),
                           ("127.0.0.1:5062", "127.0.0.1:40000"),
                           ("[::1]:5060", "[::1]:5060"), ("pbx-2.lab.", "10.0.0.7:5070"),
                           ("pbx.example.com:5061", "0.0.0.0:5060")]:
        found = problems(SipConfig(user="1001", domain=domain, listen=listen))
        assert not [f for f, _why in found if f in ("user", "domain", "listen", "reg_interval")]


def test_dscp_marks_load_by_class_name_or_number(tmp_path):
    p = tmp_path / "phone.toml"
    for sip, rtp, want in [('"CS3"', '"EF"', ("CS3", "EF")), ('"af41"', "46", ("af41", 46)),
                           ('"0"', '"DF"', ("0", "DF"))]:
        p.write_text(SIP_TOML.format(field=f'domain = "pbx.example.com"\ndscp_sip = {sip}\n'
                                           f'dscp_rtp', value=rtp))
        c = load_config(str(p)).sip
        assert c is not None and (c.dscp_sip, c.dscp_rtp) == want
