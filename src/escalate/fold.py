"""A case is the left fold of its events: `apply` one event, or `rebuild` from all of them.

The desk builds every new case state with `apply`, and `verify` checks stored cases with
`rebuild`, so "replaying the events gives the stored case" holds by construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from .codec import clock_from_dict
from .model import Case, Event, EventKind, Status

__all__ = ["EventOrderError", "apply", "rebuild"]


class EventOrderError(ValueError):
    """An event does not follow the case it is applied to (gap, wrong case or wrong state)."""


def apply(case: Case | None, event: Event) -> Case:
    """Return the case as it is after `event`; `case` is None for the opening event."""
    if case is None:
        return _opened(event)
    _check_follows(case, event)
    data = event.data
    changes: dict[str, object] = {
        "status": event.status_after,
        "owner": event.owner_after,
        "tier": event.tier_after or case.tier,
        "updated_at": event.at,
        "version": event.seq,
        "last_hash": event.hash,
    }
    if event.tier_after is not None and event.tier_after != case.tier:
        changes["tier_entered_at"] = event.at
        changes["ladder"] = data.get("ladder", case.ladder)
    if "contact" in data:
        changes["contact"] = data["contact"]
    if "clocks" in data:
        changes["clocks"] = tuple(clock_from_dict(c) for c in data["clocks"])
    if "policy_version" in data:
        changes["policy_version"] = data["policy_version"]
    if "fields" in data:
        changes["fields"] = {**case.fields, **data["fields"]}
    kind = event.kind
    if kind is EventKind.WAITED:
        changes["waiting_on"] = data.get("on")
    elif event.status_after is not Status.WAITING:
        changes["waiting_on"] = None
    if kind is EventKind.UPDATED:
        changes.update(_updated(case, data.get("after", {})))
    if kind is EventKind.TRANSFERRED:
        changes["transfers"] = case.transfers + 1
    elif kind is EventKind.ESCALATED:
        changes["escalations"] = case.escalations + 1
    elif kind is EventKind.RESPONDED:
        if case.first_response_at is None:
            changes["first_response_at"] = event.at
    elif kind is EventKind.RESOLVED:
        changes["resolved_at"] = event.at
        changes["resolution"] = data.get("resolution")
        if case.first_response_at is None:
            changes["first_response_at"] = event.at
    elif kind is EventKind.REOPENED:
        changes["resolved_at"] = None
        changes["resolution"] = None
    elif kind is EventKind.CLOSED:
        changes["closed_at"] = event.at
    return attrs.evolve(case, **changes)  # type: ignore[arg-type]


#: Case attributes an `updated` event may change (besides custom fields).
UPDATABLE = ("priority", "title", "channel", "category", "sla")


def _updated(case: Case, after: Mapping[str, Any]) -> dict[str, object]:
    changes: dict[str, object] = {key: after[key] for key in UPDATABLE if key in after}
    if "fields" in after:
        changes["fields"] = {**case.fields, **after["fields"]}
    return changes


def rebuild(events: Iterable[Event]) -> Case:
    """Replay a case's events, in order, into the case they describe."""
    case: Case | None = None
    for event in events:
        case = apply(case, event)
    if case is None:
        raise EventOrderError("no events to rebuild a case from")
    return case


def _opened(event: Event) -> Case:
    if event.kind is not EventKind.OPENED or event.seq != 1:
        raise EventOrderError(f"case {event.case_id!r} must start with an 'opened' event at "
                              f"seq 1, found {event.kind.value!r} at seq {event.seq}")
    data = event.data
    return Case(
        id=event.case_id,
        title=data["title"],
        customer=data["customer"],
        channel=data["channel"],
        priority=data["priority"],
        category=data.get("category"),
        sla=data.get("sla"),
        status=event.status_after,
        owner=event.owner_after,
        ladder=data["ladder"],
        tier=event.tier_after or "",
        contact=data.get("contact"),
        opened_at=event.at,
        updated_at=event.at,
        tier_entered_at=event.at,
        version=1,
        policy_version=data.get("policy_version", ""),
        last_hash=event.hash,
        clocks=tuple(clock_from_dict(c) for c in data.get("clocks", ())),
        fields=data.get("fields", {}),
    )


def _check_follows(case: Case, event: Event) -> None:
    problem = None
    if event.case_id != case.id:
        problem = f"belongs to case {event.case_id!r}"
    elif event.seq != case.version + 1:
        problem = f"has seq {event.seq}, expected {case.version + 1}"
    elif event.status_before is not case.status:
        problem = f"starts from status {event.status_before}, case is {case.status}"
    elif event.owner_before != case.owner:
        problem = f"starts from owner {event.owner_before}, case is owned by {case.owner}"
    elif event.at < case.updated_at:
        problem = "is dated before the case's previous event"
    if problem:
        raise EventOrderError(f"event {event.kind.value} of case {case.id!r} {problem}")
