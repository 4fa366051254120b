"""The virtual board page: the emulated LCD, LEDs, keypad and hook switch in a browser.

Served on the phone's own event loop. Clicks press keys at the emulated pins (the real scan
driver finds them) and lift the handset off the emulated hook contact. The page is pushed the
panel's and pins' state whenever it changes: a poll, because the LED pins are toggled by
gpiozero's blink thread and the panel by the LCD writer thread, neither of which may touch
the loop.
"""
from __future__ import annotations

import asyncio
import json
import logging
import socket
from pathlib import Path

from aiohttp import WSMsgType, web

from .board import SimBoard

log = logging.getLogger("hal.sim.page")

STATIC = Path(__file__).resolve().parent / "static"
POLL_S = 0.03           # 2 Hz LED blinks and short key echoes stay visible at this rate
SEEN_POLL_S = 0.5       # how often a change waiting for the scanner looks whether to give up
SEND_TIMEOUT_S = 2.0    # a client that can't take a state push in this long is dropped
HOOK_ARGS = ("on", "off", "toggle")


class BoardPage:
    """``host``/``port`` may be changed until ``start()``; port 0 picks a free port."""

    def __init__(self, sim: SimBoard, host: str = "127.0.0.1", port: int = 8765):
        self.sim, self.host, self.port = sim, host, port
        self.url: str | None = None
        self._runner: web.AppRunner | None = None
        self._poller: asyncio.Task | None = None
        self._clients: dict[web.WebSocketResponse, set[str]] = {}   # -> keys it holds down
        self._send_locks: dict[web.WebSocketResponse, asyncio.Lock] = {}
        self._version = 0
        self._last: dict | None = None
        self._key_locks: dict[str, asyncio.Lock] = {}
        self._down: set[str] = set()                               # pressed by this page
        self._tasks: set[asyncio.Task] = set()

    # -- what the page shows -------------------------------------------------------------------
    def state(self) -> dict:
        """The board as a person sees it (without ``version``)."""
        panel = self.sim.panel
        return {
            "cols": panel.cols,
            "rows": panel.text(),                   # CGRAM cells are chr(0)..chr(7)
            "codes": [list(row) for row in panel.codes()],
            "glyphs": [panel.glyph(i) for i in range(8)],
            "backlight": panel.backlight,
            "display_on": panel.display_on,
            "contrast": self.sim.contrast(),
            "leds": self.sim.led_levels(),
            "hook": "off" if self.sim.contact.lifted else "on",
            "keys_down": sorted(self.sim.matrix.pressed()),
        }

    def snapshot(self) -> dict:
        """The state with a version that goes up whenever the state differs from the last."""
        s = self.state()
        if s != self._last:
            self._last, self._version = s, self._version + 1
        return {**self._last, "version": self._version}

    # -- commands from the page ----------------------------------------------------------------
    def command(self, msg, holder: set[str] | None = None) -> str | None:
        """Start one command; returns an error message, or None when it was accepted.

        ``holder`` collects the keys a client holds down, to release them if it goes away.
        """
        if not isinstance(msg, dict) or len(msg) != 1:
            return 'expected one command: {"press"|"release"|"tap": key} or {"hook": on|off|toggle}'
        (verb, arg), = msg.items()
        if verb in ("press", "release", "tap"):
            if not isinstance(arg, str) or arg not in self.sim.matrix.key_names:
                return f"unknown key {arg!r}"
            if verb != "release":
                self._spawn(self._set_key(arg, True))
            if verb != "press":
                self._spawn(self._set_key(arg, False))
            if holder is not None:
                (holder.add if verb == "press" else holder.discard)(arg)
            return None
        if verb == "hook":
            if arg not in HOOK_ARGS:
                return f"hook takes {', '.join(HOOK_ARGS)}, not {arg!r}"
            contact = self.sim.contact
            contact.set_lifted(not contact.lifted if arg == "toggle" else arg == "off")
            return None
        return f"unknown command {verb!r}"

    def _spawn(self, coro):
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _set_key(self, key: str, down: bool):
        # One lock per key, taken in arrival order (asyncio locks are FIFO): presses and
        # releases of a key happen in the order sent. Each waits until the keypad driver has
        # read the one before in as many whole scans as its debounce takes, however late a
        # busy CPU runs the scan thread: a quick click, or the gap between two, is never lost.
        # (No time limit: a key the scanner never reads stays as it is until stop().)
        lock = self._key_locks.setdefault(key, asyncio.Lock())
        async with lock:
            scans = self.sim.spec.keypad.debounce_scans
            while not await asyncio.to_thread(self.sim.matrix.wait_scanned, key, scans,
                                              SEEN_POLL_S):
                pass
            if down:
                self._down.add(key)
                self.sim.matrix.press(key)
            else:
                self._down.discard(key)
                self.sim.matrix.release(key)

    # -- HTTP ----------------------------------------------------------------------------------
    async def _index(self, request):
        return web.FileResponse(STATIC / "index.html")

    async def _api_state(self, request):
        return web.json_response(self.snapshot())

    async def _lcd_png(self, request):
        try:
            scale = max(1, min(16, int(request.query.get("scale", 4))))
        except ValueError:
            raise web.HTTPBadRequest(text="scale must be an integer 1-16") from None
        from .render import render_png  # Pillow (4 MB) only once a picture is asked for
        data = await asyncio.to_thread(render_png, self.sim.panel, None, scale,
                                       contrast=self.sim.contrast())
        return web.Response(body=data, content_type="image/png")

    @web.middleware
    async def _no_cache(self, request, handler):
        # A dev page that changes with the firmware: never serve a stale script.
        response = await handler(request)
        response.headers.setdefault("Cache-Control", "no-cache")
        return response

    # -- WebSocket -----------------------------------------------------------------------------
    async def _ws(self, request):
        ws = web.WebSocketResponse(heartbeat=20, max_msg_size=4096)
        await ws.prepare(request)
        held: set[str] = set()
        self._clients[ws] = held
        self._send_locks[ws] = asyncio.Lock()
        try:
            await self._send(ws, self.snapshot())
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    error = "send JSON text messages"
                else:
                    try:
                        error = self.command(json.loads(msg.data), held)
                    except ValueError:
                        error = "not JSON"
                if error:
                    await self._send(ws, {"error": error})
        finally:
            self._clients.pop(ws, None)
            self._send_locks.pop(ws, None)
            for key in held:                     # a closed tab must not leave a key down
                self._spawn(self._set_key(key, False))
        return ws

    async def _send(self, ws, obj) -> bool:
        lock = self._send_locks.get(ws)
        if lock is None or ws.closed:
            return False
        try:
            async with lock:
                await asyncio.wait_for(ws.send_str(json.dumps(obj)), SEND_TIMEOUT_S)
            return True
        except (TimeoutError, ConnectionError, RuntimeError):
            self._clients.pop(ws, None)
            return False

    async def _push_changes(self):
        sent = None
        while True:
            await asyncio.sleep(POLL_S)
            if not self._clients:
                continue
            try:
                snap = self.snapshot()
            except Exception:                    # the page must outlive it
                # The models are read from this thread while drivers' threads write them.
                log.exception("reading the board state failed; trying again")
                continue
            if snap["version"] != sent:
                sent = snap["version"]
                await asyncio.gather(*(self._send(ws, snap) for ws in list(self._clients)))

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self):
        app = web.Application(middlewares=[self._no_cache])
        app.add_routes([web.get("/", self._index), web.get("/api/state", self._api_state),
                        web.get("/lcd.png", self._lcd_png), web.get("/ws", self._ws),
                        web.static("/static", STATIC)])
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        try:
            sock = await self._bind()
            await web.SockSite(self._runner, sock).start()
        except BaseException:
            await self._runner.cleanup()
            self._runner = None
            raise
        port = sock.getsockname()[1]
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        self.url = f"http://{f'[{host}]' if ':' in host else host}:{port}/"
        self._poller = asyncio.get_running_loop().create_task(self._push_changes())

    async def _bind(self) -> socket.socket:
        # Our own socket, so that port 0 can tell us which port it got.
        loop = asyncio.get_running_loop()
        family, kind, proto, _, addr = (await loop.getaddrinfo(
            self.host or None, self.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE))[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(addr)
            sock.listen(16)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    async def stop(self):
        if self._poller:
            self._poller.cancel()
            self._poller = None
        for ws in list(self._clients):
            await ws.close()
        if self._runner:
            await self._runner.cleanup()
            self._runner = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for key in list(self._down):             # leave no key pressed behind us
            self.sim.matrix.release(key)
        self._down.clear()
        self.url = None
