"""Random corruption of random rows and columns of a real SQLite file: verify never raises,
and every change to a checked column is reported.

Checked columns (docs/guarantees.md): every column of `cases`, `events`, `timers` and
`case_registry`, and `case_id`, `seq`, `created_at`, `recipient` and `channel` of `outbox`.
The other outbox columns are read without raising but not every change to them is visible.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from escalate import Desk, ManualClock
from escalate.testing import timed_policy
from verify_support import APPEND_ONLY_TRIGGERS, filled_desk

KEYS = {"cases": ("id",), "events": ("case_id", "seq"), "timers": ("case_id", "clock"),
        "outbox": ("key",), "case_registry": ("case_id",)}
COLUMNS = {
    "cases": ("id", "status", "owner", "ladder", "tier", "priority", "channel", "customer",
              "opened_at", "updated_at", "version", "body"),
    "events": ("case_id", "seq", "at", "kind", "actor", "body"),
    "timers": ("case_id", "clock", "due_at", "action"),
    "outbox": ("key", "case_id", "seq", "recipient", "channel", "subject", "body",
               "created_at", "status", "attempts", "next_attempt_at", "last_error",
               "delivered_at"),
    "case_registry": ("case_id",),
}
CHECKED = {**{table: set(columns) for table, columns in COLUMNS.items()},
           "outbox": {"case_id", "seq", "created_at", "recipient", "channel"}}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10**12) | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=3),
    max_leaves=6)
plain_values = (st.none() | st.integers(-5, 10**6) | st.text(max_size=30)
                | st.sampled_from(["C-1", "C-2", "C-3", "C-4", "open", "closed", "tier",
                                   "escalate", "realert", "delivered", "dead", "pending",
                                   "agent:bo", "queue:frontline", "9999-12-31T00:00:00+00:00",
                                   "2026-01-05T09:00:00.000000+00:00", "{", "[]", "null"]))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / "template.db"
    desk = filled_desk(path)
    assert desk.verify(overdue_after=None) == []
    desk.shutdown()
    db = sqlite3.connect(path)
    for name in APPEND_ONLY_TRIGGERS:
        db.execute(f"DROP TRIGGER {name}")
    db.commit()
    db.close()
    return path


def _snapshot(db: sqlite3.Connection, table: str, column: str) -> list[str]:
    return sorted(v for (v,) in db.execute(f"SELECT quote({column}) FROM {table}"))


def _corrupt(db: sqlite3.Connection, data: st.DataObject) -> tuple[str, str] | None:
    """Change one column of one row; (table, column) when the stored value really changed."""
    table = data.draw(st.sampled_from(sorted(COLUMNS)), label="table")
    keys = KEYS[table]
    rows = db.execute(f"SELECT {', '.join(keys)} FROM {table}").fetchall()
    key = data.draw(st.sampled_from(rows), label="row")
    column = data.draw(st.sampled_from(COLUMNS[table]), label="column")
    where = " AND ".join(f"{k} = ?" for k in keys)
    (before,) = db.execute(f"SELECT {column} FROM {table} WHERE {where}", key).fetchone()
    value: Any = data.draw(plain_values, label="value")
    if column == "body" and table in ("cases", "events") and data.draw(st.booleans()):
        body = json.loads(before)
        field = data.draw(st.sampled_from(sorted(body)), label="field")
        body[field] = data.draw(json_values, label="field value")
        value = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    old = _snapshot(db, table, column)
    try:
        db.execute(f"UPDATE {table} SET {column} = ? WHERE {where}", (value, *key))
    except sqlite3.IntegrityError:
        return None  # a constraint refused it: nothing was corrupted
    return None if _snapshot(db, table, column) == old else (table, column)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_random_corruption_never_raises_and_checked_columns_are_reported(
        template: Path, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    path = tmp_path_factory.mktemp("case") / "cases.db"
    shutil.copy(template, path)
    db = sqlite3.connect(path, isolation_level=None)
    corrupted = _corrupt(db, data)
    db.close()
    assume(corrupted is not None)
    assert corrupted is not None
    desk = Desk(timed_policy(), store=f"sqlite:///{path}", clock=ManualClock(),
                autoload_plugins=False)
    try:
        problems = desk.verify(overdue_after=None)  # never raises
        table, column = corrupted
        if column in CHECKED[table]:
            assert problems, f"{table}.{column} was changed and verify saw nothing"
        assert all(isinstance(p.case_id, str) and p.kind and p.message for p in problems)
    finally:
        desk.shutdown()
