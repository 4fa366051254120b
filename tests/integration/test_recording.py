"""Recording end to end (docs/cc-protocol.md, "Recording"): the sales queue records; ccsim's
bridge, which holds the customer's call, writes the room's mix to a WAV; a sim phone for 1001
says 1 kHz, the simulated customer 440 Hz. The agent pauses with the Pause softkey (the LCD
shows REC‖ and the time left), resumes, pauses again and lets it resume by itself; the
recording, decoded afterwards, has both tones where it recorded and exact silence where it was
paused, at the times the admin API gives; with SRTP too."""
import time
import wave

import numpy as np
import pytest

from tests.integration.test_consult import CUSTOMER_HZ, MIC_HZ, desk_for, talking_with_customer
from tools.ccsim.customers import tones
from tools.lab import Lab

pytestmark = pytest.mark.slow
RATE = 8000
EDGE_S = 0.3          # how far inside a stretch its content is checked (the key's way there)


@pytest.fixture(params=["rtp", "srtp"])
def lab(tmp_path, request):
    """The lab as in development and as in production (SIP over TLS, SRTP only): the bridge
    terminates each leg's SRTP, so it records the same decoded audio either way."""
    with Lab(tmp_path, bridge=True, secure=request.param == "srtp", recorded=("sales",),
             auto_resume_s=4) as lab:
        lab.start()
        yield lab


def recording(lab: Lab, cid: str) -> dict:
    return lab.contact(cid)["recording"]


def wait_state(lab: Lab, cid: str, state: str, pauses: int) -> dict:
    return lab.wait_for(lambda: (r := recording(lab, cid)) and r["state"] == state
                        and len(r["pauses"]) == pauses and r, desc=f"recording {state}")


def stretch(pcm: np.ndarray, started: float, start: float, end: float) -> np.ndarray:
    """The samples between two server times, EDGE_S inside them."""
    a, b = (round((t - started) * RATE) for t in (start + EDGE_S, end - EDGE_S))
    assert 0 <= a < b <= len(pcm), (a, b, len(pcm))
    return pcm[a:b]


def both_said(part: np.ndarray) -> bool:
    found = tones(part.tobytes(), RATE)
    return all(any(abs(f - hz) < hz * 0.03 for f in found) for hz in (CUSTOMER_HZ, MIC_HZ["1001"]))


def test_pause_resume_and_auto_resume_are_in_the_recording(lab):
    ana = desk_for(lab, "1001")
    cid = talking_with_customer(lab, ana)
    rec = wait_state(lab, cid, "on", 0)
    ana.wait_lcd("REC")
    assert ana.text().count("Pause") == 1                 # the 4th softkey
    time.sleep(2)
    ana.key("soft4")                                      # Pause
    wait_state(lab, cid, "paused", 1)
    ana.wait_lcd("REC‖ 00:0")                             # the time left of 4 s
    time.sleep(2)
    ana.key("soft4")                                      # Resum
    wait_state(lab, cid, "on", 1)
    ana.wait_lcd("Pause")
    time.sleep(2)
    ana.key("soft4")                                      # paused again: let it run out
    wait_state(lab, cid, "paused", 2)
    lab.wait_for(lambda: recording(lab, cid)["state"] == "on", timeout=8,
                 desc="the recording resuming by itself")
    time.sleep(2)
    ana.hook(False)                                       # the call is over: the file closes
    rec = wait_state(lab, cid, "stopped", 2)
    (first, second) = rec["pauses"]
    assert second["until"] - second["from"] == pytest.approx(4, abs=0.5)   # auto_resume_s
    with wave.open(rec["file"]) as w:
        assert (w.getframerate(), w.getnchannels()) == (RATE, 1)
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    started = rec["started"]
    assert len(pcm) / RATE > second["until"] + 1.5 - started
    recorded_parts = [(started, first["from"]), (first["until"], second["from"]),
                      (second["until"], second["until"] + 1.5)]
    for start, end in recorded_parts:
        assert both_said(stretch(pcm, started, start, end)), (start - started, end - started)
    for pause in (first, second):
        quiet = stretch(pcm, started, pause["from"], pause["until"])
        assert not quiet.any(), (pause, np.flatnonzero(quiet)[:5])


def test_ccsim_killed_while_paused_the_pause_holds_and_resumes_on_time(lab):
    """The bridge records, not ccsim: killed mid-pause, the file goes on in silence; the
    restarted ccsim has the pause in its database, shows it to the phone and resumes it at
    the time it said."""
    ana = desk_for(lab, "1001")
    cid = talking_with_customer(lab, ana)
    wait_state(lab, cid, "on", 0)
    ana.wait_lcd("REC")
    ana.key("soft4")
    paused = wait_state(lab, cid, "paused", 1)
    lab.ccsim.kill()
    ana.wait_status(cc="down")
    ana.wait_lcd("REC‖")                                  # what it knew stays on the LCD
    lab.ccsim.start()
    ana.wait_status(cc="up", timeout=20)
    rec = lab.wait_for(lambda: (r := recording(lab, cid))["state"] == "on" and r, timeout=10,
                       desc="the pause resuming by itself after the restart")
    assert rec["pauses"][0]["until"] >= paused["resumes_at"]
    ana.wait_lcd("Pause")
    time.sleep(1.5)
    ana.hook(False)
    rec = wait_state(lab, cid, "stopped", 1)
    with wave.open(rec["file"]) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    pause = rec["pauses"][0]
    assert not stretch(pcm, rec["started"], pause["from"], pause["until"]).any()
    assert both_said(stretch(pcm, rec["started"], pause["until"], pause["until"] + 1.5))
