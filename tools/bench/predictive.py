"""A simulated day of a predictive campaign (ccsim's dialer on a virtual clock), against the
same day dialed progressively.

ccsim's real Engine (tools/ccsim/engine.py) over an in-memory Store, with a scenario of one
dialing campaign assigned to N agents and records enough for the day (``records_for``: fresh
ones are dialed before retries, so more would change nothing but the time). The engine's own
pacing (pacing.py) and abandon rules (dialer.py) decide everything; this module plays only
what is around it, on a discrete-event loop that jumps the clock to the next thing due (an
engine deadline, a customer's answer, an agent's hang-up or wrap-up):

- **the media bridge** (``SimBridge``): when the engine dials a record's number it draws the
  call's fate with seeded randomness: answered after a ring (``answer``), busy after a second
  or two (``busy``), else ringing until ``ring_s`` and "no answer". A campaign given
  ``outcomes`` (its scenario's rates of answer, busy, no_answer, machine: scenario.py) has
  the engine's dialer draw each call's outcome instead, as ccsim does for the simulated
  customers (dialer.lab_outcome, seeded by campaign, record and attempt, not by ``seed``),
  and the call acts out the X-Lab-Outcome its dial carries; a machine answers like a person
  (this bridge detects no machines: an agent is offered it). An agent's leg rings at
  once and is answered by the phone: at once for an auto-answered (predictive) offer, after
  1-2 s of the agent's reaction for a progressive one. Legs the engine hangs up are forgotten.
- **the agents**: logged in and Available for the whole day; each reads its phone's messages
  (the engine's outbox): assigned -> talks for a lognormal time (mean ``talk_s``), hangs up
  (the phone's ``ended``) -> wraps up after 15-30 s with a disposition; the engine makes it
  Available again.

Figures: calls dialed, answered (a person picked up), connected (an agent took them),
abandoned (answered, no agent within the campaign's ``abandon_s``), the abandon rate over the
day against the campaign's ``abandon_limit``, the agents' idle share (time Available with
nothing on them / logged-in time), calls connected per agent-hour, dials per connected call
and the dial ratio achieved: lines per free agent (the calls up, dialing or answered and not
yet with an agent, per Available agent with nothing on it) after each step in which the dialer
placed calls; progressive keeps it at 1 or under, predictive aims at 1 / answer rate (capped
at ``max_ratio``, backed off as the abandon rate nears its limit).

The engine's pacing keeps running totals and an order-sorted book of the records it may call
(campaigns.py ``RecordBook``), so a pacing run costs about what it dials, not the size of the
list; the two days still run in two processes when there are cores.
"""
from __future__ import annotations

import functools
import heapq
import itertools
import math
import os
import random
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from firmware.cc import protocol as p
from tools.ccsim.engine import Engine, Refused
from tools.ccsim.legs import OUTCOME_HEADER
from tools.ccsim.scenario import LAB_OUTCOMES, parse
from tools.ccsim.store import Store

from .table import table

CAMPAIGN = "bench"
START = 1_700_000_000.0             # the virtual clock's epoch at the day's start
CUSTOMER_LEG = ".c"                 # the dialer's leg to a record's number: "<contact>.c"
DISPOSITIONS = ("sold", "no_sale", "call_back")
WRAP_UP_S = (15.0, 30.0)            # an agent's wrap-up, uniform
ATTEMPTS = 3                        # the campaign's max_attempts (ccsim's default)


@dataclass
class Day:
    """One simulated day's figures."""
    mode: str
    agents: int
    hours: float
    abandon_limit: float = 0.0
    dialed: int = 0
    answered: int = 0
    connected: int = 0
    abandoned: int = 0
    abandon_rate: float = 0.0           # the engine's, over its abandon window
    idle_s: float = 0.0                 # agent-seconds Available with nothing on them
    lines: list[float] = field(default_factory=list)   # lines per free agent at each dial
    wall_s: float = 0.0
    events: int = 0
    records: int = 0
    pending_left: int = 0               # records still to call at the day's end

    @property
    def agent_hours(self) -> float:
        return self.agents * self.hours

    @property
    def idle_share(self) -> float:
        return self.idle_s / (self.agent_hours * 3600) if self.agents else 0.0

    @property
    def per_agent_hour(self) -> float:
        return self.connected / self.agent_hours if self.agent_hours else 0.0

    @property
    def dials_per_connected(self) -> float:
        return self.dialed / self.connected if self.connected else 0.0

    @property
    def lines_per_free_agent(self) -> float:
        return sum(self.lines) / len(self.lines) if self.lines else 0.0


def scenario_text(mode: str, agents: int, records: int,
                  outcomes: dict[str, float] | None = None) -> str:
    """A centre with ``agents`` agents (6000...), all on one started-later campaign of
    ``records`` records, dialed by ccsim's bridge (with the campaign's ``outcomes`` if
    given)."""
    head = ('[settings]\nrona_s = 15\n'
            '[[queues]]\nname = "bench"\n[[wrapup_codes]]\ncode = "done"\nlabel = "Done"\n'
            + "".join(f'[[layout]]\nname = "v{i}"\nlabel = "V{i}"\n' for i in range(3))
            + '[customers]\nenabled = true\nproxy = "127.0.0.1:5062"\n'
            '[bridge]\nenabled = true\n')
    people = "".join(
        f'[[agents]]\nid = "{6000 + i}"\nname = "Agent {i}"\npin = "1"\nteam = "Bench"\n'
        f'extension = "sip:{6000 + i}@127.0.0.1"\nqueues = ["bench"]\n' for i in range(agents))
    ids = ", ".join(f'"{6000 + i}"' for i in range(agents))
    codes = ", ".join(f'{{code = "{c}", label = "{c}"}}' for c in DISPOSITIONS)
    rows = ",\n".join(f'  {{name = "Record {i}", number = "55{i:08d}"}}' for i in range(records))
    campaign = (f'[[campaigns]]\nid = "{CAMPAIGN}"\nname = "Bench"\nmode = "{mode}"\n'
                f'agents = [{ids}]\nstarted = false\nmax_attempts = {ATTEMPTS}\n'
                f'do_not_call = []\ndispositions = [{codes}]\nrecords = [\n{rows},\n]\n')
    if outcomes:
        rates = ", ".join(f"{k} = {float(v)!r}" for k, v in outcomes.items())
        campaign += f"outcomes = {{{rates}}}\n"
    return head + people + campaign


class Clock:
    def __init__(self, now: float = START):
        self.now = now

    def __call__(self) -> float:
        return self.now


class SimBridge:
    """ccsim's media bridge as the engine sees it (bridge_link.py's calls), played by the
    simulation: the calls it is told to place get their outcomes scheduled as bridge
    events; a leg hung up by the engine gets no more events."""

    def __init__(self, sim: Sim):
        self.sim = sim
        self.up: set[str] = set()           # legs placed and not hung up or ended

    def dial(self, leg: str, to: str, headers: dict | None = None, ring_s: float = 60.0):
        self.up.add(leg)
        if leg.endswith(CUSTOMER_LEG):
            self.sim.customer_dialed(leg, to, ring_s, (headers or {}).get(OUTCOME_HEADER))
        else:
            self.sim.agent_dialed(leg, to)

    def hangup(self, leg: str):
        self.up.discard(leg)

    def answer(self, leg: str):
        pass

    def refuse(self, leg: str):
        pass

    def join(self, room: str, leg: str):
        pass

    def leave(self, leg: str):
        pass

    def hold_music(self, leg: str, on: bool):
        pass


class Sim:
    """The day: the engine, its virtual clock, and what customers and agents do."""

    def __init__(self, mode: str, agents: int, hours: float, seed: int, *, answer: float,
                 busy: float, talk_s: float, records: int | None = None,
                 outcomes: dict[str, float] | None = None):
        # common random numbers: both modes' days draw the same fates, each from its own
        # stream (a number's n-th call; the day's n-th talk, wrap-up, answer), so the two
        # differ by their pacing, not by luck
        self.seed = seed
        self.talk_rng, self.wrap_rng, self.answer_rng = (
            random.Random(f"{seed}:{what}") for what in ("talk", "wrap", "answer"))
        self.calls_to: dict[str, int] = {}  # number -> calls placed to it
        self.mode, self.answer_p, self.busy_p = mode, answer, busy
        # lognormal talk with mean talk_s: sigma 0.6 (a long tail of long calls)
        self.sigma = 0.6
        self.mu = math.log(talk_s) - self.sigma ** 2 / 2
        self.agents = [str(6000 + i) for i in range(agents)]
        n = records if records is not None else records_for(
            agents, hours, answered_share(answer, outcomes), talk_s)
        self.day = Day(mode, agents, hours, records=n)
        self.end = START + hours * 3600
        self.clock = Clock()
        self.bridge = SimBridge(self)
        scenario = parse(scenario_text(mode, agents, n, outcomes), "bench.toml")
        self.cfg = next(c for c in scenario.campaigns if c.id == CAMPAIGN)
        self.day.abandon_limit = self.cfg.abandon_limit
        self.engine = Engine(scenario, Store(":memory:"), self.clock, None, self.bridge)
        self.events: list[tuple[float, int, Callable[[], None]]] = []
        self.seq = itertools.count()
        self.state = {a: "logged_out" for a in self.agents}   # as each phone was told
        self.talking: set[str] = set()      # contacts an agent talks on (or talked on)
        self.wrapping: set[str] = set()     # contacts whose wrap-up is scheduled
        self.taken: set[str] = set()        # contacts an agent's phone was dialed for
        self.dialed_now = False             # the dialer placed calls in this step

    # -- the loop ----------------------------------------------------------------------------
    def at(self, delay: float, action: Callable[[], None]):
        heapq.heappush(self.events, (self.clock.now + delay, next(self.seq), action))

    def run(self) -> Day:
        started = time.perf_counter()
        e = self.engine
        for a in self.agents:
            e.hello(a, "1")
            e.set_state(a, "available")
        self.read_phones()
        e.adopt({"legs": []})                       # the bridge has no legs: dialing may start
        e.start_campaign(CAMPAIGN)
        self.read_phones()
        self.lines_at_dial()
        while True:
            deadline = e.next_deadline()
            due = self.events[0][0] if self.events else math.inf
            t = min(due, deadline if deadline is not None else math.inf)
            if t > self.end:
                break
            self.advance(t)
            if deadline is not None and deadline <= due:
                e.expire()
            else:
                heapq.heappop(self.events)[2]()
            self.day.events += 1
            self.read_phones()
            if self.dialed_now:
                self.lines_at_dial()
        self.advance(self.end)
        info = e.campaign_info(CAMPAIGN)
        assert info is not None
        stats = info["stats"]
        self.day.dialed, self.day.answered = stats["dialed"], stats["answered"]
        self.day.connected, self.day.abandoned = stats["connected"], stats["abandoned"]
        self.day.abandon_rate = stats["abandon_rate"]
        self.day.pending_left = sum(1 for r in info["records"] if r["state"] == "pending")
        self.day.wall_s = time.perf_counter() - started
        return self.day

    def advance(self, t: float):
        """The clock to ``t``; the agents Available with nothing on them meanwhile count
        idle."""
        if t > self.clock.now:
            free = sum(1 for s in self.state.values() if s == "available")
            self.day.idle_s += free * (t - self.clock.now)
            self.clock.now = t

    def read_phones(self):
        """The phones' messages: the agents' states, and what each agent does next."""
        for agent, message, _ in self.engine.take_outbox():
            if isinstance(message, p.AgentState):
                self.state[agent] = message.state
            elif isinstance(message, p.ContactUpdate):
                c = message.contact
                if c.status == "assigned" and c.id not in self.talking:
                    self.talking.add(c.id)
                    self.at(self.talk_rng.lognormvariate(self.mu, self.sigma),
                            lambda a=agent, cid=c.id: self.hang_up(a, cid))
                elif c.status == "wrapup" and c.id not in self.wrapping:
                    self.wrapping.add(c.id)
                    self.at(self.wrap_rng.uniform(*WRAP_UP_S),
                            lambda a=agent, cid=c.id: self.wrap_up(a, cid))

    # -- customers (through the bridge) ------------------------------------------------------
    def customer_dialed(self, leg: str, to: str, ring_s: float, lab: str | None = None):
        """The dialer calls a record's number: its fate for this call (the number's n-th),
        or the lab outcome the dialer drew for it (``lab``: X-Lab-Outcome)."""
        self.dialed_now = True
        n = self.calls_to[to] = self.calls_to.get(to, 0) + 1
        rng = random.Random(f"{self.seed}:{to}:{n}")
        draw = rng.random()
        fate = lab or ("answer" if draw < self.answer_p
                       else "busy" if draw < self.answer_p + self.busy_p else "no_answer")
        if fate in ("answer", "machine"):
            ring = min(rng.uniform(4.0, 18.0), ring_s - 1.0)
            self.at(1.0, lambda: self.bridge_says(leg, "ringing"))
            self.at(ring, lambda: self.customer_answers(leg))
        elif fate == "busy":
            self.at(rng.uniform(0.5, 2.0), lambda: self.bridge_says(leg, "ended",
                                                                         "busy (486)"))
        else:
            self.at(1.0, lambda: self.bridge_says(leg, "ringing"))
            self.at(ring_s, lambda: self.bridge_says(leg, "ended", "no answer (480)"))

    def customer_answers(self, leg: str):
        self.bridge_says(leg, "answered")

    def lines_at_dial(self):
        """After the dialer placed calls: the calls up (dialing, or answered and not yet
        with an agent) per Available agent with nothing on it."""
        self.dialed_now = False
        free = sum(1 for s in self.state.values() if s == "available")
        if free:
            up = sum(1 for leg in self.bridge.up
                     if leg.endswith(CUSTOMER_LEG) and leg[:-len(CUSTOMER_LEG)] not in self.taken)
            self.day.lines.append(up / free)

    # -- agents' phones (through the bridge) -------------------------------------------------
    def agent_dialed(self, leg: str, to: str):
        """The bridge calls an agent's phone: it rings; a predictive offer is auto-answered,
        else the agent picks up after 1-2 s."""
        self.taken.add(leg.rsplit(".", 1)[0])
        answer = 0.3 if self.mode == "predictive" else self.answer_rng.uniform(1.0, 2.0)
        self.at(0.05, lambda: self.bridge_says(leg, "ringing"))
        self.at(answer, lambda: self.bridge_says(leg, "answered"))

    def bridge_says(self, leg: str, event: str, reason: str = ""):
        if leg not in self.bridge.up:
            return                          # hung up meanwhile: the bridge says no more
        if event == "ended":
            self.bridge.up.discard(leg)
        self.engine.bridge_event({"event": event, "leg": leg, "reason": reason})

    def hang_up(self, agent: str, contact: str):
        """The agent ends the call (the phone's ``ended``)."""
        try:
            self.engine.call_event(agent, contact, "ended")
        except Refused:
            pass                            # over meanwhile

    def wrap_up(self, agent: str, contact: str):
        try:
            self.engine.wrapup(agent, contact, self.wrap_rng.choice(DISPOSITIONS))
        except Refused:
            pass


def answered_share(answer: float, outcomes: dict[str, float] | None) -> float:
    """The share of calls answered: ``answer``, or with ``outcomes`` their answer and machine
    rates (a machine answers too)."""
    if not outcomes:
        return answer
    return outcomes.get("answer", 0.0) + outcomes.get("machine", 0.0)


def parse_outcomes(text: str) -> dict[str, float]:
    """--outcomes "answer=0.5,busy=0.1,no_answer=0.3,machine=0.1" -> {outcome: rate}
    (ValueError; the scenario checks the rates)."""
    rates = {}
    for part in filter(None, (x.strip() for x in text.split(","))):
        key, eq, value = part.partition("=")
        if not eq or key.strip() not in LAB_OUTCOMES:
            raise ValueError(f"outcomes: OUTCOME=RATE of {', '.join(LAB_OUTCOMES)}, "
                             f"got {part!r}")
        try:
            rates[key.strip()] = float(value)
        except ValueError:
            raise ValueError(f"outcomes: {key.strip()}: a rate, got {value!r}") from None
    return rates


def records_for(agents: int, hours: float, answer: float, talk_s: float) -> int:
    """Records enough for the day with a margin: the calls the agents could take if never
    idle, over the calls a record yields (answered within the default 3 attempts)."""
    calls = agents * hours * 3600 / (talk_s + WRAP_UP_S[0] + 5.0)
    per_record = answer * sum((1 - answer) ** k for k in range(ATTEMPTS))
    return max(50, math.ceil(1.25 * calls / max(per_record, 0.01)))


def simulate(mode: str, agents: int = 20, hours: float = 8.0, seed: int = 1, *,
             answer: float = 0.35, busy: float = 0.10, talk_s: float = 180.0,
             records: int | None = None, outcomes: dict[str, float] | None = None) -> Day:
    """One day of the campaign dialed in ``mode`` (progressive or predictive); ``outcomes``
    (the campaign's, {outcome: rate}): the calls' fates at those rates, not ``answer`` and
    ``busy``'s."""
    if records is None:
        records = records_for(agents, hours, answered_share(answer, outcomes), talk_s)
    return Sim(mode, agents, hours, seed, answer=answer, busy=busy, talk_s=talk_s,
               records=records, outcomes=outcomes).run()


def run(agents: int = 20, hours: float = 8.0, seed: int = 1, *, answer: float = 0.35,
        busy: float = 0.10, talk_s: float = 180.0, parallel: bool = True,
        outcomes: dict[str, float] | None = None) -> str:
    """Both days (predictive, progressive), side by side; in two processes if there are two
    cores (the engine's pacing is most of the time: see the report's note)."""
    modes = ("predictive", "progressive")
    day = functools.partial(simulate, agents=agents, hours=hours, seed=seed, answer=answer,
                            busy=busy, talk_s=talk_s, outcomes=outcomes)
    started = time.perf_counter()
    if parallel and (os.cpu_count() or 1) >= 2:
        with ProcessPoolExecutor(len(modes)) as pool:
            days = list(pool.map(day, modes))
    else:
        days = [day(mode) for mode in modes]
    wall = time.perf_counter() - started
    rows = []
    for d in days:
        rate = d.abandoned / d.answered if d.answered else 0.0
        rows.append([d.mode, d.dialed, d.answered, d.connected, d.abandoned,
                     f"{100 * rate:.2f}%", f"{100 * d.abandon_limit:.1f}%",
                     "yes" if rate <= d.abandon_limit else "NO",
                     f"{100 * d.idle_share:.1f}%", d.per_agent_hour, d.dials_per_connected,
                     d.lines_per_free_agent, f"{d.wall_s:.1f}"])
    notes = [f"{d.mode}: the list ran out ({d.records} records)" for d in days
             if not d.pending_left]
    return table(
        f"A simulated day of a dialing campaign: {agents} agents, {hours:g} h on ccsim's "
        f"virtual clock ({rates_text(answer, busy, outcomes)}, talk ~{talk_s:g} s, wrap-up "
        f"{WRAP_UP_S[0]:g}-{WRAP_UP_S[1]:g} s, seed {seed}; {days[0].records} records)",
        ["mode", "dialed", "answered", "connected", "abandoned", "abandon rate", "limit",
         "within", "idle share", "connected/agent-h", "dials/connected", "lines/free agent",
         "sim wall s"], rows) + (
        f"\nwall time: {wall:.1f} s for both days"
        + "".join(f"\nNOTE {n}" for n in notes) + "\n")


def rates_text(answer: float, busy: float, outcomes: dict[str, float] | None) -> str:
    """The calls' fates as the report's title gives them."""
    if not outcomes:
        return f"answer {answer:.0%}, busy {busy:.0%}"
    return "outcomes " + ", ".join(f"{k} {outcomes[k]:.0%}" for k in LAB_OUTCOMES
                                   if k in outcomes)
