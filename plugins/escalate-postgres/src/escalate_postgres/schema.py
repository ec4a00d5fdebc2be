"""The database schema as numbered migrations, applied once under an advisory lock."""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg

from escalate.errors import StorageError

__all__ = ["APP_RIGHTS", "MIGRATIONS", "advisory_key", "grant_app_role", "grant_statements",
           "migrate", "quote"]

#: Schema migrations in order; `{schema}` stands for the quoted schema name. The table
#: `schema_version` holds one row per applied migration.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE SEQUENCE {schema}.case_numbers;

    CREATE TABLE {schema}.cases (
        num bigserial NOT NULL UNIQUE,
        id text COLLATE "C" PRIMARY KEY,
        status text NOT NULL,
        owner text NOT NULL,
        ladder text NOT NULL,
        tier text NOT NULL,
        priority text NOT NULL,
        channel text NOT NULL,
        customer text NOT NULL,
        opened_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        version integer NOT NULL,
        body text NOT NULL
    );
    CREATE INDEX cases_opened ON {schema}.cases (opened_at, num);
    CREATE INDEX cases_status ON {schema}.cases (status, opened_at, num);
    CREATE INDEX cases_owner ON {schema}.cases (owner);
    CREATE INDEX cases_tier ON {schema}.cases (tier);

    CREATE TABLE {schema}.events (
        case_id text COLLATE "C" NOT NULL,
        seq integer NOT NULL,
        at timestamptz NOT NULL,
        kind text NOT NULL,
        actor text,
        body text NOT NULL,
        PRIMARY KEY (case_id, seq)
    );
    CREATE INDEX events_at ON {schema}.events (at, case_id, seq);

    CREATE FUNCTION {schema}.events_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'events are append-only: % refused on %.events',
                TG_OP, TG_TABLE_SCHEMA
                USING HINT = 'record a new event instead of changing or removing one';
        END
        $$;
    CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON {schema}.events
        FOR EACH ROW EXECUTE FUNCTION {schema}.events_append_only();
    CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON {schema}.events
        FOR EACH STATEMENT EXECUTE FUNCTION {schema}.events_append_only();

    CREATE TABLE {schema}.timers (
        case_id text COLLATE "C" NOT NULL,
        clock text COLLATE "C" NOT NULL,
        due_at timestamptz NOT NULL,
        action text NOT NULL,
        PRIMARY KEY (case_id, clock)
    );
    CREATE INDEX timers_due ON {schema}.timers (due_at, case_id, clock);

    CREATE TABLE {schema}.outbox (
        key text COLLATE "C" PRIMARY KEY,
        case_id text COLLATE "C" NOT NULL,
        seq integer NOT NULL,
        recipient text NOT NULL,
        channel text NOT NULL,
        subject text NOT NULL,
        body text NOT NULL,
        created_at timestamptz NOT NULL,
        status text NOT NULL,
        attempts integer NOT NULL,
        next_attempt_at timestamptz NOT NULL,
        last_error text,
        delivered_at timestamptz
    );
    CREATE INDEX outbox_due ON {schema}.outbox (status, next_attempt_at, key);
    CREATE INDEX outbox_created ON {schema}.outbox (created_at, key);
    CREATE INDEX outbox_case ON {schema}.outbox (case_id);
    """,    # listing by customer reads an index, not the whole table
    """
    CREATE INDEX cases_customer ON {schema}.cases (customer, opened_at, num);
    """,
    # the fencing token of outbox claims: grows with every claim, an outcome must match it
    """
    ALTER TABLE {schema}.outbox ADD COLUMN lease_id bigint NOT NULL DEFAULT 0;
    """,
    # an append-only registry of every case id ever stored, so a deleted case is found
    """
    CREATE TABLE {schema}.case_registry (case_id text COLLATE "C" PRIMARY KEY);
    INSERT INTO {schema}.case_registry (case_id) SELECT id FROM {schema}.cases;

    CREATE FUNCTION {schema}.cases_register() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
        BEGIN
            INSERT INTO {schema}.case_registry (case_id) VALUES (NEW.id)
                ON CONFLICT DO NOTHING;
            RETURN NEW;
        END
        $$;
    CREATE TRIGGER cases_registered AFTER INSERT ON {schema}.cases
        FOR EACH ROW EXECUTE FUNCTION {schema}.cases_register();

    CREATE FUNCTION {schema}.append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '%.% is append-only: % refused', TG_TABLE_SCHEMA, TG_TABLE_NAME,
                TG_OP USING HINT = 'rows of this table are never changed or removed';
        END
        $$;
    CREATE TRIGGER case_registry_append_only BEFORE UPDATE OR DELETE
        ON {schema}.case_registry FOR EACH ROW EXECUTE FUNCTION {schema}.append_only();
    CREATE TRIGGER case_registry_no_truncate BEFORE TRUNCATE ON {schema}.case_registry
        FOR EACH STATEMENT EXECUTE FUNCTION {schema}.append_only();
    """,
    # the agent roster: each agent's availability trail, and round-robin counters
    """
    CREATE TABLE {schema}.availability (
        agent text COLLATE "C" NOT NULL,
        seq integer NOT NULL,
        at timestamptz NOT NULL,
        body text NOT NULL,
        PRIMARY KEY (agent, seq)
    );
    CREATE TRIGGER availability_append_only BEFORE UPDATE OR DELETE ON {schema}.availability
        FOR EACH ROW EXECUTE FUNCTION {schema}.events_append_only();
    CREATE TABLE {schema}.rotations (
        key text COLLATE "C" PRIMARY KEY,
        turns bigint NOT NULL
    );
    """,
)

#: What the application role may do on each object of the schema (see `grant_statements`).
APP_RIGHTS: tuple[tuple[str, str], ...] = (
    ("SELECT", "TABLE {schema}.schema_version"),
    ("SELECT, INSERT, UPDATE", "TABLE {schema}.cases"),
    ("SELECT, INSERT", "TABLE {schema}.events"),
    ("SELECT, INSERT, UPDATE, DELETE", "TABLE {schema}.timers"),
    ("SELECT, INSERT, UPDATE", "TABLE {schema}.outbox"),
    ("SELECT", "TABLE {schema}.case_registry"),
    ("SELECT, INSERT", "TABLE {schema}.availability"),
    ("SELECT, INSERT, UPDATE", "TABLE {schema}.rotations"),
    ("USAGE, SELECT", "ALL SEQUENCES IN SCHEMA {schema}"),
)


def quote(name: str) -> str:
    """`name` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def advisory_key(schema: str) -> int:
    """The 64-bit advisory-lock key that serialises migrations of one schema."""
    digest = hashlib.sha256(f"escalate-migrate:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def migrate(conn: psycopg.Connection[Any], schema: str,
            migrations: tuple[str, ...] = MIGRATIONS) -> int:
    """Bring `schema` up to date in one transaction; return the version it is at now.

    Concurrent callers wait for each other on an advisory lock, so the first one creates
    the schema and the others find it done. A schema newer than `migrations` raises
    StorageError and changes nothing.
    """
    name = quote(schema)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_key(schema),))
        exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                              (schema,)).fetchone()
        if exists is None:
            conn.execute(f"CREATE SCHEMA {name}")
        table = conn.execute("SELECT to_regclass(%s)", (f"{name}.schema_version",)).fetchone()
        if table is None or table[0] is None:  # checked first: a user with only table rights
            conn.execute(f"CREATE TABLE {name}.schema_version ("  # may not CREATE here
                         " version integer PRIMARY KEY,"
                         " applied_at timestamptz NOT NULL DEFAULT now())")
        row = conn.execute(f"SELECT coalesce(max(version), 0) FROM {name}.schema_version"
                           ).fetchone()
        current = int(row[0]) if row is not None else 0
        if current > len(migrations):
            raise StorageError(
                f"schema {schema!r} has version {current}, newer than this escalate-postgres "
                f"understands ({len(migrations)}); upgrade escalate-postgres, or use another "
                "schema with ?schema=name")
        for number in range(current, len(migrations)):
            conn.execute(migrations[number].replace("{schema}", name))
            conn.execute(f"INSERT INTO {name}.schema_version (version) VALUES (%s)",
                         (number + 1,))
        return len(migrations)


def grant_statements(schema: str, role: str) -> list[str]:
    """The GRANT statements that give `role` exactly what an escalate process needs.

    Run them as the schema's owner after migrating. The role can then act, tick, dispatch
    and verify, but cannot delete cases or events, truncate a table, or disable the
    append-only triggers (only a table's owner or a superuser can).
    """
    name, who = quote(schema), quote(role)
    return [f"GRANT USAGE ON SCHEMA {name} TO {who}"] + [
        f"GRANT {rights} ON {target.replace('{schema}', name)} TO {who}"
        for rights, target in APP_RIGHTS]


def grant_app_role(conn: psycopg.Connection[Any], schema: str, role: str) -> None:
    """Migrate `schema` as the connected (owner) role, then grant `role` its rights."""
    migrate(conn, schema)
    with conn.transaction():
        for statement in grant_statements(schema, role):
            conn.execute(statement)
