"""Decode a case's stored rows without ever raising, and check their columns against bodies."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ..codec import case_from_dict, case_to_dict, event_from_dict, event_to_dict, json_text
from ..model import Case, Event
from ..stores.base import RawRow
from .problem import Problem, describe_error, same_value, shown

__all__ = ["decode_case", "decode_events"]

T = TypeVar("T")

_CASE_COLUMNS: dict[str, Callable[[Case], Any]] = {
    "id": lambda c: c.id,
    "status": lambda c: c.status.value,
    "owner": lambda c: c.owner.ref,
    "ladder": lambda c: c.ladder,
    "tier": lambda c: c.tier,
    "priority": lambda c: c.priority,
    "channel": lambda c: c.channel,
    "customer": lambda c: c.customer,
    "opened_at": lambda c: c.opened_at,
    "updated_at": lambda c: c.updated_at,
    "version": lambda c: c.version,
}

_EVENT_COLUMNS: dict[str, Callable[[Event], Any]] = {
    "case_id": lambda e: e.case_id,
    "seq": lambda e: e.seq,
    "at": lambda e: e.at,
    "kind": lambda e: e.kind.value,
    "actor": lambda e: e.actor,
}


def _decode(body: Any, read: Callable[[Mapping[str, Any]], T],
            write: Callable[[T], dict[str, Any]]) -> tuple[T, list[str]] | str:
    """The decoded record and the body fields not in canonical form, or why it is unreadable.

    A body holds exactly what its record writes back; a field whose stored value differs
    from that (or that the record does not know) was edited by hand. A field left out is
    read with its default, as bodies written by older releases are.
    """
    try:
        data = json.loads(body)
        if not isinstance(data, dict):
            return f"the body is JSON but not an object (it is a {type(data).__name__})"
        record = read(data)
        canonical = write(record)
        if body == json_text(canonical):  # the usual case: exactly as the store wrote it
            return record, []
    except Exception as exc:  # a damaged row must become a problem, whatever it raises
        return describe_error(exc)
    odd = [name for name, value in data.items()
           if name not in canonical or not _same_json(value, canonical[name])]
    return record, odd


def _same_json(stored: Any, canonical: Any) -> bool:
    """Equal as JSON values, telling 1 from 1.0 from true."""
    return json.dumps(stored, sort_keys=True) == json.dumps(canonical, sort_keys=True)


def _drift(row: RawRow, record: Any, columns: Mapping[str, Callable[[Any], Any]]) -> list[str]:
    """The columns whose stored value differs from the one in the decoded body."""
    differing = []
    for name, value_of in columns.items():
        if name not in row.columns:
            continue
        stored, expected = row.columns[name], value_of(record)
        if not same_value(stored, expected):
            differing.append(f"{name} is {shown(stored)} but the body says {shown(expected)}")
    return differing


def decode_case(case_id: str, row: RawRow) -> tuple[Case | None, list[Problem]]:
    """The case in `row` (None when it cannot be read) and the problems of the row."""
    decoded = _decode(row.columns.get("body"), case_from_dict, case_to_dict)
    if isinstance(decoded, str):
        return None, [Problem(case_id, "damaged", f"the case row cannot be read: {decoded}")]
    case, odd = decoded
    problems = [Problem(case_id, "damaged", f"the case body's field {name!r} is not as the "
                                            "case writes it") for name in odd]
    drift = _drift(row, case, _CASE_COLUMNS)
    problems += [Problem(case_id, "index", f"the case row's column {d}") for d in drift]
    return case, problems


def decode_events(case_id: str, rows: list[RawRow]) -> tuple[list[Event], list[Problem]]:
    """The events that can be read, and a problem for each row that cannot or that drifted."""
    events: list[Event] = []
    problems: list[Problem] = []
    for position, row in enumerate(rows, start=1):
        seq = row.columns.get("seq", position)
        decoded = _decode(row.columns.get("body"), event_from_dict, event_to_dict)
        if isinstance(decoded, str):
            problems.append(Problem(case_id, "damaged",
                                    f"event {shown(seq)} cannot be read: {decoded}"))
            continue
        event, odd = decoded
        problems += [Problem(case_id, "damaged", f"event {shown(seq)}'s body field {name!r} is "
                                                 "not as the event writes it") for name in odd]
        for drift in _drift(row, event, _EVENT_COLUMNS):
            problems.append(Problem(case_id, "index", f"event {shown(seq)}'s column {drift}"))
        events.append(event)
    return events, problems
