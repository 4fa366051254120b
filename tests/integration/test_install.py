"""deploy/: the systemd unit passes `systemd-analyze verify`, and deploy/install.sh places
every file with its mode and owner, in a staging root (HARDPHONE_ROOT) on this amd64 machine.
The same script runs for real in an arm64 Debian 12 chroot (tools/aarch64)."""
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from firmware.update.slots import SlotStore

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "deploy" / "hardphone.service"


def test_the_unit_passes_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    assert analyze, "no systemd-analyze: apt-get install systemd (tools/setup/system-packages.sh)"
    text = UNIT.read_text()
    # verify wants ExecStart's program to exist: this machine's python stands in for the venv's
    unit = tmp_path / "hardphone.service"
    unit.write_text(text.replace("/opt/hardphone/venv/bin/python", sys.executable))
    r = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True,
                       timeout=60, env={**os.environ, "SYSTEMD_LOG_LEVEL": "notice"})
    assert (r.returncode, r.stdout + r.stderr) == (0, "")
    for line in ("Type=notify", "NotifyAccess=all", "WatchdogSec=30", "Restart=always",
                 "User=hardphone", "ProtectSystem=strict", "ReadWritePaths=/var/lib/hardphone",
                 "NoNewPrivileges=yes", "SupplementaryGroups=gpio i2c dialout audio",
                 "ExecStart=/opt/hardphone/venv/bin/python -m firmware.update.boot --root "
                 "/var/lib/hardphone/update -- --board rpi4 --config /etc/hardphone.toml"):
        assert line in text.splitlines()


def test_verify_catches_a_broken_unit(tmp_path):
    """The check above means something: a misspelt key is reported."""
    unit = tmp_path / "hardphone.service"
    unit.write_text(UNIT.read_text().replace("/opt/hardphone/venv/bin/python", sys.executable)
                    .replace("WatchdogSec=", "WatchDogSec="))
    r = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                       text=True, timeout=60)
    assert "Unknown key 'WatchDogSec'" in r.stdout + r.stderr


@pytest.fixture
def image(tmp_path):
    key = tmp_path / "keys" / "release.pem"
    subprocess.run([sys.executable, "-m", "tools.mkimage", "keygen", "--key", str(key)],
                   cwd=REPO, check=True, capture_output=True)
    out = tmp_path / "hardphone.img"
    subprocess.run([sys.executable, "-m", "tools.mkimage", "build", "--board", "rpi4",
                    "--key", str(key), "--out", str(out)],
                   cwd=REPO, check=True, capture_output=True)
    return out, key.with_name("release.pub.pem")


def install(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(REPO / "deploy" / "install.sh"), "--no-apt", *args],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HARDPHONE_ROOT": str(root),
                               "HARDPHONE_TEST_PYTHON": sys.executable})


def owner(path: Path, root: Path) -> tuple[str, str]:
    """(user, group) by the staging root's own passwd and group files."""
    st = path.stat()
    users = {int(f[2]): f[0] for f in (line.split(":") for line in
                                       (root / "etc/passwd").read_text().splitlines())}
    groups = {int(f[2]): f[0] for f in (line.split(":") for line in
                                        (root / "etc/group").read_text().splitlines())}
    return users.get(st.st_uid, str(st.st_uid)), groups.get(st.st_gid, str(st.st_gid))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(os.geteuid() != 0, reason="creates a user in the staging root: root only")
def test_install_places_the_phone_in_a_staging_root(tmp_path, image):
    img, pub = image
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    for name in ("passwd", "group", "shadow", "gshadow", "login.defs"):
        shutil.copy(Path("/etc") / name, root / "etc" / name)
    config = tmp_path / "site.toml"
    config.write_text('[phone]\nstate_dir = "/var/lib/hardphone"\n'
                      '[time]\nservers = ["ntp1.example.com", "10.1.2.3"]\n')

    r = install(root, "--image", str(img), "--key", str(pub), "--config", str(config))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "hardphone installed" in r.stdout and "slot a provisioned" in r.stdout

    passwd = {f[0]: f for f in (line.split(":") for line in
                                (root / "etc/passwd").read_text().splitlines())}
    assert passwd["hardphone"][5:] == ["/var/lib/hardphone", "/usr/sbin/nologin"]
    members = {f[0]: f[3].split(",") for f in (line.split(":") for line in
                                               (root / "etc/group").read_text().splitlines())}
    for group in ("gpio", "i2c", "dialout", "audio"):
        assert "hardphone" in members[group], group

    toml = root / "etc/hardphone.toml"
    assert (mode(toml), owner(toml, root)) == (0o600, ("hardphone", "hardphone"))
    assert toml.read_text() == config.read_text()
    state = root / "var/lib/hardphone"
    assert owner(state, root)[0] == owner(state / "update", root)[0] == "hardphone"
    assert owner(state / "update/slots/a/firmware/__main__.py", root)[0] == "hardphone"
    # the root the launcher boots from: slot a, found and pointed at on its first start
    store = SlotStore(state / "update")
    assert store.holds_tree("a") and store.begin_boot() == "a"
    assert (root / "etc/hardphone/update-key.pem").read_bytes() == pub.read_bytes()

    unit = root / "etc/systemd/system/hardphone.service"
    assert unit.read_text() == UNIT.read_text() and mode(unit) == 0o644
    wants = root / "etc/systemd/system/multi-user.target.wants/hardphone.service"
    assert os.readlink(wants) == "/etc/systemd/system/hardphone.service"
    rules = (root / "etc/udev/rules.d/60-hardphone.rules").read_text()
    for device, group in (("gpiochip*", "gpio"), ("i2c-[0-9]*", "i2c"),
                          ("ttyAMA[0-9]*", "dialout")):
        assert f'KERNEL=="{device}", GROUP="{group}", MODE="0660"' in rules
    assert (root / "etc/asound.conf").read_text() == (REPO / "board/rpi4/asound.conf").read_text()
    ntp = (root / "etc/systemd/timesyncd.conf.d/hardphone.conf").read_text()
    assert ntp.splitlines()[-1] == "NTP=ntp1.example.com 10.1.2.3"
    fake_hwclock = (root / "etc/default/fake-hwclock").read_text()
    assert "FILE=/var/lib/hardphone/fake-hwclock.data" in fake_hwclock
    assert os.readlink(root / "etc/systemd/system/serial-getty@ttyAMA0.service") == "/dev/null"

    # again (idempotent): the config, and the slots the phone booted from, are left alone
    toml.write_text(toml.read_text() + "# edited on the phone\n")
    r = install(root, "--image", str(img), "--key", str(pub), "--config", str(config))
    assert r.returncode == 0, r.stdout + r.stderr
    assert toml.read_text().endswith("# edited on the phone\n") and mode(toml) == 0o600
    assert "--config" in r.stderr and "NOT installed" in r.stderr
    assert "slots left alone" in r.stdout
    assert sum(line.startswith("hardphone:") for line in
               (root / "etc/passwd").read_text().splitlines()) == 1
    r = install(root, "--image", str(img))            # no --key: the installed key stays
    assert r.returncode == 0 and "DEV key" not in r.stderr, r.stdout + r.stderr
    assert (root / "etc/hardphone/update-key.pem").read_bytes() == pub.read_bytes()


def test_install_refuses_without_an_image(tmp_path):
    r = install(tmp_path / "root")
    assert r.returncode == 1 and "--image FILE is required" in r.stderr
