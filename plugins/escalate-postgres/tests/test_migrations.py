"""Schema migrations: applied once on first use, idempotent, serialised by an advisory lock,
and a schema newer than the code is refused."""

from __future__ import annotations

import threading

import psycopg
import pytest
from escalate_postgres import MIGRATIONS, PostgresStore
from escalate_postgres.schema import migrate
from pgschemas import URL, Schemas

from escalate import StorageError
from escalate.testing.store_contract import new_case_change


def versions(schema: str) -> list[int]:
    with psycopg.connect(URL, autocommit=True) as conn:
        rows = conn.execute(f'SELECT version FROM "{schema}".schema_version ORDER BY version'
                            ).fetchall()
    return [version for (version,) in rows]


def tables(schema: str) -> set[str]:
    with psycopg.connect(URL, autocommit=True) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s",
                            (schema,)).fetchall()
    return {name for (name,) in rows}


def test_first_open_creates_the_schema_at_the_latest_version(schemas: Schemas) -> None:
    schema = schemas.new()
    with PostgresStore(URL, schema=schema):
        pass
    assert versions(schema) == list(range(1, len(MIGRATIONS) + 1))
    assert tables(schema) == {"schema_version", "cases", "events", "timers", "outbox",
                              "case_registry", "availability", "rotations"}


def test_reopening_is_idempotent_and_keeps_everything(schemas: Schemas) -> None:
    schema = schemas.new()
    change = new_case_change("K-1")
    with PostgresStore(URL, schema=schema) as store:
        store.commit(change)
        first_id = store.allocate_id()
    for _ in range(3):
        with PostgresStore(URL, schema=schema) as store:
            assert store.get("K-1") == change.case
            assert store.events("K-1") == list(change.events)
            assert store.allocate_id() != first_id
    assert versions(schema) == list(range(1, len(MIGRATIONS) + 1))


def test_a_newer_schema_is_refused_and_left_alone(schemas: Schemas) -> None:
    schema = schemas.new()
    with PostgresStore(URL, schema=schema) as store:
        store.commit(new_case_change("K-1"))
    newer = len(MIGRATIONS) + 1
    with psycopg.connect(URL, autocommit=True) as conn:
        conn.execute(f'INSERT INTO "{schema}".schema_version (version) VALUES (%s)', (newer,))
    with pytest.raises(StorageError, match=f"version {newer}, newer than") as info:
        PostgresStore(URL, schema=schema)
    assert "upgrade escalate-postgres" in str(info.value)
    assert versions(schema)[-1] == newer
    with psycopg.connect(URL, autocommit=True) as conn:
        assert conn.execute(f'SELECT count(*) FROM "{schema}".cases').fetchone() == (1,)


def test_concurrent_first_opens_do_not_race(schemas: Schemas) -> None:
    schema = schemas.new()
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def open_it() -> None:
        start.wait()
        try:
            PostgresStore(URL, schema=schema, pool_min=0).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert versions(schema) == list(range(1, len(MIGRATIONS) + 1))


def test_a_later_migration_is_applied_once_on_top(schemas: Schemas) -> None:
    schema = schemas.new()
    PostgresStore(URL, schema=schema).close()
    extra = (*MIGRATIONS, "CREATE TABLE {schema}.extra (n integer)")
    with psycopg.connect(URL, autocommit=True) as conn:
        assert migrate(conn, schema, extra) == len(extra)
        assert migrate(conn, schema, extra) == len(extra)
    assert versions(schema) == list(range(1, len(extra) + 1))
    assert "extra" in tables(schema)


def test_a_failing_migration_leaves_nothing_behind(schemas: Schemas) -> None:
    schema = schemas.new()
    broken = (*MIGRATIONS, "CREATE TABLE {schema}.cases (n integer)")
    with psycopg.connect(URL, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.DuplicateTable):
            migrate(conn, schema, broken)
        exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                              (schema,)).fetchone()
    assert exists is None, "the schema is created in the same transaction, so rolled back"
