"""Clock drift (firmware/audio/drift.py): a card's clock measured from when its periods
arrive, a stream resampled by it, and ten minutes on a virtual clock (tools/bench/drift.py,
the same code the bench prints, the phone's own CallMedia and the sim's card at the ends) with
no padded period (but a slow mic card's first crossing) and a delay that stays."""
import numpy as np
import pytest

from firmware.audio.drift import MAX_JITTER_S, MIN_PPM, CardClock, ClockFollower
from tools.bench import drift as bench

RATE = 8000


@pytest.mark.parametrize("ppm", [-200.0, 75.0, 200.0])
def test_the_card_clock_is_measured_from_late_arrivals(ppm):
    rng = np.random.default_rng(1)
    clock = CardClock(RATE)
    for k in range(int(20 / 0.02)):                              # 20 s of periods
        clock.arrived(k * 0.02 / (1 + ppm * 1e-6) + rng.exponential(0.0005), 160)
    assert clock.ppm is not None and abs(clock.ppm - ppm) < 5


@pytest.mark.parametrize("mean_s, expected_s", [(0.0005, 0.0023), (0.002, 0.0092),
                                                (0.01, MAX_JITTER_S)])
def test_how_late_the_host_hands_periods_over_is_measured_against_the_card(mean_s, expected_s):
    """The periods' lateness beyond the card's own time, at its 99th percentile: what the
    send path keeps as margin (2.3 ms on a quiet host, 9 on a busy one; a host late 10 ms
    on average is stalling, and gets no more than MAX_JITTER_S), whatever the drift."""
    rng = np.random.default_rng(2)
    clock = CardClock(RATE)
    for k in range(int(20 / 0.02)):
        clock.arrived(k * 0.02 / (1 + 1800e-6) + rng.exponential(mean_s), 160)
    assert clock.jitter_s == pytest.approx(expected_s, rel=0.25)


def test_a_new_call_starts_a_new_timeline_and_keeps_what_was_learned():
    clock = CardClock(RATE)
    for k in range(500):
        clock.arrived(k * 0.02 / (1 + 150e-6), 160)
    learned = clock.ppm
    clock.restart()
    clock.arrived(1000.0, 160)                                   # an hour later
    assert clock.ppm == learned


def test_a_few_ppm_a_busy_host_reads_into_a_card_in_step_is_not_followed():
    # a line through seconds of arrivals that are late by a busy scheduler can stand three
    # standard errors off zero; what it claims must also have moved the card 1 ms
    clock = CardClock(RATE)
    for k in range(int(9 / 0.02)):
        clock.arrived(k * 0.02 * (1 + 21e-6), 160)               # -21 ppm, as read in a test
    assert clock.ppm is not None and abs(clock.ppm + 21) < 1 and clock.error < 1
    assert clock.drift is None                                   # 0.17 ms in 8 s: noise
    for k in range(int(9 / 0.02), int(60 / 0.02)):
        clock.arrived(k * 0.02 * (1 + 21e-6), 160)
    assert clock.drift is not None and abs(clock.drift + 21) < 1  # 1.2 ms in 59 s: a drift


def test_a_fast_drift_is_followed_within_seconds():
    clock = CardClock(RATE)
    for k in range(int(8 / 0.02)):                               # (5 s of line: 1 ms)
        clock.arrived(k * 0.02 / (1 + 200e-6), 160)
    assert clock.drift is not None and abs(clock.drift - 200) < 1


def pitch(pcm: bytes) -> float:
    x = np.frombuffer(pcm, "<i2").astype(float)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * RATE / len(x))


def test_the_follower_keeps_the_pitch_and_takes_out_what_the_drift_adds():
    t = np.arange(RATE * 10) / RATE
    tone = (8000 * np.sin(2 * np.pi * 1000 * t)).astype("<i2").tobytes()
    follower = ClockFollower()
    out = b"".join(follower.follow(tone[i:i + 320], 1000.0) for i in range(0, len(tone), 320))
    assert abs(len(out) / 2 - RATE * 10 / 1.001) <= 2              # 80 samples fewer in 10 s
    assert abs(pitch(out[RATE:]) - 1000 * 1.001) < 1               # resampled, not chopped


def test_mid_stream_the_follower_starts_in_a_quiet_period():
    loud = (8000 * np.sin(2 * np.pi * 1000 * np.arange(160) / RATE)).astype("<i2").tobytes()
    quiet = bytes(320)
    follower = ClockFollower()
    for _ in range(10):
        assert follower.follow(loud, None) == loud               # the drift not known yet
    for _ in range(10):
        assert follower.follow(loud, 100.0) == loud              # known: waits for a pause
    assert not follower.active
    follower.follow(quiet, 100.0)
    assert follower.active
    fresh = ClockFollower()                                      # a stream starting: at once
    fresh.follow(loud, 100.0)
    assert fresh.active


def test_a_card_in_step_passes_untouched():
    follower = ClockFollower()
    period = bytes(range(256)) + bytes(64)
    assert follower.follow(period, None) == period                # not known yet
    assert follower.follow(period, MIN_PPM / 2) == period         # too little to matter
    assert not follower.active


@pytest.mark.parametrize("direction", ["mic", "playout"])
@pytest.mark.parametrize("ppm", [-200.0, 200.0])
def test_ten_minutes_of_drift_followed(direction, ppm):
    followed = bench.simulate(ppm, 600, direction)
    # the phone's own code at both ends (bench.simulate: CallMedia into the stack, the sim's
    # CardBuffer): at most once, a slow mic card's first crossing of the stack's ticks
    assert followed["padded"] <= (1 if direction == "mic" and ppm < 0 else 0)
    assert followed["delay_end"] - followed["delay_start"] < 10
    assert followed["delay_max"] <= 40
    bare = bench.simulate(ppm, 600, direction, follow=False)
    # the same ten minutes unfollowed (a period every 100 s): gaps or lost periods each
    # time, once the card's 2-period start level is used up on the way out
    assert bare["padded"] >= 3
