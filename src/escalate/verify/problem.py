"""A broken invariant found by verify, and the helpers that name what is wrong."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import attrs

from ..codec import format_time

__all__ = ["STORE", "Problem", "describe_error", "same_value"]

#: The `case_id` of a problem that concerns the whole store rather than one case.
STORE = "(store)"


@attrs.frozen
class Problem:
    """One broken invariant of one case (or of the whole store, `case_id` "(store)")."""

    case_id: str
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.case_id}: {self.kind}: {self.message}"


def describe_error(exc: BaseException) -> str:
    """What a failed decoding says about the row, in words an operator can act on."""
    if isinstance(exc, json.JSONDecodeError):
        return f"the body is not valid JSON ({exc.msg} at character {exc.pos})"
    if isinstance(exc, KeyError):
        return f"the field {exc.args[0]!r} is missing"
    if isinstance(exc, RecursionError):
        return "the body is nested too deeply to read"
    text = str(exc) or type(exc).__name__
    return f"a value has the wrong type or form ({text[:200]})"


def same_value(stored: Any, expected: Any) -> bool:
    """True when a stored column holds `expected` exactly.

    A time is compared as the stored text (SQLite writes one fixed form) or, where the
    database has a time type, as an instant; anything else must be equal and of the same type.
    """
    if isinstance(expected, datetime):
        if isinstance(stored, datetime):
            return stored == expected
        return isinstance(stored, str) and stored == format_time(expected)
    return type(stored) is type(expected) and bool(stored == expected)


def shown(value: Any) -> str:
    """A stored value for a message, cut short."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
