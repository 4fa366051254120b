"""Field flashing end to end: the host flasher and smpmgr against a sim phone running under
its launcher, its console on a serial line that can be cut, paced and made noisy."""
import os
import random
import shutil
import subprocess
import sys
import time

import pytest

from firmware.update.image import auto_security_counter
from firmware.update.slots import SlotStore
from tools.flash.console import ConsoleLink
from tools.flash.session import FlashError, flash, identify
from tools.mkimage.build import tree_version
from tools.serial_line import SerialLine
from tools.simdevice import ROOT, Kit, SimDevice

pytestmark = pytest.mark.slow

FAST = 2_000_000            # a line fast enough that tests don't wait on it


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    k = Kit(tmp_path_factory.mktemp("kit"))
    k.v1 = k.image("1.0.0")
    k.v2 = k.image("1.1.0")
    k.v3 = k.image("1.2.0")
    k.v3_delta = k.image("1.2.0", delta_from=k.v2, name="hardphone-1.2.0-from-1.1.0")
    k.crash = k.image("1.3.0", crash=True)
    k.rpi_only = k.image("1.4.0", boards=("rpi4",))
    other = Kit(k.dir / "other")
    k.foreign = other.image("1.5.0")
    # 1.0.0's code re-signed with 1.1.0's counter: how a technician goes back on purpose
    k.v1_resigned = k.image("1.0.0", name="hardphone-1.0.0-resigned",
                            security_counter=auto_security_counter("1.1.0"))
    return k


@pytest.fixture
def line():
    with SerialLine(FAST) as ln:
        yield ln


@pytest.fixture
def phone(tmp_path, kit, line):
    dev = SimDevice(tmp_path, kit, line.device_end, kit.v1)
    dev.power_on()
    dev.wait_ready()
    yield dev
    dev.stop()


def slots(port):
    return identify(port, 115200).slots


def test_full_then_delta_update(phone, line, kit, tmp_path):
    only_full = tmp_path / "release" / "hardphone-1.1.0.img"
    only_full.parent.mkdir()
    shutil.copy(kit.v2, only_full)
    r = flash(line.host_end, only_full)
    assert (r.before.version, r.before.slot) == ("1.0.0", "a")
    assert (r.after.version, r.after.slot) == ("1.1.0", "b")
    assert ("slot b: version=1.1.0 state=active confirmed=yes boots=1 counter=16842752"
            in r.after.slots)
    assert ("slot a: version=1.0.0 state=inactive confirmed=yes boots=0 counter=16777216"
            in r.after.slots)

    # 1.2.0 ships as a full image with a delta from 1.1.0 beside it: the delta goes
    r = flash(line.host_end, kit.v3)
    assert r.image == kit.v3_delta and r.bytes_sent == kit.v3_delta.stat().st_size
    assert r.bytes_sent < kit.v3.stat().st_size / 3
    assert (r.after.version, r.after.slot) == ("1.2.0", "a")


def test_an_image_built_as_another_version_runs_as_that_version(phone, line, kit, tmp_path):
    """`mkimage build --version X` of this repo, whose firmware/version.py says another
    version: once flashed, `slots`, `version` and the boot banner all say X."""
    wanted = "3.1.0" if tree_version(ROOT) != "3.1.0" else "3.2.0"
    image = tmp_path / f"hardphone-{wanted}.img"
    run = subprocess.run([sys.executable, "-m", "tools.mkimage", "build", "--version", wanted,
                          "--key", str(kit.key), "--out", str(image)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    r = flash(line.host_end, image)
    assert (r.after.version, r.after.slot) == (wanted, "b")          # `version`, at the end
    assert any(s.startswith(f"slot b: version={wanted} state=active confirmed=yes")
               for s in r.after.slots), r.after.slots
    assert console(line.host_end, "version").startswith(f"version {wanted} board=sim slot=b")
    link = ConsoleLink(line.host_end, 115200)       # open before the reset: the banner is kept
    try:
        assert link.command("reboot")[0] == "ok"
        assert link.wait_boot(30) == (wanted, "sim", "b")
    finally:
        link.close()


def test_smpmgr_reads_uploads_tests_and_confirms(phone, line, kit):
    def smpmgr(*args):
        r = subprocess.run([str(ROOT / ".venv/bin/smpmgr"), "--port", line.host_end,
                            "--timeout", "10", *args], capture_output=True, text=True,
                           timeout=120, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout

    out = smpmgr("image", "state-read")
    assert "1.0.0" in out
    smpmgr("image", "upload", str(kit.v2))
    out = smpmgr("image", "state-read")
    assert "1.1.0" in out
    from tools.flash.session import image_digest
    mark = phone.wait_ready()
    smpmgr("image", "state-write", image_digest(kit.v2.read_bytes()).hex())
    smpmgr("os", "reset")
    phone.wait_line("slot=b version=1.1.0 trial=yes", after=mark)
    phone.wait_ready(after=mark + 1)
    smpmgr("image", "state-write", "--confirm")
    assert ("slot b: version=1.1.0 state=active confirmed=yes boots=1 counter=16842752"
            in slots(line.host_end))


def test_firmware_that_crashes_at_start_is_reverted(phone, line, kit):
    with pytest.raises(FlashError, match="reverted"):
        flash(line.host_end, kit.crash, boot_timeout=30)
    assert any(line.startswith("boot: slot b crashed") for line in phone.lines), phone.lines
    assert "this firmware crashes at start" in (phone.dir / "launcher.log").read_text()
    s = slots(line.host_end)
    assert "slot a: version=1.0.0 state=active confirmed=yes boots=0 counter=16777216" in s
    assert any(x.startswith("slot b: version=1.3.0") and "confirmed=no" in x for x in s)


@pytest.mark.parametrize("which,reason", [
    ("foreign", "signature"),
    ("rpi_only", "for board rpi4"),
    ("truncated", "truncated"),
    ("flipped", "corrupt"),
    ("oversize", "too large"),
])
def test_bad_images_are_refused_and_the_phone_is_untouched(phone, line, kit, tmp_path, which,
                                                           reason):
    if which in ("foreign", "rpi_only"):
        image = getattr(kit, which)
    else:
        data = bytearray(kit.v2.read_bytes())
        if which == "truncated":
            data = data[: len(data) * 2 // 3]
        elif which == "flipped":
            data[len(data) // 2] ^= 0x10
        else:
            data += bytes(33 * 1024 * 1024)
        image = tmp_path / f"{which}.img"
        image.write_bytes(data)
    with pytest.raises(FlashError, match=reason):
        flash(line.host_end, image)
    s = slots(line.host_end)
    assert "slot a: version=1.0.0 state=active confirmed=yes boots=0 counter=16777216" in s
    assert not any("trial" in x for x in s)
    log = (phone.dir / "launcher.log").read_text()
    assert reason in log                  # the phone's log says why, too


def console(port, command):
    from tools.flash.console import ConsoleLink
    link = ConsoleLink(port, 115200)
    try:
        return link.command(command, timeout=5)[0]
    finally:
        link.close()


def test_an_older_image_is_refused_and_the_phone_keeps_its_firmware(phone, line, kit):
    r = flash(line.host_end, kit.v2)
    assert (r.after.version, r.after.slot) == ("1.1.0", "b")
    before = slots(line.host_end)
    # 1.1.0 -> 1.0.0, correctly signed but older: refused, said on both ends
    run = subprocess.run([str(ROOT / "flash.sh"), line.host_end, str(kit.v1)],
                         capture_output=True, text=True, timeout=120, cwd=ROOT,
                         env={**os.environ, "COLUMNS": "200"})
    why = ("refused: image security counter 16777216 is below the phone's 16842752 "
           "(anti-rollback)")
    assert run.returncode == 1, run.stdout + run.stderr
    assert why in run.stdout and "flash: done" not in run.stdout, run.stdout
    assert "--security-counter 16842752" in run.stdout           # how to go back on purpose
    assert why in (phone.dir / "launcher.log").read_text()
    # nothing changed: 1.1.0 runs confirmed, the old 1.0.0 lies untouched in slot a
    assert slots(line.host_end) == before == [
        "slot a: version=1.0.0 state=inactive confirmed=yes boots=0 counter=16777216",
        "slot b: version=1.1.0 state=active confirmed=yes boots=1 counter=16842752"]
    assert console(line.host_end, "version").startswith("version 1.1.0 ")
    # nor can the console bring 1.0.0 back
    assert console(line.host_end, "revert") == (
        "error slot a (1.0.0): image security counter 16777216 is below the phone's 16842752 "
        "(anti-rollback)")


def test_an_older_version_re_signed_with_the_current_counter_installs(phone, line, kit):
    flash(line.host_end, kit.v2)
    r = flash(line.host_end, kit.v1_resigned)
    assert (r.before.version, r.after.version, r.after.slot) == ("1.1.0", "1.0.0", "a")
    assert "slot a: version=1.0.0 state=active confirmed=yes boots=1 counter=16842752" in \
        r.after.slots
    with pytest.raises(FlashError, match="security counter 16777216 is below the phone's "
                                         "16842752"):
        flash(line.host_end, kit.v1)                  # the original 1.0.0 still is not


def cut_at(line, fraction, seconds):
    """A progress hook for flash(): pull the cable once the upload passes ``fraction``."""
    def factory(total, path):
        fired = []

        def progress(offset):
            if not fired and offset >= fraction * total:
                fired.append(offset)
                line.cut(seconds)
        return progress, lambda: None
    return factory


# one random cut point a run (two more cost CI 40 s; unit tests cover the resume offsets)
@pytest.mark.parametrize("seed", [2])
def test_a_pulled_cable_mid_upload_resumes(tmp_path, kit, seed):
    rng = random.Random(seed)
    with SerialLine(230_400) as line:                    # ~2.6 s for the image
        dev = SimDevice(tmp_path, kit, line.device_end, kit.v1)
        dev.power_on()
        dev.wait_ready()
        try:
            r = flash(line.host_end, kit.v2,
                      progress_factory=cut_at(line, rng.uniform(0.05, 0.9), 1.0))
            assert r.retries >= 1 and (r.after.version, r.after.slot) == ("1.1.0", "b")
        finally:
            dev.stop()


def test_bit_flips_on_the_line_are_caught_and_retried(tmp_path, kit):
    with SerialLine(FAST, flip_rate=2e-5, seed=7) as line:
        dev = SimDevice(tmp_path, kit, line.device_end, kit.v1)
        dev.power_on()
        dev.wait_ready()
        try:
            line.flip_rate = 0      # let the console commands through, then add noise
            before = identify(line.host_end, 115200)
            assert before.version == "1.0.0"
            line.flip_rate = 2e-5
            r = flash(line.host_end, kit.v2)
        finally:
            dev.stop()
    assert line.flipped >= 1
    assert (r.after.version, r.after.slot) == ("1.1.0", "b")


@pytest.mark.parametrize("seed", [12])
def test_power_cut_mid_upload_then_the_upload_resumes(tmp_path, kit, seed):
    fraction = random.Random(seed).uniform(0.3, 0.95)   # past the first 16 KiB chunk
    with SerialLine(230_400) as line:
        dev = SimDevice(tmp_path, kit, line.device_end, kit.v1)
        dev.power_on()
        dev.wait_ready()
        try:
            def power_cut_at(total, path):
                def progress(offset):
                    if offset >= fraction * total and dev.proc.poll() is None:
                        dev.power_cut()
                return progress, lambda: None

            with pytest.raises(FlashError, match="stalled|no phone"):
                flash(line.host_end, kit.v2, progress_factory=power_cut_at, patience_s=2)
            mark = len(dev.lines)
            dev.power_on()
            dev.wait_ready(after=mark)
            assert "slot=a version=1.0.0" in "\n".join(dev.lines[mark:])
            r = flash(line.host_end, kit.v2)
            assert (r.after.version, r.after.slot) == ("1.1.0", "b")
            log = (dev.dir / "launcher.log").read_text()
            resumed = int(log.split("resuming upload at ")[1].split()[0])
            assert resumed >= 16 * 1024
        finally:
            dev.stop()


# before the health check (reverts), around the confirm write, well after it (b stays)
@pytest.mark.parametrize("delay", [0.0, 0.4, 1.5])
def test_power_cut_during_the_switch_boots_a_good_slot(phone, line, kit, delay):
    # the technician's flasher (its CLI) is abandoned with the cut: what it makes of a phone
    # gone dark is another test's; its waiting for it would only cost this one ~20 s
    flasher = subprocess.Popen([sys.executable, "-m", "tools.flash", line.host_end,
                                str(kit.v2), "--boot-timeout", "8", "--patience", "2"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    mark = len(phone.lines)
    try:
        phone.wait_line("slot=b version=1.1.0 trial=yes", after=mark, timeout=60)
        time.sleep(delay)
        phone.power_cut()
    finally:
        flasher.kill()
        flasher.wait()
    # what the cut left on disk decides (its log line comes after the confirm's writes)
    confirmed = bool(SlotStore(phone.root).state().confirmed.get("b"))
    mark = len(phone.lines)
    phone.power_on()
    phone.wait_ready(after=mark)
    booted = "\n".join(phone.lines[mark:])
    s = slots(line.host_end)
    if confirmed:           # the cut came after its health check: b is the firmware now
        assert "slot=b version=1.1.0 trial=no" in booted
        assert "slot b: version=1.1.0 state=active confirmed=yes boots=1 counter=16842752" in s
    else:                   # the unconfirmed trial reverted
        assert "slot=a version=1.0.0 trial=no" in booted
        assert "slot a: version=1.0.0 state=active confirmed=yes boots=0 counter=16777216" in s


def test_the_line_speed_is_negotiated_up_for_the_upload(tmp_path, kit):
    with SerialLine(115200, follow_speed=True) as line:
        dev = SimDevice(tmp_path, kit, line.device_end, kit.v1)
        dev.power_on()
        dev.wait_ready()
        try:
            r = flash(line.host_end, kit.v2, fast_baud=921600)
            assert r.baud == 921600
            assert r.bytes_sent / r.upload_s > 11_520 * 2      # faster than 115200 could be
            assert (r.after.version, r.after.slot) == ("1.1.0", "b")
            assert line.speeds() == (115200, 115200)          # the phone rebooted at its own
        finally:
            dev.stop()


def test_a_cable_that_cannot_carry_the_faster_speed_falls_back(tmp_path, kit):
    with SerialLine(115200, follow_speed=True, max_baud=115200) as line:
        dev = SimDevice(tmp_path, kit, line.device_end, kit.v1)
        dev.power_on()
        dev.wait_ready()
        try:
            said = []
            # a delta: what goes over the slow line is the fallback, not 240 KB at 115200
            delta = kit.image("1.1.0", delta_from=kit.v1, name="fallback-delta")
            r = flash(line.host_end, delta, fast_baud=921600, say=said.append)
            assert r.baud == 115200 and any("does not get through" in s for s in said)
            assert (r.after.version, r.after.slot) == ("1.1.0", "b")
            assert "nobody spoke at 921600 baud; back to 115200" in \
                (dev.dir / "launcher.log").read_text()
        finally:
            dev.stop()
