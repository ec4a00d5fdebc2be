"""Small helpers that read plain config values and raise ConfigError with the exact key path."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from .durations import parse_duration
from .errors import ConfigError

__all__ = [
    "check_keys",
    "join",
    "read_bool",
    "read_duration",
    "read_fraction",
    "read_int",
    "read_name",
    "read_names",
    "read_table",
]


def join(path: str, key: str | int) -> str:
    """Extend a key path: join("ladders.support", "tiers") or join("...tiers", 1)."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def check_keys(data: Mapping[str, Any], path: str, allowed: Iterable[str]) -> None:
    """Refuse keys that are not in `allowed`, naming the first unknown one."""
    known = list(allowed)
    for key in data:
        if key not in known:
            raise ConfigError(join(path, str(key)),
                              f"unknown key; expected one of {', '.join(sorted(known))}")


def read_table(value: object, path: str) -> Mapping[str, Any]:
    """Return `value` if it is a table (mapping with string keys)."""
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ConfigError(path, f"expected a table, got {type(value).__name__} {value!r}")
    return value


def read_name(value: object, path: str) -> str:
    """Return a non-empty string without surrounding spaces."""
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise ConfigError(path, f"expected a non-empty name without surrounding spaces, "
                                f"got {value!r}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(path, f"{value!r} contains invalid Unicode (a lone surrogate); "
                                "write the name in UTF-8") from None
    return value


def read_names(value: object, path: str, *, allow_empty: bool = True) -> tuple[str, ...]:
    """Return a list of distinct names (a single name is accepted as a one-element list)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise ConfigError(path, f"expected a list of names, got {type(value).__name__} {value!r}")
    names = tuple(read_name(item, join(path, i)) for i, item in enumerate(value))
    if not names and not allow_empty:
        raise ConfigError(path, "expected at least one name, got an empty list")
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise ConfigError(join(path, i), f"{name!r} is listed twice")
        seen.add(name)
    return names


def read_duration(value: object, path: str) -> timedelta:
    """Return a positive duration ("20h", "90m", "3d" or timedelta)."""
    return parse_duration(value, path)


def read_fraction(value: object, path: str) -> float:
    """Return a number strictly between 0 and 1 (a warning fraction such as 0.8)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise ConfigError(path, f"expected a fraction between 0 and 1 (exclusive), such as 0.8, "
                                f"got {value!r}")
    return float(value)


def read_int(value: object, path: str, *, minimum: int = 0) -> int:
    """Return a whole number not below `minimum`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(path, f"expected a whole number >= {minimum}, got {value!r}")
    return value


def read_bool(value: object, path: str) -> bool:
    """Return a true/false value."""
    if not isinstance(value, bool):
        raise ConfigError(path, f"expected true or false, got {value!r}")
    return value
