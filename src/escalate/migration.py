"""Changing the policy of a running desk: preview per open case, then migrate or not."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import attrs

from . import timing
from .errors import InvalidInput
from .model import Agent, Case, ClockState, Queue, Status
from .policy import Policy

__all__ = ["CasePlan", "checked_tier_map", "moved", "plan_case"]


@attrs.frozen
class CasePlan:
    """What a policy change would do to one open case."""

    case_id: str
    tier: str
    tier_exists: bool
    old_due: dict[str, datetime | None]
    new_due: dict[str, datetime | None]
    clocks: tuple[ClockState, ...]
    moved_to: str | None = None

    @property
    def changes(self) -> bool:
        """True when any due time would move, the case would move, or its tier is gone."""
        return not self.tier_exists or self.moved_to is not None or self.old_due != self.new_due

    def line(self) -> str:
        """One readable line."""
        if not self.tier_exists:
            return (f"{self.case_id}: tier {self.tier!r} is not in the new policy; name where "
                    f"its cases go with tier_map={{{self.tier!r}: '<a tier of the new "
                    "policy>'}")
        moved = [f"{name} {_fmt(self.old_due.get(name))} -> {_fmt(self.new_due.get(name))}"
                 for name in sorted(set(self.old_due) | set(self.new_due))
                 if self.old_due.get(name) != self.new_due.get(name)]
        if self.moved_to is not None:
            moved.insert(0, f"moved from tier {self.tier!r} to {self.moved_to!r}")
        return f"{self.case_id}: " + ("; ".join(moved) if moved else "no change")


def _fmt(moment: datetime | None) -> str:
    return "none" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def _due(clocks: tuple[ClockState, ...]) -> dict[str, datetime | None]:
    return {c.name: c.due_at for c in clocks if c.stopped_at is None}


def _retarget(old: Policy, new: Policy, clock: ClockState, target: timedelta,
              calendar: str | None, warn_fraction: float | None,
              now: datetime) -> ClockState:
    """The clock with a new target and calendar, keeping the business time already used.

    A warning not given yet stays ahead: it is due once `warn_fraction` of the new target is
    used, at once when that point has already passed but the due time has not.
    """
    old_cal = timing.calendar_of(old, clock.calendar)
    if clock.due_at is not None:
        left = old_cal.between(now, clock.due_at)
    else:
        left = clock.remaining or timedelta(0)
    used = max(clock.target - left, timedelta(0))
    remaining = max(target - used, timedelta(0))
    cal_name = calendar or ""
    cal = timing.calendar_of(new, cal_name)
    fresh = attrs.evolve(clock, target=target, calendar=cal_name, warn_fraction=warn_fraction)
    if clock.due_at is None:
        return attrs.evolve(fresh, remaining=remaining)
    warn_at = None
    if warn_fraction is not None and not clock.warned and not clock.breached:
        lead = remaining - target * (1 - warn_fraction)
        warn_at = cal.add(now, max(lead, timedelta(0)))
    return attrs.evolve(fresh, due_at=cal.add(now, remaining), warn_at=warn_at)


def _fresh_tier_clock(new: Policy, case: Case, limit: timedelta, warn: float | None,
                      now: datetime) -> ClockState | None:
    """A tier clock for a case that has none: running if the case is worked, else paused."""
    clock = timing.start_clock(new, timing.TIER, limit, new.tier_calendar_name(case.tier), now,
                               warn)
    if case.status in (Status.OPEN, Status.ACTIVE):
        return clock
    if case.status in (Status.WAITING, Status.RESOLVED):
        return attrs.evolve(clock, due_at=None, warn_at=None, remaining=limit)
    return None


def moved(new: Policy, case: Case, tier: str) -> Case:
    """`case` placed in `tier` of `new`: the owner keeps it if they work there, else the queue.

    Its tier and idle clocks are dropped; `plan_case` starts them afresh in the new tier.
    """
    owner = case.owner
    if not (isinstance(owner, Agent) and new.tier(tier).can_work(owner.name)):
        owner = Queue(tier)
    return attrs.evolve(case, tier=tier, owner=owner, clocks=tuple(
        c for c in case.clocks if c.name not in (timing.TIER, timing.IDLE)))


def plan_case(old: Policy, new: Policy, case: Case, now: datetime,
              tier_map: Mapping[str, str] | None = None) -> CasePlan:
    """The clocks `case` would run under `new`, keeping the business time already used.

    When `tier_map` names the case's tier, the case moves to the mapped tier of `new` and
    its tier clock starts afresh there; its SLA clocks keep the time already used.
    """
    moved_to = (tier_map or {}).get(case.tier)
    placed = case
    if moved_to is not None and moved_to != case.tier:
        placed = moved(new, case, moved_to)
    else:
        moved_to = None
    try:
        tier = new.tier(placed.tier)
        ladder = new.ladder_of(placed.tier)
    except KeyError:
        return CasePlan(case.id, case.tier, False, _due(case.clocks), {}, case.clocks)
    clocks: list[ClockState] = []
    target = timing.sla_target(new, case.sla)
    limit = tier.escalate_after or (tier.realert_every if ladder.top is tier else None)
    if placed.clock(timing.TIER) is None and limit is not None:
        fresh_tier = _fresh_tier_clock(new, placed, limit, tier.warn_at, now)
        clocks.extend(() if fresh_tier is None else (fresh_tier,))
    if placed.clock(timing.IDLE) is None and tier.idle_after is not None and isinstance(
            placed.owner, Agent) and placed.status in (Status.OPEN, Status.ACTIVE,
                                                       Status.WAITING):
        idle = timing.start_clock(new, timing.IDLE, tier.idle_after,
                                  new.tier_calendar_name(tier.name), now, None)
        if placed.status is Status.WAITING:  # waiting pauses the idle clock
            idle = attrs.evolve(idle, due_at=None, remaining=tier.idle_after)
        clocks.append(idle)
    for clock in placed.clocks:
        if clock.stopped_at is not None:
            clocks.append(clock)
        elif clock.name == timing.TIER:
            if limit is not None:
                clocks.append(_retarget(old, new, clock, limit, new.tier_calendar_name(tier.name),
                                        tier.warn_at, now))
        elif clock.name == timing.IDLE:
            if tier.idle_after is not None:
                clocks.append(_retarget(old, new, clock, tier.idle_after,
                                        new.tier_calendar_name(tier.name), None, now))
        elif target is not None and getattr(target, clock.name, None) is not None:
            clocks.append(_retarget(old, new, clock, getattr(target, clock.name),
                                    target.calendar or ladder.calendar, target.warn_at, now))
    fresh = tuple(clocks)
    return CasePlan(case.id, case.tier, True, _due(case.clocks), _due(fresh),
                    timing.ordered(fresh), moved_to)


def checked_tier_map(policy: Policy, tier_map: Mapping[str, str] | None) -> dict[str, str]:
    """The tier map as a plain dict, each target a tier of `policy`; InvalidInput otherwise."""
    if tier_map is None:
        return {}
    if not isinstance(tier_map, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in tier_map.items()):
        raise InvalidInput(f"tier_map must map tier names to tier names, got {tier_map!r}")
    known = {t.name for ladder in policy.ladders.values() for t in ladder.tiers}
    for source, target in tier_map.items():
        if target not in known:
            raise InvalidInput(f"tier_map sends {source!r} to {target!r}, which the new policy "
                               f"does not have; its tiers are {', '.join(sorted(known))}")
    return dict(tier_map)
