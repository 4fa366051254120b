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
import ctypes.util
from typing import Any

_lib: Any = None


class SpandspMissing(RuntimeError):
    """libspandsp is not installed: lost packets stay gaps, calls still work."""


def _load() -> Any:
    global _lib
    if _lib is None:
        name = ctypes.util.find_library("spandsp") or "libspandsp.so.2"
        try:
            lib = ctypes.CDLL(name)
        except OSError as e:
            raise SpandspMissing(f"libspandsp not found ({e}): apt-get install libspandsp2") \
                from e
        vp, i16p, c_int = ctypes.c_void_p, ctypes.POINTER(ctypes.c_int16), ctypes.c_int
        for fn, args, res in (("plc_init", (vp,), vp),
                              ("plc_rx", (vp, i16p, c_int), c_int),
                              ("plc_fillin", (vp, i16p, c_int), c_int),
                              ("plc_free", (vp,), c_int)):
            f = getattr(lib, fn)
            f.argtypes, f.restype = args, res
        _lib = lib
    return _lib


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
