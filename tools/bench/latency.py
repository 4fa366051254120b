"""The phone's own audio latency, each way, measured at its socket on the loopback.

send     a mic period handed to the SIP stack (CallMic -> SipStack.send_audio) -> its RTP packet
         leaves the phone's socket
receive  an RTP packet arrives at the phone's socket -> its samples are written to the route's
         PCM (CallAudio)

The phone's SipStack is registered to Kamailio and called by the customers process, as in the
``voice`` bench. A raw socket (AF_PACKET on ``lo``, kernel timestamps) sees every RTP packet;
the bench process's hooks see the periods handed in and the PCM writes. Packets are told
apart by content, since the payload is PCMU: each mic period is one DC level of 50 (1 s cycle),
and the customer plays a 443 Hz tone, whose 20 ms frames repeat only once a second, so each
frame written to the PCM names the packet it came from.

Every call's media goes through the lab's media relay (tools/rtprelay.py, driven by Kamailio's
rtpproxy module): clean, it forwards at once; impaired, it delays (uniform jitter, order kept)
and drops packets both ways (``IMPAIRED``), so the phone's jitter buffer has to work. A buffer
running dry doesn't make the figure look good: each call also counts the packets to the phone
lost, out of order and too late for the jitter buffer, and how much of the customer's
continuous tone is missing from the PCM the phone played (silence written, or nothing).
Needs root (CAP_NET_RAW for the capture).
"""
from __future__ import annotations

import contextlib
import socket
import struct
import tempfile
import threading
import time
from array import array
from dataclasses import dataclass, field

from firmware.audio.call_audio import scale
from firmware.core import events as ev
from tools.ccsim.customers_process import CustomersProcess
from tools.rtprelay import Impairment, RelayProcess

from .agent import _tear_down, _wait_for
from .inproc import InProcessPhone
from .table import percentile, table

GOAL_P99_MS = 40
CYCLE = 50                          # distinct mic levels: one per period, 1 s before repeating
ETH_P_ALL = 0x0003
PACKET_HOST, PACKET_OUTGOING = 0, 4
SO_TIMESTAMPNS = 35
IMPAIRED = Impairment(jitter_ms=20, loss=0.01)   # each way: 0-20 ms extra delay, 1% lost
CLEAN = Impairment()
CUSTOMER_HZ = 443       # 8.86 cycles a packet: each packet of a second differs from the rest
SILENT = 100                        # a 10 ms block of the played PCM quieter than this: no tone


def ulaw_decode(code: int) -> int:
    """One G.711 mu-law byte -> its linear sample."""
    u = ~code & 0xFF
    x = (((u & 0x0F) << 3) + 0x84) << ((u >> 4) & 7)
    return -(x - 0x84) if u & 0x80 else x - 0x84


ULAW = [ulaw_decode(c) for c in range(256)]
# exactly representable levels, all loud (> the customer's 1000 "voice" peak), distinct
LEVELS = [ULAW[c] for c in range(0x80 + 0x10, 0x80 + 0x10 + CYCLE)]
LEVEL_INDEX = {v: i for i, v in enumerate(LEVELS)}


def decode(payload: bytes) -> bytes:
    return array("h", (ULAW[b] for b in payload)).tobytes()


@dataclass
class Packet:
    t: float                        # time.monotonic() of the kernel's timestamp
    sport: int
    dport: int
    seq: int
    payload: bytes


@dataclass
class Capture:
    """RTP (PCMU, 20 ms) seen on ``lo``: leaving a socket, and arriving at one."""
    out: list[Packet] = field(default_factory=list)
    arrived: list[Packet] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(ETH_P_ALL))
        self._sock.bind(("lo", 0))
        self._sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self._sock.settimeout(0.2)
        self._offset = time.time() - time.monotonic()     # kernel stamps are CLOCK_REALTIME
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="bench-capture", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                data, anc, _flags, addr = self._sock.recvmsg(2048, 64)
            except TimeoutError:
                continue
            # ethernet (14) + IPv4 (20, no options on loopback) + UDP (8) + RTP (12) + 160
            if len(data) != 14 + 20 + 8 + 12 + 160 or data[23] != 17 or data[42] != 0x80:
                continue
            if data[43] & 0x7F != 0:                      # PCMU only
                continue
            t = next((s + ns / 1e9 for lvl, typ, raw in anc if typ == SO_TIMESTAMPNS
                      for s, ns in [struct.unpack("qq", raw[:16])]), time.time())
            sport, dport = struct.unpack("!HH", data[34:38])
            seq = struct.unpack("!H", data[44:46])[0]
            pkt = Packet(t - self._offset, sport, dport, seq, data[54:])
            if addr[2] == PACKET_OUTGOING:
                self.out.append(pkt)
            elif addr[2] == PACKET_HOST:
                self.arrived.append(pkt)

    def close(self) -> None:
        self._stop = True
        self._thread.join(1)
        self._sock.close()


def _mic_pattern(rate: int, seconds: float) -> bytes:
    """0.3 s of silence, then one DC level per 20 ms period, cycling through LEVELS."""
    period = rate // 50
    pcm = array("h", [0] * int(0.3 * rate))
    for k in range(int(seconds * 50)):
        pcm.extend([LEVELS[k % CYCLE]] * period)
    return pcm.tobytes()


def _is_mic(pkt: Packet) -> bool:
    """A packet wholly of the mic's periods (the customer's tone never is): the end of one
    and the start of the next, since the phone keeps 1 ms queued ahead of the stack's tick
    (sip/media.py MARGIN_S)."""
    levels = set(pkt.payload)
    return len(levels) <= 2 and all(ULAW[b] in LEVEL_INDEX for b in levels)


def _send_latencies(handed: list[tuple[float, int]], out: list[Packet]) -> list[float]:
    """Each packet carrying mic levels -> the latest period with its last level handed in
    before it left."""
    lat = []
    for pkt in out:
        i = LEVEL_INDEX.get(ULAW[pkt.payload[-1]])
        if i is None:
            continue
        t0 = next((t for t, j in reversed(handed) if j == i and t <= pkt.t), None)
        if t0 is not None:
            lat.append((pkt.t - t0) * 1000)
    return lat


def _recv_latencies(arrived: list[Packet], writes: list[tuple[float, bytes, int]],
                    frame_bytes: int) -> list[float]:
    """Each 20 ms frame written to the route PCM -> the RTP packet it was decoded from, by
    content: the customer's CUSTOMER_HZ tone repeats only once a second, so the latest packet
    arrived with the same decoded (and volume-scaled) samples is the one. Frames the phone
    made up (a lost packet's concealment, silence) match no packet and are not counted."""
    by_level: dict[int, dict[bytes, list[float]]] = {}
    lat = []
    for t, data, level in writes:
        if level not in by_level:
            index: dict[bytes, list[float]] = {}
            for p in arrived:
                index.setdefault(scale(decode(p.payload), level), []).append(p.t)
            by_level[level] = index
        for i in range(0, len(data) - frame_bytes + 1, frame_bytes):
            times = by_level[level].get(data[i:i + frame_bytes], [])
            t0 = next((a for a in reversed(times) if a <= t), None)
            if t0 is not None and t - t0 < 0.5:
                lat.append((t - t0) * 1000)
    return lat


def _onset(arrived: list[Packet], writes: list[tuple[float, bytes, int]]) -> float | None:
    """The customer's tone starts after its silence: its first loud packet arriving -> the
    first loud samples written to the route PCM, in ms (one figure a call). Packets can't be
    told apart within the tone (it repeats every 100 ms, the jitter buffer's own delay), so
    only its onset is a reliable mark."""
    loud = next((p for p in arrived if max(map(abs, array("h", decode(p.payload)))) > 1000),
                None)
    if loud is None:
        return None
    played = next((t for t, data, _level in writes
                   if t >= loud.t and max(map(abs, array("h", data)), default=0) > 100), None)
    return None if played is None else (played - loud.t) * 1000


def _missing_ms(arrived: list[Packet], writes: list[tuple[float, bytes, int]], rate: int,
                until: float) -> tuple[float, float]:
    """How much of the customer's tone, continuous once it starts, the phone did not play
    between its first loud write (after the tone's first packet: not the ringer) and
    ``until``: 10 ms blocks written silent (a starved jitter buffer, a lost packet) plus time
    with nothing written at all. (missing ms, of how many ms)."""
    loud = next((p.t for p in arrived if max(map(abs, array("h", decode(p.payload)))) > 1000),
                None)
    first = next((i for i, (t, data, _l) in enumerate(writes) if loud is not None and t >= loud
                  and max(map(abs, array("h", data)), default=0) > SILENT), None)
    if first is None:
        return 0.0, 0.0
    pcm = array("h", b"".join(data for t, data, _l in writes[first:] if t <= until))
    block = rate // 100
    played = sum(max(map(abs, pcm[i:i + block])) > SILENT for i in range(0, len(pcm), block))
    window = (until - writes[first][0]) * 1000
    return max(0.0, window - 10 * played), window


def _out_of_order(arrived: list[Packet]) -> int:
    """Packets that arrived after one sent later than them."""
    top, n = -1, 0
    for p in arrived:           # RTP sequence numbers wrap at 2**16: a call here is ~300
        if p.seq < top:
            n += 1
        top = max(top, p.seq)
    return n


def _timed_writes(phone: InProcessPhone) -> list[tuple[float, bytes, int]]:
    """Every write to a route PCM from now on: (time, samples, volume level). Once for the
    whole bench: the phone keeps a route's PCM open from one call to the next."""
    writes: list[tuple[float, bytes, int]] = []
    audio, call_audio = phone.devices.audio, phone.phone.call_audio
    open_stream = audio.open_stream

    def timed_open(route):
        stream = open_stream(route)
        write = stream.write

        def timed_write(samples):
            level = call_audio._route[1] if call_audio._route else 10
            write(samples)
            writes.append((time.monotonic(), bytes(samples), level))
        stream.write = timed_write
        return stream
    audio.open_stream = timed_open
    return writes


def _one_call(phone: InProcessPhone, customers: CustomersProcess, kam, cap: Capture, cid: str,
              talk_s: float, relay: RelayProcess, impair: Impairment,
              all_writes: list[tuple[float, bytes, int]]) -> dict:
    sip = phone.phone.sip
    handed: list[tuple[float, int]] = []
    audio = phone.devices.audio
    n_writes = len(all_writes)

    def timed_send(call, pcm, rate, **kw):
        handed.append((time.monotonic(), LEVEL_INDEX.get(array("h", pcm[-2:])[0], -1)))
        send(call, pcm, rate, **kw)

    send = sip.send_audio
    sip.send_audio = timed_send
    relay.impair(impair)                # the jitter buffer meets the network from the start
    relayed = relay.stats()
    n_out, n_in = len(cap.out), len(cap.arrived)
    try:
        customers.send(op="dial", contact=cid, to=f"sip:1001@{kam.address}",
                       ani="+15550001000", talk_s=talk_s + 5, ring_s=10, personal=True,
                       hz=CUSTOMER_HZ)
        customers.wait(lambda e: e.get("contact") == cid and e["event"] == "ringing")
        _wait_for(lambda: phone.phone.model.calls, "the call to ring")
        phone.phone.post(ev.Hook(True))                        # answered with the handset
        customers.wait(lambda e: e.get("contact") == cid and e["event"] == "voice", 5)
        heard = next(e["at"] for e in customers.events
                     if e.get("contact") == cid and e["event"] == "voice")
        # the phone's RTP port: where packets carrying the mic's levels come from
        _wait_for(lambda: any(_is_mic(p) for p in cap.out[n_out:]),
                  "the phone's voice on the wire")
        first = next(p for p in cap.out[n_out:] if _is_mic(p))
        port = first.sport
        t_from = time.monotonic()
        ours = sip._calls[phone.phone.model.calls[0].id].media     # the phone's CallMedia
        media = ours._call                                           # baresip's call
        rx_buffered = []                 # ms decoded, waiting in the receive tap
        for _ in range(int(talk_s / 0.1)):
            time.sleep(0.1)
            with contextlib.suppress(Exception):
                rx_buffered.append(media.audio.info().rx_buffered / 16)
        t_to = time.monotonic()
        phone.phone.post(ev.Hook(False))                       # hung up
        customers.wait(lambda e: e.get("contact") == cid and e["event"] == "ended")
        _wait_for(lambda: not phone.phone.model.calls, "the call to end")
        _wait_for(lambda: media.final_stats is not None, "the call's closing stats")
    finally:
        sip.send_audio = send
    writes = all_writes[n_writes:]
    relayed = {k: v - relayed.get(k, 0) for k, v in relay.stats().items()}
    out = [p for p in cap.out[n_out:] if p.sport == port and t_from <= p.t <= t_to]
    arrived = [p for p in cap.arrived[n_in:] if p.dport == port]
    send_lat = _send_latencies(handed, out)
    onset = _onset(arrived, writes)
    recv_lat = _recv_latencies(arrived, writes, audio.rate // 50 * 2)
    jb = media.final_stats
    missing, window = _missing_ms(arrived, writes, audio.rate, t_to)
    return {"send": send_lat, "recv": recv_lat, "onset": onset,
            "gaps": sum(not _is_mic(p) for p in out), "skipped": ours.tx_skipped,
            "voice": (heard - first.t) * 1000,
            "first_send": (first.t - next(t for t, i in handed if i >= 0)) * 1000,
            "lost": _lost(arrived), "jbuf_ms": jb.jbuf_delay_ms,
            "tap_ms": percentile(rx_buffered, 50) if rx_buffered else 0,
            "out_of_order": _out_of_order(arrived), "late": jb.jbuf_late or 0,
            "missing_ms": missing, "talk_ms": window,
            "relay_dropped": relayed["rtp_dropped"], "relay_in": relayed["rtp_in"]}


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f} ms"


def _lost(arrived: list[Packet]) -> int:
    seqs = sorted({p.seq for p in arrived})
    return (seqs[-1] - seqs[0] + 1 - len(seqs)) if seqs else 0


def _registered(phone: InProcessPhone, kam) -> None:
    """The phone's own SipStack registered to ``kam``, its received audio played (as
    firmware/app/main.py wires it)."""
    from firmware.sip.stack import SipConfig, SipStack
    from tools.lab import free_port

    sip = SipStack(SipConfig(user="1001", password="secret", domain=kam.address,
                             listen=f"127.0.0.1:{free_port(span=2)}"), phone.phone.post,
                   on_audio=phone.phone.hear)
    phone.phone.sip = sip
    phone.call(sip.start())
    _wait_for(lambda: phone.phone.model.links.sip == "registered", "the phone to register", 15)


def run(calls: int = 5, talk_s: float = 6.0) -> str:
    from tools.kamailio import Kamailio
    from tools.lab import free_port

    work = tempfile.mkdtemp(prefix="bench-latency-")
    relay = RelayProcess(CLEAN, seed=10)
    kam = Kamailio(free_port(span=2), password="secret", workdir=work, rtp_relay=relay.address)
    kam.start()
    phone = InProcessPhone()
    # each mic period is a level that names it on the wire: sent as read, not evened out
    phone.phone.call_mic.level_control = False
    (phone.sim.audio_dir / "mic.raw").write_bytes(
        _mic_pattern(phone.devices.audio.rate, talk_s + 10))
    customers = None
    cap = Capture()
    results: dict[str, list[dict]] = {"clean": [], "impaired": []}
    writes = _timed_writes(phone)
    try:
        _registered(phone, kam)
        customers = CustomersProcess(kam.address, f"127.0.0.1:{free_port(span=2)}")
        for i in range(calls):
            for kind in results:
                results[kind].append(_one_call(
                    phone, customers, kam, cap, f"l-{kind}-{i}", talk_s, relay,
                    IMPAIRED if kind == "impaired" else CLEAN, writes))
    finally:
        cap.close()
        _tear_down(customers, phone, kam)
        relay.stop()
    rows = []
    for kind, runs in results.items():
        for way, label in (("send", "mic period handed in -> RTP packet leaves"),
                           ("recv", "RTP packet arrives -> its samples in the PCM")):
            lat = [x for r in runs for x in r[way]]
            rows.append([f"{label}, {kind}", len(lat), percentile(lat, 50),
                         percentile(lat, 99), max(lat), GOAL_P99_MS])
    notes = "\n".join(
        f"{kind} call {i}: first loud period handed in -> on the wire {r['first_send']:.1f} ms;"
        f" on the wire -> the customer decodes it {r['voice']:.1f} ms; to the phone: "
        f"{r['lost']} packets lost, {r['out_of_order']} out of order, {r['late']} too late "
        f"for its jitter buffer (playout delay {r['jbuf_ms']} ms); the tone's onset "
        f"arrived -> played {_ms(r['onset'])}; the receive tap's fill "
        f"(median) {r['tap_ms']:.0f} ms; tone missing from the played PCM "
        f"{r['missing_ms']:.0f} ms of {r['talk_ms']:.0f}; the relay dropped "
        f"{r['relay_dropped']} of {r['relay_in']} (both ways)"
        for kind, runs in results.items() for i, r in enumerate(runs))
    for kind, runs in results.items():
        rows.append([f"tone missing from the played PCM, {kind} (ms, all calls)", len(runs),
                     sum(r["missing_ms"] for r in runs), "", "", 0])
        rows.append([f"gaps in the agent's voice on the wire / periods skipped, {kind}",
                     len(runs), f"{sum(r['gaps'] for r in runs)} / "
                     f"{sum(r['skipped'] for r in runs)}", "", "", ""])
        rows.append([f"packets to the phone lost / out of order / too late, {kind}", len(runs),
                     f"{sum(r['lost'] for r in runs)} / {sum(r['out_of_order'] for r in runs)}"
                     f" / {sum(r['late'] for r in runs)}", "", "", ""])
    return (table(f"The phone's own audio latency, each way, at its socket on lo ({calls} "
                  f"call(s) of {talk_s:.0f} s per case, media through tools/rtprelay.py; "
                  f"impaired: each way {IMPAIRED.jitter_ms:.0f} ms jitter (order kept), "
                  f"{IMPAIRED.loss:.0%} loss)",
                  ["", "n", "p50 ms", "p99 ms", "max ms", "goal p99 ms"], rows)
            + "\n" + notes + "\n")
