"""A media relay for the lab that impairs what it forwards: Kamailio drives it with the rtpproxy
control protocol (its ``rtpproxy`` module), and the RTP and RTCP of every call it rewrites go
through it, both ways, with a chosen one-way delay, jitter, loss and reordering. The loopback
has no netem here (no sch_netem in this kernel): this is how a bench or a test sees the phone
on a bad network.

    python -m tools.rtprelay --control 127.0.0.1:22222 --jitter-ms 20 --loss 0.01 --seed 1

Control protocol (the subset Kamailio's rtpproxy module speaks, over UDP; every request starts
with a cookie the reply repeats):

    V                                   -> 20040107 (the protocol version Kamailio requires)
    VF <version>                        -> 1 if that capability is supported, else 0
    U<mods> <call-id> <ip> <port> <from-tag>[;<n>] [<to-tag>[;<n>]]
                                        -> "<port> <ip>": create or update media stream n;
                                           the SDP's sender is <from-tag>, at <ip>:<port>
    L<mods> <call-id> <ip> <port> <from-tag>[;<n>] <to-tag>[;<n>]
                                        -> the same for the answer, whose sender is <to-tag>
    D<mods> <call-id> <from-tag> [<to-tag>]  -> 0: the call's streams are deleted
    I                                   -> "key: value" lines: the relay's counters
    IMPAIR <delay_ms> <jitter_ms> <loss> <reorder> [<reorder_ms>]
                                        -> 0: from now on, this network (the relay's own
                                           request, not rtpproxy's: a bench changes it per call)
    anything else                       -> E<code>

The reply's port is where the party that receives the rewritten SDP is to send (RTCP: the
next port). Each party of a stream has its own pair of relay ports; what arrives on one party's
ports leaves from the other's, to where that party said it is (or where it was last heard from:
symmetric RTP, as rtpproxy latches). RTP is impaired (``Impairment``: each packet's fate is
drawn by ``schedule`` from a seeded RNG); RTCP only gets the fixed delay, never lost.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import socket
import sys
import time
import typing
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

VERSION = "20040107"               # the base protocol version Kamailio checks for
CAPABILITIES = {VERSION, "20050322"}   # 20050322: the extensions Kamailio requires
# not claimed: 20071116 (re-packetization), 20081102 (payload type lists): the relay forwards
# packets as they are


# -- what happens to each packet (pure) --

ORDER_S = 1e-6                     # a packet leaves at least this long after the one before

@dataclass(frozen=True)
class Impairment:
    """A one-way network, applied to each direction of each stream on its own."""
    delay_ms: float = 0.0          # fixed one-way delay
    jitter_ms: float = 0.0         # extra delay, uniform in [0, jitter_ms]; order is kept
    loss: float = 0.0              # share of packets dropped
    reorder: float = 0.0           # share of packets held back so that later ones overtake
    reorder_ms: float = 30.0       # how much longer a reordered packet is held (> a 20 ms ptime)

    def __post_init__(self) -> None:
        for name in ("delay_ms", "jitter_ms", "reorder_ms"):
            if not 0 <= getattr(self, name) <= 10_000:
                raise ValueError(f"{name} must be 0..10000 ms, got {getattr(self, name)}")
        for name in ("loss", "reorder"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be a share 0..1, got {getattr(self, name)}")

    @property
    def clean(self) -> bool:
        return self == Impairment(reorder_ms=self.reorder_ms)


@dataclass(frozen=True)
class Fate:
    leave: float | None            # when the packet leaves the relay; None: dropped
    reordered: bool = False


def schedule(imp: Impairment, rng: random.Random, arrival: float,
             last_leave: float) -> tuple[Fate, float]:
    """One packet's fate, arriving at ``arrival`` (s) in a direction whose last in-order packet
    left at ``last_leave``: (its fate, the direction's new ``last_leave``).

    Jitter keeps the order, as a queue does (a packet never leaves before the one before it),
    so reordering happens only when asked for. Three numbers are drawn for every packet,
    whatever its fate, so one seed gives one sequence of fates."""
    lost, extra, swap = rng.random(), rng.random(), rng.random()
    if lost < imp.loss:
        return Fate(None), last_leave
    # strictly after the one before: the event loop does not keep timers of one instant in order
    leave = max(arrival + (imp.delay_ms + extra * imp.jitter_ms) / 1000, last_leave + ORDER_S)
    if swap < imp.reorder:         # overtaken by what follows, which it does not hold up
        return Fate(leave + imp.reorder_ms / 1000, reordered=True), last_leave
    return Fate(leave), leave


# -- the control protocol (pure) --

class CommandError(ValueError):
    """A request the relay cannot carry out; ``code`` goes back as ``E<code>``."""

    def __init__(self, code: int, why: str):
        super().__init__(why)
        self.code = code


E_SYNTAX, E_UNKNOWN, E_NO_SESSION, E_NO_PORTS = 1, 3, 8, 10


@dataclass(frozen=True)
class Command:
    cookie: str
    op: str                         # "V", "VF", "U", "L", "D", "I"
    modifiers: str = ""
    call_id: str = ""
    ip: str = ""
    port: int = 0
    from_tag: str = ""
    to_tag: str = ""
    stream: int = 1                 # the media number (the SDP's m= line, from 1)
    capability: str = ""
    impairment: Impairment | None = None


def _tag(text: str) -> tuple[str, int]:
    tag, _, num = text.partition(";")
    if not tag or (num and not num.isdigit()):
        raise CommandError(E_SYNTAX, f"bad tag {text!r}")
    return tag, int(num) if num else 1


def parse_command(datagram: bytes) -> Command:
    """One control request -> a Command; CommandError if it is not one the relay knows.
    The cookie is everything before the first space (a request without one has none to echo,
    so it cannot be answered: ValueError)."""
    text = datagram.decode("ascii", "replace").strip()
    cookie, _, rest = text.partition(" ")
    if not cookie or not rest:
        raise ValueError("no cookie, or nothing after it")
    words = rest.split()
    head = words[0]
    if head.upper() == "IMPAIR":
        try:
            if len(words) not in (5, 6):
                raise ValueError(f"{len(words) - 1} values")
            return Command(cookie, "IMPAIR", impairment=Impairment(*map(float, words[1:])))
        except ValueError as e:
            raise CommandError(E_SYNTAX, f"IMPAIR delay_ms jitter_ms loss reorder "
                                         f"[reorder_ms]: {e}") from None
    op, mods = head[0].upper(), head[1:]
    if op == "V":
        if mods.upper() == "F":
            if len(words) != 2:
                raise CommandError(E_SYNTAX, "VF takes one version")
            return Command(cookie, "VF", capability=words[1])
        if mods or len(words) != 1:
            raise CommandError(E_SYNTAX, "V takes nothing")
        return Command(cookie, "V")
    if op == "I":
        return Command(cookie, "I", mods)
    if op in "UL":
        if len(words) not in (5, 6, 7) or (op == "L" and len(words) < 6):
            raise CommandError(E_SYNTAX, f"{op} takes call-id ip port from-tag [to-tag]")
        call_id, ip, port = words[1], words[2], words[3]
        if not port.isdigit() or not 0 <= int(port) <= 65535:
            raise CommandError(E_SYNTAX, f"bad port {port!r}")
        try:
            socket.inet_pton(socket.AF_INET6 if "6" in mods else socket.AF_INET, ip)
        except OSError:
            raise CommandError(E_SYNTAX, f"bad address {ip!r}") from None
        from_tag, stream = _tag(words[4])
        to_tag = _tag(words[5])[0] if len(words) > 5 else ""
        return Command(cookie, op, mods, call_id, ip, int(port), from_tag, to_tag, stream)
    if op == "D":
        if len(words) not in (3, 4):
            raise CommandError(E_SYNTAX, "D takes call-id from-tag [to-tag]")
        return Command(cookie, "D", mods, words[1], from_tag=_tag(words[2])[0],
                       to_tag=_tag(words[3])[0] if len(words) > 3 else "")
    raise CommandError(E_UNKNOWN, f"unknown command {head!r}")


# -- the relay (I/O) --

Address = tuple[str, int]


class _Port(asyncio.DatagramProtocol):
    def __init__(self, relay: Relay, stream: Stream, side: int, rtcp: bool):
        self.relay, self.stream, self.side, self.rtcp = relay, stream, side, rtcp

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.relay.arrived(self.stream, self.side, self.rtcp, data, addr)

    def error_received(self, exc: Exception) -> None:   # ICMP unreachable: the party is gone
        self.relay.counters["send_errors"] += 1


@dataclass
class Leg:
    """One party of a stream: the relay's ports facing it, and where it is."""
    port: int
    rtp: asyncio.DatagramTransport
    rtcp: asyncio.DatagramTransport
    tag: str = ""
    remote: Address | None = None           # its RTP address; RTCP at the next port
    rtcp_remote: Address | None = None      # learnt from its RTCP, if that comes from elsewhere
    last_leave: float = 0.0                 # towards this party: the last in-order departure


@dataclass
class Stream:
    call_id: str
    number: int
    legs: list[Leg] = field(default_factory=list)
    last_seen: float = field(default_factory=time.monotonic)

    def side(self, tag: str) -> int:
        """The leg of the party ``tag``; the first tag seen is side 0, any other side 1 (a call
        through this relay has two parties: no forking in the lab)."""
        for i, leg in enumerate(self.legs):
            if leg.tag == tag:
                return i
        i = 0 if not self.legs[0].tag else 1
        self.legs[i].tag = self.legs[i].tag or tag
        return i


class Relay:
    def __init__(self, host: str, impairment: Impairment, seed: int | None = None,
                 ports: tuple[int, int] = (35000, 35999), idle_s: float = 120.0):
        self.host, self.impairment, self.ports, self.idle_s = host, impairment, ports, idle_s
        self.rng = random.Random(seed)
        self.streams: dict[tuple[str, int], Stream] = {}
        self.counters: Counter[str] = Counter()
        base = ports[0] + ports[0] % 2                # RTP ports are even
        self._next = base + random.randrange(0, (ports[1] - base) // 2) * 2

    # control

    async def handle(self, cmd: Command) -> str:
        if cmd.op == "V":
            return VERSION
        if cmd.op == "VF":
            return "1" if cmd.capability in CAPABILITIES else "0"
        if cmd.op == "I":
            return self.info()
        if cmd.impairment is not None:
            self.impairment = cmd.impairment
            print(f"rtprelay: now {self.impairment}", flush=True)
            return "0"
        if cmd.op == "D":
            self.delete(cmd.call_id)
            return "0"
        key = (cmd.call_id, cmd.stream)
        stream = self.streams.get(key)
        if stream is None:
            if cmd.op == "L":
                raise CommandError(E_NO_SESSION, f"no session {cmd.call_id!r}")
            stream = self.streams[key] = await self._open(cmd.call_id, cmd.stream)
        # U: the SDP is the first tag's; L (an answer): the second tag's
        sender = stream.side(cmd.from_tag if cmd.op == "U" else cmd.to_tag)
        if cmd.op == "U" and cmd.to_tag:
            stream.side(cmd.to_tag)
        leg = stream.legs[sender]
        if cmd.port and cmd.ip not in ("0.0.0.0", "::"):   # port 0 / null address: on hold
            leg.remote = (cmd.ip, cmd.port)
        stream.last_seen = time.monotonic()
        return f"{stream.legs[1 - sender].port} {self.host}"

    def info(self) -> str:
        c = self.counters
        lines = {"sessions created": c["sessions"], "active sessions": len(self.streams),
                 **{k: c[k] for k in ("rtp_in", "rtp_out", "rtp_dropped", "rtp_reordered",
                                      "rtp_unrouted", "rtcp_in", "rtcp_out", "send_errors")}}
        return "\n".join(f"{k}: {v}" for k, v in lines.items())

    async def _open(self, call_id: str, number: int) -> Stream:
        stream = Stream(call_id, number)
        for _ in range(2):
            stream.legs.append(await self._leg(stream, len(stream.legs)))
        self.counters["sessions"] += 1
        print(f"rtprelay: stream {call_id};{number} ports {stream.legs[0].port} "
              f"{stream.legs[1].port}", flush=True)
        return stream

    async def _leg(self, stream: Stream, side: int) -> Leg:
        """Two ports, RTP even and RTCP the next, from the range: the first pair free."""
        loop = asyncio.get_running_loop()
        low, high = self.ports
        for _ in range((high - low) // 2):
            port = self._next
            self._next = port + 2 if port + 3 <= high else low + low % 2
            if port + 1 > high:
                continue
            try:
                rtp, _ = await loop.create_datagram_endpoint(
                    lambda: _Port(self, stream, side, False), local_addr=(self.host, port))
            except OSError:
                continue
            try:
                rtcp, _ = await loop.create_datagram_endpoint(
                    lambda: _Port(self, stream, side, True), local_addr=(self.host, port + 1))
            except OSError:
                rtp.close()
                continue
            return Leg(port, rtp, rtcp)
        raise CommandError(E_NO_PORTS, f"no free port pair in {low}-{high}")

    def delete(self, call_id: str) -> None:
        for key in [k for k in self.streams if k[0] == call_id]:
            stream = self.streams.pop(key)
            for leg in stream.legs:
                leg.rtp.close()
                leg.rtcp.close()
            print(f"rtprelay: deleted {call_id};{key[1]}", flush=True)

    def expire(self) -> None:
        """Streams nobody deleted (a proxy that lost the BYE) and that carry nothing."""
        now = time.monotonic()
        for (call_id, _), stream in list(self.streams.items()):
            if now - stream.last_seen > self.idle_s:
                self.delete(call_id)

    # media

    def arrived(self, stream: Stream, side: int, rtcp: bool, data: bytes,
                addr: Address) -> None:
        stream.last_seen = time.monotonic()
        here, there = stream.legs[side], stream.legs[1 - side]
        if rtcp:
            here.rtcp_remote = addr
        else:
            here.remote = addr                      # symmetric RTP: answer where it is
        kind = "rtcp" if rtcp else "rtp"
        self.counters[f"{kind}_in"] += 1
        if there.remote is None:
            self.counters[f"{kind}_unrouted"] += 1
            return
        to = (there.rtcp_remote or (there.remote[0], there.remote[1] + 1)) if rtcp \
            else there.remote
        out = there.rtcp if rtcp else there.rtp
        loop = asyncio.get_running_loop()
        now = loop.time()
        if rtcp:
            fate = Fate(now + self.impairment.delay_ms / 1000)
        else:
            fate, there.last_leave = schedule(self.impairment, self.rng, now, there.last_leave)
            self.counters["rtp_reordered"] += fate.reordered
        leave = fate.leave
        if leave is None:
            self.counters["rtp_dropped"] += 1
            return
        if leave <= now:
            self._send(out, data, to, kind)
        else:
            loop.call_at(leave, self._send, out, data, to, kind)

    def _send(self, out: asyncio.DatagramTransport, data: bytes, to: Address,
              kind: str) -> None:
        if out.is_closing():                        # deleted while the packet was held
            return
        out.sendto(data, to)
        self.counters[f"{kind}_out"] += 1


class _Control(asyncio.DatagramProtocol):
    def __init__(self, relay: Relay):
        self.relay = relay
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = typing.cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        asyncio.get_running_loop().create_task(self._answer(data, addr))

    async def _answer(self, data: bytes, addr: Address) -> None:
        try:
            cmd = parse_command(data)
        except CommandError as e:
            reply = f"E{e.code}"
            cookie = data.split(b" ", 1)[0].decode("ascii", "replace")
            print(f"rtprelay: refused {data[:120]!r}: {e}", flush=True)
        except ValueError:
            print(f"rtprelay: ignored {data[:120]!r}: no cookie", flush=True)
            return
        else:
            cookie = cmd.cookie
            try:
                reply = await self.relay.handle(cmd)
            except CommandError as e:
                reply = f"E{e.code}"
                print(f"rtprelay: refused {data[:120]!r}: {e}", flush=True)
        assert self.transport is not None
        self.transport.sendto(f"{cookie} {reply}\n".encode(), addr)


async def serve(control: Address, relay: Relay) -> None:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: _Control(relay),
                                                       local_addr=control)
    host, port = transport.get_extra_info("sockname")[:2]
    print(f"rtprelay: ready udp:{host}:{port} {relay.impairment}", flush=True)
    try:
        while True:
            await asyncio.sleep(min(10.0, relay.idle_s))
            relay.expire()
    finally:
        transport.close()


# -- a client, and the relay in its own process, for benches and tests --

def control(address: Address, request: str, timeout: float = 2.0) -> str:
    """Send one control request; its reply without the cookie."""
    cookie = uuid.uuid4().hex[:12]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(f"{cookie} {request}".encode(), address)
        while True:
            data = s.recv(65535).decode()
            if data.startswith(cookie + " "):
                return data[len(cookie) + 1:].rstrip("\n")


def stats(address: Address) -> dict[str, int]:
    """The relay's counters (the ``I`` request)."""
    return {k: int(v) for k, _, v in (line.partition(": ")
                                       for line in control(address, "I").splitlines())}


class RelayProcess:
    """``python -m tools.rtprelay`` in its own process on a free control port."""

    def __init__(self, impairment: Impairment = Impairment(), seed: int | None = None,
                 host: str = "127.0.0.1", log: Path | None = None):
        from tools.process import start as start_process
        args = [sys.executable, "-m", "tools.rtprelay", "--control", f"{host}:0",
                "--delay-ms", str(impairment.delay_ms), "--jitter-ms", str(impairment.jitter_ms),
                "--loss", str(impairment.loss), "--reorder", str(impairment.reorder),
                "--reorder-ms", str(impairment.reorder_ms)]
        if seed is not None:
            args += ["--seed", str(seed)]
        self.process = start_process(args, ready=r"^rtprelay: ready udp:(\S+):(\d+)",
                                     timeout=10, name="rtprelay", stderr=log or "keep",
                                     cwd=Path(__file__).resolve().parents[1])
        assert self.process.ready is not None
        self.address: Address = (self.process.ready.group(1), int(self.process.ready.group(2)))

    def stats(self) -> dict[str, int]:
        return stats(self.address)

    def impair(self, imp: Impairment) -> None:
        """From now on, this network (between calls: a held packet keeps its fate)."""
        control(self.address, f"IMPAIR {imp.delay_ms} {imp.jitter_ms} {imp.loss} {imp.reorder} "
                              f"{imp.reorder_ms}")

    def stop(self) -> None:
        self.process.stop()

    def __enter__(self) -> RelayProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def parse_address(text: str) -> Address:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def _port_range(text: str) -> tuple[int, int]:
    low, sep, high = text.partition("-")
    if not (sep and low.isdigit() and high.isdigit()
            and 1024 <= int(low) < int(high) <= 65535 and int(high) - int(low) >= 3):
        raise argparse.ArgumentTypeError(f"expected LOW-HIGH (1024..65535), got {text!r}")
    return int(low), int(high)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m tools.rtprelay", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--control", type=parse_address, default=("127.0.0.1", 22222),
                    help="where Kamailio's rtpproxy_sock points (udp); port 0: any free one")
    ap.add_argument("--ports", type=_port_range, default=(35000, 35999),
                    help="media ports to use, LOW-HIGH (pairs: RTP even, RTCP the next)")
    ap.add_argument("--delay-ms", type=float, default=0.0, help="fixed one-way delay")
    ap.add_argument("--jitter-ms", type=float, default=0.0,
                    help="extra delay, uniform in 0..N ms (order kept)")
    ap.add_argument("--loss", type=float, default=0.0, help="share of RTP packets dropped, 0..1")
    ap.add_argument("--reorder", type=float, default=0.0,
                    help="share of RTP packets held back so later ones overtake, 0..1")
    ap.add_argument("--reorder-ms", type=float, default=30.0,
                    help="how much longer a reordered packet is held")
    ap.add_argument("--seed", type=int, help="RNG seed: the same fates each run")
    args = ap.parse_args(argv)
    try:
        imp = Impairment(args.delay_ms, args.jitter_ms, args.loss, args.reorder, args.reorder_ms)
    except ValueError as e:
        ap.error(str(e))
    relay = Relay(args.control[0], imp, args.seed, args.ports)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.control, relay))


if __name__ == "__main__":
    main()
