"""A preview campaign on a sim phone: the record on show -> `Call` -> the phone's INVITE.

A real lab (tools/lab.py): Kamailio, ccsim with its customers and a started preview campaign
of ``calls`` records whose numbers the lab's customers answer or refuse, in turn, and a sim
phone logged in as agent 1001, Available, driven on its service console. For each record: wait
for its preview on the LCD, `key soft1` (Call), then end the call (answered) or let it fail
(busy), and pick the first disposition; the next record follows. The phone's `Call` asks ccsim
(``preview`` call on its WebSocket), ccsim sets the record dialing (its ``contact`` event), and
the phone INVITEs the number: that round is inside the figure, as `dial`'s is. Clocks as in
dial.py: time.time() before the key is written, the capture's stamps for the packets.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from .dial import (ANSWERS, REFUSES, Dialed, _idle, _ms, _row, _talking, _timed_key, _wait,
                   first_invites, invite_of, messages, requests, sip_capture)
from .table import table

GOAL_P99_MS = 20               # as a dial from the keypad: the agent's key -> the INVITE


def _scenario(calls: int) -> str:
    records = ",\n".join(
        f'    {{name = "Bench {i:03d}", number = "{ANSWERS if i % 2 == 0 else REFUSES}"}}'
        for i in range(calls))
    return f"""
[[campaigns]]
id = "bench"
name = "Bench"
mode = "preview"
agents = ["1001"]
started = true
preview_s = 0
dispositions = [{{code = "done", label = "Done"}}]
records = [
{records},
]
"""


def _record(desk, i: int) -> Dialed:
    name = f"Bench {i:03d}"
    desk.wait_lcd(name, "Call", timeout=10)
    number = ANSWERS if i % 2 == 0 else REFUSES
    sent, done = _timed_key(desk, "soft1")                  # Call
    if number == ANSWERS:
        _wait(desk, lambda: _talking(desk), f"{number} to answer")
        desk.key("soft2")                                   # End
    over = _idle(desk)
    desk.wait_lcd("Disposition", timeout=10)
    desk.key("soft1")                                       # OK: Done
    return Dialed(number, sent, done, over)


def run(calls: int = 50) -> str:
    if shutil.which("tcpdump") is None:
        return "campaign: skipped, tcpdump is missing (tools/setup/system-packages.sh)"
    import pytest

    from tools.lab import DEMO_SCENARIO, Desk, Lab, scenario_text

    work = Path(tempfile.mkdtemp(prefix="bench-campaign-"))
    scenario = work / "campaign.toml"           # the demo's, with the bench's campaign
    scenario.write_text(scenario_text(DEMO_SCENARIO, 5062, 5090, {}, customers={
        "answer": [ANSWERS], "refuse": [REFUSES]}) + _scenario(calls))
    with Lab(work / "lab", scenario=scenario) as lab:
        lab.start()
        phone = lab.phone("1001", page_port=None)
        desk = Desk(phone)
        try:
            desk.wait_status(agent="IDLE", cc="up", sip="registered", timeout=20)
            phone_port, capture = sip_capture(lab, phone, work)
            try:
                with capture:
                    time.sleep(1.0)                 # the customers register their numbers
                    desk.key("soft1", "1")          # State -> Available: the first preview
                    done = [_record(desk, i) for i in range(calls)]
                    time.sleep(0.2)
            except (pytest.skip.Exception, pytest.fail.Exception) as e:
                return f"campaign: skipped, {e}"
        finally:
            desk.close()
    packets = capture.packets()
    invites = first_invites(requests(packets), phone_port)
    frames = messages(packets, lab.ccsim.port)
    found = [invite_of(d, invites) for d in done]
    asks = [next((f for f in frames if f.to_server and f.type == "preview"
                  and d.key_sent <= f.t <= d.over), None) for d in done]
    rows = [_row("`Call` on the preview -> the phone's INVITE on the wire",
                 [_ms(d.key_sent, i.t) for d, i in zip(done, found)], GOAL_P99_MS),
            _row("  (`key soft1` written -> the phone's `preview` to ccsim on the wire)",
                 [_ms(d.key_sent, a.t) for d, a in zip(done, asks) if a]),
            _row("  (`preview` -> the phone's INVITE: ccsim's ack and `dialing` between)",
                 [_ms(a.t, i.t) for a, i in zip(asks, found) if a])]
    return table(f"A preview campaign's record: `Call` on the console -> the INVITE on lo "
                 f"({len(done)} records, numbers that answer or are busy in turn)",
                 ["", "n", "p50 ms", "p99 ms", "max ms", "goal p99 ms"], rows) + "\n"
