"""Settings survive restarts; a damaged file costs the settings, never the boot."""
import json
from dataclasses import replace

from firmware.app.store import SettingsStore
from firmware.core.model import Settings


def test_round_trip(tmp_path):
    store = SettingsStore(tmp_path)
    s = replace(Settings(), ringer_volume=2, backlight="on")
    store.save(s)
    assert SettingsStore(tmp_path).load() == s
    assert not list(tmp_path.glob("*.tmp"))


def test_missing_file_gives_defaults(tmp_path):
    assert SettingsStore(tmp_path / "new").load() == Settings()


def test_corrupt_file_is_kept_aside(tmp_path):
    (tmp_path / "settings.json").write_text("{not json")
    assert SettingsStore(tmp_path).load() == Settings()
    assert (tmp_path / "settings.bad").read_text() == "{not json"


def test_bad_fields_fall_back_one_by_one(tmp_path):
    (tmp_path / "settings.json").write_text(json.dumps({"contrast": 3, "ringer_volume": -1}))
    assert SettingsStore(tmp_path).load() == replace(Settings(), contrast=3)
