"""Acoustic shock protection (firmware/audio/limiter.py and the board's [audio.limit_dbfs]):
a burst never reaches the ear above the ceiling, and the voice around it is left alone."""
from array import array

import numpy as np
import pytest

from firmware.audio.limiter import Limiter, ceiling_of
from hal.board import BoardError, load_board
from tests.audio import RATE, tone

PERIOD = RATE // 50 * 2                       # bytes in 20 ms


def periods(pcm: bytes):
    return [pcm[i:i + PERIOD] for i in range(0, len(pcm), PERIOD)]


def peak(pcm: bytes) -> int:
    return int(np.max(np.abs(np.frombuffer(pcm, "<i2").astype(np.int32))))


def test_a_burst_at_full_scale_is_held_under_the_ceiling_from_its_first_sample():
    limiter = Limiter(-6.0, RATE)
    voice, burst = tone(440, 1.0, 0.3), tone(2100, 0.5, 1.0)       # a fax tone, at full scale
    out = [limiter.process(p) for p in periods(voice + burst + voice + voice)]
    played = b"".join(out)
    assert peak(played) <= ceiling_of(-6.0) == 16422
    # the burst is still heard, turned down to the ceiling, not cut off
    burst_out = played[len(voice):len(voice) + len(burst)]
    assert peak(burst_out) > 0.95 * 16422
    assert played[:len(voice)] == voice                             # the voice before: as is
    assert played[-len(voice):] == voice        # the gain is back a second after the burst
    assert limiter.limited_blocks > 0


def test_audio_under_the_ceiling_passes_untouched():
    limiter = Limiter(-6.0, RATE)
    voice = tone(440, 1.0, 0.45)                                    # -7 dBFS peaks
    assert [limiter.process(p) for p in periods(voice)] == periods(voice)
    assert limiter.limited_blocks == 0


def test_no_sample_gets_over_whatever_arrives():
    rng = np.random.default_rng(7)
    limiter = Limiter(-12.0, RATE)
    noise = rng.integers(-32768, 32767, RATE * 2, dtype=np.int16).astype("<i2").tobytes()
    assert max(peak(limiter.process(p)) for p in periods(noise)) <= ceiling_of(-12.0)


def test_the_release_does_not_jump_back_to_full_gain():
    """After a burst the gain rises 20 dB a second: 100 ms later it is still ~2 dB down."""
    limiter = Limiter(-6.0, RATE)
    for p in periods(tone(1000, 0.1, 1.0)):
        limiter.process(p)
    for p in periods(tone(440, 0.1, 0.2)):
        limiter.process(p)
    assert 0.45 < limiter.gain < 0.65


def board_file(tmp_path, section: str):
    """The sim board with ``section`` for its [audio.limit_dbfs]."""
    src = (load_board("sim").path).read_text()
    start, end = src.index("[audio.limit_dbfs]"), src.index("[audio.pcm]")
    p = tmp_path / "board.toml"
    p.write_text(src[:start] + section + "\n" + src[end:])
    return p


def test_the_ear_routes_are_limited_at_minus_6_dbfs_unless_the_board_says(tmp_path):
    assert load_board(str(board_file(tmp_path, ""))).audio_limit_dbfs == {
        "handset": -6.0, "headset": -6.0}
    assert load_board("rpi4").audio_limit_dbfs == {"handset": -6.0, "headset": -6.0}


def test_a_board_sets_its_own_ceiling(tmp_path):
    spec = load_board(str(board_file(tmp_path, "[audio.limit_dbfs]\nheadset = -10")))
    assert spec.audio_limit_dbfs == {"handset": -6.0, "headset": -10.0}


@pytest.mark.parametrize("extra,problem", [
    ("[audio.limit_dbfs]\nspeaker = -6", "audio.limit_dbfs.speaker: only the routes at the ear"),
    ("[audio.limit_dbfs]\nhandset = 3", "audio.limit_dbfs.handset: must be -40 to 0 dBFS, got 3"),
    ('[audio.limit_dbfs]\nhandset = "loud"', "audio.limit_dbfs.handset: expected a number"),
])
def test_a_bad_ceiling_is_named(tmp_path, extra, problem):
    with pytest.raises(BoardError, match=problem):
        load_board(str(board_file(tmp_path, extra)))


def test_samples_stay_little_endian_bytes():
    limiter = Limiter(-6.0, RATE)
    out = limiter.process(array("h", [32000] * 160).tobytes())
    assert max(array("h", out)) <= 16422
