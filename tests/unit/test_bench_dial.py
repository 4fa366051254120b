"""``python -m tools.bench dial``'s reading of the capture: which packet is a call's INVITE,
the phone's WebSocket messages to ccsim, and the figures it prints from them."""
import json
import struct

import pytest

from tests.capture import UDP, Capture, Packet
from tools.bench.dial import Dialed, report, ws_frames

PHONE, PROXY, CUSTOMERS, CENTRE, DESK, CCSIM, WS = 5070, 5062, 5090, 5092, 5094, 8800, 40000
TCP = 6


def sip(t: float, sport: int, dport: int, first_line: str, call_id: str, body: str = ""):
    text = f"{first_line}\r\nVia: x\r\nCall-ID: {call_id}\r\nCSeq: 1 X\r\n\r\n{body}"
    return Packet(UDP, sport, dport, text.encode(), 0, t)


def invite(t: float, sport: int, dport: int, user: str, call_id: str):
    return sip(t, sport, dport, f"INVITE sip:{user}@127.0.0.1 SIP/2.0", call_id)


def ws(t: float, to_server: bool, msg: dict):
    """A WebSocket text frame: masked from the phone, as a client must (RFC 6455)."""
    data = json.dumps(msg).encode()
    if not to_server:
        return Packet(TCP, CCSIM, WS, bytes([0x81, len(data)]) + data, 0, t)
    key = b"\x11\x22\x33\x44"
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(data))
    return Packet(TCP, WS, CCSIM, bytes([0x81, 0x80 | len(data)]) + key + masked, 0, t)


def one_dial_and_one_911():
    packets = [
        sip(9.0, PHONE, PROXY, "REGISTER sip:127.0.0.1 SIP/2.0", "reg"),
        ws(10.0015, True, {"type": "dial", "id": "r2", "number": "5550100"}),
        ws(10.0020, False, {"type": "dial_answer", "id": "r2", "to": "5550100"}),
        invite(10.0030, PHONE, PROXY, "5550100", "a"),              # the call's INVITE
        sip(10.0031, PROXY, PHONE, "SIP/2.0 407 Proxy Authentication Required", "a"),
        invite(10.0035, PHONE, PROXY, "5550100", "a"),              # again, with credentials
        invite(10.0040, PROXY, CUSTOMERS, "5550100", "a"),          # on to the number
        invite(10.5, CUSTOMERS, PROXY, "1001", "a"),                # its re-INVITE
        invite(10.5001, PROXY, PHONE, "1001", "a"),
        invite(20.0020, PHONE, PROXY, "911", "e"),
        invite(20.0025, PHONE, PROXY, "911", "e"),
        sip(20.0030, PROXY, DESK, "MESSAGE sip:frontdesk@127.0.0.1 SIP/2.0", "m",
            "caller: 1001\r\ndialed: 911\r\ncall-id: e\r\n"),
        invite(20.0032, PROXY, CENTRE, "psap", "e")]
    dials = [Dialed("5550100", 10.0, 10.001, 11.0)]
    sos = [Dialed("911", 20.0, 20.004, 21.0)]
    notices = [{"at": 20.0035, "dialed": "911"}]
    return dials, sos, packets, notices


def figures(text: str, label: str) -> list[str]:
    """The n, p50, p99 and max of the table's row that begins with ``label``."""
    row = next(line for line in text.splitlines() if line.startswith(f"| {label}"))
    return [c.strip() for c in row.split("|")[2:6]]


def test_the_figures_are_from_the_key_to_the_first_invite_of_the_call_and_the_steps_between():
    dials, sos, packets, notices = one_dial_and_one_911()
    text = report(dials, sos, packets, PHONE, PROXY, CCSIM, notices)
    assert figures(text, "`ok` on the dial screen -> the phone's INVITE") == [
        "1", "3.000", "3.000", "3.000"]               # not the repeat after the 407: 3.5 ms
    assert figures(text, "  (`key ok` written -> the console's") == ["1", "1.000", "1.000", "1.000"]
    assert figures(text, "  (`key ok` written -> the phone's `dial`")[1] == "1.500"
    assert figures(text, "  (`dial` -> ccsim's `dial_answer`")[1] == "0.500"
    assert figures(text, "  (`dial_answer` -> the phone's INVITE")[1] == "1.000"
    assert figures(text, "  (the phone's INVITE -> the proxy sends")[1] == "1.000"
    assert figures(text, "the last digit of 911 -> the phone's INVITE")[1] == "2.000"
    rows = [line for line in text.splitlines() if "front desk's MESSAGE" in line
            or "the MESSAGE -> the INVITE" in line or "notice's `at`" in line]
    assert [r.split("|")[3].strip() for r in rows] == ["1.000", "0.200", "1.500"]


def test_a_call_without_its_own_invite_or_to_another_number_is_an_error_not_a_figure():
    _, sos, packets, notices = one_dial_and_one_911()
    late = [Dialed("5550100", 10.0035, 10.004, 11.0)]          # only the repeat after it
    with pytest.raises(RuntimeError, match="0 new INVITEs"):
        report(late, [], packets, PHONE, PROXY, CCSIM, notices)
    with pytest.raises(RuntimeError, match="went to 5550100"):
        report([Dialed("5550199", 10.0, 10.001, 11.0)], [], packets, PHONE, PROXY, CCSIM, [])
    with pytest.raises(RuntimeError, match="0 front-desk notices for 1 calls"):
        report([], sos, packets, PHONE, PROXY, CCSIM, [])


def test_websocket_frames_are_unmasked_and_a_cut_one_is_left_out():
    frame = ws(1.0, True, {"type": "dial", "id": "r1"}).payload
    long = bytes([0x81, 126]) + struct.pack("!H", 300) + b"x" * 300
    assert ws_frames(frame + long) == [(1, b'{"type": "dial", "id": "r1"}'), (1, b"x" * 300)]
    assert ws_frames(frame + long[:100]) == [(1, b'{"type": "dial", "id": "r1"}')]


@pytest.mark.parametrize("magic, sub, t", [(0xA1B2C3D4, 250_000, 7.25),
                                          (0xA1B23C4D, 250_000_000, 7.25)])
def test_the_capture_gives_each_packet_its_kernel_time(tmp_path, magic, sub, t):
    """tcpdump's pcap, microsecond or nanosecond stamps."""
    udp = struct.pack(">HHHH", PHONE, PROXY, 8 + 4, 0) + b"ping"
    ip = bytes([0x45, 0x60]) + struct.pack(">H", 20 + len(udp)) + bytes(5) + bytes([UDP]) \
        + bytes(10) + udp
    frame = bytes(12) + b"\x08\x00" + ip
    path = tmp_path / "c.pcap"
    path.write_bytes(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, 65535, 1)
                     + struct.pack("<IIII", 7, sub, len(frame), len(frame)) + frame)
    assert Capture(path, "").packets() == [Packet(UDP, PHONE, PROXY, b"ping", 0x60, t)]
