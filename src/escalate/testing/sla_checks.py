"""Checks of the SLA clocks that the lifecycle machine runs after every step.

Each function raises AssertionError with a message saying what does not hold:

- `check_timers`: a case has exactly the stored timers its clocks call for, and exactly
  the clocks its state calls for (the idle clock only while an agent owns an unfinished
  case, the next-update clock only after a first response);
- `check_shares`: per clock, the business time the tiers held the case adds up to the time
  the clock counted;
- `check_timer_event`: a timer event names its clock, and an idle return only ever
  happens to an agent-owned case that was not waiting.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .. import timing
from ..model import Agent, Case, Event, EventKind, Queue, Status
from ..policy import Policy
from ..shares import clock_shares
from ..stores.base import Store

__all__ = ["check_shares", "check_timer_event", "check_timers", "paused_clock_names"]

_UNFINISHED = (Status.OPEN, Status.ACTIVE, Status.WAITING)


def paused_clock_names(policy: Policy, case: Case) -> set[str]:
    """The clocks that must stand still while the case is waiting or resolved."""
    names = {c.name for c in case.clocks if c.stopped_at is None}
    target = timing.sla_target(policy, case.sla)
    if case.status is Status.WAITING and target is not None \
            and not target.pauses(case.waiting_on):
        names -= set(timing.SLA_CLOCKS)
    return names


def check_timers(policy: Policy, store: Store, case: Case) -> None:
    """The stored timers are exactly one per running clock that can still fire."""
    stored = sorted(store.timers(case.id), key=lambda t: t.clock)
    expected = sorted(timing.timers_for(policy, case), key=lambda t: t.clock)
    assert stored == expected, f"{case.id}: timers {stored} but its clocks call for {expected}"
    live = {c.name for c in case.clocks
            if c.running and not (c.breached and c.name != timing.TIER)}
    assert {t.clock for t in stored} == live, f"{case.id}: timers {stored} for clocks {live}"
    tier = policy.tier(case.tier)
    wants_idle = (tier.idle_after is not None and isinstance(case.owner, Agent)
                  and case.status in _UNFINISHED)
    assert (case.clock(timing.IDLE) is not None) == wants_idle, \
        f"{case.id}: idle clock {case.clock(timing.IDLE)} with owner {case.owner}, " \
        f"status {case.status.value}"
    if case.clock(timing.NEXT_UPDATE) is not None:
        assert case.first_response_at is not None, f"{case.id}: next update before a response"


def check_shares(policy: Policy, events: list[Event], case: Case, now: datetime) -> None:
    """Per clock, the tiers' shares add up to the business time the clock has counted."""
    for share in clock_shares(policy, events, now):
        clock = case.clock(share.clock)
        assert clock is not None
        assert sum(share.by_tier.values(), timedelta(0)) == share.elapsed
        assert sum(share.by_agent.values(), share.queued) == share.elapsed
        if clock.stopped_at is None and clock.alerts == 0:
            counted = timing.elapsed(policy, clock, now)
            assert share.elapsed == counted, \
                f"{case.id} {clock.name}: shares add up to {share.elapsed}, clock counted " \
                f"{counted} ({clock})"


def check_timer_event(event: Event) -> None:
    """A timer event names its clock; an idle return leaves an agent-owned, unpaused case."""
    if event.kind in (EventKind.WARNED, EventKind.BREACHED, EventKind.REALERTED):
        assert event.data.get("clock") in timing.CLOCK_NAMES, f"unnamed clock: {event}"
    if event.data.get("clock") == timing.IDLE:
        assert event.kind in (EventKind.RETURNED, EventKind.ESCALATED), event
        assert isinstance(event.owner_before, Agent), f"idle return of a queue's case: {event}"
        assert event.status_before in (Status.OPEN, Status.ACTIVE), \
            f"idle return of a {event.status_before} case: {event}"
        assert isinstance(event.owner_after, Queue)
