"""The front panel's link: its codec on both interpreters, its build, the panel's own tests on
the MicroPython unix port, the board file's [frontpanel] table, and the Pi's link rules
(sequence numbers, resets, lost) against a fake port."""
import json
import subprocess

import cobs.cobs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hal import BoardError, load_board
from hal.board import board_path
from hal.frontpanel import fpcodec as fp
from hal.frontpanel.devices import PanelKeypad
from hal.frontpanel.link import PanelLink
from hal.frontpanel.sim import micropython_env, micropython_path
from tools import frontpanel as tool


@given(st.binary(max_size=600))
@settings(max_examples=300, deadline=None)
def test_cobs_is_the_standard_one(data):
    assert fp.cobs_encode(data) == cobs.cobs.encode(data)
    assert fp.cobs_decode(fp.cobs_encode(data)) == data


@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=fp.MAX_PAYLOAD))
@settings(max_examples=200, deadline=None)
def test_frames_round_trip_and_hold_no_zero(kind, seq, payload):
    frame = fp.encode(kind, seq, payload)
    assert frame.endswith(b"\x00") and b"\x00" not in frame[:-1]
    assert fp.Decoder().feed(frame) == [(kind, seq, payload)]


@given(st.binary(max_size=400), st.integers(0, 255))
@settings(max_examples=200, deadline=None)
def test_garbage_before_a_frame_costs_at_most_that_garbage(garbage, seq):
    d = fp.Decoder()
    frames = d.feed(garbage + b"\x00" + fp.encode(fp.EVENT, seq, b"\x01\x02"))
    assert frames[-1] == (fp.EVENT, seq, b"\x01\x02")
    assert d.good == len(frames)
    assert d.bad <= garbage.count(0) + 1


def test_every_single_bit_flip_is_caught():
    frame = fp.encode(fp.LCD, 9, fp.lcd_payload([(0, 0, b"Logged out     12:00")]))
    for i in range(len(frame) - 1):
        for bit in range(8):
            bad = bytearray(frame)
            bad[i] ^= 1 << bit
            frames = fp.Decoder().feed(bytes(bad))
            assert frames == [], (i, bit)


def test_a_too_long_payload_is_refused():
    with pytest.raises(ValueError):
        fp.encode(fp.LCD, 0, bytes(fp.MAX_PAYLOAD + 1))


# -- the same codec under MicroPython ---------------------------------------------------------
def run_micropython(code: str) -> str:
    r = subprocess.run([micropython_path(), "-c", code], env=micropython_env(),
                       capture_output=True, text=True, timeout=30, cwd="/")
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_micropython_and_cpython_make_and_read_the_same_frames():
    payloads = [b"", b"\x00", bytes(range(256))[:200], fp.hello_payload(1, 2, True, 3, 1, "x")]
    ours = [fp.encode(fp.HELLO, i, p) for i, p in enumerate(payloads)]
    out = run_micropython(
        "import fpcodec as fp\n"
        f"ps = {payloads!r}\n"
        "print(repr([fp.encode(fp.HELLO, i, p) for i, p in enumerate(ps)]))\n"
        f"print(repr(fp.Decoder().feed({b''.join(ours)!r})))\n")
    theirs, decoded = out.splitlines()
    assert eval(theirs) == ours
    assert eval(decoded) == [(fp.HELLO, i, p) for i, p in enumerate(payloads)]


# -- the panel's own tests and its build ----------------------------------------------------
def test_the_panels_own_tests_pass_on_the_unix_port():
    r = tool.test()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Ran 19 tests" in r.stdout and "OK" in r.stdout


def test_the_build_makes_mpy_files_for_the_panel_that_run(tmp_path):
    out = tmp_path / "fp"
    files = tool.build(out, "armv6m", "sim-frontpanel")
    names = sorted(str(f.relative_to(out)) for f in files)
    assert names == ["board.json", "fpcodec.mpy", "hd44780.mpy", "keyscan.mpy",
                     "logging/__init__.mpy", "main.py", "panel.mpy"]
    for f in files:
        if f.suffix == ".mpy":
            assert f.read_bytes()[:2] == b"M\x06", f        # MicroPython .mpy, version 6
    cfg = json.loads((out / "board.json").read_text())
    assert cfg["rows"] == [6, 7, 8, 9, 10, 11] and cfg["lcd"]["address"] == 0x27
    r = tool.test(out)                                     # the tests, against the image
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_build_names_a_board_without_a_panel(tmp_path):
    with pytest.raises(tool.BuildError, match="no front panel"):
        tool.build(tmp_path / "fp", "armv6m", "sim")


# -- the board file -------------------------------------------------------------------------
def board_with(tmp_path, old, new):
    text = board_path("sim-frontpanel").read_text()
    assert old in text
    path = tmp_path / "board.toml"
    path.write_text(text.replace(old, new))
    return path


def test_the_sim_frontpanel_board():
    spec = load_board("sim-frontpanel")
    assert spec.backend == "frontpanel" and spec.frontpanel.sim and spec.emulated
    assert spec.frontpanel.lost_ms == 1000 and spec.lcd.contrast_pin is None
    assert not load_board("rpi4").emulated and load_board("sim").emulated


@pytest.mark.parametrize("old,new,field,problem", [
    ('port = "sim" ', "", "frontpanel.port", "missing"),
    ("lost_ms = 1000", "lost_ms = 300", "frontpanel.lost_ms", "at least 3 heartbeats"),
    ("uart_tx = 0", "uart_tx = 6", "frontpanel.uart_tx", "already used by keypad.rows"),
    ("baud = 115200\nheartbeat", "bogus = 1\nheartbeat", "frontpanel.bogus", "unknown field"),
    ("# no contrast_pin: a trimmer on the panel", "contrast_pin = 27", "lcd.contrast_pin",
     "trimmer"),
])
def test_board_file_mistakes_are_named(tmp_path, old, new, field, problem):
    with pytest.raises(BoardError) as e:
        load_board(str(board_with(tmp_path, old, new)))
    assert e.value.field == field and problem in e.value.problem


def test_only_the_frontpanel_backend_has_a_front_panel(tmp_path):
    path = board_with(tmp_path, 'backend = "frontpanel"', 'backend = "sim"')
    with pytest.raises(BoardError, match="only the frontpanel backend"):
        load_board(str(path))


# -- the Pi's link rules, against a fake port -----------------------------------------------
class FakePort:
    def __init__(self):
        self.sent = bytearray()

    def write(self, data):
        self.sent.extend(data)

    def frames(self):
        out = fp.Decoder().feed(bytes(self.sent))
        self.sent.clear()
        return out


@pytest.fixture
def link():
    link = PanelLink("/nonexistent", 115200, rows=4, cols=20, leds=5)
    link._ser = FakePort()
    return link


def hello(link, boot_id=0x1234, first=0, hook=False):
    with link._cond:
        link._handle(fp.HELLO, 0, fp.hello_payload(boot_id, first, hook, 0, fp.WHY_PONG, "1.0"))


def event(link, seq, kind=fp.KEY_DOWN, key=7):
    with link._cond:
        link._handle(fp.EVENT, seq, bytes((kind, key)))


def ack_all(link):
    """Play the panel: ack each command the link sends until it has nothing left."""
    sent = []
    for _ in range(20):
        cmds = [f for f in link._ser.frames() if f[0] not in (fp.EVACK, fp.PING)]
        if not cmds:
            return sent
        for kind, seq, payload in cmds:
            sent.append((kind, payload))
            with link._cond:
                link._handle(fp.ACK, seq, b"")
    raise AssertionError("the link never ran out of commands")


def test_each_event_is_handed_on_once_and_every_copy_is_acked(link):
    got = []
    link.when_event = lambda kind, key: got.append((kind, key))
    hello(link, first=250)
    for seq in (250, 250, 251, 250, 253, 252, 252, 253):     # resends, and one out of order
        event(link, seq, key=seq % 10)
    assert [k for _, k in got] == [0, 1, 2, 3]
    assert link.stats["duplicates"] == 3 and link.stats["gaps"] == 1
    acks = [seq for kind, seq, _ in link._ser.frames() if kind == fp.EVACK]
    assert acks == [250, 250, 251, 251, 251, 252, 252, 253]


def test_events_before_the_hello_are_not_taken(link):
    got = []
    link.when_event = lambda kind, key: got.append(key)
    event(link, 0)
    assert got == [] and link._ser.frames() == []


def test_after_a_hello_the_whole_state_goes_then_only_changes(link):
    link.set_leds(bytes((fp.MODE_BLINK, 0, 0, 0, 0)))
    link.set_glyph(1, bytes(8))
    link.set_lcd([b"Logged out", b"NET"])
    assert link._ser.frames() == []                   # not up: nothing to send to
    hello(link)
    kinds = [k for k, _ in ack_all(link)]
    assert kinds == [fp.GLYPH, fp.BACKLIGHT, fp.LEDS, fp.LCD]
    assert link.lcd_acked()[0] == b"Logged out".ljust(20) and link.wait_idle(0)
    link.set_lcd([b"Logged in", b"NET"])
    (kind, payload), = ack_all(link)
    assert kind == fp.LCD and fp.parse_lcd(payload) == [(0, 7, b"in ")]


def test_a_new_boot_id_sends_everything_again_and_restarts_the_sequence(link):
    got = []
    link.when_event = lambda kind, key: got.append(key)
    link.set_lcd([b"Hello"])
    hello(link, boot_id=1)
    ack_all(link)
    event(link, 0, key=1)
    hello(link, boot_id=2, first=0)                  # reset: its events start at 0 again
    event(link, 0, key=2)
    assert got == [1, 2] and link.stats["resets"] == 1
    assert [k for k, _ in ack_all(link)] == [fp.BACKLIGHT, fp.LEDS, fp.LCD]


def test_an_unacked_command_goes_again(link):
    hello(link)
    link._ser.frames()
    with link._cond:
        link._timers(link._sent_at + 0.2)
    assert [f[0] for f in link._ser.frames() if f[0] != fp.PING] == [fp.BACKLIGHT]
    assert link.stats["resends"] == 1


def test_silence_is_lost_and_a_held_key_is_let_go(link):
    spec = load_board("sim-frontpanel").keypad
    keypad = PanelKeypad(spec, link)
    got = []
    keypad.when_key = lambda e: got.append((e.key, e.kind))
    link.when_event, link.when_up = keypad.on_event, keypad.on_link
    hello(link)
    event(link, 0, fp.KEY_DOWN, 7)                   # row 1, col 1: "5"
    with link._cond:
        link._timers(link._last_rx + 1.5)
    assert not link.up and link.stats["lost"] == 1 and link.wait_idle(0)
    assert got == [("5", "down"), ("5", "up")]
    event(link, 1, fp.KEY_UP, 7)                      # its release, late: nothing
    hello(link, first=2)                              # back; the panel dropped what it held
    assert link.up and got == [("5", "down"), ("5", "up")]
    event(link, 2, fp.KEY_DOWN, 0)
    assert got[-1] == ("1", "down")


def test_a_console_press_without_an_emulated_panel_is_reported_directly(link):
    keypad = PanelKeypad(load_board("sim-frontpanel").keypad, link)
    got = []
    keypad.when_key = lambda e: got.append((e.key, e.kind))
    keypad.press("ok")
    assert got == [("ok", "down"), ("ok", "up")]
