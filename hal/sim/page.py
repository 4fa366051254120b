"""The virtual board page: the emulated LCD, LEDs, keypad and hook switch in a browser.

Served by the sim backend on the phone's own event loop. Clicks press keys at the emulated
pins (the real scan driver finds them) and lift the handset off the emulated hook contact;
the page is pushed the panel's and pins' state whenever it changes.
"""
from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

from aiohttp import WSMsgType, web

from .board import SimBoard
from .render import render_png

log = logging.getLogger("hal.sim.page")

STATIC = Path(__file__).resolve().parent / "static"
POLL_S = 0.03          # LED blinks at 2 Hz and key echoes stay visible at this rate
MIN_HOLD_S = 0.06      # a press lasts past the keypad's 2-scan debounce, however the
                       # browser's press and release were bunched up on the way here


class BoardPage:
    def __init__(self, sim: SimBoard, host: str = "127.0.0.1", port: int = 8765):
        self.sim, self.host, self.port = sim, host, port
        self.url: str | None = None
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._version = 0
        self._last: dict | None = None
        self._poller: asyncio.Task | None = None
        self._pressed_at: dict[str, float] = {}

    # -- what the page shows -------------------------------------------------------------------
    def state(self) -> dict:
        panel = self.sim.panel
        used = sorted({c for row in panel.codes() for c in row if c < 8})
        return {
            "rows": panel.text(),
            "codes": [list(row) for row in panel.codes()],
            "glyphs": {str(i): panel.glyph(i) for i in used},
            "backlight": panel.backlight,
            "display_on": panel.display_on,
            "contrast": self.sim.contrast(),
            "leds": self.sim.led_levels(),
            "hook": "off" if self.sim.contact.lifted else "on",
            "keys": list(self.sim.matrix.key_names),
        }

    def _snapshot(self) -> dict:
        s = self.state()
        if s != self._last:
            self._last = s
            self._version += 1
        return {**self._last, "version": self._version}

    # -- commands from the page ----------------------------------------------------------------
    async def command(self, msg) -> dict | None:
        """Carry out one command; returns an error reply, or None when it was fine."""
        if not isinstance(msg, dict) or len(msg) != 1:
            return {"error": "expected one command: press, release, tap or hook"}
        (verb, arg), = msg.items()
        matrix = self.sim.matrix
        if verb in ("press", "release", "tap"):
            if arg not in matrix.key_names:
                return {"error": f"unknown key {arg!r}"}
            loop = asyncio.get_running_loop()
            if verb in ("press", "tap"):
                matrix.press(arg)
                self._pressed_at[arg] = loop.time()
            if verb in ("release", "tap"):
                held = loop.time() - self._pressed_at.pop(arg, 0.0)
                if held < MIN_HOLD_S:
                    await asyncio.sleep(MIN_HOLD_S - held)
                matrix.release(arg)
            return None
        if verb == "hook":
            if arg not in ("on", "off", "toggle"):
                return {"error": "hook takes on, off or toggle"}
            lifted = not self.sim.contact.lifted if arg == "toggle" else arg == "off"
            self.sim.contact.set_lifted(lifted)
            return None
        return {"error": f"unknown command {verb!r}"}

    # -- HTTP ----------------------------------------------------------------------------------
    async def _index(self, request):
        return web.FileResponse(STATIC / "index.html")

    async def _api_state(self, request):
        return web.json_response(self._snapshot())

    async def _lcd_png(self, request):
        data = await asyncio.to_thread(render_png, self.sim.panel)
        return web.Response(body=data, content_type="image/png")

    async def _ws(self, request):
        ws = web.WebSocketResponse(heartbeat=20, max_msg_size=4096)
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            await ws.send_json(self._snapshot())
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    await ws.send_json({"error": "send JSON text messages"})
                    continue
                try:
                    reply = await self.command(json.loads(msg.data))
                except ValueError:
                    reply = {"error": "not JSON"}
                if reply:
                    await ws.send_json(reply)
        finally:
            self._sockets.discard(ws)
        return ws

    async def _push_changes(self):
        sent = self._version
        while True:
            await asyncio.sleep(POLL_S)
            snap = self._snapshot()
            if snap["version"] != sent and self._sockets:
                sent = snap["version"]
                for ws in list(self._sockets):
                    try:
                        await ws.send_json(snap)
                    except (ConnectionError, RuntimeError):
                        self._sockets.discard(ws)

    async def start(self):
        app = web.Application()
        app.add_routes([web.get("/", self._index), web.get("/api/state", self._api_state),
                        web.get("/lcd.png", self._lcd_png), web.get("/ws", self._ws),
                        web.static("/static", STATIC)])
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://{self.host}:{port}/"
        self._poller = asyncio.get_running_loop().create_task(self._push_changes())

    async def stop(self):
        if self._poller:
            self._poller.cancel()
        for ws in list(self._sockets):
            await ws.close()
        if self._runner:
            await self._runner.cleanup()
