"""SIP from the proxy only, and a bounded number of calls: a sim phone, Kamailio, ccsim and its
customers, each a real process on loopback; strangers are raw SIP senders on other addresses."""
import asyncio
import socket
import time
import tomllib
import uuid
from dataclasses import replace


from tools.lab import Desk, Lab


def phone_sip_port(desk: Desk) -> int:
    config = tomllib.loads((desk.phone.workdir / "phone.toml").read_text())
    return int(config["sip"]["listen"].rsplit(":", 1)[1])


def invite(phone_port: int, source: str, to_user: str = "1001",
           caller: str = "+19998887777") -> list[str]:
    """Send one INVITE from ``source`` straight to the phone (no proxy), a personal call (no
    contact id); the status lines of the replies heard within 1.5 s."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((source, 0))
        port = s.getsockname()[1]
        tag, branch = uuid.uuid4().hex[:10], "z9hG4bK" + uuid.uuid4().hex[:16]
        sdp = (f"v=0\r\no=- 1 1 IN IP4 {source}\r\ns=-\r\nc=IN IP4 {source}\r\nt=0 0\r\n"
               f"m=audio {port + 2} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
        msg = (f"INVITE sip:{to_user}@127.0.0.1:{phone_port} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP {source}:{port};branch={branch};rport\r\n"
               f"Max-Forwards: 70\r\nFrom: <sip:{caller}@{source}>;tag={tag}\r\n"
               f"To: <sip:{to_user}@127.0.0.1>\r\nCall-ID: {uuid.uuid4().hex}@{source}\r\n"
               f"CSeq: 1 INVITE\r\nContact: <sip:{caller}@{source}:{port}>\r\n"
               f"Content-Type: application/sdp\r\n"
               f"Content-Length: {len(sdp)}\r\n\r\n{sdp}")
        s.sendto(msg.encode(), ("127.0.0.1", phone_port))
        replies, deadline = [], time.monotonic() + 1.5
        while (left := deadline - time.monotonic()) > 0:
            s.settimeout(left)
            try:
                replies.append(s.recv(65535).decode(errors="replace").split("\r\n", 1)[0])
            except TimeoutError:
                break
        return replies


def events(lab: Lab, agent: str = "1001") -> list:
    return lab.ccsim.call("GET", f"/agents/{agent}/events")["events"]


def test_a_call_straight_to_the_phone_does_not_ring_it_one_through_the_proxy_does(lab):
    desk = Desk(lab.phone("1001"))
    try:
        desk.wait_status(agent="IDLE", cc="up", sip="registered")
        before = events(lab)
        port = phone_sip_port(desk)
        # another port on the proxy's own address, then another address
        for source in ("127.0.0.1", "127.0.0.2"):
            assert invite(port, source) == [], f"the phone answered a stranger at {source}"
        assert desk.calls() == []
        assert "Ringing" not in desk.text() and "+19998887777" not in desk.text()
        assert desk.status()["agent"] == "IDLE" and events(lab) == before
        assert dict(p.split("=") for p in desk.link.command("leds")[0].split()[1:])["line"] \
            == "off"

        desk.key("soft1", "1")                       # Available: a customer through Kamailio
        desk.wait_lcd("Available")
        lab.wait_for(lambda: lab.agent("1001")["state"] == "available", desc="available")
        lab.post_contact("sales", "+15551234567")
        desk.wait_lcd("Call 1 of 1")
        assert [c["state"] for c in desk.calls()] == ["ringing"]
    finally:
        desk.close()


def test_with_direct_calls_on_a_call_straight_to_the_phone_rings(lab):
    desk = Desk(lab.phone("1001", sip_fields={"direct_calls": True}))
    try:
        desk.wait_status(agent="IDLE", cc="up", sip="registered")
        replies = invite(phone_sip_port(desk), "127.0.0.2")
        assert any(r.startswith("SIP/2.0 180") for r in replies), replies
        assert [c["state"] for c in desk.calls()] == ["ringing"]
        desk.wait_lcd("+19998887777")
    finally:
        desk.close()


# -- the phone's SipStack in this process, Kamailio and the customers in theirs --------------
from firmware.core.events import SipCallState, SipIncoming, SipRegistration  # noqa: E402
from firmware.sip import guard  # noqa: E402
from tests.integration.test_sip import Customers, Phone, answered_call, kamailio, run  # noqa: E402,F401


def test_a_phone_with_its_calls_at_the_cap_answers_486_and_keeps_its_live_call(kamailio):  # noqa: F811
    phone = Phone(kamailio.address)
    phone.sip.config = replace(phone.sip.config, max_calls=2)

    async def scenario(phone, customers):
        await customers.start(kamailio.address)
        await phone.expect(SipRegistration, state="registered")
        live = await answered_call(phone, customers, kamailio.address, "c-1")
        customers.dial("c-2", f"sip:1001@{kamailio.address}")
        ringing = (await phone.expect(SipIncoming, contact="c-2")).call
        customers.dial("c-3", f"sip:1001@{kamailio.address}")          # one too many
        refused = await customers.expect("failed", contact="c-3")
        assert refused["reason"].startswith("486"), refused
        assert {c[0] for c in phone.sip.calls()} == {live, ringing}   # c-3 never reached us
        assert await phone.rx_after(live, 1.0) > 30                   # the live call talks on
        await phone.sip.hangup(ringing)                               # room again: rings
        await phone.expect(SipCallState, call=ringing, state="ended")
        customers.dial("c-4", f"sip:1001@{kamailio.address}")
        await phone.expect(SipIncoming, contact="c-4")
    run(scenario, phone)


def test_without_the_kernel_filter_the_stacks_own_check_still_refuses_other_addresses(
        kamailio, monkeypatch):  # noqa: F811
    """The fallback layer: if the filter cannot be attached, baresip's filter_registrar still
    answers 403 to a request from an address that is not the registrar's."""
    async def cannot(*args):
        raise guard.GuardError("no filter in this test")
    monkeypatch.setattr(guard, "admit_proxy_only", cannot)
    phone = Phone(kamailio.address)

    async def scenario(phone, customers):
        await phone.expect(SipRegistration, state="registered")
        port = int(phone.sip.config.listen.rsplit(":", 1)[1])
        replies = await asyncio.to_thread(invite, port, "127.0.0.2")
        assert replies and replies[-1].startswith("SIP/2.0 403"), replies
        assert phone.sip.calls() == []
    run(scenario, phone)
