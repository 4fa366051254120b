"""The phone's SMP server and framing against the smp / smpclient packages' own models."""
import random

import cbor2
from smp import header as smphdr
from smp.error import MGMT_ERR as SMP_MGMT_ERR
from smp.image_management import ImageStatesReadRequest, ImageStatesReadResponse
from smp.os_management import (EchoWriteRequest, EchoWriteResponse, MCUMgrParametersReadRequest,
                               MCUMgrParametersReadResponse)
from smpclient.transport.serial.framing.cobs import Cobs

from firmware.update import smp_server
from firmware.update.smp_serial import CobsFrames, ConsoleFrameDecoder, console_encode
from firmware.update.smp_server import BUF_SIZE, IMG_CMD, MGMT_ERR, OS_CMD, SmpServer


def test_our_numbers_are_mcumgrs():
    assert smp_server.OS == smphdr.GroupId.OS_MANAGEMENT
    assert smp_server.IMG == smphdr.GroupId.IMAGE_MANAGEMENT
    for ours in OS_CMD:
        assert ours == smphdr.CommandId.OSManagement[ours.name]
    for ours in IMG_CMD:
        assert ours == smphdr.CommandId.ImageManagement[ours.name]
    for ours in MGMT_ERR:
        assert ours == SMP_MGMT_ERR[ours.name]
    assert (smp_server.READ, smp_server.WRITE) == (smphdr.OP.READ, smphdr.OP.WRITE)


class FakeManager:
    def image_states(self):
        return [{"slot": 0, "version": "1.2.3", "hash": b"\x01" * 32, "active": True,
                 "confirmed": True, "bootable": True, "pending": False, "permanent": False}]


def server():
    resets = []
    return SmpServer(FakeManager(), lambda: resets.append(1)), resets


def test_responses_parse_as_the_libraries_responses():
    s, _ = server()
    r = EchoWriteResponse.loads(s.handle(EchoWriteRequest(d="hello", sequence=7).BYTES))
    assert r.r == "hello" and r.header.sequence == 7
    p = MCUMgrParametersReadResponse.loads(s.handle(MCUMgrParametersReadRequest().BYTES))
    assert p.buf_size == BUF_SIZE
    st = ImageStatesReadResponse.loads(s.handle(ImageStatesReadRequest().BYTES))
    assert st.images[0].version == "1.2.3" and st.images[0].hash == b"\x01" * 32


def test_unknown_and_malformed_requests_get_error_replies():
    s, _ = server()
    req = EchoWriteRequest(d="x").BYTES
    unknown = bytearray(req)
    unknown[7] = 42                                   # command 42 of the OS group
    reply = cbor2.loads(s.handle(bytes(unknown))[8:])
    assert reply["rc"] == MGMT_ERR.ENOTSUP
    bad_body = req[:8] + b"\xff\xff"
    assert cbor2.loads(s.handle(bad_body)[8:])["rc"] == MGMT_ERR.EINVAL
    assert s.handle(b"\x00\x01") is None


def test_console_framing_round_trip():
    frame = EchoWriteRequest(d="x" * 500).BYTES
    dec = ConsoleFrameDecoder()
    out = None
    for line in console_encode(frame).split(b"\n")[:-1]:
        out = dec.feed(line) or out
    assert out == frame


def test_cobs_frames_interoperate_with_smpclient():
    frame = bytes(random.Random(1).randrange(256) for _ in range(5000))
    theirs = Cobs()
    wire = b"".join(theirs.encode(frame))
    ours = CobsFrames()
    assert ours.feed(wire[:100]) == [] and ours.feed(wire[100:]) == [frame]
    theirs.feed(CobsFrames.encode(frame))
    assert theirs.take() == frame


def test_a_damaged_cobs_frame_is_dropped_and_the_next_one_is_read():
    frame = b"\x01\x00\x00\x05\x00\x00\x01\x00hello"
    wire = bytearray(CobsFrames.encode(frame))
    wire[5] ^= 0x04
    assert CobsFrames().feed(bytes(wire) + CobsFrames.encode(frame)) == [frame]
