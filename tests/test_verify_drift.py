"""verify sees tampering that leaves every event body intact: deleted cases, moved or deleted
timers, outbox rows deleted or marked delivered, and index columns edited behind the body."""

from __future__ import annotations

from pathlib import Path

import pytest

from escalate import Desk, ManualClock, Policy
from escalate.testing import timed_policy
from verify_support import filled_desk, kinds, raw


@pytest.fixture
def store(tmp_path: Path) -> tuple[Desk, Path]:
    path = tmp_path / "cases.db"
    desk = filled_desk(path)
    assert desk.verify(overdue_after=None) == []
    return desk, path


def test_a_case_deleted_with_all_its_rows_is_found(store: tuple[Desk, Path]) -> None:
    desk, path = store
    db = raw(path)
    for table, column in (("cases", "id"), ("events", "case_id"), ("timers", "case_id"),
                          ("outbox", "case_id")):
        db.execute(f"DELETE FROM {table} WHERE {column} = 'C-2'")
    assert kinds(desk) == {"C-2": {"deleted"}}


def test_the_case_registry_is_append_only(store: tuple[Desk, Path]) -> None:
    import sqlite3

    _, path = store
    db = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM case_registry WHERE case_id = 'C-2'")


def test_a_case_row_deleted_alone_is_found(store: tuple[Desk, Path]) -> None:
    desk, path = store
    raw(path).execute("DELETE FROM cases WHERE id = 'C-3'")
    assert kinds(desk) == {"C-3": {"deleted"}}


def test_events_cut_from_the_end_are_found(store: tuple[Desk, Path]) -> None:
    desk, path = store
    raw(path).execute("DELETE FROM events WHERE case_id = 'C-2' AND seq = 4")
    found = kinds(desk)["C-2"]
    assert {"version", "tampered"} <= found


@pytest.mark.parametrize(("sql", "kind"), [
    ("DELETE FROM timers WHERE case_id = 'C-4' AND clock = 'tier'", "missing-timer"),
    ("DELETE FROM timers WHERE case_id = 'C-4'", "missing-timer"),
    ("UPDATE timers SET due_at = '9999-12-31T00:00:00.000000+00:00' WHERE case_id = 'C-4'"
     " AND clock = 'resolution'", "timer-due"),
    ("UPDATE timers SET action = 'realert' WHERE case_id = 'C-1' AND clock = 'tier'",
     "timer-action"),
    ("UPDATE timers SET clock = 'bogus' WHERE case_id = 'C-1' AND clock = 'tier'",
     "stray-timer"),
    ("INSERT INTO timers VALUES ('C-3', 'tier', '2026-01-06T09:00:00.000000+00:00', 'escalate')",
     "stray-timer"),
    ("INSERT INTO timers VALUES ('C-99', 'tier', '2026-01-06T09:00:00.000000+00:00', 'warn')",
     "stray-timer"),
])
def test_timers_deleted_moved_or_added_are_found(store: tuple[Desk, Path], sql: str,
                                                 kind: str) -> None:
    desk, path = store
    raw(path).execute(sql)
    found = kinds(desk)
    assert any(kind in kinds_of_case for kinds_of_case in found.values()), found


@pytest.mark.parametrize(("sql", "kind"), [
    ("DELETE FROM outbox WHERE case_id = 'C-2' AND seq = 3", "missing-notification"),
    ("DELETE FROM outbox WHERE case_id = 'C-1' AND status = 'pending'", "missing-notification"),
    ("UPDATE outbox SET status = 'delivered' WHERE status = 'pending'", "notification"),
    ("UPDATE outbox SET status = 'dead' WHERE status = 'pending'", "notification"),
    ("UPDATE outbox SET status = 'lost' WHERE case_id = 'C-3'", "notification"),
    ("UPDATE outbox SET delivered_at = NULL WHERE case_id = 'C-3'", "notification"),
    ("UPDATE outbox SET seq = 42 WHERE case_id = 'C-3'", "stray-notification"),
    ("UPDATE outbox SET created_at = '2020-01-01T00:00:00.000000+00:00' WHERE case_id = 'C-3'",
     "notification"),
])
def test_outbox_rows_deleted_or_falsified_are_found(store: tuple[Desk, Path], sql: str,
                                                    kind: str) -> None:
    desk, path = store
    assert raw(path).execute(sql).rowcount > 0
    found = kinds(desk)
    assert any(kind in kinds_of_case for kinds_of_case in found.values()), found


@pytest.mark.parametrize("column", ["status", "owner", "ladder", "tier", "priority", "channel",
                                    "customer", "opened_at", "updated_at", "version"])
def test_an_index_column_edited_behind_the_body_is_found(store: tuple[Desk, Path],
                                                         column: str) -> None:
    desk, path = store
    value = 99 if column == "version" else "2030-01-01T00:00:00.000000+00:00" \
        if column.endswith("_at") else "closed" if column == "status" else "agent:mallory"
    raw(path).execute(f"UPDATE cases SET {column} = ? WHERE id = 'C-1'", (value,))
    problems = [p for p in desk.verify(overdue_after=None) if p.case_id == "C-1"]
    assert [p.kind for p in problems] == ["index"]
    assert f"column {column} is" in problems[0].message


@pytest.mark.parametrize(("column", "value"), [
    ("actor", "mallory"), ("actor", None), ("at", "2026-01-05T09:00:00+00:00"),
    ("kind", "closed"), ("seq", 7)])
def test_an_event_column_edited_behind_the_body_is_found(store: tuple[Desk, Path], column: str,
                                                         value: object) -> None:
    desk, path = store
    raw(path).execute(f"UPDATE events SET {column} = ? WHERE case_id = 'C-1' AND seq = 2",
                      (value,))
    problems = [p for p in desk.verify(overdue_after=None) if p.case_id == "C-1"]
    assert "index" in {p.kind for p in problems}, problems
    assert any(f"column {column} is" in p.message for p in problems)


def test_rows_of_events_written_under_another_policy_are_not_required(tmp_path: Path) -> None:
    # what an event calls for depends on the policy it was written under; only events written
    # under the desk's own policy version are held to its notification plan
    path = tmp_path / "c.db"
    desk = Desk(timed_policy(), store=f"sqlite:///{path}", clock=ManualClock(),
                autoload_plugins=False)
    desk.open(title="t", customer="c", by="ana")
    raw(path).execute("DELETE FROM outbox")
    assert {p.kind for p in desk.verify(overdue_after=None)} == {"missing-notification"}
    changed = timed_policy().to_dict()
    changed["max_transfers"] = 7
    desk.change_policy(Policy.from_dict(changed))
    assert desk.verify(overdue_after=None) == []
