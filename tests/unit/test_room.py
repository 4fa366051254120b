"""The sim board's room (hal/sim/room.py): a board file describes it, bad values are refused
with the field named, and the model makes what it says: an echo at the path's gain and
delay through a clipping speaker, and a floor at its level."""
from pathlib import Path

import numpy as np
import pytest

from hal.board import load_board
from hal.sim.room import EchoPath, Noise, Room, RoomError, RoomSpec

RATE = 8000


def spec_of(board: str = "sim-room") -> RoomSpec:
    b = load_board(board)
    return RoomSpec.from_board(dict(b.sim["room"]), b.dir)


def test_the_sim_room_board_describes_its_room():
    room = spec_of()
    speaker = next(p for p in room.paths if p.route == "speaker")
    assert (speaker.mic, speaker.gain_db, speaker.delay_ms) == ("mic", -6.0, 10.0)
    assert room.noise == "floor" and room.noise_dbfs == -45.0


@pytest.mark.parametrize("data, problem", [
    ({"speaker": {"gain_db": 40}}, r"\[sim.room.speaker\] gain_db: must be a number"),
    ({"ringer": {}}, r"\[sim.room.ringer\]: not a route that plays"),
    ({"speaker": {"mic": "ear"}}, r"mic: must be mic or headset_mic"),
    ({"noise": "babble.raw"}, r"neither one of none, white, pink, floor nor a file"),
    ({"drift_ppm": "fast"}, r"drift_ppm: must be a number"),
])
def test_a_bad_room_says_what_is_wrong(data, problem):
    with pytest.raises(RoomError, match=problem):
        RoomSpec.from_board(data, Path("/nonexistent"))


def test_the_echo_comes_at_its_delay_and_gain():
    path = EchoPath("speaker", gain_db=-6, delay_ms=10, rt60_ms=50, length_ms=60, drive=0)
    room = Room(RoomSpec(paths=(path,)), RATE)
    click = np.zeros(room.period, "<i2")
    click[0] = 16000
    heard = np.concatenate([np.frombuffer(room.hear("mic", b"", {"speaker": click.tobytes()
                                                                 if k == 0 else b""}), "<i2")
                            for k in range(4)]).astype(float)
    assert int(np.argmax(np.abs(heard))) == 80                     # 10 ms at 8 kHz
    energy = 10 * np.log10(np.sum(heard ** 2) / 16000 ** 2)
    assert abs(energy + 6) < 0.5


def test_the_small_speaker_clips_softly():
    path = EchoPath("speaker", drive=1.5)
    loud = path.speaker(np.array([0.9]))[0]
    assert loud < 0.9 * 0.75 and path.speaker(np.array([0.01]))[0] == pytest.approx(0.01, 1e-3)


@pytest.mark.parametrize("kind", ["white", "pink", "floor"])
def test_the_floor_is_at_its_level(kind):
    noise = Noise(kind, -45, RATE)
    x = np.concatenate([noise.period(160) for _ in range(500)])
    assert abs(20 * np.log10(np.sqrt(np.mean(x ** 2))) + 45) < 2.5
