"""The two libspeexdsp states the phone's voice processing uses, through ctypes: the echo
canceller (MDF adaptive filter) and the preprocessor (noise suppression, and the residual
echo suppression that finishes the canceller's work).

libspeexdsp is Debian's ``libspeexdsp1`` (main, every architecture): a plain, long-stable C
API, so a binding of a dozen calls beats an unmaintained PyPI wrapper. Frames are mono S16
in native byte order (the boards are little-endian, as is the PCM), a fixed ``frame``
samples each. Neither state is thread-safe: each has one owner.
"""
from __future__ import annotations

import ctypes
import functools
from typing import Any

from . import clib
from .clib import INT, INT16P, VOIDP

# speex/speex_echo.h and speex/speex_preprocess.h
_ECHO_SET_SAMPLING_RATE = 24
_PP_SET_DENOISE = 0
_PP_SET_NOISE_SUPPRESS = 18
_PP_SET_ECHO_SUPPRESS = 20
_PP_SET_ECHO_SUPPRESS_ACTIVE = 22
_PP_SET_ECHO_STATE = 24

class SpeexMissing(RuntimeError):
    """libspeexdsp is not installed: voice processing is off, calls still work."""


@functools.cache
def _load() -> Any:
    return clib.load("speexdsp", "libspeexdsp.so.1", "libspeexdsp1", SpeexMissing, (
        ("speex_echo_state_init", (INT, INT), VOIDP),
        ("speex_echo_state_destroy", (VOIDP,), None),
        ("speex_echo_state_reset", (VOIDP,), None),
        ("speex_echo_cancellation", (VOIDP, INT16P, INT16P, INT16P), None),
        ("speex_echo_ctl", (VOIDP, INT, VOIDP), INT),
        ("speex_preprocess_state_init", (INT, INT), VOIDP),
        ("speex_preprocess_state_destroy", (VOIDP,), None),
        ("speex_preprocess_run", (VOIDP, INT16P), INT),
        ("speex_preprocess_ctl", (VOIDP, INT, VOIDP), INT)))


def _int(value: int) -> Any:
    return ctypes.byref(ctypes.c_int(value))


def _frame(data: bytes, n: int) -> Any:
    if len(data) != 2 * n:
        raise ValueError(f"{len(data)} bytes is not one {n}-sample frame")
    return (ctypes.c_int16 * n).from_buffer_copy(data)


class EchoState:
    """The adaptive filter that learns the echo path (speaker -> room -> mic) and subtracts
    its estimate of the echo from the mic. ``tail_ms`` is the longest echo it models: the
    card's buffers plus the room's reverberation."""

    def __init__(self, rate: int, frame: int, tail_ms: int) -> None:
        self._lib, self.frame = _load(), frame
        self._st = self._lib.speex_echo_state_init(frame, rate * tail_ms // 1000)
        self._lib.speex_echo_ctl(self._st, _ECHO_SET_SAMPLING_RATE, _int(rate))

    @property
    def handle(self) -> Any:
        return self._st

    def cancel(self, mic: bytes, played: bytes) -> bytes:
        """``mic`` with the echo of ``played`` (what the speaker played as ``mic`` was
        recorded) taken out; both one frame."""
        out = (ctypes.c_int16 * self.frame)()
        self._lib.speex_echo_cancellation(self._st, _frame(mic, self.frame),
                                          _frame(played, self.frame), out)
        return bytes(out)

    def reset(self) -> None:
        self._lib.speex_echo_state_reset(self._st)

    def __del__(self) -> None:
        if getattr(self, "_st", None):
            self._lib.speex_echo_state_destroy(self._st)


class Preprocessor:
    """Noise suppression (``denoise``: stationary noise taken down by up to
    ``suppress_db``) and, linked to an EchoState, the residual echo suppression the linear
    filter leaves to it. Its output lags its input by one frame (its analysis window).

    speex applies its gains, the echo's included, only with its denoiser enabled: so it
    stays enabled, and ``denoise`` off sets the noise's floor to 0 dB (left as it is)."""

    def __init__(self, rate: int, frame: int, denoise: bool, suppress_db: int = -30,
                 echo: EchoState | None = None) -> None:
        self._lib, self.frame = _load(), frame
        self._st = self._lib.speex_preprocess_state_init(frame, rate)
        self._suppress_db = suppress_db
        self._lib.speex_preprocess_ctl(self._st, _PP_SET_DENOISE, _int(1))
        self.denoise = denoise
        if echo is not None:
            self._echo = echo                 # kept alive as long as the link
            self._lib.speex_preprocess_ctl(self._st, _PP_SET_ECHO_STATE, echo.handle)
            self._lib.speex_preprocess_ctl(self._st, _PP_SET_ECHO_SUPPRESS, _int(-40))
            self._lib.speex_preprocess_ctl(self._st, _PP_SET_ECHO_SUPPRESS_ACTIVE, _int(-15))

    @property
    def denoise(self) -> bool:
        return self._denoise

    @denoise.setter
    def denoise(self, on: bool) -> None:
        if on == getattr(self, "_denoise", None):      # set every period: a call only on change
            return
        self._denoise = on
        self._lib.speex_preprocess_ctl(self._st, _PP_SET_NOISE_SUPPRESS,
                                       _int(self._suppress_db if on else 0))

    def run(self, data: bytes) -> bytes:
        buf = _frame(data, self.frame)
        self._lib.speex_preprocess_run(self._st, buf)
        return bytes(buf)

    def __del__(self) -> None:
        if getattr(self, "_st", None):
            self._lib.speex_preprocess_state_destroy(self._st)
