"""The contact-center link's sans-I/O core, fed frames as strings: no sockets."""
import json

import pytest

from firmware.cc import protocol as p
from firmware.cc.client import CcClient
from firmware.cc.connection import Backoff, UrlError, check_url
from firmware.core import effects as fx
from firmware.core import events as ev

AGENT = p.Agent(id="1001", name="Ana Diaz", team="Blue", extension="sip:1001@127.0.0.1:5062")


def contact(cid, status="wrapup"):
    return p.Contact(id=cid, status=status, queue="sales", ani="+15551234567",
                     variables={"customer": "Jo", "card": "4111111111111111"})


def snapshot(seq=5, contacts=()):
    return p.encode(p.Snapshot(seq=seq, agent=AGENT, state="idle", reason="login",
                               contacts=list(contacts),
                               idle_codes=[p.Code("lunch", "Lunch")],
                               wrapup_codes=[p.Code("sale", "Sale made")]))


def sent(frames):
    return [json.loads(f) for f in frames]


def wrapups(saved):
    return [(m["contact"], m["code"]) for m in sent(saved) if m["type"] == "wrapup"]


def online(saved=None, contacts=()):
    saves = []
    s = CcClient(saved, saves.append)
    s.request(fx.CcLogin("1001", "1234"))
    s.connection_made()
    s.receive(snapshot(contacts=contacts))
    return s, saves


def test_silent_until_login_then_hello_on_every_connection():
    s = CcClient()
    assert not s.wants_connection and s.connection_made() == []
    _, frames = s.request(fx.CcLogin("1001", "1234"))
    assert frames == [] or sent(frames)[0]["type"] == "hello"
    assert s.wants_connection
    s.connection_lost()
    hello = sent(s.connection_made())[0]
    assert (hello["type"], hello["agent"], hello["pin"]) == ("hello", "1001", "1234")


def test_snapshot_becomes_core_events_and_link_up():
    s = CcClient()
    s.request(fx.CcLogin("1001", "1234"))
    s.connection_made()
    events, frames = s.receive(snapshot(contacts=[contact("c-1", "offered")]))
    snap, link = events
    assert isinstance(snap, ev.CcSnapshot) and link == ev.CcLink("up")
    assert snap.agent == "1001" and snap.idle_codes == (ev.Code("lunch", "Lunch"),)
    assert snap.contacts[0].id == "c-1"
    assert ("card", "4111111111111111") in snap.contacts[0].variables
    assert "4111" not in repr(snap)          # secure values never reach a log line
    assert frames == []


def test_contact_times_are_put_on_the_phones_clock():
    """The server's clock runs 100 s ahead: an offer it made 3 s ago is 3 s old here too."""
    phone_now = 1_800_000_000.0
    server_now = phone_now + 100
    offered = p.Contact(id="c-1", status="offered", queue="sales", ani="+15551234567",
                        offered_at=server_now - 3, expires_at=server_now + 12)
    s = CcClient(clock=lambda: phone_now)
    s.request(fx.CcLogin("1001", "1234"))
    s.connection_made()
    (snap, _), _ = s.receive(p.encode(p.Snapshot(seq=1, agent=AGENT, state="available",
                                                 contacts=[offered], server_time=server_now)))
    c = snap.contacts[0]
    assert (c.offered_at, c.expires_at) == (phone_now - 3, phone_now + 12)
    later = p.Contact(id="c-2", status="offered", queue="sales", ani="1", offered_at=server_now)
    (update,), _ = s.receive(p.encode(p.ContactUpdate(seq=2, contact=later)))
    assert update.contact.offered_at == phone_now and update.contact.wrapup_deadline == 0.0


def test_events_in_order_repeats_ignored_gap_asks_for_snapshot():
    s, _ = online()
    events, _ = s.receive(p.encode(p.AgentState(seq=6, state="available")))
    assert events == [ev.CcAgentState("available", "", None)]
    assert s.receive(p.encode(p.AgentState(seq=6, state="idle"))) == ([], [])   # repeat
    events, frames = s.receive(p.encode(p.Notice(seq=9, text="campaign X started")))
    assert events == [] and sent(frames)[0]["type"] == "resync"
    # until the snapshot comes, events are not applied (the snapshot covers them)
    assert s.receive(p.encode(p.Notice(seq=10, text="x"))) == ([], [])
    events, _ = s.receive(snapshot(seq=10))
    assert isinstance(events[0], ev.CcSnapshot)
    assert s.receive(p.encode(p.Notice(seq=11, text="hi")))[0] == [ev.CcNotice("hi")]


def test_offline_requests_queue_latest_state_only_and_flush_after_snapshot():
    saves = []
    s = CcClient(None, saves.append)
    s.request(fx.CcLogin("1001", "1234"))
    assert s.request(fx.CcSetState("idle", "lunch")) == ([], [])
    s.request(fx.CcCallEvent("c-1", "ended", 10.0))
    s.request(fx.CcSetState("available"))
    s.request(fx.CcWrapUp("c-1", "sale"))
    assert [m["type"] for m in sent(saves[-1])] == ["call", "set_state", "wrapup"]  # on disk
    assert wrapups(saves[-1]) == [("c-1", "sale")]
    s.connection_made()
    _, frames = s.receive(snapshot(contacts=[contact("c-1", "assigned")]))
    assert [(m["type"], m.get("state") or m.get("event") or m.get("code")) for m in sent(frames)] \
        == [("call", "ended"), ("set_state", "available"), ("wrapup", "sale")]


def test_wrapup_forgotten_only_when_acknowledged():
    s, saves = online(contacts=[contact("c-1")])
    _, frames = s.request(fx.CcWrapUp("c-1", "sale"))
    rid = sent(frames)[0]["id"]
    assert wrapups(saves[-1]) == [("c-1", "sale")]
    s.receive(p.encode(p.Ack(id=rid)))
    assert saves[-1] == []


def test_in_flight_wrapup_is_resent_after_a_reconnect():
    s, _ = online(contacts=[contact("c-1")])
    s.request(fx.CcWrapUp("c-1", "sale"))
    assert s.connection_lost() == [ev.CcLink("down")]
    s.connection_made()
    _, frames = s.receive(snapshot(seq=7, contacts=[contact("c-1")]))
    assert [(m["type"], m["contact"]) for m in sent(frames)] == [("wrapup", "c-1")]


def test_a_wrapup_note_queued_offline_survives_a_reboot_and_goes_out_with_it():
    saves = []
    s = CcClient(None, saves.append)
    s.request(fx.CcLogin("1001", "1234"))
    s.request(fx.CcWrapUp("c-1", "sale", "Wants the fibre plan"))      # offline: queued
    rebooted = CcClient(saves[-1], saves.append)
    rebooted.request(fx.CcLogin("1001", "1234"))
    rebooted.connection_made()
    _, frames = rebooted.receive(snapshot(contacts=[contact("c-1")]))
    assert [(m["type"], m.get("note")) for m in sent(frames)] == [
        ("wrapup", "Wants the fibre plan")]


@pytest.mark.parametrize("effect, kind", [
    (fx.CcRequestHelp("c-1"), "request_help"), (fx.CcCancelHelp(), "cancel_help"),
    (fx.CcQualityReport("echo", ev.CallQuality(mos=3.9)), "quality_report"),
    (fx.CcLogUpload("log-1", 1, 1, "a line"), "log_upload")])
def test_help_reports_and_logs_go_now_or_are_refused_never_queued(effect, kind):
    s = CcClient()
    s.request(fx.CcLogin("1001", "1234"))
    assert s.request(effect) == ([ev.CcRefused(kind, "offline", "no server")], [])
    s, saves = online()
    _, frames = s.request(effect)
    assert sent(frames)[0]["type"] == kind and saves[-1] == []     # never saved for later
    assert s.connection_lost() == [ev.CcLink("down"), ev.CcRefused(kind, "offline",
                                                                    "no server")]


def test_the_ack_of_a_log_part_and_of_a_report_reach_the_phone():
    s, _ = online()
    _, frames = s.request(fx.CcLogUpload("log-1", 2, 3, "b"))
    assert s.receive(p.encode(p.Ack(id=sent(frames)[0]["id"]))) == (
        [ev.CcAcked("log_upload", 2)], [])
    _, frames = s.request(fx.CcQualityReport("noise", ev.CallQuality()))
    assert s.receive(p.encode(p.Ack(id=sent(frames)[0]["id"]))) == (
        [ev.CcAcked("quality_report")], [])
    _, frames = s.request(fx.CcRequestHelp())
    assert s.receive(p.encode(p.Ack(id=sent(frames)[0]["id"]))) == ([], [])
    assert s.receive(p.encode(p.Help(seq=6, state="open"))) == ([ev.CcHelp("open")], [])


def test_queued_requests_for_contacts_the_server_closed_are_dropped():
    s = CcClient()
    s.request(fx.CcLogin("1001", "1234"))
    s.request(fx.CcWrapUp("c-1", "sale"))
    s.request(fx.CcSetState("available"))
    s.connection_made()
    _, frames = s.receive(snapshot(contacts=[contact("c-1", "wrapped_up")]))
    assert [m["type"] for m in sent(frames)] == ["set_state"]


def test_a_reject_goes_out_online_and_waits_offline_unless_the_server_moved_on():
    s, saves = online(contacts=[contact("c-1", "offered")])
    _, frames = s.request(fx.CcReject("c-1"))
    assert [(m["type"], m["contact"]) for m in sent(frames)] == [("reject", "c-1")]
    assert [m["type"] for m in sent(saves[-1])] == ["reject"]     # on disk until acked
    s.receive(p.encode(p.Ack(id=sent(frames)[0]["id"])))
    assert saves[-1] == []
    s.connection_lost()
    assert s.request(fx.CcReject("c-2")) == ([], [])              # offline: queued ...
    s.request(fx.CcReject("c-3"))
    s.connection_made()
    _, frames = s.receive(snapshot(seq=9, contacts=[contact("c-2", "offered")]))
    # ... sent while the server still offers the contact; dropped once it RONA'd it itself
    assert [(m["type"], m["contact"]) for m in sent(frames)] == [("reject", "c-2")]


def test_requests_saved_before_a_reboot_are_sent_in_order():
    saves = []
    before = CcClient(None, saves.append)
    before.request(fx.CcCallEvent("c-9", "ended", 5.0))
    before.request(fx.CcWrapUp("c-9", "sale"))
    s = CcClient(saves[-1] + ['{"type":"wrapup"}', "junk", p.encode(p.Resync(id="x"))])
    s.request(fx.CcLogin("1001", "1234"))
    s.connection_made()
    _, frames = s.receive(snapshot(contacts=[contact("c-9", "assigned")]))
    assert [(m["type"], m["contact"]) for m in sent(frames)] == [("call", "c-9"), ("wrapup", "c-9")]


def test_logout_refused_offline_and_when_the_link_drops_before_the_ack():
    s = CcClient()
    s.request(fx.CcLogin("1001", "1234"))
    events, frames = s.request(fx.CcLogout("lunch"))
    assert frames == [] and events[0].request == "logout" and "No server" in events[0].message
    s.connection_made()
    s.receive(snapshot())
    _, frames = s.request(fx.CcLogout("lunch"))
    assert sent(frames)[0]["type"] == "logout"
    events = s.connection_lost()
    assert any(isinstance(e, ev.CcRefused) and e.request == "logout" for e in events)


def test_refusals_name_the_request_and_a_wrong_pin_stops_retrying():
    s, _ = online()
    _, frames = s.request(fx.CcSetState("idle", "nope"))
    events, _ = s.receive(p.encode(p.Error(id=sent(frames)[0]["id"], code="unknown_code",
                                           message="no idle code 'nope'")))
    assert events == [ev.CcRefused("set_state", "unknown_code", "no idle code 'nope'")]
    s2 = CcClient()
    s2.request(fx.CcLogin("1001", "0000"))
    hello = sent(s2.connection_made())[0]
    events, _ = s2.receive(p.encode(p.Error(id=hello["id"], code="auth_failed", message="bad")))
    assert events[0].request == "hello" and events[0].code == "auth_failed"
    assert not s2.wants_connection


# -- consult and transfer ------------------------------------------------------------------------
@pytest.mark.parametrize("effect, wire", [
    (fx.CcConsult("c-1", "agent", "1002"),
     {"type": "consult", "contact": "c-1", "kind": "agent", "target": "1002"}),
    (fx.CcTransfer("c-1"), {"type": "transfer", "contact": "c-1"}),
    (fx.CcTransfer("c-1", "queue", "support"),
     {"type": "transfer", "contact": "c-1", "kind": "queue", "target": "support"}),
    (fx.CcExitConsult("c-1"), {"type": "exit_consult", "contact": "c-1"}),
    (fx.CcCallEvent("c-1", "held", 5.0, "consult"),
     {"type": "call", "contact": "c-1", "event": "held", "at": 5.0, "leg": "consult"}),
])
def test_consult_requests_go_out_as_the_protocol_spells_them(effect, wire):
    s, _ = online()
    events, frames = s.request(effect)
    (message,) = sent(frames)
    assert events == [] and {k: v for k, v in message.items() if k != "id"} == wire


@pytest.mark.parametrize("effect, kind, words", [
    (fx.CcConsult("c-1", "number", "5550100"), "consult", "No server: can't consult now"),
    (fx.CcTransfer("c-1"), "transfer", "No server: can't transfer now"),
    (fx.CcExitConsult("c-1"), "exit_consult", "No server: can't exit the consult now"),
])
def test_consult_requests_are_refused_offline_never_queued(effect, kind, words):
    s, _ = online()
    s.connection_lost()
    events, frames = s.request(effect)
    assert events == [ev.CcRefused(kind, "offline", words)] and frames == []
    assert s.connection_made() and sent(s.receive(snapshot(seq=9))[1]) == []   # nothing later


def test_a_consult_lost_with_the_link_is_refused_so_the_phone_can_ask_again():
    s, _ = online()
    s.request(fx.CcConsult("c-1", "agent", "1002"))
    assert ev.CcRefused("consult", "offline", "No server: can't consult now") \
        in s.connection_lost()


def test_a_refused_consult_names_the_request_and_the_code():
    s, _ = online()
    _, frames = s.request(fx.CcConsult("c-1", "entry_point", "Main line"))
    events, _ = s.receive(p.encode(p.Error(id=sent(frames)[0]["id"],
                                           code="unsupported_destination", message="capacity")))
    assert events == [ev.CcRefused("consult", "unsupported_destination", "capacity")]


def test_a_contacts_consult_requester_participants_and_control_reach_the_phone():
    """The consult's time on the phone's clock (the server 100 s ahead); its token never in a
    log line."""
    phone_now = 1_800_000_000.0
    c = p.Contact(id="c-1", status="assigned", queue="sales", ani="+15551234567",
                  consult=p.ConsultLeg("Ben Okafor", "agent", "ringing", phone_now + 98,
                                       "Secret-consult-token-123"),
                  requested_by=p.Requester("Ana Diaz", "sip:1001@pbx", "Blue"),
                  participants=[p.Participant("+15551234567", "customer", "music"),
                                p.Participant("Ben Okafor", "agent", "ringing", "1002")],
                  control="1001")
    s = CcClient(clock=lambda: phone_now)
    s.request(fx.CcLogin("1001", "1234"))
    s.connection_made()
    (snap, _), _ = s.receive(p.encode(p.Snapshot(seq=1, agent=AGENT, state="talking",
                                                 contacts=[c], server_time=phone_now + 100)))
    got = snap.contacts[0]
    assert got.consult == ev.ConsultLeg("Ben Okafor", "agent", "ringing", phone_now - 2,
                                        "Secret-consult-token-123")
    assert got.requested_by == ev.Requester("Ana Diaz", "sip:1001@pbx", "Blue")
    assert got.participants == (ev.Participant("+15551234567", "customer", "music"),
                                ev.Participant("Ben Okafor", "agent", "ringing", "1002"))
    assert got.control == "1001" and "Secret-consult" not in repr(snap)


def test_logged_out_ends_the_session():
    s, _ = online()
    events, _ = s.receive(p.encode(p.LoggedOut(seq=6, reason="lunch")))
    assert events == [ev.CcLoggedOut("lunch")] and not s.wants_connection


@pytest.mark.parametrize("frame", [b"", b"\xff\xfe", "{", "[]", '{"type":"snapshot"}',
                                   '{"type":"nope","seq":1}', "x" * (p.MAX_MESSAGE_BYTES + 1)])
def test_bad_frames_change_nothing(frame):
    s, _ = online()
    assert s.receive(frame) == ([], [])
    assert s.receive(p.encode(p.AgentState(seq=6, state="available")))[0]


def test_backoff_is_full_jitter_doubling_to_a_cap():
    top = Backoff(base=0.25, cap=1.5, rng=lambda: 1.0)
    assert [top.next() for _ in range(5)] == [0.25, 0.5, 1.0, 1.5, 1.5]
    top.reset()
    assert top.next() == 0.25
    assert Backoff(rng=lambda: 0.0).next() == 0.0


@pytest.mark.parametrize("url,ok", [("wss://cc.example.com/agent/v1", True),
                                    ("ws://127.0.0.1:8800/agent/v1", True),
                                    ("ws://localhost/agent/v1", True),
                                    ("ws://[::1]:80/agent/v1", True),
                                    ("ws://10.0.0.5/agent/v1", False),
                                    ("ws://cc.example.com/agent/v1", False),
                                    ("http://127.0.0.1/agent/v1", False)])
def test_plain_ws_only_on_loopback(url, ok):
    if ok:
        assert check_url(url) == url
    else:
        with pytest.raises(UrlError):
            check_url(url)


def test_a_state_change_saved_before_a_reboot_is_not_applied_after_it():
    """The phone comes back Not Ready: an Available asked for offline, then the power went."""
    saves = []
    before = CcClient(None, saves.append)
    before.request(fx.CcLogin("1001", "1234"))
    before.request(fx.CcSetState("available"))
    before.request(fx.CcWrapUp("c-9", "sale"))
    assert len(saves[-1]) == 2
    s = CcClient(saves[-1])
    s.request(fx.CcLogin("1001", "1234"))
    s.connection_made()
    _, frames = s.receive(snapshot(contacts=[contact("c-9", "wrapup")]))
    assert [m["type"] for m in sent(frames)] == ["wrapup"]
