"""The contact center's media bridge (B2BUA): one SIP user that holds calls ("legs") and mixes
them in rooms, driven by JSON lines. Consult, transfer and conference are built on it: the
center keeps the customer's leg and bridges it to whichever agent has the call.

    python -m tools.ccsim.bridge --proxy 127.0.0.1:5062 --password secret --listen 127.0.0.1:5094
        [--user cc-bridge] [--control /run/ccsim/bridge.sock]
        [--transport tls --cafile ca.pem --media srtp]

stdin (or the --control socket):
        {"op": "dial", "leg": "L1", "to": "sip:1001@127.0.0.1:5062" | "1001",
         "headers": {"X-CC-Contact-Id": "c-1", "X-CC-Token": "..."}, "ring_s": 60,
         "amd": true, "amd_speech_s": 2.5}    (amd optional: answering-machine detection)
        {"op": "answer"|"refuse", "leg"}            an incoming leg (refuse: 486)
        {"op": "join", "room": "R1", "leg"}         (moves it from the room it was in)
        {"op": "leave", "leg"}
        {"op": "hold_music", "leg", "on": true}    what a leg in no room hears (else silence)
        {"op": "play", "leg", "file": "/abs/message.raw", "then": "hangup" | "rejoin" | ""}
                the leg hears the file (raw S16LE mono at 8000 Hz, the rate the bridge mixes
                at; at most 60 s) instead of music or silence: it leaves its room, music off;
                a join stops it. When it ends: with then "hangup" the leg is hung up; with
                "rejoin" it goes back into the room it left ("joined"), unless hold music was
                turned on for it meanwhile (then it stays out, on the music); then "played"
        {"op": "app", "leg", "app": "payment", "prompt": "/abs/prompt.raw", "collect":
         "digits", "max_digits": 20, "timeout_s": 8, "then": "rejoin" | "hangup"}
        {"op": "app", "leg", "app": "signature", "prompt": "/abs/prompt.raw", "collect":
         "speech", "record_s": 4, "file": "/abs/c-1-signature.wav", "then": ...}
                a voice application on the leg (bridge_apps.py): out of its room, music
                off, it hears the prompt (a raw file, as play's), then the customer's DTMF
                keys are counted (never kept or passed on) or its answer is recorded and
                judged; then "app_done", and with "rejoin" it goes back into the room it
                left (unless put on hold music meanwhile), with "hangup" it is hung up. A
                join, a play or another app stops it (stopped)
        {"op": "hangup", "leg"}   {"op": "legs"}   {"op": "stats"}   {"op": "quit"}
        {"op": "record", "room", "file": "/abs/c-1.wav"}   what the room says, into a WAV
        {"op": "record_pause", "room", "paused": true}   {"op": "record_stop", "room"}
stdout (and the socket): {"event": "ready"}; per leg {"event": "incoming", "leg", "from",
        "headers", "token_sha256"} (a call to our user; never X-CC-Token itself, only its
        SHA-256 in hex, "" without one: the controller checks the caller's key with it),
        {"event": "ringing"|"answered",
        "leg"}, {"event": "ended", "leg", "reason"} ("not found (404)", "busy (486)", "no
        answer", "far end hung up", "hangup requested", ...); {"event": "joined", "room",
        "leg", "legs"}, {"event": "left", "room", "leg"}, {"event": "hold_music", "leg", "on"};
        {"event": "played", "leg", "file", "stopped"} (the file ended, or a join or another
        play stopped it: stopped true; after a rejoin's "joined"); {"event": "amd", "leg",
        "result": "human"|"machine"|"unknown", "speech_s"} once per leg dialed with amd,
        within AMD_WINDOW_S of its answer (below); {"event": "app_done", "leg", "app",
        "ok", "ended" ("#"|"max"|"timeout"|"recorded"|"stopped"), "digits" (how many) |
        "speech_s" and "file"} (after a rejoin's "joined");
        every 0.5 s per answered leg what it hears from us: {"event": "audio", "leg",
        "heard_s", "level_dbfs", "hz", "tones"} (customers.hearing and customers.tones);
        {"event": "legs", "legs": [{"leg", "direction", "state", "peer", "contact", "room",
        "hold_music", "playing"? (the file it hears), "app"? (the application it is in)}],
        "rooms": {"R1": ["L1", ...]}};
        {"event": "stats", "legs", "ticks", "late", "tick_us": {"p50", "p99", "max"}} (a
        tick's read + mix + write, since the previous stats); {"event": "recording", "room",
        "file", "state": "on"|"paused"|"stopped", "at_s"} (where in the file it happened;
        ``legs`` lists them too: a restarted ccsim finds its recordings going on); a bad
        line -> {"event": "error", "reason"} (with "leg" when it named one). Header values
        are never logged or echoed.

Mixing: every 20 ms one tick reads each answered leg's 20 ms (PCMU/PCMA: 8 kHz mono), and each
leg in a room is sent the sum of the others' and never its own (``mix_minus``); a room holds
at most ROOM_MAX legs. A leg's receive backlog is cut to RX_BACKLOG frames (latency must not
grow); a held or renegotiating leg counts as silence. Sums clip: fine for test tones, speech
in a big room would want a limiter.

Answering-machine detection (a dial's "amd": true): once the leg answers, each tick's 20 ms of
what the far end says is voiced when its level passes AMD_VOICE_DBFS. Voiced stretches whose
gaps are under AMD_GAP_S are one utterance. An utterance longer than ``amd_speech_s``
(default 2.5 s) within the first AMD_WINDOW_S: "machine" (a recorded greeting goes on), when
it is speech: at least AMD_PAUSES short pauses between its syllables (a steady sound that
long with none, a tone, is no voice: "unknown" then); a short one (under AMD_HUMAN_MAX_S,
"Hello?") followed by AMD_SILENCE_S of silence: "human"; else, at AMD_WINDOW_S, "unknown".
``speech_s``: the longest utterance so far.

Calls outlive the controller, as the customers' do. Without --control, on stdin EOF no more
commands are taken and the process ends once its legs have. With --control, the process is a
service until quit or SIGTERM: a controller connects to the Unix socket (mode 0600: tokens
pass through it), a new connection replaces the old one, and ``legs`` tells it what is up so
a restarted ccsim can take over.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import hashlib
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from baresip import (AudioNotActive, AudioRestarted, BaresipError, Call, Event, RegistrationError,
                     Runtime, StackEvent, StaleHandleError, UserAgent)

from firmware.sip.config import SipConfig
from firmware.sip.dialing import dial_uri, failure_reason

from .bridge_apps import AppRun
from .bridge_apps import check as check_app
from .customers import (CONTACT_HEADER, END_REASONS, HEARING_S, INCOMING_HEADERS,
                        NUMBER_REG_S, QUIT_WAIT_S, REGISTER_TIMEOUT_S, TOKEN_HEADER, emit, hearing,
                        lab_account, read_lines, stack_config, tones, ua_arguments,
                        user_part)
from .recorder import RoomRecorder
from .scenario import MESSAGE_MAX_BYTES, MESSAGE_MAX_S, MESSAGE_RATE

log = logging.getLogger("ccsim.bridge")

RATE = 8000                   # PCMU/PCMA, the lab accounts' codecs
FRAME = RATE // 50            # samples in 20 ms
FRAME_BYTES = FRAME * 2
TICK_S = 0.02
RX_BACKLOG = 2                # frames of a leg's receive audio kept; older ones are dropped
JITTER_BUFFER_MS = SipConfig.jitter_buffer_ms    # the phone's default playout delay
TX_LEAD = 1                   # frames queued ahead for a leg: a late tick does not starve it
ROOM_MAX = 8
RING_S = 60.0
REPORT_TICKS = round(HEARING_S / TICK_S)
TICKS_KEPT = 3000             # tick costs kept for "stats" (a minute)
LEG_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
HEADER_NAME = re.compile(r"[A-Za-z0-9-]{1,64}")
MAX_HEADERS, MAX_HEADER_VALUE = 16, 1024
HOLD_NOTES = (392, 494, 588, 494)   # Hz, half a second each: whole cycles, no clicks
HOLD_LEVEL = 0.2
OPS = ("dial", "answer", "refuse", "join", "leave", "hold_music", "hangup", "legs", "stats",
       "quit", "record", "record_pause", "record_stop", "play", "app")
ROOM_OPS = ("record", "record_pause", "record_stop")
PLAY_THEN = ("hangup", "rejoin", "")
assert MESSAGE_RATE == RATE       # a campaign's message is played as it is
# answering-machine detection (a dial's "amd")
AMD_SPEECH_S = 2.5            # an utterance longer than this: a machine's greeting
AMD_WINDOW_S = 4.0            # ... within this long of the answer; then "unknown"
AMD_HUMAN_MAX_S = 1.5         # a greeting at most this long ...
AMD_SILENCE_S = 0.8           # ... then this much silence: a human ("Hello?")
AMD_GAP_S = 0.3               # pauses shorter than this do not end an utterance
AMD_VOICE_DBFS = -35.0        # a 20 ms frame louder than this is voiced
AMD_PAUSES = 2                # a machine's long utterance is speech: pauses between syllables

Frames = npt.NDArray[np.int16]


def mix_minus(frames: Frames) -> Frames:
    """Row i of ``frames`` is what leg i says (int16 samples); row i of the result is what leg
    i hears: the sum of every other row, clipped to 16 bits."""
    wide = frames.astype(np.int32)
    heard: Frames = np.clip(wide.sum(axis=0) - wide, -32768, 32767).astype(np.int16)
    return heard


def hold_tune(rate: int = RATE) -> Frames:
    """Music on hold: HOLD_NOTES in a loop, one second per two notes."""
    t = np.arange(rate // 2) / rate
    notes = [(HOLD_LEVEL * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16)
             for hz in HOLD_NOTES]
    tune: Frames = np.concatenate(notes)
    return tune


def _seconds(msg: dict[str, Any], key: str, default: float) -> float:
    value = msg.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 86400:
        raise ValueError(f"{msg['op']}: {key} must be a number of seconds in 0 < s <= 86400")
    return float(value)


def _name(msg: dict[str, Any], key: str) -> str:
    value = msg.get(key)
    if not isinstance(value, str) or not LEG_ID.fullmatch(value):
        raise ValueError(f"{msg['op']}: {key} must be 1-64 of A-Z a-z 0-9 _ . : -")
    return value


def parse(line: str) -> dict[str, Any]:
    """A command line, checked; ValueError saying what is wrong (never quoting a header's
    value: a token is a secret)."""
    try:
        msg = json.loads(line)
    except ValueError as e:
        raise ValueError(f"not JSON: {e}") from None
    if not isinstance(msg, dict) or msg.get("op") not in OPS:
        raise ValueError(f"expected an object with op {', '.join(OPS)}")
    op = msg["op"]
    if op in ("legs", "stats", "quit"):
        return msg
    if op in ROOM_OPS:
        _name(msg, "room")
        if op == "record":
            file = msg.get("file")
            if (not isinstance(file, str) or not file.endswith(".wav")
                    or not os.path.isabs(file) or not os.path.isdir(os.path.dirname(file))):
                raise ValueError("record: file must be an absolute .wav path in a directory "
                                 "that exists")
        elif op == "record_pause" and not isinstance(msg.get("paused"), bool):
            raise ValueError("record_pause: paused must be true or false")
        return msg
    _name(msg, "leg")
    if op == "join":
        _name(msg, "room")
    elif op == "hold_music" and not isinstance(msg.get("on"), bool):
        raise ValueError("hold_music: on must be true or false")
    elif op == "app":
        _play_file(msg.get("prompt"), "app: prompt")
        check_app(msg)
    elif op == "play":
        _play_file(msg.get("file"))
        if msg.get("then", "") not in PLAY_THEN:
            raise ValueError('play: then must be "hangup", "rejoin" or ""')
    elif op == "dial":
        to = msg.get("to")
        if not isinstance(to, str):
            raise ValueError("dial: to must be a number or a sip: URI")
        dial_uri(to, "proxy")                  # its ValueError names the problem
        _seconds(msg, "ring_s", RING_S)
        headers = msg.get("headers", {})
        if not isinstance(headers, dict) or len(headers) > MAX_HEADERS:
            raise ValueError(f"dial: headers must be an object of at most {MAX_HEADERS}")
        for name, value in headers.items():
            if not HEADER_NAME.fullmatch(name):
                raise ValueError(f"dial: header name {name[:64]!r} is not a SIP header name")
            if (not isinstance(value, str) or len(value) > MAX_HEADER_VALUE
                    or any(ord(c) < 0x20 or c == "\x7f" for c in value)):
                raise ValueError(f"dial: header {name} must be a single line of at most "
                                 f"{MAX_HEADER_VALUE} characters")
        if not isinstance(msg.get("amd", False), bool):
            raise ValueError("dial: amd must be true or false")
        speech = msg.get("amd_speech_s", AMD_SPEECH_S)
        if (isinstance(speech, bool) or not isinstance(speech, (int, float))
                or not 0.5 <= speech <= AMD_WINDOW_S - 0.5):
            raise ValueError(f"dial: amd_speech_s must be a number of seconds, 0.5-"
                             f"{AMD_WINDOW_S - 0.5:g}")
    return msg


def _play_file(file: object, what: str = "play: file") -> str:
    """A play's file (an app's prompt: ``what``): an absolute path of a readable raw file
    (S16LE mono at RATE) of whole samples, at most MESSAGE_MAX_S long; ValueError saying which
    rule it breaks."""
    op = what.split(":")[0]
    if not isinstance(file, str) or not os.path.isabs(file):
        raise ValueError(f"{what} must be an absolute path (a raw S16LE mono 8 kHz file)")
    if not os.path.isfile(file) or not os.access(file, os.R_OK):
        raise ValueError(f"{op}: {file[:200]} is not a file that can be read")
    size = os.path.getsize(file)
    if not 0 < size <= MESSAGE_MAX_BYTES or size % 2:
        raise ValueError(f"{op}: {file[:200]} is {size} bytes: whole S16 samples, at most "
                         f"{MESSAGE_MAX_S:g} s at {RATE} Hz ({MESSAGE_MAX_BYTES} bytes)")
    return file


class MachineDetector:
    """Answering-machine detection on one leg: ``feed`` each tick's 20 ms of what the far end
    said (None: nothing came, silence) from its answer on; it returns the result once
    ("human", "machine", "unknown"; the module's docstring says how), then None."""

    def __init__(self, speech_s: float = AMD_SPEECH_S, frame_s: float = TICK_S):
        self.frame_s, self.speech_s = frame_s, speech_s
        self.frames = 0                 # fed so far
        self.start: int | None = None   # the utterance going on: its first voiced frame
        self.pauses = 0                 # ... and its short pauses so far
        self.last = -1                  # the latest voiced frame
        self.longest = 0.0              # s: the longest utterance so far
        self.result: str | None = None

    @staticmethod
    def voiced(frame: Frames | None) -> bool:
        if frame is None or not len(frame):
            return False
        rms = float(np.sqrt(np.mean(frame.astype(np.float64) ** 2)))
        return 20 * np.log10(max(rms, 1e-3) / 32768) > AMD_VOICE_DBFS

    def feed(self, frame: Frames | None) -> str | None:
        if self.result is not None:
            return None
        i = self.frames
        self.frames += 1
        if self.voiced(frame):
            if self.start is None or (i - self.last - 1) * self.frame_s >= AMD_GAP_S:
                self.start, self.pauses = i, 0      # a new utterance
            elif i - self.last > 1:
                self.pauses += 1                    # a pause between syllables
            self.last = i
            length = (i - self.start + 1) * self.frame_s
            self.longest = max(self.longest, length)
            if length > self.speech_s:
                return self._decide("machine" if self.pauses >= AMD_PAUSES else "unknown")
        elif self.start is not None and (i - self.last) * self.frame_s >= AMD_SILENCE_S:
            if (self.last - self.start + 1) * self.frame_s <= AMD_HUMAN_MAX_S:
                return self._decide("human")
            self.start = None                       # a longer one ended: not a greeting
        if self.frames * self.frame_s >= AMD_WINDOW_S - 1e-9:
            return self._decide("unknown")
        return None

    def _decide(self, result: str) -> str:
        self.result = result
        return result


def leg_of(line: str) -> dict[str, str]:
    """{"leg": ...} of a refused line when it names one, so the controller can pair the error."""
    try:
        leg = json.loads(line).get("leg")
    except (ValueError, AttributeError):
        return {}
    return {"leg": leg} if isinstance(leg, str) and LEG_ID.fullmatch(leg) else {}


@dataclass
class Leg:
    leg: str
    direction: str                     # "out" (dialed) | "in" (called us)
    peer: str
    contact: str = ""                  # the X-CC-Contact-Id it carries, if any
    call: Call | None = None
    state: str = "dialing"             # dialing | ringing | incoming | answered
    room: str | None = None
    hold_music: bool = False
    reason: str | None = None          # why we ended it ourselves
    rx: bytearray = field(default_factory=bytearray)
    said: Frames | None = None         # its 20 ms of this tick (None: nothing, silence)
    window: bytearray = field(default_factory=bytearray)   # what it heard since the report
    heard: int = 0                     # bytes sent to it so far
    ticks: int = 0
    tune_at: int = 0                   # where it is in the hold tune
    odd_format: bool = False           # not 8 kHz mono: not mixed (told once)
    playing: Frames | None = None      # a file it hears instead of music or silence ("play")
    play_at: int = 0                   # where it is in it
    play_file: str = ""
    play_then: str = ""                # "hangup": hung up when the file ends; "rejoin": ...
    play_room: str | None = None       # ... back into this room (the one it left for the file)
    amd: MachineDetector | None = None   # answering-machine detection, until it decided
    app: AppRun | None = None          # a voice application it is in (bridge_apps.py)
    timers: list[asyncio.TimerHandle] = field(default_factory=list)
    # digits for it go out one after the other, in the order they came (never logged)
    dtmf_turn: asyncio.Lock = field(default_factory=asyncio.Lock)


class Bridge:
    def __init__(self, proxy: str, password: str, listen: str, user: str = "cc-bridge",
                 transport: str = "udp", cafile: str | None = None, media: str = "rtp"):
        self.proxy, self.password, self.listen, self.user = proxy, password, listen, user
        self.transport, self.cafile, self.media = transport, cafile, media
        self.runtime = Runtime()
        self.ua: UserAgent | None = None
        self.legs: dict[str, Leg] = {}
        self.rooms: dict[str, list[str]] = {}
        self.recordings: dict[str, RoomRecorder] = {}    # room -> its recording
        self._by_handle: dict[int, Leg] = {}
        self._early: dict[int, list[StackEvent]] = {}   # events of calls dial() has not returned
        self._dialing = 0
        self._incoming = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._tune = hold_tune()
        self.tick_us: collections.deque[float] = collections.deque(maxlen=TICKS_KEPT)
        self.ticks = self.late = 0
        self.controller: asyncio.StreamWriter | None = None   # the --control connection

    # -- setup ------------------------------------------------------------------------------
    async def start(self) -> None:
        # the bridge relays what it receives at once: its playout delay is mouth-to-ear delay
        # for every call, so it is kept as short as the phone's (firmware/sip: 40 ms)
        await self.runtime.start(stack_config(self.listen, self.transport, self.cafile,
                                              INCOMING_HEADERS + (TOKEN_HEADER,),
                                              jitter_buffer_ms=JITTER_BUFFER_MS))
        self.runtime.subscribe(self._on_stack_event)
        self.ua = await UserAgent.create(self.runtime, lab_account(
            self.user, self.proxy, self.password, self.transport, self.media, NUMBER_REG_S))
        self.ua.on_incoming(self._on_incoming)
        await self.ua.register(timeout=REGISTER_TIMEOUT_S)
        self.spawn(self._ticker())

    async def close(self) -> None:
        for rec in self.recordings.values():
            rec.close()
        if self.ua is not None:
            with contextlib.suppress(BaresipError):
                await self.ua.unregister(timeout=1.0)
        await self.runtime.close()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _relay_dtmf(self, source: Leg, digit: str) -> None:
        """A key pressed on one leg reaches every other leg of its room, as the audio does (an
        IVR or a card-payment line behind the bridge hears the agent's keys). The digits are
        neither reported nor logged: they may be a card number. A leg in a voice application
        keys into it, and only into it."""
        if source.app is not None:
            source.app.key(digit)
            return
        if source.room is None:
            return
        for name in self.rooms.get(source.room, ()):
            other = self.legs.get(name)
            if other is not None and other is not source and other.state == "answered":
                self.spawn(self._send_dtmf(other, digit))

    async def _send_dtmf(self, leg: Leg, digit: str) -> None:
        async with leg.dtmf_turn:
            if leg.call is not None and leg.state == "answered":
                with contextlib.suppress(BaresipError):
                    await leg.call.send_dtmf(digit)

    def say(self, message: dict[str, Any]) -> None:
        """An event to stdout and to the controller on the socket, if one is there."""
        emit(message)
        if self.controller is not None and not self.controller.is_closing():
            self.controller.write(json.dumps(message).encode() + b"\n")

    def error(self, reason: str, **named: str) -> None:
        self.say({"event": "error", **named, "reason": reason})

    # -- commands ---------------------------------------------------------------------------
    async def command(self, msg: dict[str, Any]) -> None:
        """One parsed line (see ``parse``); what cannot be done is an error event."""
        op, name = msg["op"], msg.get("leg", "")
        if op == "legs":
            self.say(self.listing())
            return
        if op == "stats":
            self.say(self.stats())
            return
        if op in ROOM_OPS:
            self.record(op, msg)
            return
        if op == "dial":
            if name in self.legs:
                self.error("leg already exists", leg=name)
                return
            self.dial(name, dial_uri(msg["to"], self.proxy, self.transport),
                      dict(msg.get("headers", {})), float(msg.get("ring_s", RING_S)))
            if msg.get("amd"):
                self.legs[name].amd = MachineDetector(
                    float(msg.get("amd_speech_s", AMD_SPEECH_S)))
            return
        leg = self.legs.get(name)
        if leg is None:
            self.error("no such leg", leg=name)
        elif op in ("answer", "refuse"):
            if leg.direction != "in" or leg.state != "incoming":
                self.error(f"{op}: not an incoming call waiting for an answer", leg=name)
            else:
                self.spawn(self._answer(leg) if op == "answer" else self._refuse(leg))
        elif op == "join":
            self.join(leg, msg["room"])
        elif op == "leave":
            self.leave(leg)
        elif op == "hold_music":
            leg.hold_music = msg["on"]
            if leg.hold_music:                  # put on music: a play's rejoin is off
                leg.play_room = None
            self.say({"event": "hold_music", "leg": name, "on": leg.hold_music})
        elif op == "hangup":
            await self.hangup(leg, "hangup requested")
        elif op == "play":
            self.play(leg, msg["file"], msg.get("then", ""))
        elif op == "app":
            self.run_app(leg, msg)

    def run_app(self, leg: Leg, msg: dict[str, Any]) -> None:
        """The leg is connected to a voice application (checked by ``parse``; bridge_apps.py):
        out of any room, music off, it hears the prompt, then its answer is collected."""
        if leg.state != "answered":
            self.error("app: the leg is not answered", leg=leg.leg)
            return
        room = leg.room if leg.room is not None else (
            leg.app.room if leg.app is not None else leg.play_room)
        try:
            run = AppRun(msg["app"], np.fromfile(msg["prompt"], "<i2").astype(np.int16),
                         msg["collect"], msg["then"], room,
                         max_digits=int(msg.get("max_digits", 1)),
                         timeout_s=float(msg.get("timeout_s", 1.0)),
                         record_s=float(msg.get("record_s", 1.0)),
                         file=Path(msg["file"]) if msg["collect"] == "speech" else None,
                         rate=RATE, frame=FRAME)
        except OSError as e:
            self.error(f"app: {e.strerror}", leg=leg.leg)
            return
        self._take_aside(leg)                   # a new one replaces the one going on
        leg.app = run
        log.info("leg %s: application %s (%s, then %s)", leg.leg, run.app, run.collect,
                 run.then)

    def _take_aside(self, leg: Leg) -> None:
        """Before the leg hears a file or an application alone: what it played or ran is cut
        short, it leaves its room, its music stops."""
        if leg.playing is not None:
            self._played(leg, stopped=True)
        if leg.app is not None:
            self._app_over(leg, stopped=True)
        if leg.room is not None:
            self.leave(leg)
        if leg.hold_music:
            leg.hold_music = False
            self.say({"event": "hold_music", "leg": leg.leg, "on": False})

    def _app_over(self, leg: Leg, stopped: bool = False) -> None:
        """The leg's application is done (``stopped``: cut short): back into the room it left
        (a rejoin, unless it was put on music meanwhile) or hung up, and "app_done" with how
        it went (never the digits)."""
        run, leg.app = leg.app, None
        assert run is not None
        if stopped:
            run.stop()
        elif (run.then == "rejoin" and run.room is not None and leg.room is None
              and not leg.hold_music):
            self.join(leg, run.room)
        log.info("leg %s: application %s over (%s)", leg.leg, run.app, run.ended)
        self.say({"event": "app_done", "leg": leg.leg, **run.result()})
        if not stopped and run.then == "hangup":
            self.spawn(self.hangup(leg, "application over"))

    def play(self, leg: Leg, file: str, then: str) -> None:
        """The leg hears ``file`` (checked by ``parse``) out of any room, music off; "rejoin":
        back into the room it was in when the file ends."""
        if leg.state != "answered":
            self.error("play: the leg is not answered", leg=leg.leg)
            return
        try:
            pcm = np.fromfile(file, "<i2").astype(np.int16)
        except OSError as e:
            self.error(f"play: {e.strerror}", leg=leg.leg)
            return
        room = leg.room if leg.room is not None else leg.play_room   # (a rejoin it replaces)
        self._take_aside(leg)                   # a new play replaces the one going on
        leg.playing, leg.play_at, leg.play_file, leg.play_then = pcm, 0, file, then
        leg.play_room = room if then == "rejoin" else None
        log.info("leg %s: playing %s (%.1f s)%s", leg.leg, file, len(pcm) / RATE,
                 f", then {then}" if then else "")

    def dial(self, name: str, uri: str, headers: dict[str, str], ring_s: float) -> None:
        leg = Leg(name, "out", user_part(uri), contact=headers.get(CONTACT_HEADER, ""))
        self.legs[name] = leg
        self.spawn(self._dial(leg, uri, headers, ring_s))

    async def _dial(self, leg: Leg, uri: str, headers: dict[str, str], ring_s: float) -> None:
        assert self.ua is not None
        self._dialing += 1
        try:
            leg.call = await self.ua.dial(uri, headers=headers)
            self._by_handle[leg.call.handle] = leg
            early = self._early.pop(leg.call.handle, [])
        except (BaresipError, ValueError) as e:
            self._finish(leg, f"not dialed: {e}")
            return
        finally:
            self._dialing -= 1
            if not self._dialing:
                self._early.clear()
        leg.timers.append(asyncio.get_running_loop().call_later(ring_s, self._give_up, leg))
        log.info("leg %s: dialing %s", leg.leg, leg.peer)     # headers unlogged: a token
        for event in early:
            self._on_call_event(leg, event)
        if leg.reason is not None and leg.leg in self.legs:
            await self.hangup(leg, leg.reason)            # told to hang up while dialing

    def _give_up(self, leg: Leg) -> None:
        if leg.state != "answered":
            self.spawn(self.hangup(leg, "no answer"))

    async def hangup(self, leg: Leg, reason: str) -> None:
        leg.reason = leg.reason or reason
        if leg.call is None:
            return                                  # still dialing: _dial hangs up after
        with contextlib.suppress(StaleHandleError):
            await leg.call.hangup()

    async def hangup_all(self, reason: str) -> None:
        await asyncio.gather(*(self.hangup(leg, reason) for leg in list(self.legs.values())))

    async def _answer(self, leg: Leg) -> None:
        assert leg.call is not None
        leg.state = "answering"
        try:
            await leg.call.answer()
        except StaleHandleError:
            pass                                    # the caller gave up meanwhile
        except BaresipError as e:
            await self.hangup(leg, f"not answered: {e}")

    async def _refuse(self, leg: Leg) -> None:
        assert leg.call is not None
        leg.reason = "refused (486)"
        with contextlib.suppress(StaleHandleError):
            await leg.call.reject()

    def join(self, leg: Leg, room: str) -> None:
        if leg.room == room:
            self.say({"event": "joined", "room": room, "leg": leg.leg, "legs": self.rooms[room]})
            return
        if len(self.rooms.get(room, ())) >= ROOM_MAX:
            self.error(f"room {room} is full ({ROOM_MAX} legs)", leg=leg.leg, room=room)
            return
        if leg.room is not None:
            self.leave(leg)
        if leg.playing is not None:                 # in a room it hears the room
            self._played(leg, stopped=True)
        if leg.app is not None:
            self._app_over(leg, stopped=True)
        leg.room = room
        self.rooms.setdefault(room, []).append(leg.leg)
        self.say({"event": "joined", "room": room, "leg": leg.leg, "legs": self.rooms[room]})

    def leave(self, leg: Leg) -> None:
        room = leg.room
        if room is None:
            self.error("leave: the leg is in no room", leg=leg.leg)
            return
        self.rooms[room].remove(leg.leg)
        if not self.rooms[room]:
            del self.rooms[room]
        leg.room = None
        self.say({"event": "left", "room": room, "leg": leg.leg})

    def record(self, op: str, msg: dict[str, Any]) -> None:
        """Start, pause or resume, or stop a room's recording (recorder.py)."""
        room = msg["room"]
        rec = self.recordings.get(room)
        if op == "record":
            if rec is None:                  # (again from a restarted ccsim: going on already)
                try:
                    rec = self.recordings[room] = RoomRecorder(Path(msg["file"]), RATE, FRAME)
                except OSError as e:
                    self.error(f"record: {e.strerror}", room=room)
                    return
                self._recorded(room, rec, "on")
            return
        if rec is None:
            self.error(f"{op}: room {room} is not recorded", room=room)
        elif op == "record_pause":
            rec.paused = msg["paused"]
            self._recorded(room, rec, "paused" if rec.paused else "on")
        else:
            rec.close()
            del self.recordings[room]
            self._recorded(room, rec, "stopped")

    def _recorded(self, room: str, rec: RoomRecorder, state: str) -> None:
        self.say({"event": "recording", "room": room, "file": str(rec.path), "state": state,
                  "at_s": round(rec.seconds, 2)})

    def listing(self) -> dict[str, Any]:
        return {"event": "legs", "rooms": {r: list(legs) for r, legs in self.rooms.items()},
                "recordings": {r: {"file": str(rec.path), "paused": rec.paused,
                                   "at_s": round(rec.seconds, 2)}
                               for r, rec in self.recordings.items()},
                "legs": [{"leg": leg.leg, "direction": leg.direction, "state": leg.state,
                          "peer": leg.peer, "contact": leg.contact, "room": leg.room,
                          "hold_music": leg.hold_music,
                          **({"playing": leg.play_file} if leg.playing is not None else {}),
                          **({"app": leg.app.app} if leg.app is not None else {})}
                         for leg in self.legs.values()]}

    def stats(self) -> dict[str, Any]:
        """The ticks' cost since the previous stats (at most the latest TICKS_KEPT)."""
        costs = sorted(self.tick_us)
        self.tick_us.clear()
        pick = (lambda q: round(costs[min(len(costs) - 1, int(q * len(costs)))])) if costs \
            else (lambda q: None)
        return {"event": "stats", "legs": sum(leg.state == "answered"
                                              for leg in self.legs.values()),
                "ticks": self.ticks, "late": self.late,
                "tick_us": {"p50": pick(0.5), "p99": pick(0.99), "max": pick(1.0)}}

    # -- stack events -----------------------------------------------------------------------
    def _on_incoming(self, call: Call) -> None:
        while True:
            self._incoming += 1
            name = f"in-{self._incoming}"
            if name not in self.legs:
                break
        headers = {k: v for k, v in call.headers.items() if k.lower() != TOKEN_HEADER.lower()}
        token = next((v for k, v in call.headers.items() if k.lower() == TOKEN_HEADER.lower()), "")
        contact = next((v for k, v in headers.items() if k.lower() == CONTACT_HEADER.lower()), "")
        leg = Leg(name, "in", user_part(call.peer), contact=contact, call=call, state="incoming")
        self.legs[name] = leg
        self._by_handle[call.handle] = leg
        self.say({"event": "incoming", "leg": name, "from": leg.peer, "headers": headers,
                  "token_sha256": hashlib.sha256(token.encode()).hexdigest() if token else ""})

    def _on_stack_event(self, event: StackEvent) -> None:
        leg = self._by_handle.get(event.call) if event.call else None
        if leg is not None:
            self._on_call_event(leg, event)
        elif event.call and self._dialing:
            self._early.setdefault(event.call, []).append(event)

    def _on_call_event(self, leg: Leg, event: StackEvent) -> None:
        if (event.event in (Event.CALL_RINGING, Event.CALL_PROGRESS)
                and leg.state == "dialing"):
            leg.state = "ringing"
            self.say({"event": "ringing", "leg": leg.leg})
        elif event.event is Event.CALL_ESTABLISHED and leg.state != "answered":
            leg.state = "answered"
            if leg.call is not None:
                leg.call.on_dtmf(lambda key, leg=leg: self._relay_dtmf(leg, key.digit))
            self.say({"event": "answered", "leg": leg.leg})
        elif event.event is Event.CALL_CLOSED:
            text = event.text or ""
            if leg.reason:
                reason = leg.reason
            elif leg.state == "answered":
                reason = END_REASONS.get(text, text) or "ended"
            elif leg.direction == "in":
                reason = "caller gave up"
            else:
                reason = failure_reason(text)
            self._finish(leg, reason)

    def _finish(self, leg: Leg, reason: str) -> None:
        for timer in leg.timers:
            timer.cancel()
        if leg.app is not None:                     # its recording ends where the call did
            leg.app.stop()
            leg.app = None
        if leg.room is not None:
            self.leave(leg)
        self.legs.pop(leg.leg, None)
        if leg.call is not None:
            self._by_handle.pop(leg.call.handle, None)
        self.say({"event": "ended", "leg": leg.leg, "reason": reason})

    # -- audio ------------------------------------------------------------------------------
    async def _ticker(self) -> None:
        """One tick every TICK_S on an absolute clock; a late one does not make a burst."""
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            live = [leg for leg in self.legs.values() if leg.state == "answered"]
            if live:
                started = time.perf_counter()
                self.tick(live)
                self.tick_us.append((time.perf_counter() - started) * 1e6)
                self.ticks += 1
                for leg in live:
                    self._report(leg)
            due += TICK_S
            now = loop.time()
            if now > due + TICK_S:
                self.late += 1
                due = now
            await asyncio.sleep(max(0.0, due - now))

    def tick(self, live: list[Leg]) -> None:
        """Read every live leg's 20 ms, mix each room, write each leg what it hears."""
        for leg in live:
            leg.said = self._read(leg)
            if leg.amd is not None:
                self._detect(leg)
        silence = np.zeros(FRAME, np.int16)
        heard: dict[str, Frames] = {}
        for members in self.rooms.values():
            legs = [self.legs[m] for m in members]
            said = np.stack([s if (s := leg.said) is not None else silence for leg in legs])
            for leg, out in zip(legs, mix_minus(said)):
                heard[leg.leg] = out
        self.record_rooms()
        for leg in live:
            out = heard.get(leg.leg)
            if out is None and leg.app is not None:
                out = self._app_step(leg)
            if out is None and leg.playing is not None:
                out = self._play_frame(leg)
            if out is None:
                out = self._hold_frame(leg) if leg.hold_music else silence
            self._write(leg, out)

    def _app_step(self, leg: Leg) -> Frames:
        """A tick of the leg's application: what it said goes in, what it hears comes out."""
        assert leg.app is not None
        out = leg.app.step(leg.said)
        if leg.app.over:
            self._app_over(leg)
        return out

    def _detect(self, leg: Leg) -> None:
        assert leg.amd is not None
        result = leg.amd.feed(leg.said)
        if result is not None:
            self.say({"event": "amd", "leg": leg.leg, "result": result,
                      "speech_s": round(leg.amd.longest, 2)})
            leg.amd = None

    def _play_frame(self, leg: Leg) -> Frames:
        """The leg's next 20 ms of its file (the last one padded with silence); at its end
        the leg is hung up or back in its room, when asked, and "played" is told."""
        assert leg.playing is not None
        start = leg.play_at
        frame = leg.playing[start:start + FRAME]
        leg.play_at = start + FRAME
        if len(frame) < FRAME:
            frame = np.concatenate([frame, np.zeros(FRAME - len(frame), np.int16)])
        if leg.play_at >= len(leg.playing):
            then = leg.play_then
            self._played(leg, rejoin=then == "rejoin")
            if then == "hangup":
                self.spawn(self.hangup(leg, "message played"))
        return frame

    def _played(self, leg: Leg, stopped: bool = False, rejoin: bool = False) -> None:
        """The play is over (``stopped``: cut short); ``rejoin``: the leg goes back into the
        room it left for it first (when it still should: no music was asked meanwhile)."""
        file, room = leg.play_file, leg.play_room
        leg.playing, leg.play_at, leg.play_file, leg.play_then = None, 0, "", ""
        leg.play_room = None
        if rejoin and room is not None and leg.room is None:
            self.join(leg, room)
        self.say({"event": "played", "leg": leg.leg, "file": file, "stopped": stopped})

    def record_rooms(self) -> None:
        """A tick of each recording: what its room's legs said this tick, all of it."""
        for room, rec in self.recordings.items():
            rec.write([said for m in self.rooms.get(room, ())
                       if (said := self.legs[m].said) is not None])

    def _read(self, leg: Leg) -> Frames | None:
        assert leg.call is not None
        try:
            info = leg.call.audio.info()
            if not info.rx_ready:
                return None
            if (info.rx_sample_rate, info.rx_channels) != (RATE, 1):
                if not leg.odd_format:
                    leg.odd_format = True
                    log.warning("leg %s: %d Hz x %d is not mixed", leg.leg,
                                info.rx_sample_rate, info.rx_channels)
                return None
            leg.rx += leg.call.audio.read(65536)
        except (AudioNotActive, AudioRestarted):
            leg.rx.clear()                           # held, or renegotiating: silence
            return None
        excess = len(leg.rx) - RX_BACKLOG * FRAME_BYTES
        if excess > 0:
            del leg.rx[:excess + (-excess % FRAME_BYTES)]
        if len(leg.rx) < FRAME_BYTES:
            return None
        frame = np.frombuffer(bytes(leg.rx[:FRAME_BYTES]), "<i2")
        del leg.rx[:FRAME_BYTES]
        return frame

    def _hold_frame(self, leg: Leg) -> Frames:
        start = leg.tune_at
        leg.tune_at = (start + FRAME) % len(self._tune)
        return self._tune[start:start + FRAME]

    def _write(self, leg: Leg, out: Frames) -> None:
        assert leg.call is not None
        pcm = out.astype("<i2").tobytes()
        try:
            info = leg.call.audio.info()
            if not info.tx_ready or (info.tx_sample_rate, info.tx_channels) != (RATE, 1):
                return
            if info.tx_buffered < FRAME_BYTES:       # ran dry: lead with silence
                leg.call.audio.write(bytes(FRAME_BYTES * (TX_LEAD - 1)))
            if info.tx_buffered <= TX_LEAD * FRAME_BYTES:   # else it is ahead: skip a frame
                leg.call.audio.write(pcm)
        except (AudioNotActive, AudioRestarted):
            return
        leg.window += pcm
        leg.heard += len(pcm)

    def _report(self, leg: Leg) -> None:
        leg.ticks += 1
        if leg.ticks % REPORT_TICKS:
            return
        window = bytes(leg.window)
        leg.window.clear()
        level, hz = hearing(window, RATE)
        self.say({"event": "audio", "leg": leg.leg, "heard_s": round(leg.heard / (2 * RATE), 2),
                  "level_dbfs": level, "hz": hz, "tones": tones(window, RATE)})


# -- the process ------------------------------------------------------------------------------
async def handle_line(bridge: Bridge, line: str) -> bool:
    """One command line; False once it was quit."""
    if not line.strip():
        return True
    try:
        msg = parse(line)
    except ValueError as e:
        bridge.error(str(e), **leg_of(line))
        return True
    if msg["op"] == "quit":
        return False
    try:
        await bridge.command(msg)
    except Exception as e:          # a command must never take the calls down
        log.exception("command %s failed", msg["op"])
        bridge.error(f"{msg['op']} failed: {type(e).__name__}", **leg_of(line))
    return True


async def serve(args: argparse.Namespace) -> None:
    bridge = Bridge(args.proxy, args.password, args.listen, args.user, args.transport,
                    args.cafile, args.media)
    try:
        await bridge.start()
    except (RegistrationError, BaresipError) as e:
        emit({"event": "error", "reason": f"not registered at {args.proxy}: {e}"})
        await bridge.runtime.close()
        raise SystemExit(1) from None
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    quit_ = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, quit_.set)
    server = await _control_server(bridge, args.control, quit_) if args.control else None

    async def stdin() -> None:
        while (line := await lines.get()) is not None:
            if not await handle_line(bridge, line):
                quit_.set()
                return
        while server is None and bridge.legs:  # EOF: the legs run to their end
            await asyncio.sleep(0.2)
        if server is None:
            quit_.set()
    threading.Thread(target=read_lines, args=(loop, lines), daemon=True).start()
    bridge.spawn(stdin())
    emit({"event": "ready"})
    try:
        await quit_.wait()
        await bridge.hangup_all("quit")
        deadline = loop.time() + QUIT_WAIT_S
        while bridge.legs and loop.time() < deadline:
            await asyncio.sleep(0.05)
    finally:
        if server is not None:
            server.close()
            with contextlib.suppress(OSError):
                os.unlink(args.control)
        await bridge.close()


async def _control_server(bridge: Bridge, path: str, quit_: asyncio.Event) -> asyncio.Server:
    """The Unix socket a (restarted) controller drives the bridge through: the newest
    connection is the controller, an older one is closed."""
    async def controller(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if bridge.controller is not None:
            bridge.controller.close()
        bridge.controller = writer
        writer.write(b'{"event": "ready"}\n')
        try:
            while line := await reader.readline():
                if not await handle_line(bridge, line.decode(errors="replace")):
                    quit_.set()
                    break
        except (ConnectionError, ValueError):       # ValueError: a line over the limit
            pass
        finally:
            if bridge.controller is writer:
                bridge.controller = None
            writer.close()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)                             # a dead bridge's socket
    old = os.umask(0o177)
    try:
        return await asyncio.start_unix_server(controller, path)
    finally:
        os.umask(old)


def main() -> None:
    ap = ua_arguments("the contact center's media bridge (B2BUA)", "127.0.0.1:5094")
    ap.add_argument("--user", default="cc-bridge", help="the user we register as")
    ap.add_argument("--control", help="a Unix socket path a controller may connect to")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="bridge: %(name)s: %(message)s")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
