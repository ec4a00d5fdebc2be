"""Figures counted from the source rows themselves, so that they match a count of the file.

Teams and owners are counted on two separate levels with distinct names: a *team move* is
two adjacent rows of a case whose team differs, and a *team ping-pong* case has a team
sequence (repeats collapsed) with A -> B -> A. An *owner change* and an *owner ping-pong*
case are the same on the owner column, skipping rows without an owner.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from .mapping import ReplayMapping
from .reader import Row

__all__ = ["CaseCounts", "SlaCounts", "SourceCounts"]


class CaseCounts:
    """What the counting keeps of one case."""

    __slots__ = ("owner", "owner_before", "owner_ping_pong", "team", "team_before",
                 "team_ping_pong")

    def __init__(self) -> None:
        self.team: str | None = None
        self.team_before: str | None = None   # the distinct team before `team`
        self.team_ping_pong = False
        self.owner: str | None = None
        self.owner_before: str | None = None
        self.owner_ping_pong = False


class SourceCounts:
    """Owners, statuses, team moves and both kinds of ping-pong, as the rows say."""

    def __init__(self, mapping: ReplayMapping) -> None:
        self.m = mapping
        self.owners: set[str] = set()
        self.members: dict[str, set[str]] = {tier: set() for tier in mapping.tiers}
        self.moves = {"up": 0, "sideways": 0, "down": 0}
        self.team_ping_pong = 0
        self.owner_changes = 0
        self.owner_ping_pong = 0
        self.statuses: Counter[str] = Counter()

    def count(self, case: CaseCounts, row: Row) -> None:
        """Count one accepted row of `case`, in the order the replay takes it."""
        self.statuses[row.status] += 1
        if row.person is not None:
            self.owners.add(row.person)
            if row.tier is not None:
                self.members[row.tier].add(row.person)
            self._owner(case, row.person)
        team = row.team
        if team is None or row.tier is None or team == case.team:
            return
        if case.team is not None:
            before = self.m.level(self.m.tier_of(case.team) or self.m.tiers[0])
            after = self.m.level(row.tier)
            self.moves["up" if after > before else "down" if after < before else "sideways"] += 1
            if team == case.team_before and not case.team_ping_pong:
                case.team_ping_pong = True
                self.team_ping_pong += 1
        case.team_before = case.team
        case.team = team

    def _owner(self, case: CaseCounts, person: str) -> None:
        if person == case.owner:
            return
        if case.owner is not None:
            self.owner_changes += 1
            if person == case.owner_before and not case.owner_ping_pong:
                case.owner_ping_pong = True
                self.owner_ping_pong += 1
        case.owner_before = case.owner
        case.owner = person


class SlaCounts:
    """The source's SLA verdict per case beside escalate's own, under `sla_resolution`.

    Escalate's verdict: met when the first resolution came within the target (wall-clock
    time from the opening), missed when it came later or when the case was still unresolved
    past the target at its last row; otherwise there is no verdict yet.
    """

    def __init__(self, target: timedelta | None) -> None:
        self.target = target
        self.agree = 0
        self.disagree = 0
        self.no_source = 0
        self.undecided = 0

    def judge(self, source: bool | None, opened: datetime, resolved: datetime | None,
              last: datetime) -> None:
        """Compare one case's verdicts."""
        if self.target is None:
            return
        if source is None:
            self.no_source += 1
            return
        if resolved is not None:
            own: bool | None = resolved - opened <= self.target
        else:
            own = False if last - opened > self.target else None
        if own is None:
            self.undecided += 1
        elif own == source:
            self.agree += 1
        else:
            self.disagree += 1
