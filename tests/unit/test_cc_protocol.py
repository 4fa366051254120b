"""The contact-center wire codec (firmware/cc/protocol.py) fed raw frames, and its documentation
(docs/cc-protocol.md) kept true to it."""
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

from firmware.cc import protocol as p
from firmware.cc import schema

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "cc-protocol.md"
MAX = p.MAX_MESSAGE_BYTES

CLIENT_TYPES = get_args(p.ClientMessage)
SERVER_TYPES = get_args(p.ServerMessage)

AGENT = p.Agent(id="1001", name="Zoë Byron", team="Sales", extension="sip:1001@pbx.example.com")
OFFER = p.Contact(id="c-42", status="offered", queue="Sales", ani="+441632960123",
                  variables={"account": "88-1203", "card": "4111111111111111"},
                  offered_at=1732240801.0, expires_at=1732240816.0)

# One of every message, with values a real session has.
DRAFT = p.CallbackDraft(number="+1 555 0100", name="Zoë Ærø", date="2026-12-03", start="10:00",
                        end="11:00", tz="Europe/Berlin", queue="sales",
                        reason="Quote for the fibre plan")
CALLBACK = p.Callback(id="cb-7", kind="scheduled", number="+1 555 0100", name="Zoë Ærø",
                      queue="sales", start=1796281200.0, end=1796284800.0, tz="Europe/Berlin",
                      date="2026-12-03", start_local="10:00", end_local="11:00")
EXAMPLES = [
    p.Hello(id="p-1", agent="1001", pin="4711", client="hardphone 0.3.0 board=sim"),
    p.SetState(id="p-2", state="idle", reason="break"),
    p.Accept(id="p-3", contact="c-42"),
    p.CallEvent(id="p-4", contact="c-42", event="answered", at=1732240805.25),
    p.WrapUp(id="p-5", contact="c-42", code="sale"),
    p.Logout(id="p-6", reason="end of shift"),
    p.Resync(id="p-7"),
    p.Ack(id="p-2"),
    p.Error(code="auth_failed", message="unknown agent or wrong PIN", id="p-1"),
    p.Snapshot(
        seq=17, agent=AGENT, state="talking", reason="",
        pending=p.Pending(state="idle", reason="lunch"),
        contacts=[p.Contact(id="c-41", status="assigned", queue="Support", ani="+3215551234",
                            variables={"account": "77-0001"}, offered_at=1732240700.0,
                            primary=False),
                  OFFER],
        idle_codes=[p.Code("break", "Break"), p.Code("lunch", "Lunch")],
        wrapup_codes=[p.Code("sale", "Sale"), p.Code("no_sale", "No sale")],
        layout=[p.VariableLayout("account", "Account"),
                p.VariableLayout("card", "Card", secure=True)],
        settings=p.Settings(rona_s=12.0, wrapup_s=60.0, mask_ani=True, accept_all=True,
                            max_offers=3),
        server_time=1732240810.5),
    p.AgentState(seq=18, state="ringing", pending=p.Pending(state="logged_out",
                                                           reason="end of shift")),
    p.ContactUpdate(seq=19, contact=OFFER),
    p.Notice(seq=20, text="Campaign Winter started, you are assigned"),
    p.CampaignUpdate(seq=21, campaign=p.Campaign(
        id="winter", name="Winter", status="started", preview_s=30.0, timeout_action="call",
        remove=False, dispositions=[p.Code("sale", "Sale"), p.Code("busy", "Busy")],
        fields=[p.VariableLayout("account", "Account")])),
    p.LoggedOut(seq=21, reason="supervisor"),
    p.Reject(id="p-8", contact="c-42"),
    p.Dial(id="p-9", number="5550100"),
    p.Consult(id="p-30", contact="c-50", kind="agent", target="1002"),
    p.Transfer(id="p-31", contact="c-50"),
    p.Transfer(id="p-32", contact="c-51", kind="queue", target="support"),
    p.ExitConsult(id="p-34", contact="c-50"),
    p.Conference(id="p-35", contact="c-50"),
    p.ExitConference(id="p-36", contact="c-50"),
    p.PauseRecording(id="p-40", contact="c-7"),
    p.ResumeRecording(id="p-41", contact="c-7"),
    p.SetVariable(id="p-42", contact="c-7", name="callback_at", value="2026-12-02T10:00",
                  version=1),
    p.GetVariable(id="p-43", contact="c-7", name="card"),
    p.VariableValue(id="p-43", contact="c-7", name="card", value="4111111111111111", version=1),
    p.ContactUpdate(seq=22, contact=p.Contact(
        id="c-50", status="assigned", queue="Support", ani="+3215551234", primary=False,
        participants=[p.Participant(who="+3215551234", kind="customer", state="talking"),
                      p.Participant(who="Ana Diaz", kind="agent", state="talking",
                                    agent="1001"),
                      p.Participant(who="Ben Okafor", kind="agent", state="talking",
                                    agent="1002")],
        control="1001", conference=p.ConferenceState(since=1732240900.0))),
    p.DialAnswer(id="p-9", to="5550100", contact="c-47"),
    p.Directory(id="p-10", query="ben"),
    p.DirectoryAnswer(id="p-10", entries=[
        p.DirectoryEntry(kind="agent", id="1002", name="Ben Okafor", number="1002",
                         state="available"),
        p.DirectoryEntry(kind="queue", id="support", name="support"),
        p.DirectoryEntry(kind="entry_point", id="Main line", name="Main line", number="8000"),
        p.DirectoryEntry(kind="number", id="Head office", name="Head office",
                         number="5550100")]),
    p.FavoriteAdd(id="p-11", kind="agent", number="1002", target="1002", name="Ben Okafor"),
    p.FavoriteRemove(id="p-12", number="5550123"),
    p.Favorites(seq=22, favorites=[
        p.Favorite(kind="agent", number="1002", id="1002", name="Ben Okafor"),
        p.Favorite(kind="number", number="5550123")]),
    p.Preview(id="p-8", contact="c-50", action="skip"),
    p.Reschedule(id="p-9", contact="c-50", at="2026-12-03T10:30"),
    p.PlayMessage(id="p-10", contact="c-60"),
    p.ScheduleCallback(id="p-11", contact="c-42", callback=DRAFT),
    p.EditCallback(id="p-12", callback_id="cb-7", callback=DRAFT),
    p.DeleteCallback(id="p-13", callback_id="cb-7"),
    p.ListCallbacks(id="p-14", number="+1 555 0100"),
    p.CallbackAnswer(id="p-11", callback=CALLBACK),
    p.CallbacksAnswer(id="p-14", callbacks=[CALLBACK]),
    p.Error(id="p-11", code="bad_value", message="number: number_short",
            fields={"number": "number_short", "start": "too_soon"}),
    p.WrapUp(id="p-15", contact="c-42", code="sale", note="Wants the fibre plan; call Åsa"),
    p.RequestHelp(id="p-16", contact="c-42"),
    p.CancelHelp(id="p-17"),
    p.Help(seq=23, state="answered", supervisor="Sam Lee", contact="c-42"),
    p.QualityReport(id="p-18", problem="choppy", contact="c-42", quality=p.CallQuality(
        duration_s=95, codec="pcmu/8000", rx_packets=4750, rx_lost=212, tx_lost=3,
        rx_jitter_ms=31.5, tx_jitter_ms=2.0, rtt_ms=48.0, late=40, concealed=212, mos=3.62)),
    p.PlayMessage(id="p-20", contact="c-42", message="privacy"),
    p.ScheduleFollowUp(id="p-21", at=1732327200.0, note="Send Zoë the fibre plan",
                       contact="c-42"),
    p.FollowUpDone(id="p-22", follow_up="f-3"),
    p.FollowUpDue(seq=24, follow_up=p.FollowUp(id="f-3", at=1732327200.0,
                                               note="Send Zoë the fibre plan", contact="c-42",
                                               customer="+441632960123")),
    p.ConnectApp(id="p-23", contact="c-42", app="signature"),
    p.SetForwarding(id="p-24", forwarding=p.Forwarding(busy="5550123", no_answer="5550123",
                                                       no_answer_s=15)),
    p.ForwardingUpdate(seq=26, forwarding=p.Forwarding(always="5550123")),
    p.Voicemail(seq=27, waiting=2, messages=5),
    p.AppResult(seq=25, contact="c-42", app="signature", ok=True, text="Signature recorded"),
    p.LogUpload(id="p-19", upload="log-1732240900000", part=1, parts=2,
                text="2026-12-01T21:40:02.114 INFO hardphone.cc: link up\n"),
]


def decoder_for(message):
    return p.decode_client if isinstance(message, CLIENT_TYPES) else p.decode_server


def test_every_message_type_has_an_example():
    assert {type(m) for m in EXAMPLES} == set(CLIENT_TYPES) | set(SERVER_TYPES)


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: type(m).__name__)
def test_round_trip(message):
    frame = p.encode(message)
    assert decoder_for(message)(frame) == message
    assert decoder_for(message)(frame.encode()) == message


def test_wire_form_has_type_first_and_leaves_out_defaults():
    assert p.encode(p.SetState(id="p-2", state="available")) == \
        '{"type":"set_state","id":"p-2","state":"available"}'
    assert p.encode(p.ContactUpdate(seq=3, contact=p.Contact(
        id="c-1", status="reserved", queue="Sales", ani="+15550100"))) == \
        '{"type":"contact","seq":3,"contact":{"id":"c-1","status":"reserved","queue":"Sales",' \
        '"ani":"+15550100"}}'


def test_left_out_fields_take_their_defaults():
    snap = p.decode_server('{"type":"snapshot","seq":1,"state":"idle","agent":'
                           '{"id":"1001","name":"Ada","team":"Sales","extension":"sip:1001@x"}}')
    assert snap.settings.rona_s == 15.0 and snap.settings.max_offers == 1
    assert snap.contacts == [] and snap.pending is None and snap.reason == ""
    assert p.decode_client('{"type":"hello","id":"p-1","agent":"1001","pin":"1"}').version == 1


@pytest.mark.parametrize("decode,frame", [
    (p.decode_server, '{"type":"hello","id":"p-1","agent":"1001","pin":"4711"}'),
    (p.decode_client, '{"type":"ack","id":"p-1"}'),
], ids=["request-from-server", "event-from-phone"])
def test_a_message_of_the_other_direction_is_refused(decode, frame):
    with pytest.raises(p.DecodeError) as e:
        decode(frame)
    assert e.value.code == "bad_message"


BAD_FRAMES = [
    ("unknown type", p.decode_server, '{"type":"transfer","seq":4,"to":"1002"}'),
    ("no type", p.decode_client, '{"id":"p-1","agent":"1001","pin":"4711"}'),
    ("missing field", p.decode_server, '{"type":"ack"}'),
    ("missing nested field", p.decode_server,
     '{"type":"contact","seq":4,"contact":{"id":"c-1","status":"offered","queue":"Sales"}}'),
    ("wrong type", p.decode_server, '{"type":"notice","seq":"5","text":"hi"}'),
    ("wrong nested type", p.decode_server,
     '{"type":"agent_state","seq":5,"state":"idle","pending":{"state":"idle","reason":7}}'),
    ("value not in the enum", p.decode_client,
     '{"type":"set_state","id":"p-2","state":"busy"}'),
    ("float seq", p.decode_server, '{"type":"notice","seq":5.0,"text":"hi"}'),
    ("not JSON", p.decode_server, "hello agent 1001"),
    ("not an object", p.decode_client, '["hello","p-1"]'),
    ("null", p.decode_server, "null"),
    ("empty", p.decode_server, ""),
    ("trailing junk", p.decode_server, '{"type":"ack","id":"p-1"} {"type":"ack"}'),
    ("truncated", p.decode_server, p.encode(EXAMPLES[9])[:-1]),
    ("invalid UTF-8", p.decode_server, b'{"type":"ack","id":"p-\xff"}'),
    ("lone surrogate", p.decode_client, '{"type":"resync","id":"p-\ud800"}'),
    ("too deep", p.decode_server, '{"type":"ack","id":"p-1","x":' + "[" * 5000 + "]" * 5000 + "}"),
]


@pytest.mark.parametrize("what,decode,frame", BAD_FRAMES, ids=[c[0] for c in BAD_FRAMES])
def test_bad_frames_are_bad_message(what, decode, frame):
    with pytest.raises(p.DecodeError) as e:
        decode(frame)
    assert e.value.code == "bad_message"


def notice_of(size: int, char: str = "x") -> str:
    """A notice frame of exactly ``size`` bytes of UTF-8."""
    free = size - len(p.encode(p.Notice(seq=1, text="")).encode())
    width = len(char.encode())
    text = char * (free // width) + "x" * (free % width)
    frame = p.encode(p.Notice(seq=1, text=text))
    assert len(frame.encode()) == size
    return frame


def test_a_frame_of_exactly_the_limit_is_read():
    frame = notice_of(MAX)
    assert len(p.decode_server(frame).text) == MAX - len('{"type":"notice","seq":1,"text":""}')
    assert p.decode_server(frame.encode()).seq == 1


@pytest.mark.parametrize("frame", [
    notice_of(MAX + 1),
    notice_of(MAX + 1).encode(),
    notice_of(MAX + 99, "é"),               # under the limit in characters, over it on the wire
    notice_of(MAX + 3, "😀").encode(),
    b"\xff" * (MAX + 1),                    # refused unread: not even looked at
], ids=["str", "bytes", "str-multibyte", "bytes-multibyte", "junk"])
def test_over_one_mebibyte_is_too_large(frame):
    for decode in (p.decode_server, p.decode_client):
        with pytest.raises(p.DecodeError) as e:
            decode(frame)
        assert e.value.code == "too_large"


def test_unknown_fields_are_ignored_at_every_level():
    """A newer server may add fields; this phone must keep working."""
    snap = json.loads(p.encode(EXAMPLES[9]))
    snap["queue_stats"] = {"waiting": 3}
    snap["agent"]["skills"] = ["fr", "de"]
    snap["contacts"][1]["priority"] = 5
    snap["idle_codes"][0]["color"] = "red"
    snap["layout"][0]["widget"] = "slider"
    snap["settings"]["recording"] = "auto"
    snap["pending"]["until"] = 1732240900.0
    assert p.decode_server(json.dumps(snap)) == EXAMPLES[9]
    hello = '{"type":"hello","id":"p-1","agent":"1001","pin":"4711","mac":"b8:27:eb:00:00:01"}'
    assert p.decode_client(hello) == p.Hello(id="p-1", agent="1001", pin="4711")


# -- the documentation ------------------------------------------------------------------------
def test_the_docs_schema_is_current(capsys):
    assert schema.main(["--check", str(DOC)]) == 0, capsys.readouterr().err


def test_the_schema_text_does_not_depend_on_how_docstrings_were_dedented(monkeypatch):
    # msgspec releases differ: one keeps a docstring's indentation, another strips it
    made = schema.schema_text()
    indented = json.loads(made)
    for struct in indented["$defs"].values():
        if "description" in struct:
            struct["description"] = struct["description"].replace("\n", "\n    ")
    monkeypatch.setattr(p, "json_schema", lambda: indented)
    assert schema.schema_text() == made


def test_check_catches_a_stale_schema_and_write_fixes_it(tmp_path, capsys):
    stale = DOC.read_text().replace('"title": "Snapshot"', '"title": "OldSnapshot"')
    doc = tmp_path / "cc-protocol.md"
    doc.write_text(stale)
    assert schema.main(["--check", str(doc)]) == 1
    assert f"python -m firmware.cc.schema --write {doc}" in capsys.readouterr().err
    assert schema.main(["--write", str(doc)]) == 0
    assert doc.read_text() == DOC.read_text()
    assert schema.main(["--check", str(doc)]) == 0


def test_check_fails_without_markers(tmp_path, capsys):
    doc = tmp_path / "plain.md"
    doc.write_text("# no schema here\n")
    assert schema.main(["--check", str(doc)]) == 1
    assert "schema:begin" in capsys.readouterr().err


def test_the_command_prints_the_schema():
    out = subprocess.run([sys.executable, "-m", "firmware.cc.schema"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    assert json.loads(out) == p.json_schema()
    assert out in DOC.read_text()


def test_the_doc_shows_a_decodable_example_of_every_message():
    examples = re.findall(r'^\{"type":.*\}$', DOC.read_text(), flags=re.M)
    shown = set()
    for line in examples:
        tag = json.loads(line)["type"]
        decode = p.decode_client if tag in {t.__struct_config__.tag for t in CLIENT_TYPES} \
            else p.decode_server
        shown.add(type(decode(line)))
    assert shown == set(CLIENT_TYPES) | set(SERVER_TYPES)


def test_the_doc_lists_every_error_code():
    listed = set(re.findall(r"^\| `(\w+)` \|", DOC.read_text().split("## Error codes")[1]
                            .split("\n## ")[0], flags=re.M))
    assert listed == set(p.ERROR_CODES)
