"""The core's own store tests (tests/test_stores.py of an escalate checkout), run on PostgreSQL.

They are the assertions the memory and SQLite stores are held to; running them unchanged
here keeps the three stores in step. Skipped when escalate is not installed from a checkout.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
from escalate_postgres import PostgresStore
from pgschemas import Schemas

import escalate

CORE_TESTS = Path(escalate.__file__).resolve().parents[2] / "tests" / "test_stores.py"


def _load() -> dict[str, object]:
    if not CORE_TESTS.is_file():
        return {}
    spec = importlib.util.spec_from_file_location("escalate_core_test_stores", CORE_TESTS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {name: value for name, value in vars(module).items()
            if name.startswith("test_") and callable(value)}


globals().update(_load())


@pytest.fixture
def store(schemas: Schemas) -> Iterator[PostgresStore]:
    """A fresh PostgreSQL store in place of the core's memory/SQLite parametrisation."""
    made = schemas.store()
    yield made
    made.close()


def test_the_core_store_tests_were_found() -> None:
    if not CORE_TESTS.is_file():
        pytest.skip(f"{CORE_TESTS} is not there (escalate is not installed from a checkout)")
    assert any(name.startswith("test_") for name in _load())
