"""The centre's pre-recorded messages (tools/ccsim/messages.py): the scenario's [[messages]] and
the demo's two, the snapshot's ``messages``, ``play_message`` with a message (its refusals, the
bridge's play then rejoin, the agent's notice, what a hold or a hang-up meanwhile does, a
restart while one plays), the contact's ``messages_played``; then the bridge's "rejoin" itself
(test_bridge_play.py's stubbed bridge: its ticks, no SIP) and the request over the wire.

Driven like test_ccsim_conference.py (test_ccsim_consult's script: a fake bridge, a fake clock;
1001 talks with the customer of c-1 through the bridge), with a bridge that plays files.

More script lines (besides test_ccsim_conference's):
    msg A C CODE                    -- A has the message CODE played into contact C's call
    played LEG [stopped]            -- the bridge: the file LEG heard is over
    error LEG REASON ...            -- the bridge: an error about LEG (``_`` for a space)
    notices A [TEXT ...]            -- every notice A got so far (``_`` for a space)
"""
import json

import numpy as np
import pytest

from firmware.cc import protocol as p
from tests.unit import test_ccsim_bridged as bridged
from tests.unit import test_ccsim_campaign_load as load
from tests.unit import test_ccsim_conference as conference
from tests.unit import test_ccsim_consult as consult
from tests.unit import test_ccsim_engine as base
from tests.unit.test_bridge_play import Stubbed, events
from tools.ccsim.bridge import FRAME, RATE, Leg, hold_tune
from tools.ccsim.customers import hearing, tones
from tools.ccsim.scenario import (BUNDLED, MAX_MESSAGES, MESSAGE_MAX_BYTES, ScenarioError, load as
                                  load_scenario, parse)

TALKING = consult.TALKING
DEMO = BUNDLED / "demo.toml"


def message_tone(hz: float, seconds: float, level: float = 0.2, fade_s: float = 0.02) -> bytes:
    """A recorded message the lab's customers tell by its pitch: a steady tone of ``hz``,
    ``seconds`` long at ``level`` of full scale (0.2: -17 dBFS), faded in and out over
    ``fade_s`` (no click), as raw S16LE mono at the bridge's RATE. The demo's were made so:
    message_tone(1100, 2.5) -> message-hold-on.raw, message_tone(1250, 3.5) ->
    message-privacy.raw."""
    n = round(RATE * seconds)
    x = level * 32767 * np.sin(2 * np.pi * hz * np.arange(n) / RATE)
    fade = round(RATE * fade_s)
    edge = 0.5 - 0.5 * np.cos(np.pi * np.arange(fade) / fade)
    x[:fade] *= edge
    x[n - fade:] *= edge[::-1]
    return np.round(x).astype("<i2").tobytes()


@pytest.fixture
def files(tmp_path):
    """Two short messages (0.5 s and 1 s) in tmp_path: {code: path}."""
    paths = {"hold_on": tmp_path / "hold.raw", "privacy": tmp_path / "privacy.raw"}
    paths["hold_on"].write_bytes(message_tone(1100, 0.5))
    paths["privacy"].write_bytes(message_tone(1250, 1.0))
    return paths


def messages_toml(files) -> str:
    return (f'\n[[messages]]\ncode = "hold_on"\nlabel = "Please hold"\nfile = "{files["hold_on"]}"'
            f'\n[[messages]]\ncode = "privacy"\nlabel = "Privacy notice"\n'
            f'file = "{files["privacy"]}"\n')


class PlayBridge(bridged.FakeBridge):
    """A fake bridge that plays files: ``play:LEG:THEN`` in what it was told."""

    def __init__(self):
        super().__init__()
        self.plays = []                 # (leg, file, then)

    def play(self, leg, file, then=""):
        self.said.append(f"play:{leg}:{then}")
        self.plays.append((leg, file, then))


class Desk(conference.Desk):
    def __init__(self, files, settings="", db=":memory:", clock=None, adopt=None, bridge=True):
        bridged.Desk.__init__(self, settings, db, clock, None,
                              more=consult.DIRECTORY + messages_toml(files), bridge=bridge)
        self.bridge = PlayBridge()
        if bridge:
            self.engine.bridge = self.bridge
        if adopt is not None:
            self.engine.adopt(adopt)
            self.drain()

    def step(self, op, *a):
        e = self.engine
        if op == "msg":
            e.play_recorded(*a)
        elif op == "played":
            e.bridge_event({"event": "played", "leg": a[0], "file": "f",
                            "stopped": a[1:] == ("stopped",)})
        elif op == "error":
            e.bridge_event({"event": "error", "leg": a[0],
                            "reason": " ".join(a[1:]).replace("_", " ")})
        elif op == "notices":
            got = [m.text.replace(" ", "_") for m in self.sent.get(a[0], [])
                   if isinstance(m, p.Notice)]
            assert got == list(a[1:]), got
        else:
            super().step(op, *a)


def run(desk, text):
    return base.play(desk, text)


# -- the scenario ----------------------------------------------------------------------------
def test_messages_are_read_with_their_files_found_like_a_campaign_s_message(files, tmp_path):
    s = parse(base.SCENARIO.format(settings="") + messages_toml(files), str(tmp_path / "t.toml"))
    assert [(m.code, m.label, m.file) for m in s.messages] == [
        ("hold_on", "Please hold", str(files["hold_on"])),
        ("privacy", "Privacy notice", str(files["privacy"]))]
    assert s.message("privacy").label == "Privacy notice" and s.message("nope") is None
    relative = base.SCENARIO.format(settings="") + (
        '[[messages]]\ncode = "a"\nlabel = "A"\nfile = "hold.raw"\n'
        '[[messages]]\ncode = "b"\nlabel = "B"\nfile = "message-privacy.raw"\n')
    s = parse(relative, str(tmp_path / "t.toml"))         # beside the file, else the bundled
    assert [m.file for m in s.messages] == [str(files["hold_on"]),
                                            str(BUNDLED / "message-privacy.raw")]
    assert parse(base.SCENARIO.format(settings=""), "t.toml").messages == ()


@pytest.mark.parametrize("entry, error", [
    ('code = "a"\nlabel = "A"', r"messages\[0\].file: missing"),
    ('code = "a"\nlabel = "A"\nfile = "nowhere.raw"',
     r"messages\[0\].file: a recorded message's path .*'nowhere.raw' is not a file"),
    ('code = "a"\nlabel = "A"\nfile = "odd.raw"', r"'odd.raw' is 3 bytes \(whole samples"),
    ('code = "a"\nlabel = "A"\nfile = "empty.raw"', r"'empty.raw' is 0 bytes"),
    ('code = "a"\nlabel = "A"\nfile = "long.raw"', rf"is {MESSAGE_MAX_BYTES + 2} bytes"),
    ('code = ""\nlabel = "A"\nfile = "hold.raw"', r"messages\[0\].code: must not be empty"),
    ('code = "a"\nlabel = "' + "L" * 65 + '"\nfile = "hold.raw"',
     r"messages\[0\].label: 1-64 characters"),
    ('code = "a\\tb"\nlabel = "A"\nfile = "hold.raw"', r"messages\[0\].code: 1-64 characters, no"),
    ('code = "a"\nlabel = "A"\nfile = "hold.raw"\nloop = true', r"unknown field 'loop'"),
    ('code = "a"\nlabel = "A"\nfile = "hold.raw"\n[[messages]]\ncode = "a"\nlabel = "B"\n'
     'file = "hold.raw"', r"messages\[1\].code: duplicate 'a'"),
])
def test_a_message_s_mistakes_name_the_field(files, tmp_path, entry, error):
    (tmp_path / "odd.raw").write_bytes(bytes(3))
    (tmp_path / "empty.raw").write_bytes(b"")
    (tmp_path / "long.raw").write_bytes(bytes(MESSAGE_MAX_BYTES + 2))
    text = base.SCENARIO.format(settings="") + "[[messages]]\n" + entry + "\n"
    with pytest.raises(ScenarioError, match=error):
        parse(text, str(tmp_path / "t.toml"))


def test_at_most_max_messages(files, tmp_path):
    def text(n):
        return base.SCENARIO.format(settings="") + "".join(
            f'[[messages]]\ncode = "m{i}"\nlabel = "M{i}"\nfile = "hold.raw"\n' for i in range(n))
    assert len(parse(text(MAX_MESSAGES), str(tmp_path / "t.toml")).messages) == MAX_MESSAGES
    with pytest.raises(ScenarioError, match=f"messages: at most {MAX_MESSAGES}, got"):
        parse(text(MAX_MESSAGES + 1), str(tmp_path / "t.toml"))


def test_the_demo_has_two_messages_told_apart_by_pitch_each_a_few_seconds():
    demo = load_scenario(DEMO)
    assert [(m.code, m.label) for m in demo.messages] == [("hold_on", "Please hold"),
                                                         ("privacy", "Privacy notice")]
    made = {"hold_on": message_tone(1100, 2.5), "privacy": message_tone(1250, 3.5)}
    for m in demo.messages:
        data = open(m.file, "rb").read()
        assert len(data) < 64 * 1024 and 2 <= len(data) / (2 * RATE) <= 4
        assert len(data) == len(made[m.code])
        diff = np.frombuffer(data, "<i2").astype(int) - np.frombuffer(made[m.code], "<i2")
        assert np.abs(diff).max() <= 1                          # message_tone made it
        level, hz = hearing(data, RATE)
        assert -18 <= level <= -16 and tones(data, RATE) == [hz]
    pitches = [tones(open(m.file, "rb").read(), RATE)[0] for m in demo.messages]
    assert pitches == [1100, 1250]
    # none is a pitch the lab already plays: hold music, the callers' and numbers' tones, the
    # phones' test tones, a machine's beep, the campaign's message
    from tools.ccsim.bridge import HOLD_NOTES
    from tools.ccsim.customers import BEEP_HZ, NUMBER_TONES, TONE_HZ
    taken = (*HOLD_NOTES, *NUMBER_TONES, TONE_HZ, BEEP_HZ, 1000, 600, 700)
    assert all(abs(hz - other) >= 50 for hz in pitches for other in taken)


def test_every_agent_s_snapshot_lists_the_messages(files):
    d = run(Desk(files), "hello 1001\nhello 1002")
    expected = [p.Code("hold_on", "Please hold"), p.Code("privacy", "Privacy notice")]
    assert d.engine.snapshot("1001").messages == expected
    assert d.engine.snapshot("1002").messages == expected
    plain = run(bridged.Desk(), "hello 1001")
    assert plain.engine.snapshot("1001").messages == []


# -- playing one -----------------------------------------------------------------------------
def test_the_customer_hears_the_message_then_is_back_and_the_agent_is_told(files):
    d = run(Desk(files), TALKING + """
        msg 1001 c-1 hold_on
        bridged play:in-1:rejoin
        participants c-1 customer:answered:None agent:answered:c-1
        contact c-1 assigned 1001
        agent 1001 talking
        notices 1001
        msg 1001 c-1 privacy !not_allowed
        msg 1001 c-1 nope !unknown_code
        bridge in-1 joined c-1
        played in-1
        notices 1001 Message_played:_Please_hold
        bridged
        participants c-1 customer:answered:c-1 agent:answered:c-1
        msg 1001 c-1 privacy
        bridged play:in-1:rejoin
    """)
    assert d.bridge.plays[0] == ("in-1", str(files["hold_on"]), "rejoin")
    assert d.bridge.plays[1][1] == str(files["privacy"])
    now = d.clock.now
    assert d.engine.contact_info("c-1")["messages_played"] == [
        {"code": "hold_on", "at": now}, {"code": "privacy", "at": now}]
    notice = next(m for m in d.sent["1001"] if isinstance(m, p.Notice))
    assert notice.seq == d.engine.snapshot("1001").seq      # seq'd as every event


def test_the_messages_played_are_kept_with_the_contact_after_it_is_over(files, tmp_path):
    db = tmp_path / "cc.db"
    first = run(Desk(files, db=db), TALKING + """
        msg 1001 c-1 hold_on
        call 1001 c-1 ended
        wrapup 1001 c-1 sale
        contact c-1 wrapped_up
    """)
    assert first.engine.contact_info("c-1")["messages_played"] == [
        {"code": "hold_on", "at": first.clock.now}]
    first.store.close()
    second = Desk(files, db=db, clock=first.clock)
    assert second.engine.contact_info("c-1")["messages_played"] == [
        {"code": "hold_on", "at": first.clock.now}]
    assert run(Desk(files), "hello 1001\npost sales").engine.contact_info("c-1")[
        "messages_played"] == []


def test_a_hold_meanwhile_puts_the_customer_on_music_after_the_message_and_resume_brings_back(
        files):
    run(Desk(files), TALKING + """
        msg 1001 c-1 hold_on
        bridged play:in-1:rejoin
        call 1001 c-1 held
        bridged music:in-1:on
        call 1001 c-1 resumed
        bridged
        played in-1
        notices 1001 Message_played:_Please_hold
        bridged music:in-1:off join:c-1:in-1
    """)
    run(Desk(files), TALKING + """
        msg 1001 c-1 hold_on
        call 1001 c-1 held
        bridged play:in-1:rejoin music:in-1:on
        played in-1
        bridged
        participants c-1 customer:answered:None agent:answered:c-1
        call 1001 c-1 resumed
        bridged music:in-1:off join:c-1:in-1
    """)


def test_a_consult_meanwhile_leaves_the_customer_on_music(files):
    run(Desk(files), TALKING + """
        available 1002
        msg 1001 c-1 hold_on
        consult 1001 c-1 agent 1002
        bridged play:in-1:rejoin music:in-1:on dial:c-1.t2:sip:1002@pbx dial:c-1.k2:sip:1001@pbx
        played in-1
        notices 1001 Message_played:_Please_hold
        bridged
        participants c-1 customer:answered:None agent:answered:c-1 consult:dialing:None \
            consulted:dialing:None
    """)


def test_a_transfer_meanwhile_the_next_agent_gets_the_customer_after_the_message(files):
    run(Desk(files), TALKING + """
        msg 1001 c-1 hold_on
        transfer 1001 c-1 queue support
        bridged play:in-1:rejoin hangup:c-1.a1 music:in-1:on
        available 1002
        contact c-1 reserved 1002
        bridged dial:c-1.a2:sip:1002@pbx
        bridge c-1.a2 answered
        contact c-1 assigned 1002
        bridged join:c-1:c-1.a2
        played in-1
        notices 1001 Message_played:_Please_hold
        notices 1002
        bridged music:in-1:off join:c-1:in-1
    """)


def test_a_message_cut_short_is_told_stopped(files):
    run(Desk(files), TALKING + """
        msg 1001 c-1 privacy
        bridge in-1 joined c-1
        played in-1 stopped
        notices 1001 Message_stopped:_Privacy_notice
        bridged play:in-1:rejoin
    """)


def test_a_play_the_bridge_refuses_puts_the_customer_back_at_once(files):
    run(Desk(files), TALKING + """
        msg 1001 c-1 hold_on
        bridged play:in-1:rejoin
        error in-1 room c-1 is full
        notices 1001
        error in-1 play: the leg is not answered
        notices 1001 Message_not_played:_Please_hold
        bridged join:c-1:in-1
        participants c-1 customer:answered:c-1 agent:answered:c-1
        msg 1001 c-1 privacy
        bridged play:in-1:rejoin
    """)


def test_a_hang_up_during_the_message_ends_the_call_and_tells_nothing_more(files):
    run(Desk(files), TALKING + """
        msg 1001 c-1 hold_on
        call 1001 c-1 ended
        bridged play:in-1:rejoin hangup:c-1.a1 hangup:in-1
        contact c-1 wrapup 1001
        played in-1
        notices 1001
        bridged
    """)
    run(Desk(files), TALKING + """
        msg 1001 c-1 hold_on
        bridge in-1 ended
        contact c-1 wrapup 1001
        bridged play:in-1:rejoin hangup:c-1.a1
        notices 1001
    """)


@pytest.mark.parametrize("text", [
    "hello 1001\nmsg 1001 c-9 hold_on !unknown_contact",
    TALKING + "msg 1002 c-1 hold_on !unknown_contact",              # not 1002's
    TALKING + "msg 1001 c-1 Hold_On !unknown_code",
    TALKING + "call 1001 c-1 held\nmsg 1001 c-1 nope !unknown_code",   # the code first
    TALKING + "call 1001 c-1 held\nmsg 1001 c-1 hold_on !not_allowed",
    TALKING + "call 1001 c-1 ended\nmsg 1001 c-1 hold_on !not_allowed",    # wrap-up
    """
        hello 1001
        available 1001
        post sales
        incoming in-1 c-1
        bridge in-1 answered
        bridge c-1.a1 ringing
        contact c-1 offered 1001
        msg 1001 c-1 hold_on !not_allowed
    """,
    # the phone answered before the bridge's leg: the customer is still on music
    """
        hello 1001
        available 1001
        post sales
        incoming in-1 c-1
        bridge in-1 answered
        call 1001 c-1 answered
        contact c-1 assigned 1001
        msg 1001 c-1 hold_on !not_allowed
    """,
    # a consult up: the requester (held), and the consulted agent
    consult.CONSULTING + """
        msg 1001 c-1 hold_on !not_allowed
        msg 1002 c-1 hold_on !not_allowed
    """,
    # a conference, the controller back on the call
    conference.CONFERENCE + """
        msg 1001 c-1 hold_on !not_allowed
        msg 1002 c-1 hold_on !not_allowed
    """,
    "msg 1001 c-1 hold_on !not_logged_in",
])
def test_refusals(files, text):
    d = run(Desk(files), text)
    assert d.bridge.plays == []


def test_without_the_bridge_a_message_is_not_allowed(files):
    d = run(Desk(files, bridge=False), """
        hello 1001
        available 1001
        post sales
        customer c-1 ringing
        customer c-1 answered
        contact c-1 assigned 1001
        msg 1001 c-1 hold_on !not_allowed
        msg 1001 c-1 nope !unknown_code
    """)
    assert d.engine.snapshot("1001").messages[0].code == "hold_on"


def test_a_restarted_ccsim_knows_the_message_the_bridge_plays(files, tmp_path):
    db = tmp_path / "cc.db"
    first = run(Desk(files, db=db), TALKING + """
        msg 1001 c-1 privacy
        bridged play:in-1:rejoin
    """)
    first.store.close()                         # killed: the bridge plays on
    listing = {"rooms": {"c-1": ["c-1.a1"]}, "legs": [
        {"leg": "in-1", "direction": "in", "state": "answered", "contact": "c-1", "room": None,
         "hold_music": False, "playing": str(files["privacy"])},
        {"leg": "c-1.a1", "direction": "out", "state": "answered", "contact": "c-1",
         "room": "c-1", "hold_music": False}]}
    second = Desk(files, db=db, clock=first.clock, adopt=listing)
    run(second, """
        bridged
        participants c-1 customer:answered:None agent:answered:c-1
        msg 1001 c-1 hold_on !not_allowed
        bridge in-1 joined c-1
        played in-1
        notices 1001 Message_played:_Privacy_notice
        bridged
        msg 1001 c-1 hold_on
        bridged play:in-1:rejoin
    """)
    # a leg playing some other file (the campaign's, say) is no message of the centre's
    other = {**listing, "legs": [{**listing["legs"][0], "playing": "/elsewhere/x.raw"},
                                 listing["legs"][1]]}
    second.store.close()
    third = Desk(files, db=db, clock=first.clock, adopt=other)
    run(third, "bridged join:c-1:in-1")                    # back in the call at once
    assert third.engine.legs.get("in-1").message == ""


# -- the bridge's rejoin ---------------------------------------------------------------------
@pytest.fixture
def short(tmp_path):
    """A 0.5 s message (25 ticks) at 1100 Hz."""
    path = tmp_path / "short.raw"
    path.write_bytes(message_tone(1100, 0.5))
    return path


def tone_frames(hz: float, ticks: int) -> list[np.ndarray]:
    pcm = np.frombuffer(message_tone(hz, ticks * FRAME / RATE, fade_s=0.001), "<i2")
    return [pcm[i:i + FRAME] for i in range(0, len(pcm), FRAME)]


def room_with_two(bridge: Stubbed):
    for name in ("in-1", "c-1.a1"):
        bridge.legs[name] = Leg(name, "in" if name == "in-1" else "out", "x", state="answered")
    bridge.run('{"op": "join", "room": "c-1", "leg": "in-1"}',
               '{"op": "join", "room": "c-1", "leg": "c-1.a1"}')


def test_rejoin_puts_the_leg_back_in_its_room_when_the_file_ends(short, capsys):
    bridge = Stubbed()
    room_with_two(bridge)
    bridge.says["c-1.a1"] = tone_frames(440, 100)          # the agent talks throughout
    capsys.readouterr()
    bridge.run(json.dumps({"op": "play", "leg": "in-1", "file": str(short), "then": "rejoin"}),
               '{"op": "legs"}')
    said = events(capsys)
    assert [e["event"] for e in said] == ["left", "legs"]
    listed = {leg["leg"]: leg for leg in said[-1]["legs"]}
    assert listed["in-1"]["room"] is None and listed["in-1"]["playing"] == str(short)
    bridge.advance(24)
    assert events(capsys) == []
    bridge.advance(1)
    assert events(capsys) == [
        {"event": "joined", "room": "c-1", "leg": "in-1", "legs": ["c-1.a1", "in-1"]},
        {"event": "played", "leg": "in-1", "file": str(short), "stopped": False}]
    heard = np.concatenate(bridge.sent["in-1"][:25])
    assert (heard == np.fromfile(short, "<i2")).all()      # the message, not the agent
    assert not np.concatenate(bridge.sent["c-1.a1"][:25]).any()   # the agent: alone
    bridge.advance(25)
    back = np.concatenate(bridge.sent["in-1"][25:]).tobytes()
    assert tones(back, RATE) == [440]                       # the agent again
    assert bridge.hung_up == []


def test_hold_music_during_the_message_keeps_the_leg_out_after_it(short, capsys):
    bridge = Stubbed()
    room_with_two(bridge)
    capsys.readouterr()
    bridge.run(json.dumps({"op": "play", "leg": "in-1", "file": str(short), "then": "rejoin"}),
               '{"op": "hold_music", "leg": "in-1", "on": true}')
    bridge.advance(25)
    heard = np.concatenate(bridge.sent["in-1"][:25])
    assert (heard == np.fromfile(short, "<i2")).all()      # the file, not the music
    said = events(capsys)
    assert [e["event"] for e in said] == ["left", "hold_music", "played"]
    assert "in-1" not in bridge.rooms.get("c-1", [])
    bridge.advance(1)
    assert (bridge.sent["in-1"][-1] == hold_tune()[:FRAME]).all()     # on the music now


def test_rejoin_from_no_room_stays_out_and_a_join_or_a_new_play_stops_it(short, capsys):
    bridge = Stubbed()
    bridge.legs["L1"] = Leg("L1", "out", "x", state="answered")
    bridge.run(json.dumps({"op": "play", "leg": "L1", "file": str(short), "then": "rejoin"}))
    bridge.advance(25)
    assert [e["event"] for e in events(capsys)] == ["played"] and bridge.rooms == {}

    room_with_two(bridge)
    capsys.readouterr()
    play = json.dumps({"op": "play", "leg": "in-1", "file": str(short), "then": "rejoin"})
    bridge.run(play)
    bridge.advance(5)
    bridge.run('{"op": "join", "room": "R2", "leg": "in-1"}')
    bridge.advance(30)
    said = events(capsys)
    assert [e["event"] for e in said] == ["left", "played", "joined"]
    assert said[1]["stopped"] is True and bridge.rooms["R2"] == ["in-1"]

    bridge.run('{"op": "leave", "leg": "in-1"}', '{"op": "join", "room": "c-1", "leg": "in-1"}')
    capsys.readouterr()
    bridge.run(play)
    bridge.advance(5)
    bridge.run(play)                        # a new one: the first stopped, the rejoin kept
    bridge.advance(25)
    said = events(capsys)
    assert [(e["event"], e.get("stopped")) for e in said] == [
        ("left", None), ("played", True), ("joined", None), ("played", False)]
    assert said[2]["room"] == "c-1"


# -- over the wire ---------------------------------------------------------------------------
def test_play_message_over_the_wire_goes_to_the_centre_s_or_the_campaign_s(files, tmp_path):
    """Without the bridge: the centre's message is refused not_allowed (or unknown_code), and
    one without a message still takes the campaign's path (not a campaign record)."""
    text = base.SCENARIO.format(settings="") + messages_toml(files)

    async def test(api, ws_url, http):
        async with http.ws_connect(ws_url) as ws:
            phone = load.Phone(ws)
            await phone.send(p.Hello(id="h", agent="1001", pin="1234"))
            snap = await phone.receive(p.Snapshot)
            assert [m.code for m in snap.messages] == ["hold_on", "privacy"]
            await phone.send(p.SetState(id="a", state="available"))
            await api.post("/contacts", {"queue": "sales", "ani": "+15550001234"}, 201)
            await phone.receive(p.ContactUpdate)
            await phone.send(p.CallEvent(id="e", contact="c-1", event="answered"))
            while (await phone.receive(p.ContactUpdate)).contact.status != "assigned":
                pass
            for rid, message, code, says in (
                    ("m1", "nope", "unknown_code", "no message"),
                    ("m2", "hold_on", "not_allowed", "not the bridge's"),
                    ("m3", "", "not_allowed", "not a campaign record")):
                await phone.send(p.PlayMessage(id=rid, contact="c-1", message=message))
                error = await phone.receive(p.Error)
                assert (error.id, error.code) == (rid, code) and says in error.message
        assert (await api.get("/contacts/c-1"))["messages_played"] == []

    load.serve(tmp_path / "cc.db", test, text)
