"""``python -m tools.bench callbacks``: ccsim's callback scheduler with many callbacks pending.

ccsim's real Engine and SQLite Store (tools/ccsim/callbacks.py, store.py) in a temporary
directory, one agent (logged in, Idle: every callback that fires waits in its queue, so what is
measured is the scheduler and not an agent's call):

- **schedule**: ``pending`` callbacks through ``schedule_callback``, each checked by the rules
  (firmware/core/callback_rules.py) with the real clock: numbers, names and windows from tomorrow to
  30 days ahead, 08:00-20:30 in four zones; committed 1,000 operations at a time, as the
  server's group commit does under load (one commit each is SQLite's fsync-free WAL commit
  per operation: see the note). The database's size after, its WAL checkpointed.
- **restart**: a new Engine on the database with them all pending (each scheduled one's
  timer in the heap), timed; the engine's memory for them: tracemalloc's figure for a second
  such load (the Python objects; SQLite's own page cache is not in it).
- **firing**: ``fire`` more callbacks, due ``spread_s`` seconds of real time apart in all,
  fired by ccsim's own server loop (server.CcServer: its one asyncio timer for the engine's
  earliest deadline, ``expire``, the group commit) with the others still pending. Their due
  times are written directly (as a failed attempt's retry time is), since a window starts on
  a whole minute. Lateness: the fired contact's creation (the engine's clock, in ``expire``)
  against the callback's due time.
"""
from __future__ import annotations

import asyncio
import gc
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from firmware.cc import protocol as p
from tools.ccsim.engine import Engine
from tools.ccsim.scenario import Scenario, parse
from tools.ccsim.server import CcServer
from tools.ccsim.store import CallbackRecord, Store

from .table import percentile, table

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo")
AGENT, PIN, QUEUE = "7001", "1234", "bench"
BATCH = 1000                    # operations per commit while scheduling


def scenario(db: Path) -> Scenario:
    return parse(f'''
[server]
db = "{db}"
[[agents]]
id = "{AGENT}"
name = "Bench Agent"
pin = "{PIN}"
team = "Bench"
extension = "sip:{AGENT}@127.0.0.1"
queues = ["{QUEUE}"]
[[queues]]
name = "{QUEUE}"
[[wrapup_codes]]
code = "done"
label = "Done"
''' + "".join(f'[[layout]]\nname = "v{i}"\nlabel = "V{i}"\n' for i in range(3)), "bench.toml")


class Bridge:
    """The media bridge, as far as a callback waiting in its queue needs it: nothing."""

    def dial(self, leg, to, headers=None, ring_s=60.0):
        pass

    def answer(self, leg):
        pass

    def refuse(self, leg):
        pass

    def join(self, room, leg):
        pass

    def leave(self, leg):
        pass

    def hold_music(self, leg, on):
        pass

    def hangup(self, leg):
        pass


def drafts(n: int, now: float):
    """``n`` valid drafts: tomorrow to 30 days ahead, 08:00-20:30 local, in ZONES."""
    for i in range(n):
        tz = ZONES[i % len(ZONES)]
        day = datetime.fromtimestamp(now, ZoneInfo(tz)).date() + timedelta(days=1 + i % 30)
        minute = 8 * 60 + (i * 7) % (12 * 60)
        start = f"{minute // 60:02d}:{minute % 60:02d}"
        end = f"{(minute + 30) // 60:02d}:{(minute + 30) % 60:02d}"
        yield p.CallbackDraft(number=f"+1 555 {i:07d}", name=f"Customer {i}",
                              date=day.isoformat(), start=start, end=end, tz=tz, queue=QUEUE,
                              reason="Bench")


def engine(s: Scenario, db: Path) -> Engine:
    e = Engine(s, Store(db), clock=time.time, bridge=Bridge())
    e.adopt({"legs": []})
    return e


def schedule(s: Scenario, db: Path, n: int) -> float:
    """Seconds to schedule ``n`` callbacks (commits of BATCH operations)."""
    e = engine(s, db)
    e.hello(AGENT, PIN)
    started = time.perf_counter()
    for i, d in enumerate(drafts(n, time.time())):
        if i % BATCH == 0:
            if i:
                e.store.commit()
            e.store.begin()
        e.schedule_callback(AGENT, d)
    e.store.commit()
    took = time.perf_counter() - started
    e.store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    e.store.close()
    return took


def restart(s: Scenario, db: Path) -> tuple[float, int, int]:
    """(seconds to load, bytes the engine holds after a load (tracemalloc), callbacks
    pending)."""
    gc.collect()
    started = time.perf_counter()
    e = engine(s, db)
    took = time.perf_counter() - started
    pending = len(e._callbacks)
    e.store.close()
    del e
    gc.collect()
    tracemalloc.start()
    e = engine(s, db)
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    e.store.close()
    return took, held, pending


def fire(s: Scenario, db: Path, n: int, spread_s: float) -> list[float]:
    """Lateness (s) of ``n`` callbacks due over ``spread_s`` s, fired by the server's loop."""

    async def go() -> list[float]:
        server = CcServer(s, db)
        e = server.engine
        e.bridge = Bridge()
        server._do(e.adopt, {"legs": []})
        first = time.time() + 1.0
        made: list[CallbackRecord] = []

        def add():
            for i in range(n):
                due = first + spread_s * i / max(1, n - 1)
                k = e.store.next_callback_number()
                cb = CallbackRecord(f"cb-{k}", k, "scheduled", f"+1 666 {i:07d}",
                                    f"Due {i}", QUEUE, due, due + 1800, created_at=time.time())
                e._index_callback(cb)
                e.store.save_callback(cb)
                made.append(cb)

        server._do(add)
        while time.time() < first + spread_s + 2.0 and any(
                cb.status == "scheduled" for cb in made):
            await asyncio.sleep(0.05)
        late = []
        for cb in made:
            c = e._live.get(cb.contact) or e.store.contact(cb.contact) if cb.contact else None
            late.append(c.created_at - cb.due if c is not None else float("inf"))
        if server._timer:
            server._timer.cancel()
        if server._batch_open:
            server._commit()
        server.store.close()
        return late

    return asyncio.run(go())


def run(pending: int = 100_000, fired: int = 2_000, spread_s: float = 10.0) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "cc.db"
        s = scenario(db)
        took = schedule(s, db, pending)
        size = sum(f.stat().st_size for f in Path(tmp).glob("cc.db*"))
        load_s, held, loaded = restart(s, db)
        late = fire(s, db, fired, spread_s)
    missed = sum(1 for x in late if x == float("inf"))
    ms = sorted(1000 * x for x in late if x != float("inf")) or [float("nan")]
    rows = [
        [f"schedule {pending:,} (rules checked, stored; a commit per {BATCH:,})",
         f"{took:.1f} s ({1e6 * took / pending:.0f} µs each)"],
        ["database size", f"{size / 1e6:.1f} MB ({size / pending:.0f} B each)"],
        [f"restart: a new engine loading them ({loaded:,} pending)", f"{load_s:.2f} s"],
        ["engine memory for them (tracemalloc, after a load)",
         f"{held / 1e6:.1f} MB ({held / pending:.0f} B each)"],
        [f"firing: {fired:,} due over {spread_s:g} s, the server's timer loop: lateness "
         "p50 / p99 / max", f"{percentile(ms, 50):.1f} / {percentile(ms, 99):.1f} / "
         f"{ms[-1]:.1f} ms"],
        ["fired early / not fired", f"{sum(1 for x in ms if x < 0)} / {missed}"],
    ]
    return table(f"ccsim's callback scheduler with {pending:,} callbacks pending",
                 ["what", "figure"], rows)
