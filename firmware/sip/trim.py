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
import functools


@functools.cache
def _malloc_trim():
    """glibc's malloc_trim, or None without it."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None


def release_free_memory() -> bool:
    """Return the freed heap to the kernel; True if anything was released."""
    trim = _malloc_trim()
    return bool(trim and trim(0))
