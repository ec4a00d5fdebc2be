"""Random corruption of random rows and columns of a real PostgreSQL schema: verify never
raises, and every change to a checked column is reported (the same columns as on SQLite:
every column of cases, events, timers and case_registry; case_id, seq, created_at,
recipient and channel of outbox)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from escalate_postgres import PostgresStore
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pgschemas import URL, Schemas

from escalate import Desk, ManualClock
from escalate.testing import timed_policy

KEYS = {"cases": ("id",), "events": ("case_id", "seq"), "timers": ("case_id", "clock"),
        "outbox": ("key",), "case_registry": ("case_id",)}
CHECKED_OUTBOX = {"case_id", "seq", "created_at", "recipient", "channel"}

texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                max_size=20) | st.sampled_from(["C-1", "C-2", "open", "closed", "tier", "warn",
                                                "escalate", "delivered", "dead", "agent:bo",
                                                "queue:frontline", "{", "null", "[]"])
times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                     timezones=st.just(UTC))
json_values = st.none() | st.booleans() | st.integers(-3, 10**9) | st.text(max_size=8) | \
    st.lists(st.integers(0, 3), max_size=2)


def _fill(store: PostgresStore) -> None:
    clock = ManualClock()
    desk = Desk(timed_policy(), store=store, clock=clock, autoload_plugins=False)
    first = desk.open(title="Invoice", customer="c-1", channel="phone", by="ana")
    desk.claim(first.id, by="ana")
    second = desk.open(title="Login", customer="c-2", channel="web")
    desk.claim(second.id, by="bo")
    desk.escalate(second.id, by="bo", reason="needs a specialist")
    third = desk.open(title="Refund", customer="c-3", by="bo")
    desk.claim(third.id, by="bo")
    desk.resolve(third.id, by="bo", resolution="refunded")
    desk.open(title="Queued", customer="c-4", channel="chat")
    clock.advance(timedelta(hours=3))
    desk.tick()
    desk.dispatch()
    desk.note(first.id, "after the warning", by="bo")
    assert desk.verify(overdue_after=None) == []


@pytest.fixture(scope="module")
def filled(schemas: Schemas) -> Iterator[tuple[PostgresStore, str, dict[str, dict[str, str]]]]:
    """A filled store with the append-only triggers dropped, and each table's column types."""
    schema = schemas.new()
    store = PostgresStore(URL, schema=schema)
    _fill(store)
    with psycopg.connect(URL, autocommit=True) as conn:
        for trigger, table in (("events_append_only", "events"),
                               ("events_no_truncate", "events"),
                               ("case_registry_append_only", "case_registry"),
                               ("case_registry_no_truncate", "case_registry")):
            conn.execute(f'DROP TRIGGER {trigger} ON "{schema}".{table}')
        types: dict[str, dict[str, str]] = {}
        for table, column, kind in conn.execute(
                "SELECT table_name, column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = %s", (schema,)).fetchall():
            if table in KEYS and column != "num":
                types.setdefault(table, {})[column] = kind
    yield store, schema, types
    store.close()


def _value(data: st.DataObject, kind: str, column: str, before: Any) -> Any:
    if kind == "integer":
        return data.draw(st.integers(-5, 10**6) | st.none(), label="value")
    if kind.startswith("timestamp"):
        return data.draw(times | st.none(), label="value")
    if column == "body" and isinstance(before, str) and before.startswith("{") \
            and data.draw(st.booleans()):
        body = json.loads(before)
        body[data.draw(st.sampled_from(sorted(body)), label="field")] = data.draw(json_values)
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return data.draw(texts | st.none(), label="value")


def _snapshot(conn: psycopg.Connection[Any], schema: str, table: str) -> list[Any]:
    return [row for (row,) in conn.execute(f'SELECT to_jsonb(t) FROM "{schema}".{table} t'
                                           " ORDER BY to_jsonb(t)::text").fetchall()]


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_random_corruption_never_raises_and_checked_columns_are_reported(
        filled: tuple[PostgresStore, str, dict[str, dict[str, str]]],
        data: st.DataObject) -> None:
    store, schema, types = filled
    table = data.draw(st.sampled_from(sorted(KEYS)), label="table")
    column = data.draw(st.sampled_from(sorted(types[table])), label="column")
    with psycopg.connect(URL, autocommit=True) as conn:
        original = _snapshot(conn, schema, table)
        record = data.draw(st.sampled_from(original), label="row")
        key = [record[k] for k in KEYS[table]]
        where = " AND ".join(f"{k} = %s" for k in KEYS[table])
        value = _value(data, types[table][column], column, record[column])
        try:
            conn.execute(f'UPDATE "{schema}".{table} SET {column} = %s WHERE {where}',
                         (value, *key))
        except psycopg.Error:
            assume(False)  # a constraint refused it: nothing was corrupted
        changed = _snapshot(conn, schema, table) != original
        try:
            problems = Desk(timed_policy(), store=store, clock=ManualClock(),
                            autoload_plugins=False).verify(overdue_after=None)
        finally:
            conn.execute(f'DELETE FROM "{schema}".{table}')
            conn.execute(f'INSERT INTO "{schema}".{table} SELECT * FROM'
                         f' jsonb_populate_recordset(NULL::"{schema}".{table}, %s::jsonb)',
                         (json.dumps(original),))
        assume(changed)
        if table != "outbox" or column in CHECKED_OUTBOX:
            assert problems, f"{table}.{column} = {value!r} and verify saw nothing"
        assert all(isinstance(p.case_id, str) and p.kind for p in problems)
