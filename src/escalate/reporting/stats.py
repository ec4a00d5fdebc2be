"""Statistics and calendar periods used by the report builder."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date, timedelta

__all__ = ["median", "next_period", "percentile", "period_label", "period_start", "step_path"]

def median(values: Sequence[timedelta]) -> timedelta | None:
    """The middle value; the mean of the two middle values for an even count."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: Sequence[timedelta], fraction: float) -> timedelta | None:
    """Nearest-rank percentile: the smallest value with at least `fraction` of values <= it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def period_start(trend: str, day: date) -> date:
    """The first day of the day, ISO week or month that holds `day`."""
    if trend == "day":
        return day
    if trend == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_period(trend: str, start: date) -> date:
    """The first day of the period after the one starting on `start`."""
    if trend == "day":
        return start + timedelta(days=1)
    if trend == "week":
        return start + timedelta(days=7)
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)


def period_label(trend: str, start: date) -> str:
    """The period's name: 2026-11-23, 2026-W48 or 2026-11."""
    if trend == "day":
        return start.isoformat()
    if trend == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{start.year}-{start.month:02d}"


def step_path(path: list[str], name: str, on_return: Callable[[], None]) -> None:
    """Append `name` to a path of distinct consecutive owners; a name seen before is a return."""
    if path and path[-1] == name:
        return
    if name in path:
        on_return()
    path.append(name)
