"""Whether the phone can still write its state (settings, the contact-center outbox): checked
after every write and every few seconds, and posted as StorageStatus when it changes, so a full
disk shows on the screen before it costs anything."""
from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from firmware.cc.outbox import storage_full
from firmware.core import events as ev
from firmware.core.vocab import StorageProblem

log = logging.getLogger("hardphone.storage")

LOW_BYTES = 16 * 1024        # less free than this in state_dir counts as full
CHECK_S = 5.0


def problem_of(state_dir: Path, error: OSError | None = None) -> StorageProblem:
    """"" when writes can go on; "full" or "failed" (with the last write's error) when not."""
    if error is not None:
        return "full" if storage_full(error) else "failed"
    try:
        st = os.statvfs(state_dir)
    except OSError:
        return "failed"
    return "full" if st.f_bavail * st.f_frsize < LOW_BYTES else ""


class StorageWatch:
    def __init__(self, state_dir: Path, post):
        self.state_dir, self._post = Path(state_dir), post
        self._problem: StorageProblem | None = None   # as last posted; None: nothing yet

    def report(self, error: OSError | None = None):
        """After a write (``error`` None: it went through), or to look at the free space."""
        problem = problem_of(self.state_dir, error)
        if problem != self._problem:
            if problem:
                log.error("storage %s: %s%s", self.state_dir, problem,
                          f" ({error})" if error else "")
            elif self._problem:
                log.info("storage %s: writable again", self.state_dir)
            self._problem = problem
            self._post(ev.StorageStatus(problem))

    async def run(self):
        while True:
            self.report()
            await asyncio.sleep(CHECK_S)
