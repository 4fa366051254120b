"""An INVITE flood at a sim phone: its RSS and USS before, during and 10 s after.

A real phone process (sim board, logged in to ccsim, registered to Kamailio) is flooded by SIPp
(Debian `sip-tester`) in its own process, on loopback only: N INVITEs at R/s, (a) through the
proxy (digest auth answered, as any caller of the phone must) and (b) straight to the phone's
SIP port. A call that rings is cancelled 1 s later, as a caller who gives up; one answered 486
(the stack's `max_calls`, or the phone's rules: at most two unbound calls ring) is acknowledged;
one never answered (dropped by the phone's proxy-only filter) is given up after 4 s.
``direct_calls`` runs the phone with direct calls allowed, to see the call cap alone. Each
path floods the same phone twice: a second flood's "after" shows whether memory keeps growing.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psutil

from .table import table

SETTLE_S = 3           # after registration, before "before"
AFTER_S = 10
SAMPLE_S = 0.25

_INVITE = """\
  <send>
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:flood@[local_ip]:[local_port]>;tag=[pid]flood[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: {cseq} INVITE
      Contact: <sip:flood@[local_ip]:[local_port]>
      {auth}Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=- 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
    ]]>
  </send>
"""
_ACK = """\
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      CSeq: {cseq} ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
"""
_SCENARIO = """\
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="INVITE flood">
{challenge}{invite}
  <recv response="100" optional="true" timeout="4000" ontimeout="done"/>
  <recv response="180" optional="true" next="ringing" timeout="4000" ontimeout="done"/>
  <recv response="183" optional="true" next="ringing" timeout="4000" ontimeout="done"/>
  <recv response="486" timeout="4000" ontimeout="done"/>
{ack}
  <nop next="done"/>
  <label id="ringing"/>
  <recv response="486" timeout="1000" ontimeout="cancel"/>
{ack}
  <nop next="done"/>
  <label id="cancel"/>
  <send>
    <![CDATA[
      CANCEL sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      [last_From:]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      [last_Call-ID:]
      CSeq: {cseq} CANCEL
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200" timeout="4000" ontimeout="done"/>
  <recv response="487" timeout="4000" ontimeout="done"/>
{ack}
  <label id="done"/>
</scenario>
"""


def scenario(auth: bool) -> str:
    """The caller's scenario; with ``auth`` it answers the proxy's 407 first."""
    challenge = ""
    if auth:
        challenge = (_INVITE.format(cseq=1, auth="") + '  <recv response="100" optional="true"/>\n'
                     '  <recv response="407" auth="true"/>\n' + _ACK.format(cseq=1))
    cseq = 2 if auth else 1
    return _SCENARIO.format(challenge=challenge,
                            invite=_INVITE.format(cseq=cseq, auth="[authentication]\n      "
                                                  if auth else ""),
                            ack=_ACK.format(cseq=cseq), cseq=cseq)


def _mb(proc) -> tuple[float, float]:
    info = proc.memory_full_info()
    return info.rss / 2**20, info.uss / 2**20


def _flood(workdir: Path, target: str, auth: bool, calls: int, rate: int, sipp_port: int):
    """Run SIPp to the end; (seconds, its summary line)."""
    xml = workdir / ("flood-proxy.xml" if auth else "flood-direct.xml")
    xml.write_text(scenario(auth))
    cmd = ["sipp", target, "-sf", str(xml), "-s", "1001", "-i", "127.0.0.1",
           "-p", str(sipp_port), "-mp", str(sipp_port + 2), "-m", str(calls), "-r", str(rate),
           "-l", str(calls), "-nr", "-nostdin", "-recv_timeout", "5000",
           "-timeout", f"{calls / rate + 30:.0f}s",
           "-trace_screen", "-screen_file", str(workdir / f"{xml.stem}-screen.log")]
    if auth:
        cmd += ["-au", "flood", "-ap", "secret"]
    t0 = time.monotonic()
    try:
        code = subprocess.run(cmd, cwd=workdir, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=calls / rate + 60).returncode
    except subprocess.TimeoutExpired:          # killed: the flood stays bounded in time
        code = "killed"
    took = time.monotonic() - t0
    screen = (workdir / f"{xml.stem}-screen.log").read_text(errors="replace")

    def last(pattern: str) -> str:            # the final screen's figure
        return (re.findall(pattern, screen) or ["?"])[-1]
    rang = last(r"\b180 <-+\s+(\d+)")
    # 486 comes at once (the stack's cap) or after the 180 (the phone's rules refuse the call)
    busy = sum(int(n) for n in re.findall(r"\b486 <-+\s+(\d+)", screen)[-2:])
    ok = last(r"Successful call\s*\|\s*\d+\s*\|\s*(\d+)")
    failed = last(r"Failed call\s*\|\s*\d+\s*\|\s*(\d+)")
    summary = f"sipp exit {code}: 180 Ringing {rang}, 486 {busy}, ok {ok}, failed {failed}"
    return took, summary


def _one(lab, name: str, path: str, calls: int, rate: int, direct_calls: bool,
         rounds: int) -> list:
    """One phone flooded ``rounds`` times along ``path``; a table row per flood ("before" is
    the phone's figure before the first: a later flood's "after" shows whether any stays)."""
    from tools.lab import Desk, free_port
    phone = lab.phone("1001", name=f"phone-{name}", page_port=None,
                      sip_fields={"direct_calls": direct_calls})
    desk = Desk(phone)
    try:
        desk.wait_status(agent="IDLE", cc="up", sip="registered", timeout=20)
        time.sleep(SETTLE_S)
        proc = psutil.Process(phone.pid)
        before = _mb(proc)
        listen = next(line for line in (phone.workdir / "phone.toml").read_text().splitlines()
                      if line.startswith("listen"))
        phone_port = int(listen.split('"')[1].rsplit(":", 1)[1])
        target = (f"127.0.0.1:{lab.kamailio_port}" if path == "proxy"
                  else f"127.0.0.1:{phone_port}")
        rounds_seen = []
        for _ in range(rounds):
            peak = [before]
            stop = threading.Event()

            def sample():
                while not stop.wait(SAMPLE_S):
                    peak.append(_mb(proc))
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            took, summary = _flood(lab.workdir, target, path == "proxy", calls, rate,
                                   free_port(span=4))
            stop.set()
            sampler.join()
            time.sleep(AFTER_S)
            rounds_seen.append((peak, _mb(proc), took, summary))
        alive = phone.proc.poll() is None
        calls_now = len(desk.calls())
    finally:
        desk.close()
        phone.stop()
        lab.phones.remove(phone)
    return [[f"({'a' if path == 'proxy' else 'b'}) {path}, flood {n + 1}", before[0],
             max(p[0] for p in peak), after[0], before[1], max(p[1] for p in peak), after[1],
             calls_now, f"{took:.1f}", "yes" if alive else "NO", summary]
            for n, (peak, after, took, summary) in enumerate(rounds_seen)]


def run(calls: int = 1000, rate: int = 100, direct_calls: bool = False, rounds: int = 2) -> str:
    if shutil.which("sipp") is None:
        return "flood: skipped, SIPp is not installed (apt-get install sip-tester)"
    from tools.lab import Lab
    rows = []
    with Lab(Path(tempfile.mkdtemp(prefix="bench-flood-"))) as lab:
        lab.start()
        for path in ("proxy", "direct"):
            rows += _one(lab, path, path, calls, rate, direct_calls, rounds)
    mode = "direct calls allowed" if direct_calls else "proxy only (default)"
    return table(f"INVITE flood: {calls} INVITEs at {rate}/s by SIPp at a sim phone "
                 f"({mode}, max_calls 8); MB before / peak during / {AFTER_S} s after",
                 ["path", "RSS before", "RSS during", "RSS after", "USS before", "USS during",
                  "USS after", "calls left", "flood s", "phone alive",
                  "SIPp"], rows)
