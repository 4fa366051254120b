"""The directory and the favorites: the rules (table-driven, from models reached by real events),
their screens on 20x4 and 40x4, and the phone's side of the protocol (firmware/cc/client.py)."""
import json
from dataclasses import replace

import pytest

from firmware.cc import client as c
from firmware.cc import protocol as p
from firmware.core import directory
from firmware.core import events as ev
from firmware.core.effects import CcDial, CcFavoriteAdd, CcFavoriteRemove, CcGetDirectory
from firmware.core.events import CcSettings
from firmware.core.menus import MENUS
from firmware.core.model import (CallScreen, DialScreen, DirectoryScreen, Display,
                                 FavoritesScreen, IdleScreen, Links)
from firmware.ui.view import render

from . import test_agent_rules as rules
from .test_agent_rules import NOW, agent, case, check, home, keys, run

Entry, Fav = ev.DirectoryEntry, ev.Favorite
DIRECTORY = (Entry("agent", "1001", "Ana Diaz", "1001", "available"),
             Entry("agent", "1002", "Ben Okafor", "1002", "logged_out"),
             Entry("queue", "sales", "sales", "8001"),
             Entry("queue", "support", "support"),              # no dial number
             Entry("entry_point", "Main line", "Main line", "8000"),
             Entry("number", "Head office", "Head office", "5550100"))
BEN = Fav("agent", "1002", "1002", "Ben Okafor")
TYPED = Fav("number", "5551234567")                              # a customer's, maybe
FAVORITES = (BEN, Fav("number", "5550100", "Head office", "Head office"), TYPED)


def from_menu(label):
    """The keys that open ``label`` from the main menu (the lead may reorder it)."""
    at = [item.label for item in MENUS["main"][1]].index(label)
    return [ev.Key("ok"), *[ev.Key("down")] * at, ev.Key("ok")]


def directory_shown(*more, **snap):
    """The directory opened from the dial screen, the server's answer in."""
    return agent(*keys("5", "soft2"), ev.CcDirectory(DIRECTORY), *more, **snap)


def favorites_shown(*more, typed="55", **snap):
    """The favorites opened from the dial screen with ``typed`` on it."""
    return agent(ev.CcFavorites(FAVORITES), *keys(*typed, "soft3"), *more, **snap)


def rows(m):
    return render(m).rows


def text(m):
    return "\n".join(rows(m))


# -- the directory --------------------------------------------------------------------------------
DIRECTORY_CASES = {
    "Dir on the dial screen asks the server and shows Loading": case(
        agent(), keys("5", "soft2"), top=DirectoryScreen(asked_at=NOW, waiting=True),
        effects=(CcGetDirectory(),)),
    "the main menu opens it too": case(
        agent(), from_menu("Directory"),
        top=DirectoryScreen(asked_at=NOW, waiting=True), effects=(CcGetDirectory(),)),
    "the answer fills the list": case(
        agent(*keys("5", "soft2")), ev.CcDirectory(DIRECTORY),
        top=DirectoryScreen(asked_at=NOW, entries=DIRECTORY)),
    "offline it says so and asks nothing": case(
        agent(cc="down"), keys("5", "soft2"),
        top=DirectoryScreen(error="No server: directory unavailable"), effects=()),
    "logged out it says so": case(
        home(), keys("5", "soft2"), top=DirectoryScreen(error="Log in to see the directory"),
        effects=()),
    "a refused look-up says why instead of Loading": case(
        agent(*keys("5", "soft2")),
        ev.CcRefused("directory", "offline", "No server: directory unavailable"),
        top=DirectoryScreen(asked_at=NOW, error="No server: directory unavailable")),
    "T9 digits search names (236: Ben)": case(
        directory_shown(), keys("2", "3", "6"),
        top=DirectoryScreen(asked_at=NOW, entries=DIRECTORY, query="236")),
    "up wraps to the last entry": case(
        directory_shown(), ev.Key("up"),
        top=DirectoryScreen(asked_at=NOW, entries=DIRECTORY, cursor=5)),
    "back deletes a search digit, then leaves to the dial screen": case(
        directory_shown(*keys("2")), keys("back", "back"), screens=(IdleScreen, DialScreen)),
    "ok dials the entry's number; the dial screen and the directory close": case(
        directory_shown(*keys("2", "3", "6")), ev.Key("ok"), effects=(CcDial("dial-1", "1002"),),
        screens=(IdleScreen, CallScreen), calls=(("dial-1", "calling"),)),
    "from the menu, the menu closes as well": case(
        agent(*from_menu("Directory"), ev.CcDirectory(DIRECTORY)),
        ev.Key("soft1"), screens=(IdleScreen, CallScreen), effects=(CcDial("dial-1", "1001"),)),
    "a queue without a dial number has nothing to dial": case(
        directory_shown(*keys("7", "8", "7")), ev.Key("ok"),
        notice="No number to dial", effects=(), top=DirectoryScreen),
    "Fav+ asks the server to add the entry": case(
        directory_shown(*keys("2", "3", "6")), ev.Key("soft2"),
        effects=(CcFavoriteAdd("agent", "1002", "1002", "Ben Okafor"),),
        notice="Added to favorites"),
    "Fav+ on a favorite already says so": case(
        directory_shown(ev.CcFavorites((BEN,)), *keys("2", "3", "6")), ev.Key("soft2"),
        effects=(), notice="Already a favorite"),
    "Fav+ at 50 favorites says the list is full": case(
        directory_shown(ev.CcFavorites(tuple(Fav("number", f"55501{i:02}") for i in range(50)))),
        ev.Key("soft2"), effects=(), notice="Favorites full (50 max)"),
    "lifting the handset on an entry calls it": case(
        directory_shown(*keys("2", "3", "6")), ev.Hook(True),
        effects=(CcDial("dial-1", "1002"),), screens=(IdleScreen, CallScreen)),
}


@pytest.mark.parametrize("given,events,expect", DIRECTORY_CASES.values(),
                         ids=DIRECTORY_CASES.keys())
def test_directory(given, events, expect):
    check(*run(given, *events), expect)


def test_the_list_is_asked_again_while_on_show_and_states_change_in_place():
    m = directory_shown(*keys("2", "3", "6"))
    m, fx = run(m, ev.Tick(NOW + 1))
    assert fx == ()                                           # not yet
    m, fx = run(m, ev.Tick(NOW + directory.REFRESH_S))
    assert fx == (CcGetDirectory(),) and "Ben Okafor      Off" in text(m)
    now_idle = tuple(replace(e, state="idle") if e.id == "1002" else e for e in DIRECTORY)
    m, _ = run(m, ev.CcDirectory(now_idle))
    assert "→Ben Okafor     Idle" in text(m)


def test_the_cursor_stays_on_its_entry_when_the_list_changes():
    m = directory_shown(ev.Key("down"))                       # on Ben Okafor
    m, _ = run(m, ev.Tick(NOW + directory.REFRESH_S),
               ev.CcDirectory((Entry("agent", "1000", "Aaron Ames", "1000", "idle"),
                               *DIRECTORY)))
    assert "→Ben Okafor" in text(m)


def test_it_is_not_asked_again_under_another_screen_nor_twice_at_once():
    m = directory_shown(ev.CcNotice("x"))
    m, fx = run(m, *keys("down"), ev.Tick(NOW + 5), ev.Tick(NOW + 6), ev.Tick(NOW + 7))
    assert fx == (CcGetDirectory(),)                          # one look-up out at a time
    m, fx = run(m, ev.Key("ok"), ev.Tick(NOW + 30))           # the call screen is on top
    assert fx[-1:] != (CcGetDirectory(),) and isinstance(m.screen, CallScreen)


def test_no_server_first_then_the_list_comes_by_itself_once_the_link_is_back():
    m = agent(*keys("5", "soft2"), cc="down")
    assert "No server: directory" in text(m)
    m, fx = run(m, ev.CcLink("up"), ev.Tick(NOW + 1))
    assert fx == (CcGetDirectory(),) and "Loading..." in text(m)
    m, _ = run(m, ev.CcDirectory(DIRECTORY))
    assert "Ana Diaz" in text(m)


def test_a_late_answer_for_a_closed_directory_changes_nothing():
    m = agent(*keys("5", "soft2", "back", "back"))
    assert run(m, ev.CcDirectory(DIRECTORY))[0] == m


def test_other_refusals_still_reach_the_agent():
    m, _ = run(directory_shown(), ev.CcRefused("favorite_add", "too_many_favorites",
                                               "Favorites full (50 max)"))
    assert m.active_notice() == "Favorites full (50 max)"


# -- the favorites --------------------------------------------------------------------------------
FAVORITE_CASES = {
    "Favs on the dial screen lists them": case(
        agent(ev.CcFavorites(FAVORITES)), keys("5", "soft3"),
        top=FavoritesScreen(number="5")),
    "the main menu opens them too": case(
        agent(), from_menu("Favorites"), top=FavoritesScreen()),
    "ok dials the one in view and the lists close": case(
        favorites_shown(), ev.Key("ok"), effects=(CcDial("dial-1", "1002"),),
        screens=(IdleScreen, CallScreen)),
    "down then Dial dials the next": case(
        favorites_shown(), keys("down", "soft1"), effects=(CcDial("dial-1", "5550100"),)),
    "Add makes the typed number a favorite, labelled with itself": case(
        favorites_shown(typed="5550199"), ev.Key("soft2"),
        effects=(CcFavoriteAdd("number", "5550199", name="5550199"),),
        notice="Added to favorites"),
    "Del asks first": case(
        favorites_shown(), ev.Key("soft3"), effects=(),
        top=FavoritesScreen(number="55", confirm="1002")),
    "Del twice deletes": case(
        favorites_shown(ev.Key("soft3")), ev.Key("soft3"),
        effects=(CcFavoriteRemove("1002"),), notice="Favorite deleted",
        top=FavoritesScreen(number="55")),
    "No keeps it": case(
        favorites_shown(ev.Key("soft3")), ev.Key("soft4"), effects=(),
        top=FavoritesScreen(number="55")),
    "any other key keeps it too": case(
        favorites_shown(ev.Key("soft3")), ev.Key("down"), effects=(),
        top=FavoritesScreen(number="55")),
    "offline a delete is refused at once": case(
        favorites_shown(ev.Key("soft3"), ev.CcLink("down")), ev.Key("soft3"), effects=(),
        notice="No server: favorites can't change now"),
    "T9 searches them (4: Head office)": case(
        favorites_shown(), keys("4", "ok"), effects=(CcDial("dial-1", "5550100"),)),
    "back leaves to the dial screen with its number": case(
        favorites_shown(), ev.Key("back"), top=DialScreen("55")),
}


@pytest.mark.parametrize("given,events,expect", FAVORITE_CASES.values(), ids=FAVORITE_CASES.keys())
def test_favorites(given, events, expect):
    check(*run(given, *events), expect)


def test_the_snapshot_brings_the_agents_favorites_and_logout_takes_them_away():
    m, _ = run(home(), replace(rules.snapshot(), favorites=FAVORITES))
    assert m.agent.favorites == FAVORITES
    m, _ = run(m, ev.CcFavorites((BEN,)))
    assert m.agent.favorites == (BEN,)
    m, _ = run(m, ev.CcLoggedOut("end of shift"), *keys("5", "soft3"), ev.Tick(NOW + 30))
    assert "No favorites yet" in text(m) and "Add" not in text(m)


def test_a_favorite_deleted_on_another_phone_leaves_the_list():
    m = favorites_shown()
    m, _ = run(m, ev.CcFavorites(FAVORITES[1:]))
    assert "Ben Okafor" not in text(m) and "→Head office" in text(m)


# -- favorites from the call history --------------------------------------------------------------
def history_shown(*calls, **snap):
    """Menu -> Call history, after ``calls`` (events)."""
    return agent(*calls, *keys("soft2", "3"), **snap)


DIALED = [*keys("5", "5", "5", "0", "1", "9", "9", "ok"), ev.CcDialAnswer("dial-1", "5550199"),
          ev.SipDialed("dial-1", "7"), ev.SipCallState("7", "ended", "busy (486)")]
FROM_BEN = [ev.SipIncoming("k9", "", "sip:1002@pbx"), ev.SipCallState("k9", "ended")]
# a customer's call, answered, hung up and wrapped up: "In +15551234567"
CUSTOMER = [*rules.talking(), ev.SipCallState("k1", "ended"),
            ev.CcContact(rules.contact("c1", "wrapped_up")), ev.Key("back")]
EMERGENCY = [*keys("9", "1", "1"), ev.SipDialed("dial-1", "7"),
             ev.SipCallState("7", "ended", "remote hangup"), ev.Hook(False)]

HISTORY_CASES = {
    "Fav+ makes the number of the call in view a favorite, labelled with itself": case(
        history_shown(*DIALED, *FROM_BEN), ev.Key("soft2"),
        effects=(CcFavoriteAdd("number", "1002", name="1002"),), notice="Added to favorites"),
    "down, Fav+: the next call's": case(
        history_shown(*DIALED, *FROM_BEN), keys("down", "soft2"),
        effects=(CcFavoriteAdd("number", "5550199", name="5550199"),)),
    "a customer's number, masked in the history, is never sent": case(
        history_shown(*CUSTOMER, settings=CcSettings(mask_ani=True)), ev.Key("soft2"),
        effects=(), notice="Masked number: can't be a favorite"),
    "where numbers are not masked, a customer's is added like any": case(
        history_shown(*CUSTOMER), ev.Key("soft2"),
        effects=(CcFavoriteAdd("number", "+15551234567", name="+15551234567"),)),
    "an emergency number is never a favorite": case(
        history_shown(*EMERGENCY), ev.Key("soft2"),
        effects=(), notice="Emergency numbers can't be favorites"),
    "a favorite already says so": case(
        history_shown(*FROM_BEN, ev.CcFavorites((BEN,))), ev.Key("soft2"),
        effects=(), notice="Already a favorite"),
    "offline it is refused at once": case(
        history_shown(*FROM_BEN, ev.CcLink("down")), ev.Key("soft2"),
        effects=(), notice="No server: favorites can't change now"),
    "no calls, no Fav+": case(history_shown(), ev.Key("soft2"), effects=(), notice=""),
}


@pytest.mark.parametrize("given,events,expect", HISTORY_CASES.values(), ids=HISTORY_CASES.keys())
def test_favorites_from_the_history(given, events, expect):
    check(*run(given, *events), expect)


def test_the_historys_softkeys_and_the_masked_call_on_the_display():
    m = history_shown(*CUSTOMER, settings=CcSettings(mask_ani=True))
    assert rows(m)[3].split() == ["Dial", "Fav+", "Back"]
    m, _ = run(m, ev.Key("soft2"))
    assert "+15551234567" not in text(m) and "5551234567" not in text(m)
    assert "Masked number" in text(m)
    assert rows(history_shown())[3].split() == ["Back"]


def test_the_servers_list_shows_the_label_and_keeps_masking_a_typed_number():
    typed = Fav("number", "5551234567", name="5551234567")
    m = agent(ev.CcFavorites((typed,)), *from_menu("Favorites"))
    assert "→5551234567" in text(m)
    m = agent(ev.CcFavorites((typed,)), *from_menu("Favorites"), settings=CcSettings(mask_ani=True))
    assert "→******4567" in text(m) and "5551234567" not in text(m)


# -- on the display -------------------------------------------------------------------------------
@pytest.fixture(params=[Display(20, 4), Display(40, 4)], ids=["20x4", "40x4"])
def display(request, monkeypatch):
    monkeypatch.setattr(rules, "INFO", replace(rules.INFO, display=request.param))
    return request.param


def test_the_directory_on_the_display(display):
    m = agent(*keys("5", "soft2"))
    assert rows(m)[:2] == ("Directory".ljust(display.cols), "Loading...".ljust(display.cols))
    m, _ = run(m, ev.CcDirectory(DIRECTORY))
    r = rows(m)
    assert r[0] == "Directory".ljust(display.cols - 3) + "1/6"
    if display.cols == 20:
        assert r[1:3] == ("→Ana Diaz      Avail", " Ben Okafor      Off")
        assert r[3] == " Dial Fav+      Back"
    else:
        assert r[1].startswith("→Ana Diaz") and r[1].endswith("1001 Avail")
    m, _ = run(m, *keys("6", "2", "4"))                       # "Main line"
    assert rows(m)[0].startswith("Directory 624") and rows(m)[0].endswith("1/1")
    assert rows(m)[1].rstrip().endswith("Entry") and "Main line" in rows(m)[1]


def test_an_empty_search_and_the_softkeys_that_go_with_it():
    m = directory_shown(*keys("9", "9", "9"))
    assert rows(m)[1].strip() == "No match" and rows(m)[3] == "                Del "


def test_a_directory_truncated_by_the_server_says_so():
    m = agent(*keys("5", "soft2"), ev.CcDirectory(DIRECTORY, truncated=True))
    assert rows(m)[0].endswith("1/6+")


def test_the_favorites_on_the_display(display):
    m = favorites_shown()
    r = rows(m)
    assert r[0] == "Favorites".ljust(display.cols - 3) + "1/3"
    assert r[1].startswith("→Ben Okafor") and r[2].startswith(" Head office")
    if display.cols == 40:
        assert r[1].rstrip().endswith("1002")
    m, _ = run(m, ev.Key("soft3"))
    assert rows(m)[1].strip() == "Delete Ben Okafor?"
    assert rows(m)[3].split() == ["Yes", "No"]


def test_a_typed_favorite_is_masked_where_the_admin_masks_numbers_and_not_searched_by_its_digits():
    masked = CcSettings(mask_ani=True)
    m = favorites_shown(*keys("down", "down"), settings=masked)
    assert "→******4567" in text(m) and "5551234567" not in text(m)
    m, _ = run(m, *keys("5", "5", "5", "1"))                  # its digits find nothing
    assert "No match" in text(m)
    plain = favorites_shown(*keys("down", "down"))
    assert "→5551234567" in text(plain)


def test_the_dial_screens_softkeys_lead_to_both():
    m = agent(*keys("5"))
    assert rows(m)[3].split() == ["Dial", "Dir", "Favs", "Del"]


# -- the protocol, phone side ---------------------------------------------------------------------
AGENT = p.Agent(id="1001", name="Ana Diaz", team="Blue", extension="sip:1001@pbx")


def online(favorites=()):
    client = c.CcClient()
    client.request(rules_login())
    client.connection_made()
    events, _ = client.receive(p.encode(p.Snapshot(seq=3, agent=AGENT, state="idle",
                                                   favorites=list(favorites), session="S1")))
    return client, events


def rules_login():
    from firmware.core.effects import CcLogin
    return CcLogin("1001", "1234")


def test_the_snapshot_and_favorites_events_carry_the_favorites():
    client, events = online([p.Favorite(kind="agent", number="1002", id="1002",
                                        name="Ben Okafor")])
    assert events[0].favorites == (BEN,)
    events, _ = client.receive(p.encode(p.Favorites(seq=4, favorites=[
        p.Favorite(kind="number", number="5551234567")])))
    assert events == [ev.CcFavorites((TYPED,))]


def test_a_look_up_goes_out_and_its_answer_comes_back_as_the_directory():
    client, _ = online()
    _, frames = client.request(CcGetDirectory())
    sent = json.loads(frames[0])
    assert sent == {"type": "directory", "id": sent["id"]}
    events, _ = client.receive(p.encode(p.DirectoryAnswer(id=sent["id"], entries=[
        p.DirectoryEntry(kind="agent", id="1002", name="Ben Okafor", number="1002",
                         state="idle"),
        p.DirectoryEntry(kind="queue", id="support", name="support")], truncated=True)))
    assert events == [ev.CcDirectory((Entry("agent", "1002", "Ben Okafor", "1002", "idle"),
                                      Entry("queue", "support", "support")), True)]


@pytest.mark.parametrize("effect,request_", [
    (CcGetDirectory(), "directory"), (CcFavoriteAdd("number", "5550100"), "favorite_add"),
    (CcFavoriteRemove("5550100"), "favorite_remove")])
def test_offline_the_directory_and_favorite_changes_are_refused_not_queued(effect, request_):
    saved = []
    client = c.CcClient(save=saved.append)
    client.request(rules_login())
    events, frames = client.request(effect)
    assert frames == [] and [type(e) for e in events] == [ev.CcRefused]
    assert events[0].request == request_ and events[0].message.startswith("No server")
    client.connection_made()
    _, frames = client.receive(p.encode(p.Snapshot(seq=1, agent=AGENT, state="idle")))
    assert frames == [] and all(s == [] for s in saved)       # nothing sent later, nothing kept


def test_a_look_up_lost_with_the_link_is_refused_so_no_screen_waits_for_it():
    client, _ = online()
    client.request(CcGetDirectory())
    events = client.connection_lost()
    assert ev.CcRefused("directory", "offline", "No server: directory unavailable") in events


def test_favorite_requests_go_out_with_their_fields():
    client, _ = online()
    _, frames = client.request(CcFavoriteAdd("agent", "1002", "1002", "Ben Okafor"))
    add = json.loads(frames[0])
    assert {k: v for k, v in add.items() if k != "id"} == {
        "type": "favorite_add", "kind": "agent", "number": "1002", "target": "1002",
        "name": "Ben Okafor"}
    _, frames = client.request(CcFavoriteRemove("1002"))
    assert json.loads(frames[0])["type"] == "favorite_remove"
    events, _ = client.receive(p.encode(p.Error(code="too_many_favorites",
                                                message="Favorites full (50 max)",
                                                id=add["id"])))
    assert events == [ev.CcRefused("favorite_add", "too_many_favorites",
                                   "Favorites full (50 max)")]


def test_the_phone_and_the_protocol_agree_on_the_limits():
    assert directory.MAX_FAVORITES == p.MAX_FAVORITES
    assert directory.NO_SERVER == c.NO_DIRECTORY
    assert directory.NO_SERVER_FAVORITES == c.NO_FAVORITES


def test_offline_the_favorites_stay_listed():
    m = favorites_shown(ev.CcLink("down"))
    assert m.links == Links(ip="10.0.0.5", sip="registered", cc="down")
    assert "→Ben Okafor" in text(m)


def test_logged_out_the_list_goes_within_a_second():
    m, _ = run(directory_shown(), ev.CcTakenOver(), ev.Tick(NOW + 1))
    assert m.screen == DirectoryScreen(error="Log in to see the directory")
    assert "Ana Diaz" not in text(m)
