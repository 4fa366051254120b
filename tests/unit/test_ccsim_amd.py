"""Answering machines and the campaign's recorded message (tools/ccsim/dialer.py): the bridge's
answering-machine detection on the dialer's calls (its ``amd`` events), a machine's contact
on the wire and in the admin view, ``machine_action = "message"``, the agent's play_message,
and an abandoned customer hearing the message; driven like test_ccsim_dialer.py (a fake
bridge, a fake clock). Then the bridge's detector itself, on synthetic audio.

More script lines (besides test_ccsim_dialer's):
    amd LEG RESULT                  -- the bridge's answering-machine detection on LEG
    msg AGENT CONTACT               -- the agent presses Msg (play_message)
    played [LEG:THEN ...]           -- the plays the bridge was told since last asked
"""
import numpy as np
import pytest

from firmware.cc import protocol as p
from tests.unit import test_ccsim_bridged as bridged
from tests.unit import test_ccsim_dialer as dialer
from tests.unit import test_ccsim_engine as base
from tools.ccsim.bridge import AMD_WINDOW_S, FRAME, MachineDetector
from tools.ccsim.customers import machine_greeting, syllables, tone_second
from tools.ccsim.scenario import ScenarioError, parse

RATE = 8000


class AmdBridge(bridged.FakeBridge):
    """A bridge that detects machines and plays files."""
    detects_machines = True

    def __init__(self):
        super().__init__()
        self.amd = {}                   # leg -> asked for detection
        self.plays = []                 # (leg, file, then)

    def dial(self, leg, to, headers=None, ring_s=60.0, amd=False):
        super().dial(leg, to, headers, ring_s)
        self.amd[leg] = amd

    def play(self, leg, file, then=""):
        self.said.append(f"play:{leg}:{then}")
        self.plays.append((leg, file, then))


@pytest.fixture
def message(tmp_path):
    path = tmp_path / "message.raw"
    syllables(RATE, 700, 3.0).astype("<i2").tofile(path)
    return path


class Desk(dialer.Desk):
    def __init__(self, *a, amd_bridge=True, **kw):
        super().__init__(*a, **kw)
        if amd_bridge:                  # (no call was placed yet: swapped before any)
            self.bridge = self.engine.bridge = AmdBridge()
        self.plays_seen = 0

    def step(self, op, *a):
        e = self.engine
        if op == "amd":
            e.bridge_event({"event": "amd", "leg": a[0], "result": a[1], "speech_s": 3.0})
        elif op == "msg":
            e.play_message(a[0], a[1])
        elif op == "preview":
            e.preview(*a)
        elif op == "played":
            got = [f"{leg}:{then}" for leg, _f, then in self.bridge.plays[self.plays_seen:]]
            self.plays_seen = len(self.bridge.plays)
            assert got == list(a), got
        else:
            super().step(op, *a)


run = base.play


def with_message(path, *more: str) -> str:
    return "\n".join((f'message = "{path}"', *more))


def offers(desk: Desk, agent: str, contact: str) -> list[p.Contact]:
    return [m.contact for m in desk.sent.get(agent, [])
            if isinstance(m, p.ContactUpdate) and m.contact.id == contact]


# -- the dialer -------------------------------------------------------------------------------
def test_a_machine_is_detected_before_the_offer_and_the_agent_sees_it(message):
    desk = run(Desk(more=with_message(message)), """
        hello 1001
        available 1001
        start winter
        dials c-1.c:5550101
        bridge c-1.c answered
        contact c-1 queued
        agent 1001 available
        amd c-1.c machine
        contact c-1 reserved 1001
        bridge c-1.a1 answered
        contact c-1 assigned 1001
        outcomes 0 connected
    """)
    assert desk.bridge.amd == {"c-1.c": True, "c-1.a1": False}     # the customer's only
    assert all(c.machine for c in offers(desk, "1001", "c-1"))
    info = desk.engine.contact_info("c-1")
    assert (info["amd"], info["machine"], info["message_left"]) == ("machine", True, False)
    assert desk.records()[0]["attempts"][0]["machine"] is True
    campaign = next(m.campaign for m in desk.sent["1001"] if isinstance(m, p.CampaignUpdate))
    assert campaign.message is True


def test_a_person_is_offered_as_before_and_is_no_machine(message):
    desk = run(Desk(more=with_message(message)), """
        hello 1001
        available 1001
        start winter
        bridge c-1.c answered
        amd c-1.c human
        contact c-1 reserved 1001
        amd c-1.c machine
    """)
    assert not any(c.machine for c in offers(desk, "1001", "c-1"))
    assert desk.engine.contact_info("c-1")["amd"] == "human"


def test_without_amd_the_customer_is_routed_at_once_and_the_dial_asks_for_none():
    desk = run(Desk(more="amd = false"), """
        hello 1001
        available 1001
        start winter
        bridge c-1.c answered
        contact c-1 reserved 1001
    """)
    assert desk.bridge.amd["c-1.c"] is False
    assert desk.engine.contact_info("c-1")["amd"] is None


def test_machine_action_message_plays_it_hangs_up_and_the_attempt_is_machine(message):
    desk = run(Desk(more=with_message(message, 'machine_action = "message"')), """
        hello 1001
        available 1001
        start winter
        dials c-1.c:5550101
        bridge c-1.c answered
        amd c-1.c machine
        played c-1.c:hangup
        contact c-1 failed
        outcomes 0 machine
        record 0 pending
        agent 1001 available
        dials c-2.c:5550102
        bridge c-1.c ended
    """)
    assert "hangup:c-1.c" not in desk.bridge.said       # the bridge's, after the message
    assert desk.bridge.plays[0][1] == str(message)
    attempt = desk.records()[0]["attempts"][0]
    assert attempt["message_left"] is True and attempt["reason"] == "answering machine"
    assert desk.engine.contact_info("c-1")["message_left"] is True
    assert desk.stats()["failed"] == {"machine": 1}
    assert not offers(desk, "1001", "c-1")


def test_a_machine_reached_max_attempts_is_done_machine(message):
    desk = run(Desk(more=with_message(message, 'machine_action = "message"'),
                    records='records = [{name = "Rosa", number = "5550155"}]'), """
        hello 1001
        available 1001
        start winter
        bridge c-1.c answered
        amd c-1.c machine
        dials c-1.c:5550155 c-2.c:5550155
        bridge c-2.c answered
        amd c-2.c machine
        record 0 done machine
        outcomes 0 machine machine
    """)
    assert len(desk.bridge.plays) == 2


def test_the_agent_leaves_the_message_on_a_machine_and_wraps_up(message):
    desk = run(Desk(more=with_message(message)), """
        hello 1001
        available 1001
        start winter
        bridge c-1.c answered
        amd c-1.c machine
        bridge c-1.a1 answered
        call 1001 c-1 answered
        contact c-1 assigned 1001
        msg 1001 c-1
        contact c-1 wrapup 1001
        played c-1.c:hangup
        outcomes 0 message_left
        call 1001 c-1 ended
        bridge c-1.a1 ended
        bridge c-1.c ended
        contact c-1 wrapup 1001
        msg 1001 c-1 !not_allowed
        wrapup 1001 c-1 sold
        record 0 done sold
    """)
    said = desk.bridge.said
    assert said.index("hangup:c-1.a1") < said.index("play:c-1.c:hangup")
    assert "hangup:c-1.c" not in said               # the bridge hangs up after the message
    told = [c.status for c in offers(desk, "1001", "c-1")]
    assert told[told.index("assigned"):] == ["assigned", "ended", "wrapup", "wrapped_up"]
    assert desk.engine.contact_info("c-1")["message_left"] is True
    assert desk.records()[0]["attempts"][0]["message_left"] is True


def test_play_message_is_refused_without_a_message_off_the_call_or_on_a_preview(message):
    run(Desk(), """
        hello 1001
        available 1001
        start winter
        bridge c-1.c answered
        amd c-1.c machine
        bridge c-1.a1 answered
        contact c-1 assigned 1001
        msg 1001 c-1 !not_allowed
        msg 1001 c-9 !unknown_contact
    """)
    run(Desk(more=with_message(message)), """
        hello 1001
        available 1001
        start winter
        bridge c-1.c answered
        amd c-1.c machine
        contact c-1 reserved 1001
        msg 1001 c-1 !not_allowed
    """)
    desk = run(Desk(mode="preview", more=with_message(message)), """
        hello 1001
        available 1001
        start winter
        contact c-1 preview 1001
        msg 1001 c-1 !not_allowed
        preview 1001 c-1 call
        call 1001 c-1 answered
        contact c-1 assigned 1001
        msg 1001 c-1 !not_allowed
    """)
    try:
        desk.engine.play_message("1001", "c-1")
    except desk.engine.Refused as e:
        assert "preview call" in e.message
    assert desk.bridge.plays == []


def test_an_abandoned_customer_hears_the_message_then_the_bridge_hangs_up(message):
    desk = run(Desk(mode="predictive", more=with_message(message)), """
        hello 1001
        available 1001
        start winter
        dials c-1.c:5550101
        idle 1001 lunch
        bridge c-1.c answered
        amd c-1.c human
        contact c-1 queued
        wait 2
        contact c-1 abandoned
        outcomes 0 abandoned
        played c-1.c:hangup
        wait 10
    """)
    assert "hangup:c-1.c" not in desk.bridge.said       # the bridge's, after the message


def test_the_abandon_clock_starts_when_the_detection_is_done(message):
    run(Desk(mode="predictive", more=with_message(message)), """
        hello 1001
        available 1001
        start winter
        idle 1001 lunch
        bridge c-1.c answered
        wait 3
        contact c-1 queued
        amd c-1.c unknown
        wait 1.5
        contact c-1 queued
        wait 0.5
        contact c-1 abandoned
    """)


@pytest.mark.parametrize("more,error", [
    ('message = "nowhere.raw"', r"message: one of music or a recorded message's path .*"
                                r"'nowhere.raw' is not a file"),
    ('machine_action = "message"', r'machine_action: "message" needs the campaign\'s message'),
    ('machine_action = "voicemail"', "machine_action: one of agent, message"),
    ("amd = 1", "amd: expected true or false"),
])
def test_bad_machine_keys_are_refused(more, error):
    text = (base.SCENARIO.format(settings="") + bridged.BRIDGE
            + dialer.CAMPAIGN.format(mode="progressive", more=more, records=dialer.RECORDS,
                                     retry_s=0))
    with pytest.raises(ScenarioError, match=error):
        parse(text, "t.toml")


def test_a_message_is_whole_samples_of_at_most_a_minute_relative_to_the_scenario(tmp_path):
    def load(size: int):
        (tmp_path / "m.raw").write_bytes(bytes(size))
        text = (base.SCENARIO.format(settings="") + bridged.BRIDGE + dialer.CAMPAIGN.format(
            mode="progressive", more='message = "m.raw"', records=dialer.RECORDS, retry_s=0))
        return parse(text, str(tmp_path / "t.toml"))
    assert load(16000).campaigns[0].message_file == str(tmp_path / "m.raw")
    for size in (0, 3, 60 * 8000 * 2 + 2):
        with pytest.raises(ScenarioError, match="bytes"):
            load(size)


def test_the_demo_s_winter_has_a_message_and_an_answering_machine():
    from tools.lab import DEMO_SCENARIO
    from tools.ccsim.scenario import load
    s = load(DEMO_SCENARIO)
    winter = next(c for c in s.campaigns if c.id == "winter")
    assert winter.amd and winter.machine_action == "agent" and winter.wire("started").message
    assert any(r.number in s.customers.machine for r in winter.records)
    assert len(np.fromfile(winter.message_file, "<i2")) == 3 * RATE
    # a copy elsewhere (the lab's) still finds the recording
    copy = parse(DEMO_SCENARIO.read_text(), "/tmp/elsewhere/scenario.toml")
    assert next(c for c in copy.campaigns if c.id == "winter").message_file == \
        winter.message_file


# -- the bridge's detector --------------------------------------------------------------------
def detect(pcm: np.ndarray, speech_s: float = 2.5) -> tuple[str | None, float, float]:
    """(result, when in s, speech_s) of feeding ``pcm`` (then silence) 20 ms at a time."""
    d = MachineDetector(speech_s)
    frames = np.concatenate([pcm.astype(np.int16), np.zeros(RATE * 5, np.int16)])
    for i in range(0, len(frames) - FRAME + 1, FRAME):
        result = d.feed(frames[i:i + FRAME])
        if result is not None:
            return result, (i + FRAME) / RATE, d.longest
    return None, 0.0, d.longest


def test_a_short_hello_then_silence_is_a_person():
    burst = syllables(RATE, 440, 0.6)
    result, at, speech = detect(burst)
    assert result == "human" and 1.3 <= at <= 1.6 and speech == pytest.approx(0.6, abs=0.1)


def test_three_and_a_half_seconds_of_syllables_are_a_machine():
    result, at, speech = detect(syllables(RATE, 523, 3.5))
    assert result == "machine" and 2.5 < at <= 2.6 and speech > 2.5


def test_silence_or_a_middling_utterance_is_unknown_within_the_window():
    assert detect(np.zeros(0))[:2] == ("unknown", AMD_WINDOW_S)
    assert detect(syllables(RATE, 523, 2.0))[:2] == ("unknown", AMD_WINDOW_S)
    # nothing heard yet (no audio came): silence too
    d = MachineDetector()
    assert [d.feed(None) for _ in range(200)][-1] == "unknown"
    assert d.feed(None) is None                     # told once


def test_the_simulated_customers_sound_like_what_they_are():
    # an "answer" number's steady tone: no syllables, no voice: unknown, once it is that long
    number = np.frombuffer(tone_second(RATE, 1, 659) * 4, "<i2")
    result, at, _speech = detect(number)
    assert result == "unknown" and at < 2.6
    machine = np.frombuffer(machine_greeting(RATE, 659), "<i2")
    assert detect(machine)[0] == "machine"
    assert len(machine) > 3.5 * RATE
