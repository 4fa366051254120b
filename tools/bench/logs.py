"""Send logs: a full recent log (the phone's RecentLog at its bounds: 5,000 lines, at most 512
KiB, lines as the phone writes them, some with what must not leave the phone) redacted and cut
in parts as the phone does (firmware/app/logbook.py), then uploaded part by part to ccsim (its
own process, over its WebSocket), each part acked before the next, as the phone sends them.
Printed: the redaction's time, the parts, the upload's time, and that the kept log reads
back whole with no secret in it."""
from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp

from firmware.app.logbook import RecentLog, parts, redact
from firmware.cc import protocol as p

from .ccsim import _scenario, _start_ccsim
from .table import table

PIN, PASSWORD = "4711", "s3cr3t-sip"


def full_log() -> RecentLog:
    """A RecentLog filled past its bounds with the phone's kind of lines."""
    log = RecentLog()
    log.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    lines = ("call k{n} ended: local hangup", "incoming call k{n} from +15551234{n:03} (contact "
             "c-{n})", f"cc: hello agent 1001 pin={PIN}", f"sip: password={PASSWORD} realm lab",
             "audio: send DTMF digit: '5'", "offer c-{n} shown in 2.1 ms")
    for n in range(6000):
        record = logging.LogRecord("hardphone.bench", logging.INFO, __file__, 0,
                                   lines[n % len(lines)].format(n=n % 1000), (), None)
        log.emit(record)
    return log


async def _upload(ws_url: str, chunks: list[str]) -> float:
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url, max_msg_size=0) as ws:
        await ws.send_str(p.encode(p.Hello(id="h", agent="6000", pin="1", client="bench")))
        while not isinstance(p.decode_server((await ws.receive(5)).data), p.Snapshot):
            pass
        start = time.perf_counter()
        for n, text in enumerate(chunks, 1):
            await ws.send_str(p.encode(p.LogUpload(id=f"l{n}", upload="bench", part=n,
                                                   parts=len(chunks), text=text)))
            while True:
                reply = p.decode_server((await ws.receive(5)).data)
                if isinstance(reply, p.Ack | p.Error) and reply.id == f"l{n}":
                    assert isinstance(reply, p.Ack), reply
                    break
        return time.perf_counter() - start


def run() -> str:
    log = full_log()
    text = log.text()
    start = time.perf_counter()
    clean = redact(text, {PIN, PASSWORD})
    redact_s = time.perf_counter() - start
    chunks = parts(clean, p.MAX_LOG_PART)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "bench.toml").write_text(_scenario(1))
        proc, ws_url, api = _start_ccsim(workdir)
        try:
            upload_s = asyncio.run(_upload(ws_url, chunks))
            with urllib.request.urlopen(f"{api}/logs") as r:
                kept = json.load(r)["logs"][0]
            with urllib.request.urlopen(f"{api}/logs/{kept['id']}") as r:
                back = json.load(r)["text"]
        finally:
            proc.stop()
    whole = back == clean and PIN not in back and PASSWORD not in back
    return table("Send logs: the recent log redacted on the phone, uploaded to ccsim",
                 ["lines", "KiB", "redact ms", "parts", "upload s", "KiB/s", "read back whole, "
                  "no secret"],
                 [[len(text.splitlines()), len(text) // 1024, redact_s * 1000, len(chunks),
                   upload_s, len(clean) / 1024 / upload_s, whole]])
