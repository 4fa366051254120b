"""ccsim's link to the customers process, fed the lines the process writes: which of a
contact's call reports reach the engine when ccsim hangs a call up and dials the contact's
next agent at once (a RONA or a reject)."""
from tools.ccsim.customer_link import NO_CALL, CustomerLink
from tools.ccsim.scenario import CustomersConfig


def link():
    heard: list[dict] = []
    sent: list[dict] = []
    customers = CustomerLink(CustomersConfig(), heard.append)
    customers._send = sent.append
    return customers, heard, sent


def moved_on(customers):
    """c-1 rang on one agent; ccsim hangs it up and dials the next agent at once."""
    customers.dial("c-1", "sip:1001@pbx", "+1555", 60, "t1")
    customers.hangup("c-1")
    customers.dial("c-1", "sip:1002@pbx", "+1555", 60, "t2")


def test_the_next_dial_waits_for_the_old_calls_end_which_the_engine_never_sees():
    customers, heard, sent = link()
    moved_on(customers)
    assert [m["op"] for m in sent] == ["dial", "hangup"]
    customers._heard({"event": "ended", "contact": "c-1", "reason": "hangup requested"})
    assert [m["op"] for m in sent] == ["dial", "hangup", "dial"]
    assert sent[-1]["to"] == "sip:1002@pbx" and heard == []


def test_a_call_the_phone_declined_as_ccsim_hung_it_up_does_not_end_the_next_one():
    """A reject: the phone declines its ringing call while ccsim hangs it up. The process
    reports the call ended, then answers the hangup "no call": the next agent's call is up by
    then, and must not be reported failed (that would RONA the next agent at once)."""
    customers, heard, sent = link()
    moved_on(customers)
    customers._heard({"event": "ended", "contact": "c-1", "reason": "Busy Here"})
    customers._heard({"event": "error", "contact": "c-1", "reason": NO_CALL})
    assert heard == [] and [m["op"] for m in sent] == ["dial", "hangup", "dial"]
    customers._heard({"event": "ringing", "contact": "c-1"})    # the next agent's call
    assert heard == [{"event": "ringing", "contact": "c-1"}]


def test_a_hangup_answered_no_call_still_releases_the_next_dial():
    customers, heard, sent = link()
    moved_on(customers)
    customers._heard({"event": "error", "contact": "c-1", "reason": NO_CALL})
    assert [m["op"] for m in sent] == ["dial", "hangup", "dial"] and heard == []


def test_other_errors_about_a_call_that_is_up_still_end_it():
    customers, heard, _ = link()
    customers.dial("c-1", "sip:1001@pbx", "+1555", 60, "t1")
    customers._heard({"event": "error", "contact": "c-1", "reason": "bad number"})
    assert [e["event"] for e in heard] == ["failed"]
