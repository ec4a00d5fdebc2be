"""Changing the policy of a running desk: preview per open case, then migrate or not."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from . import timing
from .model import Agent, Case, ClockState, Status
from .policy import Policy

__all__ = ["CasePlan", "plan_case"]


@attrs.frozen
class CasePlan:
    """What a policy change would do to one open case."""

    case_id: str
    tier: str
    tier_exists: bool
    old_due: dict[str, datetime | None]
    new_due: dict[str, datetime | None]
    clocks: tuple[ClockState, ...]

    @property
    def changes(self) -> bool:
        """True when any due time would move, or the case's tier is gone."""
        return not self.tier_exists or self.old_due != self.new_due

    def line(self) -> str:
        """One readable line."""
        if not self.tier_exists:
            return (f"{self.case_id}: tier {self.tier!r} is not in the new policy; its timers "
                    "stop until the case is moved (transfer or escalate it by hand)")
        moved = [f"{name} {_fmt(self.old_due.get(name))} -> {_fmt(self.new_due.get(name))}"
                 for name in sorted(set(self.old_due) | set(self.new_due))
                 if self.old_due.get(name) != self.new_due.get(name)]
        return f"{self.case_id}: " + ("; ".join(moved) if moved else "no change")


def _fmt(moment: datetime | None) -> str:
    return "none" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def _due(clocks: tuple[ClockState, ...]) -> dict[str, datetime | None]:
    return {c.name: c.due_at for c in clocks if c.stopped_at is None}


def _retarget(old: Policy, new: Policy, clock: ClockState, target: timedelta,
              calendar: str | None, now: datetime) -> ClockState:
    """The clock with a new target and calendar, keeping the business time already used."""
    old_cal = timing.calendar_of(old, clock.calendar)
    if clock.due_at is not None:
        left = old_cal.between(now, clock.due_at)
    else:
        left = clock.remaining or timedelta(0)
    used = max(clock.target - left, timedelta(0))
    remaining = max(target - used, timedelta(0))
    cal_name = calendar or ""
    cal = timing.calendar_of(new, cal_name)
    if clock.due_at is None:
        return attrs.evolve(clock, target=target, calendar=cal_name, remaining=remaining)
    return attrs.evolve(clock, target=target, calendar=cal_name, due_at=cal.add(now, remaining),
                        warn_at=None)


def plan_case(old: Policy, new: Policy, case: Case, now: datetime) -> CasePlan:
    """The clocks `case` would run under `new`, keeping the business time already used."""
    try:
        tier = new.tier(case.tier)
        ladder = new.ladder_of(case.tier)
    except KeyError:
        return CasePlan(case.id, case.tier, False, _due(case.clocks), {}, case.clocks)
    clocks: list[ClockState] = []
    target = timing.sla_target(new, case.sla)
    limit = tier.escalate_after or (tier.realert_every if ladder.top is tier else None)
    if case.clock(timing.TIER) is None and limit is not None and case.status in (
            Status.OPEN, Status.ACTIVE):
        clocks.append(timing.start_clock(new, timing.TIER, limit,
                                         new.tier_calendar_name(tier.name), now, tier.warn_at))
    if case.clock(timing.IDLE) is None and tier.idle_after is not None and isinstance(
            case.owner, Agent) and case.status in (Status.OPEN, Status.ACTIVE, Status.WAITING):
        idle = timing.start_clock(new, timing.IDLE, tier.idle_after,
                                  new.tier_calendar_name(tier.name), now, None)
        if case.status is Status.WAITING:  # waiting pauses the idle clock
            idle = attrs.evolve(idle, due_at=None, remaining=tier.idle_after)
        clocks.append(idle)
    for clock in case.clocks:
        if clock.stopped_at is not None:
            clocks.append(clock)
            continue
        if clock.name == timing.TIER:
            if limit is not None:
                clocks.append(_retarget(old, new, clock, limit, new.tier_calendar_name(tier.name),
                                        now))
        elif clock.name == timing.IDLE:
            if tier.idle_after is not None:
                clocks.append(_retarget(old, new, clock, tier.idle_after,
                                        new.tier_calendar_name(tier.name), now))
        elif target is not None and getattr(target, clock.name, None) is not None:
            clocks.append(_retarget(old, new, clock, getattr(target, clock.name),
                                    target.calendar or ladder.calendar, now))
    fresh = tuple(clocks)
    return CasePlan(case.id, case.tier, True, _due(case.clocks), _due(fresh),
                    timing.ordered(fresh))
