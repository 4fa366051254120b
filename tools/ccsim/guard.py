"""Login throttling: how often a PIN may be tried, per agent and per source address.

Each failed hello counts against the agent it named (known agents only, so made-up ids cost no
memory) and against the address it came from. The first FREE_TRIES failures of a key cost
nothing; each one after them locks the key for LOCK_BASE_S, doubling up to LOCK_MAX_S. While
either key is locked no PIN is looked at: the hello is answered ``locked_out`` with the seconds
left. A key with no failure for FORGET_S starts over; a right PIN clears the agent's count and
that address's. So one agent's PIN is tried at most about once an hour, from any number of
addresses (``python -m tools.bench pins`` prints the figures).

An address that has logged the agent in before is not held up by the agent's lock, only by its
own: a stranger guessing the PIN can't keep the agent's own phone from reconnecting.

Time comes from the injected clock; the state is in memory (a restarted server starts over).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

FREE_TRIES = 5
LOCK_BASE_S = 30.0
LOCK_MAX_S = 3600.0
FORGET_S = 24 * 3600.0
MAX_SOURCES = 100_000        # addresses remembered; beyond it the idle ones are dropped


@dataclass
class _Record:
    failures: int = 0
    last: float = 0.0        # the latest failure
    until: float = 0.0       # locked until then


class LoginGuard:
    def __init__(self, clock):
        self.clock = clock
        self._agents: dict[str, _Record] = {}
        self._sources: dict[str, _Record] = {}
        self._trusted: set[tuple[str, str]] = set()      # (agent, source) that logged in

    def retry_after(self, agent: str, source: str) -> int:
        """Seconds (rounded up) before a hello of ``agent`` from ``source`` is checked; 0: now."""
        now = self.clock()
        until = self._until(self._sources, source, now)
        if (agent, source) not in self._trusted:
            until = max(until, self._until(self._agents, agent, now))
        return math.ceil(until - now) if until > now else 0

    def failed(self, agent: str | None, source: str) -> int:
        """A wrong PIN (``agent`` None: an unknown agent id); the lock it starts, in seconds."""
        now = self.clock()
        lock = self._fail(self._sources, source, now)
        if agent is not None:
            lock = max(lock, self._fail(self._agents, agent, now))
        if len(self._sources) > MAX_SOURCES:
            self._prune(now)
        return math.ceil(lock)

    def succeeded(self, agent: str, source: str):
        self._agents.pop(agent, None)
        self._sources.pop(source, None)
        self._trusted.add((agent, source))

    def failures(self, agent: str) -> int:
        return self._agents[agent].failures if agent in self._agents else 0

    # -- internals ------------------------------------------------------------------------------
    @staticmethod
    def _until(records: dict[str, _Record], key: str, now: float) -> float:
        r = records.get(key)
        return r.until if r else 0.0

    @staticmethod
    def _fail(records: dict[str, _Record], key: str, now: float) -> float:
        r = records.get(key)
        if r is None or now - r.last > FORGET_S:
            r = records[key] = _Record()
        r.failures += 1
        r.last = now
        beyond = r.failures - FREE_TRIES
        if beyond <= 0:
            return 0.0
        lock = min(LOCK_MAX_S, LOCK_BASE_S * 2 ** min(beyond - 1, 32))
        r.until = max(r.until, now + lock)
        return lock

    def _prune(self, now: float):
        """Forget addresses that are not locked and quiet; if still too many, the quietest."""
        for key, r in list(self._sources.items()):
            if r.until <= now and now - r.last > LOCK_MAX_S:
                del self._sources[key]
        if len(self._sources) > MAX_SOURCES:
            by_age = sorted(self._sources, key=lambda k: self._sources[k].last)
            for key in by_age[:len(by_age) - MAX_SOURCES * 9 // 10]:
                del self._sources[key]
