"""Give the memory of calls that have ended back to the system.

A call's media (baresip's audio streams and buffers, jitter buffers, codec state) is allocated
on the stack's own thread, in a glibc malloc arena of its own. When the calls end, that memory
is freed but glibc keeps it for later: after a burst of calls (an INVITE flood) the phone's
resident memory would stay at the burst's peak for good. ``malloc_trim(0)`` hands the free
pages of every arena back to the kernel. Without glibc (another libc) it does nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("hardphone.sip")

_libc = None


def _malloc_trim():
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _libc.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):
            _libc = False
    return _libc.malloc_trim if _libc else None


def release_free_memory() -> bool:
    """Return the freed heap to the kernel; True if anything was released."""
    trim = _malloc_trim()
    return bool(trim and trim(0))
