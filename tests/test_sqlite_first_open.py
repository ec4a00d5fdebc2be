"""Several processes opening the same new SQLite file at once all succeed (migrations run
once, under an exclusive lock, and the others see the finished schema)."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

from escalate import Desk, ManualClock, Policy
from escalate.stores import sqlite as sqlite_store
from escalate.stores.sqlite import SqliteStore
from escalate.testing import STANDARD_POLICY

PROCESSES = 12
ROUNDS = 8


def _open(path: str, barrier: Any, results: Any) -> None:
    barrier.wait()
    try:
        store = SqliteStore(path)
        store.close()
        results.put("ok")
    except Exception as exc:  # reported to the parent, which fails the test
        results.put(f"{type(exc).__name__}: {exc}")


def test_processes_opening_a_new_file_at_once_all_succeed(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    outcomes: list[str] = []
    for round_number in range(ROUNDS):
        path = str(tmp_path / f"new-{round_number}.db")
        barrier, results = context.Barrier(PROCESSES), context.Queue()
        workers = [context.Process(target=_open, args=(path, barrier, results))
                   for _ in range(PROCESSES)]
        for worker in workers:
            worker.start()
        outcomes.extend(results.get(timeout=60) for _ in workers)
        for worker in workers:
            worker.join(timeout=60)
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(sqlite_store.MIGRATIONS)
        db.close()
    failures = [outcome for outcome in outcomes if outcome != "ok"]
    assert not failures, f"{len(failures)} of {len(outcomes)} opens failed: {failures[:3]}"
    desk = Desk(Policy.from_dict(STANDARD_POLICY), store=f"sqlite:///{path}",
                clock=ManualClock(), autoload_plugins=False)
    assert desk.open(title="t", customer="c", channel="web").id == "C-1"
    assert desk.verify() == []
