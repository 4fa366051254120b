"""Packet loss concealment (firmware/audio/concealment.py) against a model of the stack's
receive tap: the jitter buffer hands over one 20 ms packet per tick (a little late now and
then), nothing for a lost one, a late one between ticks; the phone polls every 5 ms, now and
then held up by its loop. What the earpiece gets has no holes and no doubled packets."""
import numpy as np
import pytest

from firmware.audio.concealment import MAX_FILL, Concealment
from firmware.audio.spandsp import Plc

RATE = 8000
FRAME = RATE // 50
HZ = 440


def tone(k: int) -> bytes:
    """Packet ``k`` of a steady 440 Hz tone."""
    t = (np.arange(FRAME) + k * FRAME) / RATE
    return (8000 * np.sin(2 * np.pi * HZ * t)).astype("<i2").tobytes()


def listen(packets: int, lost=(), late=(), pause=range(0), stalls=(), seed: int = 1,
           late_s: float = 0.018):
    """Runs the tap and the poll; returns what was played and the Concealment."""
    rng = np.random.default_rng(seed)
    arrivals = []                     # (time, packet)
    for k in range(packets):
        if k in lost or k in pause:
            continue
        at = 1.0 + k * 0.020 + rng.uniform(0, 0.001)
        arrivals.append((at + (late_s if k in late else 0.0), k))
    arrivals.sort()
    c, out, tap = Concealment(RATE), [], list(arrivals)
    t = 0.0
    while t < arrivals[-1][0] + 0.008:            # until the last packet is in
        t += 0.005 + rng.uniform(0, 0.002)
        if any(a <= t < a + 0.030 for a in stalls):       # the loop busy elsewhere
            continue
        now = [tone(k) for a, k in tap if a <= t]
        tap = [(a, k) for a, k in tap if a > t]
        out.append(c.heard(t, b"".join(now)))
    return b"".join(out), c


def test_a_clean_stream_plays_as_it_came():
    played, c = listen(500, stalls=(3.0, 5.5))
    assert played == b"".join(tone(k) for k in range(500))
    assert c.concealed == 0 and c.dropped == 0


def test_each_lost_packet_is_made_up_in_its_place():
    lost = {50, 120, 121, 300, 301, 302}
    played, c = listen(500, lost=lost)
    assert c.concealed == len(lost) and c.dropped == 0
    assert len(played) == 500 * FRAME * 2            # no hole: the card never runs dry
    # what was made up carries on the tone: close to what was lost, not silence
    x = np.frombuffer(played, "<i2").astype(float)
    want = np.frombuffer(b"".join(tone(k) for k in range(500)), "<i2").astype(float)
    for k in (50, 120):
        part = slice(k * FRAME, (k + 1) * FRAME)
        assert np.corrcoef(x[part], want[part])[0, 1] > 0.9, k


@pytest.mark.parametrize("late_s", [0.018, 0.0205], ids=["between-ticks", "with-the-next"])
def test_a_late_packet_is_dropped_once_its_place_was_filled(late_s):
    played, c = listen(500, late={80, 200}, late_s=late_s)
    assert c.concealed == 2 and c.dropped == 2
    assert len(played) == 500 * FRAME * 2            # the delay did not grow


def test_a_pause_makes_up_little_and_the_stream_starts_again():
    played, c = listen(500, pause=range(100, 200))
    assert c.concealed == MAX_FILL and c.dropped == 0
    x = np.frombuffer(played, "<i2")
    assert len(x) == (400 + MAX_FILL) * FRAME
    made_up = x[100 * FRAME:(100 + MAX_FILL) * FRAME]
    assert np.abs(made_up[-FRAME:]).max() == 0       # faded to silence by then
    # after it: the stream as sent, its first packet blended into the fade
    assert x[(101 + MAX_FILL) * FRAME:].tobytes() == b"".join(tone(k) for k in range(201, 500))


@pytest.mark.parametrize("rate", [8000, 16000])
def test_nothing_heard_nothing_made_up(rate):
    c = Concealment(rate)
    assert all(c.heard(t / 100, b"") == b"" for t in range(100))
    assert c.concealed == 0


def test_without_spandsp_the_audio_plays_as_it_comes(monkeypatch, caplog):
    from firmware.audio import concealment, spandsp
    from firmware.sip.decoded import ReceivedAudio

    def missing():
        raise spandsp.SpandspMissing("libspandsp not found: apt-get install libspandsp2")
    monkeypatch.setattr(spandsp, "_load", missing)
    monkeypatch.setattr(concealment, "_missing_logged", False)
    received = ReceivedAudio(RATE)
    assert received.take(1.0, tone(0), "pcmu/8000") == tone(0)
    assert received.take(1.5, b"", "pcmu/8000") == b""           # a loss stays a gap
    assert received.concealed == 0
    ReceivedAudio(RATE)
    assert caplog.text.count("lost packets stay gaps") == 1      # said once


def voice(rate: int, k: int, f0: float = 110.0) -> bytes:
    """Packet ``k`` of a steady vowel at ``rate``: a man's 110 Hz and its harmonics to 3.5
    kHz, falling 6 dB an octave."""
    n = rate // 50
    t = (np.arange(n) + k * n) / rate
    x = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, int(3500 / f0) + 1))
    return (6000 * x).astype("<i2").tobytes()


@pytest.mark.parametrize("rate", [8000, 16000, 48000])
def test_two_lost_in_a_row_carry_the_voice_on_at_any_rate(rate):
    """spandsp's PLC counts in 8 kHz samples; a wideband stream is made up through an 8 kHz
    shadow (spandsp.py), so it fades over 50 ms as a narrowband one does, not 25 ms (16 kHz)
    or 8 (48 kHz), and carries on a 110 Hz voice (under the 133 Hz its pitch search would
    reach at 16 kHz)."""
    plc = Plc(rate)
    n = rate // 50
    for k in range(20):
        assert plc.heard(voice(rate, k)) == voice(rate, k)
    made = np.frombuffer(plc.fill(n) + plc.fill(n), "<i2").astype(float)
    want = np.frombuffer(voice(rate, 20) + voice(rate, 21), "<i2").astype(float)
    block = rate // 200                                    # 5 ms
    rms = np.sqrt((made.reshape(-1, block) ** 2).mean(axis=1))
    full = np.sqrt((want ** 2).mean())
    assert rms.min() > 0.15 * full, np.round(rms / full, 2)        # never near silence
    # the voice goes on (after the first pitch period's overlap with the last heard)
    assert np.corrcoef(made[n // 8:n // 2], want[n // 8:n // 2])[0, 1] > 0.8
    # the real voice comes back without a step: blended in from the made-up one
    back = np.frombuffer(plc.heard(voice(rate, 22)), "<i2").astype(float)
    assert abs(back[0] - made[-1]) < 0.1 * np.abs(want).max()
