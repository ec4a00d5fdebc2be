"""Checks for the arguments of Desk methods; a failure is an InvalidInput that changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import InvalidInput
from .model import Agent, Owner, Queue, Status

__all__ = [
    "MAX_FIELDS_SIZE",
    "MAX_FIELD_DEPTH",
    "MAX_FIELD_NAME",
    "MAX_TEXT",
    "actor_name",
    "custom_fields",
    "encodable",
    "expected_version",
    "filter_text",
    "limit",
    "owner_ref",
    "score",
    "statuses",
    "text",
]

#: The longest text a case field, note or reason may hold (also each custom field value).
MAX_TEXT = 100_000
#: The longest name of a custom field, at any level of nesting.
MAX_FIELD_NAME = 200
#: How many tables and lists deep custom fields may nest (the top table is level 1).
MAX_FIELD_DEPTH = 32
#: The largest custom fields may be in total, in characters of JSON.
MAX_FIELDS_SIZE = 1_000_000

_INVALID_UNICODE = "contains invalid Unicode (a lone surrogate)"


def text(value: object, what: str, *, required: bool = True) -> str | None:
    """A piece of user text: a str, valid Unicode, at most MAX_TEXT characters."""
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, got {type(value).__name__} {value!r}")
    if required and not value.strip():
        raise InvalidInput(f"{what} must not be empty")
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"{what} is {len(value)} characters long; the limit is {MAX_TEXT}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{what} {_INVALID_UNICODE}; decode the text properly before "
                           "passing it") from None
    return value


def encodable(value: str) -> bool:
    """True when `value` is valid Unicode that every store can hold (no lone surrogate)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def filter_text(value: object, what: str) -> str | None:
    """A filter value (tier, customer, case id...): None, or text a store can look up."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, got {type(value).__name__} {value!r}")
    if not encodable(value):
        raise InvalidInput(f"{what}={value!r} {_INVALID_UNICODE}; no stored value can match "
                           "it, decode the text properly before passing it")
    return value


def actor_name(value: object, what: str = "by") -> str:
    """The name of who acts: a non-empty string without surrounding spaces."""
    name = text(value, f"{what} (the acting agent)")
    assert name is not None
    if name != name.strip():
        raise InvalidInput(f"{what}={name!r} has surrounding spaces; pass the agent's name")
    return name


def score(value: object) -> int:
    """A satisfaction score: a whole number from 1 (very unhappy) to 5 (very happy)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise InvalidInput(f"score must be a whole number from 1 to 5, got {value!r}")
    return value


def custom_fields(value: object) -> dict[str, Any]:
    """Custom fields: a table of text names to JSON values, within the size limits.

    Every name is text of at most MAX_FIELD_NAME characters, every text value at most
    MAX_TEXT, tables and lists nest at most MAX_FIELD_DEPTH deep, and the whole is at most
    MAX_FIELDS_SIZE characters of JSON.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput(f"fields must be a mapping of names to values, got {value!r}")
    out = dict(value)
    _check_field_tree(out)
    try:
        encoded = json.dumps(out, ensure_ascii=False, allow_nan=False)
        encoded.encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        raise InvalidInput(f"fields must hold JSON values (text, numbers, true/false, lists, "
                           f"tables): {exc}") from None
    if len(encoded) > MAX_FIELDS_SIZE:
        raise InvalidInput(f"fields are {len(encoded)} characters of JSON; the limit is "
                           f"{MAX_FIELDS_SIZE}: keep large documents elsewhere and store a "
                           "reference")
    return out


def _check_field_tree(fields: dict[str, Any]) -> None:
    """Walk the fields without recursion, checking names, text values and nesting depth."""
    pending: list[tuple[str, object, int]] = [("fields", fields, 1)]
    while pending:
        path, item, depth = pending.pop()
        if isinstance(item, Mapping | list | tuple) and depth > MAX_FIELD_DEPTH:
            raise InvalidInput(f"{path} is nested more than {MAX_FIELD_DEPTH} tables or lists "
                               "deep; flatten the custom fields")
        if isinstance(item, Mapping):
            for key, child in item.items():
                _field_name(key, path)
                pending.append((f"{path}.{key}", child, depth + 1))
        elif isinstance(item, list | tuple):
            pending.extend((f"{path}[{i}]", child, depth + 1) for i, child in enumerate(item))
        elif isinstance(item, str):
            text(item, path, required=False)


def _field_name(key: object, path: str) -> None:
    if not isinstance(key, str):
        raise InvalidInput(f"{path} has the field name {key!r}; field names must be text")
    text(key, f"a custom field name in {path}")
    if len(key) > MAX_FIELD_NAME:
        raise InvalidInput(f"a custom field name in {path} is {len(key)} characters long; "
                           f"the limit is {MAX_FIELD_NAME}")


def limit(value: object) -> int | None:
    """A result limit: None (no limit) or a whole number from 0 to 2**62."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2**62:
        raise InvalidInput(f"limit must be a whole number >= 0 (at most 2**62), got {value!r}")
    return value


def owner_ref(value: str | Owner) -> str:
    """An owner filter: an agent name, Agent or Queue, as the stored reference."""
    if isinstance(value, Agent | Queue):
        return value.ref
    if isinstance(value, str) and value:
        filter_text(value, "owner")
        return value if value.startswith(("agent:", "queue:")) else Agent(value).ref
    raise InvalidInput(f"owner must be an agent name, Agent(...) or Queue(...), got {value!r}")


def statuses(value: str | Status | Iterable[str | Status]) -> tuple[str, ...]:
    """A status filter: one status or several, as plain values."""
    items = [value] if isinstance(value, str) else list(value)
    known = {status.value for status in Status}
    out = []
    for item in items:
        if str(item) not in known:
            raise InvalidInput(f"unknown status {item!r}; expected one of "
                               f"{', '.join(sorted(known))}")
        out.append(str(item))
    return tuple(out)


def expected_version(value: object) -> int | None:
    """The `expected_version=` of an action: None, or a case version (a whole number >= 1)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"expected_version must be a case version (a whole number >= 1, "
                           f"as in case.version), got {value!r}")
    return value
