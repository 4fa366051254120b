"""spandsp's packet loss concealment, through ctypes: ``Plc`` hears a call's received audio
and makes up what a lost packet would have said (the last pitch period repeated and
overlapped, fading to silence over 50 ms; ITU G.711 Appendix I's method), then blends the
next real audio in.

libspandsp is Debian's ``libspandsp2`` (main, every architecture); its PLC is a plain C API
of four calls, on mono S16 in native byte order at any rate (its pitch search, tuned for
8 kHz, spans 66-200 Hz there and 133-400 Hz at 16 kHz). One state per stream, one owner.
"""
from __future__ import annotations

import ctypes
import functools
from typing import Any

from . import clib
from .clib import INT, INT16P, VOIDP

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
    """One received stream's concealment state."""

    def __init__(self) -> None:
        self._lib = _load()
        self._state = self._lib.plc_init(None)
        if not self._state:
            raise MemoryError("plc_init failed")

    def heard(self, pcm: bytes) -> bytes:
        """Real audio (mono S16): remembered for the next loss; returned with its start
        blended into the concealment when one came just before it."""
        n = len(pcm) // 2
        buf = (ctypes.c_int16 * n).from_buffer_copy(pcm[:n * 2])
        self._lib.plc_rx(self._state, buf, n)
        return bytes(buf)

    def fill(self, samples: int) -> bytes:
        """``samples`` of made-up audio for a lost packet."""
        buf = (ctypes.c_int16 * samples)()
        self._lib.plc_fillin(self._state, buf, samples)
        return bytes(buf)

    def __del__(self) -> None:
        if getattr(self, "_state", None):
            self._lib.plc_free(self._state)
            self._state = None
