"""Parse and format durations written as "20h", "90m", "3d", "1h30m" or given as timedelta."""

from __future__ import annotations

import re
from datetime import timedelta

from .errors import ConfigError

__all__ = ["MAX_DURATION", "check_duration", "check_reachable", "format_duration",
           "parse_duration"]

#: The longest duration a policy may name: ten years (3650 days).
MAX_DURATION = timedelta(days=3650)
#: How far ahead a business-time limit may fall due on its calendar, in calendar time.
MAX_SPAN = timedelta(days=36525)
_WEEK = timedelta(weeks=1)

_UNITS = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1),
          "m": timedelta(minutes=1), "s": timedelta(seconds=1)}
_PART = re.compile(r"(\d+(?:\.\d+)?)([wdhms])")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?[wdhms])+")


def parse_duration(value: object, path: str = "") -> timedelta:
    """Return `value` ("20h", "90m", "3d", "1h30m", or a timedelta) as a positive timedelta.

    A day (`d`) is 24 hours of the calendar in use: on an office calendar "3d" means
    72 business hours, not three working days. Raises `ConfigError` naming `path`.
    """
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        if text.startswith("-") and _WHOLE.fullmatch(text[1:]):
            raise ConfigError(path, f"a duration must be greater than zero, got {value!r}")
        if not _WHOLE.fullmatch(text):
            raise ConfigError(
                path,
                f"{value!r} is not a duration; write a number and a unit such as "
                '"90m", "20h", "3d" or "1h30m" (units: w, d, h, m, s)',
            )
        try:
            result = sum((_UNITS[unit] * float(number) for number, unit in _PART.findall(text)),
                         timedelta(0))
        except OverflowError:
            raise ConfigError(path, _too_long(value)) from None
    else:
        raise ConfigError(
            path, f"expected a duration such as \"20h\", got {type(value).__name__} {value!r}"
        )
    check_duration(result, path, shown=value)
    return result


def check_duration(value: timedelta, path: str, *, shown: object = None) -> None:
    """Refuse a duration that is not positive or is longer than MAX_DURATION (ten years)."""
    shown = value if shown is None else shown
    if value <= timedelta(0):
        raise ConfigError(path, f"a duration must be greater than zero, got {shown!r}")
    if value > MAX_DURATION:
        raise ConfigError(path, _too_long(shown))


def check_reachable(value: timedelta, open_per_week: timedelta | None, calendar: str,
                    path: str) -> None:
    """Refuse business time that its calendar would need more than a century to provide.

    `open_per_week` is the calendar's weekly opening time (None for round the clock); the
    estimate ignores holidays, which only a few days a year subtract.
    """
    if open_per_week is None:
        return
    if open_per_week <= timedelta(0) or value / open_per_week * _WEEK > MAX_SPAN:
        hours = open_per_week / timedelta(hours=1)
        raise ConfigError(path, f"{format_duration(value)} of business time on calendar "
                                f"{calendar!r} ({hours:g} h open a week) would fall due more "
                                "than 100 years ahead; shorten it or widen the calendar's hours")


def _too_long(value: object) -> str:
    return (f"{value!r} is longer than the longest allowed duration, 3650d (10 years); "
            "write a shorter one")


def format_duration(delta: timedelta) -> str:
    """Return `delta` in the compact form parse_duration reads, e.g. "1d4h30m"."""
    total = int(delta.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, total = divmod(total, size)
        if count:
            parts.append(f"{count}{unit}")
    return sign + ("".join(parts) or "0s")
