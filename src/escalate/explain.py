"""Why is this case due then? Each clock's due time, rebuilt from the case's history.

Also: which route and SLA target the case runs under and why, and who used each clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import attrs

from .durations import format_duration
from .fold import apply
from .model import Case, ClockState, Event, EventKind
from .policy import Policy
from .shares import ClockShare, clock_shares
from .timing import calendar_of

__all__ = ["CaseExplanation", "ClockExplanation", "explain_case", "explain_route"]



@attrs.frozen
class ClockExplanation:
    """How one clock's due time comes about: target, calendar, running spells and pauses."""

    clock: ClockState
    calendar: str
    timezone: str
    spells: tuple[tuple[datetime, datetime, timedelta], ...]
    pauses: tuple[tuple[datetime, datetime | None], ...]
    remaining: timedelta | None
    windows: tuple[str, ...]
    share: ClockShare | None = None

    @property
    def due_at(self) -> datetime | None:
        """The due time being explained (None while paused or stopped)."""
        return self.clock.due_at

    def lines(self) -> list[str]:
        """A readable account, one line per fact."""
        c = self.clock
        cal = self.calendar or "24x7"
        out = [f"{c.name}: target {format_duration(c.target)} of business time in calendar "
               f"{cal} ({self.timezone}), started {c.started_at:%Y-%m-%d %H:%M} UTC"]
        for start, end, counted in self.spells:
            out.append(f"  ran {start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} UTC: "
                       f"{format_duration(counted)} counted")
        for paused, resumed in self.pauses:
            until = "now" if resumed is None else f"{resumed:%Y-%m-%d %H:%M}"
            out.append(f"  paused {paused:%Y-%m-%d %H:%M} .. {until} UTC (not counted)")
        if c.stopped_at is not None:
            out.append(f"  stopped {c.stopped_at:%Y-%m-%d %H:%M} UTC"
                       + (" after a breach" if c.breached else ""))
        elif c.due_at is None:
            out.append(f"  paused with {format_duration(c.remaining or timedelta(0))} left")
        else:
            out.append(f"  {format_duration(self.remaining or timedelta(0))} left when the "
                       f"current spell began; due {c.due_at:%a %Y-%m-%d %H:%M} UTC"
                       + (f" (after {c.alerts} re-alerts)" if c.alerts else ""))
            out.extend(f"    {line}" for line in self.windows)
        if self.share is not None:
            out.extend(f"  {line}" for line in self.share.lines()[1:])
            out.append(f"  used so far: {format_duration(self.share.elapsed)}")
        return out


class CaseExplanation(list[ClockExplanation]):
    """Every clock's explanation (a list), plus `route`: how the SLA target was chosen."""

    def __init__(self, clocks: list[ClockExplanation], route: str) -> None:
        super().__init__(clocks)
        self.route = route

    def lines(self) -> list[str]:
        """The route sentence, then each clock's account."""
        return [self.route, *(line for clock in self for line in clock.lines())]


def explain_route(policy: Policy, case: Case, events: list[Event]) -> str:
    """Which route and SLA target the case runs under, and why (from its last choice)."""
    choice = next((e for e in reversed(events)
                   if e.kind in (EventKind.OPENED, EventKind.UPDATED) and "route" in e.data),
                  None)
    target = case.sla or "(none)"
    if choice is None:
        return f"ladder {case.ladder}, SLA target {target}; the case predates recorded routes"
    index = choice.data.get("route")
    route = policy.routes[index] if index is not None and index < len(policy.routes) else None
    if index is None:
        how = "no policy route (the first ladder, or a routing plugin)"
    elif route is None:
        how = f"route {index} of an earlier policy"
    else:
        how = f"route {index} (when {route.describe()})"
        if route.when:
            how += f", because the case has {_facts(case, route.when)}"
    named = route is not None and route.sla is not None and route.sla == case.sla
    source = "named by the route" if named else f"the case's priority {case.priority}"
    when = "opened" if choice.kind is EventKind.OPENED else "updated"
    return (f"ladder {case.ladder}, SLA target {target} ({source}); chosen when the case was "
            f"{when} {choice.at:%Y-%m-%d %H:%M} UTC by {how}")


def _facts(case: Case, when: Mapping[str, object]) -> str:
    values = {**case.fields, "priority": case.priority, "channel": case.channel,
              "category": case.category, "customer": case.customer, "title": case.title}
    return ", ".join(f"{key}={values.get(key)}" for key in when)


def explain_case(policy: Policy, case: Case, events: list[Event],
                 now: datetime | None = None) -> CaseExplanation:
    """One explanation per clock of `case`, rebuilt from `events`; with who used each clock."""
    shares = {s.clock: s for s in clock_shares(policy, events, now)} if now else {}
    states: list[Case] = []
    for event in events:
        states.append(apply(states[-1] if states else None, event))
    steps = list(zip(events, states, strict=True))
    clocks = [attrs.evolve(_explain(policy, clock, steps), share=shares.get(clock.name))
              for clock in case.clocks]
    return CaseExplanation(clocks, explain_route(policy, case, events))


def _holds(state: Case, name: str) -> bool:
    """True when the clock stands still (paused, stopped or gone) in the case's state."""
    found = state.clock(name)
    return found is None or not found.running


def _explain(policy: Policy, clock: ClockState,
             steps: list[tuple[Event, Case]]) -> ClockExplanation:
    cal = calendar_of(policy, clock.calendar)
    spells: list[tuple[datetime, datetime, timedelta]] = []
    pauses: list[tuple[datetime, datetime | None]] = []
    running_since: datetime | None = clock.started_at
    paused_since: datetime | None = None
    for event, state in steps:
        holds = _holds(state, clock.name)
        if event.at < clock.started_at or (event.at == clock.started_at and not holds):
            continue
        if holds and running_since is not None:
            spells.append((running_since, event.at, cal.between(running_since, event.at)))
            running_since, paused_since = None, event.at
        elif not holds and paused_since is not None:
            pauses.append((paused_since, event.at))
            running_since, paused_since = event.at, None
        if clock.stopped_at is not None and event.at >= clock.stopped_at:
            break
    if paused_since is not None:
        pauses.append((paused_since, None))
    remaining = None
    windows: tuple[str, ...] = ()
    if running_since is not None and clock.due_at is not None:
        remaining = cal.between(running_since, clock.due_at)
        windows = tuple(cal.explain(running_since, remaining).lines())
    return ClockExplanation(clock=clock, calendar=clock.calendar, timezone=cal.timezone,
                            spells=tuple(spells), pauses=tuple(pauses), remaining=remaining,
                            windows=windows)
