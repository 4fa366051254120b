"""The agent's voice into the SIP stack (firmware/sip/media.py CallMedia.send): no period of
lead, and a backlog left by a stall is cut back, so the voice's delay returns to one tick.

The stand-in is the stack's transmit buffer as baresip-python's aumem source has it: writes
queue, every 20 ms tick sends one period (silence when it is empty)."""
from dataclasses import dataclass

from firmware.sip.media import CATCH_UP_PERIODS, CallMedia

PERIOD = 320            # 20 ms at 8 kHz, mono S16_LE


@dataclass
class Info:
    tx_ready: bool
    tx_sample_rate: int
    tx_channels: int
    tx_buffered: int


class TxBuffer:
    def __init__(self):
        self.queued = bytearray()
        self.sent: list[bytes] = []

    def info(self):
        return Info(True, 8000, 1, len(self.queued))

    def write(self, pcm):
        self.queued += pcm
        return len(pcm)

    def tick(self):
        frame = bytes(self.queued[:PERIOD]) or bytes(PERIOD)
        del self.queued[:PERIOD]
        self.sent.append(frame)


class FakeCall:
    def __init__(self):
        self.audio = TxBuffer()


def period(n: int) -> bytes:
    return bytes([n % 250 + 1]) * PERIOD


def test_each_period_goes_out_at_the_next_tick_with_no_lead():
    call = FakeCall()
    media = CallMedia("c1", call)
    for n in range(100):
        media.send(period(n), 8000)
        call.audio.tick()
    assert call.audio.sent == [period(n) for n in range(100)]     # no silence ahead of it
    assert media.tx_skipped == 0


def test_a_backlog_left_by_a_stall_is_cut_after_a_second_not_kept_for_the_call():
    call = FakeCall()
    media = CallMedia("c1", call)
    media.send(period(0), 8000)
    call.audio.tick()
    call.audio.tick()                   # the mic was late: the stack sent 20 ms of silence
    for n in range(1, 3 * CATCH_UP_PERIODS):
        media.send(period(n), 8000)
        if n != 1:                      # ... and the late period and the next came together
            call.audio.tick()
    assert media.tx_skipped == 1
    # once the skipped period is behind it, each period is sent at the tick after it came
    assert len(call.audio.queued) == 0
    assert call.audio.sent[-CATCH_UP_PERIODS:] == [
        period(n) for n in range(2 * CATCH_UP_PERIODS, 3 * CATCH_UP_PERIODS)]
