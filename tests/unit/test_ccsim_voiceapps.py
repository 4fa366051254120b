"""Voice applications (tools/ccsim/voiceapps.py, bridge_apps.py): the scenario's [[voice_apps]]
and the demo's three, the snapshot's ``voice_apps``, ``connect_app`` (its refusals, the
bridge's "app" then the rejoin or the hang-up, the agent's ``app_result``, what a hold, a
hang-up or a refusal of the bridge meanwhile does, a restart while one runs), the contact's
``apps``; then the bridge's side: the "app" line, ``AppRun`` collecting digits and judging a
recorded answer, and the bridge's ticks with it (test_bridge_play.py's stubbed bridge, no SIP).

Driven like test_ccsim_messages.py (1001 talks with the customer of c-1 through the bridge).
More script lines (besides test_ccsim_messages'):
    app A C CODE                    -- A connects contact C's customer to the application CODE
    done LEG ok|fail [N]            -- the bridge: LEG's application is over (N digits came)
    ended LEG REASON ...            -- the bridge: LEG ended (``_`` for a space)
    results A [ok|fail:TEXT ...]    -- every app_result A got so far (``_`` for a space)
    apps C [CODE:ok|fail|run[:N]]   -- the contact's apps as the admin sees them
"""
import json
import logging
import wave

import numpy as np
import pytest

from firmware.cc import protocol as p
from tests.unit import test_ccsim_bridged as bridged
from tests.unit import test_ccsim_campaign_load as load
from tests.unit import test_ccsim_conference as conference
from tests.unit import test_ccsim_consult as consult
from tests.unit import test_ccsim_engine as base
from tests.unit import test_ccsim_messages as messages
from tests.unit.test_bridge_play import Stubbed, events
from tests.unit.test_ccsim_messages import message_tone, tone_frames
from tools.ccsim.bridge import FRAME, RATE, HOLD_NOTES, Leg, parse as parse_line
from tools.ccsim.bridge_apps import SPEECH_MIN_S, AppRun
from tools.ccsim.customers import BEEP_HZ, NUMBER_TONES, TONE_HZ, tones
from tools.ccsim.scenario import (BUNDLED, MAX_VOICE_APPS, ScenarioError, load as load_scenario,
                                  parse)

TALKING = consult.TALKING
DEMO = BUNDLED / "demo.toml"
PROMPTS = {"payment": (950, 0.5), "survey": (1480, 0.3), "signature": (2000, 0.5)}


@pytest.fixture
def prompts(tmp_path):
    """Short prompts in tmp_path: {code: path}."""
    paths = {}
    for code, (hz, seconds) in PROMPTS.items():
        paths[code] = tmp_path / f"{code}.raw"
        paths[code].write_bytes(message_tone(hz, seconds))
    return paths


def apps_toml(prompts) -> str:
    return f"""
[[voice_apps]]
code = "payment"
label = "Card payment"
kind = "ivr"
prompt = "{prompts['payment']}"
max_digits = 20
timeout_s = 8
ok_text = "Payment taken"
fail_text = "Payment not taken"

[[voice_apps]]
code = "survey"
label = "Survey"
agent_stays = false
prompt = "{prompts['survey']}"
max_digits = 1
timeout_s = 5

[[voice_apps]]
code = "signature"
label = "Voice signature"
kind = "signature"
prompt = "{prompts['signature']}"
record_s = 3
"""


class AppBridge(messages.PlayBridge):
    """A fake bridge that plays files and runs applications: ``app:LEG:CODE:THEN``."""

    def __init__(self):
        super().__init__()
        self.apps = []                  # each app command's fields

    def app(self, leg, app, prompt, collect, then, *, max_digits=1, timeout_s=10.0,
            record_s=4.0, file=""):
        self.said.append(f"app:{leg}:{app}:{then}")
        self.apps.append({"leg": leg, "app": app, "prompt": prompt, "collect": collect,
                          "then": then, "max_digits": max_digits, "timeout_s": timeout_s,
                          "record_s": record_s, "file": file})


class Desk(conference.Desk):
    def __init__(self, prompts, db=":memory:", clock=None, adopt=None, bridge=True,
                 files=None):
        more = consult.DIRECTORY + apps_toml(prompts) + (
            messages.messages_toml(files) if files else "")
        bridged.Desk.__init__(self, "", db, clock, None, more=more, bridge=bridge)
        self.bridge = AppBridge()
        if bridge:
            self.engine.bridge = self.bridge
        if adopt is not None:
            self.engine.adopt(adopt)
            self.drain()

    def step(self, op, *a):
        e = self.engine
        if op == "app":
            e.connect_app(*a)
        elif op == "msg":
            e.play_recorded(*a)
        elif op == "done":
            event = {"event": "app_done", "leg": a[0], "ok": a[1] == "ok"}
            if len(a) > 2:
                event["digits"] = int(a[2])
            e.bridge_event(event)
        elif op == "played":
            e.bridge_event({"event": "played", "leg": a[0], "file": "f", "stopped": False})
        elif op == "ended":
            e.bridge_event({"event": "ended", "leg": a[0],
                            "reason": " ".join(a[1:]).replace("_", " ")})
        elif op == "error":
            e.bridge_event({"event": "error", "leg": a[0],
                            "reason": " ".join(a[1:]).replace("_", " ")})
        elif op == "results":
            got = [f"{'ok' if m.ok else 'fail'}:{m.text.replace(' ', '_')}"
                   for m in self.sent.get(a[0], []) if isinstance(m, p.AppResult)]
            assert got == list(a[1:]), got
        elif op == "apps":
            got = [":".join([x["code"], "run" if x["ok"] is None else "ok" if x["ok"]
                             else "fail", *([str(x["digits"])] if "digits" in x else [])])
                   for x in e.contact_info(a[0])["apps"]]
            assert got == list(a[1:]), got
        else:
            super().step(op, *a)


def run(desk, text):
    return base.play(desk, text)


# -- the scenario ----------------------------------------------------------------------------
def test_voice_apps_are_read_with_each_kind_s_fields_and_defaults(prompts, tmp_path):
    s = parse(base.SCENARIO.format(settings="") + apps_toml(prompts), str(tmp_path / "t.toml"))
    payment, survey, signature = s.voice_apps
    assert (payment.code, payment.label, payment.kind, payment.agent_stays, payment.prompt,
            payment.collect, payment.max_digits, payment.timeout_s, payment.ok_text,
            payment.fail_text) == ("payment", "Card payment", "ivr", True,
                                   str(prompts["payment"]), "digits", 20, 8.0, "Payment taken",
                                   "Payment not taken")
    assert (survey.kind, survey.agent_stays, survey.max_digits, survey.ok_text,
            survey.fail_text) == ("ivr", False, 1, "Survey: done", "Survey: no answer")
    assert (signature.kind, signature.record_s, signature.ok_text, signature.fail_text) == (
        "signature", 3.0, "Signature recorded", "No answer: signature not recorded")
    assert s.voice_app("survey") is survey and s.voice_app("nope") is None
    relative = base.SCENARIO.format(settings="") + (
        '[[voice_apps]]\ncode = "a"\nlabel = "A"\nprompt = "payment.raw"\n'
        '[[voice_apps]]\ncode = "b"\nlabel = "B"\nkind = "signature"\n'
        'prompt = "app-signature.raw"\n')
    s = parse(relative, str(tmp_path / "t.toml"))         # beside the file, else the bundled
    assert [a.prompt for a in s.voice_apps] == [str(prompts["payment"]),
                                                str(BUNDLED / "app-signature.raw")]
    assert [a.record_s for a in s.voice_apps][1] == 4.0
    assert parse(base.SCENARIO.format(settings=""), "t.toml").voice_apps == ()


@pytest.mark.parametrize("entry, error", [
    ('code = "a"\nlabel = "A"', r"voice_apps\[0\].prompt: missing"),
    ('code = "a"\nlabel = "A"\nprompt = "nowhere.raw"',
     r"voice_apps\[0\].prompt: a recorded prompt's path .*'nowhere.raw' is not a file"),
    ('code = "a"\nlabel = "A"\nprompt = "odd.raw"', r"'odd.raw' is 3 bytes \(whole samples"),
    ('code = "a"\nlabel = "A"\nkind = "bot"\nprompt = "payment.raw"',
     r"voice_apps\[0\].kind: one of ivr, signature, got 'bot'"),
    ('code = "a"\nlabel = "A"\nprompt = "payment.raw"\nrecord_s = 3',
     r"voice_apps\[0\]: unknown field 'record_s'"),
    ('code = "a"\nlabel = "A"\nkind = "signature"\nprompt = "payment.raw"\nmax_digits = 3',
     r"voice_apps\[0\]: unknown field 'max_digits'"),
    ('code = "a"\nlabel = "A"\nprompt = "payment.raw"\ncollect = "speech"',
     r"voice_apps\[0\].collect: one of digits, got 'speech'"),
    ('code = "a"\nlabel = "A"\nprompt = "payment.raw"\nmax_digits = 0',
     r"voice_apps\[0\].max_digits: must be in 1..64, got 0"),
    ('code = "a"\nlabel = "A"\nprompt = "payment.raw"\ntimeout_s = 0',
     r"voice_apps\[0\].timeout_s: must be > 0"),
    ('code = "a"\nlabel = "A"\nkind = "signature"\nprompt = "payment.raw"\nrecord_s = 121',
     r"voice_apps\[0\].record_s: at most 120 s, got 121"),
    ('code = "a"\nlabel = "A"\nprompt = "payment.raw"\nagent_stays = "no"',
     r"voice_apps\[0\].agent_stays: expected true or false"),
    ('code = "a"\nlabel = "A"\nprompt = "payment.raw"\nok_text = "' + "x" * 101 + '"',
     r"voice_apps\[0\].ok_text: 1-100 characters"),
    ('code = "a"\nlabel = "A"\nprompt = "payment.raw"\nfail_text = ""',
     r"voice_apps\[0\].fail_text: must not be empty"),
    ('code = "a\\tb"\nlabel = "A"\nprompt = "payment.raw"',
     r"voice_apps\[0\].code: 1-64 characters, no"),
    ('code = "a"\nlabel = "' + "L" * 65 + '"\nprompt = "payment.raw"',
     r"voice_apps\[0\].label: 1-64 characters"),
    ('code = "a"\nlabel = "A"\nprompt = "payment.raw"\n[[voice_apps]]\ncode = "a"\n'
     'label = "B"\nprompt = "payment.raw"', r"voice_apps\[1\].code: duplicate 'a'"),
])
def test_a_voice_app_s_mistakes_name_the_field(prompts, tmp_path, entry, error):
    (tmp_path / "odd.raw").write_bytes(bytes(3))
    text = base.SCENARIO.format(settings="") + "[[voice_apps]]\n" + entry + "\n"
    with pytest.raises(ScenarioError, match=error):
        parse(text, str(tmp_path / "t.toml"))


def test_at_most_max_voice_apps(prompts, tmp_path):
    def text(n):
        return base.SCENARIO.format(settings="") + "".join(
            f'[[voice_apps]]\ncode = "a{i}"\nlabel = "A{i}"\nprompt = "payment.raw"\n'
            for i in range(n))
    assert len(parse(text(MAX_VOICE_APPS), str(tmp_path / "t.toml")).voice_apps) == 20
    with pytest.raises(ScenarioError, match=f"voice_apps: at most {MAX_VOICE_APPS}, got 21"):
        parse(text(MAX_VOICE_APPS + 1), str(tmp_path / "t.toml"))


def test_the_demo_has_a_payment_a_survey_and_a_signature_with_prompts_told_apart_by_pitch():
    demo = load_scenario(DEMO)
    assert [(a.code, a.label, a.kind, a.agent_stays) for a in demo.voice_apps] == [
        ("payment", "Card payment", "ivr", True), ("survey", "Survey", "ivr", False),
        ("signature", "Voice signature", "signature", True)]
    payment, survey, signature = demo.voice_apps
    assert (payment.collect, payment.max_digits, payment.ok_text) == ("digits", 20,
                                                                      "Payment taken")
    assert (survey.max_digits, signature.record_s) == (1, 4.0)
    assert signature.fail_text == "No answer: signature not recorded"
    made = {"payment": message_tone(950, 2.0), "survey": message_tone(1480, 1.5),
            "signature": message_tone(2000, 2.0)}
    pitches = []
    for a in demo.voice_apps:
        data = open(a.prompt, "rb").read()
        assert data == made[a.code] and len(data) < 64 * 1024
        [hz] = tones(data, RATE)
        pitches.append(hz)
    # apart from the messages', the customers' and numbers' tones, hold music, the machines'
    # beep and the phones' test tones (1 kHz handset, 600 Hz headset, 700 Hz)
    taken = (1100, 1250, TONE_HZ, *NUMBER_TONES, *HOLD_NOTES, BEEP_HZ, 1000, 600, 700)
    assert all(abs(hz - other) >= 50 for hz in pitches for other in taken)
    assert len({round(hz, -1) for hz in pitches}) == 3


def test_every_agent_s_snapshot_lists_the_voice_apps(prompts):
    d = run(Desk(prompts), "hello 1001\nhello 1002")
    expected = [p.VoiceApp("payment", "Card payment", "ivr", True),
                p.VoiceApp("survey", "Survey", "ivr", False),
                p.VoiceApp("signature", "Voice signature", "signature", True)]
    assert d.engine.snapshot("1001").voice_apps == expected
    assert d.engine.snapshot("1002").voice_apps == expected
    assert run(bridged.Desk(), "hello 1001").engine.snapshot("1001").voice_apps == []


# -- connecting one --------------------------------------------------------------------------
def test_the_customer_is_in_the_ivr_then_back_and_the_agent_is_told(prompts):
    d = run(Desk(prompts), TALKING + """
        app 1001 c-1 payment
        bridged app:in-1:payment:rejoin
        participants c-1 customer:answered:None agent:answered:c-1
        contact c-1 assigned 1001
        agent 1001 talking
        results 1001
        apps c-1 payment:run
        app 1001 c-1 signature !not_allowed
        app 1001 c-1 nope !unknown_code
        bridge in-1 joined c-1
        done in-1 ok 16
        results 1001 ok:Payment_taken
        bridged
        participants c-1 customer:answered:c-1 agent:answered:c-1
        apps c-1 payment:ok:16
        app 1001 c-1 payment
        bridged app:in-1:payment:rejoin
        bridge in-1 joined c-1
        done in-1 fail 0
        results 1001 ok:Payment_taken fail:Payment_not_taken
        apps c-1 payment:ok:16 payment:fail:0
    """)
    assert d.bridge.apps[0] == {
        "leg": "in-1", "app": "payment", "prompt": str(prompts["payment"]),
        "collect": "digits", "then": "rejoin", "max_digits": 20, "timeout_s": 8.0,
        "record_s": 4.0, "file": ""}
    result = next(m for m in d.sent["1001"] if isinstance(m, p.AppResult))
    assert (result.contact, result.app, result.ok) == ("c-1", "payment", True)
    apps = d.engine.contact_info("c-1")["apps"]
    assert apps[0] == {"code": "payment", "at": d.clock.now, "ok": True,
                       "text": "Payment taken", "digits": 16}
    seqs = [m.seq for m in d.sent["1001"]]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))      # seq'd as every event


def test_a_signature_is_recorded_in_the_data_directory_and_kept_with_the_contact(
        prompts, tmp_path):
    d = run(Desk(prompts, db=tmp_path / "data" / "cc.db"), TALKING + """
        app 1001 c-1 signature
        bridged app:in-1:signature:rejoin
        bridge in-1 joined c-1
        done in-1 ok
        results 1001 ok:Signature_recorded
        app 1001 c-1 signature
        bridge in-1 joined c-1
        done in-1 fail
        results 1001 ok:Signature_recorded fail:No_answer:_signature_not_recorded
    """)
    first, second = d.bridge.apps
    folder = tmp_path / "data" / "signatures"
    assert folder.is_dir()
    assert (first["collect"], first["record_s"], first["file"]) == (
        "speech", 3.0, str(folder / "c-1-signature-1.wav"))
    assert second["file"] == str(folder / "c-1-signature-2.wav")
    assert [(a["ok"], a["recording"]) for a in d.engine.contact_info("c-1")["apps"]] == [
        (True, first["file"]), (False, second["file"])]


def test_the_survey_releases_the_agent_at_once_and_the_bridge_hangs_the_customer_up(prompts):
    d = run(Desk(prompts), TALKING + """
        app 1001 c-1 survey
        bridged app:in-1:survey:hangup hangup:c-1.a1
        contact c-1 wrapup 1001
        agent 1001 wrapup
        participants c-1
        bridge c-1.a1 ended
        bridge in-1 joined x
        bridged
        wrapup 1001 c-1 sale
        contact c-1 wrapped_up
        agent 1001 available
        apps c-1 survey:run
        done in-1 ok 1
        results 1001 ok:Survey:_done
        apps c-1 survey:ok:1
        ended in-1 application_over
        bridged
        results 1001 ok:Survey:_done
    """)
    assert d.bridge.apps[0]["then"] == "hangup" and d.bridge.apps[0]["max_digits"] == 1
    # a survey the customer hangs up on, the contact still in wrap-up
    run(Desk(prompts), TALKING + """
        app 1001 c-1 survey
        ended in-1 far_end_hung_up
        results 1001 fail:Customer_hung_up
        contact c-1 wrapup 1001
        bridged app:in-1:survey:hangup hangup:c-1.a1
        apps c-1 survey:fail
    """)


def test_a_hold_meanwhile_puts_the_customer_on_music_after_it_and_resume_brings_back(prompts):
    run(Desk(prompts), TALKING + """
        app 1001 c-1 payment
        bridged app:in-1:payment:rejoin
        call 1001 c-1 held
        bridged music:in-1:on
        call 1001 c-1 resumed
        bridged
        done in-1 ok 4
        results 1001 ok:Payment_taken
        bridged music:in-1:off join:c-1:in-1
    """)
    run(Desk(prompts), TALKING + """
        app 1001 c-1 payment
        call 1001 c-1 held
        bridged app:in-1:payment:rejoin music:in-1:on
        done in-1 ok 4
        bridged
        participants c-1 customer:answered:None agent:answered:c-1
        call 1001 c-1 resumed
        bridged music:in-1:off join:c-1:in-1
    """)


def test_a_hang_up_during_it_ends_the_call_and_the_agent_is_told_why(prompts):
    run(Desk(prompts), TALKING + """
        app 1001 c-1 signature
        ended in-1 far_end_hung_up
        results 1001 fail:Customer_hung_up
        contact c-1 wrapup 1001
        bridged app:in-1:signature:rejoin hangup:c-1.a1
        apps c-1 signature:fail
    """)
    run(Desk(prompts), TALKING + """
        app 1001 c-1 payment
        call 1001 c-1 ended
        bridged app:in-1:payment:rejoin hangup:c-1.a1 hangup:in-1
        contact c-1 wrapup 1001
        ended in-1 hangup_requested
        results 1001 fail:Call_ended
        done in-1 ok 3
        results 1001 fail:Call_ended
        bridged
    """)


def test_an_application_the_bridge_refuses_puts_the_customer_back_at_once(prompts):
    run(Desk(prompts), TALKING + """
        app 1001 c-1 payment
        error in-1 room c-1 is full
        results 1001
        error in-1 app: the leg is not answered
        results 1001 fail:Application_not_connected
        bridged app:in-1:payment:rejoin join:c-1:in-1
        apps c-1 payment:fail
        app 1001 c-1 payment
        bridged app:in-1:payment:rejoin
    """)
    run(Desk(prompts), TALKING + """
        app 1001 c-1 survey
        error in-1 app: No such file or directory
        results 1001 fail:Application_not_connected
        bridged app:in-1:survey:hangup hangup:c-1.a1 hangup:in-1
    """)


@pytest.mark.parametrize("text", [
    "hello 1001\napp 1001 c-9 payment !unknown_contact",
    TALKING + "app 1002 c-1 payment !unknown_contact",              # not 1002's
    TALKING + "app 1001 c-1 Payment !unknown_code",
    TALKING + "call 1001 c-1 held\napp 1001 c-1 nope !unknown_code",   # the code first
    TALKING + "call 1001 c-1 held\napp 1001 c-1 payment !not_allowed",
    TALKING + "call 1001 c-1 ended\napp 1001 c-1 payment !not_allowed",    # wrap-up
    """
        hello 1001
        available 1001
        post sales
        incoming in-1 c-1
        bridge in-1 answered
        bridge c-1.a1 ringing
        contact c-1 offered 1001
        app 1001 c-1 payment !not_allowed
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
        app 1001 c-1 payment !not_allowed
    """,
    consult.CONSULTING + """
        app 1001 c-1 payment !not_allowed
        app 1002 c-1 payment !not_allowed
    """,
    conference.CONFERENCE + """
        app 1001 c-1 signature !not_allowed
        app 1002 c-1 signature !not_allowed
    """,
    "app 1001 c-1 payment !not_logged_in",
])
def test_refusals(prompts, text):
    d = run(Desk(prompts), text)
    assert d.bridge.apps == []


def test_a_message_and_an_application_never_run_at_once(prompts, tmp_path):
    files = {"hold_on": tmp_path / "hold.raw", "privacy": tmp_path / "privacy.raw"}
    files["hold_on"].write_bytes(message_tone(1100, 0.5))
    files["privacy"].write_bytes(message_tone(1250, 0.5))
    d = run(Desk(prompts, files=files), TALKING + """
        msg 1001 c-1 hold_on
        app 1001 c-1 payment !not_allowed
        bridge in-1 joined c-1
        played in-1
        app 1001 c-1 payment
        msg 1001 c-1 hold_on !not_allowed
    """)
    assert [leg for leg, _file, _then in d.bridge.plays] == ["in-1"]
    assert len(d.bridge.apps) == 1


def test_without_the_bridge_an_application_is_not_allowed(prompts):
    d = run(Desk(prompts, bridge=False), """
        hello 1001
        available 1001
        post sales
        customer c-1 ringing
        customer c-1 answered
        contact c-1 assigned 1001
        app 1001 c-1 payment !not_allowed
        app 1001 c-1 nope !unknown_code
    """)
    assert [a.code for a in d.engine.snapshot("1001").voice_apps] == [
        "payment", "survey", "signature"]


def test_a_restarted_ccsim_takes_back_the_applications_the_bridge_runs(prompts, tmp_path):
    db = tmp_path / "cc.db"
    first = run(Desk(prompts, db=db), TALKING + """
        app 1001 c-1 payment
        bridged app:in-1:payment:rejoin
    """)
    first.store.close()                         # killed: the bridge runs it on
    listing = {"rooms": {"c-1": ["c-1.a1"]}, "legs": [
        {"leg": "in-1", "direction": "in", "state": "answered", "contact": "c-1", "room": None,
         "hold_music": False, "app": "payment"},
        {"leg": "c-1.a1", "direction": "out", "state": "answered", "contact": "c-1",
         "room": "c-1", "hold_music": False}]}
    second = Desk(prompts, db=db, clock=first.clock, adopt=listing)
    run(second, """
        bridged
        participants c-1 customer:answered:None agent:answered:c-1
        apps c-1 payment:run
        app 1001 c-1 signature !not_allowed
        bridge in-1 joined c-1
        done in-1 ok 16
        results 1001 ok:Payment_taken
        apps c-1 payment:ok:16
        bridged
    """)


def test_a_run_the_bridge_no_longer_lists_is_over_and_the_customer_is_back(prompts, tmp_path):
    db = tmp_path / "cc.db"
    first = run(Desk(prompts, db=db), TALKING + "app 1001 c-1 payment")
    first.store.close()
    listing = {"rooms": {"c-1": ["c-1.a1"]}, "legs": [
        {"leg": "in-1", "direction": "in", "state": "answered", "contact": "c-1", "room": None,
         "hold_music": False},
        {"leg": "c-1.a1", "direction": "out", "state": "answered", "contact": "c-1",
         "room": "c-1", "hold_music": False}]}
    second = Desk(prompts, db=db, clock=first.clock, adopt=listing)
    run(second, """
        bridged join:c-1:in-1
        apps c-1 payment:fail
        contact c-1 assigned 1001
        app 1001 c-1 payment
    """)
    assert second.engine.contact_info("c-1")["apps"][0]["text"] == "Call ended"


def test_a_restarted_ccsim_lets_a_survey_the_agent_left_run_to_its_end(prompts, tmp_path):
    db = tmp_path / "cc.db"
    first = run(Desk(prompts, db=db), TALKING + "app 1001 c-1 survey")
    first.store.close()
    listing = {"rooms": {}, "legs": [
        {"leg": "in-1", "direction": "in", "state": "answered", "contact": "c-1", "room": None,
         "hold_music": False, "app": "survey"}]}
    second = Desk(prompts, db=db, clock=first.clock, adopt=listing)
    run(second, """
        bridged
        contact c-1 wrapup 1001
        done in-1 ok 1
        results 1001 ok:Survey:_done
        apps c-1 survey:ok:1
    """)
    second.store.close()
    unlisted = Desk(prompts, db=db, clock=first.clock, adopt={"rooms": {}, "legs": []})
    run(unlisted, "apps c-1 survey:ok:1\nbridged")


def test_a_run_the_bridge_lost_is_over_call_ended(prompts, tmp_path):
    db = tmp_path / "cc.db"
    first = run(Desk(prompts, db=db), TALKING + "app 1001 c-1 signature")
    first.store.close()
    second = Desk(prompts, db=db, clock=first.clock, adopt={"rooms": {}, "legs": []})
    info = second.engine.contact_info("c-1")
    assert [(a["code"], a["ok"], a["text"]) for a in info["apps"]] == [
        ("signature", False, "Call ended")]
    assert info["state"] == "wrapup"


# -- the bridge: the line, the run, the ticks ------------------------------------------------
@pytest.fixture
def prompt(tmp_path):
    """A 0.2 s prompt (10 ticks) at 950 Hz."""
    path = tmp_path / "prompt.raw"
    path.write_bytes(message_tone(950, 0.2))
    return path


def app_line(prompt_file, leg="in-1", **fields):
    line = {"op": "app", "leg": leg, "app": "payment", "prompt": str(prompt_file),
            "collect": "digits", "max_digits": 20, "timeout_s": 1, "then": "rejoin"}
    return json.dumps({**line, **fields})


@pytest.mark.parametrize("fields, says", [
    ({"prompt": "rel.raw"}, "app: prompt must be an absolute path"),
    ({"prompt": "/nowhere/p.raw"}, "app: /nowhere/p.raw is not a file that can be read"),
    ({"app": ""}, "app: app must be 1-64 printable"),
    ({"collect": "dtmf"}, "app: collect must be 'digits' or 'speech'"),
    ({"then": ""}, "app: then must be 'rejoin' or 'hangup'"),
    ({"max_digits": 0}, "app: max_digits must be a whole number, 1-64"),
    ({"max_digits": True}, "app: max_digits must be"),
    ({"timeout_s": 0}, "app: timeout_s must be a number of seconds"),
    ({"collect": "speech", "record_s": 500, "file": "/tmp/x.wav"}, "app: record_s must be"),
    ({"collect": "speech", "record_s": 2, "file": "rel.wav"},
     "app: file must be an absolute .wav path"),
    ({"collect": "speech", "record_s": 2, "file": "/nowhere/x.wav"},
     "app: file must be an absolute .wav path in a directory that exists"),
])
def test_bad_app_lines_are_refused_with_the_reason(prompt, fields, says):
    with pytest.raises(ValueError, match=says):
        parse_line(app_line(prompt, **fields))


def test_good_app_lines(prompt, tmp_path):
    assert parse_line(app_line(prompt))["max_digits"] == 20
    speech = app_line(prompt, collect="speech", record_s=4, file=str(tmp_path / "s.wav"))
    assert parse_line(speech)["record_s"] == 4


def silence():
    return np.zeros(FRAME, np.int16)


def digits_run(prompt_ticks=10, **kw):
    prompt = np.ones(prompt_ticks * FRAME - 7, np.int16)     # the last frame padded
    return AppRun("payment", prompt, "digits", "rejoin", "c-1", **kw)


def test_a_digits_run_plays_the_prompt_then_counts_keys_until_the_end_key():
    run_ = digits_run(max_digits=20, timeout_s=2)
    heard = [run_.step(None) for _ in range(10)]
    assert all(len(f) == FRAME for f in heard) and heard[0].all() and not heard[-1][-7:].any()
    run_.key("4")                                # during the prompt too (keyed ahead)
    for key in "111111111111111":
        run_.step(None)
        run_.key(key)
    assert not run_.step(silence()).any()        # silence after the prompt
    run_.key("#")
    assert run_.over and run_.ok and run_.result() == {"app": "payment", "ok": True,
                                                      "ended": "#", "digits": 16}
    run_.key("5")                                # after the end: not counted
    assert run_.digits == 16 and "4111" not in repr(run_)


def test_a_digits_run_ends_at_max_digits_or_after_the_timeout_with_no_key():
    run_ = digits_run(max_digits=1, timeout_s=1)
    run_.key("3")
    assert (run_.over, run_.ended, run_.ok, run_.digits) == (True, "max", True, 1)

    run_ = digits_run(prompt_ticks=5, max_digits=4, timeout_s=0.2)     # 10 ticks
    for _ in range(5 + 9):
        run_.step(None)
    assert not run_.over
    run_.key("7")                                # the timeout counts from the last key
    for _ in range(9):
        run_.step(None)
    assert not run_.over
    run_.step(None)
    assert (run_.over, run_.ended, run_.ok, run_.digits) == (True, "timeout", True, 1)

    run_ = digits_run(prompt_ticks=5, timeout_s=0.2)
    for _ in range(15):
        run_.step(None)
    assert (run_.over, run_.ended, run_.ok, run_.result()["digits"]) == (
        True, "timeout", False, 0)


@pytest.mark.parametrize("level, voiced_s, ok", [
    (0.2, 3.0, True),                # a voice: -17 dBFS
    (0.2, SPEECH_MIN_S, True),       # just enough of it
    (0.2, SPEECH_MIN_S - 0.04, False),
    (0.005, 3.0, False),             # -49 dBFS: line noise, no answer
    (0.0, 0.0, False),
])
def test_a_speech_run_records_its_answer_and_judges_it_by_level(tmp_path, level, voiced_s, ok):
    file = tmp_path / "sig.wav"
    run_ = AppRun("signature", np.ones(2 * FRAME, np.int16), "speech", "rejoin", "c-1",
                  record_s=3, file=file)
    talk = tone_frames(440, 150)
    voiced = round(voiced_s / 0.02)
    for i in range(2 + 150):
        said = (talk[i - 2] * level / 0.2).astype(np.int16) if 2 <= i < 2 + voiced else None
        assert not run_.over
        run_.step(said)
    assert run_.over and run_.ended == "recorded" and run_.ok is ok
    assert run_.result()["speech_s"] == pytest.approx(voiced_s if level > 0.01 else 0)
    with wave.open(str(file)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getnframes()) == (RATE, 1, 150 * FRAME)


def room_with_two(bridge):
    messages.room_with_two(bridge)


def test_the_bridge_runs_an_ivr_on_a_leg_out_of_its_room_and_no_key_reaches_the_room(
        prompt, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    bridge = Stubbed()
    room_with_two(bridge)
    bridge.says["c-1.a1"] = tone_frames(440, 200)          # the agent talks throughout
    relayed = []
    bridge._send_dtmf = lambda leg, digit: relayed.append(digit)   # (not awaited: never run)
    capsys.readouterr()
    bridge.run(app_line(prompt, max_digits=20), '{"op": "legs"}')
    said = events(capsys)
    assert [e["event"] for e in said] == ["left", "legs"]
    listed = {leg["leg"]: leg for leg in said[-1]["legs"]}
    assert listed["in-1"]["app"] == "payment" and listed["in-1"]["room"] is None
    assert "app" not in listed["c-1.a1"]
    bridge.advance(10)
    heard = np.concatenate(bridge.sent["in-1"][:10])
    assert (heard == np.fromfile(prompt, "<i2")).all()       # the prompt, not the agent
    for digit in "4111111111111111#":
        bridge._relay_dtmf(bridge.legs["in-1"], digit)
    assert relayed == [] and events(capsys) == []
    bridge.advance(1)
    assert events(capsys) == [
        {"event": "joined", "room": "c-1", "leg": "in-1", "legs": ["c-1.a1", "in-1"]},
        {"event": "app_done", "leg": "in-1", "app": "payment", "ok": True, "ended": "#",
         "digits": 16}]
    assert not np.concatenate(bridge.sent["in-1"][10:11]).any()
    assert not np.concatenate(bridge.sent["c-1.a1"][:11]).any()    # the agent: alone
    bridge.advance(25)
    assert tones(np.concatenate(bridge.sent["in-1"][12:]).tobytes(), RATE) == [440]
    assert "4111" not in caplog.text and "1111" not in caplog.text
    assert bridge.hung_up == []


def test_a_survey_leg_is_hung_up_when_its_application_is_over(prompt, capsys):
    bridge = Stubbed()
    room_with_two(bridge)
    capsys.readouterr()
    bridge.run(app_line(prompt, app="survey", max_digits=1, timeout_s=0.1, then="hangup"))
    bridge.advance(10 + 5)
    said = events(capsys)
    assert [e["event"] for e in said] == ["left", "app_done"]
    assert said[-1] == {"event": "app_done", "leg": "in-1", "app": "survey", "ok": False,
                        "ended": "timeout", "digits": 0}
    assert bridge.hung_up == [("in-1", "application over")]


def test_the_bridge_records_a_signature_and_says_how_it_went(prompt, tmp_path, capsys):
    bridge = Stubbed()
    room_with_two(bridge)
    bridge.says["in-1"] = tone_frames(440, 200)          # the customer talks throughout
    file = tmp_path / "sig.wav"
    capsys.readouterr()
    bridge.run(app_line(prompt, app="signature", collect="speech", record_s=1,
                        file=str(file)))
    bridge.advance(10 + 50)
    said = events(capsys)
    assert [e["event"] for e in said] == ["left", "joined", "app_done"]
    assert said[-1] == {"event": "app_done", "leg": "in-1", "app": "signature", "ok": True,
                        "ended": "recorded", "speech_s": 1.0, "file": str(file)}
    with wave.open(str(file)) as w:
        pcm = w.readframes(w.getnframes())
    assert len(pcm) == 50 * FRAME * 2 and tones(pcm, RATE) == [440]


def test_a_join_stops_an_application_and_hold_music_keeps_the_leg_out_after_it(
        prompt, tmp_path, capsys):
    bridge = Stubbed()
    room_with_two(bridge)
    capsys.readouterr()
    bridge.run(app_line(prompt))
    bridge.advance(3)
    bridge.run('{"op": "join", "room": "c-1", "leg": "in-1"}')
    said = events(capsys)
    assert [e["event"] for e in said] == ["left", "app_done", "joined"]
    assert (said[1]["ended"], said[1]["ok"]) == ("stopped", False)
    assert bridge.legs["in-1"].app is None

    capsys.readouterr()
    bridge.run(app_line(prompt, timeout_s=0.1), '{"op": "hold_music", "leg": "in-1", "on": true}')
    bridge.advance(10)
    heard = np.concatenate(bridge.sent["in-1"][-10:])
    assert (heard == np.fromfile(prompt, "<i2")).all()      # the prompt, not the music
    bridge.advance(5)
    said = events(capsys)
    assert [e["event"] for e in said] == ["left", "hold_music", "app_done"]
    assert "in-1" not in bridge.rooms.get("c-1", [])
    bridge.advance(1)
    assert bridge.sent["in-1"][-1].any()                    # on the music now


def test_a_leg_that_ends_during_an_application_closes_its_recording(prompt, tmp_path, capsys):
    bridge = Stubbed()
    room_with_two(bridge)
    file = tmp_path / "sig.wav"
    bridge.run(app_line(prompt, app="signature", collect="speech", record_s=2,
                        file=str(file)))
    bridge.says["in-1"] = tone_frames(440, 30)
    bridge.advance(30)
    capsys.readouterr()
    bridge._finish(bridge.legs["in-1"], "far end hung up")
    assert [e["event"] for e in events(capsys)] == ["ended"]
    with wave.open(str(file)) as w:
        assert w.getnframes() == 20 * FRAME                  # what it got before the end


def test_an_application_needs_an_answered_leg(prompt, capsys):
    bridge = Stubbed()
    bridge.legs["L1"] = Leg("L1", "out", "x", state="ringing")
    bridge.run(app_line(prompt, leg="L1"), app_line(prompt, leg="L9"))
    assert [(e["event"], e.get("reason")) for e in events(capsys)] == [
        ("error", "app: the leg is not answered"), ("error", "no such leg")]


# -- over the wire ---------------------------------------------------------------------------
def test_connect_app_over_the_wire_and_the_customer_api(prompts, tmp_path):
    """Without the bridge: the snapshot lists the applications, connect_app is refused
    not_allowed (or unknown_code, unknown_contact), the contact has no apps; the admin's hand
    on the customer wants a simulated customer's answered call."""
    text = base.SCENARIO.format(settings="") + apps_toml(prompts)

    async def test(api, ws_url, http):
        async with http.ws_connect(ws_url) as ws:
            phone = load.Phone(ws)
            await phone.send(p.Hello(id="h", agent="1001", pin="1234"))
            snap = await phone.receive(p.Snapshot)
            assert [(a.code, a.kind, a.agent_stays) for a in snap.voice_apps] == [
                ("payment", "ivr", True), ("survey", "ivr", False),
                ("signature", "signature", True)]
            await phone.send(p.SetState(id="a", state="available"))
            await api.post("/contacts", {"queue": "sales", "ani": "+15550001234"}, 201)
            await phone.receive(p.ContactUpdate)
            await phone.send(p.CallEvent(id="e", contact="c-1", event="answered"))
            while (await phone.receive(p.ContactUpdate)).contact.status != "assigned":
                pass
            for rid, contact, app, code, says in (
                    ("x1", "c-1", "nope", "unknown_code", "no voice application"),
                    ("x2", "c-1", "payment", "not_allowed", "not the bridge's"),
                    ("x3", "c-9", "payment", "unknown_contact", "not yours")):
                await phone.send(p.ConnectApp(id=rid, contact=contact, app=app))
                error = await phone.receive(p.Error)
                assert (error.id, error.code) == (rid, code) and says in error.message
        assert (await api.get("/contacts/c-1"))["apps"] == []
        for body, status, says in (
                ({"dtmf": "12"}, 409, "no answered call"),
                ({"dtmf": "12x"}, 400, "dtmf: 1-32 of"),
                ({"mute": "yes"}, 400, "mute: true or false"),
                ({"hz": 1}, 400, "unknown field 'hz'"),
                ({}, 400, "expected mute and/or dtmf")):
            said = await api.post("/contacts/c-1/customer", body, status)
            assert says in said["error"]
        await api.post("/contacts/c-9/customer", {"mute": True}, 404)

    load.serve(tmp_path / "cc.db", test, text)
