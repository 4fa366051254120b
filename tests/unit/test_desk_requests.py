"""The rest of the agent's voice desk (firmware/core/notes.py, helprequest.py, callreport.py,
logsend.py, messages.py, followups.py, voiceapps.py, forwarding.py, voicemail.py): a note typed
during the call goes out with the wrap-up (queued with it offline, never over the server's
limit); help asked for shows until answered or cancelled; a call report carries the call's
figures; the log goes up part by part with its progress; a message or an application picked
for the customer; a follow-up set by the server's clock and shown once when due; forwarding
checked on the form and by the server; the message lamp while voicemail waits."""
import time
from dataclasses import replace

import pytest

from firmware.core import (callreport, followups, forwarding, helprequest, logsend, messages,
                           notes, voiceapps)
from firmware.core import events as ev
from firmware.core.effects import (CcCancelHelp, CcConnectApp, CcDial, CcFollowUpDone,
                                   CcLogUpload, CcPlayMessage, CcQualityReport, CcRequestHelp,
                                   CcScheduleFollowUp, CcSetForwarding, CcWrapUp, CollectLogs,
                                   MeasureCall)
from firmware.core.events import CcSettings
from firmware.core.model import FollowUpScreen, FormScreen, Links, MenuScreen, ReasonScreen
from firmware.ui.view import render

from .test_agent_rules import NOW, agent, keys, run, snapshot, talking
from .test_form import form, press

NOTES = CcSettings(note_max=12)
FIGURES = ev.CallQuality(duration_s=30, codec="pcmu/8000", rx_packets=1500, rx_lost=12, mos=4.1)


def on_call(**snap):
    return agent(*talking(), settings=NOTES, **snap)


def rows(m):
    return [r.rstrip() for r in render(m).rows]


def more(m, item):
    """The call's (or the wrap-up's) More menu, then its item ``item`` (a digit)."""
    key = "soft4" if not isinstance(m.screen, ReasonScreen) else "soft2"
    return run(m, *keys(key, item))


# -- notes ---------------------------------------------------------------------------------------
def test_a_note_typed_on_the_call_goes_out_with_the_wrap_up():
    m, _ = more(on_call(), "4")                       # More -> Note
    assert isinstance(m.screen, FormScreen) and form(m).title == "Note"
    m, _ = press(m, "4 4 _ 4 4 4 _ submit")             # "Hi" (a sentence starts upper case)
    assert m.active_notice() == notes.KEPT and notes.note_of(m, "c1") == "Hi"
    m, _ = run(m, ev.SipCallState("k1", "ended"))
    m, fx = run(m, ev.Key("ok"))                        # the first wrap-up code
    assert CcWrapUp("c1", "sale", "Hi") in fx
    assert m.notes == ()                                # taken: the next contact starts clean


def test_the_note_is_kept_when_the_wrap_up_is_queued_offline():
    m, _ = more(on_call(), "4")
    m, _ = press(m, "4 4 _ submit")
    m, _ = run(m, ev.SipCallState("k1", "ended"))
    m = replace(m, links=Links(ip="10.0.0.5", sip="registered", cc="down"))
    m, fx = run(m, ev.Key("ok"))
    assert CcWrapUp("c1", "sale", "H") in fx            # firmware.cc queues it, note and all


def test_a_note_stops_at_the_servers_limit_and_reopens_with_what_was_typed():
    m, _ = more(on_call(), "4")
    m, _ = press(m, " ".join(["2 _"] * 14) + " submit")   # 14 letters typed, 12 taken
    assert notes.note_of(m, "c1") == "A" + "a" * 11
    m, _ = more(m, "4")
    assert form(m).editor.value == "A" + "a" * 11             # the note again, to change


def test_a_note_from_the_wrap_up_and_none_where_the_centre_takes_none():
    m, _ = run(on_call(), ev.SipCallState("k1", "ended"))
    m, _ = more(m, "1")                                  # wrap-up: More -> Note
    assert isinstance(m.screen, FormScreen)
    plain = agent(*talking())                           # note_max 0
    m, fx = more(plain, "4")
    assert m.active_notice() == notes.NO_NOTES and fx == ()


# -- help ----------------------------------------------------------------------------------------
def test_help_shows_until_a_supervisor_answers():
    m, fx = more(on_call(), "5")                         # More -> Help
    assert fx == (CcRequestHelp("c1"),)
    m, _ = run(m, ev.CcHelp("open"), ev.Tick(m.now + 10))    # the notice gone: the call row
    assert "Help requested" in rows(m)[2]
    m, _ = run(m, ev.CcHelp("answered", "Sam"))
    assert m.active_notice() == "Help: Sam is on it" and not m.agent.help


def test_help_again_cancels_it_and_a_supervisor_closing_it_is_said():
    m, _ = more(on_call(), "5")
    m, fx = more(m, "5")
    assert fx == (CcCancelHelp(),) and m.active_notice() == helprequest.CANCELLED
    m, _ = run(m, ev.CcHelp("closed"))                   # the cancel's own close: no news
    assert m.active_notice() == helprequest.CANCELLED
    m, _ = more(m, "5")
    m, _ = run(m, ev.CcHelp("closed"))
    assert m.active_notice() == helprequest.CLOSED


def test_help_needs_the_server_now_and_a_refusal_takes_it_back():
    offline = agent(*talking(), cc="down")
    m, fx = more(offline, "5")
    assert fx == () and m.active_notice() == helprequest.NO_SERVER
    m, _ = more(on_call(), "5")
    m, _ = run(m, ev.CcRefused("request_help", "offline", "no server"))
    assert not m.agent.help and m.active_notice() == "Help: no server"


def test_a_snapshot_says_whether_help_stands():
    m, _ = run(agent(), replace(ev.CcSnapshot(agent="1001", name="Ada", team="Sales",
                                        extension="sip:1001@pbx", state="available"), help=True))
    assert "Help requested" in rows(m)[2]


# -- call reports --------------------------------------------------------------------------------
def test_a_call_report_carries_the_problem_and_the_calls_figures():
    m, _ = more(on_call(), "6")                          # More -> Report call
    assert form(m).title == callreport.TITLE
    m, fx = press(m, "right submit")                     # Choppy -> Echo
    assert fx == (MeasureCall("k1", "c1", "echo"),)
    assert not isinstance(m.screen, MenuScreen | FormScreen)     # back on the call
    m, fx = run(m, ev.CallMeasured("c1", "echo", FIGURES))
    assert fx == (CcQualityReport("echo", FIGURES, "c1"),)
    m, _ = run(m, ev.CcAcked("quality_report"))
    assert m.active_notice() == callreport.SENT


def test_a_report_after_the_call_is_of_the_last_call_and_without_figures_says_so():
    m, _ = run(on_call(), ev.SipCallState("k1", "ended"))
    m, _ = more(m, "3")                                  # wrap-up: More -> Report call
    m, fx = press(m, "submit")
    assert fx == (MeasureCall("", "c1", "choppy"),)      # "": the last call that ended
    m, fx = run(m, ev.CallMeasured("c1", "choppy", None))
    assert fx == () and m.active_notice() == callreport.NO_FIGURES


# -- send logs -----------------------------------------------------------------------------------
def test_the_log_goes_up_part_by_part_with_its_progress():
    m, fx = logsend.start(agent())
    assert isinstance(fx[0], CollectLogs) and m.active_notice() == logsend.COLLECTING
    upload = fx[0].upload
    m, fx = run(m, ev.LogsCollected(upload, ("a" * 1024, "b" * 1024, "c" * 100)))
    assert fx == (CcLogUpload(upload, 1, 3, "a" * 1024),)
    assert m.active_notice() == "Sending logs 0%"
    m, fx = run(m, ev.CcAcked("log_upload", 1))
    assert fx == (CcLogUpload(upload, 2, 3, "b" * 1024),) and m.active_notice() == \
        "Sending logs 33%"
    m, fx = run(m, ev.CcAcked("log_upload", 1))          # a repeat moves nothing
    assert fx == ()
    m, fx = run(m, ev.CcAcked("log_upload", 2), ev.CcAcked("log_upload", 3))
    assert fx == (CcLogUpload(upload, 3, 3, "c" * 100),)
    assert m.log_upload is None and m.active_notice() == "Logs sent (3 KB)"


def test_one_upload_at_a_time_none_offline_and_a_refusal_ends_it():
    m, _ = logsend.start(agent())
    m2, fx = logsend.start(m)
    assert fx == () and m2.active_notice() == logsend.BUSY
    m, _ = run(m, ev.CcRefused("log_upload", "offline", "no server"))
    assert m.log_upload is None and m.active_notice() == "Logs not sent: no server"
    m, fx = logsend.start(agent(cc="down"))
    assert fx == () and m.active_notice() == logsend.NO_SERVER


def test_the_menu_reaches_help_the_last_call_and_the_logs():
    def picked(downs):
        return run(agent(), *keys("soft2", *["down"] * downs, "ok"))
    assert picked(8)[1] == (CcRequestHelp(""),)
    assert form(picked(9)[0]).title == callreport.TITLE
    assert isinstance(picked(10)[1][0], CollectLogs)


# -- pre-recorded messages -----------------------------------------------------------------------
MESSAGES = (ev.Code("hold_on", "Please hold"), ev.Code("privacy", "Privacy notice"))


def with_messages():
    m = on_call()
    return replace(m, agent=replace(m.agent, messages=MESSAGES))


def test_a_message_is_picked_and_played_to_the_customer_on_the_call():
    m, _ = more(with_messages(), "7")                    # More -> Message
    assert form(m).title == messages.TITLE
    m, fx = press(m, "right submit")
    assert fx == (CcPlayMessage("c1", "privacy"),) and m.active_notice() == "Playing " \
        "Privacy notice"
    m, _ = run(m, ev.CcRefused("play_message", "not_allowed", "contact c1 is held"))
    assert m.active_notice() == "contact c1 is held"


def test_no_message_list_without_messages_or_off_a_call():
    m, fx = more(on_call(), "7")
    assert fx == () and m.active_notice() == messages.NONE
    idle = replace(agent(), agent=replace(agent().agent, messages=MESSAGES))
    m, fx = messages.open_messages(idle)
    assert fx == () and m.active_notice() == messages.NO_CALL


# -- follow-ups ----------------------------------------------------------------------------------
def local(at):
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(at)).split()


def follow_up_form(m, at, note="Send the plan"):
    """The follow-up form (More -> Follow-up) filled for phone time ``at``."""
    opened, _ = more(m, "8")
    assert form(opened).title == followups.TITLE
    date, hhmm = local(at)
    return followups.open_follow_up(m, (date, hhmm, note))[0]


def test_a_follow_up_is_set_for_the_contact_by_the_servers_clock():
    m = on_call()
    m = replace(m, agent=replace(m.agent, skew=120.0))          # the server 2 min ahead
    at = (NOW // 60 + 60) * 60                                    # an hour on, on the minute
    m, fx = press(follow_up_form(m, at), "submit")
    assert fx == (CcScheduleFollowUp(at + 120.0, "Send the plan", "c1"),)
    assert m.active_notice().startswith("Follow-up set for ")


@pytest.mark.parametrize("minutes, why", [(-1, followups.IN_THE_PAST),
                                          (91 * 24 * 60, followups.TOO_FAR)])
def test_a_follow_up_in_the_past_or_too_far_ahead_stays_on_its_form(minutes, why):
    at = (NOW // 60 + minutes) * 60
    m, fx = press(follow_up_form(on_call(), at), "submit")
    assert fx == () and m.active_notice() == why
    assert form(m).title == followups.TITLE and form(m).value(2) == "Send the plan"


def test_a_follow_up_due_shows_until_ok_once_and_a_snapshot_brings_back_only_unseen_ones():
    due = ev.FollowUp("f-1", NOW, "Send Zoë the fibre plan", "c1", "+15551234567")
    m, _ = run(agent(), ev.CcFollowUp(due))
    assert isinstance(m.screen, FollowUpScreen) and "Send Zoë the fibre" in rows(m)[1]
    m, _ = run(m, ev.CcFollowUp(due))                            # said again: shown once
    assert sum(isinstance(s, FollowUpScreen) for s in m.screens) == 1
    m, fx = run(m, ev.Key("soft1"))                              # OK
    assert fx == (CcFollowUpDone("f-1"),) and not isinstance(m.screen, FollowUpScreen)
    snap = replace(snapshot(), follow_ups=(due, replace(due, id="f-2")))
    m, _ = run(m, snap)                 # the done was queued offline: f-1 stays seen
    assert m.follow_ups == (replace(due, id="f-2"),) and isinstance(m.screen, FollowUpScreen)


# -- voice applications --------------------------------------------------------------------------
APPS = (ev.VoiceApp("payment", "Card payment"),
        ev.VoiceApp("survey", "Survey", agent_stays=False),
        ev.VoiceApp("signature", "Voice signature", kind="signature"))


def test_the_customer_is_connected_to_an_application_and_its_result_is_said():
    m = on_call()
    m = replace(m, agent=replace(m.agent, voice_apps=APPS))
    m, _ = more(m, "9")                                  # More -> App
    assert form(m).title == voiceapps.TITLE
    m, fx = press(m, "left submit")                      # Card payment -> (wraps) signature
    assert fx == (CcConnectApp("c1", "signature"),)
    assert m.active_notice() == "Voice signature: the customer is in it"
    m, _ = run(m, ev.CcAppResult("c1", "signature", False, "No answer: signature not recorded"))
    assert m.active_notice() == "No answer: signature not recorded"


def test_an_application_the_agent_leaves_says_so_and_none_without_applications():
    m = on_call()
    m = replace(m, agent=replace(m.agent, voice_apps=APPS))
    m, _ = more(m, "9")
    m, fx = press(m, "right submit")
    assert fx == (CcConnectApp("c1", "survey"),)
    assert m.active_notice() == "Survey: you leave the call"
    m, fx = more(on_call(), "9")
    assert fx == () and m.active_notice() == voiceapps.NONE


# -- forwarding and voicemail --------------------------------------------------------------------
def forwarding_form(m=None, downs=13):
    """Menu -> Forwarding (the main menu's 14th item)."""
    m, _ = run(m or agent(), *keys("soft2", *["down"] * downs, "ok"))
    assert form(m).title == forwarding.TITLE
    return m


def test_forwarding_is_typed_sent_and_shown_at_home():
    m, fx = press(forwarding_form(), "5 5 5 0 1 2 3 submit")      # Always: 5550123
    assert fx == (CcSetForwarding(ev.Forwarding(always="5550123")),)
    m, _ = run(m, ev.CcForwarding(ev.Forwarding(always="5550123")), ev.Key("back"),
               ev.Tick(m.now + 10))
    assert "Fwd → 5550123" in rows(m)[2] and m.forwarding_sent is None


def test_forwarding_to_ones_own_number_and_a_bad_wait_are_said_on_the_form():
    m, fx = press(forwarding_form(), "1 0 0 1 submit")           # the agent's own extension
    assert fx == () and form(m).errors[0] == "Always: your own number"
    m, fx = press(forwarding_form(), "next next next back back 4 submit")     # After s: 4
    assert fx == () and form(m).errors[3] == "After s: 5-120 s"


def test_a_loop_the_server_finds_comes_back_on_the_form_with_what_was_typed():
    m, _ = press(forwarding_form(), "1 0 0 2 submit")
    m, _ = run(m, ev.CcRefused("set_forwarding", "bad_value", "always: loop",
                               fields=(("always", "loop"),)))
    assert form(m).errors[0] == "Always: forwards back to you" and form(m).value(0) == "1002"


def test_the_message_lamp_is_lit_while_voicemail_waits_and_the_menu_calls_the_box():
    snap = replace(snapshot(), voicemail_waiting=0, voicemail_number="8500")
    m, _ = run(agent(), snap, ev.CcVoicemail(2, 3))
    assert dict(render(m).leds)["mwi"] == "on" and m.active_notice() == "New voicemail (2)"
    m, _ = run(m, ev.Tick(m.now + 10))
    assert "2 voicemails" in rows(m)[2]
    m, fx = run(m, *keys("soft2", *["down"] * 12, "ok"))           # Menu -> Voicemail
    assert any(isinstance(e, CcDial) and e.number == "8500" for e in fx)
    m, _ = run(m, ev.CcVoicemail(0, 3))
    assert dict(render(m).leds)["mwi"] == "off"
