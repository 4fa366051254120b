"""What the phone dials (firmware/sip/dialing.py): a number -> the INVITE's URI, the far end's
answer -> the reason the agent reads; and the core taking a placed call's ringing quietly."""
import re

import pytest

from firmware.core import events as ev
from firmware.sip.dialing import MAX_NUMBER, dial_uri, failure_reason
from tests.unit.test_agent_rules import agent, offered, run, talking

PROXY = "127.0.0.1:5062"


@pytest.mark.parametrize("target, transport, uri", [
    ("5550100", "udp", "sip:5550100@127.0.0.1:5062"),
    ("+15551234567", "udp", "sip:+15551234567@127.0.0.1:5062"),
    ("*72#", "udp", "sip:*72%23@127.0.0.1:5062"),                 # '#' travels escaped
    ("1002", "tls", "sip:1002@127.0.0.1:5062;transport=tls"),     # over the account's transport
    ("1002", "tcp", "sip:1002@127.0.0.1:5062;transport=tcp"),
    ("ada.byron", "udp", "sip:ada.byron@127.0.0.1:5062"),         # an agent by name
    ("1" * MAX_NUMBER, "udp", f"sip:{'1' * MAX_NUMBER}@127.0.0.1:5062"),
    ("sip:3001@pbx.example.com", "udp", "sip:3001@pbx.example.com"),      # a URI as given
    ("sip:3001@pbx.example.com;transport=tcp", "udp", "sip:3001@pbx.example.com;transport=tcp"),
    ("sips:3001@pbx.example.com", "tls", "sips:3001@pbx.example.com"),
])
def test_a_number_becomes_a_user_at_the_registrar(target, transport, uri):
    assert dial_uri(target, PROXY, transport) == uri


@pytest.mark.parametrize("target, transport, message", [
    ("", "udp", "nothing to dial: the number is empty"),
    ("555 0100", "udp", "cannot dial '555 0100': ' ' cannot be in a SIP number"),
    ("555-0100;user=phone", "udp", "';='"),
    ("a@b", "udp", "'@'"),
    ("sip:5550100@x?Subject=hi", "udp", None),       # a URI's own business: passes (below)
    ("5550100\r\nX-Injected: 1", "udp", "cannot be in a SIP number"),
    ("1" * (MAX_NUMBER + 1), "udp", f"number too long: {MAX_NUMBER + 1} characters"),
    ("sip:", "udp", "not a SIP URI"),
    ("sip:a b@x", "udp", "' ' cannot be in it"),
    ("sip:a@x\r\nX: 1", "udp", "not a SIP URI"),
    ("sips:3001@pbx", "udp", "sips: needs SIP over TLS"),
    ("sip:3001@pbx;transport=sctp", "udp", "transport 'sctp'"),
])
def test_what_cannot_be_dialed_says_why(target, transport, message):
    if message is None:
        assert dial_uri(target, PROXY, transport) == target
        return
    with pytest.raises(ValueError, match=re.escape(message)):
        dial_uri(target, PROXY, transport)


@pytest.mark.parametrize("text, reason", [
    ("486 Busy Here", "busy (486)"),
    ("603 Decline", "declined (603)"),
    ("404 Not Found", "not found (404)"),
    ("408 Request Timeout", "no answer (408)"),
    ("480 Temporarily Unavailable", "unavailable (480)"),
    ("484 Address Incomplete", "incomplete number (484)"),
    ("500 Server Internal Error", "500 Server Internal Error"),      # as it is
    ("Connection refused [111]", "unreachable (Connection refused)"),
    ("", "failed"),
])
def test_the_far_ends_answer_becomes_the_reason(text, reason):
    assert failure_reason(text) == reason


def test_the_far_end_ringing_changes_nothing_on_the_phone_yet():
    for m in (agent(*offered()), agent(*talking())):
        assert run(m, ev.SipCallState("k1", "ringing")) == (m, ())
