"""Shared by the multi-process tests and their child processes: policies, times, bulk load.

Cases are opened by a Desk on a recording memory store (every Change it commits is kept),
then written into a PostgreSQL schema in large transactions by the store's own row writer,
so the rows are exactly what `PostgresStore.commit` would write, hashes and outbox included.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from escalate_postgres import PostgresStore

from escalate import Desk, ManualClock, Policy
from escalate.stores.base import Change
from escalate.stores.memory import MemoryStore

#: Every case here is opened at T0 (a Monday); all clocks run round the clock.
T0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)

#: Only the first tier's limit can fall due within a day: one warning at 30 minutes and one
#: escalation at one hour per case, nothing else (no SLA targets, long limits above).
FALL_DUE: dict[str, Any] = {
    "max_transfers": 2,
    "ladders": {"support": {"tiers": [
        {"name": "frontline", "members": ["ana", "bo"], "escalate_after": "1h",
         "warn_at": 0.5},
        {"name": "specialists", "members": ["cy", "dan"], "lead": "cy",
         "escalate_after": "100h"},
        {"name": "management", "members": ["dee"], "lead": "dee", "realert_every": "100h"},
    ]}},
}
#: A moment by which every FALL_DUE case's warning and escalation are due, and nothing else.
AFTER_DUE = T0 + timedelta(hours=2)

#: For racing actors: short tier limits, so that a ticking worker escalates too.
RACING: dict[str, Any] = {
    "max_transfers": 1000,
    "admins": ["root"],
    "ladders": {"support": {"tiers": [
        {"name": "frontline", "members": ["ana", "bo"], "escalate_after": "3h"},
        {"name": "specialists", "members": ["cy", "dan"], "lead": "cy",
         "escalate_after": "3h"},
        {"name": "management", "members": ["dee"], "lead": "dee", "realert_every": "3h"},
    ]}},
}


def policy(name: str) -> Policy:
    """One of the policies above, by name ("FALL_DUE" or "RACING")."""
    return Policy.from_dict({"FALL_DUE": FALL_DUE, "RACING": RACING}[name])


class RecordingStore(MemoryStore):
    """A memory store that keeps every Change committed to it, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.changes: list[Change] = []

    def commit(self, change: Change) -> None:
        super().commit(change)
        self.changes.append(change)


def opened_cases(chosen: Policy, count: int, at: datetime = T0) -> list[Change]:
    """The Changes of `count` cases C-1..C-count opened at `at` by nobody, through a Desk."""
    store = RecordingStore()
    desk = Desk(chosen, store=store, clock=ManualClock(at), autoload_plugins=False)
    for n in range(count):
        desk.open(title=f"Invoice {n} is wrong", customer=f"cust-{n}", channel="phone")
    return store.changes


def load(store: PostgresStore, changes: Sequence[Change], batch: int = 2000) -> None:
    """Write new cases' changes with the store's own row writer, `batch` per transaction.

    Moves the schema's case-number sequence past the loaded "C-n" ids, as
    docs/scale-out.md says to do after copying cases in.
    """
    for start in range(0, len(changes), batch):
        with store._transaction("load cases into") as conn, conn.pipeline():
            for change in changes[start:start + batch]:
                assert change.expected_version == 0, "load writes new cases only"
                store._apply(conn, change)
    numbers = [int(c.case.id[2:]) for c in changes if c.case.id.startswith("C-")]
    if numbers:
        with store._transaction("move the case numbers in") as conn:
            conn.execute("SELECT setval(%s, %s)", (f"{store._s}.case_numbers", max(numbers)))
