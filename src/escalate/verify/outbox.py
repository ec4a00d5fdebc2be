"""Outbox rows against the events that call for them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from .. import outbox as delivery
from ..fold import apply
from ..model import Case, Event
from ..notify import plan
from ..policy import Policy
from ..stores.base import RawRow
from .problem import Problem, same_value, shown

__all__ = ["STATUSES", "check_outbox"]

#: The statuses an outbox row may have.
STATUSES = frozenset({delivery.PENDING, delivery.DELIVERED, delivery.DEAD})


def check_outbox(case_id: str, events: list[Event], rows: list[RawRow],
                 policy: Policy | None,
                 away: Callable[[datetime], frozenset[str]] = lambda at: frozenset()
                 ) -> list[Problem]:
    """Problems of one case's outbox rows.

    Each row must belong to a stored event and carry its time; its status must be known, a
    delivered row must record an attempt and a delivery time, a dead row an attempt. With a
    policy, each event recorded under that same policy version must have every row the
    policy calls for (matched by recipient and channel), leaving out agents `away(at)`
    says were unavailable at the event's time.
    """
    by_seq = {event.seq: event for event in events}
    problems = [p for row in rows for p in _check_row(case_id, row, by_seq)]
    if policy is not None:
        problems += _missing(case_id, events, rows, policy, away)
    return problems


def _check_row(case_id: str, row: RawRow, by_seq: dict[int, Event]) -> list[Problem]:
    columns = row.columns
    name = f"outbox row {shown(columns.get('key'))}"
    event = by_seq.get(columns.get("seq"))  # type: ignore[arg-type]
    if columns.get("case_id") != case_id or event is None:
        return [Problem(case_id, "stray-notification", f"{name} belongs to event "
                        f"{shown(columns.get('seq'))}, which is not stored")]
    problems = []
    if not same_value(columns.get("created_at"), event.at):
        problems.append(Problem(case_id, "notification", f"{name} was created at "
                                f"{shown(columns.get('created_at'))}, not at its event's time"))
    status, attempts = columns.get("status"), columns.get("attempts")
    if status not in STATUSES or not isinstance(attempts, int) or attempts < 0:
        problems.append(Problem(case_id, "notification", f"{name} has status {shown(status)} "
                                f"and {shown(attempts)} attempts"))
    elif status == delivery.DELIVERED and (attempts < 1 or columns.get("delivered_at") is None):
        problems.append(Problem(case_id, "notification", f"{name} is marked delivered without "
                                "a recorded attempt and delivery time"))
    elif status == delivery.DEAD and attempts < 1:
        problems.append(Problem(case_id, "notification", f"{name} is dead-lettered without "
                                "a recorded attempt"))
    elif status == delivery.PENDING and columns.get("delivered_at") is not None:
        problems.append(Problem(case_id, "notification", f"{name} is pending but records a "
                                "delivery time"))
    return problems


def _missing(case_id: str, events: list[Event], rows: list[RawRow], policy: Policy,
             away: Callable[[datetime], frozenset[str]]) -> list[Problem]:
    """Rows the policy calls for that are not stored, for events written under this policy."""
    stored: dict[object, set[tuple[object, object]]] = {}
    for row in rows:
        stored.setdefault(row.columns.get("seq"), set()).add(
            (row.columns.get("recipient"), row.columns.get("channel")))
    problems = []
    for event, cases in _states(events):
        if cases[0].policy_version != policy.version:
            continue
        have = stored.get(event.seq, set())
        # an automatic event written together with the next one is rendered against the
        # case after both; either state explains the rows
        absent = away(event.at)
        lacking = [_pairs(policy, case, event, absent) - have for case in cases]
        if all(lacking):
            pairs = ", ".join(f"{r} by {c}" for r, c in sorted((str(r), str(c))
                                                                for r, c in lacking[0]))
            problems.append(Problem(case_id, "missing-notification", f"event {event.seq} "
                                    f"({event.kind.value}) calls for notifying {pairs}, but "
                                    "no such outbox row is stored"))
    return problems


def _pairs(policy: Policy, case: Case, event: Event,
           absent: frozenset[str]) -> set[tuple[object, object]]:
    return {(n.recipient, n.channel) for n in plan(policy, case, [event], absent)}


def _states(events: list[Event]) -> Iterable[tuple[Event, list[Case]]]:
    """Each event with the case after it (and after the next event, when written with it)."""
    cases: list[Case] = []
    case: Case | None = None
    for event in events:
        case = apply(case, event)
        cases.append(case)
    for index, event in enumerate(events):
        candidates = [cases[index]]
        following = events[index + 1] if index + 1 < len(events) else None
        if following is not None and following.actor is None and following.at == event.at:
            candidates.append(cases[index + 1])
        yield event, candidates
