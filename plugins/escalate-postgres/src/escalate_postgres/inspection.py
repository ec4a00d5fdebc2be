"""Read-only inspection of a schema's rows exactly as stored, for `verify`."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Protocol

from escalate.stores.base import RawRow

__all__ = ["case_ids", "registered_ids", "rows"]

_MARK = "\x1bjson:"


class _Reader(Protocol):
    _s: str

    def _rows(self, doing: str, query: str, params: tuple[Any, ...] = ()) -> list[Any]: ...


def _text(value: Any) -> Any:
    """A stored text as the store reads it; a damaged encoded text is returned as stored."""
    if isinstance(value, str) and value.startswith(_MARK):
        try:
            decoded = json.loads(value[len(_MARK):])
        except ValueError:
            return value
        return decoded if isinstance(decoded, str) else value
    return value


def case_ids(store: _Reader) -> list[str]:
    """Case ids from every table, the cases table's oldest first."""
    s = store._s
    ids = dict.fromkeys(_text(i) for (i,) in store._rows(
        "list cases in", f"SELECT id FROM {s}.cases ORDER BY opened_at, num"))
    for table in ("case_registry", "events", "timers", "outbox"):
        ids.update(dict.fromkeys(_text(i) for (i,) in store._rows(
            "list cases in", f"SELECT DISTINCT case_id FROM {s}.{table} ORDER BY case_id")))
    return [str(i) for i in ids]


def registered_ids(store: _Reader) -> set[str]:
    """Every id in the case registry."""
    return {str(_text(i)) for (i,) in store._rows(
        "read the case registry of", f"SELECT case_id FROM {store._s}.case_registry")}


def rows(store: _Reader, table: str, key: str, value: str, order: str) -> list[RawRow]:
    """The rows of `table` whose `key` column is the stored form of `value`."""
    from .store import _put

    query = (f"SELECT to_jsonb(t) FROM {store._s}.{table} AS t WHERE {key} = %s"
             f" ORDER BY {order}")
    found = []
    for (record,) in store._rows(f"inspect {table} in", query, (_put(value),)):
        found.append(RawRow(table, {name: _time_or_text(name, v) for name, v in record.items()
                                    if name != "num"}))
    return found


def _time_or_text(name: str, value: Any) -> Any:
    """Columns come back as JSON: times as ISO text, read back into aware datetimes."""
    if (name.endswith("_at") or name == "at") and isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return _text(value)
