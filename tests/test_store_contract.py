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
