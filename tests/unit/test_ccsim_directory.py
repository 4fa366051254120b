"""ccsim's directory and the agents' favorites, driven without sockets (as test_ccsim_engine.py):
what the directory lists and finds, favorites kept per agent across a restart and told on every
change, and the scenario's [[entry_points]] and [[dial_numbers]] checked at load."""
import pytest

from firmware.cc import protocol as p
from tools.ccsim.engine import Engine, Refused
from tools.ccsim.scenario import ScenarioError, parse
from tools.ccsim.store import Store

from .test_ccsim_engine import SCENARIO, Clock, Customers

PHONEBOOK = SCENARIO.format(settings="").replace(
    'name = "sales"\n', 'name = "sales"\nnumber = "8001"\n', 1) + """
[[entry_points]]
name = "Main line"
number = "8000"
queue = "sales"

[[dial_numbers]]
name = "Head office"
number = "5550100"
"""


def engine(db=":memory:", text=PHONEBOOK, clock=None):
    return Engine(parse(text, "test.toml"), Store(db), clock or Clock(), Customers())


def told(e, agent):
    return [m for a, m, _ in e.take_outbox() if a == agent]


def entries(e, agent="1001", query=""):
    found, truncated = e.directory(agent, query)
    assert not truncated
    return [(x.kind, x.id, x.name, x.number, x.state) for x in found]


def test_the_directory_lists_agents_with_their_state_now_queues_entry_points_and_numbers():
    e = engine()
    e.hello("1001", "1234")
    e.hello("1002", "2222")
    e.set_state("1002", "available")
    assert entries(e) == [
        ("agent", "1001", "Ana Diaz", "1001", "idle"),
        ("agent", "1002", "Ben Okafor", "1002", "available"),
        ("agent", "1003", "Cleo Park", "1003", "logged_out"),
        ("queue", "sales", "sales", "8001", None),
        ("queue", "support", "support", "", None),               # no dial number: none to dial
        ("entry_point", "Main line", "Main line", "8000", None),
        ("number", "Head office", "Head office", "5550100", None)]
    e.logout("1002")
    assert entries(e, query="ben") == [("agent", "1002", "Ben Okafor", "1002", "logged_out")]


@pytest.mark.parametrize("query,ids", [
    ("", ["1001", "1002", "1003", "sales", "support", "Main line", "Head office"]),
    ("OKAF", ["1002"]),                       # any case, inside a word
    ("800", ["sales", "Main line"]),          # numbers too: 8001, 8000
    ("line", ["Main line"]),
    ("nobody", []),
])
def test_the_directory_finds_a_query_in_names_and_numbers(query, ids):
    e = engine()
    e.hello("1001", "1234")
    assert [x.id for x in e.directory("1001", query)[0]] == ids


def test_the_directory_sends_at_most_500_entries_and_says_more_matched():
    many = PHONEBOOK + "".join(f'[[dial_numbers]]\nname = "Line {n}"\nnumber = "7{n:04}"\n'
                               for n in range(600))
    e = engine(text=many)
    e.hello("1001", "1234")
    found, truncated = e.directory("1001")
    assert len(found) == p.MAX_DIRECTORY_ENTRIES and truncated
    assert len(p.encode(p.DirectoryAnswer(id="r1", entries=found))) < 400_000
    found, truncated = e.directory("1001", "Line 59")
    assert len(found) == 11 and not truncated                   # 59, 590-599


def test_the_directory_needs_a_login():
    with pytest.raises(Refused) as refused:
        engine().directory("1001")
    assert refused.value.code == "not_logged_in"


def test_favorites_are_added_told_to_the_agent_and_in_every_snapshot():
    e = engine()
    e.hello("1001", "1234")
    told(e, "1001")
    e.favorite_add("1001", "agent", "1002", "1002", "Ben Okafor")
    e.favorite_add("1001", "number", "5551234567")
    e.favorite_add("1001", "number", "5551234567")             # already one: nothing
    events = told(e, "1001")
    assert [type(m) for m in events] == [p.Favorites, p.Favorites]
    assert [m.seq for m in events] == [1, 2]                    # the agent's event sequence
    assert events[-1].favorites == [
        p.Favorite(kind="agent", number="1002", id="1002", name="Ben Okafor"),
        p.Favorite(kind="number", number="5551234567")]
    assert e.hello("1001", "1234").favorites == events[-1].favorites
    assert e.favorites_info("1001") == [
        {"kind": "agent", "number": "1002", "id": "1002", "name": "Ben Okafor"},
        {"kind": "number", "number": "5551234567"}]
    assert e.favorites_info("1002") == [] and e.favorites_info("9999") is None


def test_a_directory_entry_is_kept_with_the_directorys_name_and_number():
    e = engine()
    e.hello("1001", "1234")
    e.favorite_add("1001", "entry_point", "1", "Main line", "my name for it")
    assert e.favorites_info("1001") == [
        {"kind": "entry_point", "number": "8000", "id": "Main line", "name": "Main line"}]


def test_a_typed_number_a_directory_entry_has_is_kept_as_that_entry_with_its_name():
    """The phone's Fav+ in the call history sends the number it called (an agent's extension
    too): the agent's favorite keeps the agent's name."""
    e = engine()
    e.hello("1001", "1234")
    e.favorite_add("1001", "number", "1002", "", "1002")
    e.favorite_add("1001", "number", "5550100", "", "5550100")
    e.favorite_add("1001", "number", "5550199", "", "5550199")  # no entry has it: as labelled
    e.favorite_add("1001", "agent", "1002", "1002")             # the same agent: nothing
    assert e.favorites_info("1001") == [
        {"kind": "agent", "number": "1002", "id": "1002", "name": "Ben Okafor"},
        {"kind": "number", "number": "5550100", "id": "Head office", "name": "Head office"},
        {"kind": "number", "number": "5550199", "name": "5550199"}]


@pytest.mark.parametrize("args,code,message", [
    (("agent", "1009", "1009"), "bad_favorite", "Not in the directory"),
    (("queue", "", "support"), "bad_favorite", "No number to dial"),   # support has none
    (("number", "555 0100"), "bad_favorite", "No number to dial"),
    (("number", "5" * 33), "bad_favorite", "No number to dial"),
    (("number", ""), "bad_favorite", "No number to dial"),
    (("number", "5550100", "", "x" * 65), "bad_favorite", "Name too long (64 max)"),
    (("number", "5550100", "", "a\x07b"), "bad_favorite", "Name has control characters"),
])
def test_a_bad_favorite_is_refused_and_changes_nothing(args, code, message):
    e = engine()
    e.hello("1001", "1234")
    told(e, "1001")
    with pytest.raises(Refused) as refused:
        e.favorite_add("1001", *args)
    assert (refused.value.code, refused.value.message) == (code, message)
    assert e.favorites_info("1001") == [] and told(e, "1001") == []


def test_fifty_favorites_at_most():
    e = engine()
    e.hello("1001", "1234")
    for n in range(p.MAX_FAVORITES):
        e.favorite_add("1001", "number", f"55501{n:02}")
    with pytest.raises(Refused) as refused:
        e.favorite_add("1001", "number", "5559999")
    assert refused.value.code == "too_many_favorites"
    assert refused.value.message == "Favorites full (50 max)"
    assert len(e.favorites_info("1001")) == 50


def test_favorites_are_removed_by_number_or_target_and_a_missing_one_is_no_change():
    e = engine()
    e.hello("1001", "1234")
    e.favorite_add("1001", "agent", "1002", "1002")
    e.favorite_add("1001", "number", "5551234567")
    told(e, "1001")
    e.favorite_remove("1001", number="5551234567")
    e.favorite_remove("1001", number="5550000")                  # not there: nothing
    e.favorite_remove("1001", target="1002")
    assert [m.favorites for m in told(e, "1001")] == [
        [p.Favorite(kind="agent", number="1002", id="1002", name="Ben Okafor")], []]
    with pytest.raises(Refused) as refused:
        e.favorite_remove("1001")
    assert refused.value.code == "bad_favorite"


def test_favorites_belong_to_the_agent_and_survive_a_restart(tmp_path):
    db = tmp_path / "cc.db"
    first = engine(db)
    first.hello("1001", "1234")
    first.favorite_add("1001", "agent", "1002", "1002")
    first.favorite_add("1001", "number", "5550199")
    first.hello("1002", "2222")
    first.favorite_add("1002", "number", "5550100")
    first.logout("1001")                                        # logged out: still kept
    first.store.close()

    second = engine(db)
    snap = second.hello("1001", "1234")                         # a login on any phone
    assert [f.number for f in snap.favorites] == ["1002", "5550199"]
    assert [f["number"] for f in second.favorites_info("1002")] == ["5550100"]


@pytest.mark.parametrize("old,new,error", [
    ('queue = "sales"', 'queue = "billing"',
     "test.toml: entry_points[0].queue: unknown queue 'billing'"),
    ('number = "8000"', 'number = "800 0"', "test.toml: entry_points[0].number: not a number"),
    ('number = "5550100"', 'number = "8001"',
     "test.toml: number '8001' is in the directory twice"),
    ('name = "Head office"', f'name = "{"H" * 65}"',
     "test.toml: dial_numbers[0].name: 65 characters, at most 64"),
    ('number = "5550100"', 'number = "5550100"\nextension = "x"',
     "test.toml: dial_numbers[0]: unknown field 'extension'"),
    ('name = "Main line"\n', "", "test.toml: entry_points[0].name: missing"),
])
def test_scenario_mistakes_in_the_directory_name_file_and_field(old, new, error):
    with pytest.raises(ScenarioError) as e:
        parse(PHONEBOOK.replace(old, new, 1), "test.toml")
    assert str(e.value).startswith(error)


def test_the_demo_scenario_has_a_directory():
    from tools.ccsim.scenario import load
    s = load("tools/ccsim/scenarios/demo.toml")
    assert s.entry_points and s.dial_numbers and s.queue_numbers
