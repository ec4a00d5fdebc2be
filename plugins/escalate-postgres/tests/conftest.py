"""Fixtures for tests against a real PostgreSQL server (see pgschemas for the rules)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from escalate_postgres import PostgresStore
from hypothesis import settings
from pgschemas import Schemas, require_server, server_problem, sweep_stale

settings.register_profile("escalate-postgres", deadline=None, print_blob=True)
settings.load_profile("escalate-postgres")


@pytest.fixture(scope="session", autouse=True)
def _sweep_stale_schemas() -> None:
    """Remove schemas of earlier runs that were killed before they could drop them."""
    if server_problem() is None:
        sweep_stale()


@pytest.fixture(autouse=True)
def _postgres_server() -> None:
    """Every test here needs the server."""
    require_server()


@pytest.fixture(scope="module")
def schemas(request: pytest.FixtureRequest) -> Iterator[Schemas]:
    """This module's schema namer; the module's schemas are dropped when it ends."""
    made = getattr(request.module, "SCHEMAS", None) or Schemas()
    yield made
    made.drop()


@pytest.fixture(scope="module", autouse=True)
def _drop_module_schemas(schemas: Schemas) -> None:
    """Make sure every module's schemas are dropped, even if no test asked for them."""


@pytest.fixture
def store(schemas: Schemas) -> Iterator[PostgresStore]:
    """A fresh store in a fresh schema, closed after the test."""
    made = schemas.store()
    yield made
    made.close()
