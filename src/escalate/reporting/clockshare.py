"""Which tier used up each SLA clock: business time a clock ran while each tier held the case.

Computed from the trail alone: between two events of a case, a clock that was running
(started, not paused by waiting, not stopped) counts the business time of its own calendar
for the tier that held the case, inside the report's window.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from ..calendars import BusinessHours
from ..model import ClockState
from .values import SLA_CLOCKS, ClockShare

__all__ = ["ClockShares"]


class ClockShares:
    """Accumulates running time per (clock, tier) and freezes it into ClockShare rows."""

    def __init__(self, since: datetime | None, until: datetime | None,
                 calendar: Callable[[str], BusinessHours]) -> None:
        self.since = since
        self.until = until
        self.calendar = calendar
        self.time: dict[tuple[str, str], timedelta] = {}

    def add(self, clocks: dict[str, ClockState], tier: str | None, start: datetime | None,
            end: datetime) -> None:
        """Count [start, end) for each running SLA clock in `clocks`, held by `tier`."""
        if start is None:
            return
        low = start if self.since is None else max(start, self.since)
        high = end if self.until is None else min(end, self.until)
        if high <= low:
            return
        for name in SLA_CLOCKS:
            clock = clocks.get(name)
            if clock is None or not clock.running:
                continue
            spent = self.calendar(clock.calendar).between(low, high)
            if spent:
                key = (name, tier or "?")
                self.time[key] = self.time.get(key, timedelta(0)) + spent

    def rows(self, tier_order: Iterable[str]) -> tuple[ClockShare, ...]:
        """One row per clock and tier that used time, clocks in display order, tiers in `order`."""
        order = {name: i for i, name in enumerate(tier_order)}
        out = []
        for name in SLA_CLOCKS:
            used = {tier: t for (clock, tier), t in self.time.items() if clock == name}
            total = sum(used.values(), timedelta(0))
            for tier in sorted(used, key=lambda t: (order.get(t, len(order)), t)):
                share = used[tier] / total if total else None
                out.append(ClockShare(name, tier, used[tier], share))
        return tuple(out)
