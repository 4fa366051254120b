"""The echo gate (firmware/audio/echo_gate.py), frame by frame: it takes down an echo the
canceller has not removed yet, by what the canceller falls short of the goal, and never the
agent's voice."""
import numpy as np
import pytest

from firmware.audio.echo_gate import GOAL_DB, HANG_FRAMES, MAX_CUT_DB, START_FRAMES, EchoGate
from hal.board import BoardError, load_board

FRAME = 80            # 10 ms at 8 kHz
TAIL = 12


def tone(dbfs: float, hz: float = 500.0, n: int = FRAME) -> bytes:
    t = np.arange(n) / 8000
    x = np.sqrt(2) * 32768 * 10 ** (dbfs / 20) * np.sin(2 * np.pi * hz * t)
    return x.astype("<i2").tobytes()


def dbfs(pcm: bytes) -> float:
    x = np.frombuffer(pcm, "<i2").astype(float)
    return 10 * np.log10(max(np.mean(x * x), 1e-3) / 32768.0 ** 2)


def fresh() -> EchoGate:
    """A gate at a call's start: it has heard the quiet room (silence) before anyone talks."""
    gate = EchoGate(FRAME, TAIL, coupling_db=0.0)
    quiet = tone(-70, 1000)
    run(gate, quiet, bytes(2 * FRAME), quiet, 3)
    return gate


def run(gate: EchoGate, mic: bytes, played: bytes, out: bytes, frames: int) -> bytes:
    """``frames`` frames of the same; what the gate let through in the last."""
    for _ in range(frames):
        last = gate.process(mic, played, out)
    return last


def test_a_fresh_canceller_leaves_the_echo_and_the_gate_takes_it_down():
    gate = fresh()
    echo = tone(-26)                     # the customer at -20 dBFS, heard 6 dB down
    passed = run(gate, echo, tone(-20, 300), echo, 5)      # the canceller removed nothing
    assert dbfs(passed) < -26 - MAX_CUT_DB + 1


def test_the_gate_tops_up_a_canceller_that_falls_short_and_leaves_one_that_does_not():
    short = fresh()
    passed = run(short, tone(-26), tone(-20, 300), tone(-26 - 25), 5)      # 25 dB removed
    assert abs(dbfs(passed) - (-26 - GOAL_DB)) < 1
    enough = fresh()
    left = tone(-26 - 40)
    assert run(enough, tone(-26), tone(-20, 300), left, 5) == left


def test_the_agent_louder_than_any_echo_passes_at_once():
    gate = fresh()
    run(gate, tone(-26), tone(-20, 300), tone(-26), 5)     # echo alone: taken down
    voice = tone(-12, 1000)                                # then the agent, over it
    gate.process(voice, tone(-20, 300), voice)             # the frame before: still the echo's
    opening = gate.process(voice, tone(-20, 300), voice)   # gliding open over its first frame
    assert dbfs(opening) > -12 - 10
    assert dbfs(gate.process(voice, tone(-20, 300), voice)) > -12.5


def test_a_quiet_agent_passes_once_the_canceller_has_learned_the_room():
    gate = fresh()
    run(gate, tone(-26), tone(-20, 300), tone(-66), 100)   # 40 dB removed for a second
    quiet = tone(-40, 1000)              # the agent 14 dB under the echo: no louder than it
    passed = run(gate, tone(-26), tone(-20, 300), quiet, 3)
    assert abs(dbfs(passed) - dbfs(quiet)) < 0.5


def test_the_gate_stays_open_a_moment_after_the_agent_stops():
    gate = fresh()
    voice = tone(-12, 1000)
    run(gate, voice, tone(-20, 300), voice, 5)
    echo = tone(-26)
    held = [dbfs(gate.process(echo, tone(-20, 300), echo)) for _ in range(HANG_FRAMES + 5)]
    assert all(abs(h - (-26)) < 0.5 for h in held[1:HANG_FRAMES - 1])
    assert held[-1] < -26 - MAX_CUT_DB + 1


def test_without_the_customer_talking_nothing_is_taken_down():
    gate = fresh()
    quiet = tone(-45, 1000)
    assert run(gate, quiet, bytes(2 * FRAME), quiet, 20) == quiet


def test_a_change_of_gain_glides_over_the_frame():
    gate = fresh()
    echo = tone(-26)
    gate.process(echo, tone(-20, 300), echo)
    first = np.frombuffer(gate.process(echo, tone(-20, 300), echo), "<i2").astype(float)
    ramp = np.abs(first) / np.maximum(np.abs(np.frombuffer(echo, "<i2")), 1)
    big = np.abs(np.frombuffer(echo, "<i2")) > 1000
    assert ramp[big][0] > 0.9 and ramp[big][-1] < 0.1       # from open to closed, smoothly


def test_the_rooms_noise_is_not_taken_for_the_agent():
    """A floor's steady noise while the customer is silent is louder than their (absent)
    echo: the gate must still close as soon as they talk, not hang open for the agent."""
    gate = fresh()
    rng = np.random.default_rng(1)
    noise = (rng.normal(0, 32768 * 10 ** (-45 / 20), FRAME)).astype("<i2").tobytes()
    run(gate, noise, bytes(2 * FRAME), noise, 200)          # 2 s of the room alone
    echo = tone(-26)
    gate.process(echo, tone(-20, 300), echo)
    gate.process(echo, tone(-20, 300), echo)                # gliding closed
    assert dbfs(gate.process(echo, tone(-20, 300), echo)) < -26 - MAX_CUT_DB + 1


def coupled_board(tmp_path, line: str) -> str:
    src = load_board("sim").path.read_text().replace("[audio]\n", f"[audio]\n{line}\n", 1)
    p = tmp_path / "board.toml"
    p.write_text(src)
    return str(p)


def test_the_boards_coupling_is_0_db_unless_it_says():
    assert load_board("sim").audio_echo_coupling_db == 0.0
    assert load_board("rpi4").audio_echo_coupling_db == 0.0


def test_a_board_sets_its_speakers_coupling(tmp_path):
    spec = load_board(coupled_board(tmp_path, "echo_coupling_db = -3"))
    assert spec.audio_echo_coupling_db == -3.0
    with pytest.raises(BoardError, match="audio.echo_coupling_db: must be -40 to 10 dB, got 20"):
        load_board(coupled_board(tmp_path, "echo_coupling_db = 20"))


def test_with_no_echo_found_the_agent_talking_over_the_customer_is_heard_after_the_start():
    """The agent's steady voice under the echo's bound, the customer talking all along, and
    no echo at all (the canceller removes nothing): gated while the filter might still be
    learning (the first 2 s of the customer), then left alone: the canceller never found an
    echo, so the sound is the agent's. (A conference on the sim board lost a party's voice
    to the gate for good before this.)"""
    gate = fresh()
    voice = tone(-20, 700)                     # under the -10 dBFS the customer plays
    early = run(gate, voice, tone(-10, 440), voice, 50)
    assert dbfs(early) < -20 - 20              # the start: taken for an echo not yet learned
    later = run(gate, voice, tone(-10, 440), voice, START_FRAMES)
    assert abs(dbfs(later) - dbfs(voice)) < 0.5
