"""The phone's SIP adapter against real parts on loopback: a Kamailio registrar/proxy, the
phone's SipStack in this process, and simulated customers (tools.ccsim.customers) in their own.
"""
import asyncio
import json
import socket
import time
from array import array
from pathlib import Path

import pytest

from firmware.core.events import SipCallState, SipIncoming, SipRegistration
from firmware.sip.stack import SipConfig, SipStack
from tools.ccsim.customers_process import CustomersProcess
from tools.kamailio import Kamailio
from tools.process import ProcessError

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "secret"
ANI = "+15551234567"


def free_port() -> int:
    """A port free for UDP and TCP, with the next one free too (baresip's TLS takes PORT+1)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < 65000 and all(_free(p, kind) for p in (port, port + 1)
                                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM)):
            return port


def _free(port: int, kind) -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


@pytest.fixture
def kamailio(tmp_path):
    with Kamailio(free_port(), password=PASSWORD, workdir=tmp_path / "kamailio") as k:
        yield k


class Phone:
    """The SipStack under test and what it posted."""

    def __init__(self, registrar: str, password: str = PASSWORD, reg_interval: int = 60):
        self.events: asyncio.Queue = asyncio.Queue()
        self.sip = SipStack(SipConfig(user="1001", password=password, domain=registrar,
                                      listen=f"127.0.0.1:{free_port()}",
                                      reg_interval=reg_interval), self.events.put_nowait)

    async def expect(self, kind, timeout: float = 5.0, **fields):
        """The next posted event of ``kind`` with ``fields``; others are passed over."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                e = await asyncio.wait_for(self.events.get(), deadline - time.monotonic())
            except TimeoutError:
                pytest.fail(f"no {kind.__name__} {fields} within {timeout} s")
            if isinstance(e, kind) and all(getattr(e, k) == v for k, v in fields.items()):
                return e

    async def rx_after(self, call: str, seconds: float) -> int:
        """Audio packets received during the next ``seconds``."""
        before = self.sip.stats(call)["rx_packets"]
        await asyncio.sleep(seconds)
        return self.sip.stats(call)["rx_packets"] - before


class Customers:
    """``python -m tools.ccsim.customers`` (tools.process, as every tool starts one) with its
    JSON lines, read in order; its blocking waits run off the loop the SipStack needs."""

    async def start(self, registrar: str, *args: str):
        """``args``: more options, e.g. the numbers it answers (``--answer 5550100``)."""
        self.p = await asyncio.to_thread(
            CustomersProcess, registrar, f"127.0.0.1:{free_port()}", PASSWORD,
            extra_args=args, ready_timeout=15)
        self.proc = self.p.proc
        return self

    def send(self, line):
        self.p.process.stdin.write((line if isinstance(line, str) else json.dumps(line)) + "\n")
        self.p.process.stdin.flush()

    def dial(self, contact: str, to: str, talk_s: float = 30):
        self.send({"op": "dial", "contact": contact, "to": to, "ani": ANI, "talk_s": talk_s})

    async def expect(self, event: str, timeout: float = 5.0, **fields) -> dict:
        """The next line (after the last one expected) that is ``event`` with ``fields``."""
        def wanted(line: str) -> bool:
            msg = json.loads(line)
            return msg["event"] == event and all(msg.get(k) == v for k, v in fields.items())
        try:
            i = await asyncio.to_thread(self.p.process.wait_for, wanted, timeout,
                                        f"{event} {fields}")
        except ProcessError as e:
            pytest.fail(str(e))
        return json.loads(self.p.process.lines[i])

    async def close(self):
        await asyncio.to_thread(self.p.process.stop)


def run(scenario, phone: Phone):
    """Run ``scenario(phone, customers)`` with both always torn down."""
    async def main():
        customers = Customers()
        try:
            await phone.sip.start()
            await scenario(phone, customers)
        finally:
            if hasattr(customers, "p"):
                await customers.close()
            await phone.sip.stop()
    asyncio.run(main())


async def ringing_call(phone: Phone, customers: Customers, registrar: str, contact: str) -> str:
    customers.dial(contact, f"sip:1001@{registrar}")
    incoming = await phone.expect(SipIncoming, contact=contact)
    await customers.expect("ringing", contact=contact)
    return incoming.call


async def answered_call(phone: Phone, customers: Customers, registrar: str, contact: str) -> str:
    call = await ringing_call(phone, customers, registrar, contact)
    await phone.sip.answer(call)
    await phone.expect(SipCallState, call=call, state="established")
    await customers.expect("answered", contact=contact)
    return call


def test_registration_with_the_right_password_succeeds(kamailio):
    async def scenario(phone, customers):
        await phone.expect(SipRegistration, state="registering")
        await phone.expect(SipRegistration, state="registered")
    run(scenario, Phone(kamailio.address))


def test_wrong_password_fails_with_401_and_keeps_retrying(kamailio):
    async def scenario(phone, customers):
        await phone.expect(SipRegistration, state="registering")
        failed = await phone.expect(SipRegistration, state="failed")
        assert "401" in failed.detail
        await phone.expect(SipRegistration, state="registering", timeout=3)
        failed = await phone.expect(SipRegistration, state="failed")
        assert "401" in failed.detail
    run(scenario, Phone(kamailio.address, password="wrong"))


def test_customer_call_rings_is_answered_held_resumed_and_hung_up_by_the_agent(kamailio):
    async def scenario(phone, customers):
        await customers.start(kamailio.address)
        await phone.expect(SipRegistration, state="registered")
        customers.send("this is not json")
        assert (await customers.expect("error"))["reason"].startswith("not JSON")

        customers.dial("c-1", f"sip:1001@{kamailio.address}")
        incoming = await phone.expect(SipIncoming)
        assert (incoming.contact, incoming.peer) == ("c-1", ANI)
        await customers.expect("ringing", contact="c-1")
        call = incoming.call
        assert phone.sip.calls() == [(call, "ringing", "c-1")]

        await phone.sip.answer(call)
        await phone.expect(SipCallState, call=call, state="established")
        await customers.expect("answered", contact="c-1")
        assert await phone.rx_after(call, 1.0) > 30        # the customer's tone: 50 packets/s

        await phone.sip.hold(call)
        await phone.expect(SipCallState, call=call, state="held")
        assert phone.sip.calls() == [(call, "held", "c-1")]
        await asyncio.sleep(0.3)
        assert await phone.rx_after(call, 1.0) == 0        # held: the customer sends nothing

        await phone.sip.resume(call)
        await phone.expect(SipCallState, call=call, state="resumed")
        assert phone.sip.calls() == [(call, "established", "c-1")]
        assert await phone.rx_after(call, 1.0) > 30

        await phone.sip.hangup(call)
        ended = await phone.expect(SipCallState, call=call, state="ended")
        assert ended.reason == "local hangup"
        assert (await customers.expect("ended", contact="c-1"))["reason"] == "far end hung up"
        assert phone.sip.calls() == [] and phone.sip.stats(call) == {}
        await phone.sip.hangup(call)    # gone: logged and ignored, never raised
        await phone.sip.hold("no-such-call")
    run(scenario, Phone(kamailio.address))


def test_the_agents_voice_reaches_the_customer(kamailio):
    period = array("h", (9000 if (i // 4) % 2 else -9000 for i in range(160))).tobytes()  # 1 kHz
    phone = Phone(kamailio.address)

    async def speak(call):
        while True:                     # as the mic does: one 20 ms period as it is spoken
            phone.sip.send_audio(call, period, 8000)
            await asyncio.sleep(0.02)

    async def scenario(phone, customers):
        await customers.start(kamailio.address)
        await phone.expect(SipRegistration, state="registered")
        customers.dial("c-1", f"sip:1001@{kamailio.address}")
        call = (await phone.expect(SipIncoming, contact="c-1")).call
        phone.sip.send_audio(call, period, 8000)          # ringing: no media yet, dropped
        phone.sip.send_audio("no-such-call", period, 8000)
        assert phone.sip.stats(call)["tx_packets"] == 0
        await phone.sip.answer(call)
        await customers.expect("answered", contact="c-1")
        talking = asyncio.create_task(speak(call))
        try:
            await customers.expect("voice", contact="c-1")
            while not _near((await customers.expect("audio", contact="c-1"))["hz"], 1000):
                pass
        finally:
            talking.cancel()
        stats = phone.sip.stats(call)
        assert stats["tx_packets"] > 10 and stats["tx_queued_ms"] <= 60
    run(scenario, phone)


def test_dtmf_keyed_quickly_reaches_the_customer_in_order(kamailio):
    async def scenario(phone, customers):
        await customers.start(kamailio.address)
        await phone.expect(SipRegistration, state="registered")
        call = await answered_call(phone, customers, kamailio.address, "c-1")
        for key in "41#":               # faster than a digit takes to send: they queue
            await phone.sip.send_dtmf(call, key)
        await phone.sip.send_dtmf("no-such-call", "5")
        got = [(await customers.expect("dtmf", contact="c-1"))["digit"] for _ in range(3)]
        assert got == ["4", "1", "#"]
    run(scenario, Phone(kamailio.address))


def _near(hz, want):
    return hz is not None and abs(hz - want) < want * 0.03


def test_customer_hangs_up_when_told_and_when_talk_time_is_over(kamailio):
    async def scenario(phone, customers):
        await customers.start(kamailio.address)
        await phone.expect(SipRegistration, state="registered")
        call = await answered_call(phone, customers, kamailio.address, "c-1")
        await phone.sip.hold(call)      # at once: races the re-INVITE baresip sends on answering
        await phone.expect(SipCallState, call=call, state="held")
        await phone.sip.resume(call)
        await phone.expect(SipCallState, call=call, state="resumed")
        customers.send({"op": "hangup", "contact": "c-1"})
        ended = await phone.expect(SipCallState, call=call, state="ended")
        assert ended.reason == "remote hangup"
        assert (await customers.expect("ended", contact="c-1"))["reason"] == "hangup requested"

        customers.dial("c-2", f"sip:1001@{kamailio.address}", talk_s=1)
        call = (await phone.expect(SipIncoming, contact="c-2")).call
        await phone.sip.answer(call)
        await customers.expect("answered", contact="c-2")
        answered = time.monotonic()
        await phone.expect(SipCallState, call=call, state="ended", timeout=3)
        assert 0.8 < time.monotonic() - answered < 2.5
        assert (await customers.expect("ended", contact="c-2"))["reason"] == "talk time over"
    run(scenario, Phone(kamailio.address))


def test_customers_keep_talking_after_their_controller_goes_away(kamailio):
    """ccsim killed mid-call: the customers' stdin closes, their calls run to their end."""
    async def scenario(phone, customers):
        await customers.start(kamailio.address)
        await phone.expect(SipRegistration, state="registered")
        customers.dial("c-1", f"sip:1001@{kamailio.address}", talk_s=2.5)
        call = (await phone.expect(SipIncoming, contact="c-1")).call
        await phone.sip.answer(call)
        await customers.expect("answered", contact="c-1")
        customers.proc.stdin.close()
        assert await phone.rx_after(call, 1.0) > 30
        assert phone.sip.calls() == [(call, "established", "c-1")]
        await phone.expect(SipCallState, call=call, state="ended", reason="remote hangup")
        assert (await customers.expect("ended", contact="c-1"))["reason"] == "talk time over"
        assert await asyncio.to_thread(customers.proc.wait, 5) == 0
    run(scenario, Phone(kamailio.address))


@pytest.mark.slow
def test_registrar_crash_mid_call_keeps_the_call_and_registration_recovers(kamailio):
    async def scenario(phone, customers):
        await customers.start(kamailio.address)
        await phone.expect(SipRegistration, state="registered")
        call = await answered_call(phone, customers, kamailio.address, "c-1")

        kamailio.kill()
        for _ in range(3):              # media flows peer to peer: the call goes on
            assert await phone.rx_after(call, 1.0) > 30
        failed = await phone.expect(SipRegistration, state="failed", timeout=10)
        assert failed.detail == f"no answer from {kamailio.address}"
        assert phone.sip.calls() == [(call, "established", "c-1")]

        kamailio.start()                # same port, empty location table
        await phone.expect(SipRegistration, state="registered", timeout=10)
        second = await ringing_call(phone, customers, kamailio.address, "c-2")
        assert {c[0] for c in phone.sip.calls()} == {call, second}
        assert await phone.rx_after(call, 0.5) > 15

        await phone.sip.hangup(second)
        await customers.expect("failed", contact="c-2")
        await phone.sip.hangup(call)
        await customers.expect("ended", contact="c-1")
    run(scenario, Phone(kamailio.address, reg_interval=2))
