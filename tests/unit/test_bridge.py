"""The media bridge's pure parts: the mix-minus (frames in -> frames out), the hold tune, and
its command lines (a bad one is an error event naming the problem, never a crash, and never
echoes a header's value)."""
import asyncio
import json

import numpy as np
import pytest

from tools.ccsim.bridge import (FRAME, ROOM_MAX, Bridge, Leg, handle_line, hold_tune, mix_minus,
                                parse)
from tools.ccsim.customers import tones


def tone(hz: float, level: float = 0.2, n: int = FRAME) -> np.ndarray:
    return (level * 32767 * np.sin(2 * np.pi * hz * np.arange(n) / 8000)).astype(np.int16)


def test_each_leg_hears_the_sum_of_the_others_and_never_itself():
    said = np.array([[100] * FRAME, [20] * FRAME, [3] * FRAME], np.int16)
    heard = mix_minus(said)
    assert heard.dtype == np.int16 and heard.shape == said.shape
    assert heard[:, 0].tolist() == [23, 103, 120]


def test_two_legs_swap_and_one_alone_hears_silence():
    a, b = tone(784), tone(1175)
    heard = mix_minus(np.stack([a, b]))
    assert (heard[0] == b).all() and (heard[1] == a).all()
    assert not mix_minus(np.stack([a])).any()


def test_in_a_full_room_each_leg_hears_the_seven_others_tones_not_its_own():
    hz = [523, 659, 784, 880, 1175, 1319, 1568, 1760]
    said = np.stack([tone(f, level=0.05, n=4000) for f in hz])     # 0.5 s, no clipping
    heard = mix_minus(said)
    for i, own in enumerate(hz):
        got = tones(heard[i].tobytes(), 8000)
        assert len(got) == 7 and all(abs(g - f) <= 3 for g, f in zip(got, hz[:i] + hz[i + 1:]))
        assert all(abs(g - own) > 50 for g in got)


def test_loud_sums_clip_instead_of_wrapping_around():
    loud = np.full((3, FRAME), 30000, np.int16)
    assert (mix_minus(loud) == 32767).all()
    assert (mix_minus(-loud) == -32768).all()


def test_the_hold_tune_loops_its_notes_without_a_click():
    tune = hold_tune()
    assert len(tune) == 16000 and len(tune) % FRAME == 0
    assert tones(tune[:4000].tobytes(), 8000) == [392]
    steps = np.abs(np.diff(tune.astype(np.int32)))       # whole cycles: the loop joins as
    assert abs(int(tune[-1]) - int(tune[0])) <= steps.max()   # smoothly as any two samples


@pytest.mark.parametrize("line, says", [
    ("not json", "not JSON"),
    ("[1, 2]", "expected an object with op"),
    ('{"op": "explode"}', "expected an object with op"),
    ('{"op": "dial", "to": "1001"}', "leg must be"),
    ('{"op": "dial", "leg": "a b", "to": "1001"}', "leg must be"),
    ('{"op": "dial", "leg": "' + "x" * 65 + '", "to": "1001"}', "leg must be"),
    ('{"op": "dial", "leg": "L1"}', "to must be a number or a sip: URI"),
    ('{"op": "dial", "leg": "L1", "to": "sip:1001@x>evil"}', "not a SIP URI"),
    ('{"op": "dial", "leg": "L1", "to": "' + "1" * 65 + '"}', "number too long"),
    ('{"op": "dial", "leg": "L1", "to": "1001", "ring_s": true}', "ring_s must be"),
    ('{"op": "dial", "leg": "L1", "to": "1001", "ring_s": -1}', "ring_s must be"),
    ('{"op": "dial", "leg": "L1", "to": "1001", "headers": []}', "headers must be an object"),
    ('{"op": "dial", "leg": "L1", "to": "1001", "headers": {"X Y": "1"}}', "not a SIP header"),
    ('{"op": "join", "leg": "L1"}', "room must be"),
    ('{"op": "hold_music", "leg": "L1", "on": "yes"}', "on must be true or false"),
    ('{"op": "hangup"}', "leg must be"),
    ('{"op": "record", "room": "c-1"}', "file must be an absolute .wav path"),
    ('{"op": "record", "room": "c-1", "file": "rel/c-1.wav"}', "absolute .wav"),
    ('{"op": "record", "room": "c-1", "file": "/nowhere/at/all/c-1.wav"}', "directory that exi"),
    ('{"op": "record", "room": "c-1", "file": "/tmp/c-1.mp3"}', "absolute .wav"),
    ('{"op": "record_pause", "room": "c-1"}', "paused must be true or false"),
    ('{"op": "record_stop"}', "room must be"),
])
def test_bad_command_lines_are_refused_with_the_reason(line, says):
    with pytest.raises(ValueError, match=says):
        parse(line)


def test_a_header_value_is_never_quoted_back():
    for value in ("abc\r\nX-Evil: 1", "s" * 1025):
        with pytest.raises(ValueError) as refused:
            parse(json.dumps({"op": "dial", "leg": "L1", "to": "1001",
                              "headers": {"X-CC-Token": value}}))
        assert "X-CC-Token" in str(refused.value) and value not in str(refused.value)
        assert "abc" not in str(refused.value)


def test_good_lines_pass():
    assert parse('{"op": "dial", "leg": "L1", "to": "sip:1001@127.0.0.1:5062", '
                 '"headers": {"X-CC-Contact-Id": "c-1"}, "ring_s": 30}')["leg"] == "L1"
    for line in ('{"op": "join", "room": "R1", "leg": "L1"}', '{"op": "legs"}',
                 '{"op": "hold_music", "leg": "in-1", "on": false}', '{"op": "quit"}'):
        assert parse(line)


def run_lines(bridge, lines):
    async def go():
        return [await handle_line(bridge, line) for line in lines]
    return asyncio.run(go())


def events(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_bad_lines_and_unknown_legs_give_error_events_and_the_bridge_goes_on(capsys):
    bridge = Bridge("127.0.0.1:5062", "secret", "127.0.0.1:5094")      # not started: no SIP
    lines = ["garbage", '{"op": "dial", "leg": "L1", "to": "x y"}', "\x00\xff",
             '{"op": "answer", "leg": "L9"}', '{"op": "join", "room": "R", "leg": "L9"}',
             '{"op": "hangup", "leg": "L9"}', "", '{"op": "legs"}']
    assert run_lines(bridge, lines) == [True] * len(lines)
    said = events(capsys)
    assert [e["event"] for e in said] == ["error"] * 6 + ["legs"]
    assert said[1]["leg"] == "L1" and "cannot dial" in said[1]["reason"]
    assert said[3] == {"event": "error", "leg": "L9", "reason": "no such leg"}
    assert said[-1] == {"event": "legs", "legs": [], "rooms": {}, "recordings": {}}
    assert run_lines(bridge, ['{"op": "quit"}']) == [False]


def test_a_ninth_leg_is_refused_from_a_full_room(capsys):
    bridge = Bridge("127.0.0.1:5062", "secret", "127.0.0.1:5094")
    for i in range(ROOM_MAX + 1):
        bridge.legs[f"L{i}"] = Leg(f"L{i}", "out", "5550100", state="answered")
    run_lines(bridge, [json.dumps({"op": "join", "room": "R", "leg": f"L{i}"})
                       for i in range(ROOM_MAX + 1)])
    said = events(capsys)
    assert [e["event"] for e in said] == ["joined"] * ROOM_MAX + ["error"]
    assert said[-1] == {"event": "error", "leg": f"L{ROOM_MAX}", "room": "R",
                        "reason": f"room R is full ({ROOM_MAX} legs)"}
    assert len(bridge.rooms["R"]) == ROOM_MAX and bridge.legs[f"L{ROOM_MAX}"].room is None
    run_lines(bridge, ['{"op": "leave", "leg": "L0"}', '{"op": "leave", "leg": "L0"}',
                       '{"op": "join", "room": "R", "leg": "L8"}'])
    assert [e["event"] for e in events(capsys)] == ["left", "error", "joined"]


def test_a_room_s_recording_is_the_mix_of_all_its_legs_and_silence_while_paused(tmp_path, capsys):
    """What the room says, summed (the customer's 450 Hz and the agent's 1 kHz), one frame a
    tick; paused, silence keeps the file's timeline; the WAV reads back at every step (its
    header is patched after each write: a killed bridge leaves a readable file)."""
    import wave

    bridge = Bridge("127.0.0.1:5062", "secret", "127.0.0.1:5094")
    for name in ("in-1", "c-1.a1"):
        bridge.legs[name] = Leg(name, "in", "x", state="answered")
    file = tmp_path / "c-1.wav"
    run_lines(bridge, ['{"op": "join", "room": "c-1", "leg": "in-1"}',
                       '{"op": "join", "room": "c-1", "leg": "c-1.a1"}',
                       json.dumps({"op": "record", "room": "c-1", "file": str(file)})])

    def ticks(n):
        for _ in range(n):
            bridge.legs["in-1"].said = tone(450)
            bridge.legs["c-1.a1"].said = tone(1000)
            bridge.record_rooms()

    ticks(25)
    run_lines(bridge, ['{"op": "record_pause", "room": "c-1", "paused": true}'])
    ticks(25)
    run_lines(bridge, ['{"op": "record_pause", "room": "c-1", "paused": false}'])
    ticks(25)
    with wave.open(str(file)) as w:                     # readable while still recording
        assert (w.getframerate(), w.getnchannels(), w.getnframes()) == (8000, 1, 75 * FRAME)
    run_lines(bridge, ['{"op": "record_stop", "room": "c-1"}', '{"op": "legs"}'])
    said = [e for e in events(capsys) if e["event"] in ("recording", "legs")]
    assert [(e["state"], e["at_s"]) for e in said[:-1]] == [
        ("on", 0.0), ("paused", 0.5), ("on", 1.0), ("stopped", 1.5)]
    assert said[-1]["recordings"] == {}
    with wave.open(str(file)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    half = FRAME * 25
    for part in (pcm[:half], pcm[2 * half:]):
        got = tones(part.tobytes(), 8000)
        assert any(abs(g - 450) <= 5 for g in got) and any(abs(g - 1000) <= 5 for g in got)
    assert not pcm[half:2 * half].any()


def test_recording_a_room_twice_goes_on_and_an_unknown_one_is_an_error(tmp_path, capsys):
    bridge = Bridge("127.0.0.1:5062", "secret", "127.0.0.1:5094")
    line = json.dumps({"op": "record", "room": "c-1", "file": str(tmp_path / "c-1.wav")})
    run_lines(bridge, [line, line, '{"op": "record_pause", "room": "c-9", "paused": true}'])
    said = events(capsys)
    assert [e["event"] for e in said] == ["recording", "error"]
    assert said[-1]["reason"] == "record_pause: room c-9 is not recorded"
    for rec in bridge.recordings.values():
        rec.close()
