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
from .model import Action, Agent, Case, ClockState, Event, EventKind, Queue, Status
from .policy import Policy, SlaTarget, Tier
from .stores.base import Timer

__all__ = [
    "CLAIM",
    "CLOCK_NAMES",
    "FIRST_RESPONSE",
    "IDLE",
    "NEXT_UPDATE",
    "RESOLUTION",
    "SLA_CLOCKS",
    "TIER",
    "calendar_of",
    "elapsed",
    "next_clocks",
    "ordered",
    "start_clock",
    "timers_for",
]

FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"
TIER = "tier"
NEXT_UPDATE = "next_update"
IDLE = "idle"
CLAIM = "claim"
#: The clocks an SLA target runs (and its `pause_on` governs).
SLA_CLOCKS = (FIRST_RESPONSE, RESOLUTION, NEXT_UPDATE)
#: Every clock name, in display order; warned and breached events name one in data["clock"].
CLOCK_NAMES = (FIRST_RESPONSE, RESOLUTION, NEXT_UPDATE, TIER, IDLE, CLAIM)
_ORDER = {name: i for i, name in enumerate(CLOCK_NAMES)}

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
    # time already past the due time is kept, so that elapsed() stays exact across pauses
    return attrs.evolve(clock, due_at=None, warn_at=None,
                        remaining=cal.between(at, clock.due_at),
                        overrun=clock.overrun + cal.between(clock.due_at, at))


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
    target = sla_target(policy, after.sla)
    if before is None and target is not None:
        calendar = _sla_calendar(policy, target, after)
        for name in (FIRST_RESPONSE, RESOLUTION):
            limit = getattr(target, name)
            if limit is not None:
                clocks[name] = start_clock(policy, name, limit, calendar, at, target.warn_at)
    if kind is EventKind.UPDATED and before is not None and before.sla != after.sla:
        clocks = _retargeted(policy, clocks, after, target, at)
    if kind in (EventKind.RESPONDED, EventKind.RESOLVED) and FIRST_RESPONSE in clocks:
        clocks[FIRST_RESPONSE] = _stop(clocks[FIRST_RESPONSE], at)
    if kind is EventKind.RESOLVED:
        for name in (RESOLUTION, NEXT_UPDATE):
            if name in clocks:
                clocks[name] = _stop(clocks[name], at)
    if kind is EventKind.REOPENED:
        for name in (RESOLUTION, NEXT_UPDATE):
            old = clocks.get(name)
            if old is not None:
                clocks[name] = start_clock(policy, name, old.target, old.calendar or None,
                                           at, old.warn_fraction)
    if kind is EventKind.RESPONDED and target is not None and target.next_update is not None:
        clocks[NEXT_UPDATE] = start_clock(policy, NEXT_UPDATE, target.next_update,
                                          _sla_calendar(policy, target, after), at,
                                          target.warn_at)
    if before is None or after.tier != before.tier:
        fresh = _tier_clock(policy, after.tier, at)
        if fresh is None:
            clocks.pop(TIER, None)
        else:
            clocks[TIER] = fresh
    _idle_clock(policy, clocks, before, after, event)
    _claim_clock(policy, clocks, before, after, event)
    return ordered(_by_status(policy, clocks, after, target, at).values())


def _by_status(policy: Policy, clocks: dict[str, ClockState], after: Case,
               target: SlaTarget | None, at: datetime) -> dict[str, ClockState]:
    """Run, pause or stop every clock as the case's new status (and what it waits on) says."""
    if after.status in _RUNNING_STATUSES:
        return {n: _resume(policy, c, at) for n, c in clocks.items()}
    if after.status is Status.WAITING:
        keeps_running = target is not None and not target.pauses(after.waiting_on)
        return {n: _resume(policy, c, at) if keeps_running and n in SLA_CLOCKS
                else _pause(policy, c, at) for n, c in clocks.items()}
    if after.status in _PAUSED_STATUSES:
        return {n: _pause(policy, c, at) for n, c in clocks.items()}
    return {n: _stop(c, at) for n, c in clocks.items()}


def _sla_calendar(policy: Policy, target: SlaTarget, case: Case) -> str | None:
    ladder = policy.ladders.get(case.ladder)
    return target.calendar or (ladder.calendar if ladder is not None else None)


def _tier_or_none(policy: Policy, name: str) -> Tier | None:
    try:
        return policy.tier(name)
    except KeyError:
        return None


def _idle_clock(policy: Policy, clocks: dict[str, ClockState], before: Case | None,
                after: Case, event: Event) -> None:
    """Start, restart or drop the idle clock: it runs while an agent owns an unfinished case.

    It starts when an agent takes the case (or it changes tier) and restarts on any action
    of the owner; it is dropped when a queue owns the case or the case is resolved.
    """
    tier = _tier_or_none(policy, after.tier)
    owner = after.owner
    if (tier is None or tier.idle_after is None or not isinstance(owner, Agent)
            or after.status not in (Status.OPEN, Status.ACTIVE, Status.WAITING)):
        clocks.pop(IDLE, None)
        return
    restart = (IDLE not in clocks or before is None or before.owner != owner
               or before.tier != after.tier or event.actor == owner.name)
    if restart:
        clocks[IDLE] = start_clock(policy, IDLE, tier.idle_after,
                                   policy.tier_calendar_name(after.tier), event.at, None)


def _claim_clock(policy: Policy, clocks: dict[str, ClockState], before: Case | None,
                 after: Case, event: Event) -> None:
    """Start or drop the claim clock: it runs while a case waits unclaimed in a tier's queue.

    It starts when the case arrives in the queue of a tier with `claim_within` (opened,
    escalated, returned or transferred there) and is dropped once an agent owns the case.
    """
    tier = _tier_or_none(policy, after.tier)
    if (tier is None or tier.claim_within is None or not isinstance(after.owner, Queue)
            or after.status not in (Status.OPEN, Status.WAITING)):
        clocks.pop(CLAIM, None)
        return
    if (CLAIM not in clocks or before is None or before.owner != after.owner
            or before.tier != after.tier):
        clocks[CLAIM] = start_clock(policy, CLAIM, tier.claim_within,
                                    policy.tier_calendar_name(after.tier), event.at, None)


def elapsed(policy: Policy, clock: ClockState, now: datetime) -> timedelta:
    """Business time an SLA or idle clock has counted since it started, up to `now`.

    That is its target minus what is left (plus any time past the target). A top-tier clock
    that re-alerted moves its due time on by each interval, so this does not apply to it.
    """
    cal = calendar_of(policy, clock.calendar)
    base = clock.target + clock.overrun
    if clock.due_at is not None and clock.stopped_at is None:
        if now <= clock.due_at:
            return base - cal.between(now, clock.due_at)
        return base + cal.between(clock.due_at, now)
    if clock.stopped_at is None:
        return base - (clock.remaining or timedelta(0))
    raise ValueError(f"clock {clock.name} is stopped; its elapsed time is in the history")


def _retargeted(policy: Policy, clocks: dict[str, ClockState], case: Case,
                target: SlaTarget | None, at: datetime) -> dict[str, ClockState]:
    """The SLA clocks moved to `target`, keeping the business time each already used."""
    out = dict(clocks)
    calendar = None if target is None else _sla_calendar(policy, target, case)
    wanted = {FIRST_RESPONSE: case.first_response_at is None, RESOLUTION: True,
              NEXT_UPDATE: case.first_response_at is not None}
    for name in SLA_CLOCKS:
        limit = None if target is None else getattr(target, name)
        old = out.get(name)
        if old is not None and old.stopped_at is not None:
            continue
        if limit is None:
            out.pop(name, None)
        elif old is None:
            if wanted[name]:
                out[name] = start_clock(policy, name, limit, calendar, at,
                                        None if target is None else target.warn_at)
        else:
            used = elapsed(policy, old, at)
            out[name] = ClockState(
                name=name, target=limit, calendar=calendar or "", started_at=old.started_at,
                due_at=None, remaining=max(limit - used, timedelta(0)),
                warn_fraction=None if target is None else target.warn_at,
                warned=old.warned, breached=old.breached,
                overrun=max(used - limit, timedelta(0)),
            )
    return out


def ordered(clocks: Iterable[ClockState]) -> tuple[ClockState, ...]:
    """Clocks in display order: first response, resolution, next update, tier, idle."""
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
        if not clock.running or (clock.breached and clock.name not in (TIER, CLAIM)):
            continue
        assert clock.due_at is not None
        if clock.warn_at is not None and not clock.warned and clock.warn_at < clock.due_at:
            timers.append(Timer(case.id, clock.name, clock.warn_at, Action.WARN))
        elif clock.name == CLAIM:
            timers.append(Timer(case.id, clock.name, clock.due_at, Action.REALERT))
        elif clock.name == IDLE:
            timers.append(Timer(case.id, clock.name, clock.due_at, idle_action(policy, case)))
        elif clock.name != TIER:
            timers.append(Timer(case.id, clock.name, clock.due_at, Action.BREACH))
        elif is_top_tier(policy, case.tier):
            timers.append(Timer(case.id, clock.name, clock.due_at, Action.REALERT))
        else:
            timers.append(Timer(case.id, clock.name, clock.due_at, Action.ESCALATE))
    return tuple(timers)


def idle_action(policy: Policy, case: Case) -> Action:
    """What the idle timer does: return the case to its queue, or escalate it a tier.

    At the top tier (where nothing is above) an `escalate` idle action returns the case.
    """
    tier = _tier_or_none(policy, case.tier)
    if tier is None or tier.idle_action != "escalate" or is_top_tier(policy, case.tier):
        return Action.RETURN
    return Action.ESCALATE


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
