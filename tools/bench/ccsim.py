"""ccsim under load: N agent phones on WebSockets, contacts posted through the admin API.

ccsim runs as its own process with N agents in one queue. This process opens one WebSocket per
agent (hello, Available) and handles every offer the way a quick agent would (accept, answered,
ended, wrap-up, all at once). Posters keep IN_FLIGHT contacts posted but not yet offered for
about ``seconds``; offer latency is admin POST sent -> the agent's phone gets the reservation.
Both processes share this machine's cores, so the figures are a floor.
"""
from __future__ import annotations

import asyncio
import itertools
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from firmware.cc import protocol as p
from tools.process import Process
from tools.process import start as start_process

from .table import percentile, table

ROOT = Path(__file__).resolve().parents[2]
IN_FLIGHT = 50


def _scenario(agents: int) -> str:
    head = ('[server]\nhost = "127.0.0.1"\nport = 0\n[settings]\nrona_s = 60\n'
            '[[queues]]\nname = "bench"\n[[wrapup_codes]]\ncode = "done"\nlabel = "Done"\n'
            + "".join(f'[[layout]]\nname = "v{i}"\nlabel = "V{i}"\n' for i in range(3)))
    return head + "".join(
        f'[[agents]]\nid = "{6000 + i}"\nname = "Agent {i}"\npin = "1"\nteam = "Bench"\n'
        f'extension = "sip:{6000 + i}@127.0.0.1"\nqueues = ["bench"]\n' for i in range(agents))


def _start_ccsim(workdir: Path) -> tuple[Process, str, str]:
    proc = start_process(
        [sys.executable, "-m", "tools.ccsim", "--config", str(workdir / "bench.toml"),
         "--db", str(workdir / "bench.db")], ready=r"^ccsim: ready (\S+) (\S+)$",
        cwd=ROOT, stderr=workdir / "ccsim.log", env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.ready is not None
    return proc, proc.ready.group(1), proc.ready.group(2)


class Agents:
    """N phones that handle every offer at once; they note when each reservation arrived."""

    def __init__(self):
        self.offered_at: dict[str, float] = {}
        self.waiters: dict[str, asyncio.Future] = {}
        self.errors = 0
        self._ids = itertools.count()

    async def phone(self, http: aiohttp.ClientSession, url: str, agent: str):
        ws = await http.ws_connect(url, max_msg_size=0)
        await self._send(ws, p.Hello, agent=agent, pin="1")
        while not isinstance(p.decode_server((await ws.receive()).data), p.Snapshot):
            pass
        await self._send(ws, p.SetState, state="available")
        return ws

    async def serve(self, ws):
        async for frame in ws:
            m = p.decode_server(frame.data)
            if isinstance(m, p.Error):
                self.errors += 1
            elif isinstance(m, p.ContactUpdate) and m.contact.status == "reserved":
                cid = m.contact.id
                self.offered_at[cid] = time.perf_counter()
                if cid in self.waiters:
                    self.waiters.pop(cid).set_result(None)
                await self._send(ws, p.Accept, contact=cid)
                await self._send(ws, p.CallEvent, contact=cid, event="answered")
                await self._send(ws, p.CallEvent, contact=cid, event="ended")
                await self._send(ws, p.WrapUp, contact=cid, code="done")

    async def _send(self, ws, kind, **fields):
        await ws.send_str(p.encode(kind(id=str(next(self._ids)), **fields)))

    async def offered(self, cid: str):
        if cid not in self.offered_at:
            self.waiters[cid] = asyncio.get_running_loop().create_future()
            await asyncio.wait_for(self.waiters[cid], 30)


async def _load(ws_url: str, api: str, agents: int, seconds: float) -> dict:
    desk = Agents()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as phones, \
            aiohttp.ClientSession() as admin:
        t0 = time.perf_counter()
        gate = asyncio.Semaphore(100)

        async def connect(i):
            async with gate:
                return await desk.phone(phones, ws_url, str(6000 + i))
        sockets = await asyncio.gather(*(connect(i) for i in range(agents)))
        connect_s = time.perf_counter() - t0
        servers = [asyncio.create_task(desk.serve(ws)) for ws in sockets]

        latencies = []
        end = time.perf_counter() + seconds

        async def poster():
            while time.perf_counter() < end:
                sent = time.perf_counter()
                async with admin.post(f"{api}/contacts", json={
                        "queue": "bench", "ani": "+15550000000", "variables": {"v0": "x"}}) as r:
                    cid = (await r.json())["id"]
                await desk.offered(cid)
                latencies.append(desk.offered_at[cid] - sent)
        t1 = time.perf_counter()
        await asyncio.gather(*(poster() for _ in range(IN_FLIGHT)))
        elapsed = time.perf_counter() - t1
        for task in servers:
            task.cancel()
        await asyncio.wait([asyncio.ensure_future(ws.close()) for ws in sockets], timeout=5)
    return {"connect_s": connect_s, "offers": len(latencies), "elapsed": elapsed,
            "latencies": latencies, "errors": desk.errors}


def run(agents: int = 1000, seconds: float = 20.0) -> str:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))   # one socket per phone
    with tempfile.TemporaryDirectory(prefix="ccsim-bench-") as d:
        workdir = Path(d)
        (workdir / "bench.toml").write_text(_scenario(agents))
        proc, ws_url, api = _start_ccsim(workdir)
        try:
            r = asyncio.run(_load(ws_url, api, agents, seconds))
        finally:
            proc.stop(10)
    ms = [x * 1000 for x in r["latencies"]]
    return table(f"ccsim: {agents} agents on WebSockets, {IN_FLIGHT} contacts in flight, "
                 f"{r['elapsed']:.0f} s (ccsim and the phones share the machine)",
                 ["agents", "connect all s", "offers", "offers/s", "offer p50 ms", "offer p99 ms",
                  "errors"],
                 [[agents, r["connect_s"], r["offers"], r["offers"] / r["elapsed"],
                   percentile(ms, 50), percentile(ms, 99), r["errors"]]])


if __name__ == "__main__":
    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 1000), flush=True)
