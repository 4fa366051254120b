"""The tables that tie the phone's kinds of things to their code are complete: every screen has
its key handler, body and softkeys, every event its rule, every effect someone to carry it out
(the phone, on a sim board, driven with each one), every menu word its entry. A new screen,
event or effect without its entries fails here, not as a key that does nothing on a phone."""
from __future__ import annotations

import dataclasses
import inspect
import logging
import time
from dataclasses import replace
from typing import get_args

import pytest

import firmware.core.effects as fx
import firmware.core.events as ev
from firmware.app.store import SettingsStore
from firmware.core import menus, reasons, softkeys, update, vocab
from firmware.core.model import Screen, Settings
from firmware.sip.quality import Quality
from firmware.sip.stack import NO_ANSWER_S, SipStack
from firmware.ui.screens import BODIES
from hal.keypad import KEY_NAMES


def all_subclasses(base: type) -> set[type]:
    found = set()
    for sub in base.__subclasses__():
        found |= {sub} | all_subclasses(sub)
    return found


def missing(kinds, table) -> list[str]:
    return sorted(k.__name__ for k in kinds if k not in table)


def dataclasses_of(module) -> set[type]:
    return {c for _name, c in inspect.getmembers(module, inspect.isclass)
            if c.__module__ == module.__name__ and dataclasses.is_dataclass(c)}


SCREENS = all_subclasses(Screen)
SOFTKEYS = {**softkeys._FIXED, **softkeys._BY_MODEL}


def test_the_checks_see_every_screen_and_a_missing_entry():
    assert len(SCREENS) >= 13                       # Boot, Idle, Menu, ..., Call, Vars
    assert missing([int, Screen], {Screen: None}) == ["int"]


@pytest.mark.parametrize("table,what", [(update._HANDLERS, "a key handler (update._HANDLERS)"),
                                        (BODIES, "a body (firmware.ui.screens.BODIES)"),
                                        (SOFTKEYS, "softkeys (softkeys._FIXED or _BY_MODEL)")])
def test_every_screen_has(table, what):
    assert missing(SCREENS, table) == [], f"screens without {what}"


def test_a_screen_has_fixed_softkeys_or_computed_ones_not_both():
    assert set(softkeys._FIXED) & set(softkeys._BY_MODEL) == set()


def test_every_event_has_a_rule_and_everything_else_in_events_is_the_data_they_carry():
    data = {ev.Code, ev.VariableLayout, ev.CcSettings, ev.Contact,      # not events: no rule
            ev.DirectoryEntry, ev.Favorite, ev.ConsultLeg, ev.Requester, ev.Participant,
            ev.Conference, ev.Recording, ev.Campaign, ev.CallbackRules, ev.CallbackDraft,
            ev.Callback, ev.CallQuality, ev.FollowUp, ev.VoiceApp, ev.Forwarding}
    events = all_subclasses(ev.Event)
    assert dataclasses_of(ev) - {ev.Event} == events | data
    assert missing(events, update._EVENTS) == []


def test_every_effect_is_an_effect_the_phone_carries_out():
    assert set(get_args(fx.Effect)) == dataclasses_of(fx)
    assert set(get_args(fx.CcEffect)) == {c for c in dataclasses_of(fx) if c.__name__[:2] == "Cc"}
    assert set(get_args(fx.SipEffect)) == {c for c in dataclasses_of(fx)
                                           if c.__name__[:3] == "Sip"}


def test_the_keys_are_the_boards_keys():
    assert vocab.KEY_NAMES == KEY_NAMES


def test_every_menu_word_has_its_entry():
    assert set(menus.MENUS) == set(get_args(vocab.MenuName))
    assert set(menus.ADJUSTABLE) == set(get_args(vocab.Level))
    assert set(menus.CHOICES) == set(get_args(vocab.Mode))
    assert set(reasons.TITLES) == set(reasons.MIN_KEYS) == set(get_args(vocab.ReasonKind))
    opened = {item.opens for _title, items in menus.MENUS.values() for item in items}
    assert {t.menu for t in opened if isinstance(t, menus.OpenMenu)} <= set(menus.MENUS) - {"main"}


def test_every_settings_level_reads_and_writes_its_own_field():
    for i, level in enumerate(get_args(vocab.Level)):
        s = Settings().with_level(level, i)
        assert s.level(level) == i == dataclasses.asdict(s)[level]
    for route in get_args(vocab.Route):
        assert Settings().volume(route) == dataclasses.asdict(Settings())[f"{route}_volume"]


# -- the phone carries out every effect -----------------------------------------------------------
class Link:
    """Stands for the contact-center link: its one entry point, as firmware.cc's has it."""

    def __init__(self):
        self.requests = []

    def request(self, effect):
        self.requests.append(effect)


class Stack:
    """Stands for the SIP stack: the commands the phone gives it, with SipStack's signatures
    (checked below), recorded."""

    def __init__(self):
        self.commands = []

    async def answer(self, call: str) -> None:
        self.commands.append(("answer", call))

    async def hold(self, call: str) -> None:
        self.commands.append(("hold", call))

    async def resume(self, call: str) -> None:
        self.commands.append(("resume", call))

    async def hangup(self, call: str) -> None:
        self.commands.append(("hangup", call))

    async def refuse(self, call: str, contact: str, why: str) -> None:
        self.commands.append(("refuse", call, contact, why))

    async def send_dtmf(self, call: str, digits: str) -> None:
        self.commands.append(("send_dtmf", call, digits))

    async def dial(self, number_or_uri: str, headers: dict[str, str] | None = None, *,
                   answer_within_s: float = NO_ANSWER_S) -> str:
        self.commands.append(("dial", number_or_uri, headers))
        return "k7"

    def quality(self, call: str) -> Quality | None:
        return Quality(12, "pcmu/8000", 600, 3, 0, 4.5, 1.0, 40.0, 1, 3, 4.2) if call else None


def test_the_stand_in_stack_has_the_real_stacks_commands():
    for name, method in inspect.getmembers(Stack, inspect.iscoroutinefunction):
        assert inspect.signature(method) == inspect.signature(getattr(SipStack, name)), name


SAVED = replace(Settings(), contrast=2, backlight="off")
DRAFT = ev.CallbackDraft("+1 555 0100", "Zoë Ærø", "2026-12-03", "10:00", "11:00",
                         "Europe/Berlin", "sales")
# each effect -> what carrying it out must have done (checked in ``reached``)
SIP_DONE = {fx.SipAnswer("k1"): ("answer", "k1"), fx.SipHold("k1"): ("hold", "k1"),
            fx.SipResume("k1"): ("resume", "k1"), fx.SipHangup("k1"): ("hangup", "k1"),
            fx.SipRefuse("k2", "c9", "no token"): ("refuse", "k2", "c9", "no token"),
            fx.SipDtmf("k1", "5"): ("send_dtmf", "k1", "5"),
            fx.SipDial("dial-1", "5550100"): ("dial", "5550100", {})}
CC_SENT = (fx.CcLogin("1001", "1234"), fx.CcSetState("idle", "lunch"), fx.CcAccept("c1"),
           fx.CcReject("c2"), fx.CcDial("dial-1", "5550100"), fx.CcGetDirectory("ben"),
           fx.CcFavoriteAdd("agent", "1002", "1002", "Ben Okafor"), fx.CcFavoriteRemove("1002"),
           fx.CcCallEvent("c1", "answered", 1.0), fx.CcCallEvent("c1", "held", 2.0, "consult"),
           fx.CcConsult("c1", "agent", "1002"), fx.CcTransfer("c1"),
           fx.CcTransfer("c1", "queue", "support"), fx.CcExitConsult("c1"),
           fx.CcConference("c1"), fx.CcExitConference("c1"), fx.CcPauseRecording("c1"),
           fx.CcResumeRecording("c1"), fx.CcSetVariable("c1", "note", "VIP", 1),
           fx.CcGetVariable("c1", "card"), fx.CcPreview("c9", "call"),
           fx.CcReschedule("c9", "2026-12-03T10:30"), fx.CcPlayMessage("c20"),
           fx.CcScheduleCallback(DRAFT, "c1"), fx.CcEditCallback("cb-7", DRAFT),
           fx.CcDeleteCallback("cb-7"), fx.CcListCallbacks("+1 555 0100"),
           fx.CcWrapUp("c1", "sale"), fx.CcWrapUp("c1", "sale", "Wants fibre"),
           fx.CcRequestHelp("c1"), fx.CcCancelHelp(),
           fx.CcQualityReport("echo", ev.CallQuality(rx_packets=500, mos=4.1), "c1"),
           fx.CcLogUpload("log-1", 1, 1, "a line"), fx.CcPlayMessage("c1", "privacy"),
           fx.CcScheduleFollowUp(1_800_000_000.0, "Send the plan", "c1"),
           fx.CcFollowUpDone("f-1"), fx.CcConnectApp("c1", "signature"),
           fx.CcSetForwarding(ev.Forwarding(always="5550123")), fx.CcLogout("shift"))
SAMPLES = (fx.PlayTone("ring", "ringer", 4), fx.StopTone("ringer"), fx.SaveSettings(SAVED),
           fx.MeasureCall("k1", "c1", "echo"), fx.CollectLogs("log-1"), *CC_SENT, *SIP_DONE)


def test_there_is_a_sample_of_every_effect():
    assert {type(e) for e in SAMPLES} == set(get_args(fx.Effect))


@pytest.fixture
def phone(tmp_path):
    from tools.bench.inproc import InProcessPhone
    p = InProcessPhone(tmp_path)
    p.phone.cc, p.phone.sip = Link(), Stack()
    posted, post = [], p.phone.post

    def recorded(event):
        posted.append(event)
        post(event)

    p.phone.post = recorded
    p.posted = posted
    yield p
    p.phone.cc = p.phone.sip = None
    p.close()


def wait_for(cond, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, what
        time.sleep(0.005)


def carry_out(p, effect):
    async def run():
        p.phone._carry_out(effect)
    p.call(run())


def test_the_phone_carries_out_every_effect(phone, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    audio = phone.devices.audio
    before = time.perf_counter()
    carry_out(phone, fx.PlayTone("ring", "ringer", 4))
    wait_for(lambda: audio.started_at.get("ringer", 0) > before, "the ring to start")
    carry_out(phone, fx.StopTone("ringer"))     # a ring repeats until stopped: this stops it
    wait_for(lambda: ev.ToneFinished("ring") in phone.posted, "the ring to stop", timeout=2)

    carry_out(phone, fx.SaveSettings(SAVED))
    wait_for(lambda: SettingsStore(tmp_path).load() == SAVED, "the settings on disk")

    for effect in CC_SENT:
        carry_out(phone, effect)
    assert phone.phone.cc.requests == list(CC_SENT)

    for effect in SIP_DONE:
        carry_out(phone, effect)
    wait_for(lambda: len(phone.phone.sip.commands) == len(SIP_DONE), "the SIP commands")
    assert phone.phone.sip.commands == list(SIP_DONE.values())
    wait_for(lambda: ev.SipDialed("dial-1", "k7") in phone.posted, "the dial's call id")

    carry_out(phone, fx.MeasureCall("k1", "c1", "echo"))     # a call's figures, for its report
    wait_for(lambda: ev.CallMeasured("c1", "echo", ev.CallQuality(
        12, "pcmu/8000", 600, 3, 0, 4.5, 1.0, 40.0, 1, 3, 4.2)) in phone.posted, "the figures")
    phone.phone.log_secrets.add("8642")
    logging.getLogger("hardphone.test").warning("typed pin 8642 for 1001, called 5550100")
    carry_out(phone, fx.CollectLogs("log-1"))               # the recent log, redacted
    wait_for(lambda: any(isinstance(e, ev.LogsCollected) for e in phone.posted), "the log")
    text = "".join(next(e for e in phone.posted if isinstance(e, ev.LogsCollected)).parts)
    assert "typed pin *** for 1001, called 5550100" in text and "8642" not in text
    assert [r.getMessage() for r in caplog.records
            if not r.getMessage().startswith("typed pin")] == []


def test_an_event_without_a_rule_is_logged_and_the_phone_goes_on(phone, caplog):
    phone.settle()
    before = phone.phone.model
    phone.phone.post(object())
    phone.settle()
    assert phone.phone.model == before
    assert any("no rule for object" in r.exc_text for r in caplog.records if r.exc_text)
    phone.phone.post(ev.Key("soft3"))                # Menu: the phone still takes keys
    phone.settle()
    assert "Menu" in phone.sim.panel.text()[0]
