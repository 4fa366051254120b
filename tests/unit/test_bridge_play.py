"""The media bridge's "play" op (a leg hears a raw file, then "played", then maybe a hang-up)
and its answering-machine detection on a dialed leg ("amd"), at test_bridge.py's level: the
command lines, and the ticks with the legs' reads and writes stubbed (no SIP)."""
import asyncio
import json

import numpy as np
import pytest

from tools.ccsim.bridge import FRAME, RATE, Bridge, Leg, handle_line, hold_tune, parse
from tools.ccsim.customers import hearing, syllables, tones


def events(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.fixture
def message(tmp_path):
    path = tmp_path / "message.raw"
    syllables(RATE, 700, 0.5).astype("<i2").tofile(path)        # 25 ticks
    return path


@pytest.mark.parametrize("line, says", [
    ('{"op": "play", "leg": "L1"}', "file must be an absolute path"),
    ('{"op": "play", "leg": "L1", "file": "rel/m.raw"}', "file must be an absolute path"),
    ('{"op": "play", "leg": "L1", "file": "/nowhere/m.raw"}', "not a file that can be read"),
    ('{"op": "play", "file": "/tmp"}', "leg must be"),
    ('{"op": "dial", "leg": "L1", "to": "1001", "amd": "yes"}', "amd must be true or false"),
    ('{"op": "dial", "leg": "L1", "to": "1001", "amd": true, "amd_speech_s": 9}',
     "amd_speech_s must be"),
])
def test_bad_play_and_amd_lines_are_refused_with_the_reason(line, says):
    with pytest.raises(ValueError, match=says):
        parse(line)


def test_a_play_file_is_whole_samples_of_at_most_a_minute_and_then_is_hangup_rejoin_or_nothing(
        tmp_path, message):
    for size in (0, 3, 60 * RATE * 2 + 2):
        bad = tmp_path / f"{size}.raw"
        bad.write_bytes(bytes(size))
        with pytest.raises(ValueError, match=f"is {size} bytes: whole S16 samples, at most 60"):
            parse(json.dumps({"op": "play", "leg": "L1", "file": str(bad)}))
    with pytest.raises(ValueError, match='then must be "hangup", "rejoin" or ""'):
        parse(json.dumps({"op": "play", "leg": "L1", "file": str(message), "then": "bye"}))
    for then in ("hangup", "rejoin", ""):
        assert parse(json.dumps({"op": "play", "leg": "L1", "file": str(message),
                                 "then": then}))["then"] == then
    assert parse('{"op": "dial", "leg": "L1", "to": "1001", "amd": true}')["amd"] is True


class Stubbed(Bridge):
    """No SIP: each leg "says" what ``says`` holds for it, and what it is sent is kept."""

    def __init__(self):
        super().__init__("127.0.0.1:5062", "secret", "127.0.0.1:5094")
        self.says: dict[str, list[np.ndarray]] = {}
        self.sent: dict[str, list[np.ndarray]] = {}
        self.hung_up: list[tuple[str, str]] = []

    def _read(self, leg):
        frames = self.says.get(leg.leg)
        return frames.pop(0) if frames else None

    def _write(self, leg, out):
        self.sent.setdefault(leg.leg, []).append(np.array(out))

    async def hangup(self, leg, reason):
        self.hung_up.append((leg.leg, reason))

    def advance(self, n):
        async def go():
            for _ in range(n):
                self.tick([leg for leg in self.legs.values() if leg.state == "answered"])
            await asyncio.sleep(0)                      # the spawned hang-ups run
        asyncio.run(go())

    def run(self, *lines):
        async def go():
            return [await handle_line(self, line) for line in lines]
        return asyncio.run(go())


def test_a_leg_hears_the_file_out_of_its_room_then_played_and_hung_up(message, capsys):
    bridge = Stubbed()
    for name in ("c-1.c", "c-1.a1"):
        bridge.legs[name] = Leg(name, "out", "x", state="answered")
    bridge.run('{"op": "join", "room": "c-1", "leg": "c-1.c"}',
               '{"op": "join", "room": "c-1", "leg": "c-1.a1"}',
               '{"op": "hold_music", "leg": "c-1.c", "on": true}',
               json.dumps({"op": "play", "leg": "c-1.c", "file": str(message),
                           "then": "hangup"}), '{"op": "legs"}')
    said = events(capsys)
    assert [e["event"] for e in said] == ["joined", "joined", "hold_music", "left",
                                          "hold_music", "legs"]
    assert said[4] == {"event": "hold_music", "leg": "c-1.c", "on": False}
    listed = {leg["leg"]: leg for leg in said[-1]["legs"]}
    assert listed["c-1.c"]["playing"] == str(message) and "playing" not in listed["c-1.a1"]
    bridge.advance(24)
    assert events(capsys) == [] and bridge.hung_up == []
    bridge.advance(1)
    assert events(capsys) == [{"event": "played", "leg": "c-1.c", "file": str(message),
                               "stopped": False}]
    assert bridge.hung_up == [("c-1.c", "message played")]
    heard = np.concatenate(bridge.sent["c-1.c"])
    assert (heard == np.fromfile(message, "<i2")).all()      # the file as it is
    assert abs(hearing(heard.tobytes(), RATE)[1] - 700) <= 5
    assert all(abs(t - 700) <= 10 for t in tones(heard.tobytes(), RATE))
    assert not np.concatenate(bridge.sent["c-1.a1"]).any()   # alone in its room now
    bridge.advance(5)                                           # (until the hang-up ends it)
    assert not np.concatenate(bridge.sent["c-1.c"][25:]).any()


def test_without_hangup_the_leg_goes_back_to_silence_and_a_join_stops_a_play(message, capsys):
    bridge = Stubbed()
    bridge.legs["L1"] = Leg("L1", "out", "x", state="answered")
    bridge.legs["L2"] = Leg("L2", "out", "x", state="answered")
    line = json.dumps({"op": "play", "leg": "L1", "file": str(message)})
    bridge.run(line)
    bridge.advance(30)
    assert [e["event"] for e in events(capsys)] == ["played"] and bridge.hung_up == []
    assert not np.concatenate(bridge.sent["L1"][25:]).any()
    bridge.run(line, '{"op": "hold_music", "leg": "L1", "on": true}')
    bridge.advance(5)
    bridge.run('{"op": "join", "room": "R", "leg": "L1"}')
    said = events(capsys)
    assert [e["event"] for e in said] == ["hold_music", "played", "joined"]
    assert said[1]["stopped"] is True
    bridge.advance(1)
    assert not bridge.sent["L1"][-1].any()                   # the room: L1 alone in it
    bridge.run('{"op": "leave", "leg": "L1"}')
    bridge.advance(1)
    assert (bridge.sent["L1"][-1] == hold_tune()[:FRAME]).all()   # back to its music


def test_play_needs_an_answered_leg_and_an_unknown_one_is_an_error(message, capsys):
    bridge = Stubbed()
    bridge.legs["L1"] = Leg("L1", "out", "x", state="ringing")
    bridge.run(json.dumps({"op": "play", "leg": "L1", "file": str(message)}),
               json.dumps({"op": "play", "leg": "L9", "file": str(message)}))
    assert events(capsys) == [
        {"event": "error", "leg": "L1", "reason": "play: the leg is not answered"},
        {"event": "error", "leg": "L9", "reason": "no such leg"}]


def test_a_leg_dialed_with_amd_is_told_machine_once(capsys):
    bridge = Stubbed()
    bridge.legs["c-1.c"] = leg = Leg("c-1.c", "out", "5550155", state="answered")
    from tools.ccsim.bridge import MachineDetector
    leg.amd = MachineDetector()
    greeting = syllables(RATE, 523, 3.5).astype(np.int16)
    bridge.says["c-1.c"] = [greeting[i:i + FRAME] for i in range(0, len(greeting), FRAME)]
    bridge.advance(200)
    said = [e for e in events(capsys) if e["event"] == "amd"]
    assert len(said) == 1 and said[0]["result"] == "machine" and said[0]["speech_s"] > 2.5
    assert leg.amd is None
