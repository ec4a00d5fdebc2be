"""Team-level and owner-level figures read back from replayed events, with distinct names.

A report cut by person says who handled what; a replayed log also knows the source's team
of each event (`event.data["team"]`). These figures keep the two levels apart:

- `team_moves`: events after which the case is with another team than before;
- `team_ping_pong_cases`: cases whose team sequence (repeats collapsed) has A -> B -> A;
- `owner_changes` and `owner_ping_pong_cases`: the same on the owning agent (queues and
  events without an agent owner are skipped).
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from ..model import Agent, Event

__all__ = ["TeamFigures", "team_figures"]


@attrs.frozen
class TeamFigures:
    """Moves and ping-pong at team level beside the owner level."""

    team_moves: int = 0
    team_ping_pong_cases: int = 0
    owner_changes: int = 0
    owner_ping_pong_cases: int = 0


class _Path:
    """The last two distinct values of one sequence, and whether it came back."""

    __slots__ = ("before", "now", "returned")

    def __init__(self) -> None:
        self.now: str | None = None
        self.before: str | None = None
        self.returned = False

    def step(self, value: str) -> bool:
        """Record `value`; True when it differs from the current one (a change)."""
        if value == self.now:
            return False
        changed = self.now is not None
        if changed and value == self.before:
            self.returned = True
        self.before, self.now = self.now, value
        return changed


def team_figures(events: Iterable[Event]) -> TeamFigures:
    """The figures of the replayed events (any order of cases; each case in `seq` order)."""
    teams: dict[str, _Path] = {}
    owners: dict[str, _Path] = {}
    moves = changes = 0
    for event in events:
        team = event.data.get("team")
        if isinstance(team, str):
            moves += teams.setdefault(event.case_id, _Path()).step(team)
        if isinstance(event.owner_after, Agent):
            changes += owners.setdefault(event.case_id, _Path()).step(event.owner_after.name)
    return TeamFigures(
        team_moves=moves,
        team_ping_pong_cases=sum(p.returned for p in teams.values()),
        owner_changes=changes,
        owner_ping_pong_cases=sum(p.returned for p in owners.values()),
    )
