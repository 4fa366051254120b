"""Preview campaigns on the phone (firmware/core/campaigns.py): the preview popover and its
countdown, Call / Skip / Remove as the campaign allows, the call the phone dials when the server
sets the record dialing, a failed attempt's disposition, the Campaigns screen and a negotiated
logout's countdown."""
from dataclasses import replace

from firmware.core import events as ev
from firmware.core.calls import audio_route
from firmware.core.effects import (CcAccept, CcCallEvent, CcLogout, CcPlayMessage, CcPreview,
                                   CcReschedule, CcWrapUp, PlayTone, SipAnswer, SipDial)
from firmware.core.events import Campaign, CcSettings, Code, VariableLayout
from firmware.core.model import (CallScreen, CampaignsScreen, FormScreen, PreviewPopover,
                                 ReasonScreen)
from firmware.ui.view import render

from .test_agent_rules import NOW, contact, home, keys, run, snapshot

DISPOSITIONS = (Code("sale", "Sale"), Code("no_sale", "No sale"), Code("busy", "Busy"),
                Code("no_answer", "No answer"), Code("dnc", "Do not call"))
SPRING = Campaign("spring", "Spring sale", started=True, preview_s=30.0,
                  dispositions=DISPOSITIONS,
                  fields=(VariableLayout("account", "Account"),
                          VariableLayout("product", "Product")))
LOCKED = replace(SPRING, id="locked", name="Renewals", skip=False, remove=False, cancel=True)


def record(cid="c9", status="preview", campaign="spring", **kw):
    kw.setdefault("variables", (("account", "A-77"), ("product", "Fibre 500")))
    kw.setdefault("expires_at", NOW + 30)
    return contact(cid, status, queue="", ani="5550101", kind="campaign", campaign=campaign,
                   customer="Ana Ruiz", **kw)


def agent(*events, campaigns=(SPRING, LOCKED), **snap):
    m = run(home(), replace(snapshot(**snap), campaigns=campaigns))[0]
    return run(m, *events)


def rows(m):
    return [r.rstrip() for r in render(m).rows]


def test_a_previewed_record_shows_its_campaign_customer_countdown_and_fields():
    m, _ = agent(ev.CcContact(record()), ev.Tick(NOW + 5))
    assert isinstance(m.screen, PreviewPopover)
    shown = rows(m)
    assert shown[0].startswith("Spring sale") and shown[0].endswith("00:25")
    assert shown[1:3] == ["Ana Ruiz", "5550101"]
    assert "Call" in shown[3] and "Skip" in shown[3] and "Remov" in shown[3]
    m, _ = run(m, *keys("down", "down", "down"))      # the fields, a row at a time
    assert rows(m)[1:3] == ["Account: A-77", "Product: Fibre 500"]


def test_call_shows_calling_and_dials_only_once_the_server_sets_it_dialing():
    m, fx = agent(ev.CcContact(record()), ev.Key("soft1"))
    assert fx == (CcPreview("c9", "call"),)
    assert isinstance(m.screen, CallScreen) and rows(m)[0].startswith("Calling")
    assert not any(isinstance(s, PreviewPopover) for s in m.screens)
    m, fx = run(m, ev.CcContact(record(status="dialing")))
    call = m.calls[0]
    assert fx == (SipDial(call.id, "5550101", False, "c9"),)
    m, fx = run(m, ev.CcContact(record(status="dialing")))      # a repeat dials nothing
    assert fx == ()


def test_the_campaigns_action_at_the_countdown_dials_with_no_key_pressed():
    m, fx = agent(ev.CcContact(record()), ev.CcContact(record(status="dialing")))
    assert len(m.calls) == 1 and m.calls[0].contact == "c9"
    assert fx[-1] == SipDial(m.calls[0].id, "5550101", False, "c9")
    assert isinstance(m.screen, CallScreen)


def test_skip_and_remove_are_asked_and_the_record_leaves_when_the_server_says():
    m, fx = agent(ev.CcContact(record()), ev.Key("soft2"))
    assert fx == (CcPreview("c9", "skip"),)
    m, fx = run(m, ev.Key("soft4"))
    assert fx == (CcPreview("c9", "remove"),)
    m, _ = run(m, ev.CcContact(record(status="skipped")))
    assert m.contacts == () and not isinstance(m.screen, PreviewPopover)


def test_skip_and_remove_show_only_where_the_campaign_allows_them():
    m, _ = agent(ev.CcContact(record(campaign="locked")))
    assert "Skip" not in rows(m)[-1] and "Remov" not in rows(m)[-1]
    m, fx = run(m, ev.Key("soft2"), ev.Key("soft4"))
    assert fx == ()


def test_a_refused_call_drops_the_placed_call_and_the_preview_shows_again():
    m, _ = agent(ev.CcContact(record()), ev.Key("soft1"),
                 ev.CcRefused("preview", "not_allowed", "not in preview"))
    assert m.calls == () and isinstance(m.screen, PreviewPopover)
    assert m.active_notice() == "Not allowed now"


def test_offline_the_preview_is_not_answered_and_says_why():
    m, _ = agent(ev.CcContact(record()), ev.CcLink("down"), ev.Key("soft2"))
    assert m.active_notice() == "No server: only emergency calls"


def test_a_failed_attempt_is_wrapped_up_with_the_campaigns_dispositions():
    m, _ = agent(ev.CcContact(record()), ev.Key("soft1"), ev.CcContact(record(status="dialing")))
    call = m.calls[0]
    m, fx = run(m, ev.SipDialed(call.id, "k5"), ev.SipCallState("k5", "ended", "busy (486)"))
    assert CcCallEvent("c9", "ended", NOW, "customer", "busy (486)") in fx
    assert m.active_notice() == "Call failed: busy (486)"
    m, _ = run(m, ev.CcContact(record(status="wrapup", failed="busy (486)")), ev.Tick(NOW + 10))
    assert isinstance(m.screen, ReasonScreen) and m.screen.kind == "wrapup"
    shown = rows(m)
    assert shown[0].startswith("Disposition") and shown[1] == "→Sale"
    assert "Failed: busy (486)" in shown
    m, fx = run(m, *keys("down", "down", "ok"))
    assert fx == (CcWrapUp("c9", "busy"),)


def test_a_cancel_softkey_only_where_the_campaign_lets_a_call_end_before_it_connects():
    m, _ = agent(ev.CcContact(record()), ev.Key("soft1"))
    assert "End" not in rows(m)[-1] and "Cancl" not in rows(m)[-1]
    m, _ = agent(ev.CcContact(record(campaign="locked")), ev.Key("soft1"))
    assert "Cancl" in rows(m)[-1]


def test_the_campaigns_screen_lists_each_with_its_status_and_follows_the_server():
    m, _ = agent(ev.Key("soft2"), ev.Key("7"))
    assert isinstance(m.screen, CampaignsScreen)
    assert rows(m)[1].startswith("→Spring sale") and rows(m)[1].endswith("Started")
    assert rows(m)[2].startswith(" Renewals") and rows(m)[2].endswith("Started")
    m, _ = run(m, ev.CcCampaign(replace(LOCKED, started=False)))
    assert rows(m)[2].endswith("Stopped")
    m, _ = run(m, ev.CcCampaign(Campaign("winter", "Winter", dispositions=DISPOSITIONS)))
    assert len(m.agent.campaigns) == 3


def test_a_negotiated_logout_counts_down_on_the_status_line_then_says_done():
    m, fx = agent()
    m, fx = run(m, ev.Key("soft3"), *keys("ok"))
    assert fx == (CcLogout("break"),)
    m, _ = run(m, ev.CcAgentState("available", "", ("logged_out", "break"), NOW + 5))
    assert rows(m)[2] == "Logout in 5 s"
    m, _ = run(m, ev.Tick(NOW + 3.2))
    assert rows(m)[2] == "Logout in 2 s"
    m, _ = run(m, ev.CcLoggedOut("break"))
    assert m.agent is None and m.active_notice() == "Done: logged out"


def test_out_on_a_preview_asks_for_a_logout_and_the_state_menu_has_one_too():
    m, _ = agent(ev.CcContact(record()), ev.Key("soft3"))
    assert isinstance(m.screen, ReasonScreen) and m.screen.kind == "logout"
    m, fx = run(m, ev.Key("ok"))
    assert fx == (CcLogout("break"),)
    m, _ = agent(ev.Key("soft1"), ev.Key("3"))               # State -> Logout
    assert isinstance(m.screen, ReasonScreen) and m.screen.kind == "logout"
    m, fx = run(m, ev.Key("ok"))
    assert fx == (CcLogout("break"),) and not isinstance(m.screen, ReasonScreen)
    assert len(m.screens) == 1                               # the State menu closed too


# -- progressive and predictive: the dialer's customer offered like an inbound call -------------
def reached(cid="c20", auto=False):
    """A customer the dialer reached, offered to the agent, and its call arriving."""
    c = contact(cid, "offered", queue="campaign:spring", ani="5550102", kind="campaign",
                campaign="spring", customer="Tom Becker", auto_answer=auto,
                variables=(("account", "A-88"),))
    return [ev.CcContact(c), ev.SipIncoming("k20", cid, "sip:bridge@pbx", c.token)]


def headset_mode(*events, **kw):
    """The agent in headset mode (Menu -> Settings -> Headset mode), then ``events``."""
    m, _ = agent(ev.Key("soft2"), ev.Key("1"), ev.Key("8"), ev.Key("back"), ev.Key("back"),
                 **kw)
    assert m.settings.headset_mode
    return run(m, *events)


def test_a_reached_customer_shows_as_the_campaign_s_offer():
    m, _ = agent(*reached())
    assert rows(m)[0].startswith("Spring sale")
    assert rows(m)[1:3] == ["Tom Becker", "5550102"]


def test_an_auto_answer_offer_beeps_in_the_headset_then_is_answered_there():
    m, fx = headset_mode(*reached(auto=True))
    assert PlayTone("auto_answer", "headset", m.settings.headset_volume) in fx
    assert not m.ringer and not any(isinstance(f, SipAnswer) for f in fx)
    m, fx = run(m, ev.ToneFinished("auto_answer"))
    assert SipAnswer("k20") in fx and CcAccept("c20") in fx
    m, _ = run(m, ev.SipCallState("k20", "established"))
    assert audio_route(m) == "headset"


def test_without_headset_mode_an_auto_answer_offer_rings_unless_the_speaker_is_allowed():
    m, fx = agent(*reached(auto=True))
    assert m.ringer and not any(isinstance(f, PlayTone) and f.tone == "auto_answer" for f in fx)
    assert m.active_notice() == "Auto-answer needs the headset"
    m, fx = agent(*reached(auto=True), settings=CcSettings(auto_answer_speaker=True))
    assert PlayTone("auto_answer", "speaker", m.settings.speaker_volume) in fx


def test_an_offer_gone_during_the_beeps_is_not_answered():
    m, _ = headset_mode(*reached(auto=True))
    m, fx = run(m, ev.CcContact(contact("c20", "withdrawn")), ev.ToneFinished("auto_answer"))
    assert not any(isinstance(f, SipAnswer) for f in fx) and m.calls == ()


def test_an_offer_not_marked_auto_answer_always_rings():
    m, _ = headset_mode(*reached(auto=False))
    assert m.ringer


def test_headset_mode_lights_the_headset_led_and_takes_dialed_and_answered_calls():
    m, _ = headset_mode()
    assert dict(render(m).leds)["headset"] == "on"
    m, _ = run(m, *keys("5", "5", "5", "ok"))
    assert m.hands_free == "headset"


# -- on the record: alternate numbers, the script, a reschedule, its fields --------------------
SCRIPTED = replace(SPRING, script="Hello, this is Ada from Acme. We have a new offer on fibre "
                                  "for you.\nMay I tell you about it?",
                   fields=(VariableLayout("account", "Account"),
                           VariableLayout("product", "Product", editable=True)))


def on_call(*events):
    """Agent 1001 talking to Ana Ruiz, a record of the scripted campaign."""
    m, _ = agent(ev.CcContact(record()), ev.Key("soft1"), ev.CcContact(record(status="dialing")),
                 campaigns=(SCRIPTED,))
    call = m.calls[0]
    return run(m, ev.SipDialed(call.id, "k5"), ev.SipCallState("k5", "established"),
               ev.CcContact(record(status="assigned")), *events)


def test_left_and_right_pick_an_alternate_number_that_call_names():
    m, _ = agent(ev.CcContact(record(alternates=("5550188", "5550177"))), ev.Key("right"))
    assert rows(m)[2].startswith("5550188") and rows(m)[2].endswith("2/3")
    m, fx = run(m, ev.Key("soft1"))
    assert fx[-1] == CcPreview("c9", "call", "5550188")
    m, _ = agent(ev.CcContact(record(alternates=("5550188",))), ev.Key("left"), ev.Key("left"))
    m, fx = run(m, ev.Key("soft1"))
    assert fx[-1] == CcPreview("c9", "call")                # back round to its own


def test_more_on_a_campaign_call_opens_the_script_a_row_at_a_time():
    m, _ = on_call()
    assert "More" in rows(m)[-1]
    m, _ = run(m, ev.Key("soft4"), ev.Key("1"))               # More -> Script
    assert rows(m)[0].startswith("Script") and rows(m)[1] == "Hello, this is Ada"
    m, _ = run(m, ev.Key("down"))
    assert rows(m)[1] == "from Acme. We have a"


def test_reschedule_sends_the_date_and_time_and_a_refusal_reopens_it_with_the_rule():
    m, _ = on_call(ev.Key("soft4"), ev.Key("2"), *keys(*"20261203"), ev.Key("down"),
                   *keys(*"1030"))
    m, fx = run(m, ev.Key("soft1"))                           # Save
    assert fx == (CcReschedule("c9", "2026-12-03T10:30"),)
    m, _ = run(m, ev.CcRefused("reschedule", "bad_value", "After the campaign's end"))
    assert m.active_notice() == "After the campaign's end"
    assert isinstance(m.screen, FormScreen)                  # what the agent typed, kept
    assert (m.screen.form.value(0), m.screen.form.value(1)) == ("2026-12-03", "10:30")
    m, fx = run(m, ev.Key("soft1"))                           # the draft, sent again
    assert fx == (CcReschedule("c9", "2026-12-03T10:30"),)
    m, _ = run(m, ev.CcContact(record(status="assigned", rescheduled="2026-12-03T10:30")))
    assert m.active_notice() == "Call back 2026-12-03 10:30"


def test_the_record_s_fields_are_its_call_data_and_its_editable_ones_edit():
    m, _ = on_call(ev.Key("soft3"))                           # Vars
    shown = " ".join(rows(m))
    assert "Account: A-77" in shown and "Product" in shown
    m, _ = run(m, ev.Key("down"))
    assert "Edit" in rows(m)[-1]


def test_more_on_a_disposition_list_reaches_the_record_too():
    m, _ = on_call(ev.SipCallState("k5", "ended", "remote hangup"),
                   ev.CcContact(record(status="wrapup")), ev.Tick(NOW + 10))
    assert rows(m)[0].startswith("Disposition") and "More" in rows(m)[-1]
    m, _ = run(m, ev.Key("soft2"), ev.Key("2"))
    assert isinstance(m.screen, FormScreen)


def test_the_centre_s_call_limit_refuses_a_call_with_its_reason_and_the_preview_stays():
    m, _ = agent(ev.CcContact(record()), ev.Key("soft1"),
                 ev.CcRefused("preview", "call_limit", "call limit reached (2 calls)"))
    assert m.active_notice() == "Not dialed: call limit reached (2 calls)"
    assert m.calls == () and isinstance(m.screen, PreviewPopover)


# -- an answering machine -------------------------------------------------------------------------
WINTER = Campaign("winter", "Winter", mode="progressive", started=True, message=True,
                  dispositions=DISPOSITIONS)


def machine_on_the_line(machine=True, campaigns=(WINTER,)):
    c = contact("c30", "offered", queue="", ani="5550155", kind="campaign", campaign="winter",
                customer="Rosa Vidal", machine=machine)
    m, _ = agent(ev.CcContact(c), ev.SipIncoming("k30", "c30", "sip:bridge@pbx", c.token),
                 ev.Key("soft1"), ev.SipCallState("k30", "established"),
                 ev.CcContact(replace(c, status="assigned")), campaigns=campaigns)
    return m


def test_a_machine_on_the_line_says_so_and_msg_leaves_the_campaign_s_message():
    m = machine_on_the_line()
    assert rows(m)[0].startswith("Machine")
    assert "Msg" in rows(m)[-1]
    m, fx = run(m, ev.Key("soft3"))
    assert fx == (CcPlayMessage("c30"),) and m.active_notice() == "Leaving the message"
    m, _ = run(m, ev.CcRefused("play_message", "not_allowed", "the call is the phone's"))
    assert m.active_notice() == "the call is the phone's"


def test_no_msg_without_a_machine_or_without_a_message():
    assert "Msg" not in rows(machine_on_the_line(machine=False))[-1]
    quiet = replace(WINTER, message=False)
    m = machine_on_the_line(campaigns=(quiet,))
    assert rows(m)[0].startswith("Machine") and "Msg" not in rows(m)[-1]


def test_a_preview_that_times_out_while_a_disposition_is_typed_never_covers_it():
    # the wrap-up of c8 is being typed (T9 "725": "Sale", "No sale") when the server sends the
    # next record anyway; its countdown runs out (skipped) before the wrap-up is sent
    m, _ = agent(ev.CcContact(record("c8", status="wrapup", failed="no answer")),
                 ev.Tick(NOW + 1), *keys("7", "2", "5", "down"))
    typed = rows(m)
    assert typed[0].startswith("Disposition 725") and "→No sale" in typed
    m, _ = run(m, ev.CcContact(record()), ev.Tick(NOW + 31))
    assert isinstance(m.screen, ReasonScreen) and rows(m) == typed     # nothing covered it
    m, _ = run(m, ev.CcContact(record(status="skipped")), ev.Tick(NOW + 32))
    assert rows(m) == typed                                           # nothing lost either
    m, fx = run(m, ev.Key("ok"))
    assert fx == (CcWrapUp("c8", "no_sale"),)
    m, _ = run(m, ev.CcContact(record("c8", status="wrapped_up")),
               ev.CcContact(record("c10")), ev.Tick(NOW + 33))
    assert isinstance(m.screen, PreviewPopover) and m.screen.contact == "c10"
