"""tcpdump on the loopback, for tests that check what crosses the wire (encryption, DSCP marks)
and for benches that time it (``python -m tools.bench dial``: each packet's kernel time).
"""
from __future__ import annotations

import shutil
import signal
import struct
from pathlib import Path
from typing import NamedTuple

import pytest

from tools.process import ProcessError
from tools.process import start as start_process

TCP, UDP = 6, 17
NANO_MAGIC = struct.pack("<I", 0xA1B23C4D)       # a pcap with nanosecond timestamps


class Packet(NamedTuple):
    proto: int              # IP protocol: TCP or UDP
    sport: int
    dport: int
    payload: bytes          # after the UDP or TCP header
    tos: int                # the IP header's TOS byte: DSCP << 2 | ECN
    t: float = 0.0          # when the kernel saw it (pcap time: CLOCK_REALTIME, as time.time())


class Capture:
    """tcpdump on the loopback into a pcap file, for the duration of a ``with``."""

    def __init__(self, path: Path, bpf: str):
        self.path, self.bpf = path, bpf

    def __enter__(self):
        if shutil.which("tcpdump") is None:
            pytest.fail("tcpdump is missing: run tools/setup/system-packages.sh")
        # --immediate-mode: each packet is written as it comes (by default they wait in
        # blocks of up to a second, and the last block is lost when tcpdump is stopped)
        try:                                        # "listening on lo ..." once it captures
            self.process = start_process(["tcpdump", "-i", "lo", "-n", "-U", "-s", "0",
                                          "--immediate-mode", "-w", str(self.path), self.bpf],
                                         ready="listening on", timeout=10, stderr="merge")
        except ProcessError as e:
            pytest.skip(f"cannot capture on the loopback here: {e}")
        return self

    def __exit__(self, *exc):
        self.process.signal(signal.SIGINT)          # flushes and closes the file
        self.process.popen.wait(5)

    def packets(self) -> list[Packet]:
        """Each IPv4 UDP or TCP packet captured so far."""
        data = self.path.read_bytes()
        linktype = struct.unpack("<I", data[20:24])[0]
        l2 = {1: 14, 113: 16}[linktype]             # Ethernet (lo), Linux cooked
        frac = 1e-9 if data[:4] == NANO_MAGIC else 1e-6
        out, off = [], 24
        while off + 16 <= len(data):
            sec, sub, length = struct.unpack("<III", data[off:off + 12])
            ip = data[off + 16 + l2:off + 16 + length]
            off += 16 + length
            if not ip or ip[0] >> 4 != 4:
                continue
            seg = ip[(ip[0] & 15) * 4:]
            sport, dport = struct.unpack(">HH", seg[:4])
            payload = seg[8:] if ip[9] == UDP else seg[(seg[12] >> 4) * 4:]
            out.append(Packet(ip[9], sport, dport, payload, ip[1], sec + sub * frac))
        return out
