"""The service console under a burst: a host that sends many commands without reading, then
reads. Through the phone's real pty: every reply arrives whole, or as `error busy`."""
import os
import select
import threading
import time
import tty

from firmware.console.commands import HELP
from tools import simphone

COMMANDS = 600              # ~1.2 KB of reply each: ~700 KB waiting, far over the 64 KiB buffer


def _read_all(fd, idle_s: float) -> bytes:
    """Read until nothing has come for ``idle_s``."""
    got = bytearray()
    while select.select([fd], [], [], idle_s)[0]:
        try:
            got += os.read(fd, 65536)
        except BlockingIOError:
            continue
    return bytes(got)


def test_a_burst_of_commands_unread_gets_whole_replies_or_busy(tmp_path):
    width = max(len(c) for c, _ in HELP)
    help_lines = {f"help {c.ljust(width)}  {text}" for c, text in HELP}
    with simphone.start(tmp_path, page_port=None) as phone:
        fd = os.open(phone.console, os.O_RDWR | os.O_NOCTTY)
        try:
            tty.setraw(fd)
            os.set_blocking(fd, False)
            _read_all(fd, 0.3)                               # the boot banner and READY

            def flood():                   # a host that sends command after command, unread
                for _ in range(COMMANDS):
                    data = b"help\n"
                    while data:
                        try:
                            data = data[os.write(fd, data):]
                        except BlockingIOError:              # the phone has stopped reading
                            select.select([], [fd], [], 1)
                    time.sleep(0.001)                        # a host's pace, not a wait
            writer = threading.Thread(target=flood)
            writer.start()
            time.sleep(3.0)                                  # the subject: 3 s unread
            replies = _read_all(fd, 2.0)
            writer.join(10)
            assert not writer.is_alive()
            replies += _read_all(fd, 1.0)
        finally:
            os.close(fd)
        log = (tmp_path / "phone.log").read_text()

    lines = replies.decode().split("\n")
    assert lines[-1] == "", "a reply cut short at the end"
    whole, busy, bad = 0, 0, []
    current = 0                                              # lines of the help reply so far
    for line in lines[:-1]:
        if line in help_lines:
            current += 1
        elif line == "help.":
            if current != len(HELP):
                bad.append(f"a help reply of {current} lines")
            whole, current = whole + 1, 0
        elif line.startswith("error busy") and current == 0:
            busy += 1
        else:
            bad.append(line)
    assert not bad, f"{len(bad)} garbled lines, e.g. {bad[:3]}"
    assert whole + busy == COMMANDS, (whole, busy)           # one reply per command, none lost
    assert whole > 64 and len(replies) > 64 * 1024           # more than one buffer's worth
    assert "console: output backed up" in log                # and the log says it happened
    assert ("console: busy" in log) == (busy > 0)
