"""The lab's voicemail: one baresip-python user agent registered at the proxy as ``--user``
(``voicemail``), answering the calls Kamailio sends it (tools/kamailio.py, ``voicemail_user``):

    python -m tools.voicemail --proxy 127.0.0.1:5062 --password secret --listen 127.0.0.1:5096 \\
        --api http://127.0.0.1:8800/api --dir var/voicemail [--user voicemail]
        [--transport tls --cafile ca.pem --media srtp]

**Leaving a message**: a personal call the agent did not take (X-Voicemail-For: the box, its
extension) is answered with the box's greeting (the agent's own, recorded from the menu, else
GREETING: a short spoken-like phrase of GREETING_HZ), a beep (BEEP_HZ), then what the caller
says is recorded until they hang up, RECORD_MAX_S at most (then the box hangs up). A full box
(ccsim's [voicemail] max_messages) plays FULL_PROMPT and hangs up, recording nothing.

**Listening** (the agent dials the voicemail number: X-Voicemail-Box, the caller's own box):
a pip per new message, then the messages one by one, newest first, each marked heard once
played to its end. Keys: ``1`` play (again; past the last: from the first), ``6`` next,
``7`` delete (then the next plays), ``4`` back BACK_S, ``9`` record a new greeting after the
beep, ``#`` ends it and keeps it. After the last message: END_PROMPT.

ccsim owns the boxes' messages (and so the count on the agents' phones): the service asks it
(GET /api/voicemail/<ext>) at each call, and tells it of a new message (POST), a message heard
(PATCH) or deleted (DELETE); it keeps only the audio, raw S16LE mono 8 kHz, in ``--dir``:
``<ext>/<time>.raw`` per message and ``<ext>/greeting.raw``. No ccsim (or no such box): the
call is refused (486, all baresip-python can answer).

stdout (JSON lines): {"event": "ready"} once registered; per call {"event": "deposit"|"listen",
"box", "caller"}, {"event": "full", "box"}, {"event": "recorded", "box", "id", "seconds",
"file"} (a message kept), {"event": "key", "box", "digit"}, {"event": "played"|"deleted",
"box", "id"}, {"event": "greeting", "box", "seconds"} (a new greeting kept), {"event":
"ended", "box"}; {"event": "error", "reason", "box"?}. stdin: {"op": "quit"} (or EOF, SIGTERM).
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from baresip import (AudioNotActive, AudioRestarted, BaresipError, Call, Event, Runtime,
                     StaleHandleError, UserAgent)

from firmware.sip.config import NARROWBAND_CODECS
from tools.ccsim.customers import (BEEP_HZ, REGISTER_TIMEOUT_S, emit, lab_account, read_lines,
                                   speech_pcm, stack_config, tone_pcm, ua_arguments,
                                   user_part)
from tools.kamailio import SIP_USER

log = logging.getLogger("voicemail")

RATE = 8000                    # the boxes' audio: G.711, mono S16LE
BYTES_PER_S = RATE * 2
FOR_HEADER = "X-Voicemail-For"         # a call to leave a message in this box
BOX_HEADER = "X-Voicemail-Box"         # the caller's own box: the menu
HEADERS = (FOR_HEADER, BOX_HEADER, "Diversion")
RECORD_MAX_S = 60.0            # a message, and a greeting, at most
MIN_MESSAGE_S = 0.5            # less after the beep is no message (a caller who hung up)
BACK_S = 5.0                   # key 4
REG_S = 60
API_TIMEOUT_S = 5.0
MAX_NEW_PIPS = 9
# what the callers hear (the lab's customers tell these apart by pitch)
GREETING_HZ, GREETING_S = 700, 1.6
FULL_HZ, FULL_S = 480, 1.6
BEEP_S = 0.5
GAP = bytes(int(0.3 * RATE) * 2)


def _pips(hz: float, count: int, seconds: float = 0.15) -> bytes:
    pip = tone_pcm(RATE, hz, seconds) + bytes(int(seconds * RATE) * 2)
    return pip * count


GREETING = speech_pcm(RATE, GREETING_HZ, GREETING_S)
BEEP = GAP + tone_pcm(RATE, BEEP_HZ, BEEP_S)
FULL_PROMPT = speech_pcm(RATE, FULL_HZ, FULL_S) + GAP
END_PROMPT = GAP + tone_pcm(RATE, 392, 0.6) + GAP          # no more messages
PROMPTS = {"end": END_PROMPT, "empty": END_PROMPT,
           "deleted": _pips(620, 2), "saved": _pips(880, 1), "missing": _pips(300, 1)}

Action = tuple[str, object]


class Menu:
    """A box's menu as its keys drive it, without I/O: each input returns the actions to carry
    out, in order: ("prompt", name | ("new", n)), ("play", message id), ("stop", None),
    ("back", seconds), ("heard", id), ("delete", id), ("record_greeting", None),
    ("save_greeting", None)."""

    def __init__(self, messages: list[dict]):
        """``messages``: the box's, newest first ({"id", "heard", ...})."""
        self.messages = [dict(m) for m in messages]
        self.index = 0
        self.recording = False

    @property
    def current(self) -> dict | None:
        return self.messages[self.index] if self.index < len(self.messages) else None

    def start(self) -> list[Action]:
        new = sum(1 for m in self.messages if not m["heard"])
        return ([("prompt", ("new", min(new, MAX_NEW_PIPS)))] if new else []) + self._here()

    def key(self, digit: str) -> list[Action]:
        if self.recording:
            if digit != "#":
                return []
            self.recording = False
            return [("save_greeting", None), ("prompt", "saved")]
        if digit == "9":
            self.recording = True
            return [("stop", None), ("record_greeting", None)]
        current = self.current
        if digit == "1":
            if current is None:
                self.index = 0
            return [("stop", None), *self._here()]
        if digit == "6":
            if current is not None:
                self.index += 1
            return [("stop", None), *self._here()]
        if digit == "7" and current is not None:
            self.messages.pop(self.index)
            return [("stop", None), ("delete", current["id"]), ("prompt", "deleted"),
                    *self._here()]
        if digit == "4" and current is not None:
            return [("back", BACK_S)]
        return []

    def played(self, message: str) -> list[Action]:
        """A message was played to its end: heard."""
        for m in self.messages:
            if m["id"] == message and not m["heard"]:
                m["heard"] = True
                return [("heard", message)]
        return []

    def _here(self) -> list[Action]:
        current = self.current
        if current is not None:
            return [("play", current["id"])]
        return [("prompt", "end" if self.messages else "empty")]


@dataclass
class Piece:
    """Something a call plays: its audio, how far it got, what to do once it is all out."""
    pcm: bytes
    done: Callable[[], None] | None = None
    pos: int = 0
    finished: bool = False


class Session:
    """One call's audio: a queue of pieces it plays (silence when none) and what it records.
    The piece last played stays ``current`` after its end, so ``back`` can replay its tail."""

    def __init__(self, call: Call, box: str):
        self.call, self.box = call, box
        self.queue: deque[Piece] = deque()
        self.current: Piece | None = None
        self.recording: bytearray | None = None
        self.record_max = int(RECORD_MAX_S * BYTES_PER_S)
        self.closed = asyncio.Event()

    def play(self, pcm: bytes, done: Callable[[], None] | None = None) -> None:
        self.queue.append(Piece(pcm, done))

    def stop(self) -> None:
        self.queue.clear()
        self.current = None

    def back(self, seconds: float) -> None:
        if self.current is not None:
            step = int(seconds * BYTES_PER_S)
            self.current.pos = max(0, self.current.pos - step)
            self.current.finished = False

    def frame(self, size: int) -> bytes:
        """The next ``size`` bytes to send."""
        out = bytearray()
        while len(out) < size:
            piece = self.current
            if piece is None or piece.pos >= len(piece.pcm):
                if piece is not None and not piece.finished:
                    piece.finished = True
                    if piece.done:
                        piece.done()
                if not self.queue:
                    break
                self.current = piece = self.queue.popleft()
            take = piece.pcm[piece.pos:piece.pos + size - len(out)]
            piece.pos += len(take)
            out += take
        return bytes(out) + bytes(size - len(out))

    def heard(self, pcm: bytes) -> None:
        if self.recording is not None and len(self.recording) < self.record_max:
            self.recording += pcm[:self.record_max - len(self.recording)]


class Ccsim:
    """The boxes as ccsim keeps them (its admin API)."""

    def __init__(self, api: str):
        self.api = api.rstrip("/")
        self.http: aiohttp.ClientSession | None = None

    async def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        if self.http is None:
            self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(API_TIMEOUT_S))
        async with self.http.request(method, self.api + path, json=body) as r:
            return r.status, await r.json()

    async def box(self, box: str) -> dict | None:
        status, info = await self.call("GET", f"/voicemail/{box}")
        return info if status == 200 else None

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()


class Voicemail:
    def __init__(self, proxy: str, password: str, listen: str, user: str, api: str,
                 directory: Path, transport: str = "udp", cafile: str | None = None,
                 media: str = "rtp"):
        self.proxy, self.password, self.listen, self.user = proxy, password, listen, user
        self.transport, self.cafile, self.media = transport, cafile, media
        self.dir = directory
        self.ccsim = Ccsim(api)
        self.runtime = Runtime()
        self.ua: UserAgent | None = None
        self._tasks: set[asyncio.Task] = set()
        self._sessions: set[Session] = set()

    async def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        await self.runtime.start(stack_config(self.listen, self.transport, self.cafile,
                                              expose_headers=HEADERS, rate=RATE))
        self.ua = await UserAgent.create(self.runtime, lab_account(
            self.user, self.proxy, self.password, self.transport, self.media, REG_S,
            NARROWBAND_CODECS))
        self.ua.on_incoming(self._on_incoming)
        await self.ua.register(timeout=REGISTER_TIMEOUT_S)

    async def close(self) -> None:
        for session in list(self._sessions):
            with contextlib.suppress(BaresipError):
                await session.call.hangup()
        if self.ua is not None:
            with contextlib.suppress(BaresipError):
                await self.ua.unregister(timeout=1.0)
        await self.runtime.close()
        await self.ccsim.close()

    def spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- calls -------------------------------------------------------------------------------
    def _on_incoming(self, call: Call) -> None:
        headers = {k.lower(): v.strip() for k, v in call.headers.items()}
        deposit, own = headers.get(FOR_HEADER.lower(), ""), headers.get(BOX_HEADER.lower(), "")
        box = deposit or own
        if not SIP_USER.fullmatch(box) or box in (".", ".."):
            emit({"event": "error", "reason": "a call with no box (not through the proxy)"})
            self.spawn(_reject(call))
            return
        self.spawn(self._take(call, box, listen=not deposit))

    async def _take(self, call: Call, box: str, listen: bool) -> None:
        caller = user_part(call.peer)
        closed = asyncio.Event()             # from now on: the caller may give up any time
        call.on(lambda event: closed.set() if event.event is Event.CALL_CLOSED else None)
        try:
            info = await self.ccsim.box(box)
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            emit({"event": "error", "box": box, "reason": f"ccsim: {e}"})
            info = None
        if info is None:
            emit({"event": "error", "box": box, "reason": "no such box"})
            await _reject(call)
            return
        emit({"event": "listen" if listen else "deposit", "box": box, "caller": caller})
        session = Session(call, info["ext"])
        session.closed = closed
        self._sessions.add(session)
        pump = asyncio.get_running_loop().create_task(self._pump(session))
        try:
            await call.answer()
            if listen:
                self._listen(session, info)
            elif info["full"]:
                emit({"event": "full", "box": box})
                session.play(FULL_PROMPT, done=lambda: self.spawn(_hangup(call)))
            else:
                self._deposit(session)
            await session.closed.wait()
        except StaleHandleError:
            pass                                # the caller gave up first
        except BaresipError as e:
            emit({"event": "error", "box": box, "reason": f"call: {e}"})
        finally:
            pump.cancel()
            self._sessions.discard(session)
        if not listen and session.recording is not None:
            await self._keep_message(session, caller)
        emit({"event": "ended", "box": box})

    async def _pump(self, session: Session) -> None:
        """Feed the call what it plays, one packet time at a time on a clock (~3 packets
        queued), and hear it meanwhile."""
        loop = asyncio.get_running_loop()
        call, due = session.call, loop.time()
        while True:
            ptime = 0.02
            try:
                info = call.audio.info()
                if info.rx_ready:
                    session.heard(call.audio.read(65536))
                ptime = (info.tx_ptime_ms or 20) / 1000
                frame = int(info.tx_sample_rate * info.tx_channels * 2 * ptime)
                if info.tx_ready and frame:
                    for _ in range((3 * frame - info.tx_buffered) // frame):
                        if not call.audio.write(session.frame(frame)):
                            break
            except (AudioNotActive, AudioRestarted, StaleHandleError):
                pass                            # not up yet, renegotiating, or gone
            due = max(due + ptime, loop.time() - ptime)
            await asyncio.sleep(due - loop.time())

    # -- leaving a message -------------------------------------------------------------------
    def _deposit(self, session: Session) -> None:
        greeting = self._greeting_file(session.box)
        pcm = greeting.read_bytes() if greeting.is_file() else GREETING

        def beeped():
            session.recording = bytearray()
            asyncio.get_running_loop().call_later(RECORD_MAX_S, self._enough, session)
        session.play(pcm)
        session.play(BEEP, done=beeped)

    def _enough(self, session: Session) -> None:
        if not session.closed.is_set():
            self.spawn(_hangup(session.call))

    async def _keep_message(self, session: Session, caller: str) -> None:
        pcm = bytes(session.recording or b"")
        if len(pcm) < MIN_MESSAGE_S * BYTES_PER_S:
            return
        folder = self.dir / session.box
        folder.mkdir(parents=True, exist_ok=True)
        path = (folder / f"{time.time_ns()}.raw").absolute()
        path.write_bytes(pcm)
        seconds = round(len(pcm) / BYTES_PER_S, 2)
        try:
            status, info = await self.ccsim.call("POST", f"/voicemail/{session.box}", {
                "caller": caller, "duration_s": seconds, "file": str(path)})
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            status, info = 0, {"error": str(e)}
        if status != 201:                       # full meanwhile, or ccsim gone: not kept
            path.unlink(missing_ok=True)
            emit({"event": "error", "box": session.box,
                  "reason": f"message not kept: {info.get('error', status)}"})
            return
        emit({"event": "recorded", "box": session.box, "id": info["id"], "seconds": seconds,
              "file": str(path)})

    def _greeting_file(self, box: str) -> Path:
        return self.dir / box / "greeting.raw"

    # -- the menu ----------------------------------------------------------------------------
    def _listen(self, session: Session, info: dict) -> None:
        menu = Menu(info["messages"])
        files = {m["id"]: m["file"] for m in info["messages"]}

        def key(event) -> None:
            emit({"event": "key", "box": session.box, "digit": event.digit})
            self._carry_out(session, menu, files, menu.key(event.digit))
        session.call.on_dtmf(key)
        self._carry_out(session, menu, files, menu.start())

    def _carry_out(self, session: Session, menu: Menu, files: dict[str, str],
                   actions: list[Action]) -> None:
        box = session.box
        for verb, arg in actions:
            if verb == "prompt":
                session.play(_pips(660, arg[1]) + GAP if isinstance(arg, tuple)
                             else PROMPTS[str(arg)])
            elif verb == "play":
                message = str(arg)
                try:
                    pcm = Path(files[message]).read_bytes()
                except OSError:
                    pcm = PROMPTS["missing"]

                def played(message=message):
                    emit({"event": "played", "box": box, "id": message})
                    self._carry_out(session, menu, files, menu.played(message))
                session.play(pcm, done=played)
            elif verb == "stop":
                session.stop()
                session.recording = None
            elif verb == "back":
                session.back(float(str(arg)))
            elif verb == "heard":
                self.spawn(self._tell(box, "PATCH", f"/{arg}", {"heard": True}))
            elif verb == "delete":
                self.spawn(self._delete(box, str(arg), files.get(str(arg), "")))
            elif verb == "record_greeting":
                session.play(BEEP, done=lambda: setattr(session, "recording", bytearray()))
            elif verb == "save_greeting":
                pcm = bytes(session.recording or b"")
                session.recording = None
                path = self._greeting_file(box)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(pcm)
                emit({"event": "greeting", "box": box,
                      "seconds": round(len(pcm) / BYTES_PER_S, 2)})

    async def _delete(self, box: str, message: str, file: str) -> None:
        if await self._tell(box, "DELETE", f"/{message}"):
            if file:
                Path(file).unlink(missing_ok=True)
            emit({"event": "deleted", "box": box, "id": message})

    async def _tell(self, box: str, method: str, path: str, body: dict | None = None) -> bool:
        try:
            status, info = await self.ccsim.call(method, f"/voicemail/{box}{path}", body)
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            status, info = 0, {"error": str(e)}
        if status != 200:
            emit({"event": "error", "box": box, "reason": f"{method} {path}: "
                                                          f"{info.get('error', status)}"})
        return status == 200


async def _reject(call: Call) -> None:
    with contextlib.suppress(BaresipError):
        await call.reject()


async def _hangup(call: Call) -> None:
    with contextlib.suppress(BaresipError):
        await call.hangup()


async def serve(args) -> None:
    service = Voicemail(args.proxy, args.password, args.listen, args.user, args.api,
                        Path(args.dir), args.transport, args.cafile, args.media)
    try:
        await service.start()
    except BaresipError as e:
        emit({"event": "error", "reason": f"not registered as {args.user}: {e}"})
        await service.close()
        raise SystemExit(1) from None
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue = asyncio.Queue()
    loop.add_signal_handler(signal.SIGTERM, lambda: lines.put_nowait(None))
    threading.Thread(target=read_lines, args=(loop, lines), daemon=True).start()
    emit({"event": "ready"})
    try:
        while (line := await lines.get()) is not None:
            try:
                if json.loads(line).get("op") == "quit":
                    break
            except (ValueError, AttributeError):
                emit({"event": "error", "reason": "expected {\"op\": \"quit\"}"})
    finally:
        await service.close()


def main() -> None:
    ap = ua_arguments("the lab's voicemail service (a SIP user agent)", "127.0.0.1:5096")
    ap.add_argument("--user", default="voicemail", help="the SIP user it registers as")
    ap.add_argument("--api", required=True, help="ccsim's admin API (http://HOST:PORT/api)")
    ap.add_argument("--dir", default="var/voicemail", help="where the audio is kept")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="voicemail: %(name)s: %(message)s")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
