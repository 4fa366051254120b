"""Process start -> READY."""
from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from tools import simphone

from .table import table

GOAL_S = 1.5


def run(boots: int) -> str:
    times = []
    with tempfile.TemporaryDirectory() as d:
        for i in range(boots):
            phone = simphone.start(Path(d) / f"p{i}")
            times.append(phone.ready_after_s)
            phone.stop()
    return table(f"Boot: process start -> READY ({boots} starts, sim board)",
                 ["min s", "median s", "max s", "goal s"],
                 [[min(times), statistics.median(times), max(times), GOAL_S]])
