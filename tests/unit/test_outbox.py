"""The contact-center outbox on a really full disk (a 64 KiB tmpfs): a request the server has
acknowledged never stays on disk to be sent again after a reboot, and what is pending survives."""
import errno
import json
import os

import pytest

from firmware.cc.connection import OutboxFile
from firmware.cc.outbox import SLOT_BYTES
from tests.fullfs import fill, small_tmpfs

AVAILABLE = '{"type":"set_state","id":"r2","state":"available","reason":""}'
IDLE = '{"type":"set_state","id":"r3","state":"idle","reason":"lunch"}'


@pytest.fixture
def disk(tmp_path):
    with small_tmpfs(tmp_path / "state") as where:
        yield where


def reboot(path):
    """What a freshly booted phone finds in the outbox."""
    return OutboxFile(path).load()


def test_an_acknowledged_request_is_cleared_although_the_disk_is_full(disk):
    path = disk / "cc-outbox.dat"
    outbox = OutboxFile(path)
    outbox.load()
    outbox.save([AVAILABLE])                    # sent, not acknowledged yet
    fill(disk)
    outbox.save([])                             # the server acknowledged it
    assert reboot(path) == []                   # not sent again after a reboot


def test_requests_queued_on_a_full_disk_are_kept_and_cleared(disk):
    path = disk / "cc-outbox.dat"
    results = []
    outbox = OutboxFile(path, on_result=results.append)
    outbox.load()
    outbox.save([])
    fill(disk)
    outbox.save([AVAILABLE])
    outbox.save([AVAILABLE, IDLE])
    assert results == [None, None, None] and reboot(path) == [AVAILABLE, IDLE]
    outbox.save([IDLE])
    assert reboot(path) == [IDLE]


def test_no_room_for_the_file_keeps_nothing_stale_and_says_full(disk):
    fill(disk)
    results = []
    outbox = OutboxFile(disk / "cc-outbox.dat", on_result=results.append)
    outbox.load()
    outbox.save([AVAILABLE])
    assert results[-1].errno == errno.ENOSPC
    assert reboot(disk / "cc-outbox.dat") == []
    assert not [p.name for p in disk.iterdir() if p.name.startswith("cc-outbox")]


def test_more_than_the_file_holds_on_a_full_disk_keeps_the_oldest_pending(disk):
    path = disk / "cc-outbox.dat"
    results = []
    outbox = OutboxFile(path, on_result=results.append)
    outbox.load()
    outbox.save([AVAILABLE])
    fill(disk)
    many = [IDLE.replace('"r3"', f'"r{i}"') for i in range(4, 4 + 2 * SLOT_BYTES // len(IDLE))]
    outbox.save(many)                           # the file would have to grow: no room
    assert results[-1].errno == errno.ENOSPC
    kept = reboot(path)
    assert kept and kept == many[:len(kept)] and AVAILABLE not in kept
    outbox.save([])
    assert reboot(path) == []


def test_a_torn_write_leaves_the_copy_before_it(tmp_path):
    path = tmp_path / "cc-outbox.dat"
    outbox = OutboxFile(path)
    outbox.load()
    outbox.save([AVAILABLE])
    outbox.save([AVAILABLE, IDLE])              # goes to the other half
    data = path.read_bytes()
    size, half = len(data), len(data) // 2
    newest = 0 if b"lunch" in data[:half] else half
    with open(path, "r+b") as f:                # power lost half way through that write
        f.seek(newest + 70)
        f.write(b"\0" * 40)
    assert reboot(path) == [AVAILABLE]
    assert os.path.getsize(path) == size


def test_the_old_json_outbox_is_taken_over_even_on_a_full_disk(disk):
    old = disk / "cc-outbox.json"
    old.write_text(json.dumps([AVAILABLE]), encoding="utf-8")
    fill(disk)
    outbox = OutboxFile(disk / "cc-outbox.dat")
    assert outbox.load() == [AVAILABLE]         # still pending: it will be sent
    outbox.save([])                             # ... and acknowledged
    assert reboot(disk / "cc-outbox.dat") == [] and not old.exists()
