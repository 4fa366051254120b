"""The agent's screens as the user sees them: frames rendered from models reached by real events."""
import time
from dataclasses import replace

import pytest

from firmware.core import events as ev
from firmware.core.events import CcSettings
from firmware.core.form import Field, Purpose
from firmware.core.forms import open_form
from firmware.core.model import Display, Links, Model
from firmware.ui.screens import BODIES
from firmware.ui.view import render

from . import test_agent_rules as rules
from .test_agent_rules import NOW, agent, contact, home, keys, offered, run, talking, wrapping_up
from .test_consult import BRIDGE, consult_offer, consulting
from .test_phonebook import DIRECTORY, FAVORITES

MASKED = CcSettings(mask_ani=True, accept_all=True, max_offers=3)
SECRETS = ("Card", "4111")          # the secure variable's label and value


def rows(m):
    return render(m).rows


def text(m):
    return "\n".join(rows(m))


def led(m, name="line"):
    return dict(render(m).leds)[name]


def three_offers(settings=MASKED):
    return agent(*offered("c1", "k1", offered_at=NOW - 3),
                 *offered("c2", "k2", offered_at=NOW - 2, ani="+15559876543"),
                 ev.CcContact(contact("c3", "offered", offered_at=NOW - 1)), settings=settings)


# -- home ----------------------------------------------------------------------------------------
def test_home_when_logged_in():
    clock = time.mktime((2026, 11, 22, 9, 41, 0, 0, 0, -1))
    r = rows(run(agent(), ev.Tick(clock))[0])
    assert r[0] == "Available      09:41"
    assert r[1] == "NET\x00 SIP\x00 CC\x00".ljust(20)
    assert r[2].startswith("Sun 22 Nov 2026")
    assert r[3] == "State Menu Out  Info"


@pytest.mark.parametrize("snap,shown", [
    (dict(state="idle", reason="lunch"), "Idle: Lunch"),
    (dict(state="idle", reason="login"), "Idle"),
    (dict(state="idle", reason="rona"), "Idle: RONA"),
    (dict(state="idle", reason="rejected"), "Idle: Rejected"),
    (dict(state="wrapup", contacts=[contact("c1", "wrapup", primary=False)]), "Wrap-up"),
    (dict(state="talking"), "Talking"),
])
def test_home_names_the_agent_state(snap, shown):
    assert rows(agent(**snap))[0][:15].rstrip() == shown


def test_logging_in_and_logged_out():
    m, _ = run(home(), ev.LoginFromConfig("1001", "4711"))
    assert rows(m)[0].startswith("Logging in...") and rows(m)[3] == "           Menu Info"
    m, _ = run(agent(), ev.CcLoggedOut("end of shift"))
    r = rows(m)
    assert r[0].startswith("Logged out") and r[3] == "Login      Menu Info"
    assert "Logged out: end of shift" in " ".join(x.strip() for x in r[1:3])


def test_a_notice_shows_on_the_third_row_until_it_expires():
    m, _ = run(agent(), ev.CcNotice("logout in 5 seconds"))
    assert rows(m)[2] == "logout in 5 seconds".ljust(20)
    m, _ = run(m, ev.Tick(NOW + 30))
    assert "logout in" not in text(m)


def test_a_long_notice_takes_two_rows():
    m, _ = run(agent(), ev.CcNotice("Campaign Winter started: you are assigned"))
    assert rows(m)[1:3] == ("Campaign Winter".ljust(20), "started: you are".ljust(20))


def test_a_sip_problem_stays_until_registered():
    m, _ = run(agent(), ev.SipRegistration("failed", "403 Forbidden"), ev.Tick(NOW + 60))
    assert rows(m)[2] == "SIP: 403 Forbidden".ljust(20)
    m, _ = run(m, ev.SipRegistration("registered"))
    assert "Forbidden" not in text(m)


def test_why_the_server_is_unreachable_shows_until_the_link_is_up():
    m, _ = run(agent(), ev.CcLink("down", "Server unreachable"), ev.CcLink("connecting"),
               ev.Tick(NOW + 60))
    assert m.links.cc == "connecting" and rows(m)[2] == "Server unreachable".ljust(20)
    m, _ = run(m, ev.CcLink("up"))
    assert "unreachable" not in text(m)


def test_the_pending_state_shows_when_the_home_screen_does():
    # wrap-up sent offline: the server still says wrap-up, with Idle Lunch to follow
    m = replace(wrapping_up(), links=Links(ip="10.0.0.5", sip="registered", cc="down"))
    m, _ = run(m, ev.Key("ok"), ev.CcAgentState("wrapup", "", ("idle", "lunch")),
               ev.Tick(NOW + 30))
    assert rows(m)[0].startswith("Wrap-up") and rows(m)[2] == "Next: Idle Lunch".ljust(20)


# -- login ---------------------------------------------------------------------------------------
def test_the_pin_is_never_shown():
    m, _ = run(home(), *keys("soft1", "1", "0", "0", "1", "ok", "4", "7", "1", "1"))
    r = rows(m)
    assert r[1].strip() == "Agent ID 1001" and "****" in r[2] and "4711" not in text(m)
    assert r[3] == "Login           Del "


def test_a_refused_login_says_why():
    m, _ = run(home(), *keys("soft1", "1", "0", "0", "1", "ok", "9", "ok"),
               ev.CcRefused("hello", "auth_failed", "unknown agent or wrong PIN"))
    assert " ".join(r.strip() for r in rows(m)[:2]) == "Wrong agent ID or PIN"
    m, _ = run(m, ev.Key("back"), ev.Key("back"))                    # back to the agent id
    assert "Agent ID 100" in text(m)


# -- popovers ------------------------------------------------------------------------------------
def test_the_offer_popover():
    r = rows(three_offers())
    assert r[0] == "Call 1 of 3    00:03"
    assert r[1] == "*******4567 Sales".ljust(20)                 # only the last 4 digits
    assert r[2] == "Account: 88-1203".ljust(20)
    assert r[3] == "Accpt All Vars Rejct"


def test_reject_shows_the_next_offer_then_home_with_the_state_the_server_set():
    m, _ = run(three_offers(), ev.Key("soft4"))
    assert rows(m)[0].startswith("Call 1 of 2") and "6543" in rows(m)[1]
    m, _ = run(m, ev.Key("soft4"), ev.Key("soft4"))
    assert not rows(m)[0].startswith("Call") and rows(m)[3] == "State Menu Out  Info"   # home
    m, _ = run(m, *(ev.CcContact(contact(c, "rona", token="")) for c in ("c1", "c2", "c3")),
               ev.CcAgentState("idle", "rejected"))
    assert rows(m)[0].startswith("Idle: Rejected") and "Missed" not in text(m)
    assert led(m) == "off"


def test_offers_page_with_left_and_right():
    m, _ = run(three_offers(), ev.Key("right"))
    assert rows(m)[0].startswith("Call 2 of 3") and "6543" in rows(m)[1]
    m, _ = run(m, ev.Key("right"), ev.Key("right"))
    assert rows(m)[0].startswith("Call 1 of 3")


def test_more_than_five_offers_show_as_1_5_of_total_and_page_within_the_five():
    m = agent(*(ev.CcContact(contact(f"c{i}", "offered", offered_at=NOW - 10 + i,
                                     ani=f"+1555000000{i}")) for i in range(7)),
              settings=MASKED)
    assert rows(m)[0] == "1 (1-5 of 7)   00:10"
    seen = []
    for _ in range(5):
        m, _ = run(m, ev.Key("right"))
        seen.append(rows(m)[0].split()[0] + " " + rows(m)[1][7:11])
    assert seen == ["2 0001", "3 0002", "4 0003", "5 0004", "1 0000"]    # the 6th waits
    m, _ = run(m, ev.CcContact(contact("c0", "withdrawn")))
    assert rows(m)[0].startswith("1 (1-5 of 6)") and rows(m)[1].startswith("*******0001")


def test_the_caller_shows_in_full_without_masking():
    assert "+15551234567" in rows(three_offers(CcSettings()))[1]


def test_all_only_with_accept_all_and_several_offers():
    assert "All" not in rows(three_offers(CcSettings(accept_all=False)))[3]
    assert "All" not in rows(agent(*offered(), settings=MASKED))[3]


def test_a_secure_variable_never_reaches_the_display():
    m = three_offers()
    frames = [text(m)]
    for _ in range(4):                                       # scroll through the popover
        m, _ = run(m, ev.Key("down"))
        frames.append(text(m))
    assert "Topic: Billing" in frames[-1]
    m, _ = run(m, ev.Key("soft3"))                           # the variables view
    frames += [text(m), text(run(m, ev.Key("down"))[0])]
    for frame in frames:
        assert not any(secret in frame for secret in SECRETS), frame
    # during the call, the call data lists it by its label with **** (Show fetches it): its
    # value never reaches a row on its own
    m, _ = run(agent(*talking(), settings=MASKED), ev.Key("soft3"))
    call_frames = [text(m), text(run(m, ev.Key("down"))[0])]
    assert any("Card: ****" in frame for frame in call_frames), call_frames
    assert not any("4111" in frame for frame in call_frames), call_frames


def test_the_connecting_popover():
    r = rows(agent(ev.CcContact(contact("c1", "reserved", queue="Support"))))
    assert r[0].strip() == "Connecting..." and r[1].strip() == "Support"


def test_the_missed_call_popover():
    r = rows(agent(*offered(), ev.CcContact(contact("c1", "rona"))))
    assert [x.strip() for x in r] == ["Missed call", "You are now Idle", "", "Avail Idle"]


# -- the call ------------------------------------------------------------------------------------
def test_talking_then_held_with_timers():
    m = agent(*talking(), ev.CcAgentState("talking", "", ("idle", "lunch")), settings=MASKED)
    m, _ = run(m, ev.Tick(NOW + 83))
    r = rows(m)
    assert r[0].startswith("Talking 01:23")
    assert r[1].startswith("*******4567 Sales")
    assert r[2] == "Next: Idle Lunch".ljust(20)
    assert r[3] == " Hold End  Vars More"
    m, _ = run(m, ev.SipCallState("k1", "held"), ev.Tick(NOW + 95))
    assert rows(m)[0].startswith("Held 00:12") and rows(m)[3].startswith("Resum")


def test_a_muted_call_says_so_and_held_still_says_held():
    m = agent(*talking(), ev.Key("mute"), ev.Tick(NOW + 7))
    assert rows(m)[0].startswith("Muted 00:07")
    m, _ = run(m, ev.SipCallState("k1", "held"))
    assert rows(m)[0].startswith("Held 00:00")
    m, _ = run(m, ev.SipCallState("k1", "resumed"), ev.Key("mute"))
    assert rows(m)[0].startswith("Talking")


def test_keys_sent_in_a_call_show_as_a_count_and_dots_never_the_digits():
    card = "4111111111111111#"                                  # a card number to a payment line
    m = agent(*talking())
    for i, k in enumerate(card, 1):
        m, _ = run(m, ev.Key(k))
        frame = rows(m)
        assert frame[2].rstrip() == f"Sent {i} " + "･" * min(i, 20 - len(f"Sent {i} "))
        assert "#" not in "".join(frame) and "4111" not in "".join(frame)
    assert rows(m)[2] == "Sent 17 ････････････"
    assert card[:-1] not in repr(m) and "4111" not in repr(m)    # not even kept in the model
    m = agent(*talking(), ev.Key("*"))
    assert rows(m)[2].rstrip() == "Sent 1 ･"


def test_ending_a_held_call_explains_why_not():
    m, _ = run(agent(*talking()), ev.SipCallState("k1", "held"), ev.Key("soft2"))
    assert " ".join(r.strip() for r in rows(m)[:2]) == "Resume the call to end it"


def test_a_plain_call_shows_who_calls():
    m = agent(ev.SipIncoming("k9", "", "sip:1002@pbx.example.com"))
    r = rows(m)
    assert r[0].startswith("Ringing 00:00") and r[1].strip() == "1002"
    assert r[3].startswith("Answr")


def test_two_calls_are_numbered():
    m = agent(*talking(), *talking("c2", "k2"))
    assert rows(m)[0].endswith("2/2")
    m, _ = run(m, ev.Key("left"))
    assert rows(m)[0].endswith("1/2")


@pytest.mark.parametrize("events,line", [
    ([], "off"),
    (offered(), "blink"),
    (talking(), "on"),
    ([ev.Hook(True)], "on"),
    ([*talking(), ev.SipIncoming("k2", "", "sip:1002@pbx")], "blink"),
])
def test_the_line_led(events, line):
    assert led(agent(*events)) == line


# -- lists ---------------------------------------------------------------------------------------
def test_a_long_reason_list_scrolls():
    m = agent(*keys("soft1", "2", *["down"] * 11))
    r = rows(m)
    assert r[0] == "Idle reason   12/120"
    assert r[1] == "→Other 6".ljust(20) and r[2] == " Other 7".ljust(20)


def test_t9_search_shows_the_query_and_the_matches():
    m = agent(*keys("soft1", "2", "5"))
    r = rows(m)
    assert r[0] == "Idle reason 5   1/12"            # Lunch, Other 5, Other 50-59
    assert r[1] == "→Lunch".ljust(20)
    m, _ = run(m, *keys("8", "6"))
    assert rows(m)[0] == "Idle reason 586  1/1"
    m, _ = run(m, ev.Key("9"))
    assert rows(m)[0].endswith("0/0") and rows(m)[1].strip() == "No match"


def test_the_wrapup_search_waits_for_three_keys():
    r = rows(wrapping_up())
    assert r[0] == "Wrap-up         1/44" and r[2].strip() == "Type 3+ to search"
    r = rows(wrapping_up("22"))
    assert r[0] == "Wrap-up 22      1/44" and r[2].strip() == "Type 3+ to search"
    r = rows(wrapping_up("225"))
    assert r[0] == "Wrap-up 225      1/1" and r[1] == "→Callback requested".ljust(20)


def test_the_wrapup_notice_after_sending():
    m, _ = run(wrapping_up(), ev.Key("ok"))
    assert rows(m)[2] == "Wrap-up sent".ljust(20)


def test_the_notice_after_a_wrapup_never_covers_the_next_offers_header(display):
    """Defect: the next offer popped up with "Wrap-up sent" over its "Call 1 of 1" header."""
    m, _ = run(wrapping_up(), ev.Key("ok"))
    m, _ = run(m, *offered("c2", "k2", offered_at=NOW - 3))
    r = rows(m)
    assert r[0] == "Call 1 of 1".ljust(display.cols - 6) + " 00:03"
    assert r[1].startswith("+15551234567 Sales")                 # the caller stays too
    assert r[display.rows - 2] == "Wrap-up sent".ljust(display.cols)   # above the softkeys
    assert r[display.rows - 1].strip().startswith("Acc")
    m, _ = run(m, ev.Tick(NOW + 30))                             # the notice over: a variable
    assert "Wrap-up sent" not in text(m) and "Account: 88-1203" in text(m)


@pytest.mark.parametrize("popover", ["connecting", "rona"])
def test_a_notice_on_the_other_popovers_keeps_their_header(display, popover):
    m, _ = run(wrapping_up(), ev.Key("ok"))
    if popover == "connecting":
        m, _ = run(m, ev.CcContact(contact("c2", "reserved", queue="Support")))
        header = "Connecting..."
    else:
        m, _ = run(m, *offered("c2", "k2"), ev.CcContact(contact("c2", "rona")))
        header = "Missed call"
    r = rows(m)
    assert r[0].rstrip() == header and r[display.rows - 2].rstrip() == "Wrap-up sent"


# -- every screen on the smallest display and a larger one ---------------------------------------
DISPLAYS = [Display(20, 4), Display(40, 4)]


@pytest.fixture(params=DISPLAYS, ids=lambda d: f"{d.cols}x{d.rows}")
def display(request, monkeypatch):
    """The agent's models built for this display (the board's [lcd] size)."""
    monkeypatch.setattr(rules, "INFO", replace(rules.INFO, display=request.param))
    return request.param


# each screen: how the agent gets there, and what must show on it whole ("a|b": either; a wider
# softkey shows the whole word)
SCREENS = {
    "boot": (lambda: Model(info=rules.INFO, now=NOW), ["hardphone 1.2.3", "Starting..."]),
    "home logged out": (home, ["Logged out", "NET", "Login", "Menu", "Info"]),
    "home": (agent, ["Available", "State", "Menu", "Out", "Info"]),
    "login": (lambda: run(home(), *keys("soft1", "1", "0", "0", "1", "ok", "4"))[0],
              ["Agent login", "Agent ID 1001", "PIN      *_", "Login", "Del"]),
    "login refused": (lambda: run(home(), *keys("soft1", "1", "ok", "9", "ok"),
                                  ev.CcRefused("hello", "auth_failed", "wrong PIN"))[0],
                      ["Wrong agent ID or", "→PIN"]),
    "menu": (lambda: agent(ev.Key("soft2")), ["Menu", "→Settings", "Open", "Back"]),
    "adjust": (lambda: run(home(), *keys("ok", "1", "1"))[0],
               ["Ringer volume", "██████", " 6/10", "Save", "Back"]),
    "choice": (lambda: run(home(), *keys("ok", "1", "6"))[0],
               ["Backlight", "2/3", "→Auto off 30s", " Off", "Set", "Back"]),
    "noise removal": (lambda: run(home(), *keys("ok", "1", "7"))[0],
                      ["Noise removal", "1/3", "→Handset", "Off", " Headset", "On", "Back"]),
    "about": (lambda: agent(ev.Key("soft4")), ["hardphone 1.2.3", "Board sim  Slot a", "Back"]),
    "idle reasons": (lambda: agent(*keys("soft1", "2")),
                     ["Idle reason", "1/120", "→Break", "OK", "Back"]),
    "idle reasons T9": (lambda: agent(*keys("soft1", "2", "5", "8", "6")),
                        ["Idle reason 586", "1/1", "→Lunch", "Del"]),
    "wrap-up": (wrapping_up, ["Wrap-up", "1/44", "→Sale", "Type 3+ to search", "State"]),
    "connecting": (lambda: agent(ev.CcContact(contact("c1", "reserved", queue="Support"))),
                   ["Connecting...", "Support"]),
    "offer": (lambda: three_offers(), ["Call 1 of 3", "00:03", "*******4567 Sales",
                                       "Account: 88-1203", "Accpt|Accept", "All", "Vars"]),
    "missed call": (lambda: agent(*offered(), ev.CcContact(contact("c1", "rona"))),
                    ["Missed call", "You are now Idle", "Avail|Available", "Idle"]),
    "call": (lambda: agent(*talking(), ev.CcAgentState("talking", "", ("idle", "lunch")),
                           ev.Tick(NOW + 83), settings=MASKED),
             ["Talking 01:23", "*******4567 Sales", "Next: Idle Lunch", "Hold", "End", "Vars",
              "More"]),
    "held call": (lambda: agent(*talking(), ev.SipCallState("k1", "held")),
                  ["Held 00:00", "+15551234567 Sales", "Resum|Resume", "End"]),
    "keys sent": (lambda: agent(*talking(), *keys("4", "1", "1", "1")), ["Sent 4 ････"]),
    "plain call": (lambda: agent(ev.SipIncoming("k9", "", "sip:1002@pbx.example.com")),
                   ["Ringing 00:00", "1002", "Answr|Answer"]),
    "offer data": (lambda: agent(*offered(), ev.Key("soft3")),
                   ["Call data", "+15551234567 Sales", "Account: 88-1203", "Back"]),
    "call data": (lambda: agent(*talking(), ev.Key("soft3")),
                  ["Call data", "1/3", "→Account: 88-1203", "Card: ****", "Back"]),
    "dial": (lambda: run(home(), *keys("5", "5", "5", "0", "1"))[0],
             ["Dial", "55501_", "Emergency: 911 112", "Dial", "Del"]),
    "calling": (lambda: agent(*keys("5", "5", "5", "ok")),
                ["Calling 00:00", "555", "End"]),
    "emergency": (lambda: run(home(), *keys("9", "1", "1"))[0],
                  ["Calling 00:00", "EMERGENCY 911", "End"]),
    "tasks": (lambda: agent(*talking(), ev.Key("ok")),
              ["Tasks", "1/1", "Talk +15551234567|Talking +15551234567", "Go", "Back"]),
    "history": (lambda: agent(*keys("5", "5", "5", "ok"), ev.CcRefused("dial", "x", "no"),
                              *keys("soft2", "3"), ev.Tick(NOW + 10)),
                ["Call history", "1/1", "Out 555", "Dial", "Back"]),
    "form": (lambda: open_form(agent(), Purpose(), "Callback",
                               [Field("note", "Note"), Field("when", "When")]),
             ["Note", "1/2"]),
    "directory loading": (lambda: agent(*keys("5", "soft2")), ["Directory", "Loading...", "Back"]),
    "directory": (lambda: agent(*keys("5", "soft2"), ev.CcDirectory(DIRECTORY)),
                  ["Directory", "1/6", "→Ana Diaz", "Avail", " Ben Okafor", "Off", "Dial",
                   "Fav+", "Back"]),
    "directory search": (lambda: agent(*keys("5", "soft2"), ev.CcDirectory(DIRECTORY),
                                       *keys("2", "3", "6")),
                         ["Directory 236", "1/1", "→Ben Okafor", "Del"]),
    "favorites": (lambda: agent(ev.CcFavorites(FAVORITES), *keys("5", "soft3")),
                  ["Favorites", "1/3", "→Ben Okafor", " Head office", "Dial", "Add", "Del",
                   "Back"]),
    "favorite delete": (lambda: agent(ev.CcFavorites(FAVORITES), *keys("5", "soft3", "soft3")),
                        ["Favorites", "Delete Ben Okafor?", "Yes", "No"]),
    "consult dial": (lambda: agent(*talking(), *keys("xfer", "5", "5", "5")),
                     ["Consult", "555_", "Cnslt|Consult", "Dir", "Blind", "Del"]),
    "consult directory": (lambda: agent(*talking(), *keys("xfer", "soft2"),
                                        ev.CcDirectory(DIRECTORY)),
                          ["Consult", "1/6", "→Ana Diaz", "Cnslt|Consult", "Blind", "Back"]),
    "consult leg": (lambda: run(consulting("talking"), ev.Tick(NOW + 5))[0],
                    ["Talking 00:05", "2/2", "Consulting Ben Okaf", "Hold", "Exit",
                     "Xfer|Transfer", "Swap"]),
    "consult held customer": (lambda: run(consulting(), ev.Key("left"))[0],
                              ["Held 00:00", "1/2", "+15551234567 Sales", "Resum|Resume",
                               "End", "Vars", "Swap"]),
    "consult tasks": (lambda: run(consulting(), ev.Key("left"), ev.Key("ok"))[0],
                      ["Tasks", "1/2", "Held +15551234567",
                       "Cons Ben Okafor|Consulting Ben Okafor"]),
    "consult popover": (lambda: agent(consult_offer()),
                        ["Consult", "00:03", "From: Ada Byron", "Accpt|Accept", "Vars",
                         "Rejct|Reject"]),
    "consulted call": (lambda: agent(consult_offer(), ev.SipIncoming("k1", "c1", BRIDGE,
                                                                     rules.token("c1")),
                                     ev.Key("soft1"), ev.SipCallState("k1", "established")),
                       ["Talking 00:00", "From: Ada Byron", "Hold", "Exit", "Vars"]),
    "conference call": (lambda: in_conference(),
                        ["Conference 3", "00:05", "Hold", "End", "Who", "Vars"]),
    "who is on the conference": (lambda: run(in_conference(), ev.Key("soft3"))[0],
                                 ["On the call", "3", "+15551234567|+1555", "*Ada Byron"]),
    "campaign preview": (lambda: campaign_agent(ev.CcContact(campaign_record())),
                         ["Spring sale", "00:30", "Ana Ruiz", "5550101", "Call", "Skip",
                          "Out", "Remov|Remove"]),
    "campaign script": (lambda: campaign_script(),
                        ["Script", "1/", "Hello, this is Ada", "Back"]),
    "campaigns": (lambda: campaign_agent(*keys("soft2", "7")),
                  ["Campaigns", "1/2", "→Spring sale", "Started", " Renewals", "Back"]),
    "callbacks": (lambda: callbacks_listed(),
                  ["Callbacks", "1/2", "→12-03 10:00 Zoë Ærø", " 12-04 09:00 Ben", "New",
                   "Edit", "Del", "Back"]),
    "callback offer": (lambda: callback_offered(),
                       ["Callback", "00:03", "Zoë Ærø", "+15550100 Sales", "Accpt|Accept"]),
    "follow-up due": (lambda: run(agent(), ev.CcFollowUp(ev.FollowUp(
        "f-1", NOW, "Send Zoë the fibre plan", "c1", "+15551234567")))[0],
        ["Follow-up", time.strftime("%H:%M", time.localtime(NOW)), "Send Zoë the fibre",
         "OK"]),
}


def callbacks_listed():
    from .test_callbacks import listed
    return listed()


def callback_offered():
    from .test_callbacks import offered_callback
    return offered_callback()


def campaign_agent(*events):
    from .test_campaigns import agent as in_campaigns
    return in_campaigns(*events)[0]


def campaign_script():
    from .test_campaigns import on_call
    return on_call(ev.Key("soft4"), ev.Key("1"))[0]


def campaign_record():
    from .test_campaigns import record
    return record()


def in_conference():
    from .test_conference import conference_in
    return conference_in()


@pytest.mark.parametrize("name", SCREENS)
def test_every_screen_fills_the_display_and_cuts_nothing_that_fits(display, name):
    build, shown = SCREENS[name]
    frame = rows(build())
    assert len(frame) == display.rows and all(len(r) == display.cols for r in frame), frame
    for words in shown:
        assert any(any(w in r for r in frame) for w in words.split("|")), (words, frame)


def test_every_screen_is_laid_out_on_every_display():
    """A new screen gets an entry in SCREENS, so that it is tried on 20x4 and 40x4."""
    tried = {type(build().screen) for build, _ in SCREENS.values()}
    missing = sorted(t.__name__ for t in set(BODIES) - tried)
    assert not missing, f"screens not tried on every display: {missing}"


def variables_shown(m) -> int:
    return sum(r.count(": ") for r in rows(m)[1:-1])


def test_a_wider_offer_shows_more_variables(monkeypatch):
    shown = {}
    for d in DISPLAYS:
        monkeypatch.setattr(rules, "INFO", replace(rules.INFO, display=d))
        shown[d.cols] = variables_shown(three_offers())
    assert shown == {20: 1, 40: 2}          # Account; Account and Topic (Card is secure)
    m = three_offers()
    assert "Topic: Billing" in text(m) and not any(s in text(m) for s in SECRETS)
    assert rows(m)[3] == "  Accept      All      Vars     Reject  "   # whole words on wide keys
    m, _ = run(m, ev.Key("down"))          # everything in view: nothing to scroll
    assert variables_shown(m) == 2 and rows(m)[1].startswith("*******4567 Sales")


def test_the_offer_scrolls_a_row_at_a_time_on_a_wide_display(monkeypatch):
    layout = tuple(rules.VariableLayout(f"v{i}", f"Var {i}") for i in range(7))
    variables = tuple((f"v{i}", f"value {i}") for i in range(7))
    monkeypatch.setattr(rules, "INFO", replace(rules.INFO, display=Display(40, 4)))
    m = agent(ev.CcContact(contact("c1", "offered", variables=variables)))
    m = replace(m, agent=replace(m.agent, layout=layout))
    first = rows(m)
    assert first[1].split("  ")[0].startswith("+15551234567") and "Var 0: value 0" in first[1]
    assert "Var 1: value 1" in first[2] and "Var 2: value 2" in first[2]
    seen = [rows(m)]
    for _ in range(5):
        m, _ = run(m, ev.Key("down"))
        seen.append(rows(m))
    assert "Var 1: value 1" in seen[1][1] and "Var 3: value 3" in seen[1][2]    # a row up
    assert "Var 5: value 5" in seen[-1][2] and "Var 6: value 6" in seen[-1][2]  # the last row
    assert seen[-1] == seen[-2]                                                 # and no further


def test_a_wide_call_screen_shows_the_first_variable_beside_the_caller(monkeypatch):
    monkeypatch.setattr(rules, "INFO", replace(rules.INFO, display=Display(40, 4)))
    r = rows(agent(*talking(), settings=MASKED))
    assert r[1] == "*******4567 Sales".ljust(20) + "Account: 88-1203".ljust(20)
    assert r[3] == "   Hold       End      Vars      More   "


def test_a_wide_home_screen_has_the_date_beside_the_links(monkeypatch):
    monkeypatch.setattr(rules, "INFO", replace(rules.INFO, display=Display(40, 4)))
    clock = time.mktime((2026, 11, 22, 9, 41, 0, 0, 0, -1))
    r = rows(run(agent(), ev.Tick(clock), ev.Hook(True), ev.Key("back"))[0])
    assert r[0] == "Available".ljust(34) + " 09:41"
    assert r[1] == "NET\x00 SIP\x00 CC\x00".ljust(25) + "Sun 22 Nov 2026"
    assert r[2] == "\x02 Handset lifted".ljust(40)


# -- every frame fits ----------------------------------------------------------------------------
def test_a_whole_shift_renders_whole_frames(display):
    m = home()
    script = [*keys("soft1", "1", "0", "0", "1", "ok", "4", "7", "ok"),
              ev.CcLink("up"), ev.CcSnapshot("1001", "Ada", "Sales", "sip:1001@pbx", "idle",
                                             "login", settings=MASKED),
              *keys("soft1", "1"), ev.CcContact(contact("c1", "reserved")), *offered(),
              ev.Key("down"), ev.Hook(True), ev.SipCallState("k1", "established"),
              ev.Tick(NOW + 5), ev.Key("hold"), ev.SipCallState("k1", "held"), ev.Key("soft2"),
              ev.Key("hold"), ev.SipCallState("k1", "resumed"), ev.Hook(False),
              ev.SipCallState("k1", "ended"), *keys("2", "2", "5", "ok"), ev.Tick(NOW + 60),
              *keys("soft3", "ok")]
    for e in script:
        m, _ = run(m, e)
        frame = render(m).rows
        assert len(frame) == display.rows and all(len(r) == display.cols for r in frame), (e, frame)


@pytest.mark.parametrize("board, cols, row", [
    ("rpi4", 20, "Board rpi4  Slot a"),
    ("sim-room", 20, "sim-room  Slot a"),              # the label goes first
    ("sim-frontpanel", 20, "sim-frontpa~  Slot a"),    # then the name's end, never the slot
    ("sim-frontpanel", 40, "Board sim-frontpanel  Slot a"),
])
def test_about_keeps_the_slot_whatever_the_board_s_name(board, cols, row):
    from firmware.ui.screens.settings import board_and_slot
    assert board_and_slot(board, "a", cols) == row and len(row) <= cols
