"""A call's quality as the phone measured it (firmware/sip/quality.py): the G.107 E-model MOS
and the figures taken from the stack's CallStats."""
import types

import pytest

from firmware.sip.quality import Quality, measure, mos


def test_the_e_model_at_known_points():
    # no loss, no delay: R = 93.2, MOS = 1 + 0.035*93.2 + 93.2*33.2*6.8*7e-6 = 4.409
    assert mos(0, 0) == 4.41
    # 5 % random loss, G.711 with PLC (Bpl 25.1): Ie_eff = 95*5/(5+25.1) = 15.78, R = 77.42
    assert mos(5, 0) == 3.92
    # 200 ms one way: Id = 0.024*200 + 0.11*(200-177.3) = 7.30, R = 85.90
    assert mos(0, 200) == 4.23
    # bursty loss hurts more: BurstR 2 -> Ie_eff = 95*5/(2.5+25.1) = 17.21, R = 75.99
    assert mos(5, 0, burst_ratio=2) == 3.86


def test_mos_falls_as_loss_grows_and_as_delay_grows():
    by_loss = [mos(loss, 100) for loss in range(0, 101, 2)]
    by_delay = [mos(3, delay) for delay in range(0, 1500, 25)]
    assert by_loss == sorted(by_loss, reverse=True) and by_loss[0] > by_loss[-1]
    assert by_delay == sorted(by_delay, reverse=True) and by_delay[0] > by_delay[-1]
    # the knee: past 177.3 ms each millisecond costs more
    assert mos(0, 150) - mos(0, 175) < mos(0, 300) - mos(0, 325)


def test_mos_stays_between_1_and_4_5():
    for loss in (-5, 0, 1, 10, 50, 100, 250):
        for delay in (-10, 0, 150, 400, 800, 5000):
            assert 1.0 <= mos(loss, delay) <= 4.5
    assert mos(100, 1000) == 1.0            # R at or below 0
    assert mos(0, 815) == 1.0               # R = 3.5: G.107's cubic would give 0.99
    assert mos(-5, -10) == mos(0, 0)        # nonsense clamped, not extrapolated
    with pytest.raises(ValueError):
        mos(1, 0, burst_ratio=0)


def test_codecs_without_g113_figures_are_rated_as_g711():
    for loss, delay in ((0, 0), (2, 120), (8, 300)):
        expected = mos(loss, delay, "pcmu")
        assert mos(loss, delay) == expected
        for codec in ("pcma", "PCMU/8000", "opus/48000", "g722/16000", "speex"):
            assert mos(loss, delay, codec) == expected


def stats(**changes):
    """CallStats' attributes, as baresip's final report gives them."""
    fields = dict(duration_s=95, rx_packets=4750, rx_lost=250, tx_lost=12, rx_jitter_ms=4.5,
                  tx_jitter_ms=6.25, rtt_ms=80.0, jbuf_late=7, jbuf_lost=3, jbuf_delay_ms=60)
    return types.SimpleNamespace(**(fields | changes))


def test_measure_takes_the_figures_and_rates_loss_and_one_way_delay():
    q = measure(stats(), "pcmu/8000", concealed=240)
    # 250 of 5000 lost: 5 %; one way 80/2 + 60 (jitter buffer) + 20 (a packet) = 120 ms
    assert q == Quality(duration_s=95, codec="pcmu/8000", rx_packets=4750, rx_lost=250,
                        tx_lost=12, rx_jitter_ms=4.5, tx_jitter_ms=6.25, rtt_ms=80.0, late=7,
                        concealed=240, mos=mos(5, 120, "pcmu"))
    assert measure(stats(), "pcmu/8000", 240, ptime_ms=40).mos == mos(5, 140)


def test_measure_a_call_without_media_or_jitter_buffer_figures():
    q = measure(stats(rx_packets=0, rx_lost=0, rtt_ms=0.0, jbuf_late=None, jbuf_delay_ms=None),
                "opus/48000", concealed=0)
    assert q.late == 0 and q.mos == mos(0, 20) == 4.40
