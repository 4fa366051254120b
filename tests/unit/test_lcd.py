"""The real RPLCD driver's I2C bytes, decoded by the HD44780 model, equal the intended screen."""
from dataclasses import replace

import pytest

from hal.board import load_board
from hal.errors import HalError
from hal.lcd import Lcd, changed_runs
from hal.sim.hd44780 import HD44780, LcdModule, SimI2CBus

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
    lcd, _, bus = panel
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


def test_characters_the_rom_lacks_are_shown_as_stand_ins(panel):
    lcd, model, _ = panel
    lcd.show(["a→b€c"])
    lcd.wait_idle()
    assert model.text()[0].startswith("a→b?c")
    assert lcd.text()[0].startswith("a→b?c")


def test_a_cyrillic_name_on_an_a00_panel_shows_stand_ins(panel):
    """The A00 ROM has no Cyrillic: each letter is a '?' on the glass, the rest as written."""
    lcd, model, _ = panel
    lcd.show(["Иван Петров 4567", "Ok"])
    assert lcd.wait_idle()
    assert model.text()[:2] == ["???? ?????? 4567".ljust(20), "Ok".ljust(20)]
    assert lcd.text()[0] == "???? ?????? 4567".ljust(20)


def test_an_accented_name_on_an_a00_panel_loses_only_its_accents(panel):
    """A customer's name: the letter without its accent where the ROM has it (one cell for
    one: the screen's layout holds), a stand-in where there is none (Æ, ø)."""
    lcd, model, _ = panel
    lcd.show(["Zoë Ærø, José Núñez"])
    assert lcd.wait_idle()
    assert model.text()[0] == "Zoe ?r?, Jose Nuñez "          # the ROM has ñ


def test_the_character_rom_is_board_data(sim_spec):
    """An A02 (European) panel draws Cyrillic capitals and shows · for the firmware's ･."""
    spec = replace(sim_spec.lcd, charset="A02")
    bus = SimI2CBus(spec.bus_hz)
    module = LcdModule(spec.cols, spec.rows, charset="A02")
    bus.attach(spec.address, module)
    lcd = Lcd(spec, bus)
    try:
        lcd.show(["ЖУЛ → Sent 2 ･･", "é ж"])
        assert lcd.wait_idle()
        assert module.text()[:2] == ["ЖУЛ → Sent 2 ··".ljust(20), "é ?".ljust(20)]
    finally:
        lcd.close()


# -- a 40x4 module: two controllers, each 40x2 with its own E line --------------------------------
@pytest.fixture
def wide():
    spec = load_board("sim-40x4").lcd
    bus = SimI2CBus(spec.bus_hz)
    module = LcdModule(spec.cols, spec.rows, spec.e2_bit, spec.charset)
    bus.attach(spec.address, module)
    lcd = Lcd(spec, bus)
    yield lcd, module, bus
    lcd.close()


WIDE = ["Call 1 of 3                        00:03", "*******4567 Sales   Account: 88-1203",
        "Topic: Billing      Name: Ada", "Accept    All       Vars"]


def test_a_40x4_module_is_two_controllers_each_with_its_rows(wide):
    lcd, module, bus = wide
    lcd.define_glyph(0, (0, 1, 3, 22, 28, 8, 0, 0), "✓")
    lcd.show(WIDE)
    assert lcd.wait_idle()
    assert module.text() == [r.ljust(40) for r in WIDE]
    top, bottom = module.controllers
    assert top.text() == [r.ljust(40) for r in WIDE[:2]]           # E1: rows 0-1
    assert bottom.text() == [r.ljust(40) for r in WIDE[2:]]        # E2: rows 2-3
    for chip in (top, bottom):                                     # each initialised by the driver
        assert chip.display_on and chip.four_bit and chip.two_line and chip.backlight
        assert chip.glyph(0) == [0, 1, 3, 22, 28, 8, 0, 0]        # and given the glyphs
    before = bus.transactions
    lcd.show(["x" * 40] * 4)
    lcd.wait_idle()
    assert bus.transactions - before == 4                          # still one message a row
    assert module.text() == ["x" * 40] * 4


def test_a_40x4_backlight_and_changed_cells(wide):
    lcd, module, _ = wide
    lcd.show(WIDE)
    lcd.wait_idle()
    cells = lcd.cells_written
    lcd.show(WIDE[:3] + ["Resume    End       Vars      State"])
    lcd.wait_idle()
    assert module.text()[3].rstrip() == "Resume    End       Vars      State"
    assert module.text()[:3] == [r.ljust(40) for r in WIDE[:3]]
    assert lcd.cells_written - cells < 40
    lcd.backlight = False
    lcd.wait_idle()
    assert not module.backlight and not any(c.backlight for c in module.controllers)
    lcd.show(WIDE)                        # the dark backlight bit stays with both controllers
    lcd.wait_idle()
    assert not any(c.backlight for c in module.controllers)


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


def test_a_cyrillic_name_on_an_a00_board_shows_stand_ins_on_the_glass_and_the_console(tmp_path):
    """The whole phone on the sim board (A00 ROM): an offer with a Cyrillic name and queue is
    shown, '?' for each letter the ROM lacks, on the emulated glass and in the console's lcd."""
    from firmware.console.commands import Commands
    from firmware.console.protocol import parse
    from firmware.core import events as ev
    from tools.bench.inproc import InProcessPhone

    from .test_agent_rules import NOW, contact, snapshot

    p = InProcessPhone(tmp_path)
    try:
        offer = contact("c1", "offered", queue="Продажи", offered_at=NOW,
                        variables=(("account", "Иван Петров"),))
        for event in (snapshot(), ev.CcContact(offer)):
            p.phone.post(event)
        p.settle()
        glass = p.sim.panel.text()
        assert glass[1] == "+15551234567 ???????" and glass[2] == "Account: ???? ??????".ljust(20)
        reply = p.call(Commands(p.phone)(parse(b"lcd")))
        assert reply.splitlines()[1:3] == ["lcd:1:+15551234567 ???????",
                                           "lcd:2:" + "Account: ???? ??????".ljust(20)]
        assert reply.endswith("\nlcd.")
    finally:
        p.close()
