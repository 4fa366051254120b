"""A WebSocket endpoint on its own thread and loop, for benches and tests that play the
contact-center server with a script (the real one is tools/ccsim)."""
from __future__ import annotations

import asyncio
import threading

from aiohttp import web

from firmware.cc.protocol import PATH


class ThreadedWsServer:
    """Serves ``handler(ws)`` at ``/agent/v1`` on 127.0.0.1 (a free port): ``url``; over TLS
    with ``ssl_context`` (``host`` is then the name the URL uses, for the certificate)."""

    def __init__(self, handler, ssl_context=None, host: str = "127.0.0.1"):
        self._handler = handler
        self._ssl, self._host = ssl_context, host
        self.sockets: set[web.WebSocketResponse] = set()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.url = self.run(self._start())

    def run(self, coro, timeout: float = 5):
        """Run ``coro`` on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self) -> str:
        app = web.Application()
        app.router.add_get(PATH, self._serve)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self._ssl)
        await site.start()
        scheme = "wss" if self._ssl else "ws"
        return f"{scheme}://{self._host}:{site._server.sockets[0].getsockname()[1]}{PATH}"

    async def _serve(self, request):
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        self.sockets.add(ws)
        try:
            await self._handler(ws)
        finally:
            self.sockets.discard(ws)
        return ws

    def close(self):
        async def down():
            for ws in list(self.sockets):
                await ws.close()
            await self._runner.cleanup()
        self.run(down())
        self.loop.call_soon_threadsafe(self.loop.stop)
