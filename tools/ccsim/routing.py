"""Who gets the next contact: per queue, the Available agents and the waiting contacts.

A contact goes to the agent of its queue who has been Available longest; a freed agent takes
the oldest contact waiting in any of its queues (arrival order, so a contact put back after a
RONA keeps its place ahead of newer ones). Knows nothing of logins, SIP or time.

Each agent is also the only member of its own **personal** queue (``personal_queue``): a
contact waiting there (a personal callback, callbacks.py) goes to that agent alone.
"""
from __future__ import annotations

import heapq


def personal_queue(agent: str) -> str:
    """The agent's personal queue: what waits there is for that agent only."""
    return f"agent:{agent}"


class Router:
    def __init__(self, queues_of: dict[str, tuple[str, ...]]):
        """``queues_of``: agent id -> the queues the agent serves (its personal queue is
        added)."""
        queues_of = {a: (*qs, personal_queue(a)) for a, qs in queues_of.items()}
        self._queues_of = queues_of
        names = {q for qs in queues_of.values() for q in qs}
        self._ready: dict[str, dict[str, float]] = {q: {} for q in names}  # {agent: since}
        self._waiting: dict[str, list[tuple[int, str]]] = {q: [] for q in names}  # heaps of (n, id)
        self._waiting_ids: dict[str, int] = {}                              # id -> n

    def add_queue(self, agent: str, queue: str):
        """The agent serves ``queue`` too from now on (a campaign loaded while running); the
        caller sets it ready there if it is."""
        if queue not in self._queues_of.get(agent, ()):
            self._queues_of[agent] = (*self._queues_of.get(agent, ()), queue)
        self._ready.setdefault(queue, {})
        self._waiting.setdefault(queue, [])

    def members(self, queue: str) -> list[str]:
        return [a for a, qs in self._queues_of.items() if queue in qs]

    # -- agents ------------------------------------------------------------------------------
    def set_ready(self, agent: str, since: float):
        """The agent is Available with nothing on it, since ``since``."""
        for q in self._queues_of.get(agent, ()):
            self._ready[q][agent] = since

    def set_busy(self, agent: str):
        for q in self._queues_of.get(agent, ()):
            self._ready[q].pop(agent, None)

    def longest_ready(self, queue: str) -> str | None:
        ready = self._ready.get(queue)
        return min(ready, key=ready.__getitem__) if ready else None

    # -- contacts ----------------------------------------------------------------------------
    def add_waiting(self, queue: str, n: int, contact: str):
        self._waiting_ids[contact] = n
        heapq.heappush(self._waiting.setdefault(queue, []), (n, contact))

    def remove_waiting(self, contact: str):
        self._waiting_ids.pop(contact, None)       # its heap entry is skipped when reached

    def oldest_waiting(self, agent: str) -> str | None:
        """The oldest contact waiting in any of the agent's queues."""
        best = None
        for q in self._queues_of.get(agent, ()):
            heap = self._waiting[q]
            while heap and self._waiting_ids.get(heap[0][1]) != heap[0][0]:
                heapq.heappop(heap)                 # taken or abandoned since
            if heap and (best is None or heap[0] < best):
                best = heap[0]
        return best[1] if best else None
