"""SIP from the proxy only: a kernel filter on the stack's own SIP sockets.

Why: a desk phone takes calls from its proxy, not from whoever reaches its SIP port. An INVITE
sent straight to the phone would otherwise ring it, could carry a forged contact id, and a
flood of them costs memory per call. ``[sip] direct_calls = true`` turns this off (direct IP
calls, as on a bench).

How: baresip-python tells nothing about where an incoming call came from, and baresip's own
check (``filter_registrar``, which the stack also turns on as a fallback) compares the source
IP only, still parses and answers every request (403) and covers only new INVITE, OPTIONS,
REFER and MESSAGE requests. So, once the stack has started, we find its SIP sockets in this
process and attach a classic BPF socket filter to each (SO_ATTACH_FILTER): the kernel drops
every packet whose source is not the proxy before the stack sees it, at no cost to the phone
however many arrive, in-dialog requests (BYE, CANCEL) included.

- UDP, at the listen port: source IP *and* port must be the proxy's (Kamailio sends from its
  listen socket), so a process on the proxy's own host (and, in the lab on loopback, everyone)
  is still refused. Without a port in ``sip.domain`` (DNS SRV may pick one), the IP only.
- TCP at the listen port and TLS at PORT+1, the listeners: source IP only (a proxy connects
  from any port). The SYN is filtered on the listener; connections it accepts inherit the filter.

The filter reads the IP header through SKF_NET_OFF (negative offsets: the network header) and
the source port at offset 0, where the transport header starts when a UDP or TCP socket filter
runs. The proxy's name is resolved once, at start. Linux only, as the phone's boards are.
"""
from __future__ import annotations

import ctypes
import ipaddress
import logging
import os
import socket
from dataclasses import dataclass

from .config import split_host_port

log = logging.getLogger("hardphone.sip")

SO_ATTACH_FILTER = 26
SKF_NET_OFF = -0x100000
DEFAULT_SIP_PORT = 5060

# classic BPF opcodes (linux/filter.h)
_LD, _ALU, _JMP, _RET = 0x00, 0x04, 0x05, 0x06
_W, _H, _B = 0x00, 0x08, 0x10
_ABS = 0x20
_RSH, _JEQ, _K = 0x70, 0x10, 0x00
_ACCEPT = 0xFFFFFFFF     # keep the whole packet
_DROP = 0


class GuardError(Exception):
    pass


@dataclass(frozen=True)
class Source:
    """Where the proxy sends from: an IP address, and its port when it is known (UDP)."""
    ip: str
    port: int | None = None


class _Insn(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class _Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_Insn))]


def _net(offset: int) -> int:
    return (SKF_NET_OFF + offset) & 0xFFFFFFFF


def program(sources: list[Source]) -> list[tuple[int, int, int, int]]:
    """A classic BPF program (code, jt, jf, k) that keeps packets from one of ``sources`` and
    drops every other. One block per source; a failed test jumps to the next block."""
    insns: list[tuple[int, int, int, int]] = []
    for src in sources:
        ip = ipaddress.ip_address(src.ip)
        words = [int.from_bytes(ip.packed[i:i + 4], "big") for i in range(0, len(ip.packed), 4)]
        first = 12 if ip.version == 4 else 8           # source address in the IP header
        tests = [(_LD | _B | _ABS, _net(0)), (_ALU | _RSH | _K, 4),   # A = IP version
                 (_JMP | _JEQ | _K, ip.version)]
        for i, word in enumerate(words):
            tests += [(_LD | _W | _ABS, _net(first + 4 * i)), (_JMP | _JEQ | _K, word)]
        if src.port is not None:
            tests += [(_LD | _H | _ABS, 0), (_JMP | _JEQ | _K, src.port)]   # source port
        block = tests + [(_RET | _K, _ACCEPT)]
        for i, (code, k) in enumerate(block):
            jf = len(block) - i - 1 if code == _JMP | _JEQ | _K else 0   # to the next block
            insns.append((code, 0, jf, k))
    insns.append((_RET | _K, 0, 0, _DROP))
    return insns


def attach(fd: int, insns: list[tuple[int, int, int, int]]) -> None:
    """Attach ``insns`` to the socket behind ``fd`` (a dup of it: the filter belongs to the
    socket, so the stack's own descriptor is filtered too)."""
    array = (_Insn * len(insns))(*(_Insn(*i) for i in insns))
    prog = _Prog(len(insns), ctypes.cast(array, ctypes.POINTER(_Insn)))
    with socket.socket(fileno=os.dup(fd)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, bytes(prog))


async def resolve(loop, domain: str) -> tuple[list[str], int | None]:
    """The proxy's IP addresses and its port (None when ``domain`` names none)."""
    host, port = split_host_port(domain)
    try:
        infos = await loop.getaddrinfo(host, port or DEFAULT_SIP_PORT, type=socket.SOCK_DGRAM)
    except OSError as e:
        raise GuardError(f"proxy {host!r} not resolved: {e}") from None
    return sorted({info[4][0] for info in infos}), port


def sip_sockets(listen_port: int) -> list[tuple[int, str]]:
    """The stack's SIP sockets in this process: (fd, "udp"|"tcp"|"tls")."""
    import psutil
    found = []
    for conn in psutil.Process().net_connections(kind="inet"):
        port = conn.laddr.port if conn.laddr else None
        if conn.type == socket.SOCK_DGRAM and port == listen_port:
            found.append((conn.fd, "udp"))
        elif conn.type == socket.SOCK_STREAM and conn.status == psutil.CONN_LISTEN:
            if port == listen_port:
                found.append((conn.fd, "tcp"))
            elif port == listen_port + 1:
                found.append((conn.fd, "tls"))
    return found


async def admit_proxy_only(loop, domain: str, listen_port: int) -> list[str]:
    """Filter the stack's SIP sockets so that only the proxy (``sip.domain``) reaches them.
    Returns what was filtered, e.g. ["udp from 127.0.0.1:5062", "tcp from 127.0.0.1"];
    raises GuardError when it cannot be done (the caller says so and carries on)."""
    ips, port = await resolve(loop, domain)
    sockets = sip_sockets(listen_port)
    if not any(kind == "udp" for _, kind in sockets):
        raise GuardError(f"no SIP socket at port {listen_port} in this process")
    done = []
    for fd, kind in sockets:
        with_port = kind == "udp" and port is not None
        try:
            attach(fd, program([Source(ip, port if with_port else None) for ip in ips]))
        except OSError as e:
            raise GuardError(f"{kind} socket: filter not attached: {e}") from None
        done.append(f"{kind} from " + ", ".join(
            f"{ip}:{port}" if with_port else ip for ip in ips))
    return done
