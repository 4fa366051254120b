"""ccsim's call data rules (docs/cc-protocol.md, "Call data") in test_ccsim_consult.py's script:
the agents on a contact's call change the variables the layout makes editable, the first save
winning; values are checked (256 characters, dates, ISO 8601); secure values go with no
contact and are fetched by an agent on the call only; everything survives a restart.

More script lines:
    setvar A C NAME VALUE VERSION [!code]      -- A saves NAME (VALUE "_" for empty)
    getvar A C NAME [=VALUE | !code]           -- A fetches NAME
    var A C NAME VALUE VERSION [BY]            -- the contact as A's phone has it ("_": a
                                                  space; alone: empty)
"""
import pytest

from tests.unit import test_ccsim_consult as consult
from tools.ccsim.scenario import parse

EDITABLE = {"customer": "editable = true", "account": 'editable = true\nkind = "date"'}
# the layout: customer (text) and account (a date) editable, card secure; plus a datetime
MORE = '''
[[layout]]
name = "callback_at"
label = "Callback"
editable = true
kind = "datetime"
'''


@pytest.fixture(autouse=True)
def editable_scenario(monkeypatch):
    def with_editable(text, name):
        for var, extra in EDITABLE.items():
            text = text.replace(f'name = "{var}"\nlabel', f'name = "{var}"\n{extra}\nlabel', 1)
        return parse(text.replace('[[layout]]\nname = "customer"',
                                  MORE.strip() + '\n[[layout]]\nname = "customer"', 1), name)
    monkeypatch.setattr("tests.unit.test_ccsim_bridged.parse", with_editable)


class Desk(consult.Desk):
    def step(self, op, *a):
        e = self.engine
        if op == "setvar":
            agent, contact, name, value, version = a[:5]
            e.set_variable(agent, contact, name, "" if value == "_" else value, int(version))
        elif op == "getvar":
            got = e.get_variable(*a[:3])
            if len(a) > 3:
                assert got.value == a[3].lstrip("="), got
        elif op == "var":
            c = self.last(a[0], a[1])
            name, value, version = a[2:5]
            want = "" if value == "_" else value.replace("_", " ")
            assert c.variables.get(name) == want, c.variables
            assert c.versions.get(name, 1) == int(version), c.versions
            if len(a) > 5:
                assert c.changed_by.get(name) == a[5].replace("_", " "), c.changed_by
        else:
            super().step(op, *a)


CONSULTING = consult.CONSULTING

CASES = {
    "the first save wins; the other keeps the draft and retries over the new version":
    CONSULTING + """
        var 1001 c-1 customer Maria_Garcia 1
        setvar 1001 c-1 customer VIP 1
        var 1001 c-1 customer VIP 2 Ana_Diaz
        var 1002 c-1 customer VIP 2 Ana_Diaz
        setvar 1002 c-1 customer Gold 1 !variable_changed
        setvar 1002 c-1 customer Gold 2
        var 1001 c-1 customer Gold 3 Ben_Okafor
    """,
    "values are checked: 256 characters, a date, ISO 8601, one line": consult.TALKING + """
        setvar 1001 c-1 customer """ + "x" * 257 + """ 1 !bad_value
        setvar 1001 c-1 customer """ + "x" * 256 + """ 1
        setvar 1001 c-1 account 2026-02-30 1 !bad_value
        setvar 1001 c-1 account 2026-12-01 1
        setvar 1001 c-1 callback_at tomorrow 1 !bad_value
        setvar 1001 c-1 callback_at 2026-12-02 1 !bad_value
        setvar 1001 c-1 callback_at 2026-12-02T10:00 1
        var 1001 c-1 callback_at 2026-12-02T10:00 2
        setvar 1001 c-1 callback_at _ 2
    """,
    "a secure value goes with no contact; an agent on the call fetches it": CONSULTING + """
        var 1001 c-1 card _ 1
        getvar 1001 c-1 card =4111
        getvar 1002 c-1 card =4111
        getvar 1003 c-1 card !unknown_contact
        setvar 1001 c-1 card 5500 1 !not_editable
        setvar 1001 c-1 nothing x 1 !not_editable
    """,
    "nobody but the agents on the call saves": consult.TALKING + """
        setvar 1003 c-1 customer x 1 !unknown_contact
        hangup c-1
        setvar 1001 c-1 customer x 1 !unknown_contact
    """,
}


@pytest.mark.parametrize("name", CASES)
def test_call_data(name):
    consult.run(Desk(), CASES[name])


def test_the_refusal_says_who_changed_it_and_the_value_now():
    d = Desk()
    consult.run(d, CONSULTING + "setvar 1001 c-1 customer VIP 1")
    with pytest.raises(Exception) as refused:
        d.engine.set_variable("1002", "c-1", "customer", "Gold", 1)
    assert refused.value.code == "variable_changed"
    assert refused.value.message == "Changed by Ana Diaz: VIP"


def test_values_and_versions_survive_a_restart_and_the_admin_never_sees_a_secure_one(tmp_path):
    db = str(tmp_path / "ccsim.db")
    d = Desk(db=db)
    consult.run(d, consult.TALKING + "setvar 1001 c-1 customer VIP 1")
    again = Desk(db=db, clock=d.clock)
    info = again.engine.contact_info("c-1")["variables"]
    assert info["customer"] == {"value": "VIP", "secure": False, "version": 2,
                                "changed_by": "1001"}
    assert info["card"] == {"value": None, "secure": True, "version": 1, "changed_by": None}
    with pytest.raises(Exception, match="Changed by Ana Diaz: VIP"):
        again.engine.set_variable("1001", "c-1", "customer", "Gold", 1)
