"""The ring tone, end to end: firmware.audio.tones -> hal.audio.AudioDevices -> real libasound
(the sim's file PCMs) -> the samples that came out, measured with numpy."""
from __future__ import annotations

import itertools
import math
import os
import threading
import time

import alsaaudio
import numpy as np
import pytest

from firmware.audio import tones
from firmware.audio.tones import RING, RingPattern
from hal.audio import AudioDevices
from hal.board import load_board
from hal.errors import HalError
from hal.sim.asound import use_sim_asound
from tests.waits import wait_until

SIM = load_board("sim")
RATE = SIM.audio_rate
CYCLE = sum(tones.segment_lengths(RING, RATE))       # samples in one ring cycle
LEVELS = (10, 4, 0)


def read_raw(path) -> np.ndarray:
    return np.fromfile(path, dtype="<i2")


def tone(seconds: float, freq: float = 1000.0, amp: int = 8000) -> bytes:
    n = np.arange(round(seconds * RATE))
    return (amp * np.sin(2 * np.pi * freq * n / RATE)).astype("<i2").tobytes()


def segments(x: np.ndarray) -> list[tuple[bool, float]]:
    """(on?, seconds) runs of the signal's envelope: the max |sample| over a 5 ms window,
    wide enough to bridge the 440/480 Hz beat nulls, against 5% of the peak."""
    width = round(0.005 * RATE) | 1
    padded = np.pad(np.abs(x.astype(np.int32)), width // 2)
    env = np.lib.stride_tricks.sliding_window_view(padded, width).max(axis=1)
    on = env > 0.05 * env.max()
    edges = np.flatnonzero(np.diff(on.astype(np.int8))) + 1
    bounds = [0, *edges, len(on)]
    return [(bool(on[a]), (b - a) / RATE) for a, b in itertools.pairwise(bounds)]


def peaks_hz(x: np.ndarray) -> list[tuple[float, float]]:
    """Spectral peaks as (Hz, dB below the strongest), strongest first."""
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)), n=8 * RATE))     # 0.125 Hz bins
    hz = np.fft.rfftfreq(8 * RATE, 1 / RATE)
    i = np.flatnonzero((spec[1:-1] > spec[:-2]) & (spec[1:-1] >= spec[2:])) + 1
    i = i[np.argsort(spec[i])[::-1]]
    return [(float(hz[k]), float(20 * np.log10(spec[i[0]] / spec[k]))) for k in i]


def on_bursts(x: np.ndarray, pattern=RING) -> list[np.ndarray]:
    bursts, start = [], 0
    for i, n in enumerate(tones.segment_lengths(pattern, RATE)):
        if i % 2 == 0:
            bursts.append(x[start:start + n])
        start += n
    return bursts


@pytest.fixture
def sim_audio(tmp_path, monkeypatch):
    """The sim board's PCMs as file PCMs in a fresh dir; ALSA_CONFIG_PATH restored after."""
    monkeypatch.setenv("ALSA_CONFIG_PATH", "")
    use_sim_asound(tmp_path, SIM.audio_pcm)
    return tmp_path, AudioDevices(SIM.audio_pcm, RATE)


@pytest.fixture(scope="module")
def rung(tmp_path_factory):
    """test_ring at each of LEVELS, played through the "ringer" route and read back.

    The three plays run at once (each takes the cycle's 3 s of wall time), each on an
    AudioDevices whose ringer is its own file PCM."""
    audio_dir = tmp_path_factory.mktemp("rung")
    names = {level: f"ringer_{level}" for level in LEVELS}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALSA_CONFIG_PATH", "")
        use_sim_asound(audio_dir, {n: n for n in names.values()})
        results = {}

        def ring(level):
            audio = AudioDevices({"ringer": names[level]}, RATE)
            results[level] = audio.play("ringer", tones.test_ring(level, RATE))

        threads = [threading.Thread(target=ring, args=(level,)) for level in LEVELS]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
    assert results == {level: True for level in LEVELS}
    return {level: read_raw(audio_dir / f"{names[level]}.raw") for level in LEVELS}


# --- what came out of ALSA ---------------------------------------------------------------

@pytest.mark.parametrize("level", [10, 4])
def test_ring_sounds_440_and_480_hz(rung, level):
    fade = round(tones.FADE_S * RATE)
    for burst in on_bursts(rung[level]):
        peaks = peaks_hz(burst[fade:len(burst) - fade].astype(float))
        (f1, _), (f2, db2), (f3, db3) = peaks[:3]
        assert sorted([f1, f2]) == pytest.approx([440.0, 480.0], abs=2.0)
        assert db2 < 1.0                      # the two tones are equally loud
        assert db3 > 20.0, f"a third tone at {f3:.1f} Hz only {db3:.1f} dB down"


@pytest.mark.parametrize("level", [10, 4])
def test_ring_cadence_is_double_ring(rung, level):
    x = rung[level]
    assert len(x) == CYCLE                    # every sample reached the PCM, none extra
    measured = segments(x)
    assert [on for on, _ in measured] == [True, False, True, False]
    assert [s for _, s in measured] == pytest.approx(list(RING.cadence), abs=0.010)


def test_ring_peak_follows_volume_level(rung):
    peak10, peak4 = (np.abs(rung[lv].astype(float)).max() for lv in (10, 4))
    assert peak10 == pytest.approx(tones.TOP_PEAK * 32767, rel=0.01)
    assert 20 * math.log10(peak10 / peak4) == pytest.approx(18.0, abs=1.0)


def test_ring_at_level_0_is_silent(rung):
    assert len(rung[0]) == CYCLE
    assert not rung[0].any()


# --- AudioDevices ------------------------------------------------------------------------

def test_play_is_paced_to_real_time(sim_audio):
    _, audio = sim_audio
    t0 = time.monotonic()
    assert audio.play("ringer", tone(0.5)) is True
    elapsed = time.monotonic() - t0
    assert 0.45 <= elapsed < 0.75


def test_play_delivers_samples_bit_for_bit(sim_audio):
    audio_dir, audio = sim_audio
    samples = tone(0.1) + tone(37 / RATE, 300.0)       # ends in a partial period
    assert audio.play("handset", samples)
    assert (audio_dir / "handset.raw").read_bytes() == samples


def test_each_play_replaces_the_pcm_file(sim_audio):
    audio_dir, audio = sim_audio
    audio.play("speaker", tone(0.06, 500.0))
    second = tone(0.02, 700.0)
    audio.play("speaker", second)
    assert (audio_dir / "speaker.raw").read_bytes() == second


def test_stop_ends_play_early(sim_audio):
    audio_dir, audio = sim_audio
    stop, result = threading.Event(), []
    player = threading.Thread(target=lambda: result.append(audio.play("ringer", tone(2.0), stop)))
    player.start()
    pcm = audio_dir / "ringer.raw"
    wait_until(lambda: pcm.exists() and len(read_raw(pcm)) >= 0.1 * RATE,
               what="the ring to be playing")
    stopped = time.monotonic()
    stop.set()
    player.join(timeout=3)
    assert result == [False]
    # the 2 s tone is cut off: play returns within a period or two, not when it would end
    assert time.monotonic() - stopped < 1.0
    assert len(read_raw(audio_dir / "ringer.raw")) < 1.2 * RATE


def test_stop_already_set_plays_nothing(sim_audio):
    _, audio = sim_audio
    stop = threading.Event()
    stop.set()
    t0 = time.monotonic()
    assert audio.play("ringer", tone(1.0), stop) is False
    assert time.monotonic() - t0 < 0.1


def test_unknown_route_is_a_value_error(sim_audio):
    _, audio = sim_audio
    with pytest.raises(ValueError, match="doorbell"):
        audio.play("doorbell", tone(0.02))
    with pytest.raises(ValueError):
        audio.play("mic", tone(0.02))         # capture only
    with pytest.raises(ValueError):
        audio.play("ringer", b"\0\0\0")        # half a sample


def test_missing_pcm_is_a_hal_error_naming_it(sim_audio):
    audio = AudioDevices({"ringer": "no_such_pcm"}, RATE)
    with pytest.raises(HalError, match="no_such_pcm"):
        audio.play("ringer", tone(0.02))
    audio.close()
    audio.close()


def test_pcm_name(sim_audio):
    _, audio = sim_audio
    assert audio.pcm_name("ringer") == SIM.audio_pcm["ringer"]


# --- the sim's ALSA config ---------------------------------------------------------------

def test_sim_asound_config(tmp_path, monkeypatch):
    monkeypatch.setenv("ALSA_CONFIG_PATH", "")
    conf = use_sim_asound(tmp_path / "audio", SIM.audio_pcm)
    assert conf == (tmp_path / "audio" / "asound.conf").resolve()
    assert os.environ["ALSA_CONFIG_PATH"] == f"/usr/share/alsa/alsa.conf:{conf}"
    text = conf.read_text()
    for name in SIM.audio_pcm.values():
        assert f"pcm.{name} " in text
    assert len((tmp_path / "audio" / "mic.raw").read_bytes()) == 2 * 8000
    with pytest.raises(ValueError):
        use_sim_asound(tmp_path / "x", {"ringer": "plughw:0"})


def test_sim_mic_reads_mic_raw(sim_audio):
    audio_dir, _ = sim_audio
    spoken = tone(0.04, 250.0)
    (audio_dir / "mic.raw").write_bytes(spoken)
    mic = alsaaudio.PCM(alsaaudio.PCM_CAPTURE, device=SIM.audio_pcm["mic"], channels=1,
                        rate=RATE, format=alsaaudio.PCM_FORMAT_S16_LE, periodsize=160)
    try:
        n, data = mic.read()
    finally:
        mic.close()
    assert n == 160 and data == spoken[:320]


# --- tones alone -------------------------------------------------------------------------

def test_volume_gain_steps_are_3_db():
    assert tones.volume_gain(0) == 0.0
    assert tones.volume_gain(10) == pytest.approx(0.9)
    for level in range(1, 10):
        step = 20 * math.log10(tones.volume_gain(level + 1) / tones.volume_gain(level))
        assert step == pytest.approx(3.0)


@pytest.mark.parametrize("level", [-1, 11])
def test_volume_level_out_of_range(level):
    with pytest.raises(ValueError):
        tones.volume_gain(level)
    with pytest.raises(ValueError):
        tones.test_ring(level)


@pytest.mark.parametrize("rate", [8000, 16000])
def test_ring_samples_lengths_and_cadence(rate):
    pattern = RingPattern((400.0,), (0.25, 0.125, 0.1, 0.5))
    one = np.frombuffer(tones.ring_samples(pattern, 7, rate), dtype="<i2")
    two = np.frombuffer(tones.ring_samples(pattern, 7, rate, cycles=2), dtype="<i2")
    counts = [round(s * rate) for s in pattern.cadence]
    assert tones.segment_lengths(pattern, rate) == counts
    assert len(one) == sum(counts) and np.array_equal(two, np.concatenate([one, one]))
    start = 0
    for i, n in enumerate(counts):
        seg = one[start:start + n]
        if i % 2:
            assert not seg.any(), f"gap {i} is not silent"
        else:
            assert np.abs(seg).max() == round(tones.volume_gain(7) * 32767)
            # the fades: silence at both edges, full level only past them
            ms = rate // 1000
            assert seg[0] == 0 and seg[-1] == 0
            assert np.abs(seg[:ms]).max() < 0.15 * np.abs(seg).max()
            assert np.abs(seg[-ms:]).max() < 0.15 * np.abs(seg).max()
        start += n


def test_test_ring_is_one_cycle_of_ring():
    assert tones.test_ring(6) == tones.ring_samples(RING, 6)
    assert len(tones.test_ring(6)) == 2 * CYCLE


def test_ring_pattern_rejects_nonsense():
    with pytest.raises(ValueError):
        RingPattern((), (1.0,))
    with pytest.raises(ValueError):
        RingPattern((440.0,), (0.4, 0.0))
    with pytest.raises(ValueError):
        tones.ring_samples(RING, 5, cycles=0)
