"""Conference on the phone (docs/cc-protocol.md, "Conference"), as rules: `conf` on a consult
whose party answered asks the server; once it says the conference is up, the customer call
the consult held is resumed and the call screen shows `Conference N` with its timer; a party
leaves with `Exit`; refusals are notices. Every model is reached through real events."""
from firmware.core import events as ev
from firmware.core.effects import CcConference, CcExitConference, SipHangup, SipResume
from firmware.core.events import Conference, Participant
from tests.unit.test_agent_rules import NOW, agent, contact, run, token
from tests.unit.test_consult import BRIDGE, consult_offer, consulting, lcd, softkeys

PEOPLE = (Participant("+15551234567", "customer", "talking"),
          Participant("Ada Byron", "agent", "talking", "1001"),
          Participant("Ben Okafor", "agent", "talking", "1002"))


def conference_up(since=NOW - 5, **kw):
    """The server's word: the consult is a conference now (no consult leg any more)."""
    return ev.CcContact(contact("c1", "held", participants=PEOPLE, control="1001",
                                conference=Conference(since), **kw))


def conference_in(since=NOW - 5):
    """1001 (in control) on a conference with the customer and 1002."""
    m, _ = run(consulting("talking"), ev.Key("conf"), ev.SipCallState("k2", "ended"),
               conference_up(since), ev.SipCallState("k1", "resumed"),
               ev.CcContact(contact("c1", "assigned", participants=PEOPLE, control="1001",
                                    conference=Conference(since))))
    return m


def test_conf_before_the_party_answers_says_to_wait():
    m, fx = run(consulting("ringing"), ev.Key("conf"))
    assert fx == () and m.active_notice() == "Conference once they answer"


def test_conf_on_a_talking_consult_asks_the_server_then_resumes_the_customer():
    m, fx = run(consulting("talking"), ev.Key("conf"))
    assert fx == (CcConference("c1"),)
    m, fx = run(m, ev.SipCallState("k2", "ended"))          # the server hung the leg up
    m, fx = run(m, conference_up())
    assert fx == (SipResume("k1"),)
    m, _ = run(m, ev.SipCallState("k1", "resumed"),
               ev.CcContact(contact("c1", "assigned", participants=PEOPLE, control="1001",
                                    conference=Conference(NOW - 5))))
    assert lcd(m)[0].startswith("Conference 3") and "00:05" in lcd(m)[0]


def test_conf_from_the_held_customers_screen_too():
    _m, fx = run(consulting("talking"), ev.Key("left"), ev.Key("conf"))
    assert fx == (CcConference("c1"),)


def test_a_conference_the_agent_did_not_ask_for_resumes_nothing():
    """Held in a conference by the agent's own Hold: a contact event doesn't undo it."""
    _m, fx = run(consulting("talking"), ev.SipCallState("k2", "ended"), conference_up())
    assert SipResume("k1") not in fx


def test_a_refused_conference_is_a_notice_and_the_consult_goes_on():
    m, _ = run(consulting("talking"), ev.Key("conf"))
    m, fx = run(m, ev.CcRefused("conference", "conference_full", "past 8"))
    assert fx == () and m.active_notice() == "Conference full (8)"
    assert [c.leg for c in m.calls] == ["customer", "consult"]
    m, fx = run(m, conference_up())                         # no longer asked: nothing resumed
    assert SipResume("k1") not in fx


def test_offline_conf_is_refused_in_words():
    m, _ = run(consulting("talking"), ev.CcLink("down"))
    m, fx = run(m, ev.Key("conf"))
    assert fx == () and m.active_notice() == "No server: can't conference now"


def test_a_party_exits_the_conference_and_owes_nothing():
    m, _ = run(agent(consult_offer(), ev.SipIncoming("k1", "c1", BRIDGE, token("c1"))),
               ev.Key("soft1"), ev.SipCallState("k1", "established"),
               ev.CcContact(contact("c1", "assigned", primary=False, participants=PEOPLE,
                                    control="1001", conference=Conference(NOW - 2))))
    assert lcd(m)[0].startswith("Conference 3")
    assert softkeys(m).split() == ["Hold", "Exit", "Who", "Vars"]
    m, fx = run(m, ev.Key("soft2"))
    assert fx == (CcExitConference("c1"), SipHangup("k1"))
    m, _ = run(m, ev.SipCallState("k1", "ended"))
    assert m.calls == () and m.agent.state != "wrapup"


def test_a_ringing_participant_is_not_counted():
    people = PEOPLE + (Participant("5550100", "number", "ringing"),)
    m, _ = run(consulting("talking"), ev.Key("conf"), ev.SipCallState("k2", "ended"),
               conference_up(), ev.SipCallState("k1", "resumed"),
               ev.CcContact(contact("c1", "assigned", participants=people, control="1001",
                                    conference=Conference(NOW - 5))))
    assert lcd(m)[0].startswith("Conference 3")



def test_a_ninth_is_refused_with_a_message_on_the_lcd():
    """The server refuses a consult from a full conference (8 on it): said as such."""
    m, _ = run(consulting("talking"), ev.Key("conf"), ev.SipCallState("k2", "ended"),
               conference_up(), ev.SipCallState("k1", "resumed"))
    m, _ = run(m, ev.Key("xfer"), *[ev.Key(k) for k in "5550199"], ev.Key("ok"))
    m, _ = run(m, ev.CcRefused("consult", "conference_full", "c1's conference has 8 on it"))
    assert m.active_notice() == "Conference full (8)"


def test_who_lists_everyone_on_it_and_marks_who_has_control():
    m = conference_in()
    assert softkeys(m) == " Hold End  Who  Vars"
    m, fx = run(m, ev.Key("soft3"))
    assert fx == ()
    rows = lcd(m)
    assert rows[0].startswith("On the call") and rows[0].rstrip().endswith("3")
    assert rows[1].startswith("+15551234567") and rows[2].startswith("*Ada Byron")
    m, _ = run(m, ev.Key("down"))                           # 20x4: two a screen
    assert lcd(m)[1].startswith("*Ada Byron") and lcd(m)[2].startswith("Ben Okafor")
    m, _ = run(m, ev.Key("down"))
    assert lcd(m)[2].startswith("Ben Okafor")               # no further than the last
    m, _ = run(m, ev.Key("back"))
    assert lcd(m)[0].startswith("Conference 3")


def test_the_list_closes_when_the_conference_is_over():
    m, _ = run(conference_in(), ev.Key("soft3"))
    m, _ = run(m, ev.CcContact(contact("c1", "assigned", participants=PEOPLE[:2],
                                       control="1001")))
    assert lcd(m)[0].startswith("Talking")
