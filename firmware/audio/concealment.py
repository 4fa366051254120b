"""Packet loss concealment on the phone. The stack's receive tap hands over each 20 ms packet
the jitter buffer plays, on the buffer's 20 ms tick, and nothing at all for a packet that
was lost, for every codec (measured: a 10% loss leaves the received audio 10% short, with
Opus in-band FEC on both ends too). Played as it comes, each loss is a 20 ms hole, a click,
and a card that runs dry.

``Concealment`` keeps the tick: a packet not in GUARD_S after its tick is taken for lost,
and spandsp's PLC (spandsp.py) makes it up; the real audio after it is blended in. A packet
that was only late (the jitter buffer plays those at once, between ticks) arrives after its
place was filled: it is dropped, so the delay stays what the jitter buffer chose. At most
MAX_FILL packets in a row are made up (100 ms: the PLC has faded to silence long before):
beyond that the far end has paused (hold, silence suppression), and the tick starts again
with the next packet.

The tick is found from the arrivals, which the 5 ms poll sees late by 0-5 ms but never
early: the earliest one wins at once, later ones pull it only slowly (the jitter buffer moves
its playout when it adapts). Pure: the caller says what time it is.
"""
from __future__ import annotations

import logging
import math

from .spandsp import Plc, SpandspMissing

log = logging.getLogger("hardphone.audio")

FRAME_S = 0.020          # the packets' length (ptime): the tick
GUARD_S = 0.010          # a packet this long past its tick is lost
ON_TIME_S = 0.003        # a packet seen this long before its tick is still on time
MAX_FILL = 5             # packets made up in a row at most
FOLLOW = 0.05            # how much of a late arrival moves the tick (per packet)


class Concealment:
    """One call's received audio (mono S16 at ``rate``) with its lost packets made up."""

    def __init__(self, rate: int) -> None:
        self._frame_bytes = int(rate * FRAME_S) * 2
        self._plc = Plc(rate)
        self._next: float | None = None      # the tick the next packet is due at
        self._filled = 0                     # packets made up since the last real one
        self._owed = 0                       # made up, and might still come (late)
        self.concealed = 0                   # packets made up, this call
        self.dropped = 0                     # late packets dropped: made up already

    def heard(self, now: float, pcm: bytes) -> bytes:
        """What to play after a poll at ``now`` that read ``pcm`` (maybe nothing)."""
        if pcm:
            return self._real(now, pcm)
        if (self._next is None or now < self._next + GUARD_S
                or self._filled >= MAX_FILL):
            return b""
        self._next += FRAME_S
        self._filled += 1
        self._owed += 1
        self.concealed += 1
        return self._plc.fill(self._frame_bytes // 2)

    def _real(self, now: float, pcm: bytes) -> bytes:
        frames = max(1, round(len(pcm) / self._frame_bytes))
        if self._next is None or self._filled >= MAX_FILL:      # the stream (re)starts
            self._next, self._owed = now - (frames - 1) * FRAME_S, 0
        due = (0 if now + ON_TIME_S < self._next
               else math.floor((now + ON_TIME_S - self._next) / FRAME_S) + 1)
        drop = min(self._owed, frames - min(due, frames))
        if drop:                        # late packets whose places were made up already
            pcm = pcm[drop * self._frame_bytes:]
            self.dropped += drop
            frames -= drop
        self._owed = 0 if frames else self._owed - drop
        if not frames:
            return b""
        newest = self._next + (frames - 1) * FRAME_S   # the tick of the last packet in
        late = now - newest
        newest = now if late < 0 else newest + late * FOLLOW
        self._next, self._filled = newest + FRAME_S, 0
        return self._plc.heard(pcm)


def concealment(rate: int) -> Concealment | None:
    """A Concealment, or None (and the reason logged, once) without libspandsp."""
    global _missing_logged
    try:
        return Concealment(rate)
    except SpandspMissing as e:
        if not _missing_logged:
            log.error("lost packets stay gaps (no concealment): %s", e)
            _missing_logged = True
        return None


_missing_logged = False
