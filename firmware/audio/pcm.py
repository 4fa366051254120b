"""Mono S16_LE, the sample format of every PCM and call here, as an ``array("h")`` of
samples on any host (the boards are little-endian; the conversion keeps a big-endian one
right). Pure stdlib: this runs on the phone."""
from __future__ import annotations

import sys
from array import array

FULL_SCALE = 32767


def samples(data: bytes) -> array:
    """S16_LE bytes -> samples."""
    pcm = array("h", data)
    if sys.byteorder == "big":
        pcm.byteswap()
    return pcm


def s16le(pcm: array) -> bytes:
    """Samples -> S16_LE bytes (``pcm`` is left as it was)."""
    if sys.byteorder == "big":
        pcm = array("h", pcm)
        pcm.byteswap()
    return pcm.tobytes()
