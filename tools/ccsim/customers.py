"""Simulated customers: one process, one SIP stack, many callers, driven by JSON lines.

    python -m tools.ccsim.customers --proxy 127.0.0.1:5062 --password secret --listen 127.0.0.1:5090
        [--transport tls --cafile ca.pem --media srtp]     (--proxy: then the TLS address)

stdin:  {"op": "dial", "contact": "c-1", "to": "sip:1001@127.0.0.1:5062", "ani": "+15551234567",
         "talk_s": 30, "ring_s": 60, "token": "..."}   (ring_s optional: give up unanswered
         after it; token: the offer's secret, sent as X-CC-Token, never logged; "personal":
         true sends neither header, a call from someone who is no customer)
        {"op": "hangup", "contact": "c-1"}   {"op": "quit"}
stdout: {"event": "ready"}, then per contact {"event": "ringing"|"answered", "contact"} and
        {"event": "ended"|"failed", "contact", "reason"};
        while answered, every 0.5 s what the customer hears of the agent:
        {"event": "audio", "contact", "heard_s", "level_dbfs", "hz"} (see ``hearing``), and
        {"event": "voice", "contact", "at"} when the agent starts to be heard after silence
        (``at``: time.monotonic(), the same clock in every process on the machine), and
        {"event": "dtmf", "contact", "digit"} for each key the agent sends;
        a bad line -> {"event": "error", "reason"} (with "contact" when it named one).

Each caller is a user agent named by the ANI (so the phone shows the caller's number) that
authenticates to the proxy with the shared password, sends X-CC-Contact-Id and X-CC-Token (the
phone answers a contact's call only with the token its offer carried), and plays a 440 Hz
tone (PCMU, real-time pace) once answered, listening meanwhile. On stdin EOF (ccsim gone) no
more commands are taken, but calls in progress run to their end before the process exits.
"""
from __future__ import annotations

import argparse
import array
import asyncio
import contextlib
import itertools
import json
import logging
import math
import os
import re
import signal
import ssl
import sys
import threading
import time
from dataclasses import dataclass, field

from baresip import (Account, AudioNotActive, AudioRestarted, BaresipError, Call, Config, Event,
                     Runtime, StaleHandleError, UserAgent)

log = logging.getLogger("ccsim.customers")

CONTACT_HEADER = "X-CC-Contact-Id"
TOKEN_HEADER = "X-CC-Token"
TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")   # secrets.token_urlsafe's alphabet
TONE_HZ = 440
TONE_LEVEL = 0.3               # of full scale
TALK_S = 30.0                  # when a dial does not say
RING_S = 60.0                  # a customer gives up on an unanswered call after this long
QUIT_WAIT_S = 2.0              # for the BYEs of a quit to be answered
RTP_TIMEOUT_S = 10             # a phone that vanished without BYE ends the call after this
HEARING_S = 0.5                # how often, and over how long, the customer reports what it hears
SILENCE_DBFS = -50.0           # quieter than this is silence (PCMU's own floor is ~ -70)
VOICE_PEAK = 1000              # a read whose peak passes this (-30 dBFS) is the agent speaking

_END_REASONS = {"Connection reset by peer [104]": "far end hung up",
                "rtp stream error": "no audio from the far end"}


def emit(message: dict) -> None:
    """One JSON line on stdout. A reader that went away (ccsim killed) is not our problem:
    the calls go on, unheard."""
    try:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()
    except (BrokenPipeError, ValueError, OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())       # so the exit-time flush is quiet too
        os.close(devnull)


def tone_second(rate: int, channels: int) -> bytes:
    """One second of the tone: a whole number of cycles, so it loops without a click."""
    samples = array.array("h", (int(TONE_LEVEL * 32767 * math.sin(2 * math.pi * TONE_HZ * i / rate))
                                for i in range(rate) for _ in range(channels)))
    return samples.tobytes()


def s16(pcm: bytes) -> array.array:
    """S16_LE bytes as samples, on any host."""
    samples = array.array("h", pcm)
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


def hearing(pcm: bytes, rate: int) -> tuple[float, float | None]:
    """(level in dBFS, frequency in Hz) of mono S16 ``pcm``: the RMS level, and the pitch
    counted by zero crossings (enough for the test tones; None when it is silence)."""
    samples = s16(pcm)
    if not samples:
        return -120.0, None
    rms = math.sqrt(sum(x * x for x in samples) / len(samples))
    level = 20 * math.log10(max(rms, 1e-3) / 32768)
    if level < SILENCE_DBFS:
        return round(level, 1), None
    crossings = sum(1 for a, b in itertools.pairwise(samples) if (a < 0) != (b < 0))
    return round(level, 1), round(crossings * rate / (2 * len(samples)))


@dataclass
class Customer:
    contact: str
    talk_s: float
    call: Call | None = None
    rang: bool = False
    answered: bool = False
    reason: str | None = None          # why we ended it ourselves
    tone: asyncio.Task | None = None
    heard: int = 0                     # bytes of the agent's audio received so far
    speaking: bool = False             # the agent was heard in the latest read with audio
    timers: list[asyncio.TimerHandle] = field(default_factory=list)


class Customers:
    def __init__(self, proxy: str, password: str, listen: str, transport: str = "udp",
                 cafile: str | None = None, media: str = "rtp"):
        """``transport`` "tls": through the proxy over TLS, its certificate checked against
        ``cafile`` (else the system's CAs); ``media`` "srtp": SRTP only (a phone that cannot
        do it refuses the call)."""
        self.proxy, self.password, self.listen = proxy, password, listen
        self.transport, self.cafile, self.media = transport, cafile, media
        self.runtime = Runtime()
        self._agents: dict[str, UserAgent] = {}     # by caller user: baresip cannot free one
        self._customers: dict[str, Customer] = {}   # by contact
        self._by_handle: dict[int, Customer] = {}
        self._early: dict[int, list] = {}           # events of calls whose dial() has not returned
        self._dialing = 0
        self._tasks: set[asyncio.Task] = set()      # held here: the loop keeps only weak refs
        self.idle = asyncio.Event()                  # no call in progress
        self.idle.set()

    async def start(self) -> None:
        await self.runtime.start(Config(
            net_interface=self.listen.rsplit(":", 1)[0], max_concurrent_calls=None,
            rtp_timeout=RTP_TIMEOUT_S,
            extra_config_text=f"sip_listen {self.listen}\n" + self._tls_lines()))
        # before any dial: a 180 on loopback arrives before dial() returns the Call
        self.runtime.subscribe(self._on_stack_event)

    def _tls_lines(self) -> str:
        if self.transport != "tls":
            return ""
        cafile = self.cafile or ssl.get_default_verify_paths().cafile
        return f'sip_cafile "{cafile}"\nsip_verify_server yes\n'

    async def close(self) -> None:
        await self.runtime.close()

    # -- commands ---------------------------------------------------------------------------
    def dial(self, contact: str, to: str, ani: str, talk_s: float, ring_s: float,
             headers: dict[str, str]) -> None:
        """Start a call; the customer counts as in progress from now on."""
        if contact in self._customers:
            emit({"event": "error", "contact": contact, "reason": "contact already has a call"})
            return
        customer = Customer(contact, talk_s)
        self._customers[contact] = customer
        self.idle.clear()
        self.spawn(self._dial(customer, to, ani, ring_s, headers))

    def spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _dial(self, customer: Customer, to: str, ani: str, ring_s: float,
                    headers: dict[str, str]) -> None:
        contact = customer.contact
        self._dialing += 1
        try:
            ua = await self._agent(ani)
            customer.call = await ua.dial(to, headers=headers)
            customer.call.on_dtmf(lambda key: emit({"event": "dtmf", "contact": contact,
                                                    "digit": key.digit}))
            self._by_handle[customer.call.handle] = customer
            early = self._early.pop(customer.call.handle, [])
        except (BaresipError, ValueError) as e:
            self._finish(customer, "failed", str(e))
            return
        finally:
            self._dialing -= 1
            if not self._dialing:
                self._early.clear()
        customer.timers.append(asyncio.get_running_loop().call_later(
            ring_s, self._give_up, customer))
        for event in early:
            self._on_call_event(customer, event)
        if customer.reason is not None and contact in self._customers:
            await self.hangup(contact)             # told to hang up while dialing

    async def hangup(self, contact: str, reason: str = "hangup requested") -> None:
        customer = self._customers.get(contact)
        if customer is None:
            emit({"event": "error", "contact": contact, "reason": "no call for this contact"})
            return
        customer.reason = customer.reason or reason
        if customer.call is None:
            return                                  # still dialing: dial() hangs up after
        try:
            await customer.call.hangup()
        except StaleHandleError:
            pass                                    # it ended on its own meanwhile

    async def hangup_all(self, reason: str) -> None:
        await asyncio.gather(*(self.hangup(contact, reason) for contact in list(self._customers)))

    async def _agent(self, ani: str) -> UserAgent:
        user = re.sub(r"[^0-9+]", "", ani) or "anonymous"
        if user not in self._agents:
            self._agents[user] = await UserAgent.create(self.runtime, Account(
                user=user, domain=self.proxy, password=self.password, reg_interval=0,
                transport=self.transport,
                # the agents' extensions name the proxy's UDP address: over TCP/TLS every
                # request goes to the proxy itself, as outbound proxy
                registrar=(None if self.transport == "udp"
                           else f"sip:{self.proxy};transport={self.transport}"),
                extra_params=("mediaenc=srtp-mand",) if self.media == "srtp" else ()))
        return self._agents[user]

    def _give_up(self, customer: Customer) -> None:
        if not customer.answered:
            self.spawn(self.hangup(customer.contact, "no answer"))

    # -- stack events -----------------------------------------------------------------------
    def _on_stack_event(self, event) -> None:
        customer = self._by_handle.get(event.call)
        if customer is not None:
            self._on_call_event(customer, event)
        elif event.call and self._dialing:
            self._early.setdefault(event.call, []).append(event)

    def _on_call_event(self, customer: Customer, event) -> None:
        if event.event in (Event.CALL_RINGING, Event.CALL_PROGRESS) and not customer.rang:
            customer.rang = True
            emit({"event": "ringing", "contact": customer.contact})
        elif event.event is Event.CALL_ESTABLISHED and not customer.answered:
            customer.answered = True
            emit({"event": "answered", "contact": customer.contact})
            loop = asyncio.get_running_loop()
            customer.tone = loop.create_task(self._talk(customer))
            customer.timers.append(loop.call_later(
                customer.talk_s, lambda: self.spawn(self.hangup(customer.contact,
                                                                "talk time over"))))
        elif event.event is Event.CALL_CLOSED:
            reason = customer.reason or _END_REASONS.get(event.text or "", event.text or "")
            self._finish(customer, "ended" if customer.answered else "failed", reason)

    def _finish(self, customer: Customer, outcome: str, reason: str) -> None:
        if customer.tone:
            customer.tone.cancel()
        for timer in customer.timers:
            timer.cancel()
        self._customers.pop(customer.contact, None)
        if customer.call is not None:
            self._by_handle.pop(customer.call.handle, None)
        emit({"event": outcome, "contact": customer.contact, "reason": reason})
        if not self._customers:
            self.idle.set()

    async def _talk(self, customer: Customer) -> None:
        """Feed the tone one packet time at a time, on a clock: the stack sends what is
        buffered every ptime, and silence when the buffer runs dry. Listen meanwhile, and say
        every HEARING_S what was heard."""
        loop = asyncio.get_running_loop()
        call = customer.call
        second, offset, due = b"", 0, loop.time()
        window, rate, report_at = bytearray(), 8000, loop.time() + HEARING_S
        while True:
            if loop.time() >= report_at:            # held or not: silence is news too
                self._report_hearing(customer, bytes(window), rate)
                window.clear()
                report_at = loop.time() + HEARING_S
            try:
                info = call.audio.info()
                if info.rx_ready:                   # mono, as PCMU is
                    pcm = call.audio.read(65536)
                    customer.heard += len(pcm)
                    window += pcm
                    if pcm:
                        self._notice_voice(customer, pcm)
                    rate = info.rx_sample_rate or rate
                ptime = (info.tx_ptime_ms or 20) / 1000
                frame = int(info.tx_sample_rate * info.tx_channels * 2 * ptime)
                if info.tx_ready and frame:
                    if len(second) != info.tx_sample_rate * info.tx_channels * 2:
                        second, offset = tone_second(info.tx_sample_rate, info.tx_channels), 0
                    # keep ~3 packets queued: a late wake-up must not starve the far end
                    for _ in range((3 * frame - info.tx_buffered) // frame):
                        call.audio.write(second[offset:offset + frame])
                        offset = (offset + frame) % len(second)
            except (AudioNotActive, AudioRestarted):
                ptime = 0.02                        # held, or renegotiating: try again shortly
            due = max(due + ptime, loop.time() - ptime)   # late wake-ups don't burst
            await asyncio.sleep(due - loop.time())

    @staticmethod
    def _notice_voice(customer: Customer, pcm: bytes) -> None:
        speaking = max(s16(pcm), default=0) > VOICE_PEAK
        if speaking and not customer.speaking:
            emit({"event": "voice", "contact": customer.contact, "at": time.monotonic()})
        customer.speaking = speaking

    @staticmethod
    def _report_hearing(customer: Customer, window: bytes, rate: int) -> None:
        level, hz = hearing(window, rate)
        emit({"event": "audio", "contact": customer.contact,
              "heard_s": round(customer.heard / (2 * rate), 2), "level_dbfs": level, "hz": hz})


def read_lines(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue) -> None:
    """stdin in a thread (a pipe, a file or a terminal alike); None marks EOF."""
    for line in sys.stdin:
        loop.call_soon_threadsafe(queue.put_nowait, line)
    loop.call_soon_threadsafe(queue.put_nowait, None)


def contact_of(line: str) -> dict:
    """{"contact": ...} of a rejected line when it names one, so ccsim can pair the error."""
    try:
        contact = json.loads(line).get("contact")
    except (ValueError, AttributeError):
        return {}
    return {"contact": contact} if isinstance(contact, str) else {}


def parse(line: str) -> dict:
    try:
        msg = json.loads(line)
    except ValueError as e:
        raise ValueError(f"not JSON: {e}") from None
    if not isinstance(msg, dict) or msg.get("op") not in ("dial", "hangup", "quit"):
        raise ValueError("expected an object with op dial, hangup or quit")
    if msg["op"] == "quit":
        return msg
    if not isinstance(msg.get("contact"), str) or not msg["contact"]:
        raise ValueError(f"{msg['op']}: contact must be a non-empty string")
    if msg["op"] == "dial":
        if not isinstance(msg.get("to"), str) or not msg["to"].startswith(("sip:", "sips:")):
            raise ValueError("dial: to must be a sip: URI")
        if not isinstance(msg.get("ani", ""), str):
            raise ValueError("dial: ani must be a string")
        for key in ("talk_s", "ring_s"):
            value = msg.get(key, TALK_S)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"dial: {key} must be a positive number of seconds")
        token = msg.get("token", "")           # not quoted in the error: it is a secret
        if not isinstance(token, str) or (token and not TOKEN.fullmatch(token)):
            raise ValueError("dial: token must be 1-256 characters of A-Z a-z 0-9 _ -")
        if not isinstance(msg.get("personal", False), bool):
            raise ValueError("dial: personal must be true or false")
    return msg


def dial_headers(msg: dict) -> dict[str, str]:
    """The headers a dial's call carries: the contact id and its token, or none at all."""
    if msg.get("personal"):
        return {}
    headers = {CONTACT_HEADER: msg["contact"]}
    if msg.get("token"):
        headers[TOKEN_HEADER] = msg["token"]
    return headers


async def serve(args) -> None:
    customers = Customers(args.proxy, args.password, args.listen, args.transport, args.cafile,
                          args.media)
    await customers.start()
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue = asyncio.Queue()

    def terminate():                     # like quit, whether commands are still read or not
        lines.put_nowait('{"op": "quit"}')
        customers.spawn(customers.hangup_all("quit"))
    loop.add_signal_handler(signal.SIGTERM, terminate)
    threading.Thread(target=read_lines, args=(loop, lines), daemon=True).start()
    emit({"event": "ready"})
    try:
        while (line := await lines.get()) is not None:
            if not line.strip():
                continue
            try:
                msg = parse(line)
            except ValueError as e:
                emit({"event": "error", "reason": str(e), **contact_of(line)})
                continue
            if msg["op"] == "quit":
                await customers.hangup_all("quit")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(customers.idle.wait(), QUIT_WAIT_S)
                return
            if msg["op"] == "hangup":
                await customers.hangup(msg["contact"])
            else:
                customers.dial(msg["contact"], msg["to"], msg.get("ani", ""),
                               msg.get("talk_s", TALK_S), msg.get("ring_s", RING_S),
                               dial_headers(msg))
        await customers.idle.wait()      # stdin EOF (ccsim gone): calls run to their end
    finally:
        await customers.close()


def main() -> None:
    ap = argparse.ArgumentParser(description="simulated customers calling agents over SIP")
    ap.add_argument("--proxy", required=True, help="SIP proxy host:port the customers dial through")
    ap.add_argument("--password", default="", help="the proxy's shared digest password")
    ap.add_argument("--listen", default="127.0.0.1:5090", help="our SIP address (PORT+1 taken too)")
    ap.add_argument("--transport", choices=("udp", "tcp", "tls"), default="udp",
                    help="to the proxy (tls: --proxy is its TLS address)")
    ap.add_argument("--cafile", help="the proxy's CA for tls (default: the system's)")
    ap.add_argument("--media", choices=("rtp", "srtp"), default="rtp",
                    help="srtp: SRTP only (needs --transport tls to keep its keys secret)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="customers: %(name)s: %(message)s")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
