"""Who used the clock: the business time each tier and each agent held a case per clock.

For every clock of a case, `clock_shares` walks the case's history and adds up, spell by
spell, the business time that clock ran while each tier (and each agent) held the case.
The tier shares of a clock always add up to its elapsed business time, so a breach shows
which tier used the time, not only who held the case when it broke. Reports call this with
a case's events; `desk.explain()` shows it per clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from types import MappingProxyType

import attrs

from .durations import format_duration
from .fold import apply
from .model import Agent, Case, ClockState, Event
from .policy import Policy
from .timing import calendar_of

__all__ = ["ClockShare", "clock_shares", "clock_shares_by_case"]


def _frozen(value: Mapping[str, timedelta]) -> Mapping[str, timedelta]:
    return MappingProxyType(dict(value))


@attrs.frozen
class ClockShare:
    """The business time one clock ran, split by the tier and the agent holding the case.

    `by_tier` adds up to `elapsed`; `by_agent` covers the spells an agent (rather than a
    queue) held the case, so it adds up to `elapsed - queued`.
    """

    clock: str
    started_at: datetime
    elapsed: timedelta
    by_tier: Mapping[str, timedelta] = attrs.field(factory=dict, converter=_frozen, hash=False)
    by_agent: Mapping[str, timedelta] = attrs.field(factory=dict, converter=_frozen,
                                                    hash=False)
    queued: timedelta = timedelta(0)

    def lines(self) -> list[str]:
        """One line per tier and per agent, largest first."""
        out = [f"{self.clock}: {format_duration(self.elapsed)} of business time used"]
        for tier, used in sorted(self.by_tier.items(), key=lambda kv: (-kv[1], kv[0])):
            out.append(f"  tier {tier}: {format_duration(used)}")
        for agent, used in sorted(self.by_agent.items(), key=lambda kv: (-kv[1], kv[0])):
            out.append(f"  agent {agent}: {format_duration(used)}")
        if self.queued:
            out.append(f"  in a queue: {format_duration(self.queued)}")
        return out

    def to_dict(self) -> dict[str, object]:
        """Plain values (seconds) for reports and JSON."""
        return {"clock": self.clock, "started_at": self.started_at.isoformat(),
                "elapsed": self.elapsed.total_seconds(),
                "by_tier": {k: v.total_seconds() for k, v in self.by_tier.items()},
                "by_agent": {k: v.total_seconds() for k, v in self.by_agent.items()},
                "queued": self.queued.total_seconds()}


def clock_shares(policy: Policy, events: Iterable[Event], now: datetime) -> list[ClockShare]:
    """Per clock of the case the `events` describe, who held it while the clock ran.

    Only the clock's current run counts (a clock restarted by a response, a reopen or a new
    tier starts from zero); a running clock counts up to `now`.
    """
    states: list[Case] = []
    case: Case | None = None
    for event in events:
        case = apply(case, event)
        states.append(case)
    if not states:
        return []
    return [_share(policy, clock, states, now) for clock in states[-1].clocks]


def _share(policy: Policy, final: ClockState, states: list[Case], now: datetime) -> ClockShare:
    by_tier: dict[str, timedelta] = {}
    by_agent: dict[str, timedelta] = {}
    queued = timedelta(0)
    for i, state in enumerate(states):
        clock = state.clock(final.name)
        if clock is None or not clock.running or clock.started_at != final.started_at:
            continue
        end = states[i + 1].updated_at if i + 1 < len(states) else now
        used = calendar_of(policy, clock.calendar).between(state.updated_at, end)
        if not used:
            continue
        by_tier[state.tier] = by_tier.get(state.tier, timedelta(0)) + used
        if isinstance(state.owner, Agent):
            by_agent[state.owner.name] = by_agent.get(state.owner.name, timedelta(0)) + used
        else:
            queued += used
    return ClockShare(clock=final.name, started_at=final.started_at,
                      elapsed=sum(by_tier.values(), timedelta(0)), by_tier=by_tier,
                      by_agent=by_agent, queued=queued)


def clock_shares_by_case(policy: Policy, events: Iterable[Event],
                         now: datetime) -> dict[str, list[ClockShare]]:
    """`clock_shares` for every case in `events` (any order of cases, each case's in order).

    What a report calls with `desk.events()`: case id -> its clocks' shares.
    """
    by_case: dict[str, list[Event]] = {}
    for event in events:
        by_case.setdefault(event.case_id, []).append(event)
    return {case_id: clock_shares(policy, sorted(case_events, key=lambda e: e.seq), now)
            for case_id, case_events in by_case.items()}
