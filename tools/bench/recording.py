"""Recording: the agent's Pause key -> the recording falls silent, measured in the recording
itself (docs/cc-protocol.md, "Recording").

A real lab (tools/lab.py) whose sales queue records: Kamailio, ccsim with its customers and
media bridge, one sim phone (agent 1001, saying 1 kHz into the handset) talking with a
simulated customer (440 Hz). Each round: `key soft4` (Pause) written to the phone's console,
stamped with ``time.time()`` (ccsim and the bridge run on this machine's clock); the recording
paused for 1 s, resumed with the same key, 1 s of talk. After the call the WAV is read: the
first sample of each silent run is placed on the clock by the recording's start (ccsim's
``started``, when it told the bridge; its first frame is written within a 20 ms tick of that)
and one frame per 20 ms tick after it (a tick the bridge ran late by more than a tick loses
its frame and pulls the rest early: the figures are then early by that much).

key -> server      the key's console write -> ccsim's pause (the admin API's
                   ``pauses[].from``): the console's path and the phone's link are in it
                   (cckeys times the pins to the server in-process: 9 ms)
server -> silence  ccsim's pause -> the recording's first silent sample (the bridge's part;
                   the file's timeline is placed to within a 20 ms tick, so it may read < 0)
key -> silence     the key's console write -> the recording's first silent sample
"""
from __future__ import annotations

import tempfile
import time
import wave
from pathlib import Path

import numpy as np

from .conference import speak
from .table import percentile, table

AGENT, PIN, HZ = "1001", "1234", 1000
PAUSE_S, TALK_S = 1.0, 1.0
RATE = 8000
SILENT_RUN = 80            # 10 ms of exact zeros: a pause (speech and tones never hold 0)


def silences(pcm: np.ndarray) -> list[int]:
    """The first sample of each run of at least SILENT_RUN zeros."""
    zero = np.concatenate([[0], (pcm == 0).astype(np.int8), [0]])
    edges = np.diff(zero)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [int(s) for s, e in zip(starts, ends) if e - s >= SILENT_RUN]


def run(rounds: int = 20) -> str:
    from tools.lab import Desk, Lab

    work = Path(tempfile.mkdtemp(prefix="bench-recording-"))
    keyed: list[float] = []
    with Lab(work / "lab", bridge=True, recorded=("sales",)) as lab:
        lab.start()
        desk = Desk(lab.phone(AGENT, pin=PIN, page_port=None))
        try:
            speak(desk, HZ, rounds * (PAUSE_S + TALK_S) + 30)
            desk.wait_status(agent="IDLE", cc="up", sip="registered", timeout=20)
            desk.key("soft1", "1")                                    # Available
            lab.wait_for(lambda: lab.agent(AGENT)["state"] == "available", desc="available")
            cid = lab.post_contact("sales", "+15551234567", {"customer": "Jo Smith"})
            desk.wait_lcd("Call 1 of 1")
            desk.hook(True)
            lab.wait_for(lambda: (lab.contact(cid)["recording"] or {}).get("state") == "on",
                         desc="recording")
            time.sleep(TALK_S)
            for n in range(rounds):
                keyed.append(time.time())
                desk.key("soft4")                                     # Pause
                lab.wait_for(lambda: len(lab.contact(cid)["recording"]["pauses"]) == n + 1,
                             desc="paused")
                time.sleep(PAUSE_S)
                desk.key("soft4")                                     # Resum
                lab.wait_for(lambda: lab.contact(cid)["recording"]["state"] == "on",
                             desc="resumed")
                time.sleep(TALK_S)
            desk.hook(False)
            rec = lab.wait_for(lambda: (r := lab.contact(cid)["recording"])["state"]
                               == "stopped" and r, desc="stopped")
        finally:
            desk.close()
    with wave.open(rec["file"]) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    starts = [rec["started"] + s / RATE for s in silences(pcm)]
    to_silence, to_server, server_to_silence = [], [], []
    for key, pause in zip(keyed, rec["pauses"]):
        first = next((s for s in starts if s > key - 0.5), None)
        if first is not None:
            to_silence.append((first - key) * 1000)
            server_to_silence.append((first - pause["from"]) * 1000)
        to_server.append((pause["from"] - key) * 1000)
    rows = [[name, len(v), percentile(v, 50), percentile(v, 99), max(v)]
            for name, v in (("key -> server", to_server), ("server -> silence", server_to_silence),
                            ("key -> silence", to_silence))]
    return table(f"Recording: Pause key -> silence in the recording, {rounds} pauses, 8 kHz "
                 f"(silent runs found: {len(starts)})",
                 ["step", "n", "p50 ms", "p99 ms", "max ms"], rows)
