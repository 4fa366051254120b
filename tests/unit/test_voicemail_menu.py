"""The voicemail box's menu (tools/voicemail.py ``Menu``) without a call: what each key does
from each place (1 play again, 4 back 5 s, 6 next, 7 delete, 9 record a greeting until #),
newest first, a message heard once played to its end; and ``Session``, what a call plays:
pieces in order, silence when none, the last one replayed from 5 s before where it got."""
import asyncio

from tools.voicemail import BACK_S, BYTES_PER_S, Menu, Session

STOP = ("stop", None)


def box(*ids: str, heard: tuple[str, ...] = ()) -> Menu:
    return Menu([{"id": i, "heard": i in heard, "file": f"/vm/{i}.raw"} for i in ids])


def test_it_opens_with_a_pip_per_new_message_then_the_newest():
    assert box("vm-3", "vm-2", "vm-1", heard=("vm-2",)).start() == [
        ("prompt", ("new", 2)), ("play", "vm-3")]
    assert box("vm-1", heard=("vm-1",)).start() == [("play", "vm-1")]
    assert box().start() == [("prompt", "empty")]
    assert box(*(f"vm-{n}" for n in range(20))).start()[0] == ("prompt", ("new", 9))


def test_six_goes_to_the_next_and_past_the_last_says_so_and_one_starts_again():
    m = box("vm-2", "vm-1")
    m.start()
    assert m.key("6") == [STOP, ("play", "vm-1")]
    assert m.key("6") == [STOP, ("prompt", "end")]
    assert m.key("6") == [STOP, ("prompt", "end")]       # stays past the end
    assert m.key("4") == []                               # nothing to go back in
    assert m.key("1") == [STOP, ("play", "vm-2")]         # from the first again
    assert m.key("1") == [STOP, ("play", "vm-2")]         # play again


def test_a_message_played_to_its_end_is_heard_once():
    m = box("vm-2", "vm-1", heard=("vm-1",))
    assert m.played("vm-2") == [("heard", "vm-2")]
    assert m.played("vm-2") == []
    assert m.played("vm-1") == []                         # heard before


def test_seven_deletes_and_the_next_one_plays():
    m = box("vm-3", "vm-2", "vm-1")
    m.start()
    m.key("6")
    assert m.key("7") == [STOP, ("delete", "vm-2"), ("prompt", "deleted"), ("play", "vm-1")]
    assert m.key("7") == [STOP, ("delete", "vm-1"), ("prompt", "deleted"), ("prompt", "end")]
    assert m.key("7") == []
    assert m.key("1") == [STOP, ("play", "vm-3")]
    assert m.key("7") == [STOP, ("delete", "vm-3"), ("prompt", "deleted"), ("prompt", "empty")]


def test_four_goes_back_and_nine_records_a_greeting_until_hash():
    m = box("vm-1")
    m.start()
    assert m.key("4") == [("back", BACK_S)]
    assert m.key("9") == [STOP, ("record_greeting", None)]
    assert m.key("6") == m.key("7") == m.key("1") == []  # recording: only # counts
    assert m.key("#") == [("save_greeting", None), ("prompt", "saved")]
    assert m.key("#") == [] and m.key("5") == []
    assert box().key("9") == [STOP, ("record_greeting", None)]    # an empty box too


class FakeCall:
    pass


def session() -> Session:
    async def make():
        return Session(FakeCall(), "1001")
    return asyncio.run(make())


def test_a_session_plays_pieces_in_order_then_silence_and_says_when_each_is_out():
    s = session()
    done = []
    s.play(b"\x01" * 6, done=lambda: done.append("a"))
    s.play(b"\x02" * 4, done=lambda: done.append("b"))
    assert s.frame(4) == b"\x01" * 4 and done == []
    assert s.frame(4) == b"\x01\x01\x02\x02" and done == ["a"]
    assert s.frame(4) == b"\x02\x02\x00\x00" and done == ["a", "b"]
    assert s.frame(4) == bytes(4) and done == ["a", "b"]  # told once


def test_back_replays_from_five_seconds_before_even_a_finished_message():
    s = session()
    done = []
    message = bytes(range(256)) * (8 * BYTES_PER_S // 256)        # 8 s
    s.play(message, done=lambda: done.append(1))
    s.frame(7 * BYTES_PER_S)
    s.back(BACK_S)
    assert s.frame(2) == message[2 * BYTES_PER_S:2 * BYTES_PER_S + 2]
    s.frame(len(message))
    assert done == [1]
    s.back(BACK_S)                                        # its end, then back
    assert s.frame(2) == message[3 * BYTES_PER_S:3 * BYTES_PER_S + 2]
    s.frame(len(message))
    assert done == [1, 1]
    s.stop()
    s.back(BACK_S)
    assert s.frame(4) == bytes(4)


def test_what_is_heard_is_kept_only_while_recording_and_up_to_its_limit():
    s = session()
    s.heard(b"\x01\x01")
    assert s.recording is None
    s.recording = bytearray()
    s.record_max = 6
    s.heard(b"\x01" * 4)
    s.heard(b"\x02" * 4)
    assert bytes(s.recording) == b"\x01" * 4 + b"\x02" * 2
