"""Where escalate gets the time: the system clock, or a ManualClock that tests move by hand."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol

from .errors import InvalidInput

__all__ = ["LATEST", "Clock", "ManualClock", "SystemClock", "as_utc", "checked_time"]

#: The latest time escalate computes with: a century before the end of the datetime range,
#: which leaves room for the longest business-time limit on its calendar.
LATEST = datetime(9899, 12, 31, tzinfo=UTC)


def as_utc(moment: datetime) -> datetime:
    """Return `moment` as a timezone-aware UTC datetime; naive datetimes are refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"naive datetime {moment.isoformat()} has no time zone; "
            "pass an aware datetime such as datetime(..., tzinfo=timezone.utc)"
        )
    return moment.astimezone(UTC)


def checked_time(moment: object, what: str) -> datetime:
    """`moment` as aware UTC; InvalidInput when it is not an aware datetime or is after LATEST."""
    if not isinstance(moment, datetime):
        raise InvalidInput(f"{what} must be a datetime, got {moment!r}")
    try:
        moment = as_utc(moment)
    except (ValueError, OverflowError) as exc:
        raise InvalidInput(f"{what}: {exc}") from None
    if moment > LATEST:
        raise InvalidInput(f"{what}={moment.isoformat()} is after {LATEST:%Y-%m-%d}, the latest "
                           "time escalate computes with; pass an earlier time")
    return moment


class Clock(Protocol):
    """Anything with a `now()` that returns an aware datetime."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware."""
        ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that only moves when told to; for tests, examples and simulations."""

    def __init__(self, start: datetime | None = None) -> None:
        """A clock standing at `start` (aware; default Monday 2026-01-05 09:00 UTC)."""
        self._now = (checked_time(start, "start") if start is not None
                     else datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Return the clock's current time."""
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by `delta` (never backwards) and return the new time."""
        if delta < timedelta(0):
            raise InvalidInput(f"a ManualClock only moves forward; got advance({delta!r})")
        with self._lock:
            try:
                moved = self._now + delta
            except OverflowError:
                moved = datetime.max.replace(tzinfo=UTC)
            self._now = checked_time(moved, f"advance({delta!r})")
            return self._now

    def set(self, moment: datetime) -> datetime:
        """Jump to `moment` (not earlier than now) and return it."""
        target = checked_time(moment, "set()")
        with self._lock:
            if target < self._now:
                raise InvalidInput(
                    f"a ManualClock only moves forward; {target.isoformat()} is before "
                    f"{self._now.isoformat()}"
                )
            self._now = target
            return self._now

    def __repr__(self) -> str:
        return f"ManualClock({self._now.isoformat()})"
