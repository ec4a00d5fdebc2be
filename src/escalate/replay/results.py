"""What a replay reports: `ReplayResult`, `RowProblem`, and the policy replayed cases live in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ..policy import Ladder, Policy, Tier
from .mapping import ReplayMapping, frozen

__all__ = ["ReplayResult", "RowProblem", "replay_policy"]

@attrs.frozen
class RowProblem:
    """One source row that could not be used as it stands, by its line in the file."""

    line: int
    value: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


def _problems_to_list(problems: Iterable[RowProblem]) -> list[dict[str, Any]]:
    return [{"line": p.line, "value": p.value, "reason": p.reason} for p in problems]


@attrs.frozen
class ReplayResult:
    """What a replay read, wrote and could not use; `policy` has the tiers the cases use.

    Moves and ping-pong are counted from the source rows (adjacent rows of a case whose team
    differs), so they match an independent count of the file; the events written show the
    same moves as `escalated` / `transferred` events unless their row was refused.
    """

    path: str
    rows: int
    cases: int
    events: int
    owners: int
    moves_up: int
    moves_sideways: int
    moves_down: int
    ping_pong_cases: int
    malformed: int
    malformed_rows: tuple[RowProblem, ...]
    unknown_statuses: int
    unknown_status_rows: tuple[RowProblem, ...]
    refused: int
    refused_rows: tuple[RowProblem, ...]
    refused_cases: int
    events_by_kind: Mapping[str, int] = attrs.field(converter=frozen, hash=False)
    statuses: Mapping[str, int] = attrs.field(converter=frozen, hash=False)
    policy: Policy = attrs.field(eq=False)
    elapsed: float = attrs.field(eq=False)
    owner_changes: int = 0
    owner_ping_pong_cases: int = 0
    unchanged_rows: int = 0
    sla_agree: int = 0
    sla_disagree: int = 0
    sla_undecided: int = 0
    sla_no_source: int = 0

    @property
    def team_ping_pong_cases(self) -> int:
        """Cases whose team sequence has A -> B -> A (the same as `ping_pong_cases`)."""
        return self.ping_pong_cases

    @property
    def mostly_unusable(self) -> bool:
        """True when more than half of the rows were malformed or had an unknown status."""
        return self.rows > 0 and (self.malformed + self.unknown_statuses) * 2 > self.rows

    @property
    def events_per_second(self) -> float:
        """Events written per second of replay."""
        return self.events / self.elapsed if self.elapsed > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The figures as JSON-ready values (the policy as its tier names)."""
        return {
            "path": self.path, "rows": self.rows, "cases": self.cases, "events": self.events,
            "owners": self.owners,
            "moves": {"up": self.moves_up, "sideways": self.moves_sideways,
                      "down": self.moves_down},
            "ping_pong_cases": self.ping_pong_cases,
            "team_ping_pong_cases": self.ping_pong_cases,
            "owner_changes": self.owner_changes,
            "owner_ping_pong_cases": self.owner_ping_pong_cases,
            "unchanged_rows": self.unchanged_rows,
            "sla": {"agree": self.sla_agree, "disagree": self.sla_disagree,
                    "undecided": self.sla_undecided, "no_source": self.sla_no_source},
            "malformed": {"count": self.malformed,
                          "rows": _problems_to_list(self.malformed_rows)},
            "unknown_statuses": {"count": self.unknown_statuses,
                                 "rows": _problems_to_list(self.unknown_status_rows)},
            "refused": {"count": self.refused, "cases": self.refused_cases,
                        "rows": _problems_to_list(self.refused_rows)},
            "events_by_kind": dict(self.events_by_kind),
            "statuses": dict(self.statuses),
            "tiers": [t.name for ladder in self.policy.ladders.values() for t in ladder.tiers],
            "elapsed_seconds": round(self.elapsed, 3),
            "events_per_second": round(self.events_per_second),
        }

    def summary(self) -> str:
        """A few lines for people: the figures, then the first problem rows of each kind."""
        kinds = ", ".join(f"{kind} {count:,}" for kind, count in
                          sorted(self.events_by_kind.items(), key=lambda kv: -kv[1]))
        lines = [
            f"replayed {self.path}",
            f"  rows read        {self.rows:>9,}",
            f"  cases            {self.cases:>9,}",
            f"  events written   {self.events:>9,}  ({self.events_per_second:,.0f}/s in "
            f"{self.elapsed:.1f}s)",
            f"  distinct owners  {self.owners:>9,}",
            f"  team moves       {self.moves_up:>9,} up, {self.moves_sideways:,} sideways, "
            f"{self.moves_down:,} down",
            f"  team ping-pong   {self.ping_pong_cases:>9,}  cases (team A -> B -> A)",
            f"  owner changes    {self.owner_changes:>9,}",
            f"  owner ping-pong  {self.owner_ping_pong_cases:>9,}  cases (owner A -> B -> A)",
            f"  malformed rows   {self.malformed:>9,}",
            f"  unknown statuses {self.unknown_statuses:>9,}",
            f"  refused rows     {self.refused:>9,}  in {self.refused_cases:,} cases (the "
            "lifecycle has no legal path)",
            f"  events by kind   {kinds}",
        ]
        if self.sla_agree or self.sla_disagree or self.sla_undecided or self.sla_no_source:
            lines.insert(-1, f"  source SLA       {self.sla_agree:>9,} agree, "
                             f"{self.sla_disagree:,} disagree, {self.sla_undecided:,} "
                             f"undecided, {self.sla_no_source:,} without a verdict")
        if self.unchanged_rows:
            lines.insert(-1, f"  unchanged rows   {self.unchanged_rows:>9,}  (snapshot rows "
                             "that repeat the previous one)")
        for title, count, rows in (("malformed", self.malformed, self.malformed_rows),
                                   ("unknown status", self.unknown_statuses,
                                    self.unknown_status_rows),
                                   ("refused", self.refused, self.refused_rows)):
            if not rows:
                continue
            groups = _grouped(rows)
            lines.append(f"{title} rows (first {len(rows)} of {count:,}):")
            lines.extend(f"  {group}" for group in groups[:20])
            if len(groups) > 20:
                lines.append(f"  ... {len(groups) - 20} more; all kept rows are in the JSON")
        return "\n".join(lines)


def _grouped(rows: Iterable[RowProblem]) -> list[str]:
    """Problems with one reason on consecutive lines, as "lines 4-9: reason"."""
    groups: list[list[Any]] = []  # [first line, last line, reason]
    for problem in rows:
        last = groups[-1] if groups else None
        if last is not None and last[2] == problem.reason and problem.line == last[1] + 1:
            last[1] = problem.line
        else:
            groups.append([problem.line, problem.line, problem.reason])
    return [f"line {a}: {reason}" if a == b else f"lines {a}-{b}: {reason}"
            for a, b, reason in groups]


def replay_policy(mapping: ReplayMapping,
                  members: Mapping[str, Iterable[str]] | None = None) -> Policy:
    """The policy replayed cases live in: one ladder with the mapping's tiers.

    Each tier gets `mapping.tier_lead` as lead (so a tier is valid with no member) and, when
    given, the owners seen working in it as members.
    """
    seen = members or {}
    tiers = [Tier(name=name, members=sorted(set(seen.get(name, ())) - {mapping.tier_lead}),
                  lead=mapping.tier_lead) for name in mapping.tiers]
    return Policy(ladders={mapping.ladder: Ladder(name=mapping.ladder, tiers=tiers)})

