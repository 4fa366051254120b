"""``python -m tools.bench callbacks``, small: callbacks scheduled in ccsim's engine and SQLite,
a restart with them pending, and some fired by the server's own timer loop."""
from pathlib import Path

from tools.bench import callbacks


def test_the_report_has_every_figure_and_every_callback_fires_on_time():
    text = callbacks.run(pending=300, fired=40, spread_s=0.4)
    lines = text.splitlines()
    assert "with 300 callbacks pending" in text
    for what in ("schedule 300", "database size", "restart: a new engine loading them (300 "
                 "pending)", "engine memory", "firing: 40 due over 0.4 s",
                 "fired early / not fired"):
        assert any(what in line for line in lines), what
    early_missed = next(line for line in lines if "fired early / not fired" in line)
    assert early_missed.split("|")[2].strip() == "0 / 0"


def test_the_drafts_are_valid_and_the_fired_are_late_by_little(tmp_path):
    db = tmp_path / "cc.db"
    s = callbacks.scenario(db)
    callbacks.schedule(s, db, 100)
    took, held, pending = callbacks.restart(s, db)
    assert pending == 100 and took > 0 and held > 0
    late = callbacks.fire(s, Path(db), 20, 0.2)
    assert len(late) == 20 and all(0 <= x < 1.0 for x in late), late
