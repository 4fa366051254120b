"""Voice cleanup figures (firmware/audio/cleanup.py) on the sim-room board's room, on a
virtual clock: the phone's own stages, period by period, exactly as its threads run them.

- echo: ERLE (echo return loss enhancement: the echo's power at the mic over what is left
  of it) after convergence and over the first seconds, with the customer talking alone and
  with the agent talking over them (double talk: how much of the agent's speech is kept);
- noise: SNR gain and STOI (speech intelligibility, pystoi) before/after, the agent's speech
  in white, pink and floor noise, on the agent's mic and on the customer's audio;
- cost: CPU per 20 ms period for each stage of the phone's audio path, and each stage's
  own delay.

Speech is espeak-ng's (tools/speech.py); the room is board/sim-room's [sim.room].
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from firmware.audio.call_audio import scale
from firmware.audio.cleanup import MicCleanup, NoiseRemoval, Played
from firmware.audio.level import LevelControl
from firmware.audio.limiter import Limiter
from hal.board import load_board
from hal.sim.room import CardBuffer, Room, RoomSpec
from tools import speech

from .table import table

LEAD_S = 2.0               # noise alone before the agent speaks
MIN_ACTIVE = 5             # periods of speech an ERLE figure needs
ACTIVE_DB = -35.0          # a 20 ms frame of speech louder than this (dBFS) counts as speech
ECHO_DB = -45.0            # a 20 ms frame of echo at the mic this loud counts (the floor's level)


def _f(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def _db(power: float) -> float:
    return 10 * np.log10(max(power, 1e-12))


RATE: int | None = None    # the audio rate to run at (None: the board's, 8000; 16000: wideband)


def board_room(noise: str | None = None, noise_dbfs: float | None = None) -> tuple[RoomSpec, int]:
    spec = load_board("sim-room")
    room = RoomSpec.from_board(dict(spec.sim["room"]), spec.dir)
    if noise is not None:
        room = replace(room, noise=noise)
    if noise_dbfs is not None:
        room = replace(room, noise_dbfs=noise_dbfs)
    return room, RATE or spec.audio_rate


def loop_to(pcm: bytes, n_bytes: int) -> bytes:
    return (pcm * (n_bytes // len(pcm) + 1))[:n_bytes]


def frame_power(x: np.ndarray, period: int) -> np.ndarray:
    n = len(x) // period
    return np.mean(x[:n * period].reshape(n, period) ** 2, axis=1)


def echo_run(seconds: float = 12.0, near_from_s: float | None = None,
             noise_dbfs: float = -120.0, volume: int = 10, drive: float | None = None,
             cleanup: MicCleanup | None = None, voice: str = "customer") -> dict:
    """The customer (far end) on the speaker at ``volume`` for ``seconds``, the agent
    silent, or talking from ``near_from_s``; the room hears it (``drive``: another speaker
    nonlinearity than the board's); the phone's mic cleanup as on hands-free (``cleanup``:
    one that has heard a call before). Per-sample arrays: the echo at the mic, the agent's
    voice, the mic, the output; and the cleanup."""
    room_spec, rate = board_room("none", noise_dbfs)
    if drive is not None:
        room_spec = replace(room_spec, paths=tuple(replace(p, drive=drive)
                                                   for p in room_spec.paths))
    room = Room(room_spec, rate)
    period = room.period
    n = int(seconds / 0.02)
    said = speech.customer(rate) if voice == "customer" else speech.say("en-us+m3", (
        "Yes, and while you are at it, could you also check the invoice? The amount looks "
        "higher than what the web shop showed when I paid for it."), rate)
    far = scale(loop_to(said, n * period * 2), volume)
    near = np.zeros(n * period)
    if near_from_s is not None:
        start = int(near_from_s / 0.02) * period
        voice = _f(loop_to(speech.agent(rate), (n * period - start) * 2)) * 0.5
        near[start:] = voice
    played = Played(period * 2)
    board = load_board("sim-room")
    delay = board.audio_echo_delay_ms // 20
    if cleanup is None:
        cleanup = MicCleanup(rate, period * 2, delay, board.audio_echo_coupling_db)
    cleanup.restart()                                # the mic opens for this call
    # the speaker: the card's latency (what the board's echo_delay_ms says), then its buffer
    latency: list[bytes] = [bytes(period * 2)] * delay
    card = CardBuffer(period * 2)
    echo_only = Room(replace(room_spec, noise="none"), rate)
    out, mic, echo = [], [], []
    for k in range(n):
        chunk = far[k * period * 2:(k + 1) * period * 2]
        played.route = "speaker"
        played.put("speaker", chunk)                 # the call audio thread
        latency.append(chunk)
        sound = card.play(latency.pop(0))            # what the speaker plays this period
        near_k = near[k * period:(k + 1) * period]
        heard = room.hear("mic", (near_k).astype("<i2").tobytes(), {"speaker": sound})
        echo.append(_f(echo_only.hear("mic", b"", {"speaker": sound})))
        mic.append(_f(heard))
        route, ref = played.take()                   # the mic thread
        out.append(_f(cleanup.process(heard, route, ref, denoise=False)))
    # the preprocessor's output lags a frame (10 ms): line it up with its input
    lag = rate // 100
    o = np.concatenate(out)
    o = np.concatenate([o[lag:], np.zeros(lag)])
    return {"echo": np.concatenate(echo), "near": near, "mic": np.concatenate(mic),
            "out": o, "far": _f(far), "period": period, "rate": rate, "cleanup": cleanup}


def erle(run: dict, t0: float, t1: float) -> float:
    """ERLE over [t0, t1) s, on the periods where the customer's echo reaches the mic over
    the room's floor (ECHO_DB; nan with fewer than MIN_ACTIVE of them: a pause between
    sentences says nothing). Not where the customer talks: their first words' echo is
    still on its way through the card and the room."""
    period = run["period"]
    active = _db_array(frame_power(run["echo"], period)) > ECHO_DB
    sel = np.zeros_like(active)
    sel[int(t0 / 0.02):int(t1 / 0.02)] = True
    sel &= active
    if sel.sum() < MIN_ACTIVE:
        return float("nan")
    e = frame_power(run["echo"], period)[sel].sum()
    o = frame_power(run["out"], period)[sel].sum()
    return _db(e) - _db(o)


def _db_array(p: np.ndarray) -> np.ndarray:
    return 10 * np.log10(np.maximum(p, 1e-12) / 32768.0 ** 2)


def double_talk_kept(run: dict, t0: float) -> float:
    """dB of the agent's speech power in the output over the agent's speech at the mic,
    where the agent talks from ``t0`` on (0: all kept; negative: cut)."""
    period = run["period"]
    near_p = frame_power(run["near"], period)
    sel = _db_array(near_p) > ACTIVE_DB
    sel[:int(t0 / 0.02) + 25] = False             # the first half second after it starts
    return _db(frame_power(run["out"], period)[sel].sum()) - _db(near_p[sel].sum())


def convergence_s(run: dict, goal_db: float = 25.0) -> float | None:
    """Seconds until ERLE over each following 0.5 s stays at ``goal_db`` or more."""
    secs = len(run["far"]) / run["rate"]
    steps = np.arange(0, secs - 0.5, 0.25)
    ok = [not erle(run, t, t + 0.5) < goal_db for t in steps]      # nan: a pause, no say
    for i in range(len(ok)):
        if all(ok[i:]):
            return float(steps[i])
    return None


def noise_run(noise: str, snr_db: float, seconds: float = 10.0,
              denoiser: Callable[[bytes], bytes] | None = None) -> dict[str, float]:
    """The agent's speech in the floor's ``noise`` at ``snr_db`` (against the speech's
    active level), LEAD_S of noise first (the noise estimate learns it there, as it does
    before the agent first speaks in a call); through the phone's mic noise removal, or
    ``denoiser`` (the customer's path). SNR gain and STOI before and after."""
    from pystoi import stoi
    _, rate = board_room()
    clean = _f(loop_to(speech.agent(rate), int(seconds * rate) * 2))
    clean = np.concatenate([np.zeros(int(LEAD_S * rate)), clean])
    period = rate // 50
    act = _db_array(frame_power(clean, period)) > ACTIVE_DB
    lead = int(LEAD_S / 0.02)
    speech_dbfs = _db(frame_power(clean, period)[act].mean() / 32768.0 ** 2)
    room, _ = board_room(noise, speech_dbfs - snr_db)
    room = replace(room, paths=())
    live = Room(room, rate)
    noisy = np.concatenate([_f(live.hear("mic", clean[i:i + period].astype("<i2").tobytes(), {}))
                            for i in range(0, len(clean), period)])
    if denoiser is None:
        mic = MicCleanup(rate, period * 2)
        out = np.concatenate([_f(mic.process(noisy[i:i + period].astype("<i2").tobytes(),
                                             None, b"", denoise=True))
                              for i in range(0, len(noisy), period)])
    else:
        out = np.concatenate([_f(denoiser(noisy[i:i + period].astype("<i2").tobytes()))
                              for i in range(0, len(noisy), period)])
    lag = rate // 100 if denoiser is None else rate // 200     # the mic's frames, or 5 ms
    out = np.concatenate([out[lag:], np.zeros(lag)])

    def snr(x: np.ndarray) -> float:
        p = frame_power(x, period)
        gaps = ~act
        gaps[: lead] = False
        n = p[gaps].mean()
        return _db(max(p[act].mean() - n, 1e-9)) - _db(n)

    skip = int(LEAD_S * rate)                      # STOI over the speech, not the lead-in
    gaps = ~act
    gaps[:lead] = False
    return {"snr_in": snr(noisy), "snr_out": snr(out),
            "noise_cut": _db(frame_power(noisy, period)[gaps].mean())
            - _db(frame_power(out, period)[gaps].mean()),
            "stoi_in": float(stoi(clean[skip:], noisy[skip:], rate)),
            "stoi_out": float(stoi(clean[skip:], out[skip:], rate))}


def stage_costs(periods: int = 500) -> list[list]:
    """CPU (process time) per 20 ms period of each stage, and its own delay."""
    _, rate = board_room()
    period = rate // 50
    rng = np.random.default_rng(3)
    voice = _f(loop_to(speech.agent(rate), periods * period * 2))
    far = loop_to(speech.customer(rate), periods * period * 2)
    chunks = [(voice[i * period:(i + 1) * period] + rng.normal(0, 300, period))
              .astype("<i2").tobytes() for i in range(periods)]
    fars = [far[i * period * 2:(i + 1) * period * 2] for i in range(periods)]
    aec = MicCleanup(rate, period * 2)
    ns = MicCleanup(rate, period * 2)
    far_ns = NoiseRemoval(rate)
    level = LevelControl()
    limiter = Limiter(-6.0, rate)
    stages: list[tuple[str, str, Callable[[int], object]]] = [
        ("echo canceller + residual echo suppression (speaker)", "10 ms",
         lambda i: aec.process(chunks[i], "speaker", fars[i], denoise=False)),
        ("... with noise removal too (hands-free default)", "10 ms",
         lambda i: aec.process(chunks[i], "speaker", fars[i], denoise=True)),
        ("noise removal on the agent's mic (headset)", "10 ms",
         lambda i: ns.process(chunks[i], None, b"", denoise=True)),
        ("noise removal on the customer's audio", "5 ms", lambda i: far_ns.process(fars[i])),
        ("level control (mic)", "0", lambda i: level.process(chunks[i])),
        ("volume (received)", "0", lambda i: scale(fars[i], 7)),
        ("limiter (received, at the ear)", "0", lambda i: limiter.process(fars[i])),
    ]
    rows = []
    for name, delay, stage in stages:
        t = time.process_time()
        for i in range(periods):
            stage(i)
        rows.append([name, round((time.process_time() - t) / periods * 1e6), delay])
    return rows


def echo_rows(name: str, **room: float) -> list[list]:
    """One room's figures: a first call (the canceller fresh), then a second call with
    other words (the canceller as the first left it), then double talk once the canceller
    has learned the room, and from the first call's start (the gate still closing)."""
    first = echo_run(12.0, **room)                        # type: ignore[arg-type]
    second = echo_run(6.0, cleanup=first["cleanup"], voice="other", **room)  # type: ignore
    double = echo_run(12.0, near_from_s=5.0, **room)      # type: ignore[arg-type]
    early = echo_run(6.0, near_from_s=0.3, **room)        # type: ignore[arg-type]
    conv = convergence_s(first)
    return [[name, round(erle(first, 4, 12), 1), round(erle(first, 0, 1), 1),
             "never" if conv is None else conv, round(erle(second, 0, 1), 1),
             round(erle(second, 1, 6), 1), round(erle(double, 2, 5), 1),
             round(double_talk_kept(double, 5.0), 1), round(double_talk_kept(early, 0.3), 1)]]


def run(rate: int | None = None) -> str:
    global RATE
    RATE = rate
    out = [table("Echo cancellation on hands-free, customer speech (sim-room board: -6 dB echo "
                 "path, 10 ms, 120 ms RT60, 80 ms card buffer, speaker tanh drive 1.5); "
                 "goals: >= 30 dB, converged within 1 s, <= 6 dB of the agent's speech lost",
                 ["speaker", "ERLE 4-12 s", "0-1 s", "25 dB from (s)", "2nd call 0-1 s",
                  "2nd call 1-6 s", "before double talk", "agent kept in double talk (dB)",
                  "from the call's start"],
                 echo_rows("volume 5 (default)", volume=5)
                 + echo_rows("volume 10 (max)", volume=10)
                 + echo_rows("volume 10, linear speaker", volume=10, drive=0))]
    rows = []
    for noise in ("white", "pink", "floor"):
        for snr in (0.0, 10.0):
            r = noise_run(noise, snr)
            rows.append([f"agent's mic, {noise}, {snr:g} dB", round(r["snr_in"], 1),
                         round(r["snr_out"], 1), round(r["snr_out"] - r["snr_in"], 1),
                         round(r["noise_cut"], 1), round(r["stoi_in"], 3),
                         round(r["stoi_out"], 3)])
    _, rate = board_room()
    far = NoiseRemoval(rate)
    r = noise_run("pink", 0.0, denoiser=far.process)
    rows.append(["customer's audio, pink, 0 dB", round(r["snr_in"], 1), round(r["snr_out"], 1),
                 round(r["snr_out"] - r["snr_in"], 1), round(r["noise_cut"], 1),
                 round(r["stoi_in"], 3), round(r["stoi_out"], 3)])
    out.append(table("Noise removal (goal: SNR gain >= 15 dB on stationary noise, STOI kept)",
                     ["mix", "SNR in", "SNR out", "gain", "noise cut dB", "STOI in",
                      "STOI out"], rows))
    out.append(table(f"CPU per 20 ms period, {rate} Hz, this machine (process time)",
                     ["stage", "us/period", "own delay"], stage_costs()))
    return "\n".join(out)
