"""Read-only inspection of an SQLite store's rows exactly as stored, for `verify`.

Text that is not valid UTF-8 is read with replacement characters instead of failing, so a
damaged row is seen rather than stopping the read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .base import RawRow

__all__ = ["case_ids", "registered_ids", "rows"]


@contextmanager
def _lenient(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    db.text_factory = _replace
    try:
        yield db
    finally:
        db.text_factory = str


def _replace(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def rows(db: sqlite3.Connection, table: str, where: str,
         params: tuple[Any, ...]) -> list[RawRow]:
    """Every column of the rows of `table` matching `where`."""
    with _lenient(db):
        cursor = db.execute(f"SELECT * FROM {table} WHERE {where}", params)
        names = [column[0] for column in cursor.description]
        return [RawRow(table, dict(zip(names, row, strict=True))) for row in cursor.fetchall()]


def case_ids(db: sqlite3.Connection) -> list[str]:
    """Case ids from every table, the cases table's oldest first."""
    with _lenient(db):
        ids = dict.fromkeys(i for (i,) in db.execute(
            "SELECT id FROM cases ORDER BY opened_at, rowid"))
        for table in ("case_registry", "events", "timers", "outbox"):
            ids.update(dict.fromkeys(i for (i,) in db.execute(
                f"SELECT DISTINCT case_id FROM {table} ORDER BY case_id")))
    return [str(i) for i in ids]


def registered_ids(db: sqlite3.Connection) -> set[str]:
    """Every id in the case registry."""
    with _lenient(db):
        return {str(i) for (i,) in db.execute("SELECT case_id FROM case_registry")}
