"""The impairing media relay (tools/rtprelay.py) under a real Kamailio: the phone's SipStack
dials a number the customers process answers, Kamailio rewrites both SDPs to the relay (its
rtpproxy module), and the audio still flows both ways, through the relay, with the share of
packets it was told to lose missing."""
import asyncio

from firmware.core.events import SipCallState
from tests.integration.test_dial import ANSWERS, PHONE_HZ, DialPhone, ready, speak
from tests.integration.test_sip import PASSWORD, _near, free_port, run
from tools.ccsim.customers import number_tone
from tools.kamailio import Kamailio
from tools.rtprelay import Impairment, RelayProcess


def test_a_call_through_the_relay_carries_audio_both_ways_and_loses_what_it_was_told(tmp_path):
    with RelayProcess(Impairment(jitter_ms=10, loss=0.2), seed=7,
                      log=tmp_path / "rtprelay.log") as relay, \
            Kamailio(free_port(), password=PASSWORD, workdir=tmp_path / "kamailio",
                     rtp_relay=relay.address) as kamailio:
        seen = {}

        async def scenario(phone, customers):
            await ready(phone, customers, kamailio.address)
            call = await phone.sip.dial(ANSWERS)
            await phone.expect(SipCallState, call=call, state="established")
            await customers.expect("answered", number=ANSWERS)
            talking = asyncio.create_task(speak(phone, call))
            try:                # the customer hears the agent's 1 kHz, the agent the number's
                await customers.expect("voice", number=ANSWERS)
                while not _near((await customers.expect("audio", number=ANSWERS))["hz"],
                                PHONE_HZ):
                    pass
                await asyncio.sleep(2)
                assert await phone.rx_after(call, 1.0) > 20
                assert _near(phone.pitch(call), number_tone(ANSWERS))
            finally:
                talking.cancel()
            seen.update(await asyncio.to_thread(relay.stats))
            await phone.sip.hangup(call)
            await phone.expect(SipCallState, call=call, state="ended")
            await customers.expect("ended", number=ANSWERS)

        run(scenario, DialPhone(kamailio.address))
        during = seen
        # both SDPs pointed at the relay: every packet of both ways went through it
        assert during["sessions created"] == 1 and during["active sessions"] == 1
        assert during["rtp_in"] > 200 and during["rtp_unrouted"] < 5
        dropped = during["rtp_dropped"] / during["rtp_in"]
        assert 0.14 < dropped < 0.26, during
        # the BYE went through the relay's control socket too: the stream is gone
        after = relay.stats()
        assert after["active sessions"] == 0, (after, relay.process.output_tail())


def test_the_phones_jitter_buffer_plays_after_30_ms_and_rides_out_20_ms_of_jitter(tmp_path):
    """[sip] jitter_buffer_ms (default 30; baresip's own is 100): received audio waits 30 ms,
    and on a network with 0-20 ms of jitter no packet comes too late for it."""
    with RelayProcess(Impairment(jitter_ms=20), seed=3, log=tmp_path / "rtprelay.log") as relay, \
            Kamailio(free_port(), password=PASSWORD, workdir=tmp_path / "kamailio",
                     rtp_relay=relay.address) as kamailio:
        seen = {}

        async def scenario(phone, customers):
            await ready(phone, customers, kamailio.address)
            call = await phone.sip.dial(ANSWERS)
            await phone.expect(SipCallState, call=call, state="established")
            await customers.expect("answered", number=ANSWERS)
            media = phone.sip._calls[call].media._call         # baresip's own call
            await asyncio.sleep(4)
            assert await phone.rx_after(call, 1.0) > 40        # 50 packets a second, all played
            await phone.sip.hangup(call)
            await phone.expect(SipCallState, call=call, state="ended")
            for _ in range(100):
                if media.final_stats is not None:
                    break
                await asyncio.sleep(0.05)
            seen["stats"] = media.final_stats

        run(scenario, DialPhone(kamailio.address))
        stats = seen["stats"]
        assert stats.jbuf_delay_ms == 30
        assert stats.jbuf_late == 0 and stats.rx_packets > 150, stats
