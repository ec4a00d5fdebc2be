"""A database written by an older schema is migrated on open and keeps every case and event."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from escalate import Desk, ManualClock, Policy
from escalate.stores import sqlite as sqlite_store


def test_an_older_schema_is_migrated_with_its_data(tmp_path: Path, policy: Policy,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "cases.db"
    with monkeypatch.context() as patch:
        patch.setattr(sqlite_store, "MIGRATIONS", sqlite_store.MIGRATIONS[:1])
        old = Desk(policy, store=f"sqlite:///{path}", clock=ManualClock(),
                   autoload_plugins=False)
        case = old.open(title="t", customer="c", channel="phone", by="ana")
        old.claim(case.id, by="ana")
        old.note(case.id, "kept across the migration", by="ana")
        history = old.history(case.id)
        old.shutdown()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 1
    new = Desk(policy, store=f"sqlite:///{path}", clock=ManualClock(), autoload_plugins=False)
    assert new.history(case.id) == history
    assert new.verify() == []
    assert new.claim(new.open(title="u", customer="c", channel="web").id, by="bo").version == 2
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(sqlite_store.MIGRATIONS)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM events")
