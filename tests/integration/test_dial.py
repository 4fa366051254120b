"""The phone places calls: SipStack.dial through a real Kamailio to numbers the simulated
customers process (tools.ccsim.customers, its own process) answers, refuses or lets ring."""
import asyncio
import time
from array import array
from collections import defaultdict

import pytest

from firmware.core.events import SipCallState, SipRegistration
from firmware.sip.stack import SipConfig, SipStack
from tests.integration.test_sip import PASSWORD, Customers, Phone, _near, free_port, run
from tools.ccsim.customers import hearing, number_tone
from tools.ccsim.customers_process import CustomersProcess
from tools.kamailio import Kamailio
from tools.lab import DEMO_SCENARIO, Ccsim, scenario_text
from tools.process import ProcessError

ANSWERS, BUSY, RINGS, NOBODY = "5550100", "5550199", "5550177", "5550404"
PHONE_HZ = 1000
PERIOD = array("h", (9000 if (i // 4) % 2 else -9000 for i in range(160))).tobytes()  # 1 kHz


@pytest.fixture
def kamailio(tmp_path):
    with Kamailio(free_port(), password=PASSWORD, workdir=tmp_path / "kamailio") as k:
        yield k


class DialPhone(Phone):
    """Phone (test_sip.py) whose received audio is kept, per call, as the earpiece gets it."""

    def __init__(self, registrar: str, rate: int = 8000, **sip):
        self.events: asyncio.Queue = asyncio.Queue()
        self.heard: dict[str, bytearray] = defaultdict(bytearray)
        self.rate = rate
        self.sip = SipStack(SipConfig(user="1001", password=PASSWORD, domain=registrar,
                                      listen=f"127.0.0.1:{free_port()}", **sip),
                            self.events.put_nowait,
                            on_audio=lambda call, pcm: self.heard[call].extend(pcm), rate=rate)

    def pitch(self, call: str, seconds: float = 0.5) -> float | None:
        """The pitch of the last ``seconds`` the phone received on ``call``."""
        return hearing(bytes(self.heard[call][-int(2 * self.rate * seconds):]), self.rate)[1]


async def ready(phone: Phone, customers: Customers, registrar: str) -> None:
    await customers.start(registrar, "--answer", ANSWERS, "--refuse", BUSY, "--ring", RINGS)
    answering = {e["number"]: e for e in customers.p.events if e["event"] == "answering"}
    assert {n: e["mode"] for n, e in answering.items()} == {
        ANSWERS: "answer", BUSY: "refuse", RINGS: "ring"}
    assert answering[ANSWERS]["hz"] == number_tone(ANSWERS)
    await phone.expect(SipRegistration, state="registered")


async def speak(phone: Phone, call: str):
    while True:                 # as the mic does: one 20 ms period as it is spoken
        phone.sip.send_audio(call, PERIOD, 8000)
        await asyncio.sleep(0.02)


def test_a_dialed_number_answers_both_hear_each_other_and_dtmf_reaches_it(kamailio):
    async def scenario(phone, customers):
        await ready(phone, customers, kamailio.address)
        started = time.monotonic()
        call = await phone.sip.dial(ANSWERS, {"X-CC-Contact-Id": "c-out-1", "Priority": "urgent"})
        await phone.expect(SipCallState, call=call, state="ringing")
        await phone.expect(SipCallState, call=call, state="established")
        assert time.monotonic() - started < 2
        incoming = await customers.expect("incoming", number=ANSWERS)
        assert incoming["from"] == "1001"
        assert incoming["headers"] == {"X-CC-Contact-Id": "c-out-1", "Priority": "urgent"}
        await customers.expect("answered", number=ANSWERS)
        assert phone.sip.calls() == [(call, "established", "c-out-1")]

        talking = asyncio.create_task(speak(phone, call))
        try:                    # the customer hears the agent's 1 kHz ...
            await customers.expect("voice", number=ANSWERS)
            while not _near((await customers.expect("audio", number=ANSWERS))["hz"], PHONE_HZ):
                pass
            assert await phone.rx_after(call, 1.0) > 30          # ... and the agent the number's
            assert _near(phone.pitch(call), number_tone(ANSWERS))
            assert phone.sip.stats(call)["tx_packets"] > 25
        finally:
            talking.cancel()

        for key in "12#":
            await phone.sip.send_dtmf(call, key)
        got = [(await customers.expect("dtmf", number=ANSWERS))["digit"] for _ in range(3)]
        assert got == ["1", "2", "#"]

        await phone.sip.hold(call)      # a placed call holds and resumes like an answered one
        await phone.expect(SipCallState, call=call, state="held")
        await phone.sip.resume(call)
        await phone.expect(SipCallState, call=call, state="resumed")

        await phone.sip.hangup(call)
        ended = await phone.expect(SipCallState, call=call, state="ended")
        assert ended.reason == "local hangup"
        assert (await customers.expect("ended", number=ANSWERS))["reason"] == "far end hung up"
        assert phone.sip.calls() == [] and phone.sip.stats(call) == {}
    run(scenario, DialPhone(kamailio.address))


def test_the_called_number_hangs_up_and_a_number_on_a_call_is_busy(kamailio):
    async def scenario(phone, customers):
        await ready(phone, customers, kamailio.address)
        call = await phone.sip.dial(f"sip:{ANSWERS}@{kamailio.address}")   # a URI as given
        await phone.expect(SipCallState, call=call, state="established")
        await customers.expect("answered", number=ANSWERS)

        second = await phone.sip.dial(ANSWERS)          # the number is on a call: 486
        ended = await phone.expect(SipCallState, call=second, state="ended")
        assert ended.reason == "busy (486)"
        assert (await customers.expect("refused", number=ANSWERS))["reason"].startswith("busy")

        customers.send({"op": "hangup", "number": ANSWERS})
        ended = await phone.expect(SipCallState, call=call, state="ended")
        assert ended.reason == "remote hangup"
        assert (await customers.expect("ended", number=ANSWERS))["reason"] == "hangup requested"
        assert phone.sip.calls() == []
    run(scenario, DialPhone(kamailio.address))


def test_numbers_nobody_has_that_refuse_or_never_answer_end_with_their_reason(kamailio):
    async def scenario(phone, customers):
        await ready(phone, customers, kamailio.address)
        started = time.monotonic()
        call = await phone.sip.dial(NOBODY)
        ended = await phone.expect(SipCallState, call=call, state="ended")
        assert ended.reason == "not found (404)" and time.monotonic() - started < 5
        assert phone.sip.calls() == []

        call = await phone.sip.dial(BUSY)
        ended = await phone.expect(SipCallState, call=call, state="ended")
        assert ended.reason == "busy (486)"
        assert (await customers.expect("incoming", number=BUSY))["from"] == "1001"
        assert (await customers.expect("refused", number=BUSY))["reason"] == "busy (486)"

        started = time.monotonic()
        call = await phone.sip.dial(RINGS, answer_within_s=1.5)
        await phone.expect(SipCallState, call=call, state="ringing")
        assert phone.sip.calls() == [(call, "dialing", "")]
        await phone.sip.hold(call)                  # not answered: nothing to hold, no event
        ended = await phone.expect(SipCallState, call=call, state="ended", timeout=4)
        assert ended.reason == "no answer" and 1.4 < time.monotonic() - started < 3
        assert (await customers.expect("ended", number=RINGS))["reason"] == "caller gave up"

        call = await phone.sip.dial(RINGS)          # the agent gives up first
        await phone.expect(SipCallState, call=call, state="ringing")
        await phone.sip.hangup(call)
        ended = await phone.expect(SipCallState, call=call, state="ended")
        assert ended.reason == "local hangup"
        assert phone.events.empty()
    run(scenario, DialPhone(kamailio.address))


def test_numbers_taken_while_running_and_bad_lines_for_them(kamailio):
    async def scenario(phone, customers):
        await ready(phone, customers, kamailio.address)
        for line, reason in [
                ({"op": "answer", "numbers": []}, "answer: numbers must be a non-empty list"),
                ({"op": "refuse", "numbers": ["555 0100"]}, "not a number that can be called"),
                ({"op": "ring", "numbers": ["5550100"], "talk_s": -1}, "ring: talk_s must be"),
                ({"op": "hangup", "number": "5550100"}, "no call for this number")]:
            customers.send(line)
            assert (await customers.expect("error"))["reason"].startswith(reason)
        customers.send({"op": "answer", "numbers": ["5550111"], "talk_s": 1})
        taken = await customers.expect("answering", number="5550111")
        assert taken["mode"] == "answer"

        call = await phone.sip.dial("5550111")
        await phone.expect(SipCallState, call=call, state="established")
        await customers.expect("answered", number="5550111")
        assert await phone.rx_after(call, 0.6) > 15
        assert _near(phone.pitch(call, 0.4), taken["hz"])
        ended = await phone.expect(SipCallState, call=call, state="ended", timeout=3)
        assert ended.reason == "remote hangup"              # its talk time is over
        assert (await customers.expect("ended", number="5550111"))["reason"] == "talk time over"

        customers.send({"op": "refuse", "numbers": [ANSWERS]})   # a number changes its mind
        await customers.expect("answering", number=ANSWERS, mode="refuse")
        call = await phone.sip.dial(ANSWERS)
        assert (await phone.expect(SipCallState, call=call, state="ended")).reason == "busy (486)"
    run(scenario, DialPhone(kamailio.address))


def test_a_number_list_the_customers_cannot_take_stops_them_at_once():
    with pytest.raises(ProcessError, match="not a number that can be called"):
        CustomersProcess("127.0.0.1:5062", f"127.0.0.1:{free_port()}",
                         extra_args=("--answer", "5550100,555 0101"), ready_timeout=10)


BAD = [("", "empty"), ("555 0100", "' '"), ("5550100;lr", "';'"), ("a@b", "'@'"),
       ("1" * 65, "too long"), ("sip:555 0100@x", "' '"), ("sip:<x>", "'<'"),
       # the stack would refuse these, and its refusal corrupts its heap (the phone aborts)
       ("sips:5550100@127.0.0.1:5061", "sips: needs SIP over TLS"),
       ("sip:5550100@127.0.0.1;transport=sctp", "transport 'sctp'")]


def test_a_number_that_cannot_be_dialed_raises_and_sends_nothing(kamailio):
    async def scenario(phone, customers):
        await phone.expect(SipRegistration, state="registered")
        for number, why in BAD:
            with pytest.raises(ValueError, match=why):
                await phone.sip.dial(number)
        with pytest.raises(ValueError, match="header"):
            await phone.sip.dial(ANSWERS, {"X-Bad: injected": "1"})
        assert phone.sip.calls() == [] and phone.events.empty()

        call = await phone.sip.dial("sip:5550100@[::1]:5060")   # the stack refuses: no route
        ended = await phone.expect(SipCallState, call=call, state="ended")
        assert ended.reason == "not dialed: no network route to that host"
    run(scenario, DialPhone(kamailio.address))


def test_a_dial_the_stack_refuses_gets_an_id_and_its_end():
    async def main():
        events: asyncio.Queue = asyncio.Queue()
        sip = SipStack(SipConfig(user="1001", domain="127.0.0.1:5062"), events.put_nowait)
        call = await sip.dial(ANSWERS)                  # never started
        assert events.empty()                           # posted after the id is returned
        assert await asyncio.wait_for(events.get(), 1) == SipCallState(call, "ended",
                                                                       "SIP not running")
        assert sip.calls() == []
    asyncio.run(main())


def test_numbers_in_the_scenario_are_answered_by_ccsims_customers(kamailio, tmp_path):
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(scenario_text(DEMO_SCENARIO, kamailio.port, free_port(), {}, customers={
        "answer": [ANSWERS], "refuse": [BUSY]}))
    ccsim = Ccsim(tmp_path, scenario, free_port())
    ccsim.start()

    async def dial_when_registered(phone, number):
        """ccsim is ready before its customers process has registered the numbers."""
        deadline = time.monotonic() + 10
        while True:
            call = await phone.sip.dial(number)
            ended = await phone.expect(SipCallState, call=call)
            if ended.state != "ended" or ended.reason != "not found (404)":
                return call, ended
            assert time.monotonic() < deadline, f"{number} never registered"
            await asyncio.sleep(0.2)

    async def scenario_(phone, customers):
        await phone.expect(SipRegistration, state="registered")
        call, first = await dial_when_registered(phone, ANSWERS)
        assert first.state in ("ringing", "established")
        await phone.expect(SipCallState, call=call, state="established")
        assert await phone.rx_after(call, 1.0) > 30
        assert _near(phone.pitch(call), number_tone(ANSWERS))
        await phone.sip.hangup(call)
        await phone.expect(SipCallState, call=call, state="ended", reason="local hangup")
        call, first = await dial_when_registered(phone, BUSY)
        ended = first if first.state == "ended" else await phone.expect(
            SipCallState, call=call, state="ended")
        assert ended.reason == "busy (486)"
    try:
        run(scenario_, DialPhone(kamailio.address))
    finally:
        ccsim.stop()
