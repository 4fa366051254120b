"""A call's media: the agent's voice out, the far end's audio in, and the RTP counters.

Signalling (registration, calls coming and going, answer/hold/resume/hangup) is stack.py's;
this module only moves PCM through baresip's per-call audio taps (``call.audio``) and counts
it. Audio goes through baresip's default ``aumem`` driver here. On the device the board's
named ALSA PCMs are selected with ``Config(audio_player="alsa,<pcm>",
audio_source="alsa,<pcm>")``; baresip bundles its own libasound, so ALSA_PLUGIN_DIR must name
Debian's alsa-lib directory for plugin-backed PCMs.
"""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterable

from baresip import AudioNotActive, AudioRestarted, BaresipError, Call

from ..audio.drift import stretched

log = logging.getLogger("hardphone.sip")

# The receive tap has no callback, so it is polled: often enough during calls that a frame
# waits at most 5 ms to go on to the earpiece (a 20 ms poll held one ~10 ms on average), and
# rarely when no call is up
RX_POLL_S = 0.005
RX_IDLE_POLL_S = 0.05
RX_READ_MAX = 65536
PCMU_FRAME_BYTES = 320       # decoded bytes per packet: PCMU, 8 kHz, 20 ms
# A whole period still queued at every write for this long is a backlog that no longer helps
# (a stall passed, or the mic's clock runs fast): one period is skipped to win 20 ms back
CATCH_UP_PERIODS = 50
# ... but at once in the first periods of a voice starting to flow (a call answered, the mic
# unmuted): a mic just opened may hand over what it held at once, and nobody has spoken yet;
# and right after a gap (periods handed in after their ticks, the stack sent silence): the
# late periods and the next come together, and the lead they leave, a frame per silent
# packet, is the gap's, cut with it (one event for the customer, not a gap now and a skip a
# second later; a lead with no gap before it may be the stack's tick running late, which
# its next tick takes back) ...
START_PERIODS = 10
# ... unless this is the REGAPS-th gap in REGAP_S: gaps that come again and again (the mic's
# periods due just before the stack's tick) are what a standing lead stops
REGAPS, REGAP_S = 3, 10.0
# Voice handed in less than this after the last period is flowing: a silent packet between
# them is a gap (longer: muted, held, or the mic reopening)
FLOWING_S = 0.2
# A voice that follows a drifting card (a sample or so short or long per period) leaves a
# frame and this much more queued for the stack's next tick at each write (the margin a tick
# needs when two periods come in one tick, and the next in none), plus how late the host
# hands the mic's periods over (drift.CardClock.jitter_s): a period that late, due just
# before a tick, still finds the frame before it there (else a padded packet each time)
MARGIN_S = 0.001
# ... by stretching the period by at most this (inaudible: a lead lost to a stall, or a
# jitter that grew, is built back over a few periods)
MAX_STRETCH_S = 0.0015
# What waits for the tick of a followed voice runs from its margin to a frame more (its
# ticks pass the stack's); what stands beyond that and this much (the stretches a period
# late by the scheduler brings) is taken back MAX_STRETCH_S a period, and a whole frame more
# is a backlog skipped. (A skipped frame less than a frame beyond it left the next crossing
# of the ticks a tick short: a padded packet for each standing half lead a stall leaves.)
FOLLOWING_SLACK_S = 0.005

OnAudio = Callable[[str, bytes], None]      # (call id, mono S16_LE PCM at the call's rate)


class CallMedia:
    """One call's audio streams and their counters."""

    def __init__(self, call_id: str, call: Call) -> None:
        self.call_id, self._call = call_id, call
        self.tx_format = ""          # "" unchecked, "ok" or "other": the send format vs the mic's
        self.tx_periods = 0          # periods of the agent's voice handed to the stack
        self.tx_skipped = 0          # periods skipped to cut a standing backlog
        self._behind = 0             # writes in a row that found a whole period still queued
        self.tx_gaps = 0             # silent packets sent between two periods of the voice
        self._tx_frame = self._margin = self._max_stretch = self._slack = 0     # bytes
        self._silence: int | None = None    # the stack's silent-packet count at the last write
        self._last_write = 0.0
        self._flow = 0               # periods handed in since the voice started flowing
        self._gap_lead = 0           # writes after a gap that may cut its lead: one per packet
        self._gap_now = False        # this write found the gap (it is the late period itself)
        self._gaps_at: deque[float] = deque(maxlen=REGAPS - 1)    # host times of the last gaps
        self.rx_bytes = 0            # decoded audio taken from the receive tap so far
        self.frame_bytes = PCMU_FRAME_BYTES

    def send(self, pcm: bytes, rate: int, now: float, following: bool = False,
             jitter_s: float = 0.0) -> None:
        """The agent's voice: mono S16_LE at ``rate`` Hz, about one period (a mic
        ``following`` a drifting card makes it a sample or so longer or shorter; ``jitter_s``:
        how late the host hands its periods over), handed in at host time ``now`` (s).
        Dropped while the call has no media (not answered, renegotiating, gone)."""
        audio = self._call.audio
        for _ in range(2):
            try:
                if not self.tx_format:
                    info = audio.info()
                    if not info.tx_ready:
                        return
                    self.tx_format = ("ok" if (info.tx_sample_rate, info.tx_channels)
                                      == (rate, 1) else "other")
                    self._tx_frame = rate * 2 * (info.tx_ptime_ms or 20) // 1000
                    self._margin = 2 * round(rate * MARGIN_S)
                    self._slack = 2 * round(rate * FOLLOWING_SLACK_S)
                    self._max_stretch = 2 * round(rate * MAX_STRETCH_S)
                    self._silence = None
                    if self.tx_format == "other":
                        log.error("call %s sends %d Hz x%d but the mic gives %d Hz mono: "
                                  "the customer hears silence", self.call_id,
                                  info.tx_sample_rate, info.tx_channels, rate)
                    # No period of lead: each period goes out at the stack's next 20 ms tick.
                    # A period handed in after that tick costs one 20 ms gap, once: the stack
                    # then holds it a tick, which is the lead, paid only when needed.
                if self.tx_format != "ok":
                    return
                st = audio.stats()
                self._count_gaps(st.tx_silence_frames, now)
                margin = self._margin + 2 * round(rate * jitter_s) if following else 0
                if self._catch_up(st.tx_buffered, margin):
                    return
                short = self._tx_frame + margin - st.tx_buffered - len(pcm)
                excess = st.tx_buffered - self._tx_frame - margin - self._slack
                if short > 0 and following:
                    # a fast card followed gives periods a sample short: the next tick would
                    # find less than the margin (a late period: a padded packet). What is
                    # sent is stretched by the shortfall, inaudibly (< 1% for a sample; a
                    # lead lost or a margin grown is built MAX_STRETCH_S a period), which
                    # builds the lead a followed stream needs (drift.py) a sample at a time
                    pcm = stretched(pcm, (len(pcm) + min(short, self._max_stretch)) // 2)
                elif excess > 0 and following:     # a stall's lead, or a margin shrunk
                    pcm = stretched(pcm, (len(pcm) - min(excess, self._max_stretch)) // 2)
                audio.write(pcm)
                self.tx_periods += 1
                return
            except AudioRestarted:        # hold/resume replaced the streams: check, write again
                self.tx_format = ""
            except AudioNotActive:
                return
            except BaresipError as e:
                log.warning("call %s: voice not sent: %s", self.call_id, e)
                return

    def _count_gaps(self, silence: int, now: float) -> None:
        """Packets the stack sent as silence because nothing was queued, between two periods
        of a flowing voice: gaps in it (the stack counts only those padded mid-frame)."""
        gaps = 0
        if self._silence is not None and now - self._last_write < FLOWING_S:
            gaps = max(0, silence - self._silence)
            self.tx_gaps += gaps
            self._flow += 1
        else:
            self._flow = self._gap_lead = 0
        self._gap_now = gaps > 0
        if gaps:
            again = len(self._gaps_at) == REGAPS - 1 and now - self._gaps_at[0] < REGAP_S
            self._gap_lead = 0 if again else gaps
            self._gaps_at.append(now)
        self._silence, self._last_write = silence, now

    def _catch_up(self, queued: int, margin: int) -> bool:
        """True to skip this period: the stack has held a whole frame back for a second, or
        at all just after the voice started or a gap (beyond what a followed voice keeps: its
        ``margin`` and the frame of lead the crossings of the card's ticks and the stack's
        need)."""
        backlog = self._tx_frame + (margin + self._tx_frame if margin else 0)
        self._behind = self._behind + 1 if queued >= backlog else 0
        gap_cut = self._gap_lead > 0 and not self._gap_now     # a write the gap made late
        self._gap_lead -= gap_cut
        at_once = self._flow < START_PERIODS or gap_cut
        if self._behind < (1 if at_once else CATCH_UP_PERIODS):
            return False
        self._behind = 0
        self.tx_skipped += 1
        return True

    def take_received(self) -> bytes:
        """Empty the call's receive tap into the count; returns what it held."""
        audio = self._call.audio
        pcm = b""
        for _ in range(2):
            try:
                pcm = bytes(audio.read(RX_READ_MAX))     # (baresip types it loosely)
                self.rx_bytes += len(pcm)
                info = audio.info()
            except AudioRestarted:        # hold/resume replaced the streams: read the new ones
                continue
            except AudioNotActive:        # not answered yet, or closing
                return pcm
            if info.rx_sample_rate:
                self.frame_bytes = (info.rx_sample_rate * info.rx_channels * 2
                                    * (info.tx_ptime_ms or 20) // 1000)
            return pcm
        return pcm

    def stats(self) -> dict[str, int]:
        """The call's media counters (see SipStack.stats)."""
        try:
            tx = self._call.audio.stats()
            starved, queued = tx.tx_starved_frames, tx.tx_buffered
        except BaresipError:          # no media (yet, or any more)
            starved = queued = 0
        return {"rx_packets": self.rx_bytes // self.frame_bytes,
                "tx_packets": self.tx_periods, "tx_starved": starved + self.tx_gaps,
                "tx_skipped": self.tx_skipped,
                "tx_queued_ms": queued * 20 // self.frame_bytes}


async def receive_forever(calls: Callable[[], Iterable[CallMedia]],
                          on_audio: OnAudio | None) -> None:
    """Every 5 ms during calls, empty each call's receive tap (counted) and hand the audio
    to ``on_audio``, which plays it on the route the agent chose; an empty read is handed
    on too (audio/concealment.py makes up a packet that is overdue)."""
    up: list[CallMedia] = []
    while True:
        await asyncio.sleep(RX_POLL_S if up else RX_IDLE_POLL_S)
        up = list(calls())
        for media in up:
            pcm = media.take_received()
            if on_audio is not None:         # nothing, too: a packet may be overdue (lost)
                try:
                    on_audio(media.call_id, pcm)
                except Exception:          # a player fault must not stop SIP
                    log.exception("call %s: received audio not played", media.call_id)
