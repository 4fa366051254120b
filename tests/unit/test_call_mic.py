"""The agent's voice on its way to a call: the real libasound reading the sim's mic files (the
samples as read: the level control, level.py, has its own tests)."""
import threading
import time
from array import array
from types import SimpleNamespace

import pytest

from firmware.audio.call_mic import CallMic
from hal.audio import AudioDevices
from hal.board import load_board
from hal.errors import HalError
from hal.sim.asound import use_sim_asound
from tests.waits import wait_until

SIM = load_board("sim")
RATE = SIM.audio_rate
PERIOD = 2 * RATE // 50                 # bytes in 20 ms


def ramp(seconds: float, start: int = 0) -> bytes:
    """Samples that name their own position, so what arrives can be checked in order."""
    n = int(seconds * RATE)
    return array("h", ((start + i) % 30000 for i in range(n))).tobytes()


class Heard:
    """What the mic handed on, per call."""

    def __init__(self):
        self.chunks: list[tuple[str, bytes]] = []
        self.more = threading.Condition()

    def __call__(self, call, samples):
        with self.more:
            self.chunks.append((call, samples))
            self.more.notify_all()

    def wait(self, count: int, timeout: float = 5) -> list[tuple[str, bytes]]:
        with self.more:
            assert self.more.wait_for(lambda: len(self.chunks) >= count, timeout), \
                f"{len(self.chunks)} of {count} periods in {timeout} s"
            return list(self.chunks)


@pytest.fixture
def mic_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ALSA_CONFIG_PATH", "")
    use_sim_asound(tmp_path, SIM.audio_pcm)
    return tmp_path


@pytest.fixture
def mic(mic_dir):
    heard = Heard()
    mic = CallMic(SimpleNamespace(audio=AudioDevices(SIM.audio_pcm, RATE)), heard,
                  level_control=False)
    yield mic, heard
    mic.close()


def test_the_call_gets_what_is_spoken_in_order_one_period_at_a_time(mic_dir, mic):
    (mic_dir / "mic.raw").write_bytes(ramp(2.0))
    mic, heard = mic
    mic.to(("k1", "mic"))
    chunks = heard.wait(10)
    assert all(call == "k1" and len(pcm) == PERIOD for call, pcm in chunks)
    assert b"".join(pcm for _, pcm in chunks[:10]) == ramp(2.0)[:10 * PERIOD]


def test_the_mic_keeps_to_the_speaking_pace_even_where_the_pcm_has_no_clock(mic_dir, mic):
    (mic_dir / "mic.raw").write_bytes(ramp(10.0))
    mic, heard = mic
    mic.to(("k1", "mic"))
    heard.wait(1)
    started = time.monotonic()
    heard.wait(26)
    # 25 periods are 0.5 s of speech: read as fast as the clockless PCM allows, the file's
    # 10 s would come at once (a slow machine only makes this take longer)
    assert time.monotonic() - started > 0.4


def test_no_call_no_mic_and_each_call_starts_from_what_is_said_then(mic_dir, mic):
    (mic_dir / "mic.raw").write_bytes(ramp(2.0))
    mic, heard = mic
    mic.to(("k1", "mic"))
    heard.wait(3)
    mic.to(None)                                # muted, held or ended: nothing goes out
    stopped = len(heard.chunks)
    time.sleep(0.3)                             # the subject: 15 periods of silence
    assert len(heard.chunks) <= stopped + 1     # but the one being read as it was muted
    stopped = len(heard.chunks)
    mic.to(("k2", "mic"))                       # opened again: the sim's file from its start
    first = heard.wait(stopped + 1)[stopped]
    assert first == ("k2", ramp(2.0)[:PERIOD])


def test_the_headset_has_its_own_mic(mic_dir, mic):
    (mic_dir / "mic.raw").write_bytes(ramp(2.0))
    (mic_dir / "headset_mic.raw").write_bytes(ramp(2.0, start=20000))
    mic, heard = mic
    mic.to(("k1", "headset_mic"))
    assert heard.wait(1)[0] == ("k1", ramp(2.0, start=20000)[:PERIOD])
    mic.to(("k1", "mic"))
    chunks = heard.wait(len(heard.chunks) + 2)
    assert ("k1", ramp(2.0)[:PERIOD]) in chunks


def test_a_mic_that_fails_is_logged_once_and_the_call_goes_on(mic_dir, caplog):
    heard = Heard()
    pcm = {**SIM.audio_pcm, "headset_mic": "no_such_pcm"}
    mic = CallMic(SimpleNamespace(audio=AudioDevices(pcm, RATE)), heard, level_control=False)
    try:
        mic.to(("k1", "headset_mic"))
        wait_until(lambda: any("no_such_pcm" in r.getMessage() for r in caplog.records), 5,
                   "the headset mic's failure logged")
        mic.to(("k1", "mic"))                   # the handset's mic still works
        heard.wait(3)
    finally:
        mic.close()
    failures = [r for r in caplog.records if "no_such_pcm" in r.getMessage()]
    assert len(failures) == 1 and "the customer hears silence" in failures[0].getMessage()


def test_a_send_that_raises_does_not_stop_the_mic(mic_dir, caplog):
    calls = []

    def send(call, samples):
        calls.append(call)
        if len(calls) == 1:
            raise RuntimeError("stack hiccup")
    mic = CallMic(SimpleNamespace(audio=AudioDevices(SIM.audio_pcm, RATE)), send,
                  level_control=False)
    try:
        mic.to(("k1", "mic"))
        wait_until(lambda: len(calls) >= 3, 5, "three periods sent")
    finally:
        mic.close()
    assert len(calls) >= 3
    assert any("not sent" in r.getMessage() for r in caplog.records)


def test_capture_is_only_for_the_mic_routes(mic_dir):
    audio = AudioDevices(SIM.audio_pcm, RATE)
    with pytest.raises(ValueError, match="played to"):
        audio.open_capture("handset")
    with pytest.raises(ValueError, match="doorbell"):
        audio.open_capture("doorbell")
    with pytest.raises(ValueError, match="capture route"):
        audio.play("headset_mic", bytes(PERIOD))
    with pytest.raises(HalError, match="no_such_pcm"):
        AudioDevices({"mic": "no_such_pcm"}, RATE).open_capture("mic")



def test_without_libspeexdsp_noise_removal_is_off_and_the_voice_still_goes(mic_dir, monkeypatch,
                                                                           caplog):
    """A phone whose image lacks libspeexdsp: the cleanup says so once, the call goes on."""
    from firmware.audio import cleanup, speex

    def missing():
        raise speex.SpeexMissing("libspeexdsp not found: apt-get install libspeexdsp1")
    monkeypatch.setattr(speex, "_load", missing)
    cleanup.available.cache_clear()
    (mic_dir / "mic.raw").write_bytes(ramp(2.0))
    heard = Heard()
    mic = CallMic(SimpleNamespace(audio=AudioDevices(SIM.audio_pcm, RATE)), heard,
                  level_control=False)
    try:
        mic.noise_removal = True
        mic.to(("k1", "mic"))
        chunks = heard.wait(10)
        assert b"".join(pcm for _, pcm in chunks[:10]) == ramp(2.0)[:10 * PERIOD]
        assert sum("voice cleanup off" in r.message for r in caplog.records) == 1
    finally:
        mic.close()
        cleanup.available.cache_clear()
