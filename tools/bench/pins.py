"""PIN guessing against ccsim: what an attacker gets now.

Measured: one WebSocket sends hellos for one agent as fast as ccsim (its own process) answers,
for ``seconds``; how many PINs ccsim actually checked and how many it refused unread
(``locked_out``). Modelled: ccsim's LoginGuard on a fake clock, an attacker from many
addresses trying each PIN as soon as ccsim checks one again; PINs per hour once the lockout has
grown, and the time to try every 4-digit PIN (before issue 8: 5,679 PINs in 1.8 s).
"""
from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import aiohttp

from firmware.cc import protocol as p
from tools.ccsim import guard

from .ccsim import _scenario, _start_ccsim
from .table import table

PINS_4_DIGITS = 10_000


class _Clock:
    def __init__(self):
        self.now = 1_700_000_000.0

    def __call__(self):
        return self.now


def guesses(hours: float, sources: int = 50, agent: str = "1001") -> int:
    """PINs tried against one agent in ``hours`` from ``sources`` addresses, each one as soon as
    the guard lets a PIN be checked again."""
    clock = _Clock()
    g, end, tried = guard.LoginGuard(clock), clock.now + hours * 3600, 0
    addresses = [f"198.51.100.{n}" for n in range(sources)]
    while clock.now < end:
        waits = [g.retry_after(agent, a) for a in addresses]
        if 0 in waits:
            g.failed(agent, addresses[waits.index(0)])
            tried += 1
        else:
            clock.now += min(waits)
    return tried


def model(sources: int = 50) -> dict:
    first_hour, day, week = guesses(1, sources), guesses(24, sources), guesses(24 * 7, sources)
    per_hour = (week - day) / (24 * 6)
    all_days = (PINS_4_DIGITS - week) / per_hour / 24 + 7
    return {"first_hour": first_hour, "day": day, "week": week, "per_hour": per_hour,
            "all_days": all_days, "mean_days": all_days / 2}


async def _hammer(ws_url: str, seconds: float) -> dict[str, int]:
    codes: dict[str, int] = {}
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url) as ws:
        end, n = loop.time() + seconds, 0
        while loop.time() < end:
            n += 1
            await ws.send_str(p.encode(p.Hello(id=str(n), agent="6000", pin=f"{n:04}")))
            reply = p.decode_server((await ws.receive(5)).data)
            code = getattr(reply, "code", "found")
            codes[code] = codes.get(code, 0) + 1
    return codes


def run(seconds: float = 5.0) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "bench.toml").write_text(_scenario(1).replace('pin = "1"', 'pin = "9999"'))
        proc, ws_url, _api = _start_ccsim(workdir)
        try:
            codes = asyncio.run(_hammer(ws_url, seconds))
        finally:
            proc.stop()
    sent = sum(codes.values())
    m = model()
    return table("PIN guessing against ccsim (one agent)", ["what", "figure"], [
        [f"one connection, {seconds:.0f} s of hellos: sent / PINs checked / refused unread",
         f"{sent:,} / {codes.get('auth_failed', 0) + codes.get('found', 0)} / "
         f"{codes.get('locked_out', 0):,}"],
        ["modelled, 50 addresses: PINs tried in the 1st hour / 24 h / a week",
         f"{m['first_hour']} / {m['day']} / {m['week']}"],
        ["modelled: PINs per hour once locked out", f"{m['per_hour']:.2f}"],
        ["modelled: every 4-digit PIN / half of them (the mean to find one)",
         f"{m['all_days']:,.0f} / {m['mean_days']:,.0f} days"],
    ])
