"""A room's recording on the bridge: what everyone in the room says, summed (the mix nobody
hears whole: each leg hears the others), 8 kHz mono 16-bit WAV, one 20 ms frame per tick.

The bridge terminates every leg's media (SRTP included: it is the user agent), so the
recording is made of the decoded audio it mixes anyway: no second media path to key. While
paused, silence is written, so the file's timeline stays the call's (where a pause began and
ended can be read off it). Python's ``wave`` patches the header's sizes after every write, so
a bridge killed mid-call leaves a file that reads up to its last frame.
"""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

Frames = npt.NDArray[np.int16]


class RoomRecorder:
    def __init__(self, path: Path, rate: int, frame: int) -> None:
        """Start recording into ``path`` (a new .wav; an existing one is replaced)."""
        self.path, self.frame = path, frame
        self._wav = wave.open(str(path), "wb")
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(rate)
        self.rate = rate
        self.paused = False
        self.frames = 0                   # 20 ms frames written

    @property
    def seconds(self) -> float:
        return self.frames * self.frame / self.rate

    def write(self, said: list[Frames]) -> None:
        """One tick: what each leg in the room said (none: silence)."""
        if self.paused or not said:
            mix = np.zeros(self.frame, np.int16)
        else:
            wide = np.sum(np.stack(said).astype(np.int32), axis=0)
            mix = np.clip(wide, -32768, 32767).astype(np.int16)
        self._wav.writeframes(mix.astype("<i2").tobytes())
        self.frames += 1

    def close(self) -> None:
        self._wav.close()
