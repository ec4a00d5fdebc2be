"""The clocks of a case: SLA targets and the tier limit, in business time, and their timers.

Every function here is pure: given the policy, the case before and after an event, it says
how the clocks move (start, pause, resume, stop), which timers that leaves, and what a
due timer does when it fires.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import attrs

from .calendars import BusinessHours
from .model import Action, Case, ClockState, Event, EventKind, Status
from .policy import Policy, SlaTarget
from .stores.base import Timer

__all__ = [
    "FIRST_RESPONSE",
    "RESOLUTION",
    "TIER",
    "calendar_of",
    "next_clocks",
    "ordered",
    "start_clock",
    "timers_for",
]

FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"
TIER = "tier"
_ORDER = {FIRST_RESPONSE: 0, RESOLUTION: 1, TIER: 2}

_RUNNING_STATUSES = (Status.OPEN, Status.ACTIVE)
_PAUSED_STATUSES = (Status.WAITING, Status.RESOLVED)


def calendar_of(policy: Policy, name: str) -> BusinessHours:
    """The calendar a clock runs in ("" is round the clock); unknown names count 24x7."""
    found = policy.calendars.get(name) if name else None
    return found if found is not None else BusinessHours.always()


def start_clock(policy: Policy, name: str, target: timedelta, calendar: str | None,
                at: datetime, warn_fraction: float | None) -> ClockState:
    """A clock started at `at`, due once `target` of business time has passed."""
    cal_name = calendar or ""
    cal = calendar_of(policy, cal_name)
    return ClockState(
        name=name, target=target, calendar=cal_name, started_at=at,
        due_at=cal.add(at, target),
        warn_at=None if warn_fraction is None else cal.add(at, target * warn_fraction),
        warn_fraction=warn_fraction,
    )


def _pause(policy: Policy, clock: ClockState, at: datetime) -> ClockState:
    if not clock.running:
        return clock
    assert clock.due_at is not None
    cal = calendar_of(policy, clock.calendar)
    return attrs.evolve(clock, due_at=None, warn_at=None,
                        remaining=cal.between(at, clock.due_at))


def _resume(policy: Policy, clock: ClockState, at: datetime) -> ClockState:
    if not clock.paused:
        return clock
    cal = calendar_of(policy, clock.calendar)
    remaining = clock.remaining or timedelta(0)
    warn_at = None
    if clock.warn_fraction is not None and not clock.warned and not clock.breached:
        lead = remaining - clock.target * (1 - clock.warn_fraction)
        warn_at = cal.add(at, max(lead, timedelta(0)))
    return attrs.evolve(clock, due_at=cal.add(at, remaining), remaining=None, warn_at=warn_at)


def _stop(clock: ClockState, at: datetime) -> ClockState:
    if clock.stopped_at is not None:
        return clock
    return attrs.evolve(clock, stopped_at=at, due_at=None, warn_at=None)


def sla_target(policy: Policy, name: str | None) -> SlaTarget | None:
    """The SLA target a case runs under, if the policy defines it."""
    return None if name is None else policy.sla.get(name)


def _tier_clock(policy: Policy, tier_name: str, at: datetime) -> ClockState | None:
    try:
        tier = policy.tier(tier_name)
        ladder = policy.ladder_of(tier_name)
    except KeyError:
        return None
    is_top = ladder.top.name == tier_name
    limit = tier.escalate_after or (tier.realert_every if is_top else None)
    if limit is None:
        return None
    return start_clock(policy, TIER, limit, policy.tier_calendar_name(tier_name), at,
                       tier.warn_at)


def next_clocks(policy: Policy, before: Case | None, after: Case,
                event: Event) -> tuple[ClockState, ...]:
    """The case's clocks after an action's `event` (`after` is the case without new clocks)."""
    at = event.at
    clocks: dict[str, ClockState] = {c.name: c for c in (before.clocks if before else ())}
    kind = event.kind
    if before is None:
        target = sla_target(policy, event.data.get("sla"))
        if target is not None:
            calendar = target.calendar or policy.ladders[after.ladder].calendar
            for name in (FIRST_RESPONSE, RESOLUTION):
                limit = getattr(target, name)
                if limit is not None:
                    clocks[name] = start_clock(policy, name, limit, calendar, at, target.warn_at)
    if kind in (EventKind.RESPONDED, EventKind.RESOLVED) and FIRST_RESPONSE in clocks:
        clocks[FIRST_RESPONSE] = _stop(clocks[FIRST_RESPONSE], at)
    if kind is EventKind.RESOLVED and RESOLUTION in clocks:
        clocks[RESOLUTION] = _stop(clocks[RESOLUTION], at)
    if kind is EventKind.REOPENED and RESOLUTION in clocks:
        old = clocks[RESOLUTION]
        clocks[RESOLUTION] = start_clock(policy, RESOLUTION, old.target, old.calendar or None,
                                         at, old.warn_fraction)
    if before is None or after.tier != before.tier:
        fresh = _tier_clock(policy, after.tier, at)
        if fresh is None:
            clocks.pop(TIER, None)
        else:
            clocks[TIER] = fresh
    if after.status in _RUNNING_STATUSES:
        clocks = {n: _resume(policy, c, at) for n, c in clocks.items()}
    elif after.status in _PAUSED_STATUSES:
        clocks = {n: _pause(policy, c, at) for n, c in clocks.items()}
    else:
        clocks = {n: _stop(c, at) for n, c in clocks.items()}
    return ordered(clocks.values())


def ordered(clocks: Iterable[ClockState]) -> tuple[ClockState, ...]:
    """Clocks in display order: first response, resolution, tier."""
    return tuple(sorted(clocks, key=lambda c: _ORDER.get(c.name, 9)))


def is_top_tier(policy: Policy, tier: str) -> bool:
    """True when `tier` is the top of its ladder."""
    try:
        return policy.ladder_of(tier).top.name == tier
    except KeyError:
        return False


def timers_for(policy: Policy, case: Case) -> tuple[Timer, ...]:
    """The stored timers a case needs now: at most one per running clock, its next firing."""
    timers: list[Timer] = []
    for clock in case.clocks:
        if not clock.running or (clock.breached and clock.name != TIER):
            continue
        assert clock.due_at is not None
        if clock.warn_at is not None and not clock.warned and clock.warn_at < clock.due_at:
            timers.append(Timer(case.id, clock.name, clock.warn_at, Action.WARN))
        elif clock.name != TIER:
            timers.append(Timer(case.id, clock.name, clock.due_at, Action.BREACH))
        elif is_top_tier(policy, case.tier):
            timers.append(Timer(case.id, clock.name, clock.due_at, Action.REALERT))
        else:
            timers.append(Timer(case.id, clock.name, clock.due_at, Action.ESCALATE))
    return tuple(timers)


def after_warning(clock: ClockState) -> ClockState:
    """The clock once its warning was given."""
    return attrs.evolve(clock, warned=True, warn_at=None)


def after_breach(clock: ClockState) -> ClockState:
    """The SLA clock once its breach was recorded (it keeps running towards nothing)."""
    return attrs.evolve(clock, breached=True, warn_at=None)


def after_realert(policy: Policy, clock: ClockState, interval: timedelta) -> ClockState:
    """The top tier's clock after a re-alert: due again one `interval` of business time later."""
    assert clock.due_at is not None
    cal = calendar_of(policy, clock.calendar)
    return attrs.evolve(clock, alerts=clock.alerts + 1, breached=True, warn_at=None,
                        due_at=cal.add(clock.due_at, interval))
