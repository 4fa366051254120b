"""ccsim's rules for logins and for what the admin may put in a contact, driven without sockets
on a fake clock: PIN guessing is throttled per agent and per address, and a contact the admin
API refuses changes nothing, while one it takes always fits in a frame the phone reads."""
import logging
import math

import pytest

from firmware.cc import protocol as p
from tools.bench import pins
from tools.ccsim.engine import Engine, Refused
from tools.ccsim.scenario import parse
from tools.ccsim.store import Store

from .test_ccsim_engine import SCENARIO, Clock

STRANGER, DESK = "203.0.113.9", "10.0.0.21"


def engine(settings=""):
    clock = Clock()
    return Engine(parse(SCENARIO.format(settings=settings), "test.toml"), Store(":memory:"),
                  clock), clock


def hello(e, agent="1001", pin="1234", source=STRANGER):
    """"ok", or the refusal's code (with its retry_after when locked out)."""
    try:
        e.hello(agent, pin, p.VERSION, source)
    except Refused as r:
        return f"{r.code}:{r.retry_after}" if r.code == "locked_out" else r.code
    return "ok"


# -- 6: PIN guessing ----------------------------------------------------------------------------
def test_five_wrong_pins_then_a_lockout_that_doubles_and_no_pin_is_checked_meanwhile():
    e, clock = engine()
    assert [hello(e, pin=f"{n:04}") for n in range(5)] == ["auth_failed"] * 5
    assert hello(e, pin="0005") == "auth_failed"                 # the 6th: locked from now
    assert hello(e) == "locked_out:30"                           # even the right PIN
    clock.now += 29
    assert hello(e) == "locked_out:1"
    clock.now += 1
    assert hello(e, pin="0006") == "auth_failed"
    assert hello(e) == "locked_out:60"                           # doubled
    clock.now += 60
    assert hello(e) == "ok"                                      # the right PIN, in time
    assert e.agent_info("1001")["state"] == "idle"
    assert [hello(e, pin="0007") for _ in range(5)] == ["auth_failed"] * 5   # counts anew


def test_one_address_guessing_many_agents_is_locked_out_for_all_of_them():
    e, _ = engine()
    for n in range(6):
        assert hello(e, agent=("1001", "1002", "1003", "9999")[n % 4], pin="0000") == "auth_failed"
    assert hello(e, agent="1003", pin="3333") == "locked_out:30"
    assert hello(e, agent="1003", pin="3333", source="10.0.0.33") == "ok"   # another address


def test_the_agents_own_phone_is_not_locked_out_by_a_strangers_guessing():
    e, _ = engine()
    assert hello(e, source=DESK) == "ok"                         # the desk phone logged in
    for n in range(8):
        hello(e, pin=f"{n:04}")
    assert hello(e).startswith("locked_out")                     # the stranger, even right
    assert hello(e, source="10.0.0.99").startswith("locked_out")  # any other address
    assert hello(e, source=DESK) == "ok"                         # the desk phone reconnects


def test_each_failure_is_logged_with_agent_and_address_never_the_pin(caplog):
    e, _ = engine()
    with caplog.at_level(logging.INFO, logger="ccsim"):
        for pin in ("4711", "8152", "9035", "1627", "5580", "7394"):
            hello(e, pin=pin)
    failures = [r.getMessage() for r in caplog.records if "login failed" in r.getMessage()]
    assert len(failures) == 6
    assert all("'1001'" in f and STRANGER in f for f in failures)
    assert "locked out for 30 s" in failures[-1]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert not any(pin in logged for pin in ("4711", "8152", "9035", "1627", "5580", "7394"))


def test_pin_guessing_figures():
    """Before: one connection tried 5,679 PINs in 1.8 s. Now the agent's lock binds whatever
    the number of addresses: about one PIN an hour after the first few (the model of
    ``python -m tools.bench pins``: ccsim's LoginGuard on a fake clock)."""
    m = pins.model(sources=50)
    print(f"\nPIN guessing, one agent, 50 addresses: {m['first_hour']} in the 1st hour, "
          f"{m['day']} in 24 h, {m['week']} in a week ({m['per_hour']:.2f}/h after); all "
          f"10,000 4-digit PINs: {m['all_days']:,.0f} days (on average {m['mean_days']:,.0f})")
    assert m["first_hour"] <= 12 and m["per_hour"] <= 1.0 and m["mean_days"] > 180


# -- 8 and 9: what the admin may put in a contact ----------------------------------------------
@pytest.mark.parametrize("ani,variables,talk_s,problem", [
    ("\ud800", {}, None, "ani: not valid Unicode"),
    ("x" * (1 << 20), {}, None, "ani: at most 64 characters"),
    ("+1555\n0100", {}, None, "ani: control characters"),
    ("+15550100", {"card": "\udfff"}, None, "variables.card: not valid Unicode"),
    ("+15550100", {"v": "x" * 257}, None, "variables.v: at most 256 characters"),
    ("+15550100", {"n" * 33: "x"}, None, "variables: a name: at most 32 characters"),
    ("+15550100", {f"v{n}": "x" for n in range(21)}, None, "variables: at most 20"),
    ("+15550100", {f"v{n}": "€" * 256 for n in range(20)}, None, "bytes as JSON; at most"),
    ("+15550100", {}, math.nan, "talk_s: expected a number"),
    ("+15550100", {}, math.inf, "talk_s: expected a number"),
    ("+15550100", {}, 10**400, "talk_s: expected a number"),
])
def test_a_refused_contact_changes_nothing(ani, variables, talk_s, problem):
    e, _ = engine()
    with pytest.raises(ValueError, match=problem.replace("+", r"\+").replace("$", "")):
        e.new_contact("sales", ani, variables, talk_s)
    assert e.store.live_contacts() == [] and e.contact_info("c-1") is None
    e.hello("1001", "1234")
    e.set_state("1001", "available")                         # nothing waits for the agent
    assert e.agent_info("1001")["state"] == "available"
    cid = e.new_contact("sales", "+15550100", {})             # and the next one is c-1
    assert cid == "c-1" and e.contact_info(cid)["state"] == "reserved"
    p.encode(e.snapshot("1001"))                               # the snapshot encodes


def test_the_largest_contacts_allowed_fit_well_inside_the_phones_frame_limit():
    e, _ = engine(f"max_offers = {p.MAX_OFFERS}")
    e.hello("1003", "3333")
    e.set_state("1003", "available")
    big = {f"{n:02}" + "名" * 30: "€" * 240 for n in range(p.MAX_VARIABLES)}
    while True:                                                # the most UTF-8 bytes allowed
        try:
            e.new_contact("sales", "+" + "9" * 63, big)
            break
        except ValueError:
            big.popitem()
    for _ in range(p.MAX_OFFERS - 1):
        e.new_contact("sales", "+" + "9" * 63, big)
    snapshot = e.snapshot("1003")
    assert len(snapshot.contacts) == p.MAX_OFFERS
    assert all(len(p.encode(c)) <= p.MAX_CONTACT_BYTES for c in snapshot.contacts)
    size = len(p.encode(snapshot).encode())
    print(f"\nlargest snapshot: {size:,} bytes ({p.MAX_OFFERS} largest contacts)")
    assert size < p.MAX_MESSAGE_BYTES / 4


def test_a_scenario_may_stack_at_most_max_offers():
    from tools.ccsim.scenario import ScenarioError
    with pytest.raises(ScenarioError, match=r"settings.max_offers: must be in 1..10, got 11"):
        parse(SCENARIO.format(settings="max_offers = 11"), "test.toml")


# -- a login starts Not Ready (docs/pi.md: the phone comes back Not Ready after a power cut) ----
def test_a_login_makes_an_available_agent_idle_unless_on_a_contact():
    e, _ = engine()
    e.hello("1001", "1234")
    e.set_state("1001", "available")
    snap = e.hello("1001", "1234", p.VERSION, DESK)      # the phone back from a power cut
    assert (snap.state, snap.reason) == ("idle", "login")
    assert e.agent_info("1001")["state"] == "idle"
    cid = e.new_contact("sales", "+15550100", {})
    assert e.contact_info(cid)["state"] == "queued"       # not offered to the empty desk
    e.set_state("1001", "available")                      # the agent says so
    assert e.contact_info(cid)["state"] == "reserved"
    busy = e.agent_info("1001")["state"]
    assert e.hello("1001", "1234", p.VERSION, DESK).state == busy == "reserved"   # kept
    assert e.contact_info(cid)["state"] == "reserved"
