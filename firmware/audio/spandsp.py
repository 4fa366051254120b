"""spandsp's packet loss concealment, through ctypes: ``Plc`` hears a call's received audio
and makes up what a lost packet would have said (the last pitch period repeated and
overlapped, fading to silence over 50 ms; ITU G.711 Appendix I's method), then blends the
next real audio in.

libspandsp is Debian's ``libspandsp2`` (main, every architecture); its PLC is a plain C API
of four calls, on mono S16 in native byte order. It counts in samples tuned for 8 kHz: at
16 kHz its fade would take 25 ms and its pitch search span 133-400 Hz, missing a man's voice
and leaving two lost packets in a row half silent. So a wideband stream is heard by it at 8
kHz (each group of samples averaged: a narrowband shadow of the call), and what it makes up
is brought back to the stream's rate by linear interpolation; where it blends the next real
audio in, its change to the shadow is brought back and added to the real audio. The made-up
audio is narrowband, which a 20-50 ms guess is anyway. One state per stream, one owner.
"""
from __future__ import annotations

import ctypes
import functools
from typing import Any

import numpy as np

from . import clib
from .clib import INT, INT16P, VOIDP

NARROWBAND = 8000       # the rate spandsp's PLC is tuned for


class SpandspMissing(RuntimeError):
    """libspandsp is not installed: lost packets stay gaps, calls still work."""


@functools.cache
def _load() -> Any:
    return clib.load("spandsp", "libspandsp.so.2", "libspandsp2", SpandspMissing, (
        ("plc_init", (VOIDP,), VOIDP),
        ("plc_rx", (VOIDP, INT16P, INT), INT),
        ("plc_fillin", (VOIDP, INT16P, INT), INT),
        ("plc_free", (VOIDP,), INT)))


class Plc:
    """One received stream's concealment state, at ``rate`` (8 kHz or a multiple)."""

    def __init__(self, rate: int = NARROWBAND) -> None:
        if rate % NARROWBAND:
            raise ValueError(f"{rate} Hz is not a multiple of {NARROWBAND}")
        self._lib = _load()
        self._state = self._lib.plc_init(None)
        if not self._state:
            raise MemoryError("plc_init failed")
        self._factor = rate // NARROWBAND
        self._filling = False                # the last packet was made up
        self._last = 0.0                     # the stream's last sample, made up or real

    def heard(self, pcm: bytes) -> bytes:
        """Real audio (mono S16): remembered for the next loss; returned with its start
        blended into the concealment when one came just before it."""
        n = len(pcm) // 2
        if self._factor == 1:
            buf = (ctypes.c_int16 * n).from_buffer_copy(pcm[:n * 2])
            self._lib.plc_rx(self._state, buf, n)
            return bytes(buf)
        x = np.frombuffer(pcm[:n * 2], dtype=np.int16)
        narrow = self._narrow(x)
        buf = (ctypes.c_int16 * len(narrow)).from_buffer_copy(narrow.astype(np.int16).tobytes())
        self._lib.plc_rx(self._state, buf, len(narrow))
        if self._filling:                    # the blend, brought back to the stream's rate
            blend = np.frombuffer(bytes(buf), dtype=np.int16).astype(np.float64) - narrow
            x = np.clip(x + self._wide(blend, blend[0])[:n], -32768, 32767).astype(np.int16)
            self._filling = False
        if n:
            self._last = float(x[-1])
        return x.tobytes()

    def fill(self, samples: int) -> bytes:
        """``samples`` of made-up audio for a lost packet."""
        if self._factor == 1:
            buf = (ctypes.c_int16 * samples)()
            self._lib.plc_fillin(self._state, buf, samples)
            return bytes(buf)
        narrow = (ctypes.c_int16 * -(-samples // self._factor))()
        self._lib.plc_fillin(self._state, narrow, len(narrow))
        made = self._wide(np.frombuffer(bytes(narrow), dtype=np.int16).astype(np.float64),
                          self._last)[:samples]
        out = np.clip(np.round(made), -32768, 32767).astype(np.int16)
        self._filling, self._last = True, float(out[-1]) if samples else self._last
        return out.tobytes()

    def _narrow(self, x: np.ndarray) -> np.ndarray:
        """The shadow at 8 kHz: each group of samples averaged (a short low-pass)."""
        groups = len(x) // self._factor
        return x[:groups * self._factor].reshape(groups, self._factor).mean(axis=1).round()

    def _wide(self, narrow: np.ndarray, before: float) -> np.ndarray:
        """8 kHz samples back at the stream's rate: each stands at its group's centre, the
        ones between interpolated, from ``before`` (the sample just before them)."""
        f = self._factor
        centres = np.arange(len(narrow)) * f + (f - 1) / 2
        return np.interp(np.arange(len(narrow) * f), np.concatenate(([-1.0], centres)),
                         np.concatenate(([before], narrow)))

    def __del__(self) -> None:
        if getattr(self, "_state", None):
            self._lib.plc_free(self._state)
            self._state = None
