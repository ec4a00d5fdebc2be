"""The values of a management report: totals, rows per agent, tier, channel, priority, period.

`Report` is what `build_report` (escalate.reporting.builder) returns; its renderers live
beside it (text, tables for JSON and CSV, html). docs/reports.md defines every figure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any, TypeVar

import attrs

from ..timing import FIRST_RESPONSE, RESOLUTION

__all__ = [
    "SLA_CLOCKS",
    "TRENDS",
    "AgentRow",
    "Breach",
    "ClockShare",
    "Compliance",
    "GroupRow",
    "GroupTrend",
    "Period",
    "PingPong",
    "RatedComment",
    "Report",
    "Satisfaction",
    "Shuffling",
    "TierRow",
    "Totals",
    "TrendRow",
]

#: The trend periods `build_report` accepts.
TRENDS = ("day", "week", "month")

#: The SLA clocks reported on, in display order.
SLA_CLOCKS = (FIRST_RESPONSE, RESOLUTION)

_Row = TypeVar("_Row")


def _frozen_counts(value: Mapping[Any, int] | None) -> Mapping[Any, int]:
    return MappingProxyType(dict(value or {}))


@attrs.frozen
class RatedComment:
    """A customer's comment with the score of the rating it came with."""

    case_id: str
    score: int
    comment: str


@attrs.frozen
class Satisfaction:
    """Customer ratings received: how many, their mean, the share 4-5, best and worst comments.

    Each case counts with its last rating in the window.
    """

    ratings: int = 0
    score_total: int = 0
    satisfied: int = 0
    best: tuple[RatedComment, ...] = ()
    worst: tuple[RatedComment, ...] = ()

    @property
    def mean(self) -> float | None:
        """The mean score, or None without ratings."""
        return None if self.ratings == 0 else self.score_total / self.ratings

    @property
    def share_satisfied(self) -> float | None:
        """The share of ratings that were 4 or 5, or None without ratings."""
        return None if self.ratings == 0 else self.satisfied / self.ratings


@attrs.frozen
class Breach:
    """One missed commitment in the window: which case, which clock, where and when."""

    case_id: str
    clock: str
    tier: str
    at: datetime
    owner: str


@attrs.frozen
class ClockShare:
    """Business time one SLA clock ran while one tier held the case, and its share of the clock."""

    clock: str
    tier: str
    time: timedelta
    share: float | None


# -- the report's values ---------------------------------------------------------------


@attrs.frozen
class Compliance:
    """Outcomes of one SLA clock over a set of cases: met, breached or still pending."""

    met: int = 0
    breached: int = 0
    pending: int = 0

    @property
    def total(self) -> int:
        """Cases that have this clock: met + breached + pending."""
        return self.met + self.breached + self.pending

    @property
    def rate(self) -> float | None:
        """Share of decided clocks that were met, met / (met + breached); None if none."""
        decided = self.met + self.breached
        return None if decided == 0 else self.met / decided

    def to_json(self) -> dict[str, Any]:
        """The counts and the rate (rounded to 4 places) as a JSON-ready dict."""
        rate = self.rate
        return {"met": self.met, "breached": self.breached, "pending": self.pending,
                "rate": None if rate is None else round(rate, 4)}


@attrs.frozen
class Period:
    """The window a report covers; `end` is `until`, or the last event read without one."""

    since: datetime | None
    until: datetime | None
    trend: str
    end: datetime | None


@attrs.frozen
class AgentRow:
    """What one agent did in the window."""

    agent: str
    received: int = 0
    claimed: int = 0
    resolved: int = 0
    escalated_by_hand: int = 0
    escalated_away: int = 0
    transferred: int = 0
    reopened: int = 0
    median_resolution: timedelta | None = None
    p90_resolution: timedelta | None = None
    sla_breaches: int = 0
    satisfaction: Satisfaction = Satisfaction()


@attrs.frozen
class GroupRow:
    """One channel or priority: volume, resolutions, escalations and SLA compliance."""

    name: str
    opened: int = 0
    resolved: int = 0
    escalated: int = 0
    first_response: Compliance = Compliance()
    resolution: Compliance = Compliance()
    breached_in: Mapping[str, int] = attrs.field(factory=dict, converter=_frozen_counts,
                                                 hash=False)
    satisfaction: Satisfaction = Satisfaction()


@attrs.frozen
class TierRow:
    """One tier: arrivals, resolutions, moves in and out, time held and SLA outcomes."""

    tier: str
    opened: int = 0
    entered: int = 0
    resolved: int = 0
    escalations_in: int = 0
    escalations_out: int = 0
    transfers_in: int = 0
    transfers_out: int = 0
    cases_timed: int = 0
    time_total: timedelta = timedelta(0)
    time_median: timedelta | None = None
    breaches: int = 0
    first_response: Compliance = Compliance()
    resolution: Compliance = Compliance()
    satisfaction: Satisfaction = Satisfaction()


@attrs.frozen
class PingPong:
    """A case that came back to an owner (kind "owner") or tier (kind "tier") it had left."""

    case_id: str
    kind: str
    path: tuple[str, ...]
    returns: int

    @property
    def route(self) -> str:
        """The path as text: "ana -> bo -> ana"."""
        return " -> ".join(self.path)


@attrs.frozen
class Shuffling:
    """How much cases were passed around: transfers per case, ping-pong and move directions."""

    transfers_per_case: Mapping[int, int] = attrs.field(factory=dict, converter=_frozen_counts,
                                                        hash=False)
    ping_pong: tuple[PingPong, ...] = ()
    moves_up: int = 0
    moves_down: int = 0
    moves_sideways: int = 0


@attrs.frozen
class TrendRow:
    """One day, ISO week or month: activity in it, and compliance of the cases opened in it."""

    period: str
    start: date
    opened: int = 0
    resolved: int = 0
    escalated: int = 0
    breached: int = 0
    first_response: Compliance = Compliance()
    resolution: Compliance = Compliance()
    satisfaction: Satisfaction = Satisfaction()


@attrs.frozen
class GroupTrend:
    """The trend rows of one channel or priority: the cases of that group only."""

    name: str
    rows: tuple[TrendRow, ...]


@attrs.frozen
class Totals:
    """Whole-window figures."""

    events: int = 0
    opened: int = 0
    resolved: int = 0
    reopened: int = 0
    closed: int = 0
    escalated: int = 0
    escalated_by_hand: int = 0
    escalated_by_timer: int = 0
    transferred: int = 0
    breaches_first_response: int = 0
    breaches_resolution: int = 0
    ping_pong_cases: int = 0
    backlog: int = 0
    first_response: Compliance = Compliance()
    resolution: Compliance = Compliance()
    satisfaction: Satisfaction = Satisfaction()


@attrs.frozen
class Report:
    """Management figures for one window, computed from the event log by `build_report`."""

    period: Period
    totals: Totals
    agents: tuple[AgentRow, ...]
    tiers: tuple[TierRow, ...]
    channels: tuple[GroupRow, ...]
    priorities: tuple[GroupRow, ...]
    shuffling: Shuffling
    trends: tuple[TrendRow, ...]
    channel_trends: tuple[GroupTrend, ...] = ()
    priority_trends: tuple[GroupTrend, ...] = ()
    clock_shares: tuple[ClockShare, ...] = ()
    breaches: tuple[Breach, ...] = ()

    def agent(self, name: str) -> AgentRow:
        """The row of the named agent; KeyError if the agent did nothing in the window."""
        return _find(self.agents, lambda row: row.agent == name, name)

    def tier(self, name: str) -> TierRow:
        """The row of the named tier; KeyError if there is none."""
        return _find(self.tiers, lambda row: row.tier == name, name)

    def channel(self, name: str) -> GroupRow:
        """The row of the named channel; KeyError if there is none."""
        return _find(self.channels, lambda row: row.name == name, name)

    def priority(self, name: str) -> GroupRow:
        """The row of the named priority; KeyError if there is none."""
        return _find(self.priorities, lambda row: row.name == name, name)

    def satisfaction_of(self, dimension: str, name: str) -> Satisfaction:
        """The satisfaction row of one agent, tier, channel, priority or trend period."""
        rows: Mapping[str, Satisfaction] = {
            "agent": {r.agent: r.satisfaction for r in self.agents},
            "tier": {r.tier: r.satisfaction for r in self.tiers},
            "channel": {r.name: r.satisfaction for r in self.channels},
            "priority": {r.name: r.satisfaction for r in self.priorities},
            "period": {r.period: r.satisfaction for r in self.trends},
        }.get(dimension, {})
        if name not in rows:
            raise KeyError(f"{dimension} {name}")
        return rows[name]

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready plain values, keys in a stable order; durations in seconds."""
        from .tables import report_json

        return report_json(self)

    def to_csv(self) -> str:
        """One CSV section per table, each with a header row, a blank line between sections.

        The first column of every row names its table (period, totals, agents, tiers,
        channels, priorities, transfers, moves, ping_pong, trends, channel_trends,
        priority_trends, clock_shares, comments). Lines end in a line feed; `csv.reader`
        reads each section back.
        """
        from .tables import report_csv

        return report_csv(self)

    def to_text(self) -> str:
        """Aligned text tables with headings, for a terminal."""
        from .text import render_text

        return render_text(self)

    def to_html(self, *, case_links: str | None = None) -> str:
        """One self-contained HTML page: inline CSS and SVG charts, no script, no network.

        `case_links` is a format string for the link of a breached case: "{id}" is the case
        id, "{file}" the id as a safe file name ("cases/{file}.html"); by default the cases
        are listed without links.
        """
        from .html import render_report_html

        return render_report_html(self, case_links=case_links)


def _find(rows: Sequence[_Row], match: Callable[[_Row], bool], name: str) -> _Row:
    for row in rows:
        if match(row):
            return row
    raise KeyError(name)


