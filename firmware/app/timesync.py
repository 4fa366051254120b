"""Time before trust: is the wall clock synchronized yet?

A Raspberry Pi has no battery-backed clock. After a cold boot without network time its clock
is wherever fake-hwclock left it (the last shutdown, or the last hourly save before the plug
was pulled): certificates look not yet valid or long expired, and every timer the server sends
is off. So on such a board the phone opens no TLS link (contact center, SIP) until the clock
is synchronized, and says ``Waiting for time`` meanwhile (docs/pi.md, "Time").

Synchronized means either of:
- systemd-timesyncd's flag file exists (``/run/systemd/timesync/synchronized``, created once
  it has set the clock from a server; it is on tmpfs, so a reboot starts over);
- the kernel's clock status, read with adjtimex(2), is not TIME_ERROR: chrony and ntpd clear
  STA_UNSYNC once they discipline the clock (timesyncd does too).
"""
from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("hardphone")

TIMESYNCD_FLAG = Path("/run/systemd/timesync/synchronized")
TIME_ERROR = 5                  # adjtimex(2): the clock is not synchronized (STA_UNSYNC set)
_TIMEX_BYTES = 512              # struct timex is 208 bytes on 64-bit Linux: room to spare
CHECK_EVERY_S = 1.0
SAY_EVERY_S = 60.0


def kernel_synchronized() -> bool | None:
    """The kernel's view (adjtimex with modes 0: read only), None where it can't be asked."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        timex = ctypes.create_string_buffer(_TIMEX_BYTES)     # modes = 0: change nothing
        state = libc.adjtimex(timex)
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != TIME_ERROR


def synchronized(flag: Path | None = TIMESYNCD_FLAG, kernel: bool = True) -> bool:
    """The clock is to be trusted: the flag file is there, or (``kernel``) adjtimex says so."""
    if flag is not None and flag.exists():
        return True
    return kernel and kernel_synchronized() is True


async def wait_until_synchronized(check: Callable[[], bool],
                                  every: float = CHECK_EVERY_S) -> float:
    """Return once ``check()`` is true; the seconds waited. Says so in the log now and then."""
    loop = asyncio.get_running_loop()
    started = said = loop.time()
    while not await asyncio.to_thread(check):
        if loop.time() - said >= SAY_EVERY_S:
            said = loop.time()
            log.warning("still waiting for network time (%.0f s): no TLS link until then",
                        said - started)
        await asyncio.sleep(every)
    return loop.time() - started
