"""A database written by an older schema is migrated on open and keeps every case and event."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import attrs
import pytest

from escalate import Desk, ManualClock, Policy
from escalate.codec import format_time
from escalate.policy import NotificationSettings
from escalate.stores import sqlite as sqlite_store


def old_row(at: str) -> tuple[object, ...]:
    """An outbox row as the first schema stored it (no lease id), with a key of that time."""
    return ("C-1:2:ana:log", "C-1", 2, "ana", "log", "s", "b\n", at, "pending", 0, at, None,
            None)


def test_an_older_schema_is_migrated_with_its_data(tmp_path: Path, policy: Policy,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "cases.db"
    with monkeypatch.context() as patch:
        patch.setattr(sqlite_store, "MIGRATIONS", sqlite_store.MIGRATIONS[:1])
        # the escalate of schema 1 had no roster to read
        patch.setattr(sqlite_store.SqliteStore, "latest_availability", lambda self: {})
        silent = attrs.evolve(policy, notifications=NotificationSettings(channels=()))
        old = Desk(silent, store=f"sqlite:///{path}", clock=ManualClock(),
                   autoload_plugins=False)
        case = old.open(title="t", customer="c", channel="phone", by="ana")
        old.claim(case.id, by="ana")
        old.note(case.id, "kept across the migration", by="ana")
        history = old.history(case.id)
        old.shutdown()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1
        db.execute("INSERT INTO outbox VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   old_row(format_time(history[1].at)))
    new = Desk(policy, store=f"sqlite:///{path}", clock=ManualClock(), autoload_plugins=False)
    assert new.history(case.id) == history
    (kept,) = new.outbox(case_id="C-1")
    assert (kept.key, kept.attempts, kept.lease_id) == ("C-1:2:ana:log", 0, 0)
    (sent,) = [n for n in new.dispatch(limit=1000) if n.key == kept.key]
    assert (sent.status, sent.attempts, sent.lease_id) == ("delivered", 1, 1)
    assert new.verify() == []
    assert new.claim(new.open(title="u", customer="c", channel="web").id, by="bo").version == 2
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(sqlite_store.MIGRATIONS)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM events")
