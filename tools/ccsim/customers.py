"""Simulated customers: one process, one SIP stack, many callers, driven by JSON lines.

    python -m tools.ccsim.customers --proxy 127.0.0.1:5062 --password secret --listen 127.0.0.1:5090
        [--transport tls --cafile ca.pem --media srtp]     (--proxy: then the TLS address)
        [--answer 5550100,5550101] [--refuse 5550199] [--ring 5550177]    (called numbers)
        [--machine 5550155]              (answering machines)
        [--codecs g722,opus,pcmu,pcma]   (offered in this order; default pcmu,pcma: narrowband
        customers; with g722 or opus they are wideband: their audio runs at 16 kHz, whatever
        the codec a call settles on, and their tones may go up to 7000 Hz)

stdin:  {"op": "dial", "contact": "c-1", "to": "sip:1001@127.0.0.1:5062", "ani": "+15551234567",
         "talk_s": 30, "ring_s": 60, "token": "...", "hz": 440, "level": 0.3}   (ring_s
         optional: give up unanswered after it; hz and level optional: the caller's tone and
         its peak as a fraction of full scale, 440 Hz at 0.3 by default (hz 100-3400, or
         100-7000 for wideband customers); "sound" optional: a raw file (mono S16_LE at the
         customers' rate, 8000 or 16000 for wideband ones, at most 10 MB) the caller plays,
         looped, instead of the tone (speech, noise); token: the
         offer's secret, sent as X-CC-Token, never logged; "personal": true sends neither
         header, a call from someone who is no customer)
        {"op": "hangup", "contact": "c-1"}   {"op": "quit"}
        {"op": "dtmf", "contact": "c-1", "digits": "1#"}: the caller keys digits (RFC 4733
        events) into its answered call (a voicemail box's menu, tools/voicemail.py)
        {"op": "mute", "contact": "c-1", "on": true}: the caller says nothing (silence
        instead of its tone or sound) until "on": false (a voice signature nobody gave)
        {"op": "answer"|"refuse"|"ring"|"machine", "numbers": ["5550100"], "talk_s": 30}:
        numbers that can be called (below); {"op": "hangup", "number": "5550100"} ends that
        number's call
stdout: {"event": "ready"}, then per contact {"event": "ringing"|"answered", "contact"} and
        {"event": "ended"|"failed", "contact", "reason"};
        while answered, every 0.5 s what the customer hears of the agent:
        {"event": "audio", "contact", "heard_s", "level_dbfs", "hz", "tones", "codec",
        "rate", "own_dbfs"} (see ``hearing`` and ``tones``: the pitch, and each tone of a mix;
        ``own_dbfs``: the caller's own tone in what it hears, its echo; ``codec``
        what the call travels as, "g722/16000", "opus/48000", "pcmu/8000" ("" not known yet),
        ``rate`` the rate the customer hears it at), and
        {"event": "voice", "contact", "at"} when the agent starts to be heard after silence
        (``at``: time.monotonic(), the same clock in every process on the machine), and
        {"event": "dtmf", "contact", "digit"} for each key the agent sends;
        a bad line -> {"event": "error", "reason"} (with "contact" when it named one).
Called numbers: {"event": "answering", "number", "mode", "hz"} once the number is registered
        at the proxy (before "ready" for the command line's), or {"event": "error", "number",
        "reason"}; per call {"event": "incoming", "number", "from", "headers"} (the caller's
        user part and the INVITE's X-CC-Contact-Id, Priority, Geolocation, Referred-By,
        X-Lab-Outcome, ...; never X-CC-Token), then {"event": "answered", "number"} and
        "audio"/"voice"/"dtmf" events as above with "number" for "contact", and {"event":
        "ended", "number", "reason"}; or {"event": "refused", "number", "reason"} (486: a
        "refuse" number, one told busy by X-Lab-Outcome, or one already on a call). A
        machine's call ends with {"event": "recorded", "number", "seconds", "level_dbfs",
        "hz", "tones"}: what it recorded after its beep (``hearing`` and ``tones`` of all of
        it).

Each caller is a user agent named by the ANI (so the phone shows the caller's number) that
authenticates to the proxy with the shared password, sends X-CC-Contact-Id and X-CC-Token (the
phone answers a contact's call only with the token its offer carried), and plays a 440 Hz
tone (PCMU, real-time pace) once answered, listening meanwhile. On stdin EOF (ccsim gone) no
more commands are taken, but calls in progress run to their end before the process exits.

Called numbers are the other direction: each is a user agent that registers at the proxy as
that user (with the shared password, like every lab user), so the proxy routes
``sip:<number>@<proxy>`` here as it routes calls to a phone. An "answer" number answers at
once and plays its own tone (``number_tone``: one of NUMBER_TONES, chosen by the number),
listening and reporting like a caller (a steady tone, no syllables: a dialer's
answering-machine detection cannot tell what it is); a "machine" number answers, plays its
greeting (``machine_greeting``: MACHINE_GREETING_S of syllables of its tone, never a pause a
detector would take for the end of a sentence), a beep, then silence, recording what it
hears from the beep on (the "recorded" event at the end of the call); a "refuse" number
answers 486 Busy Here; a "ring" number rings until the caller gives up. A number on a call
refuses a second one (486). On quit the numbers unregister.

An "answer" number acts out the outcome a call asks for in its X-Lab-Outcome header (lab
only: ccsim's dialer draws it at a campaign's ``outcomes`` rates, dialer.lab_outcome; no
real phone or carrier sends it): "busy" -> 486 as a "refuse" number, "no_answer" -> it rings
on as a "ring" number, "machine" -> that call is a "machine" number's (greeting, beep,
"recorded"); "answer", none or anything else -> its own. The number's mode stays what it was
registered with (the call's is ``call_mode``); "refuse", "ring" and "machine" numbers ignore
the header.
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
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from baresip import (Account, AudioNotActive, AudioRestarted, BaresipError, Call, Config, Event,
                     RegistrationError, Runtime, StaleHandleError, UserAgent)

from firmware.sip.codec import CodecWatch
from firmware.sip.decoded import ReceivedAudio
from firmware.sip.config import (NARROWBAND_CODECS, WIDEBAND_CODECS, WIDEBAND_RATE,
                                 audio_format_text, jitter_buffer_text)

from .legs import OUTCOME_HEADER
from .scenario import CALLED_MODES, CALLED_NUMBER

log = logging.getLogger("ccsim.customers")

CONTACT_HEADER = "X-CC-Contact-Id"
TOKEN_HEADER = "X-CC-Token"
TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")   # secrets.token_urlsafe's alphabet
TONE_HZ = 440
# --codecs names -> the stack's codec specs (firmware/sip/config.py offers the same ones)
CODECS = {spec.split("/", 1)[0]: spec for spec in WIDEBAND_CODECS + NARROWBAND_CODECS}
TOP_HZ = 3400                  # the highest tone a narrowband (G.711) customer's line carries
WIDEBAND_TOP_HZ = 7000         # G.722's, and Opus's at 16 kHz
TONE_LEVEL = 0.3               # of full scale
TALK_S = 30.0                  # when a dial does not say
RING_S = 60.0                  # a customer gives up on an unanswered call after this long
QUIT_WAIT_S = 2.0              # for the BYEs of a quit to be answered
RTP_TIMEOUT_S = 10             # a phone that vanished without BYE ends the call after this
HEARING_S = 0.5                # how often, and over how long, the customer reports what it hears
SOUND_MAX_BYTES = 10_000_000   # a dial's "sound" file: ~10 minutes at 8 kHz
SILENCE_DBFS = -50.0           # quieter than this is silence (PCMU's own floor is ~ -70)
VOICE_PEAK = 1000              # a read whose peak passes this (-30 dBFS) is the agent speaking
# called numbers
NUMBER, NUMBER_MODES = CALLED_NUMBER, CALLED_MODES   # a SIP user part the proxy can register
NUMBER_REG_S = 60              # registration refresh (the proxy's min_expires is 2)
REGISTER_TIMEOUT_S = 5.0
# distinct from the callers' 440 Hz and the phones' test tones (1 kHz handset, 600 Hz headset)
NUMBER_TONES = (523, 659, 784, 880, 1175, 1319, 1568, 1760)
# what an incoming call reports of its INVITE (the stack shows only these; never the token)
INCOMING_HEADERS = (CONTACT_HEADER, "Priority", "Subject", "Referred-By", "Replaces",
                    "P-Asserted-Identity", "Geolocation", "Geolocation-Routing", OUTCOME_HEADER,
                    "Diversion")
DTMF = re.compile(r"[0-9*#A-Da-d]{1,32}")      # a dtmf op's digits
DTMF_GAP_MS = 400              # between digits: a baresip receiver keeps them all apart
# X-Lab-Outcome -> the mode an "answer" number takes for that call
LAB_MODES = {"answer": "answer", "busy": "refuse", "no_answer": "ring", "machine": "machine"}

# an answering machine's greeting and its beep
MACHINE_GREETING_S = 3.5
SYLLABLE_S, SYLLABLE_GAP_S = 0.22, 0.06
BEEP_HZ, BEEP_S, BEEP_GAP_S = 1400, 0.4, 0.3
RECORD_MAX_S = 60.0            # what a machine keeps of what it heard after the beep

END_REASONS = {"Connection reset by peer [104]": "far end hung up",
                "rtp stream error": "no audio from the far end"}


def number_tone(number: str) -> int:
    """The tone a called number plays: the same one every run, told in "answering"."""
    return NUMBER_TONES[zlib.crc32(number.encode()) % len(NUMBER_TONES)]


def call_mode(mode: str, headers: dict[str, str]) -> str:
    """What a called number registered in ``mode`` does with a call whose INVITE carries
    ``headers``: an "answer" number what X-Lab-Outcome asks (LAB_MODES: "refuse", "ring",
    "machine"; unknown or none: "answer"), any other its own mode."""
    if mode != "answer":
        return mode
    asked = next((v for k, v in headers.items() if k.lower() == OUTCOME_HEADER.lower()), "")
    return LAB_MODES.get(asked.strip().lower(), mode)


def user_part(uri: str | None) -> str:
    """'sip:1001@127.0.0.1:5062;transport=udp' -> '1001'."""
    uri = (uri or "").strip().strip("<>")
    uri = uri.split(":", 1)[1] if uri.startswith(("sip:", "sips:")) else uri
    return uri.split("@", 1)[0].split(";", 1)[0]


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


def stack_config(listen: str, transport: str = "udp", cafile: str | None = None,
                 expose_headers: tuple[str, ...] = INCOMING_HEADERS,
                 jitter_buffer_ms: int | None = None, rate: int | None = None,
                 sip_trace: bool = False) -> Config:
    """The SIP stack of a lab process with many calls (the customers, the bridge): listening
    on ``listen`` (host:port, PORT+1 taken too), over TLS checking the proxy against
    ``cafile`` (else the system's CAs); ``jitter_buffer_ms``: a playout delay of that (None:
    baresip's 100 ms); ``rate``: every call's audio at that rate, mono, whatever the codec
    (None: the codec's); ``sip_trace``: for a CodecWatch to read the SDP."""
    tls = ""
    if transport == "tls":
        cafile = cafile or ssl.get_default_verify_paths().cafile
        tls = f'sip_cafile "{cafile}"\nsip_verify_server yes\n'
    return Config(net_interface=listen.rsplit(":", 1)[0], max_concurrent_calls=None,
                  rtp_timeout=RTP_TIMEOUT_S, expose_headers=expose_headers,
                  sip_trace=sip_trace,
                  extra_config_text=f"sip_listen {listen}\n" + tls
                  + (jitter_buffer_text(jitter_buffer_ms) if jitter_buffer_ms else "")
                  + (audio_format_text(rate) if rate else ""))


def lab_account(user: str, proxy: str, password: str, transport: str = "udp",
                media: str = "rtp", reg_interval: int = 0,
                codecs: tuple[str, ...] = NARROWBAND_CODECS) -> Account:
    """A lab user at the proxy (the shared password); ``media`` "srtp": SRTP only;
    ``codecs``: offered in this order (the stack's specs, CODECS' values)."""
    return Account(
        user=user, domain=proxy, password=password, reg_interval=reg_interval,
        transport=transport, audio_codecs=codecs,
        # the agents' extensions name the proxy's UDP address: over TCP/TLS every
        # request goes to the proxy itself, as outbound proxy
        registrar=None if transport == "udp" else f"sip:{proxy};transport={transport}",
        extra_params=("mediaenc=srtp-mand",) if media == "srtp" else ())


def tone_second(rate: int, channels: int, hz: int = TONE_HZ, level: float = TONE_LEVEL) -> bytes:
    """One second of the tone: a whole number of cycles, so it loops without a click."""
    samples = array.array("h", (int(level * 32767 * math.sin(2 * math.pi * hz * i / rate))
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
    counted by zero crossings where it is not silent (enough for the test tones, steady or
    broken into syllables; None when it is silence)."""
    samples = s16(pcm)
    if not samples:
        return -120.0, None
    rms = math.sqrt(sum(x * x for x in samples) / len(samples))
    level = 20 * math.log10(max(rms, 1e-3) / 32768)
    if level < SILENCE_DBFS:
        return round(level, 1), None
    # the pitch of what is heard, its pauses aside (a voice stops between syllables): the
    # crossings counted over the 10 ms blocks that are not silent
    block = max(1, rate // 100)
    crossings = heard = 0
    for i in range(0, len(samples) - block + 1, block):
        part = samples[i:i + block]
        if 20 * math.log10(max(max(map(abs, part)), 1) / 32768) < SILENCE_DBFS:
            continue
        heard += block
        crossings += sum(1 for a, b in itertools.pairwise(samples[max(0, i - 1):i + block])
                         if (a < 0) != (b < 0))
    if not heard:
        return round(level, 1), None
    return round(level, 1), round(crossings * rate / (2 * heard))


def tones(pcm: bytes, rate: int, most: int = 8) -> list[int]:
    """The tones heard in mono S16 ``pcm``, lowest first: the spectrum's peaks (Hann window)
    at least a fifth as strong as the strongest, ``most`` of them; [] for silence. Tells
    apart the tones of a mix (a conference), where ``hearing``'s one pitch cannot."""
    x = np.frombuffer(pcm[:len(pcm) // 2 * 2], "<i2").astype(np.float64)
    if len(x) < 64 or 20 * math.log10(max(float(np.sqrt(np.mean(x * x))), 1e-3) / 32768) \
            < SILENCE_DBFS:
        return []
    mag = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    mag[:3] = 0                                       # DC
    peaks = np.flatnonzero((mag[1:-1] > mag[:-2]) & (mag[1:-1] >= mag[2:])
                           & (mag[1:-1] > mag.max() / 5)) + 1
    strongest = sorted(peaks[np.argsort(mag[peaks])[::-1][:most]])
    return [round(int(i) * rate / len(x)) for i in strongest]


def tone_dbfs(pcm: bytes, rate: int, hz: float) -> float:
    """How loud the tone ``hz`` is in mono S16 ``pcm`` (its peak, dBFS; -120 when absent):
    a caller hearing its own tone back hears its echo."""
    x = np.frombuffer(pcm[:len(pcm) // 2 * 2], "<i2").astype(np.float64)
    if len(x) < 64:
        return -120.0
    w = np.hanning(len(x))
    mag = np.abs(np.fft.rfft(x * w))
    k = round(hz * len(x) / rate)
    peak = float(mag[max(0, k - 2):k + 3].max()) * 2 / w.sum()
    return round(20 * math.log10(max(peak, 1e-3) / 32768), 1)


def _tone(rate: int, hz: float, seconds: float, level: float = TONE_LEVEL,
          ramp_s: float = 0.0) -> np.ndarray:
    n = int(rate * seconds)
    x = level * 32767 * np.sin(2 * np.pi * hz * np.arange(n) / rate)
    ramp = min(int(rate * ramp_s), n // 2)
    if ramp:
        edge = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
        x[:ramp] *= edge
        x[n - ramp:] *= edge[::-1]
    return x


def _pcm(*parts: np.ndarray) -> bytes:
    return np.concatenate(parts).astype("<i2").tobytes()


def syllables(rate: int, hz: float, seconds: float, level: float = TONE_LEVEL) -> np.ndarray:
    """Speech-like sound: SYLLABLE_S bursts of the tone, SYLLABLE_GAP_S apart, ``seconds``
    long (float samples)."""
    one = np.concatenate([_tone(rate, hz, SYLLABLE_S, level, ramp_s=0.03),
                          np.zeros(int(rate * SYLLABLE_GAP_S))])
    return np.resize(one, int(rate * seconds))


def tone_pcm(rate: int, hz: float, seconds: float, level: float = TONE_LEVEL) -> bytes:
    """``seconds`` of a tone with 10 ms fades (a beep, a prompt), as S16 bytes."""
    return _pcm(_tone(rate, hz, seconds, level, ramp_s=0.01))


def speech_pcm(rate: int, hz: float, seconds: float, level: float = TONE_LEVEL) -> bytes:
    """``seconds`` of ``syllables`` of the tone (a spoken greeting, as the lab speaks), as S16
    bytes."""
    return _pcm(syllables(rate, hz, seconds, level))


def machine_greeting(rate: int, hz: int) -> bytes:
    """An answering machine's greeting: MACHINE_GREETING_S of syllables, then its beep."""
    return _pcm(syllables(rate, hz, MACHINE_GREETING_S), np.zeros(int(rate * BEEP_GAP_S)),
                _tone(rate, BEEP_HZ, BEEP_S, ramp_s=0.01))


@dataclass
class Customer:
    contact: str                       # a caller's contact id, or a called number
    talk_s: float | None               # None: until the far end hangs up
    call: Call | None = None
    called: bool = False               # a called number's call (named "number" in events)
    hz: int = TONE_HZ
    level: float = TONE_LEVEL
    sound: bytes = b""                 # what the caller says, looped, instead of the tone
    rang: bool = False
    answered: bool = False
    reason: str | None = None          # why we ended it ourselves
    tone: asyncio.Task | None = None
    heard: int = 0                     # bytes of the agent's audio received so far
    speaking: bool = False             # the agent was heard in the latest read with audio
    timers: list[asyncio.TimerHandle] = field(default_factory=list)
    mode: str = ""                     # a called number's call: the mode it is taken in
    greeting: str = ""                 # "machine": a machine number's call
    intro: bytes | None = None         # what is left of its greeting to send (None: not yet)
    recording: bytearray | None = None   # a machine's, from its beep on
    muted: bool = False                # says nothing ("mute")

    @property
    def tag(self) -> dict[str, str]:
        """What names it in events: {"contact": ...} or {"number": ...}."""
        return {"number" if self.called else "contact": self.contact}


@dataclass
class Number:
    """A number this process can be called at: its registered agent and what it does."""
    number: str
    mode: str                          # "answer" | "refuse" | "ring" | "machine"
    ua: UserAgent
    talk_s: float | None = None
    registered: bool = False


class Customers:
    def __init__(self, proxy: str, password: str, listen: str, transport: str = "udp",
                 cafile: str | None = None, media: str = "rtp",
                 codecs: tuple[str, ...] = NARROWBAND_CODECS):
        """``transport`` "tls": through the proxy over TLS, its certificate checked against
        ``cafile`` (else the system's CAs); ``media`` "srtp": SRTP only (a phone that cannot
        do it refuses the call); ``codecs``: offered in this order, wideband ones (G.722,
        Opus) making every call's audio run at 16 kHz."""
        self.proxy, self.password, self.listen = proxy, password, listen
        self.transport, self.cafile, self.media = transport, cafile, media
        self.codecs = codecs
        self.rate = WIDEBAND_RATE if wideband(codecs) else None
        self.codec_watch = CodecWatch(codecs)
        self.runtime = Runtime()
        self._agents: dict[str, UserAgent] = {}     # by caller user: baresip cannot free one
        self._customers: dict[str, Customer] = {}   # by contact
        self._numbers: dict[str, Number] = {}       # called numbers, registered
        self._called: dict[str, Customer] = {}      # their calls, by number
        self._by_handle: dict[int, Customer] = {}
        self._early: dict[int, list] = {}           # events of calls whose dial() has not returned
        self._dialing = 0
        self._tasks: set[asyncio.Task] = set()      # held here: the loop keeps only weak refs
        self.idle = asyncio.Event()                  # no call in progress
        self.idle.set()

    async def start(self) -> None:
        await self.runtime.start(stack_config(self.listen, self.transport, self.cafile,
                                              rate=self.rate, sip_trace=True))
        self.codec_watch.attach()           # before any call: which codec each one uses
        # before any dial: a 180 on loopback arrives before dial() returns the Call
        self.runtime.subscribe(self._on_stack_event)

    async def close(self) -> None:
        for entry in self._numbers.values():        # the proxy stops routing them here
            with contextlib.suppress(BaresipError):
                await entry.ua.unregister(timeout=1.0)
        await self.runtime.close()
        self.codec_watch.detach()

    # -- commands ---------------------------------------------------------------------------
    def dial(self, contact: str, to: str, ani: str, talk_s: float, ring_s: float,
             headers: dict[str, str], hz: int = TONE_HZ, level: float = TONE_LEVEL,
             sound: bytes = b"") -> None:
        """Start a call; the customer counts as in progress from now on."""
        if contact in self._customers:
            emit({"event": "error", "contact": contact, "reason": "contact already has a call"})
            return
        customer = Customer(contact, talk_s, hz=hz, level=level, sound=sound)
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
        await self._hangup(customer, reason)

    def mute(self, contact: str, on: bool) -> None:
        """The caller stops saying anything (``on``), or talks again."""
        customer = self._customers.get(contact)
        if customer is None:            # (not named "contact": its call is not the matter)
            emit({"event": "error", "reason": f"mute: no call for contact {contact[:64]}"})
            return
        customer.muted = on

    async def dtmf(self, contact: str, digits: str) -> None:
        """The caller keys ``digits`` into its answered call."""
        customer = self._customers.get(contact)
        if customer is None or customer.call is None or not customer.answered:
            emit({"event": "error", "contact": contact, "reason": "no answered call for dtmf"})
            return
        try:
            await customer.call.send_dtmf(digits, interdigit_ms=DTMF_GAP_MS)
        except (BaresipError, ValueError) as e:
            emit({"event": "error", "contact": contact, "reason": f"dtmf: {e}"})

    async def hangup_number(self, number: str, reason: str = "hangup requested") -> None:
        customer = self._called.get(number)
        if customer is None:
            emit({"event": "error", "number": number, "reason": "no call for this number"})
            return
        await self._hangup(customer, reason)

    async def _hangup(self, customer: Customer, reason: str) -> None:
        customer.reason = customer.reason or reason
        if customer.call is None:
            return                                  # still dialing: dial() hangs up after
        try:
            await customer.call.hangup()
        except StaleHandleError:
            pass                                    # it ended on its own meanwhile

    async def hangup_all(self, reason: str) -> None:
        await asyncio.gather(*(self._hangup(c, reason) for c in [*self._customers.values(),
                                                                  *self._called.values()]))

    async def _agent(self, ani: str) -> UserAgent:
        user = re.sub(r"[^0-9+]", "", ani) or "anonymous"
        if user in self._numbers:                  # a called number calling out: one agent
            return self._numbers[user].ua
        if user not in self._agents:
            self._agents[user] = await self._new_agent(user, reg_interval=0)
        return self._agents[user]

    async def _new_agent(self, user: str, reg_interval: int) -> UserAgent:
        return await UserAgent.create(self.runtime, lab_account(
            user, self.proxy, self.password, self.transport, self.media, reg_interval,
            self.codecs))

    # -- called numbers ---------------------------------------------------------------------
    async def take_numbers(self, numbers: list[str], mode: str,
                           talk_s: float | None = None) -> None:
        """Make ``numbers`` callable here in ``mode``: each registers at the proxy as its own
        user (once; later calls only change its mode). Says "answering" or "error" for each."""
        await asyncio.gather(*(self._take_number(n, mode, talk_s) for n in numbers))

    async def _take_number(self, number: str, mode: str, talk_s: float | None) -> None:
        entry = self._numbers.get(number)
        if entry is None:
            if number in self._agents:
                emit({"event": "error", "number": number,
                      "reason": "already a caller's number here (unregistered)"})
                return
            try:
                ua = await self._new_agent(number, reg_interval=NUMBER_REG_S)
            except (BaresipError, ValueError) as e:
                emit({"event": "error", "number": number, "reason": f"not taken: {e}"})
                return
            entry = self._numbers[number] = Number(number, mode, ua)
            ua.on_incoming(lambda call, n=number: self._on_incoming(n, call))
        entry.mode, entry.talk_s = mode, talk_s
        if not entry.registered:      # (baresip cannot free an agent: a retry reuses it)
            try:
                await entry.ua.register(timeout=REGISTER_TIMEOUT_S)
            except (RegistrationError, BaresipError) as e:
                emit({"event": "error", "number": number, "reason": f"not registered: {e}"})
                return
            entry.registered = True
        emit({"event": "answering", "number": number, "mode": mode, "hz": number_tone(number)})

    def _on_incoming(self, number: str, call: Call) -> None:
        entry = self._numbers[number]
        headers = {k: v for k, v in call.headers.items() if k.lower() != TOKEN_HEADER.lower()}
        emit({"event": "incoming", "number": number, "from": user_part(call.peer),
              "headers": headers})
        mode = call_mode(entry.mode, headers)        # this call's (X-Lab-Outcome)
        if mode == "refuse" or number in self._called:
            emit({"event": "refused", "number": number,
                  "reason": "busy (486)" if mode == "refuse" else "busy: on a call (486)"})
            self.spawn(self._reject(call))
            return
        customer = Customer(number, entry.talk_s, call, called=True, hz=number_tone(number),
                            mode=mode)
        self._called[number] = customer
        self._by_handle[call.handle] = customer
        self.idle.clear()
        call.on_dtmf(lambda key: emit({"event": "dtmf", "number": number, "digit": key.digit}))
        customer.greeting = "machine" if mode == "machine" else ""
        if mode in ("answer", "machine"):
            self.spawn(self._answer(customer))

    @staticmethod
    async def _reject(call: Call) -> None:
        with contextlib.suppress(StaleHandleError):
            await call.reject()

    async def _answer(self, customer: Customer) -> None:
        assert customer.call is not None
        try:
            await customer.call.answer()
        except StaleHandleError:
            pass                                    # the caller gave up meanwhile
        except BaresipError as e:
            customer.reason = f"not answered: {e}"
            await self._hangup(customer, customer.reason)

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
        if (event.event in (Event.CALL_RINGING, Event.CALL_PROGRESS) and not customer.rang
                and not customer.called):
            customer.rang = True
            emit({"event": "ringing", "contact": customer.contact})
        elif event.event is Event.CALL_ESTABLISHED and not customer.answered:
            customer.answered = True
            emit({"event": "answered", **customer.tag})
            loop = asyncio.get_running_loop()
            customer.tone = loop.create_task(self._talk(customer))
            if customer.talk_s is not None:
                customer.timers.append(loop.call_later(
                    customer.talk_s, lambda: self.spawn(self._hangup(customer, "talk time over"))))
        elif event.event is Event.CALL_CLOSED:
            reason = customer.reason or END_REASONS.get(event.text or "", event.text or "")
            if customer.called and not customer.answered and not customer.reason:
                reason = "caller gave up"           # CANCEL before an answer
            # a called number's call that never rang through still "ended": it was never ours
            outcome = "ended" if customer.answered or customer.called else "failed"
            self._finish(customer, outcome, reason)

    def _finish(self, customer: Customer, outcome: str, reason: str) -> None:
        if customer.tone:
            customer.tone.cancel()
        for timer in customer.timers:
            timer.cancel()
        (self._called if customer.called else self._customers).pop(customer.contact, None)
        if customer.call is not None:
            self._by_handle.pop(customer.call.handle, None)
        if customer.greeting == "machine" and customer.answered:
            self._report_recorded(customer)
        emit({"event": outcome, **customer.tag, "reason": reason})
        if not self._customers and not self._called:
            self.idle.set()

    async def _talk(self, customer: Customer) -> None:
        """Feed the tone one packet time at a time, on a clock: the stack sends what is
        buffered every ptime, and silence when the buffer runs dry. Listen meanwhile, and say
        every HEARING_S what was heard."""
        loop = asyncio.get_running_loop()
        call = customer.call
        second, offset, due = b"", 0, loop.time()
        # what the tap hands out is at the codec's rate and channels (Opus: 48 kHz stereo),
        # whatever its info says: heard as mono at the customer's own rate
        rate = self.rate or 8000
        received = ReceivedAudio(rate, conceal=False)
        window, report_at = bytearray(), loop.time() + HEARING_S
        while True:
            if loop.time() >= report_at:            # held or not: silence is news too
                self._report_hearing(customer, bytes(window), rate,
                                     self.codec_watch.codec(call.call_id))
                window.clear()
                report_at = loop.time() + HEARING_S
            try:
                info = call.audio.info()
                if info.rx_ready:
                    pcm = received.convert(call.audio.read(65536),
                                           self.codec_watch.codec(call.call_id))
                    customer.heard += len(pcm)
                    window += pcm
                    if customer.recording is not None \
                            and len(customer.recording) < RECORD_MAX_S * rate * 2:
                        customer.recording += pcm
                    if pcm:
                        self._notice_voice(customer, pcm)
                ptime = (info.tx_ptime_ms or 20) / 1000
                frame = int(info.tx_sample_rate * info.tx_channels * 2 * ptime)
                if (info.tx_ready and frame and customer.greeting
                        and customer.intro is None and info.tx_channels == 1):
                    customer.intro = machine_greeting(info.tx_sample_rate, customer.hz)
                if info.tx_ready and frame and customer.intro:
                    for _ in range((3 * frame - info.tx_buffered) // frame):
                        part = customer.intro[:frame]
                        customer.intro = customer.intro[frame:]
                        call.audio.write(part + bytes(frame - len(part)))
                        if not customer.intro:
                            break
                    if not customer.intro and customer.greeting == "machine":
                        customer.recording = bytearray()     # the beep is out: recording
                elif info.tx_ready and frame and customer.greeting == "machine" \
                        and customer.intro is not None:
                    for _ in range((3 * frame - info.tx_buffered) // frame):
                        call.audio.write(bytes(frame))       # listening: silence
                elif info.tx_ready and frame and customer.muted:
                    for _ in range((3 * frame - info.tx_buffered) // frame):
                        call.audio.write(bytes(frame))       # saying nothing
                elif info.tx_ready and frame:
                    if customer.sound and info.tx_channels == 1:
                        if second is not customer.sound:
                            second, offset = customer.sound, 0
                    elif len(second) != info.tx_sample_rate * info.tx_channels * 2:
                        second, offset = tone_second(info.tx_sample_rate, info.tx_channels,
                                                     customer.hz, customer.level), 0
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
            emit({"event": "voice", **customer.tag, "at": time.monotonic()})
        customer.speaking = speaking

    def _report_recorded(self, customer: Customer) -> None:
        """A machine's call is over: what it recorded after its beep."""
        pcm = bytes(customer.recording or b"")
        rate = self.rate or 8000
        level, hz = hearing(pcm, rate)
        emit({"event": "recorded", **customer.tag, "seconds": round(len(pcm) / (2 * rate), 2),
              "level_dbfs": level, "hz": hz, "tones": tones(pcm, rate)})

    @staticmethod
    def _report_hearing(customer: Customer, window: bytes, rate: int, codec: str) -> None:
        level, hz = hearing(window, rate)
        emit({"event": "audio", **customer.tag,
              "heard_s": round(customer.heard / (2 * rate), 2), "level_dbfs": level, "hz": hz,
              "tones": tones(window, rate), "codec": codec, "rate": rate,
              "own_dbfs": tone_dbfs(window, rate, customer.hz)})


def read_lines(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue) -> None:
    """stdin in a thread (a pipe, a file or a terminal alike); None marks EOF."""
    for line in sys.stdin:
        loop.call_soon_threadsafe(queue.put_nowait, line)
    loop.call_soon_threadsafe(queue.put_nowait, None)


def contact_of(line: str) -> dict:
    """{"contact": ...} (or {"number": ...}) of a rejected line when it names one, so ccsim
    can pair the error."""
    try:
        msg = json.loads(line)
        named = {k: msg.get(k) for k in ("contact", "number")}
    except (ValueError, AttributeError):
        return {}
    return {k: v for k, v in named.items() if isinstance(v, str)}


def parse(line: str, top_hz: int = TOP_HZ) -> dict:
    """A command line, checked; ``top_hz``: the highest tone a dial may ask for."""
    try:
        msg = json.loads(line)
    except ValueError as e:
        raise ValueError(f"not JSON: {e}") from None
    ops = ("dial", "hangup", "quit", "dtmf", "mute", *NUMBER_MODES)
    if not isinstance(msg, dict) or msg.get("op") not in ops:
        raise ValueError(f"expected an object with op {', '.join(ops)}")
    if msg["op"] == "quit":
        return msg
    if msg["op"] in NUMBER_MODES:
        numbers = msg.get("numbers")
        if not isinstance(numbers, list) or not numbers:
            raise ValueError(f"{msg['op']}: numbers must be a non-empty list")
        for number in numbers:
            check_number(number)
        talk_s = msg.get("talk_s")
        if talk_s is not None and (isinstance(talk_s, bool) or not isinstance(talk_s, (int, float))
                                   or talk_s <= 0):
            raise ValueError(f"{msg['op']}: talk_s must be a positive number of seconds")
        return msg
    if msg["op"] == "hangup" and "number" in msg:
        check_number(msg["number"])
        return msg
    if not isinstance(msg.get("contact"), str) or not msg["contact"]:
        raise ValueError(f"{msg['op']}: contact must be a non-empty string")
    if msg["op"] == "mute" and not isinstance(msg.get("on"), bool):
        raise ValueError("mute: on must be true or false")
    if msg["op"] == "dtmf" and not (isinstance(msg.get("digits"), str)
                                    and DTMF.fullmatch(msg["digits"])):
        raise ValueError("dtmf: digits must be 1-32 of 0-9 * # A-D")
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
        hz = msg.get("hz", TONE_HZ)
        if isinstance(hz, bool) or not isinstance(hz, int) or not 100 <= hz <= top_hz:
            raise ValueError(f"dial: hz must be a whole number of Hz, 100-{top_hz} (the "
                             f"{'wideband' if top_hz > TOP_HZ else 'phone'} band)")
        level = msg.get("level", TONE_LEVEL)
        if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level <= 1:
            raise ValueError("dial: level must be a fraction of full scale, over 0 and at most 1")
        sound = msg.get("sound")
        if sound is not None:
            if not isinstance(sound, str) or not os.path.isfile(sound):
                raise ValueError(f"dial: sound must name a raw audio file, got {str(sound)[:80]!r}")
            size = os.path.getsize(sound)
            if not 0 < size <= SOUND_MAX_BYTES or size % 2:
                raise ValueError(f"dial: sound must be whole S16 samples, at most "
                                 f"{SOUND_MAX_BYTES} bytes, got {size}")
    return msg


def check_number(number: object) -> str:
    """A called number as the proxy can register it, or ValueError naming it."""
    if not isinstance(number, str) or not NUMBER.fullmatch(number):
        raise ValueError(f"not a number that can be called: {str(number)[:80]!r} "
                         f"(1-64 of A-Z a-z 0-9 + * . _ ~ -)")
    return number


def wideband(codecs: tuple[str, ...]) -> bool:
    return any(spec in WIDEBAND_CODECS for spec in codecs)


def codec_list(text: str) -> tuple[str, ...]:
    """--codecs g722,pcmu -> ("g722/16000/1", "pcmu") (argparse's type: errors exit 2)."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in CODECS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"codecs are a comma-separated list of "
                                         f"{', '.join(CODECS)}, got {text!r}")
    return tuple(dict.fromkeys(CODECS[n] for n in names))


def number_list(text: str) -> list[str]:
    """--answer 5550100,5550101 -> ["5550100", "5550101"] (argparse's type: errors exit 2)."""
    try:
        return [check_number(n.strip()) for n in text.split(",") if n.strip()]
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def sound_of(msg: dict) -> bytes:
    """What a dial's caller plays instead of the tone (checked by ``parse``), or b"": a tone."""
    sound = msg.get("sound")
    return Path(sound).read_bytes() if sound else b""


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
                          args.media, args.codecs)
    top_hz = WIDEBAND_TOP_HZ if wideband(args.codecs) else TOP_HZ
    await customers.start()
    for mode in NUMBER_MODES:           # registered before "ready": callable once it is read
        await customers.take_numbers(getattr(args, mode), mode)
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
                msg = parse(line, top_hz)
            except ValueError as e:
                emit({"event": "error", "reason": str(e), **contact_of(line)})
                continue
            if msg["op"] == "quit":
                await customers.hangup_all("quit")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(customers.idle.wait(), QUIT_WAIT_S)
                return
            if msg["op"] in NUMBER_MODES:       # registering takes a round trip: not in line
                customers.spawn(customers.take_numbers(msg["numbers"], msg["op"],
                                                       msg.get("talk_s")))
            elif msg["op"] == "hangup" and "number" in msg:
                await customers.hangup_number(msg["number"])
            elif msg["op"] == "hangup":
                await customers.hangup(msg["contact"])
            elif msg["op"] == "mute":
                customers.mute(msg["contact"], msg["on"])
            elif msg["op"] == "dtmf":                  # keyed in the call's own time
                customers.spawn(customers.dtmf(msg["contact"], msg["digits"]))
            else:
                customers.dial(msg["contact"], msg["to"], msg.get("ani", ""),
                               msg.get("talk_s", TALK_S), msg.get("ring_s", RING_S),
                               dial_headers(msg), msg.get("hz", TONE_HZ),
                               msg.get("level", TONE_LEVEL), sound_of(msg))
        await customers.idle.wait()      # stdin EOF (ccsim gone): calls run to their end
    finally:
        await customers.close()


def ua_arguments(description: str, listen: str) -> argparse.ArgumentParser:
    """The options every lab user agent process takes (customers, the bridge, voicemail):
    its proxy and password, where it listens, the transport and media."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--proxy", required=True, help="SIP proxy host:port")
    ap.add_argument("--password", default="", help="the proxy's shared digest password")
    ap.add_argument("--listen", default=listen, help="our SIP address (PORT+1 taken too)")
    ap.add_argument("--transport", choices=("udp", "tcp", "tls"), default="udp",
                    help="to the proxy (tls: --proxy is its TLS address)")
    ap.add_argument("--cafile", help="the proxy's CA for tls (default: the system's)")
    ap.add_argument("--media", choices=("rtp", "srtp"), default="rtp",
                    help="srtp: SRTP only (needs --transport tls to keep its keys secret)")
    return ap


def main() -> None:
    ap = ua_arguments("simulated customers calling agents over SIP", "127.0.0.1:5090")
    ap.add_argument("--answer", type=number_list, default=[], metavar="N1,N2",
                    help="numbers that answer calls, each playing its own tone")
    ap.add_argument("--refuse", type=number_list, default=[], metavar="N1,N2",
                    help="numbers that answer calls 486 Busy Here")
    ap.add_argument("--ring", type=number_list, default=[], metavar="N1,N2",
                    help="numbers that ring and never answer")
    ap.add_argument("--machine", type=number_list, default=[], metavar="N1,N2",
                    help="answering machines: a greeting, a beep, then they record")
    ap.add_argument("--codecs", type=codec_list, default=NARROWBAND_CODECS, metavar="C1,C2",
                    help=f"codecs offered, in order, of {', '.join(CODECS)} (default pcmu,pcma; "
                         f"g722 or opus: wideband customers, their audio at 16 kHz)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="customers: %(name)s: %(message)s")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
