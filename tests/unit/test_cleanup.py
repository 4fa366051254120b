"""Voice cleanup (firmware/audio/cleanup.py) on the sim-room board's room, run on a virtual
clock by the bench's own code (tools/bench/cleanup.py): the echo canceller takes the
customer's voice out of the hands-free mic and keeps the agent's, noise removal takes a
floor's steady noise out and keeps the speech intelligible, and the echo reference
queue keeps to what is playing."""
import numpy as np

from firmware.audio.cleanup import MAX_QUEUED, MicCleanup, Played, Rumble
from hal.sim.room import CardBuffer
from tools.bench import cleanup as bench

RATE = 8000
PERIOD = RATE // 50 * 2


def test_the_canceller_takes_the_customers_voice_out_of_the_hands_free_mic():
    run = bench.echo_run(8.0, volume=5)
    assert bench.erle(run, 3, 8) >= 30            # the goal, at the default volume
    later = slice(3 * 50, None)                   # what the customer would hear back, from 3 s
    heard = bench.frame_power(run["mic"], run["period"])[later].sum()
    sent = bench.frame_power(run["out"], run["period"])[later].sum()
    assert 10 * np.log10(heard / sent) >= 25


def test_a_second_call_starts_with_the_room_already_learned():
    first = bench.echo_run(8.0, volume=5)
    second = bench.echo_run(3.0, cleanup=first["cleanup"], voice="other", volume=5)
    assert bench.erle(second, 0, 1) >= 25


def test_the_first_call_ever_keeps_the_echo_out_from_its_first_second():
    """The gate (echo_gate.py) covers the seconds the fresh filter needs to learn the room,
    at the default volume and at the loudest, where the speaker clips softly."""
    for volume in (5, 10):
        run = bench.echo_run(4.0, volume=volume)
        assert bench.erle(run, 0, 1) >= 25, volume
        assert bench.convergence_s(run) is not None and bench.convergence_s(run) <= 1.0, volume


def test_a_loud_speaker_still_loses_30_db_of_its_echo():
    run = bench.echo_run(8.0, volume=10)
    assert bench.erle(run, 3, 8) >= 30


def test_double_talk_keeps_the_agents_voice():
    run = bench.echo_run(10.0, near_from_s=5.0, volume=5)
    assert bench.double_talk_kept(run, 5.0) >= -6.0


def test_double_talk_from_the_first_calls_start_keeps_the_agents_voice():
    """The agent talks over the customer while the filter is still fresh: the gate hears
    them (louder than any echo can be) and opens."""
    run = bench.echo_run(5.0, near_from_s=0.3, volume=10)
    assert bench.double_talk_kept(run, 0.3) >= -6.0


def test_without_the_reference_nothing_is_cancelled():
    """The room's echo is real: the mic cleanup with no reference leaves it all."""
    run = bench.echo_run(6.0, volume=5)
    cleanup = MicCleanup(RATE, PERIOD)
    mic = run["mic"].astype("<i2").tobytes()
    out = b"".join(cleanup.process(mic[i:i + PERIOD], None, b"", denoise=False)
                   for i in range(0, len(mic), PERIOD))
    assert out == mic


def test_noise_removal_takes_out_a_steady_floor_and_keeps_the_speech():
    for noise in ("white", "pink"):
        r = bench.noise_run(noise, 0.0)
        assert r["snr_out"] - r["snr_in"] >= 15, (noise, r)
        assert r["stoi_out"] >= r["stoi_in"], (noise, r)


def test_the_rumble_filter_passes_the_voice_and_stops_the_hum():
    def through(hz: float) -> float:
        t = np.arange(RATE) / RATE
        x = (8000 * np.sin(2 * np.pi * hz * t)).astype("<i2").tobytes()
        rumble = Rumble(RATE)
        y = np.frombuffer(b"".join(rumble.process(x[i:i + PERIOD])
                                   for i in range(0, len(x), PERIOD)), "<i2")[RATE // 2:]
        return 20 * np.log10(np.std(y) / (8000 / np.sqrt(2)))
    assert through(30) < -20 and through(50) < -12
    assert through(300) > -0.5 and through(1000) > -0.5


def test_the_reference_keeps_to_what_plays_now():
    played = Played(PERIOD)
    assert played.take() == (None, bytes(PERIOD))          # nothing plays on an echo route
    played.route = "speaker"
    played.put("speaker", b"\x09" * PERIOD)
    assert played.take() == ("speaker", bytes(PERIOD))      # the card waits to start
    for k in range(MAX_QUEUED + 3):                         # the mic fell behind
        played.put("speaker", bytes([k]) * PERIOD)
    assert played.take() == ("speaker", bytes([3]) * PERIOD)    # only what the card holds
    assert played.cut == 4
    played.take(), played.take(), played.take()
    played.put("speaker", b"\x01" * (PERIOD // 2))          # half a period waits for the rest
    assert played.take() == ("speaker", bytes(PERIOD))      # ran dry: silence, in time
    played.route = "handset"                                # elsewhere: nothing stale remains
    played.put("handset", b"\x02" * (PERIOD // 2))
    played.put("handset", b"\x02" * (PERIOD // 2))
    played.put("handset", b"\x03" * PERIOD)
    assert played.take() == ("handset", b"\x02" * PERIOD)


def test_late_writes_do_not_move_the_reference_against_the_card():
    """The call's audio is written when the network delivers it, a few ms early or late
    against the card's tick, and the mic takes its reference just after the tick: a write
    landing between the two is in the reference a period before the card plays it. Both
    queues start at the same threshold, so that happens at most once, at the start; the
    reference then keeps one distance from what plays for the whole call, the distance the
    canceller has learned."""
    rng = np.random.default_rng(3)
    played, card = Played(PERIOD), CardBuffer(PERIOD)
    played.route = "speaker"
    writes = [(n, n * 20 + rng.uniform(10, 30)) for n in range(1500)]  # 10 ms either way
    shifts = set()

    def period(n: int) -> bytes:
        return n.to_bytes(2, "little") * (PERIOD // 2)

    for tick in range(1, 1500):
        t = tick * 20.0
        heard = card.play(b"".join(period(n) for n, w in writes if t - 20 <= w < t))
        for n, w in writes:
            if t - 17 <= w < t + 3:          # the mic takes its reference 3 ms after the tick
                played.put("speaker", period(n))
        _, ref = played.take()
        if heard and any(ref):
            shifts.add(int.from_bytes(heard[:2], "little") - int.from_bytes(ref[:2], "little"))
    assert card.underruns == 0 and played.missed == 0
    assert len(shifts) == 1, shifts


