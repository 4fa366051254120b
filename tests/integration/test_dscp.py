"""DiffServ marks on the wire: the phone's SIP carries ``[sip] dscp_sip`` (CS3 by default) and
its RTP ``dscp_rtp`` (EF), read from the IP header of what tcpdump captures on the loopback,
with real parts: Kamailio, customers in their own process, the phone's SipStack (UDP) or the
sim phone from its config file (TLS and SRTP, as in production)."""
import asyncio
from dataclasses import replace

import psutil
import pytest

from firmware.core.events import SipCallState, SipRegistration
from firmware.sip.stack import SipStack
from tests.capture import TCP, UDP, Capture
from tests.integration.test_sip import Phone, answered_call, free_port, run
from tests.waits import until, wait_until
from tools.kamailio import Kamailio
from tools.lab import Desk, Lab

PASSWORD = "secret"
RTP_PACKETS = 30            # 0.6 s of 20 ms packets from the phone


@pytest.fixture
def kamailio(tmp_path):
    with Kamailio(free_port(), password=PASSWORD, workdir=tmp_path / "kamailio") as k:
        yield k


def udp_ports(pid: int | None = None) -> set[int]:
    return {c.laddr.port for c in psutil.Process(pid).net_connections("udp")}


def sent_rtp(capture: Capture, rtp_port: int) -> list:
    """The RTP packets (v2, with a payload) sent from ``rtp_port`` so far."""
    try:
        packets = capture.packets()
    except (IndexError, KeyError, ValueError, OSError):   # the file's header is not written yet
        return []
    return [p for p in packets if p.proto == UDP and p.sport == rtp_port
            and len(p.payload) > 12 and p.payload[0] >> 6 == 2]


def kind(payload: bytes) -> str:
    """'REGISTER', 'BYE', '200 INVITE' (an answer and the request it answers) ..."""
    first = payload.split(b"\r\n", 1)[0].decode()
    if not first.startswith("SIP/2.0 "):
        return first.split(" ", 1)[0]
    cseq = next(line for line in payload.split(b"\r\n") if line.lower().startswith(b"cseq:"))
    return f"{first.split()[1]} {cseq.split()[-1].decode()}"


@pytest.mark.parametrize("fields,sip_tos,rtp_tos", [
    ({}, 0x60, 0xB8),                                        # CS3 (24), EF (46): the defaults
    ({"dscp_sip": "AF41", "dscp_rtp": 26}, 0x88, 0x68),      # AF41 (34), AF31 by number
], ids=["defaults", "configured"])
def test_the_phones_sip_and_rtp_carry_their_dscp_marks(kamailio, tmp_path, fields, sip_tos,
                                                       rtp_tos):
    phone = Phone(kamailio.address)
    phone.sip = SipStack(replace(phone.sip.config, **fields), phone.events.put_nowait)
    sip_port = int(phone.sip.config.listen.rsplit(":", 1)[1])
    sip = Capture(tmp_path / "sip.pcap", f"udp port {sip_port}")
    media: dict = {}

    async def scenario(phone, customers):
        await phone.expect(SipRegistration, state="registered")
        await customers.start(kamailio.address)
        before = udp_ports()
        call = await answered_call(phone, customers, kamailio.address, "c-1")
        rtp_port = min(udp_ports() - before)            # the call's RTP socket (RTCP: +1)
        capture = Capture(tmp_path / "rtp.pcap", f"udp src port {rtp_port} or {rtp_port + 1}")
        await asyncio.to_thread(capture.__enter__)
        try:
            await until(lambda: len(sent_rtp(capture, rtp_port)) > RTP_PACKETS, 10,
                        f"{RTP_PACKETS} RTP packets from the phone")
        finally:
            await asyncio.to_thread(capture.__exit__)
        media.update(capture=capture, port=rtp_port)
        await phone.sip.hangup(call)                    # the phone's BYE
        await phone.expect(SipCallState, call=call, state="ended")
        await until(lambda: any(p.payload.startswith(b"BYE ") for p in sip.packets()), 5,
                    "the phone's BYE captured")

    with sip:
        run(scenario, phone)

    sent = [p for p in sip.packets() if p.sport == sip_port and p.payload.strip()]
    kinds = {kind(p.payload) for p in sent}
    assert {"REGISTER", "180 INVITE", "200 INVITE", "ACK", "BYE"} <= kinds, kinds
    marks = {(kind(p.payload), hex(p.tos)) for p in sent}
    assert {p.tos for p in sent} == {sip_tos}, marks

    rtp = sent_rtp(media["capture"], media["port"])
    assert len(rtp) > RTP_PACKETS
    rtcp = [p for p in media["capture"].packets() if p.sport == media["port"] + 1]
    assert {p.tos for p in rtp + rtcp} == {rtp_tos}, {hex(p.tos) for p in rtp + rtcp}


def test_a_production_phone_marks_its_tls_signalling_and_srtp_as_its_config_says(tmp_path):
    """The sim phone, from its config file: SIP over TLS, SRTP, marks other than the defaults
    and other than the stack's own (CS5 for SIP, EF for RTP)."""
    with Lab(tmp_path, secure=True) as lab:
        lab.start()
        tls_port = lab.kamailio.tls_port
        sip = Capture(tmp_path / "sip.pcap", f"tcp port {tls_port}")
        with sip:
            desk = Desk(lab.phone("1001", sip_fields={"dscp_sip": "CS4", "dscp_rtp": "af42"}))
            try:
                desk.wait_status(agent="IDLE", cc="up", sip="registered")
                pid = desk.phone.pid
                phone_port = next(c.laddr.port for c in psutil.Process(pid).net_connections("tcp")
                                  if c.raddr and c.raddr.port == tls_port)
                desk.key("soft1", "1")
                desk.wait_lcd("Available")
                lab.wait_for(lambda: lab.agent("1001")["state"] == "available",
                             desc="available")
                before = udp_ports(pid)
                lab.post_contact("sales", "+15551234567")
                desk.wait_lcd("Call 1 of 1")
                desk.hook(True)
                desk.wait_lcd("Talking")
                rtp_port = min(udp_ports(pid) - before)
                media = Capture(tmp_path / "rtp.pcap", f"udp src port {rtp_port}")
                with media:
                    wait_until(lambda: len(sent_rtp(media, rtp_port)) > RTP_PACKETS, 10,
                               f"{RTP_PACKETS} SRTP packets from the phone")
                desk.key("soft2")                       # End: the BYE
                desk.wait_lcd("Wrap-up")
            finally:
                desk.close()

    sent = [p for p in sip.packets() if p.proto == TCP and p.sport == phone_port]
    # the SYN (and at times the ACK that completes the handshake) leaves unmarked: the stack
    # marks a connection once it is up; everything the phone says on it carries the mark
    data = [p for p in sent if p.payload]
    assert len(data) >= 6, f"{len(data)} TLS records from the phone"
    assert {p.tos for p in data} == {0x80}, {hex(p.tos) for p in data}   # CS4 (32)
    assert {p.tos for p in sent_rtp(media, rtp_port)} == {0x90}          # AF42 (36)
