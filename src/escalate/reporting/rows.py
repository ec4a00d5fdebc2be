"""Freezing the builder's counts into the report's rows."""

from __future__ import annotations

from datetime import date, timedelta

from ..timing import FIRST_RESPONSE, RESOLUTION
from .state import AgentCounts, GroupCounts, TierCounts, TrendCounts
from .stats import median, next_period, percentile, period_label
from .values import AgentRow, GroupRow, TierRow, TrendRow

__all__ = ["agent_row", "group_row", "tier_row", "trend_rows"]


def agent_row(name: str, c: AgentCounts) -> AgentRow:
    """One agent's row."""
    return AgentRow(agent=name, received=c.received, claimed=c.claimed, resolved=c.resolved,
                    escalated_by_hand=c.escalated_by_hand, escalated_away=c.escalated_away,
                    transferred=c.transferred, reopened=c.reopened,
                    median_resolution=median(c.durations),
                    p90_resolution=percentile(c.durations, 0.9),
                    sla_breaches=c.sla_breaches, satisfaction=c.satisfaction.frozen())


def tier_row(name: str, c: TierCounts) -> TierRow:
    """One tier's row."""
    return TierRow(tier=name, opened=c.opened, entered=c.entered, resolved=c.resolved,
                   escalations_in=c.escalations_in, escalations_out=c.escalations_out,
                   transfers_in=c.transfers_in, transfers_out=c.transfers_out,
                   cases_timed=len(c.durations),
                   time_total=sum(c.durations, timedelta(0)),
                   time_median=median(c.durations), breaches=c.breaches,
                   first_response=c.compliance[FIRST_RESPONSE].frozen(),
                   resolution=c.compliance[RESOLUTION].frozen(),
                   satisfaction=c.satisfaction.frozen())


def group_row(name: str, c: GroupCounts) -> GroupRow:
    """One channel's or priority's row."""
    return GroupRow(name=name, opened=c.opened, resolved=c.resolved, escalated=c.escalated,
                    first_response=c.compliance[FIRST_RESPONSE].frozen(),
                    resolution=c.compliance[RESOLUTION].frozen(),
                    breached_in=dict(sorted(c.breached_in.items())),
                    satisfaction=c.satisfaction.frozen())


def trend_rows(trend: str, start: date, stop: date,
               counts: dict[date, TrendCounts]) -> tuple[TrendRow, ...]:
    """One row per period from the one starting on `start` to the one starting on `stop`."""
    rows = []
    day = start
    while day <= stop:
        rows.append(counts.get(day, TrendCounts()).row(period_label(trend, day), day))
        day = next_period(trend, day)
    return tuple(rows)
