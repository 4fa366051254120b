"""Faults around a live call: the contact-center server or the registrar vanishes, the phone
restarts with work queued, a server talks garbage. Calls keep their audio, nothing the agent
entered is lost, the phone never crashes."""
import time

import pytest

from firmware.cc import protocol as p
from tools import simphone
from tools.lab import Desk
from tools.ws_server import ThreadedWsServer

pytestmark = pytest.mark.slow

RESYNC_GOAL_S = 2.0


def in_a_call(lab, desk, ani="+15551234567"):
    desk.wait_status(agent="IDLE", cc="up", sip="registered")
    desk.key("soft1", "1")
    lab.wait_for(lambda: lab.agent("1001")["state"] == "available", desc="available")
    cid = lab.post_contact("sales", ani, {"customer": "Jo Smith"}, talk_s=120)
    desk.wait_lcd("Call 1 of 1")
    desk.hook(True)
    desk.wait_lcd("Talking")
    lab.wait_for(lambda: lab.contact(cid)["state"] == "assigned", desc="assigned")
    return cid


def rx_packets(desk) -> int:
    calls = desk.calls()
    assert len(calls) == 1, calls
    return int(calls[0]["rx_packets"])


def audio_flows(desk, seconds=1.0) -> bool:
    before = rx_packets(desk)
    time.sleep(seconds)
    return rx_packets(desk) - before >= seconds * 50 * 0.8     # 50 packets/s at 20 ms


def test_server_killed_mid_call_audio_goes_on_resync_and_offline_wrapup_kept(lab):
    desk = Desk(lab.phone("1001"))
    cid = in_a_call(lab, desk)

    lab.ccsim.kill()
    desk.wait_status(cc="down")
    assert audio_flows(desk), "the call's audio stopped with the server"
    assert desk.status()["agent"] == "TALKING"

    desk.key("soft2")                            # End, while the server is away
    desk.wait_lcd("Wrap-up")
    desk.type("7253")
    desk.wait_lcd("Sale made")
    desk.key("soft1")
    desk.wait_lcd("when online")
    desk.wait_lcd("Server unreachable")          # why CC✗, once the notice has gone

    lab.ccsim.start()                            # returns once it listens
    back = time.monotonic()
    desk.wait_status(cc="up", timeout=5)
    resync_s = time.monotonic() - back
    assert resync_s < RESYNC_GOAL_S, f"resynchronized {resync_s:.2f} s after the server was back"
    contact = lab.wait_for(lambda: (c := lab.contact(cid))["wrapup"] and c, desc="wrap-up")
    assert contact["wrapup"] == "sale_made" and contact["state"] == "wrapped_up"
    lab.wait_for(lambda: lab.agent("1001")["state"] == "available", desc="available again")
    assert "unreachable" not in desk.wait_lcd("Available")


def test_wrapup_queued_offline_survives_a_phone_restart(lab):
    desk = Desk(lab.phone("1001", name="phone"))
    cid = in_a_call(lab, desk)
    lab.ccsim.kill()
    desk.wait_status(cc="down")
    desk.key("soft2")
    desk.wait_lcd("Wrap-up")
    desk.type("245")
    desk.wait_lcd("Billing question")
    desk.key("soft1")
    desk.wait_lcd("when online")
    desk = lab.power_cycle(desk)                 # the agent switches the phone off and on
    lab.ccsim.start()
    desk.wait_status(cc="up", timeout=10)
    contact = lab.wait_for(lambda: (c := lab.contact(cid))["wrapup"] and c, desc="wrap-up")
    assert contact["wrapup"] == "billing_question"


def test_registrar_down_mid_call_call_goes_on_and_registration_comes_back(lab):
    # a short registration interval: a dead registrar is noticed at the next refresh
    desk = Desk(lab.phone("1001", reg_interval=4))
    in_a_call(lab, desk)
    lab.kamailio.kill()
    desk.wait_status(sip="failed", timeout=20)   # noticed by the re-register, not by the call
    assert audio_flows(desk), "the call's audio stopped with the registrar"
    assert desk.status()["calls"] == "1" and "Talking" in desk.text()
    lab.kamailio.start()
    desk.wait_status(sip="registered", timeout=40)
    assert audio_flows(desk)


class GarbageServer(ThreadedWsServer):
    """A contact-center server that answers a hello with junk, then with the real thing."""

    JUNK = (b"\xff\xfe\x00", "{", "[]", '{"type":"snapshot"}', '{"type":"surprise","seq":1}',
            '{"type":"agent_state","seq":"x","state":"idle"}',
            '{"type":"contact","seq":999,"contact":{"id":"c","status":"offered"}}')
    OVERSIZED = "x" * (p.MAX_MESSAGE_BYTES + 10)

    def __init__(self):
        self.hellos = 0
        super().__init__(self._agent)

    async def _agent(self, ws):
        async for msg in ws:
            if not isinstance(p.decode_client(msg.data), p.Hello):
                continue
            self.hellos += 1
            if self.hellos == 1:            # the phone drops the link rather than read it
                await ws.send_str(self.OVERSIZED)
                continue
            for junk in self.JUNK:
                await (ws.send_bytes(junk) if isinstance(junk, bytes) else ws.send_str(junk))
            await ws.send_str(p.encode(p.Snapshot(
                seq=3, state="available",
                agent=p.Agent(id="1001", name="Ana", team="Blue", extension="sip:1001@x"))))


def test_garbage_from_the_server_never_crashes_the_phone(tmp_path):
    server = GarbageServer()
    phone = None
    try:
        phone = simphone.start(tmp_path, extra_config=(
            f'[cc]\nurl = "{server.url}"\nagent = "1001"\npin = "1234"\n'))
        desk = Desk(phone)
        # the oversized frame costs the link (the phone drops it unread and reconnects);
        # the junk after the next hello is ignored, and the snapshot after it applied
        desk.wait_lcd("Available", timeout=15)
        assert server.hellos == 2
        assert phone.proc.poll() is None
        desk.key("soft2")                        # the phone still answers its keys
        desk.wait_lcd("Menu")
        desk.close()
        assert phone.stop() == 0
    finally:
        if phone:
            phone.stop()
        server.close()
