"""Noise removal on the customer's audio, end to end: a caller on a noisy line (speech from
espeak-ng with white noise 10 dB under it, played by a customers process) talks to agent
1001 on the handset; the centre's admin turns customer_noise_removal on mid-call (ccsim's
admin API): what the handset plays (the sim board's handset PCM file) keeps the caller's
speech and loses most of the noise between their words."""
import time

import numpy as np

from tests.audio import RATE
from tools import speech

CALLER = "+15550004444"


def noisy_speech(path, snr_db: float = 10.0) -> None:
    said = np.frombuffer(speech.customer(RATE), "<i2").astype(float)
    active = said[np.abs(said) > 300]
    rms = np.sqrt(np.mean(active ** 2))
    noise = np.random.default_rng(4).normal(0, rms * 10 ** (-snr_db / 20), len(said))
    path.write_bytes(np.clip(said + noise, -32768, 32767).astype("<i2").tobytes())


def floor_and_speech(handset, seconds: float) -> tuple[float, float]:
    """(the quietest tenth, the loudest tenth) of the 20 ms frames the handset played in the
    last ``seconds``, in dBFS: the noise between the caller's words, and their words."""
    pcm = np.frombuffer(handset.read_bytes(), "<i2").astype(float)
    pcm = pcm[-int(seconds * RATE) // 160 * 160:]
    power = np.mean(pcm.reshape(-1, 160) ** 2, axis=1)
    db = 10 * np.log10(np.maximum(power, 1e-3) / 32768 ** 2)
    return float(np.percentile(db, 10)), float(np.percentile(db, 90))


def test_the_admin_turns_on_noise_removal_and_the_agent_hears_the_caller_without_the_hiss(
        lab, desk, tmp_path):
    sound = tmp_path / "noisy.raw"
    noisy_speech(sound)
    handset = desk.phone.workdir / "state" / "run" / "audio" / "handset.raw"
    caller = lab.customers_process()
    try:
        caller.send(op="dial", contact="hiss", to=lab.extension_uri("1001"), ani=CALLER,
                    personal=True, talk_s=60, sound=str(sound))
        desk.wait_lcd(CALLER)
        desk.hook(True)
        desk.wait_status(calls="1", nr_customer="off")
        time.sleep(8)
        noisy_floor, noisy_words = floor_and_speech(handset, 6)
        lab.ccsim.call("PATCH", "/settings", {"customer_noise_removal": True})
        desk.wait_status(nr_customer="on")
        time.sleep(8)                              # the noise estimate learns in a second or two
        clean_floor, clean_words = floor_and_speech(handset, 5)
        assert noisy_floor - clean_floor >= 10, (noisy_floor, clean_floor)
        assert clean_words > noisy_words - 4, (noisy_words, clean_words)
        desk.hook(False)
    finally:
        caller.close()
