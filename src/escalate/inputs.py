"""Checks for the arguments of Desk methods; a failure is an InvalidInput that changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import InvalidInput
from .model import Agent, Owner, Queue, Status

__all__ = ["actor_name", "custom_fields", "owner_ref", "statuses", "text"]

#: The longest text a case field, note or reason may hold.
MAX_TEXT = 100_000


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
        raise InvalidInput(f"{what} contains invalid Unicode (a lone surrogate); "
                           "decode the text properly before passing it") from None
    return value


def actor_name(value: object, what: str = "by") -> str:
    """The name of who acts: a non-empty string without surrounding spaces."""
    name = text(value, f"{what} (the acting agent)")
    assert name is not None
    if name != name.strip():
        raise InvalidInput(f"{what}={name!r} has surrounding spaces; pass the agent's name")
    return name


def custom_fields(value: object) -> dict[str, Any]:
    """Custom fields: a mapping of text keys to JSON values."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput(f"fields must be a mapping of names to values, got {value!r}")
    out = dict(value)
    for key in out:
        text(key, "a custom field name")
    try:
        json.dumps(out, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        raise InvalidInput(f"fields must hold JSON values (text, numbers, true/false, lists, "
                           f"tables): {exc}") from None
    return out


def owner_ref(value: str | Owner) -> str:
    """An owner filter: an agent name, Agent or Queue, as the stored reference."""
    if isinstance(value, Agent | Queue):
        return value.ref
    if isinstance(value, str) and value:
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
