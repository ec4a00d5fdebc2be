"""What-if: run a log's cases again under a candidate policy and compare with what happened.

Each case of the log keeps its arrival time, channel and priority and its actual handling:
when it was first taken up (claimed, responded to or resolved), when it was resolved, and
who worked on it. `simulate` opens the cases on a real `Desk` over a `memory://` store with
a `ManualClock`, responds and resolves at the same offsets from arrival, and ticks the desk
as time advances, so the candidate's tier limits, SLA targets and re-alerts fire as they
would have. The result sets the candidate's escalations, warnings, breaches, notifications
and top-tier arrivals beside the log's own.
"""

from __future__ import annotations

import heapq
import random
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

import attrs

from .clock import ManualClock
from .desk import Desk
from .errors import ConfigError, EscalateError
from .model import Agent, Event, EventKind
from .policy import Policy, Tier
from .stores.base import Store
from .stores.memory import MemoryStore

__all__ = ["CaseOutline", "Figures", "SimulationResult", "outline_cases", "simulate"]

#: Event kinds that count as the case's first response: someone took it up.
RESPONSE_KINDS = frozenset({EventKind.CLAIMED, EventKind.RESPONDED, EventKind.RESOLVED})


def _frozen(value: Mapping[str, int] | None) -> Mapping[str, int]:
    return MappingProxyType(dict(sorted((value or {}).items())))


@attrs.frozen
class CaseOutline:
    """What a log says about one case: arrival, attributes, handling and its own figures."""

    case_id: str
    arrival: datetime
    title: str
    customer: str
    channel: str
    priority: str
    category: str | None
    first_response: timedelta | None
    resolution: timedelta | None
    agents: tuple[str, ...]
    escalated_to: tuple[str, ...]
    tiers: frozenset[str]
    warnings: int
    breaches: int
    realerts: int
    last_at: datetime


@attrs.define
class _Builder:
    """Collects one case's outline while the log streams by."""

    opened: Event | None = None
    first_response: datetime | None = None
    resolved_at: datetime | None = None
    agents: dict[str, None] = attrs.field(factory=dict)
    escalated_to: list[str] = attrs.field(factory=list)
    tiers: set[str] = attrs.field(factory=set)
    counts: Counter[EventKind] = attrs.field(factory=Counter)
    last_at: datetime | None = None

    def add(self, event: Event) -> None:
        if event.kind is EventKind.OPENED and self.opened is None:
            self.opened = event
        if event.kind in RESPONSE_KINDS and self.first_response is None:
            self.first_response = event.at
        if event.kind is EventKind.RESOLVED:
            self.resolved_at = event.at
        elif event.kind is EventKind.REOPENED:
            self.resolved_at = None
        if event.actor:
            self.agents.setdefault(event.actor)
        if isinstance(event.owner_after, Agent):
            self.agents.setdefault(event.owner_after.name)
        if event.kind is EventKind.ESCALATED and event.tier_after:
            self.escalated_to.append(event.tier_after)
        if event.tier_after:
            self.tiers.add(event.tier_after)
        self.counts[event.kind] += 1
        self.last_at = event.at if self.last_at is None else max(self.last_at, event.at)

    def outline(self, case_id: str) -> CaseOutline | None:
        opened = self.opened
        if opened is None or self.last_at is None:
            return None
        data = opened.data
        return CaseOutline(
            case_id=case_id, arrival=opened.at,
            title=str(data.get("title") or case_id), customer=str(data.get("customer") or "-"),
            channel=str(data.get("channel") or "unknown"),
            priority=str(data.get("priority") or "normal"), category=data.get("category"),
            first_response=None if self.first_response is None
            else self.first_response - opened.at,
            resolution=None if self.resolved_at is None else self.resolved_at - opened.at,
            agents=tuple(self.agents), escalated_to=tuple(self.escalated_to),
            tiers=frozenset(self.tiers), warnings=self.counts[EventKind.WARNED],
            breaches=self.counts[EventKind.BREACHED], realerts=self.counts[EventKind.REALERTED],
            last_at=self.last_at)


def outline_cases(events: Iterable[Event], *,
                  limit: int | None = None) -> tuple[list[CaseOutline], int]:
    """The outlines of the log's cases in order of first appearance, and how many had none.

    With `limit`, only the first `limit` cases to appear are kept. A case whose `opened`
    event is not in the log (for example a window cut from a longer log) has no outline.
    """
    builders: dict[str, _Builder] = {}
    for event in events:
        builder = builders.get(event.case_id)
        if builder is None:
            if limit is not None and len(builders) >= limit:
                continue
            builder = builders[event.case_id] = _Builder()
        builder.add(event)
    outlines = []
    for case_id, builder in builders.items():
        found = builder.outline(case_id)
        if found is not None:
            outlines.append(found)
    return outlines, len(builders) - len(outlines)


@attrs.frozen
class Figures:
    """What happened to a set of cases: escalations by the tier they went to, and alerts."""

    cases: int
    escalations: Mapping[str, int] = attrs.field(converter=_frozen, hash=False)
    warnings: int
    breaches: int
    realerts: int
    notifications: int | None
    reached_top: int
    resolved: int

    @property
    def total_escalations(self) -> int:
        """Escalations into any tier."""
        return sum(self.escalations.values())

    def to_dict(self) -> dict[str, Any]:
        """The figures as JSON-ready values."""
        return {"cases": self.cases, "escalations": dict(self.escalations),
                "total_escalations": self.total_escalations, "warnings": self.warnings,
                "breaches": self.breaches, "realerts": self.realerts,
                "notifications": self.notifications, "reached_top": self.reached_top,
                "resolved": self.resolved}


@attrs.frozen
class SimulationResult:
    """The candidate's figures beside the log's, for the same cases."""

    seed: int
    policy_version: str
    skipped: tuple[tuple[str, str], ...]
    refused: tuple[tuple[str, str], ...]
    candidate: Figures
    actual: Figures
    elapsed: float = attrs.field(eq=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values: both sets of figures and the cases that could not be run."""
        return {"seed": self.seed, "policy_version": self.policy_version,
                "candidate": self.candidate.to_dict(), "actual": self.actual.to_dict(),
                "skipped": [{"case_id": c, "reason": r} for c, r in self.skipped],
                "refused": [{"case_id": c, "reason": r} for c, r in self.refused],
                "elapsed_seconds": round(self.elapsed, 3)}

    def table(self) -> str:
        """The figures side by side, as a text table."""
        tiers = sorted(set(self.actual.escalations) | set(self.candidate.escalations))

        def row(label: str, actual: int | None, candidate: int | None) -> str:
            shown = ["-" if v is None else f"{v:,}" for v in (actual, candidate)]
            return f"{label:<30}{shown[0]:>12}{shown[1]:>12}"

        a, c = self.actual, self.candidate
        lines = [f"{'':<30}{'actual':>12}{'candidate':>12}", row("cases", a.cases, c.cases)]
        lines += [row(f"escalations to {tier}", a.escalations.get(tier, 0),
                      c.escalations.get(tier, 0)) for tier in tiers]
        lines += [
            row("escalations, all tiers", a.total_escalations, c.total_escalations),
            row("SLA warnings", a.warnings, c.warnings),
            row("SLA breaches", a.breaches, c.breaches),
            row("top-tier re-alerts", a.realerts, c.realerts),
            row("notifications", a.notifications, c.notifications),
            row("reached the top tier", a.reached_top, c.reached_top),
            row("resolved", a.resolved, c.resolved),
        ]
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)} case(s), e.g. {self.skipped[0][0]}: "
                         f"{self.skipped[0][1]}")
        if self.refused:
            lines.append(f"{len(self.refused)} action(s) refused, e.g. {self.refused[0][0]}: "
                         f"{self.refused[0][1]}")
        lines.append(f"(seed {self.seed}, policy {self.policy_version}, "
                     f"{self.elapsed:.1f}s)")
        return "\n".join(lines)


def _top_tiers(policy: Policy) -> frozenset[str]:
    return frozenset(ladder.top.name for ladder in policy.ladders.values())


def _actual_figures(outlines: list[CaseOutline], tops: frozenset[str]) -> Figures:
    escalations: Counter[str] = Counter()
    for outline in outlines:
        escalations.update(outline.escalated_to)
    return Figures(
        cases=len(outlines), escalations=dict(escalations),
        warnings=sum(o.warnings for o in outlines), breaches=sum(o.breaches for o in outlines),
        realerts=sum(o.realerts for o in outlines), notifications=None,
        reached_top=sum(1 for o in outlines if o.tiers & tops),
        resolved=sum(1 for o in outlines if o.resolution is not None))


_OPEN, _RESPOND, _RESOLVE = 0, 1, 2


class _Run:
    """One simulation: a desk on a memory store, moved through time by a ManualClock."""

    def __init__(self, candidate: Policy, start: datetime, seed: int, store: Store) -> None:
        self.clock = ManualClock(start)
        self.desk = Desk(candidate, store=store, clock=self.clock, autoload_plugins=False)
        self.policy = candidate
        self.rng = random.Random(seed)
        self.skipped: dict[str, str] = {}
        self.refused: list[tuple[str, str]] = []

    def advance(self, moment: datetime) -> None:
        if moment > self.clock.now():
            self.clock.set(moment)
        self.desk.tick()

    def agent_for(self, outline: CaseOutline, tier: Tier) -> str:
        """Someone of the case's current tier: a real handler of the case if the tier has
        one, else a member (or the lead) drawn with the seeded random generator."""
        for agent in outline.agents:
            if tier.can_work(agent):
                return agent
        pool = sorted(set(tier.members)) or [tier.lead or ""]
        return self.rng.choice(pool)

    def act(self, phase: int, outline: CaseOutline) -> None:
        desk = self.desk
        if phase == _OPEN:
            desk.open(title=outline.title, customer=outline.customer, channel=outline.channel,
                      priority=outline.priority, category=outline.category,
                      case_id=outline.case_id)
            return
        case = desk.get(outline.case_id)
        tier = self.policy.tier(case.tier)
        if phase == _RESPOND:
            if case.status in ("open", "active"):
                desk.respond(case.id, by=self.agent_for(outline, tier))
            return
        by = case.owner.name if isinstance(case.owner, Agent) and tier.can_work(
            case.owner.name) else self.agent_for(outline, tier)
        desk.resolve(case.id, by=by, resolution="resolved at the time the log shows")

    def run(self, outlines: list[CaseOutline], horizon: datetime) -> None:
        plan: list[tuple[datetime, int, int]] = []
        for index, outline in enumerate(outlines):
            plan.append((outline.arrival, _OPEN, index))
            if outline.first_response is not None:
                plan.append((outline.arrival + outline.first_response, _RESPOND, index))
            if outline.resolution is not None:
                plan.append((outline.arrival + outline.resolution, _RESOLVE, index))
        heapq.heapify(plan)
        while plan:
            moment, phase, index = heapq.heappop(plan)
            outline = outlines[index]
            if outline.case_id in self.skipped:
                continue
            self.advance(moment)
            try:
                self.act(phase, outline)
            except EscalateError as exc:
                if phase == _OPEN:
                    self.skipped[outline.case_id] = str(exc)
                else:
                    self.refused.append((outline.case_id, str(exc)))
        self.advance(horizon)

    def figures(self, outlines: list[CaseOutline]) -> Figures:
        escalations: Counter[str] = Counter()
        counts: Counter[EventKind] = Counter()
        tops = _top_tiers(self.policy)
        reached: set[str] = set()
        for event in self.desk.events():
            counts[event.kind] += 1
            if event.kind is EventKind.ESCALATED and event.tier_after:
                escalations[event.tier_after] += 1
            if event.tier_after in tops:
                reached.add(event.case_id)
        run = [o for o in outlines if o.case_id not in self.skipped]
        resolved = sum(1 for o in run if self.desk.get(o.case_id).status == "resolved")
        return Figures(
            cases=len(run), escalations=dict(escalations), warnings=counts[EventKind.WARNED],
            breaches=counts[EventKind.BREACHED], realerts=counts[EventKind.REALERTED],
            notifications=len(self.desk.outbox()), reached_top=len(reached), resolved=resolved)


def simulate(events: Iterable[Event], candidate: Policy, *, seed: int = 0,
             limit: int | None = None, actual: Policy | None = None,
             horizon: datetime | None = None, store: Store | None = None) -> SimulationResult:
    """Run the log's cases through `candidate` and report its figures beside the log's.

    `events` is a log as a store yields it (`store.all_events()`, `desk.events()`) or any
    iterable of events in order within each case. `limit` keeps the first cases to appear.
    `actual` is the policy the log ran under (for a replay, `ReplayResult.policy`): its top
    tiers say which cases actually reached the top; by default the candidate's top tiers
    are looked for by name. Time runs until `horizon`, by default the log's last event.
    The same log, policy and `seed` always give the same result. The candidate's trail is
    written to a fresh `memory://` store, or to `store` (which must be empty) to keep it.
    """
    started = time.perf_counter()
    outlines, without_opening = outline_cases(events, limit=limit)
    tops = _top_tiers(actual if actual is not None else candidate)
    if not outlines:
        empty = Figures(cases=0, escalations={}, warnings=0, breaches=0, realerts=0,
                        notifications=0, reached_top=0, resolved=0)
        return SimulationResult(seed=seed, policy_version=candidate.version, skipped=(),
                                refused=(), candidate=empty, actual=attrs.evolve(
                                    empty, notifications=None),
                                elapsed=time.perf_counter() - started)
    start = min(o.arrival for o in outlines)
    end = horizon or max(o.last_at for o in outlines)
    target = store if store is not None else MemoryStore()
    if next(iter(target.case_ids()), None) is not None:
        raise ConfigError("store", "the simulation needs an empty store for the candidate's "
                                   "trail; pass a fresh one or leave `store` out")
    run = _Run(candidate, start, seed, target)
    try:
        run.run(outlines, end)
        figures = run.figures(outlines)
    finally:
        if store is None:
            run.desk.shutdown()
    actual_figures = _actual_figures([o for o in outlines if o.case_id not in run.skipped],
                                     tops)
    skipped = tuple(sorted(run.skipped.items()))
    if without_opening:
        skipped += (("-", f"{without_opening} case(s) without an opened event in the log"),)
    return SimulationResult(seed=seed, policy_version=candidate.version, skipped=skipped,
                            refused=tuple(run.refused), candidate=figures,
                            actual=actual_figures, elapsed=time.perf_counter() - started)
