"""What the report builder keeps while it reads the trail: per case, agent, tier and group."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

import attrs

from ..model import ClockState, Owner, Status
from ..timing import FIRST_RESPONSE, RESOLUTION
from .values import SLA_CLOCKS, Compliance, RatedComment, Satisfaction, TrendRow

__all__ = [
    "AgentCounts",
    "CaseState",
    "GroupCounts",
    "Outcomes",
    "Rating",
    "SatisfactionCounts",
    "TierCounts",
    "TrendCounts",
]

#: How many comments of the best and of the worst rated cases a satisfaction row keeps.
COMMENTS_KEPT = 3


@attrs.frozen
class Rating:
    """A case's latest rating: score, comment, when, and the tier that held the case."""

    score: int
    comment: str | None
    at: datetime
    tier: str


@attrs.define
class CaseState:
    """What the builder remembers about one case it has seen."""

    case_id: str
    opened_at: datetime | None = None
    channel: str = "?"
    priority: str = "?"
    ladder: str | None = None
    first_tier: str | None = None
    in_cohort: bool = False
    owner: Owner | None = None
    tier: str | None = None
    status: Status | None = None
    clocks: dict[str, ClockState] = attrs.field(factory=dict)
    breached: dict[str, str] = attrs.field(factory=dict)
    met_in: dict[str, str] = attrs.field(factory=dict)
    transfers: int = 0
    agent_path: list[str] = attrs.field(factory=list)
    tier_path: list[str] = attrs.field(factory=list)
    owner_returns: int = 0
    tier_returns: int = 0
    last_resolver: str | None = None
    spell_start: datetime | None = None
    spell_tier: str | None = None
    tier_time: dict[str, timedelta] = attrs.field(factory=dict)
    last_at: datetime | None = None
    rating: Rating | None = None


@attrs.define
class SatisfactionCounts:
    """Ratings collected for one row: (score, case id, comment) each."""

    ratings: list[tuple[int, str, str | None]] = attrs.field(factory=list)

    def add(self, case_id: str, rating: Rating) -> None:
        """Count one case's last rating."""
        self.ratings.append((rating.score, case_id, rating.comment))

    def frozen(self) -> Satisfaction:
        """The row's Satisfaction: best comments from scores 4-5, worst from scores 1-3."""
        commented = [RatedComment(case_id, score, comment)
                     for score, case_id, comment in self.ratings if comment]
        best = sorted((c for c in commented if c.score >= 4),
                      key=lambda c: (-c.score, c.case_id))[:COMMENTS_KEPT]
        worst = sorted((c for c in commented if c.score <= 3),
                       key=lambda c: (c.score, c.case_id))[:COMMENTS_KEPT]
        return Satisfaction(ratings=len(self.ratings),
                            score_total=sum(score for score, _, _ in self.ratings),
                            satisfied=sum(1 for score, _, _ in self.ratings if score >= 4),
                            best=tuple(best), worst=tuple(worst))


@attrs.define
class AgentCounts:
    """What one agent did, counted while reading."""

    received: int = 0
    claimed: int = 0
    resolved: int = 0
    escalated_by_hand: int = 0
    escalated_away: int = 0
    transferred: int = 0
    reopened: int = 0
    sla_breaches: int = 0
    durations: list[timedelta] = attrs.field(factory=list)
    satisfaction: SatisfactionCounts = attrs.field(factory=SatisfactionCounts)


@attrs.define
class Outcomes:
    """Met, breached and pending clocks, counted."""

    met: int = 0
    breached: int = 0
    pending: int = 0

    def add(self, outcome: str) -> None:
        """Count one outcome: "met", "breached" or "pending"."""
        setattr(self, outcome, getattr(self, outcome) + 1)

    def frozen(self) -> Compliance:
        """The counts as a Compliance value."""
        return Compliance(self.met, self.breached, self.pending)


@attrs.define
class GroupCounts:
    """One channel, priority, tier or period, counted while reading."""

    opened: int = 0
    resolved: int = 0
    escalated: int = 0
    compliance: dict[str, Outcomes] = attrs.field(
        factory=lambda: {name: Outcomes() for name in SLA_CLOCKS})
    breached_in: Counter[str] = attrs.field(factory=Counter)
    satisfaction: SatisfactionCounts = attrs.field(factory=SatisfactionCounts)


@attrs.define
class TierCounts(GroupCounts):
    """One tier, counted while reading."""

    entered: int = 0
    escalations_in: int = 0
    escalations_out: int = 0
    transfers_in: int = 0
    transfers_out: int = 0
    breaches: int = 0
    durations: list[timedelta] = attrs.field(factory=list)


@attrs.define
class TrendCounts(GroupCounts):
    """One period, counted while reading."""

    breached: int = 0

    def row(self, label: str, start: date) -> TrendRow:
        """The period's TrendRow."""
        return TrendRow(period=label, start=start,
                        opened=self.opened, resolved=self.resolved, escalated=self.escalated,
                        breached=self.breached,
                        first_response=self.compliance[FIRST_RESPONSE].frozen(),
                        resolution=self.compliance[RESOLUTION].frozen(),
                        satisfaction=self.satisfaction.frozen())
