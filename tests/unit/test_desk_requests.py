"""An agent's requests to the centre beyond the call (firmware/core/notes.py, helprequest.py,
callreport.py, logsend.py): a note typed during the call goes out with the wrap-up (queued with
it offline, never over the server's limit); help asked for shows until answered or cancelled;
a call report carries the call's figures; the log goes up part by part with its progress."""
from dataclasses import replace

from firmware.core import callreport, helprequest, logsend, notes
from firmware.core import events as ev
from firmware.core.effects import (CcCancelHelp, CcLogUpload, CcQualityReport, CcRequestHelp,
                                   CcWrapUp, CollectLogs, MeasureCall)
from firmware.core.events import CcSettings
from firmware.core.model import FormScreen, Links, MenuScreen, ReasonScreen
from firmware.ui.view import render

from .test_agent_rules import agent, keys, run, talking
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
