"""Parse and format durations written as "20h", "90m", "3d", "1h30m" or given as timedelta."""

from __future__ import annotations

import re
from datetime import timedelta

from .errors import ConfigError

__all__ = ["format_duration", "parse_duration"]

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
        result = timedelta(0)
        for number, unit in _PART.findall(text):
            result += _UNITS[unit] * float(number)
    else:
        raise ConfigError(
            path, f"expected a duration such as \"20h\", got {type(value).__name__} {value!r}"
        )
    if result <= timedelta(0):
        raise ConfigError(path, f"a duration must be greater than zero, got {value!r}")
    return result


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
