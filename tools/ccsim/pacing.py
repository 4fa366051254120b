"""How many calls a dialing campaign places now (docs/cc-protocol.md, "Campaigns"): a pure
function, no I/O, no clock.

**Progressive**: one call per free agent. The calls in flight (dialing, or answered and not
yet with an agent) count against the free agents, so a campaign never has more calls up than
it has agents to take them: no customer is ever abandoned.

**Predictive**: more calls than free agents, since most calls are not answered. With an
answer rate ``p`` so far, ``1 / p`` calls per free agent would bring one answered customer per
agent; that ratio is capped at ``max_ratio``. The abandon rate (answered customers no agent
took in time, over the admin's period) must stay under ``abandon_limit``: the extra calls are
dialed in full while the rate is under half the limit, fewer and fewer as it climbs to the
limit, and none at or over it (then the campaign dials as a progressive one). With no answer
rate yet (nothing dialed has finished) it starts as a progressive one too.
"""
from __future__ import annotations

import math

BACK_OFF_FROM = 0.5     # the extra calls shrink once the abandon rate is past half the limit


def ratio(answer_rate: float | None, abandon_rate: float, abandon_limit: float,
          max_ratio: float) -> float:
    """Calls per free agent a predictive campaign aims for (1.0: as progressive)."""
    if answer_rate is None or answer_rate <= 0 or abandon_limit <= 0:
        return 1.0
    wanted = min(max(1.0, 1.0 / answer_rate), max(1.0, max_ratio))
    start = BACK_OFF_FROM * abandon_limit
    if abandon_rate >= abandon_limit:
        room = 0.0
    elif abandon_rate <= start:
        room = 1.0
    else:
        room = (abandon_limit - abandon_rate) / (abandon_limit - start)
    return 1.0 + (wanted - 1.0) * room


def to_dial(mode: str, free_agents: int, in_flight: int, *, answer_rate: float | None = None,
            abandon_rate: float = 0.0, abandon_limit: float = 0.03,
            max_ratio: float = 2.5) -> int:
    """The calls to place now: ``free_agents`` (Available, with nothing on them),
    ``in_flight`` (the campaign's calls dialing or answered and waiting for an agent);
    ``answer_rate`` answered / finished dials (None: none finished yet); ``abandon_rate``
    abandoned / answered over the admin's period."""
    if free_agents <= 0:
        return 0
    if mode == "predictive":
        lines = math.floor(free_agents * ratio(answer_rate, abandon_rate, abandon_limit,
                                               max_ratio) + 1e-9)
    else:
        lines = free_agents
    return max(0, lines - max(0, in_flight))
