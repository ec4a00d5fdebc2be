"""verify raises no false alarm: after every step of random actions, removals, clock advances,
ticks, deliveries and restarts, the whole store verifies clean (timers, outbox rows, index
columns, registry and chain included)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis.stateful import invariant

from escalate.stores import MemoryStore, SqliteStore
from escalate.testing import StoreOpener, lifecycle_machine, timed_policy


def fresh_sqlite() -> StoreOpener:
    path = Path(tempfile.mkdtemp(prefix="escalate-")) / "cases.db"
    return lambda: SqliteStore(path)


def fresh_memory() -> StoreOpener:
    store = MemoryStore()
    return lambda: store


def _verifying(machine: type) -> type:
    class Verifying(machine):  # type: ignore[misc, valid-type]
        @invariant()
        def verify_finds_nothing(self) -> None:
            if hasattr(self, "desk"):
                assert self.desk.verify(overdue_after=None) == []

    return Verifying


TestVerifiedSqlite = _verifying(lifecycle_machine(fresh_sqlite, policy=timed_policy())).TestCase
TestVerifiedSqlite.settings = settings(parent=settings.default, stateful_step_count=30)
TestVerifiedMemory = _verifying(lifecycle_machine(fresh_memory, policy=timed_policy())).TestCase
TestVerifiedMemory.settings = settings(parent=settings.default, stateful_step_count=40)
