"""The built-in stores pass the store contract that escalate ships for plugin authors."""

from __future__ import annotations

from pathlib import Path

import pytest

from escalate.stores import MemoryStore, SqliteStore, Store
from escalate.testing import StoreContract


class TestMemoryStore(StoreContract):
    def make_store(self) -> Store:
        return MemoryStore()


class TestSqliteStore(StoreContract):
    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.folder = tmp_path

    def make_store(self) -> Store:
        return SqliteStore(self.folder / "cases.db")


class _OneByOneStore(MemoryStore):
    """A store that keeps the default commit_many: one change after another."""

    commit_many = Store.commit_many


def test_the_contract_fails_a_commit_many_that_is_not_all_or_nothing() -> None:
    contract = StoreContract()
    with pytest.raises(AssertionError):
        contract.test_commit_many_is_all_or_nothing(_OneByOneStore())
    contract.test_commit_many_writes_many_cases_in_order(_OneByOneStore())
