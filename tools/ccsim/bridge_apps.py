"""A voice application the media bridge runs on a customer's leg (tools/ccsim/voiceapps.py
connects one; the bridge's "app" op runs it): the leg hears a prompt, out of any room, then
the bridge collects the customer's answer. Sans I/O: the bridge hands ``AppRun`` each tick's
20 ms of what the leg said and each DTMF key it sent, and plays what ``step`` returns.

Two ways to collect, after the prompt:
- "digits" (an IVR: a card payment, a survey): the DTMF keys the customer sends on the leg
  (during the prompt too: they may key ahead). It ends at ``#`` (not counted), at
  ``max_digits``, or when ``timeout_s`` pass with no key after the prompt (and after the last
  key). ok: at least one digit came. The digits themselves are never kept, logged or passed
  on: only how many came (a card number goes to no one in this simulation).
- "speech" (a voice signature): the leg's audio for ``record_s`` after the prompt, written to
  a WAV file (``RoomRecorder``, the leg alone) and judged by level: ok when 20 ms frames over
  SPEECH_DBFS (RMS) add up to SPEECH_MIN_S at least; a silent line is no answer.

The leg hears silence after the prompt (nothing of the agent, nor the agent of it).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .recorder import RoomRecorder
from .scenario import APP_MAX_DIGITS as MAX_DIGITS
from .scenario import APP_MAX_WAIT_S as MAX_WAIT_S

Frames = npt.NDArray[np.int16]

COLLECTS = ("digits", "speech")
APP_THEN = ("rejoin", "hangup")     # when it is over: back into its room, or hung up
SPEECH_DBFS = -40.0                 # a 20 ms frame over this (RMS) is speech ...
SPEECH_MIN_S = 0.5                  # ... and this much of it is an answer
END_KEY = "#"


def check(msg: dict[str, Any]) -> None:
    """An "app" command's fields besides its leg and prompt: ValueError naming the one that is
    wrong."""
    app = msg.get("app")
    if not isinstance(app, str) or not 0 < len(app) <= 64 or not app.isprintable():
        raise ValueError("app: app must be 1-64 printable characters (its code)")
    collect = msg.get("collect")
    if collect not in COLLECTS:
        raise ValueError(f"app: collect must be {' or '.join(map(repr, COLLECTS))}")
    if msg.get("then") not in APP_THEN:
        raise ValueError(f"app: then must be {' or '.join(map(repr, APP_THEN))}")
    if collect == "digits":
        n = msg.get("max_digits")
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_DIGITS:
            raise ValueError(f"app: max_digits must be a whole number, 1-{MAX_DIGITS}")
        _wait(msg, "timeout_s")
    else:
        _wait(msg, "record_s")
        file = msg.get("file")
        if (not isinstance(file, str) or not file.endswith(".wav") or not os.path.isabs(file)
                or not os.path.isdir(os.path.dirname(file))):
            raise ValueError("app: file must be an absolute .wav path in a directory that "
                             "exists")


def _wait(msg: dict[str, Any], key: str) -> None:
    value = msg.get(key)
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not 0 < value <= MAX_WAIT_S):
        raise ValueError(f"app: {key} must be a number of seconds, 0 < s <= {MAX_WAIT_S:g}")


def level_dbfs(frame: Frames | None) -> float:
    """A frame's RMS level (silence, or nothing: -120)."""
    if frame is None or not len(frame):
        return -120.0
    rms = float(np.sqrt(np.mean(frame.astype(np.float64) ** 2)))
    return 20 * math.log10(max(rms, 1e-3) / 32768)


@dataclass
class AppRun:
    """One application on one leg: ``step`` once a tick, ``key`` for each DTMF key; ``over``
    once it is done, then ``result()``."""
    app: str                            # its code (the bridge lists it; a restarted ccsim)
    prompt: Frames
    collect: str                        # "digits" | "speech"
    then: str                           # "rejoin" | "hangup"
    room: str | None = None             # the room the leg left for it (rejoin)
    max_digits: int = 1
    timeout_s: float = 10.0
    record_s: float = 4.0
    file: Path | None = None            # "speech": where the answer is recorded
    rate: int = 8000
    frame: int = 160                    # samples a tick
    ticks: int = 0                      # ticks so far
    digits: int = 0                     # how many keys came (never which)
    voiced: int = 0                     # "speech": frames over SPEECH_DBFS
    recorded: int = 0                   # ... frames recorded
    over: bool = False
    ended: str = ""                     # "#", "max", "timeout", "recorded", "stopped"
    _quiet_from: int = 0                # the tick the timeout counts from (a key moves it)
    _recorder: RoomRecorder | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.prompt_ticks = -(-len(self.prompt) // self.frame)
        self._quiet_from = self.prompt_ticks
        if self.collect == "speech" and self.file is not None:
            self._recorder = RoomRecorder(self.file, self.rate, self.frame)   # OSError: none

    @property
    def tick_s(self) -> float:
        return self.frame / self.rate

    def step(self, said: Frames | None) -> Frames:
        """One tick: what the leg said (None: nothing came); what it hears."""
        i = self.ticks
        self.ticks += 1
        if self.over:
            return np.zeros(self.frame, np.int16)
        if i < self.prompt_ticks:
            out = self.prompt[i * self.frame:(i + 1) * self.frame]
            if len(out) < self.frame:
                out = np.concatenate([out, np.zeros(self.frame - len(out), np.int16)])
            return out
        if self.collect == "speech":
            self._record(said)
        elif (self.ticks - self._quiet_from) * self.tick_s >= self.timeout_s - 1e-9:
            self._end("timeout")
        return np.zeros(self.frame, np.int16)

    def _record(self, said: Frames | None) -> None:
        if self._recorder is not None:
            self._recorder.write([said] if said is not None else [])
        self.recorded += 1
        if level_dbfs(said) > SPEECH_DBFS:
            self.voiced += 1
        if self.recorded * self.tick_s >= self.record_s - 1e-9:
            self._end("recorded")

    def key(self, digit: str) -> None:
        """A DTMF key the customer sent on the leg (a "digits" app's; else ignored)."""
        if self.over or self.collect != "digits":
            return
        if digit == END_KEY:
            self._end("#")
            return
        self.digits += 1
        self._quiet_from = max(self.prompt_ticks, self.ticks)
        if self.digits >= self.max_digits:
            self._end("max")

    def stop(self) -> None:
        """Cut short (the leg joined a room, heard something else, or ended)."""
        if not self.over:
            self._end("stopped")

    def _end(self, why: str) -> None:
        self.over, self.ended = True, why
        if self._recorder is not None:
            self._recorder.close()

    @property
    def ok(self) -> bool:
        if self.ended == "stopped":
            return False
        if self.collect == "digits":
            return self.digits > 0
        return self.voiced * self.tick_s >= SPEECH_MIN_S - 1e-9

    def result(self) -> dict[str, Any]:
        """What the bridge tells of it ("app_done"): ok, how it ended, and the count of digits
        or the seconds of speech and the recording's file."""
        said: dict[str, Any] = {"app": self.app, "ok": self.ok, "ended": self.ended}
        if self.collect == "digits":
            said["digits"] = self.digits
        else:
            said["speech_s"] = round(self.voiced * self.tick_s, 2)
            said["file"] = str(self.file) if self.file is not None else ""
        return said
