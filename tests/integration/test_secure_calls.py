"""Calls as in production: SIP over TLS and SRTP, end to end on loopback with real parts
(Kamailio with its TLS module, ccsim's customers and the sim phone, each a baresip-python
process), and proof from the wire (tcpdump on the loopback) that nothing crosses in clear."""
import itertools
import shutil
import struct

import psutil
import pytest

from tests.capture import TCP, UDP, Capture
from tests.waits import wait_until
from tools.ccsim.customers_process import CustomersProcess
from tools.lab import Desk, Lab, free_port
from tools.labca import LabCa

SRTP_TAG = 10            # AES_CM_128_HMAC_SHA1_80: each SRTP packet carries an 80-bit tag
PCMU_20MS = 160


@pytest.fixture
def lab(tmp_path):
    with Lab(tmp_path, secure=True) as lab:
        lab.start()
        yield lab


def enough_media(capture: Capture, rtp_port: int, each_way: int = 30) -> bool:
    """More than ``each_way`` RTP packets sent from ``rtp_port`` and to it so far."""
    try:
        media = [p for p in capture.packets() if p[0] == UDP and len(p[3]) > 12]
    except (struct.error, IndexError, KeyError):   # the file's header is not written yet
        return False
    sent = sum(p[1] == rtp_port for p in media)
    return sent > each_way and len(media) - sent > each_way


def ulaw_crossings(payload: bytes) -> int:
    """Sign changes between successive samples of a PCMU payload: a 440 Hz or 1 kHz tone
    gives ~18 or ~40 per 20 ms; random bytes (ciphertext) about 80."""
    signs = [b & 0x80 for b in payload]
    return sum(1 for a, b in itertools.pairwise(signs) if a != b)


def phone_udp_ports(desk) -> set[int]:
    return {c.laddr.port for c in psutil.Process(desk.phone.pid).net_connections("udp")}


def test_a_customer_call_goes_over_tls_with_srtp_and_the_customer_hears_the_agent(
        lab, desk, tmp_path):
    audio = desk.phone.workdir / "state" / "run" / "audio"
    (audio / "mic.raw").write_bytes(_tone(1000, 30))       # the agent speaks into the handset
    sip_port, tls_port = lab.kamailio.port, lab.kamailio.tls_port
    sip_capture = Capture(tmp_path / "sip.pcap", f"port {sip_port} or port {tls_port}")
    with sip_capture:
        desk.key("soft1", "1")
        desk.wait_lcd("Available")
        lab.wait_for(lambda: lab.agent("1001")["state"] == "available", desc="available")
        before = phone_udp_ports(desk)
        cid = lab.post_contact("sales", "+15551234567", {"customer": "Jo Smith"})
        desk.wait_lcd("Call 1 of 1")
        desk.hook(True)
        desk.wait_lcd("Talking")
        heard = lab.wait_for(lambda: (h := lab.heard(cid)) and _near(h["hz"], 1000) and h,
                             desc="the customer hearing the agent's 1 kHz")
        assert heard["level_dbfs"] > -20
        lab.wait_for(lambda: int(desk.calls()[0]["rx_packets"]) > 20, desc="customer audio")

        # the call's media: the phone's new UDP sockets (RTP, RTCP), the lower one RTP
        rtp_port = min(phone_udp_ports(desk) - before)
        media_capture = Capture(tmp_path / "rtp.pcap", f"udp port {rtp_port}")
        with media_capture:                             # until enough of the call went by
            wait_until(lambda: enough_media(media_capture, rtp_port), 10,
                       "more than 30 RTP packets each way")
        # the call came down the phone's own registration connection: the proxy opened none
        tcp = psutil.Process(desk.phone.pid).net_connections("tcp")
        listening = {c.laddr.port for c in tcp if c.status == psutil.CONN_LISTEN}
        assert [c.raddr.port for c in tcp if c.raddr and c.raddr.port == tls_port] == [tls_port]
        assert not [c for c in tcp if c.raddr and c.laddr.port in listening]
        desk.key("hold")                                    # re-INVITEs with SDP: in TLS too
        desk.wait_lcd("Held")
        desk.key("hold")
        desk.wait_lcd("Talking")
        desk.key("soft2")                                   # End: the BYE
        desk.wait_lcd("Wrap-up")
        lab.wait_for(lambda: lab.contact(cid)["state"] == "wrapup", desc="wrap-up at ccsim")

    sip = sip_capture.packets()
    over_tls = [p for p in sip if p[0] == TCP and tls_port in p[1:3] and p[3]]
    assert len(over_tls) >= 10, f"only {len(over_tls)} TLS segments with data"
    assert not [p for p in sip if sip_port in p[1:3]], "SIP on the proxy's plaintext port"
    wire = b"".join(p[3] for p in sip)
    for clear in (b"X-CC-Contact-Id", b"SIP/2.0", b"INVITE", b"m=audio", b"RTP/", b"5551234567",
                  cid.encode() + b"\r\n"):
        assert clear not in wire, f"{clear!r} crossed the loopback in clear"

    media = [p for p in media_capture.packets() if p[0] == UDP and len(p[3]) > 12]
    sent = [p for p in media if p[1] == rtp_port]
    assert len(sent) > 30 and len(media) - len(sent) > 30, f"{len(sent)} of {len(media)} sent"
    rtp = [p[3] for p in media]
    assert {(r[0] >> 6, r[1] & 0x7F) for r in rtp} == {(2, 0)}    # RTP v2, PCMU: the header
    assert {len(r) - 12 for r in rtp} == {PCMU_20MS + SRTP_TAG}    # payload + SRTP's tag
    # the tones (440 Hz one way, 1 kHz the other) do not show through: ciphertext is noise
    crossings = sorted(ulaw_crossings(r[12:12 + PCMU_20MS]) for r in rtp)
    assert crossings[len(crossings) // 10] > 60, crossings[:20]


def test_a_phone_with_srtp_refuses_a_call_without_it(lab, desk, tmp_path):
    """A caller that offers plain RTP (over TLS, through the proxy) gets 488 and the phone
    never rings."""
    caller = CustomersProcess(lab.kamailio.tls_address, f"127.0.0.1:{free_port(span=2)}",
                              "secret", ("--transport", "tls", "--cafile", str(lab.ca.cafile),
                                         "--media", "rtp"))
    try:
        caller.send(op="dial", contact="c-9", ani="+15550001111",
                    to=f"sip:1001@{lab.kamailio.address}")
        failed = caller.wait(lambda e: e["event"] == "failed")
        events = caller.events
    finally:
        caller.close()

    assert "488" in failed["reason"], failed
    assert not [e for e in events if e["event"] == "ringing"], events
    assert desk.calls() == [] and desk.status()["agent"] == "IDLE"
    assert "incoming call" not in (desk.phone.workdir / "phone.log").read_text()


def test_a_proxy_certificate_the_ca_did_not_sign_is_refused(lab):
    other = LabCa(lab.workdir / "other-ca")
    desk = Desk(lab.phone("1001", sip_fields={"cafile": str(other.cafile)}))
    try:
        desk.wait_lcd("SIP: TLS failed")
        assert desk.status()["sip"] == "failed"
        assert lab.wait_for(lambda: "certificate" in (desk.phone.workdir / "phone.log")
                            .read_text(), desc="the reason in the log")
    finally:
        desk.close()


def test_a_ca_file_whose_path_has_a_space_is_read(lab):
    spaced = lab.workdir / "proxy ca" / "ca.pem"
    spaced.parent.mkdir()
    shutil.copy(lab.ca.cafile, spaced)
    desk = Desk(lab.phone("1001", sip_fields={"cafile": str(spaced)}))
    try:
        desk.wait_status(sip="registered")
    finally:
        desk.close()


def _tone(hz, seconds, level=0.3):
    import numpy as np
    t = np.arange(int(seconds * 8000)) / 8000
    return (level * 32767 * np.sin(2 * np.pi * hz * t)).astype("<i2").tobytes()


def _near(got, want):
    return got is not None and abs(got - want) < want * 0.03
