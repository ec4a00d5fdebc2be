"""Turn cases, events and outbox rows into plain JSON-ready dicts and back.

Stores, the CLI and applications use the same functions; `Case.to_dict()`, `Event.to_dict()`
and `Notification.to_dict()` (and their `from_dict`) call them. The JSON schema of each dict is
in docs/reference/json.md and is checked by tests.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .model import Case, ClockState, Event, EventKind, Status, parse_owner

if TYPE_CHECKING:
    from .stores.base import Notification

__all__ = [
    "case_from_dict",
    "case_to_dict",
    "event_from_dict",
    "event_to_dict",
    "format_time",
    "json_text",
    "notification_from_dict",
    "notification_to_dict",
    "parse_time",
]


def json_text(value: Mapping[str, Any]) -> str:
    """Compact JSON text, as the stores write bodies."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def format_time(moment: datetime) -> str:
    """A fixed-width UTC ISO timestamp, so stored times sort as text."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_time(text: str) -> datetime:
    """Read a timestamp written by format_time (any aware ISO 8601 text works)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"stored time {text!r} has no time zone")
    return moment.astimezone(UTC)


def _opt_time(value: datetime | None) -> str | None:
    return None if value is None else format_time(value)


def _read_opt_time(value: str | None) -> datetime | None:
    return None if value is None else parse_time(value)


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def _read_seconds(value: float | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=value)


def clock_to_dict(clock: ClockState) -> dict[str, Any]:
    """A clock state as plain values."""
    return {
        "name": clock.name,
        "target": clock.target.total_seconds(),
        "calendar": clock.calendar,
        "started_at": format_time(clock.started_at),
        "due_at": _opt_time(clock.due_at),
        "remaining": _seconds(clock.remaining),
        "warn_at": _opt_time(clock.warn_at),
        "warn_fraction": clock.warn_fraction,
        "warned": clock.warned,
        "breached": clock.breached,
        "stopped_at": _opt_time(clock.stopped_at),
        "alerts": clock.alerts,
        **({"overrun": clock.overrun.total_seconds()} if clock.overrun else {}),
    }


def clock_from_dict(data: Mapping[str, Any]) -> ClockState:
    """Read a clock state written by clock_to_dict."""
    return ClockState(
        name=data["name"],
        target=timedelta(seconds=data["target"]),
        calendar=data["calendar"],
        started_at=parse_time(data["started_at"]),
        due_at=_read_opt_time(data["due_at"]),
        remaining=_read_seconds(data["remaining"]),
        warn_at=_read_opt_time(data.get("warn_at")),
        warn_fraction=data["warn_fraction"],
        warned=data["warned"],
        breached=data["breached"],
        stopped_at=_read_opt_time(data["stopped_at"]),
        alerts=data.get("alerts", 0),
        overrun=timedelta(seconds=data.get("overrun", 0)),
    )


def case_to_dict(case: Case) -> dict[str, Any]:
    """A case as a JSON-ready dict."""
    return {
        "id": case.id,
        "title": case.title,
        "customer": case.customer,
        "channel": case.channel,
        "priority": case.priority,
        "category": case.category,
        "sla": case.sla,
        "status": case.status.value,
        "owner": case.owner.ref,
        "ladder": case.ladder,
        "tier": case.tier,
        "contact": case.contact,
        "transfers": case.transfers,
        "escalations": case.escalations,
        "opened_at": format_time(case.opened_at),
        "updated_at": format_time(case.updated_at),
        "tier_entered_at": format_time(case.tier_entered_at),
        "first_response_at": _opt_time(case.first_response_at),
        "resolved_at": _opt_time(case.resolved_at),
        "closed_at": _opt_time(case.closed_at),
        "resolution": case.resolution,
        "policy_version": case.policy_version,
        "last_hash": case.last_hash,
        "version": case.version,
        "clocks": [clock_to_dict(clock) for clock in case.clocks],
        "fields": dict(case.fields),
        "waiting_on": case.waiting_on,
    }


def case_from_dict(data: Mapping[str, Any]) -> Case:
    """Read a case written by case_to_dict."""
    return Case(
        id=data["id"],
        title=data["title"],
        customer=data["customer"],
        channel=data["channel"],
        priority=data["priority"],
        category=data.get("category"),
        sla=data.get("sla"),
        status=Status(data["status"]),
        owner=parse_owner(data["owner"]),
        ladder=data["ladder"],
        tier=data["tier"],
        contact=data.get("contact"),
        transfers=data["transfers"],
        escalations=data["escalations"],
        opened_at=parse_time(data["opened_at"]),
        updated_at=parse_time(data["updated_at"]),
        tier_entered_at=parse_time(data["tier_entered_at"]),
        first_response_at=_read_opt_time(data.get("first_response_at")),
        resolved_at=_read_opt_time(data.get("resolved_at")),
        closed_at=_read_opt_time(data.get("closed_at")),
        resolution=data.get("resolution"),
        policy_version=data.get("policy_version", ""),
        last_hash=data.get("last_hash", ""),
        version=data["version"],
        clocks=tuple(clock_from_dict(c) for c in data.get("clocks", ())),
        fields=data.get("fields", {}),
        waiting_on=data.get("waiting_on"),
    )


def event_to_dict(event: Event) -> dict[str, Any]:
    """An event as a JSON-ready dict."""
    return {
        "case_id": event.case_id,
        "seq": event.seq,
        "at": format_time(event.at),
        "kind": event.kind.value,
        "actor": event.actor,
        "owner_before": None if event.owner_before is None else event.owner_before.ref,
        "owner_after": event.owner_after.ref,
        "status_before": None if event.status_before is None else event.status_before.value,
        "status_after": event.status_after.value,
        "tier_before": event.tier_before,
        "tier_after": event.tier_after,
        "reason": event.reason,
        "data": dict(event.data),
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def event_from_dict(data: Mapping[str, Any]) -> Event:
    """Read an event written by event_to_dict."""
    return Event(
        case_id=data["case_id"],
        seq=data["seq"],
        at=parse_time(data["at"]),
        kind=EventKind(data["kind"]),
        actor=data.get("actor"),
        owner_before=None if data.get("owner_before") is None
        else parse_owner(data["owner_before"]),
        owner_after=parse_owner(data["owner_after"]),
        status_before=None if data.get("status_before") is None
        else Status(data["status_before"]),
        status_after=Status(data["status_after"]),
        tier_before=data.get("tier_before"),
        tier_after=data.get("tier_after"),
        reason=data.get("reason"),
        data=data.get("data", {}),
        prev_hash=data.get("prev_hash", ""),
        hash=data.get("hash", ""),
    )


def notification_to_dict(notification: Notification) -> dict[str, Any]:
    """An outbox row as a JSON-ready dict."""
    return {
        "key": notification.key,
        "case_id": notification.case_id,
        "seq": notification.seq,
        "recipient": notification.recipient,
        "channel": notification.channel,
        "subject": notification.subject,
        "body": notification.body,
        "created_at": format_time(notification.created_at),
        "status": notification.status,
        "attempts": notification.attempts,
        "next_attempt_at": _opt_time(notification.next_attempt_at),
        "last_error": notification.last_error,
        "delivered_at": _opt_time(notification.delivered_at),
        "lease_id": notification.lease_id,
    }


def notification_from_dict(data: Mapping[str, Any]) -> Notification:
    """Read an outbox row written by notification_to_dict."""
    from .stores.base import Notification

    return Notification(
        key=data["key"],
        case_id=data["case_id"],
        seq=data["seq"],
        recipient=data["recipient"],
        channel=data["channel"],
        subject=data["subject"],
        body=data["body"],
        created_at=parse_time(data["created_at"]),
        status=data.get("status", "pending"),
        attempts=data.get("attempts", 0),
        next_attempt_at=_read_opt_time(data.get("next_attempt_at")),
        last_error=data.get("last_error"),
        delivered_at=_read_opt_time(data.get("delivered_at")),
        lease_id=data.get("lease_id", 0),
    )
