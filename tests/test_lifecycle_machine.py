"""The stateful proof: random actions, removals and restarts never lose or orphan a case."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import settings

from escalate.stores import MemoryStore, SqliteStore
from escalate.testing import StoreOpener, lifecycle_machine, sla_policy, timed_policy
from escalate.testing.policy_edits import timed_policy_edits


def fresh_memory() -> StoreOpener:
    store = MemoryStore()
    return lambda: store


def fresh_sqlite() -> StoreOpener:
    path = Path(tempfile.mkdtemp(prefix="escalate-")) / "cases.db"
    return lambda: SqliteStore(path)


MemoryLifecycle = lifecycle_machine(fresh_memory)
SqliteLifecycle = lifecycle_machine(fresh_sqlite)

TestMemoryLifecycle = MemoryLifecycle.TestCase
TestMemoryLifecycle.settings = settings(parent=settings.default, stateful_step_count=50)
TestSqliteLifecycle = SqliteLifecycle.TestCase
TestSqliteLifecycle.settings = settings(parent=settings.default, stateful_step_count=30)

TimedMemoryLifecycle = lifecycle_machine(fresh_memory, policy=timed_policy())
TimedSqliteLifecycle = lifecycle_machine(fresh_sqlite, policy=timed_policy())

TestTimedMemoryLifecycle = TimedMemoryLifecycle.TestCase
TestTimedMemoryLifecycle.settings = settings(parent=settings.default, stateful_step_count=50)
TestTimedSqliteLifecycle = TimedSqliteLifecycle.TestCase
TestTimedSqliteLifecycle.settings = settings(parent=settings.default, stateful_step_count=30)

SlaMemoryLifecycle = lifecycle_machine(fresh_memory, policy=sla_policy())
SlaSqliteLifecycle = lifecycle_machine(fresh_sqlite, policy=sla_policy())

TestSlaMemoryLifecycle = SlaMemoryLifecycle.TestCase
TestSlaMemoryLifecycle.settings = settings(parent=settings.default, stateful_step_count=50)
TestSlaSqliteLifecycle = SlaSqliteLifecycle.TestCase
TestSlaSqliteLifecycle.settings = settings(parent=settings.default, stateful_step_count=30)

# Policy edits (limits shortened, tiers renamed, removed, added), with and without migration,
# and a second desk on the replaced policy ticking the same store.
EditedMemoryLifecycle = lifecycle_machine(fresh_memory, policy=timed_policy(),
                                          policy_changes=timed_policy_edits())
EditedSqliteLifecycle = lifecycle_machine(fresh_sqlite, policy=timed_policy(),
                                          policy_changes=timed_policy_edits())

TestEditedMemoryLifecycle = EditedMemoryLifecycle.TestCase
TestEditedMemoryLifecycle.settings = settings(parent=settings.default, stateful_step_count=60)
TestEditedSqliteLifecycle = EditedSqliteLifecycle.TestCase
TestEditedSqliteLifecycle.settings = settings(parent=settings.default, stateful_step_count=30)
