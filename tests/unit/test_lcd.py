"""The real RPLCD driver's I2C bytes, decoded by the HD44780 model, equal the intended screen."""
import pytest

from hal.errors import HalError
from hal.lcd import Lcd, changed_runs
from hal.sim.hd44780 import HD44780, SimI2CBus

SCREEN = ["Logged out     09:41", "NET\x00 SIP- CC-", "Sun 22 Nov 2026", " Menu           Info"]


@pytest.fixture
def panel(sim_spec):
    bus = SimI2CBus(sim_spec.lcd.bus_hz)
    model = HD44780(sim_spec.lcd.cols, sim_spec.lcd.rows)
    bus.attach(sim_spec.lcd.address, model)
    lcd = Lcd(sim_spec.lcd, bus)
    yield lcd, model, bus
    lcd.close()


def test_driver_bytes_decode_to_the_screen(panel):
    lcd, model, bus = panel
    lcd.define_glyph(0, (0, 1, 3, 22, 28, 8, 0, 0), "✓")
    lcd.show(SCREEN)
    assert lcd.wait_idle()
    assert model.text() == [r.ljust(20) for r in SCREEN]
    assert model.glyph(0) == [0, 1, 3, 22, 28, 8, 0, 0]
    assert model.display_on and model.backlight and model.four_bit and model.two_line
    assert lcd.text()[1].startswith("NET✓ SIP-")
    # init is single-byte writes (timed by sleeps); each frame row then goes as one message
    assert bus.transactions < 200


def test_frames_go_out_as_one_message_per_row(panel):
    lcd, model, bus = panel
    before = bus.transactions
    lcd.show(SCREEN)
    lcd.wait_idle()
    assert bus.transactions - before == 4


def test_only_changed_cells_are_sent(panel):
    lcd, model, bus = panel
    lcd.show(SCREEN)
    lcd.wait_idle()
    before, sent, cells = bus.transactions, bus.bytes_written, lcd.cells_written
    lcd.show(["Logged out     09:42"] + SCREEN[1:])
    lcd.wait_idle()
    assert lcd.cells_written - cells == 1
    # one message: a cursor move and a character, 2 nibbles each, 3 bytes a nibble (data, E
    # high, E low)
    assert bus.transactions - before == 1
    assert bus.bytes_written - sent == 12
    assert model.text()[0] == "Logged out     09:42"


def test_latest_frame_wins_when_frames_arrive_faster_than_the_bus(panel):
    lcd, model, _ = panel
    for i in range(50):
        lcd.show([f"frame {i}"])
    lcd.wait_idle()
    assert model.text()[0].rstrip() == "frame 49"


def test_backlight_goes_through_the_backpack_bit(panel):
    lcd, model, _ = panel
    lcd.backlight = False
    lcd.wait_idle()
    assert not model.backlight
    lcd.backlight = True
    lcd.wait_idle()
    assert model.backlight


def test_characters_the_rom_lacks_are_shown_as_spaces(panel):
    lcd, model, _ = panel
    lcd.show(["a→b€c"])
    lcd.wait_idle()
    assert model.text()[0].startswith("a→b c")
    assert lcd.text()[0].startswith("a→b c")


def test_a_missing_panel_is_a_clear_error(sim_spec):
    with pytest.raises(HalError, match="0x27"):
        Lcd(sim_spec.lcd, SimI2CBus())


@pytest.mark.parametrize("old,new,runs", [
    ("abcdef", "abcdef", []),
    ("abcdef", "abXdef", [(2, "X")]),
    ("abcdefghij", "Xbcdefghi!", [(0, "X"), (9, "!")]),
    ("abcdef", "XbcdeY", [(0, "XbcdeY")]),           # gap of 4 cells: still merged (<= 3+1)
])
def test_changed_runs(old, new, runs):
    assert changed_runs(old, new) == runs


def test_png_render_of_the_panel(panel, tmp_path):
    from PIL import Image

    from hal.sim.render import render_png
    lcd, model, _ = panel
    lcd.show(SCREEN)
    lcd.wait_idle()
    out = tmp_path / "lcd.png"
    data = render_png(model, out)
    assert out.exists() and data[:8] == b"\x89PNG\r\n\x1a\n"
    img = Image.open(out)
    w, h = img.size
    assert 2.5 < w / h < 8                  # a 20x4 panel (with its bezel) is wide
    lo, hi = img.convert("L").getextrema()
    assert hi - lo > 64                     # characters drawn, not a blank box


def test_two_line_ddram_skips_the_gap_between_lines():
    """Writing past column 39 of line 1 continues at 0x40 (line 2), as on the controller."""
    from hal.sim.hd44780 import E
    m = HD44780(20, 4)

    def send(rs, byte):
        for nibble in (byte >> 4, byte & 0xF):
            v = (nibble << 4) | rs | 0x08
            m.write_byte(v | E)
            m.write_byte(v)

    for nibble in (0x3, 0x3, 0x3, 0x2):                  # reset, then 4-bit mode
        m.write_byte((nibble << 4) | E)
        m.write_byte(nibble << 4)
    send(0, 0x28)                                        # 4-bit, 2 lines
    send(0, 0x0C)                                        # display on
    send(0, 0x80 | 0x27)                                 # last cell of line 1's DDRAM
    send(1, ord("A"))
    send(1, ord("B"))
    assert m.ddram[0x27] == ord("A") and m.ddram[0x40] == ord("B")
    assert m.text()[1][0] == "B"
