"""Helpers the stores share for the agent roster: availability trails and rotations."""

from __future__ import annotations

import json
from typing import Any

from ..codec import format_time, parse_time
from ..errors import ConflictError, StorageError
from .base import AvailabilityChange

__all__ = ["availability_body", "availability_conflict", "availability_from_body"]


def availability_conflict(change: AvailabilityChange) -> ConflictError:
    """The error for a change whose sequence number another writer took first."""
    return ConflictError(change.agent, change.seq - 1, message=(
        f"the availability of {change.agent!r} was changed by someone else meanwhile; "
        "read it again and retry"))


def availability_body(change: AvailabilityChange) -> str:
    """The change as the JSON text the SQL stores keep."""
    data: dict[str, Any] = {
        "agent": change.agent, "seq": change.seq, "at": format_time(change.at),
        "available": change.available, "actor": change.actor,
        "until": None if change.until is None else format_time(change.until),
        "reason": change.reason,
    }
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def availability_from_body(body: str) -> AvailabilityChange:
    """Read back what `availability_body` wrote; a damaged row is a StorageError."""
    try:
        data = json.loads(body)
        return AvailabilityChange(
            agent=data["agent"], seq=data["seq"], at=parse_time(data["at"]),
            available=data["available"], actor=data["actor"],
            until=None if data["until"] is None else parse_time(data["until"]),
            reason=data["reason"])
    except (ValueError, KeyError, TypeError) as exc:
        raise StorageError(f"a row of the agents' availability trail is damaged "
                           f"({type(exc).__name__}: {exc}); run `escalate verify` and restore "
                           "the row from a backup") from None
