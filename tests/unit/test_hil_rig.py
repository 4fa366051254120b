"""Rig files (tests/hil/rig.py): what a HIL bench can do decides which tests skip, and why."""
import tomllib
from pathlib import Path

import pytest

from tests.hil.rig import BARE, SIM, RigError, load_rig, parse_rig

RIGS = Path(__file__).resolve().parents[1] / "hil" / "rigs"


def test_the_reference_rig_file_loads():
    rig = load_rig(RIGS / "desk-bench.toml")
    assert rig.name == "desk-bench"
    assert rig.capabilities == {"power", "audio_loopback", "flash"}
    assert rig.power.on == ("usbrelay", "HURTM_1=1") and rig.power.off_s == 3
    assert rig.lacks(("power", "audio_loopback")) is None


def test_a_missing_capability_is_named_with_its_rig():
    rig = parse_rig({"rig": {"name": "desk-3", "capabilities": ["audio_loopback"]}})
    assert rig.lacks(("power",)) == ("rig 'desk-3' has no power relay in the phone's supply "
                                     "(power-cut tests)")
    assert "power relay" in BARE.lacks(("power",)) and SIM.lacks(("power", "flash")) is None


@pytest.mark.parametrize("text, says", [
    ("", "[rig] name is missing"),
    ('[rig]\nname = "x"\ncapabilities = ["teleport"]', "unknown teleport"),
    ('[rig]\nname = "x"\ncapabilities = ["power"]', "'power' and a [power] table go together"),
    ('[rig]\nname = "x"\n[power]\non = "a"\noff = "b"', "'power' and a [power] table"),
    ('[rig]\nname = "x"\ncapabilities = ["power"]\n[power]\non = "a"', "[power] off must be"),
    ('[rig]\nname = "x"\ncapabilities = ["power"]\n[power]\non = "a"\noff = "b"\noff_s = 0',
     "off_s must be seconds"),
    ('[rig]\nname = "x"\ncapabilities = ["flash"]', "'flash' and a [flash] key"),
])
def test_a_bad_rig_file_says_what_is_wrong(text, says):
    with pytest.raises(RigError) as e:
        parse_rig(tomllib.loads(text), "r.toml")
    assert str(e.value).startswith("r.toml: ") and says in str(e.value)


def test_an_unreadable_rig_file_is_a_rig_error(tmp_path):
    with pytest.raises(RigError, match="not TOML"):
        (tmp_path / "r.toml").write_text("rig]")
        load_rig(tmp_path / "r.toml")
    with pytest.raises(RigError, match="No such file"):
        load_rig(tmp_path / "none.toml")


def test_power_cycle_runs_off_then_on(tmp_path):
    log = tmp_path / "relay.log"
    rig = parse_rig({"rig": {"name": "r", "capabilities": ["power"]},
                     "power": {"on": f"sh -c 'echo on >> {log}'",
                               "off": f"sh -c 'echo off >> {log}'", "off_s": 0.01}})
    rig.power_cycle()
    assert log.read_text() == "off\non\n"
    with pytest.raises(RigError, match="no power relay"):
        BARE.power_cycle()
