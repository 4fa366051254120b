"""The directory and favorites end to end: sim phones driven by their console keys, the real
ccsim over its WebSocket, Kamailio. Agent 1001 finds agent 1002 by T9, sees 1002's state change
when 1002 logs in on another phone, makes 1002 a favorite, calls from the directory; the
favorite is on the agent's next phone (the server keeps it), where the agent deletes it. From
the call history: `Fav+` on a call to 1002 keeps Ben's name, a masked customer's number is
never sent, and a typed number is labelled with itself."""
import time

import pytest

from tools.lab import Desk


def favorites(lab, agent="1001"):
    return lab.ccsim.call("GET", f"/agents/{agent}/favorites")["favorites"]


def wait_for(cond, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_the_directory_and_favorites_that_follow_the_agent(lab, desk):
    desk.key("5", "soft2")                      # a digit opens the dial screen; Dir
    desk.wait_lcd("Directory", "Ana Diaz", "Idle")
    desk.type("236")                            # T9: "Ben"
    desk.wait_lcd("Directory 236", "1/1", "Ben Okafor", "Off")

    ben = Desk(lab.phone("1002", pin="5678"))
    try:
        ben.wait_status(agent="IDLE", cc="up")
        desk.wait_lcd("Ben Okafor", "Idle", timeout=15)     # asked again while on show

        desk.key("soft2")                       # Fav+
        wait_for(lambda: [f["id"] for f in favorites(lab)] == ["1002"],
                 "1002 among 1001's favorites")
        assert favorites(lab) == [{"kind": "agent", "number": "1002", "id": "1002",
                                   "name": "Ben Okafor"}]

        desk.key("ok")                          # dials the entry in view: the call starts
        shown = desk.wait_lcd("1002", "End")     # the call screen (a notice may cover its top)
        assert "Directory" not in shown
        assert [c["state"] for c in desk.calls()] in (["calling"], ["talking"])
        desk.key("soft2")                       # End
        desk.wait_lcd("Idle", timeout=15)
    finally:
        ben.close()

    # the agent moves to another desk: the favorite is there
    other = Desk(lab.phone("1001", name="phone-1001-b"))
    try:
        other.wait_status(agent="IDLE", cc="up", timeout=15)
        desk.wait_lcd("Logged in elsewhere")
        other.key("5", "soft3")                 # dial screen, Favs
        other.wait_lcd("Favorites", "1/1", "Ben Okafor")
        other.key("soft3")                      # Del: asks first
        other.wait_lcd("Delete Ben Okafor?", "Yes", "No")
        assert favorites(lab) != []
        other.key("soft3")                      # Yes
        wait_for(lambda: favorites(lab) == [], "the favorite deleted on the server")
        other.wait_lcd("No favorites yet")
    finally:
        other.close()


def test_with_the_server_away_the_directory_says_so_and_comes_back_by_itself(lab, desk):
    lab.ccsim.kill()
    desk.wait_status(cc="down", timeout=15)
    desk.key("5", "soft2")
    desk.wait_lcd("No server:", "directory")
    lab.ccsim.start()
    desk.wait_lcd("Ana Diaz", "Ben Okafor", timeout=20)


@pytest.mark.cc_settings({"mask_ani": True})
def test_favorites_from_the_call_history_keep_an_agents_name_and_never_a_masked_number(lab, desk):
    # a customer's call, answered, ended and wrapped up: in the history, masked
    desk.key("soft1", "1")                      # State -> Available
    lab.wait_for(lambda: lab.agent("1001")["state"] == "available", desc="available")
    cid = lab.post_contact("sales", "+15551234567")
    desk.wait_lcd("Call 1 of 1")
    desk.key("soft1")                           # Accept
    desk.wait_lcd("Talking")
    desk.key("soft2")                           # End
    desk.wait_lcd("Wrap-up")
    desk.type("245")                            # "Bil(ling question)"
    desk.wait_lcd("Billing question")
    desk.key("soft1")
    lab.wait_for(lambda: lab.contact(cid)["wrapup"], desc="wrap-up recorded")
    # agent 1002 dialed by extension (Ben is not logged in: the call fails, it is still in)
    desk.type("1002")
    desk.key("ok")
    desk.wait_lcd("Call failed", timeout=15)

    desk.key("soft2", "3")                      # Menu -> Call history
    shown = desk.wait_lcd("Call history", "Out 1002", "In  *******4567", "Fav+")
    assert "5551234567" not in shown
    desk.key("soft2")                           # Fav+ on "Out 1002": the agent, by name
    wait_for(lambda: favorites(lab) == [{"kind": "agent", "number": "1002", "id": "1002",
                                         "name": "Ben Okafor"}], "Ben among 1001's favorites")
    desk.key("down", "soft2")                   # Fav+ on the customer's masked number
    shown = desk.wait_lcd("Masked number", "a favorite")
    assert "5551234567" not in shown
    time.sleep(1.0)                             # nothing went to the server meanwhile
    assert [f["number"] for f in favorites(lab)] == ["1002"]

    desk.key("back", "back")                    # home; a typed number, Favs -> Add
    desk.type("5550199")
    desk.key("soft3")
    desk.wait_lcd("Favorites", "Ben Okafor", "Add")
    desk.key("soft2")
    wait_for(lambda: len(favorites(lab)) == 2, "the typed number among the favorites")
    assert favorites(lab)[1] == {"kind": "number", "number": "5550199", "name": "5550199"}
    shown = desk.wait_lcd("Ben Okafor", "***0199")   # a typed number shows masked here
    assert "5550199" not in shown
