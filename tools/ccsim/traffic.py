"""Demo traffic: every N seconds a new customer call into a random queue that has an Available
agent, with a caller number and call variables that look like a real contact center's."""
from __future__ import annotations

import asyncio
import logging
import random

from firmware.cc.protocol import VariableLayout

from .engine import Engine
from .scenario import Scenario

log = logging.getLogger("ccsim.traffic")

_FIRST = ["Maria", "James", "Aiko", "Omar", "Sofia", "Liam", "Chen", "Fatima", "Lucas", "Priya",
          "Noah", "Elena", "Kwame", "Ingrid", "Mateo", "Hannah", "Ravi", "Chloe", "Diego", "Yara"]
_LAST = ["Garcia", "Smith", "Tanaka", "Haddad", "Rossi", "Murphy", "Wang", "Khan", "Silva",
         "Patel", "Johnson", "Novak", "Mensah", "Larsen", "Lopez", "Weber", "Kumar", "Dubois"]
_REASONS = ["Billing question", "Upgrade plan", "Cancel service", "Technical issue", "New order",
            "Delivery status", "Refund request", "Change address", "Password reset",
            "Product info", "Complaint", "Renewal"]


def _card(rng: random.Random) -> str:
    """A 16-digit card number that passes the Luhn check (test range, not a real card)."""
    digits = [4] + [rng.randint(0, 9) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        d = d * 2 if i % 2 == 0 else d
        total += d - 9 if d > 9 else d
    digits.append((10 - total % 10) % 10)
    s = "".join(map(str, digits))
    return " ".join(s[i:i + 4] for i in range(0, 16, 4))


_VALUES = {
    "customer": lambda r: f"{r.choice(_FIRST)} {r.choice(_LAST)}",
    "name": lambda r: f"{r.choice(_FIRST)} {r.choice(_LAST)}",
    "account": lambda r: f"AC-{r.randint(10_000_000, 99_999_999)}",
    "reason": lambda r: r.choice(_REASONS),
    "topic": lambda r: r.choice(_REASONS),
    "language": lambda r: r.choice(["English", "Spanish", "French", "German", "Portuguese"]),
    "tier": lambda r: r.choice(["Gold", "Silver", "Bronze", "Platinum"]),
    "order": lambda r: f"SO-{r.randint(100_000, 999_999)}",
    "email": lambda r: f"{r.choice(_FIRST).lower()}.{r.choice(_LAST).lower()}@example.com",
    "card": _card,
}


def caller_number(rng: random.Random) -> str:
    return f"+1555{rng.randint(0, 9_999_999):07d}"


def variables(layout: tuple[VariableLayout, ...], rng: random.Random) -> dict[str, str]:
    """A value for every variable of the layout: known names get realistic values, an unknown
    secure one a card number, anything else its label and a number."""
    out = {}
    for v in layout:
        make = _VALUES.get(v.name) or (_card if v.secure else None)
        out[v.name] = make(rng) if make else f"{v.label} {rng.randint(100, 999)}"
    return out


def new_contact(engine: Engine, scenario: Scenario, rng: random.Random) -> str | None:
    """One demo call into a random queue with an Available agent; None if there is none."""
    queues = [q for q in scenario.queues if engine.router.longest_ready(q) is not None]
    if not queues:
        return None
    return engine.new_contact(rng.choice(queues), caller_number(rng),
                              variables(scenario.layout, rng))


async def run(engine: Engine, scenario: Scenario, do, rng: random.Random | None = None):
    """Every traffic.every_s seconds, a demo call, made through ``do(operation, *args)`` (the
    server's way of running an engine operation and sending what it caused)."""
    rng = rng or random.Random()
    while True:
        await asyncio.sleep(scenario.traffic.every_s)
        try:
            do(new_contact, engine, scenario, rng)
        except Exception:
            log.exception("demo traffic")
