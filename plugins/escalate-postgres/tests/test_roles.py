"""A least-privilege deployment: migrations run as the owner role, the application role gets
only `grant_statements`. The application can do all its work, and cannot disable the
append-only triggers, delete cases or events, or truncate a table."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from escalate_postgres import PostgresStore
from escalate_postgres.schema import grant_app_role
from pgschemas import URL, Schemas

from escalate import Desk, ManualClock, StorageError
from escalate.testing import timed_policy


def _as(role: str) -> str:
    parts = urlsplit(URL)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{role}@{host}"))


@pytest.fixture(scope="module")
def roles(schemas: Schemas) -> Iterator[tuple[str, str, str]]:
    """(owner role, application role, schema); roles are dropped at the end."""
    tag = uuid.uuid4().hex[:8]
    owner, app, schema = f"esc_owner_{tag}", f"esc_app_{tag}", schemas.new()
    with psycopg.connect(URL, autocommit=True) as admin:
        database = admin.execute("SELECT current_database()").fetchone()
        assert database is not None
        for role in (owner, app):
            admin.execute(f'CREATE ROLE "{role}" LOGIN')
        admin.execute(f'GRANT CREATE ON DATABASE "{database[0]}" TO "{owner}"')
    try:
        with psycopg.connect(_as(owner), autocommit=True) as conn:
            grant_app_role(conn, schema, app)
        yield owner, app, schema
    finally:
        with psycopg.connect(URL, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            for role in (app, owner):
                admin.execute(f'DROP OWNED BY "{role}"')
                admin.execute(f'DROP ROLE "{role}"')


def test_the_application_role_does_all_its_work(roles: tuple[str, str, str]) -> None:
    _, app, schema = roles
    clock = ManualClock()
    store = PostgresStore(_as(app), schema=schema)
    with Desk(timed_policy(), store=store, clock=clock, autoload_plugins=False) as desk:
        case = desk.open(title="t", customer="c", by="ana")
        desk.claim(case.id, by="ana")
        clock.advance(timedelta(days=3))
        assert desk.tick()
        assert desk.dispatch()
        desk.resolve(case.id, by="dee", resolution="done")
        assert desk.verify() == []
        assert desk.verify(expect=desk.digest()) == []


@pytest.mark.parametrize("statement", [
    "ALTER TABLE {s}.events DISABLE TRIGGER events_append_only",
    "ALTER TABLE {s}.events DISABLE TRIGGER ALL",
    "DROP TRIGGER events_append_only ON {s}.events",
    "SET session_replication_role = replica",
    "DELETE FROM {s}.cases",
    "TRUNCATE {s}.events",
    "TRUNCATE {s}.outbox",
    "DELETE FROM {s}.outbox",
    "DELETE FROM {s}.case_registry",
    "INSERT INTO {s}.case_registry VALUES ('C-999')",
    "DROP TABLE {s}.timers",
    "UPDATE {s}.events SET actor = 'mallory'",
    "DELETE FROM {s}.events",
])
def test_the_application_role_cannot_undo_the_trail(roles: tuple[str, str, str],
                                                    statement: str) -> None:
    _, app, schema = roles
    with psycopg.connect(_as(app), autocommit=True) as conn, \
            pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement.replace("{s}", f'"{schema}"'))


def test_the_trigger_binds_the_owner_until_the_owner_disables_it(
        roles: tuple[str, str, str]) -> None:
    # what the trigger does and does not stop: the owner's UPDATE and DELETE are refused, but
    # the owner (or a superuser) may disable the trigger; hence the separate application role
    owner, _, schema = roles
    with psycopg.connect(_as(owner)) as conn:
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute(f'UPDATE "{schema}".events SET actor = %s', ("mallory",))
        conn.rollback()
        conn.execute(f'ALTER TABLE "{schema}".events DISABLE TRIGGER events_append_only')
        conn.rollback()


def test_what_the_role_can_still_change_verify_sees(roles: tuple[str, str, str]) -> None:
    # the application role must update cases, timers and the outbox; verify checks them
    _, app, schema = roles
    store = PostgresStore(_as(app), schema=schema)
    with Desk(timed_policy(), store=store, clock=ManualClock(), autoload_plugins=False) as desk:
        case = desk.open(title="u", customer="c", by="bo")
        with psycopg.connect(_as(app), autocommit=True) as conn:
            conn.execute(f'UPDATE "{schema}".cases SET owner = %s WHERE id = %s',
                         ("agent:mallory", case.id))
            conn.execute(f'DELETE FROM "{schema}".timers WHERE case_id = %s', (case.id,))
        found = {p.kind for p in desk.verify(overdue_after=None) if p.case_id == case.id}
        assert found == {"index", "missing-timer"}


def test_a_new_migration_needs_the_owner(roles: tuple[str, str, str]) -> None:
    from escalate_postgres.schema import MIGRATIONS, migrate

    _, app, schema = roles
    extra = (*MIGRATIONS, "CREATE TABLE {schema}.extra (n integer)")
    with psycopg.connect(_as(app), autocommit=True) as conn, \
            pytest.raises(psycopg.errors.InsufficientPrivilege):
        migrate(conn, schema, extra)
    with pytest.raises(StorageError):
        PostgresStore(_as(app), schema=f"{schema}_elsewhere")
