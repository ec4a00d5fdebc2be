"""Helpers for tests against a real PostgreSQL server, each module in its own schemas.

The server URL comes from ESCALATE_TEST_POSTGRES_URL (default: the local test database).
When the server cannot be reached, every test here is skipped with the reason, except when
the environment variable CI is "true": then they fail, so a broken CI database is noticed.
"""

from __future__ import annotations

import functools
import os
import uuid
from typing import Any

import psycopg
import pytest
from escalate_postgres import PostgresStore

URL = os.environ.get("ESCALATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

@functools.cache
def server_problem() -> str | None:
    """Why the test server cannot be used, or None when it answers."""
    try:
        with psycopg.connect(URL, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip() or type(exc).__name__
    return None


def require_server() -> str:
    """The server URL; skips the test without a server, or fails it when CI is true."""
    problem = server_problem()
    if problem is not None:
        message = f"PostgreSQL at {URL} is unreachable: {problem}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI=true, so this is a failure, not a skip)")
        pytest.skip(f"{message}; start the server or set ESCALATE_TEST_POSTGRES_URL")
    return URL


class Schemas:
    """Random schema names for one test module; every one is dropped at the end."""

    def __init__(self) -> None:
        self.prefix = f"esc_test_{uuid.uuid4().hex[:10]}"
        self.made: list[str] = []

    def new(self) -> str:
        """A fresh schema name under this module's prefix."""
        name = f"{self.prefix}_{len(self.made)}"
        self.made.append(name)
        return name

    def store(self, schema: str | None = None, **options: Any) -> PostgresStore:
        """A store on `schema` (default: a fresh one)."""
        return PostgresStore(require_server(), schema=schema or self.new(), **options)

    def drop(self) -> None:
        """Drop every schema made under the prefix."""
        if server_problem() is not None:
            return
        with psycopg.connect(URL, autocommit=True) as conn:
            rows = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s",
                                (self.prefix + "%",)).fetchall()
            for (name,) in rows:
                conn.execute(f'DROP SCHEMA "{name}" CASCADE')


def sweep_stale(older_than_hours: int = 6) -> None:
    """Drop test schemas that runs killed before their teardown left behind."""
    with psycopg.connect(URL, autocommit=True) as conn:
        names = [name for (name,) in conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'esc\\_test\\_%'"
        ).fetchall()]
        for name in names:
            try:
                row = conn.execute(
                    f'SELECT max(applied_at) < now() - make_interval(hours => %s)'
                    f' FROM "{name}".schema_version', (older_than_hours,)).fetchone()
                if row is not None and row[0]:
                    conn.execute(f'DROP SCHEMA "{name}" CASCADE')
            except psycopg.Error:
                continue  # being created or dropped right now, or not ours to judge
