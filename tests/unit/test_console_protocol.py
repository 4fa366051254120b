"""Console framing and parsing, fed raw bytes."""
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.console.protocol import MAX_LINE, Bad, Command, LineFramer, SmpLine


def feed(*chunks):
    f = LineFramer()
    out = []
    for c in chunks:
        out += f.feed(c)
    return out


def test_commands_split_across_reads():
    assert feed(b"sta", b"tus\nkey ", b"5\r\n") == [Command("status", ()), Command("key", ("5",))]


def test_blank_lines_are_ignored():
    assert feed(b"\n\r\n   \n") == []


def test_over_long_line_gets_one_error_and_the_next_line_works():
    out = feed(b"x" * 700, b"x" * 700, b"y" * 5000, b"\nstatus\n")
    assert out == [Bad(f"line too long (over {MAX_LINE} bytes)"), Command("status", ())]


def test_long_line_in_one_read():
    assert feed(b"k" * (MAX_LINE + 1) + b"\nleds\n") == [
        Bad(f"line too long (over {MAX_LINE} bytes)"), Command("leds", ())]


def test_binary_and_control_characters_are_errors():
    assert feed(b"\xff\xfe\x00\n") == [Bad("binary data (not a text command)")]
    assert feed(b"key \x1b[A\n") == [Bad("control characters in command")]


def test_smp_frames_are_passed_on_whole():
    assert feed(b"\x06\x09AAEC\n\x04\x14BBB\n") == [SmpLine(b"\x06\x09AAEC"),
                                                  SmpLine(b"\x04\x14BBB")]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=1500), max_size=8))
def test_any_bytes_never_raise_and_give_known_items(chunks):
    for item in feed(*chunks):
        assert isinstance(item, (Command, Bad, SmpLine))
