"""A call's received audio at the phone's rate. baresip-python's receive tap hands out the
decoded audio at the codec's own rate and channels (PCMU 8 kHz, G.722 16 kHz, Opus 48 kHz
stereo), whatever ``auplay_srate`` says; the phone plays mono at its board's rate, so this
converts: stereo mixed down, then resampled by libsamplerate (streaming: its state carries
across the 20 ms pieces, so the joins make no clicks). Packets the tap never delivered (lost)
are made up at the phone's rate (audio/concealment.py)."""
from __future__ import annotations

import numpy as np

from firmware.audio.concealment import Concealment, concealment
from firmware.audio.resampler import Resampler, s16le

# what the tap delivers for each codec ("<name>/<audio rate>", codec.py): (Hz, channels)
_OPUS_CHANNELS = 2


def decoded_format(codec: str) -> tuple[int, int]:
    """"pcmu/8000" -> (8000, 1); "opus/48000" -> (48000, 2); (0, 0) when unknown."""
    name, _, rate = codec.partition("/")
    if not rate.isdigit():
        return 0, 0
    return int(rate), _OPUS_CHANNELS if name == "opus" else 1


class ReceivedAudio:
    """One call's received audio, converted to mono S16_LE at ``rate``."""

    def __init__(self, rate: int, conceal: bool = True) -> None:
        """``conceal``: False for a listener that only converts (the test customers)."""
        self.rate = rate
        self._source = (0, 0)
        self._resampler: Resampler | None = None
        self._concealment: Concealment | None = concealment(rate) if conceal else None

    @property
    def concealed(self) -> int:
        """Packets made up so far (lost ones)."""
        return self._concealment.concealed if self._concealment else 0

    def take(self, now: float, pcm: bytes, codec: str) -> bytes:
        """What to play of a poll of the tap at ``now`` that read ``pcm`` (maybe nothing):
        converted, and a lost packet made up when one is overdue."""
        if pcm:
            pcm = self.convert(pcm, codec)
        return self._concealment.heard(now, pcm) if self._concealment else pcm

    def convert(self, pcm: bytes, codec: str) -> bytes:
        source, channels = decoded_format(codec)
        if not source or (source, channels) == (self.rate, 1):
            return pcm                       # unknown yet, or already what the phone plays
        x = np.frombuffer(pcm[:len(pcm) - len(pcm) % (2 * channels)], dtype="<i2")
        mono = x.reshape(-1, channels).mean(axis=1) if channels > 1 else x.astype(np.float64)
        if source == self.rate:
            return np.round(mono).astype("<i2").tobytes()
        if (source, channels) != self._source or self._resampler is None:
            self._source, self._resampler = (source, channels), Resampler()
        return s16le(self._resampler.process(mono / 32768, self.rate / source))
