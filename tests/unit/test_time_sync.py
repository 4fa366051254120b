"""Time before trust: [time] in the config, the sync check (firmware/app/timesync.py), and the
home screen while the clock is not synchronized."""
import asyncio
import time

import pytest

from firmware.app import timesync
from firmware.app.config import ConfigError, TimeConfig, load_config
from firmware.core import events as ev
from firmware.core.model import Model
from firmware.ui.view import render

from .test_agent_rules import INFO, NOW, agent, home, run


def rows(m: Model) -> tuple[str, ...]:
    return render(m).rows


def test_home_says_waiting_for_time_and_shows_no_clock_until_synchronized():
    m = run(home(cc="off"), ev.ClockSync(False), ev.LoginFromConfig("1001", "1234"))[0]
    r = rows(m)
    assert r[0] == "Logging in...  --:--"
    assert r[2].strip() == "Waiting for time"
    m = run(m, ev.ClockSync(True), ev.Tick(time.mktime((2026, 11, 22, 9, 41, 0, 0, 0, -1))))[0]
    assert rows(m)[0].endswith("09:41") and "Waiting for time" not in "".join(rows(m))
    assert rows(m)[2].startswith("Sun 22 Nov 2026")


def test_a_logged_in_agent_keeps_the_state_line_while_the_clock_is_lost():
    m = run(agent(), ev.ClockSync(False))[0]
    assert rows(m)[0] == "Available      --:--" and rows(m)[2].strip() == "Waiting for time"


def test_storage_trouble_outranks_the_wait():
    m = run(home(), ev.ClockSync(False), ev.StorageStatus("full"))[0]
    assert rows(m)[2].strip() == "Storage full"


def test_the_model_starts_synchronized():
    assert not Model(info=INFO, now=NOW).waiting_for_time


def test_synchronized_by_the_flag_file_or_the_kernel(tmp_path, monkeypatch):
    flag = tmp_path / "synchronized"
    monkeypatch.setattr(timesync, "kernel_synchronized", lambda: False)
    assert not timesync.synchronized(flag)
    flag.touch()
    assert timesync.synchronized(flag)
    monkeypatch.setattr(timesync, "kernel_synchronized", lambda: True)
    assert timesync.synchronized(tmp_path / "absent")
    assert not timesync.synchronized(tmp_path / "absent", kernel=False)
    assert not timesync.synchronized(None, kernel=False)


def test_the_kernel_is_asked_read_only():
    assert timesync.kernel_synchronized() in (True, False, None)     # no privilege needed


def test_wait_returns_once_synchronized():
    answers = iter([False, False, True])

    async def wait():
        return await timesync.wait_until_synchronized(lambda: next(answers), every=0.01)

    assert asyncio.run(wait()) >= 0.02


def test_time_section(tmp_path):
    p = tmp_path / "phone.toml"
    p.write_text('[time]\nwait_for_sync = true\nsync_file = "run/synced"\nkernel_sync = false\n'
                 'servers = ["ntp1.example.com", "10.0.0.1"]\n')
    t = load_config(str(p)).time
    assert t == TimeConfig(True, tmp_path / "run" / "synced", False,
                           ("ntp1.example.com", "10.0.0.1"))
    assert t.waits("sim")


@pytest.mark.parametrize("backend, waits", [("sim", False), ("rpi", True),
                                            ("frontpanel", False)])
def test_by_default_the_pi_waits_and_the_sim_boards_do_not(backend, waits):
    assert TimeConfig().waits(backend) is waits
    assert load_config(None).time.sync_file == timesync.TIMESYNCD_FLAG


@pytest.mark.parametrize("text, field", [
    ('wait_for_sync = "yes"', "time.wait_for_sync"),
    ('servers = ["ntp one"]', "time.servers"),
    ('servers = [1]', "time.servers"),
    ('servers = "ntp.example.com"', "time.servers"),
    ('when = 1', "time.when"),
])
def test_bad_time_sections(tmp_path, text, field):
    p = tmp_path / "phone.toml"
    p.write_text(f"[time]\n{text}\n")
    with pytest.raises(ConfigError, match=field):
        load_config(str(p))


def test_the_install_template_waits(tmp_path):
    from pathlib import Path
    template = Path(__file__).resolve().parents[2] / "deploy" / "hardphone.toml"
    config = load_config(str(template))
    assert config.time.wait_for_sync is True
    assert str(config.update.root) == "/var/lib/hardphone/update"
    assert str(config.state_dir) == "/var/lib/hardphone"
