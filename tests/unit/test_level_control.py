"""Automatic level control on the agent's voice (firmware/audio/level.py): a quiet agent and a
loud one reach the customer at similar levels, a voice at a good level is sent as spoken, and
pauses never raise the room's noise."""
import numpy as np

from firmware.audio.level import HIGH_DBFS, LOW_DBFS, LevelControl
from tests.audio import RATE, voice

PERIOD = RATE // 50 * 2


def rms_dbfs(pcm: bytes) -> float:
    """The level while it sounds (a voice's pauses aside)."""
    x = np.frombuffer(pcm, "<i2").astype(np.float64)
    x = x[x != 0] if np.any(x) else x
    return 20 * np.log10(max(np.sqrt(np.mean(x * x)), 1e-3) / 32768)


def speak(control: LevelControl, pcm: bytes) -> bytes:
    return b"".join(control.process(pcm[i:i + PERIOD]) for i in range(0, len(pcm), PERIOD))


def settled(level: float, seconds: float = 5.0) -> float:
    """The level sent over the last second, after ``seconds`` of a voice at ``level``."""
    control = LevelControl()
    out = speak(control, voice(300, seconds, level))
    return rms_dbfs(out[-RATE * 2:])


def test_a_quiet_agent_and_a_loud_one_end_up_close():
    quiet, loud = voice(300, 1, 0.02), voice(300, 1, 0.9)           # -37 and -4 dBFS: 33 dB
    assert rms_dbfs(loud) - rms_dbfs(quiet) > 32
    sent_quiet, sent_loud = settled(0.02), settled(0.9)
    assert sent_quiet >= LOW_DBFS - 0.5 and sent_loud <= HIGH_DBFS + 0.5
    assert sent_loud - sent_quiet <= HIGH_DBFS - LOW_DBFS + 1      # 11 dB at most


def test_a_voice_at_a_good_level_is_sent_as_spoken():
    control = LevelControl()
    said = voice(300, 3, 0.2)                                       # -17 dBFS: in the band
    assert speak(control, said) == said and control.gain_db == 0.0


def test_the_gain_moves_slowly_so_syllables_do_not_pump():
    control = LevelControl()
    # two seconds of a quiet voice; the first syllable, before its first pause, tells the
    # control nothing (a steady hum sounds the same), the three after it raise the gain
    speak(control, voice(300, 2, 0.01))
    assert 6.0 <= control.gain_db <= 7.5                            # 6 dB a second at most


def test_pauses_hold_the_gain_and_do_not_raise_the_noise():
    control = LevelControl()
    speak(control, voice(300, 2, 0.01))
    gain = control.gain_db
    hiss = (np.random.default_rng(1).normal(0, 30, RATE * 2)).astype("<i2").tobytes()  # -61
    speak(control, hiss)
    assert control.gain_db == gain


def test_a_rooms_steady_noise_is_not_taken_for_a_quiet_voice():
    """A busy floor's hum at -45 dBFS, louder than the speech threshold: never raised."""
    control = LevelControl()
    hum = (np.random.default_rng(2).normal(0, 184, RATE * 5)).astype("<i2").tobytes()
    assert abs(rms_dbfs(hum) + 45) < 1
    out = speak(control, hum)
    assert control.gain_db == 0.0 and out == hum
    speak(control, voice(300, 3, 0.02))        # the agent, quiet, over it: raised
    assert control.gain_db > 5


def test_a_loud_peak_is_never_pushed_past_full_scale():
    control = LevelControl()
    speak(control, voice(300, 3, 0.01))                              # boosted ~+18 dB
    out = speak(control, voice(300, 0.2, 0.9))                       # then a shout
    assert np.max(np.abs(np.frombuffer(out, "<i2").astype(np.int32))) <= 32767
