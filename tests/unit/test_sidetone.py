"""Sidetone (hal/sidetone.py, the board's [audio.sidetone], firmware/core/calls.py
sidetone_route): the agent's own voice at the ear of the handset or headset while they talk
on a call, set in the codec once per change, never on the speaker."""
import json

import pytest

from hal.audio import AudioDevices
from hal.board import BoardError, load_board
from hal.sidetone import SimSidetone, read_sim_state

from .test_limiter import board_file


def test_the_ear_routes_get_minus_18_db_unless_the_board_says(tmp_path):
    spec = load_board(str(board_file(tmp_path, "")))
    assert spec.audio_sidetone_db == {"handset": -18.0, "headset": -18.0}
    assert spec.audio_sidetone_control == ("default", "Sidetone")
    spec = load_board(str(board_file(
        tmp_path, '[audio.sidetone]\nheadset = -24\ndevice = "hw:1"\ncontrol = "Mic"')))
    assert spec.audio_sidetone_db == {"handset": -18.0, "headset": -24.0}
    assert spec.audio_sidetone_control == ("hw:1", "Mic")
    assert load_board("rpi4").audio_sidetone_control == ("default", "Sidetone")


@pytest.mark.parametrize("extra,problem", [
    ("[audio.sidetone]\nspeaker = -18", "audio.sidetone.speaker: sidetone is at the ear"),
    ("[audio.sidetone]\nhandset = 0", "audio.sidetone.handset: must be -40 to -6 dB, got 0"),
    ('[audio.sidetone]\nhandset = "soft"', "audio.sidetone.handset: expected a number"),
])
def test_a_bad_sidetone_is_named(tmp_path, extra, problem):
    with pytest.raises(BoardError, match=problem):
        load_board(str(board_file(tmp_path, "[audio.limit_dbfs]\n" + extra)))


class Codec:
    def __init__(self):
        self.set_to: list = []

    def set(self, route, db):
        self.set_to.append((route, db))


def test_the_codec_is_set_once_per_change_and_never_for_the_speaker():
    codec = Codec()
    audio = AudioDevices({}, 8000, sidetone_db={"handset": -18.0, "headset": -24.0},
                         sidetone_codec=codec)
    for route in (None, "handset", "handset", "headset", "speaker", "speaker", None, "handset"):
        audio.sidetone(route)
    assert codec.set_to == [(None, None), ("handset", -18.0), ("headset", -24.0),
                            (None, None), ("handset", -18.0)]


def test_the_sim_codec_keeps_its_setting_where_the_room_reads_it(tmp_path):
    sim = SimSidetone(tmp_path)
    sim.set("handset", -18.0)
    assert read_sim_state(tmp_path) == ("handset", -18.0)
    sim.set(None, None)
    assert json.loads((tmp_path / "sidetone.json").read_text()) == {"route": None, "db": None}
    assert read_sim_state(tmp_path / "nowhere") == (None, None)
