"""One call's quality as the phone measured it, for "Report a call quality problem".

``measure`` turns the stack's statistics (baresip's CallStats: RTP counts, RTCP loss, jitter
and round-trip time, the jitter buffer's figures) into a ``Quality``, with a listening MOS
from the ITU-T G.107 E-model: baresip's own ``mos_estimate`` ignores the codec and the jitter
buffer's delay, which is most of what the agent hears as delay.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

R_DEFAULT = 93.2        # G.107's R with every default parameter: no impairment at all
# Equipment impairment Ie and packet-loss robustness Bpl, G.113 Appendix I: G.711 with
# packet loss concealment. G.113 gives no figures for opus (nor narrowband ones for G.722,
# nor any for what the phone does not know): they are rated as G.711, so their MOS is
# indicative only.
_CODECS: dict[str, tuple[float, float]] = {"pcmu": (0.0, 25.1), "pcma": (0.0, 25.1)}
_DEFAULT_CODEC = _CODECS["pcmu"]


@dataclass(frozen=True)
class Quality:
    duration_s: int
    codec: str              # as the phone names it: "pcmu/8000", "g722/16000", ...
    rx_packets: int
    rx_lost: int            # packets the far end sent that never came
    tx_lost: int            # ours the far end reported lost (RTCP)
    rx_jitter_ms: float
    tx_jitter_ms: float
    rtt_ms: float
    late: int               # came after their playout time
    concealed: int          # made up by the phone for lost ones
    mos: float              # listening quality, estimated (G.107)


def mos(loss_pct: float, delay_ms: float, codec: str = "pcmu",
        burst_ratio: float = 1.0) -> float:
    """G.107's MOS (1 to 4.5, 2 decimals) for ``loss_pct`` percent of packets lost (with
    ``burst_ratio`` 1: at random) and ``delay_ms`` mouth-to-ear, the defaults elsewhere.
    ``codec``: "pcmu", "pcma/8000", ...; unknown ones are rated as G.711."""
    if burst_ratio <= 0:
        raise ValueError(f"burst ratio {burst_ratio} <= 0")
    ppl = min(max(loss_pct, 0.0), 100.0)
    d = max(delay_ms, 0.0)
    ie, bpl = _CODECS.get(codec.split("/", 1)[0].lower(), _DEFAULT_CODEC)
    # delay impairment, the usual simplification of G.107's Id: it steepens past 177.3 ms
    i_d = 0.024 * d + (0.11 * (d - 177.3) if d > 177.3 else 0.0)
    ie_eff = ie + (95 - ie) * ppl / (ppl / burst_ratio + bpl)
    r = R_DEFAULT - i_d - ie_eff
    if r <= 0:
        return 1.0
    if r >= 100:
        return 4.5
    # the cubic dips to 0.99 for R under 6.5: no MOS is below 1
    return max(1.0, round(1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6, 2))


def measure(stats: Any, codec: str, concealed: int, ptime_ms: int = 20) -> Quality:
    """The call's Quality from CallStats (or anything with its attributes: duck typed).
    Loss is what we received; delay is one way: half the round trip, plus the jitter
    buffer's playout delay, plus a packet's worth of audio (packetization)."""
    sent = stats.rx_packets + stats.rx_lost
    loss_pct = 100.0 * stats.rx_lost / sent if sent else 0.0
    # the jbuf_* fields are None when the stack's build keeps no jitter-buffer statistics
    delay_ms = stats.rtt_ms / 2 + (stats.jbuf_delay_ms or 0) + ptime_ms
    return Quality(
        duration_s=int(stats.duration_s), codec=codec,
        rx_packets=int(stats.rx_packets), rx_lost=int(stats.rx_lost),
        tx_lost=int(stats.tx_lost), rx_jitter_ms=float(stats.rx_jitter_ms),
        tx_jitter_ms=float(stats.tx_jitter_ms), rtt_ms=float(stats.rtt_ms),
        late=int(stats.jbuf_late or 0), concealed=concealed,
        mos=mos(loss_pct, delay_ms, codec))
