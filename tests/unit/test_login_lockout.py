"""The phone's side of login throttling and of a session taken over by another phone: the rules
(fed real events through update()) and what the LCD shows."""
from firmware.core import events as ev
from firmware.core.effects import CcLogin
from firmware.core.model import IdleScreen, LoginScreen
from firmware.ui.view import render

from .test_agent_rules import NOW, agent, home, keys, run

LOCKED = ev.CcRefused("hello", "locked_out", "too many failed logins: try again in 30 s", 30)


def rows(m):
    return render(m).rows


def test_locked_out_shows_the_wait_and_sends_no_login_before_it_is_over():
    m, fx = run(home(), *keys("soft1", "1", "0", "0", "1", "ok", "9", "ok"), LOCKED)
    assert isinstance(m.screen, LoginScreen) and m.screen.agent == "1001"
    assert m.agent_status == "LOGGED_OUT" and not m.login_pending
    assert [r.rstrip() for r in rows(m)[:2]] == ["Too many tries:", "wait 30 s"]
    m, fx = run(m, ev.Tick(NOW + 12), *keys("1", "2", "3", "4", "ok"))
    assert fx == () and isinstance(m.screen, LoginScreen)       # the phone doesn't hammer
    assert rows(m)[1].rstrip() == "wait 18 s"
    m, fx = run(m, ev.Tick(NOW + 31))
    assert rows(m)[0].rstrip() == "Agent login"                         # the wait is over
    m, fx = run(m, ev.Key("ok"))
    assert fx == (CcLogin("1001", "1234"),) and m.login_pending


def test_a_config_login_locked_out_opens_the_login_screen_with_the_wait():
    m, _ = run(home(), ev.LoginFromConfig("1001", "0000"), LOCKED)
    assert isinstance(m.screen, LoginScreen) and m.screen.entry == "pin"
    assert rows(m)[1].rstrip() == "wait 30 s"


def test_taken_over_logs_out_here_says_why_until_the_agent_logs_in_again():
    m, fx = run(agent(), ev.CcTakenOver(), ev.CcLink("down"))
    assert fx == () and m.agent is None and m.agent_status == "LOGGED_OUT"
    assert isinstance(m.screen, IdleScreen)
    r = rows(m)
    assert r[0].startswith("Logged out") and r[2].rstrip() == "Logged in elsewhere"
    assert r[3].startswith("Login")
    m, _ = run(m, ev.Tick(NOW + 600))                           # it stays
    assert rows(m)[2].rstrip() == "Logged in elsewhere"
    m, fx = run(m, *keys("soft1", "1", "0", "0", "1", "ok", "1", "2", "3", "4", "ok"))
    assert fx == (CcLogin("1001", "1234"),)
    assert "elsewhere" not in "\n".join(rows(m))


def test_a_notice_or_a_link_problem_still_comes_first():
    m, _ = run(agent(), ev.CcTakenOver(), ev.CcLink("down", "Server unreachable"))
    assert rows(m)[2].rstrip() == "Server unreachable"
