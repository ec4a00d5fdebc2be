"""Why is this case due then? Each clock's due time, rebuilt from the case's history."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from .durations import format_duration
from .model import Case, ClockState, Event, Status
from .policy import Policy
from .timing import calendar_of

__all__ = ["ClockExplanation", "explain_case"]

_PAUSING = (Status.WAITING, Status.RESOLVED, Status.CLOSED)


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
        return out


def explain_case(policy: Policy, case: Case, events: list[Event]) -> list[ClockExplanation]:
    """One explanation per clock of `case`, rebuilt from `events`."""
    return [_explain(policy, clock, events) for clock in case.clocks]


def _explain(policy: Policy, clock: ClockState, events: list[Event]) -> ClockExplanation:
    cal = calendar_of(policy, clock.calendar)
    spells: list[tuple[datetime, datetime, timedelta]] = []
    pauses: list[tuple[datetime, datetime | None]] = []
    running_since: datetime | None = clock.started_at
    paused_since: datetime | None = None
    for event in events:
        if event.at < clock.started_at or (event.at == clock.started_at
                                           and event.status_after not in _PAUSING):
            continue
        if event.status_after in _PAUSING and running_since is not None:
            spells.append((running_since, event.at, cal.between(running_since, event.at)))
            running_since, paused_since = None, event.at
        elif event.status_after not in _PAUSING and paused_since is not None:
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
