"""The SQLite store on a real file: pragmas, schema version, reopening, append-only events,
URL resolution, read-only failures and several processes sharing one file."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from escalate import Desk, ManualClock, Policy, StorageError
from escalate.builtin import sqlite_path
from escalate.stores import SqliteStore
from escalate.stores.sqlite import MIGRATIONS
from escalate.testing import STANDARD_POLICY, timed_policy


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "cases.db"


@pytest.fixture
def file_desk(db_path: Path) -> Iterator[Desk]:
    with Desk(timed_policy(), store=f"sqlite:///{db_path}", clock=ManualClock(),
              autoload_plugins=False) as desk:
        yield desk


def raw(path: Path) -> sqlite3.Connection:
    """A separate connection to the same file, as another program would open it."""
    return sqlite3.connect(path, isolation_level=None)


def busy_desk(desk: Desk) -> list[str]:
    """Open a few cases and move them on, so every table has rows."""
    ids = []
    for n in range(3):
        case = desk.open(title=f"case {n}", customer="c", channel="phone", by="ana",
                         fields={"n": n, "ünï": "cødé"})
        ids.append(case.id)
    desk.claim(ids[0], by="ana")
    desk.transfer(ids[0], to="bo", by="ana", note="handing over")
    desk.escalate(ids[1], by="bo")
    return ids


def snapshot(desk: Desk) -> tuple[Any, ...]:
    cases = list(desk.cases())
    return (cases, [desk.history(c.id) for c in cases], [desk.store.timers(c.id) for c in cases],
            desk.outbox(), list(desk.events()), desk.next_due())


# -- the file ----------------------------------------------------------------------------------


def test_wal_mode_and_synchronous_normal(file_desk: Desk, db_path: Path) -> None:
    store = file_desk.store
    assert isinstance(store, SqliteStore)
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    busy_desk(file_desk)
    assert Path(f"{db_path}-wal").exists()
    with raw(db_path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # kept in the file


def test_user_version_counts_the_migrations(file_desk: Desk, db_path: Path) -> None:
    assert len(MIGRATIONS) >= 1
    with raw(db_path) as other:
        assert other.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        tables = {name for (name,) in other.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"cases", "events", "timers", "outbox"} <= tables


def test_reopening_keeps_everything(db_path: Path) -> None:
    url = f"sqlite:///{db_path}"
    clock = ManualClock()
    with Desk(timed_policy(), store=url, clock=clock, autoload_plugins=False) as desk:
        ids = busy_desk(desk)
        before = snapshot(desk)
    assert before[2][0], "the cases should have timers"
    assert before[3], "the actions should have written notifications"
    with Desk(timed_policy(), store=url, clock=clock, autoload_plugins=False) as desk:
        assert snapshot(desk) == before
        fresh = desk.open(title="after restart", customer="c", channel="web")
        assert fresh.id not in ids, "ids are never handed out twice"
        desk.claim(ids[2], by="bo")
        assert desk.get(ids[2]).version == 2
    with Desk(timed_policy(), store=url, clock=clock, autoload_plugins=False) as desk:
        assert len(list(desk.cases())) == 4
        assert [e.kind.value for e in desk.history(ids[2])] == ["opened", "claimed"]


def test_a_newer_schema_is_refused(db_path: Path) -> None:
    SqliteStore(db_path).close()
    newer = len(MIGRATIONS) + 1
    with raw(db_path) as other:
        other.execute(f"PRAGMA user_version = {newer}")
    with pytest.raises(StorageError) as info:
        SqliteStore(db_path)
    message = str(info.value)
    assert f"schema version {newer}" in message and "upgrade escalate" in message
    with pytest.raises(StorageError, match="newer than this escalate"):
        Desk(timed_policy(), store=f"sqlite:///{db_path}", autoload_plugins=False)
    with raw(db_path) as other:
        assert other.execute("PRAGMA user_version").fetchone()[0] == newer


def test_a_file_that_is_not_a_database_is_refused(db_path: Path) -> None:
    db_path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="cannot open SQLite database"):
        SqliteStore(db_path)


@pytest.mark.parametrize("statement", [
    "UPDATE events SET actor = 'mallory'",
    "UPDATE events SET body = '{}' WHERE seq = 1",
    "DELETE FROM events",
    "DELETE FROM events WHERE seq = 2",
])
def test_events_are_append_only(file_desk: Desk, db_path: Path, statement: str) -> None:
    ids = busy_desk(file_desk)
    before = [file_desk.history(case_id) for case_id in ids]
    with raw(db_path) as other, pytest.raises(sqlite3.DatabaseError, match="append-only"):
        other.execute(statement)
    assert [file_desk.history(case_id) for case_id in ids] == before
    assert file_desk.verify(overdue_after=None) == []


# -- URLs ------------------------------------------------------------------------------------------


def test_relative_url_resolves_against_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    for url, expected in [("sqlite:///relative.db", tmp_path / "relative.db"),
                          ("sqlite:///sub/nested.db", tmp_path / "sub" / "nested.db")]:
        with Desk(timed_policy(), store=url, autoload_plugins=False) as desk:
            desk.open(title="t", customer="c", channel="web")
            assert desk.store.url == url
        assert expected.exists(), f"{url} should create {expected}"
    assert not Path("/relative.db").exists()


def test_absolute_url_has_four_slashes(tmp_path: Path) -> None:
    target = tmp_path / "abs.db"
    url = "sqlite:////" + str(target).lstrip("/")
    assert url.startswith("sqlite:////")
    with Desk(timed_policy(), store=url, autoload_plugins=False) as desk:
        assert isinstance(desk.store, SqliteStore)
        assert desk.store.path == str(target)
        desk.open(title="t", customer="c", channel="web")
    assert target.exists()


@pytest.mark.parametrize(("url", "path"), [
    ("sqlite:///relative.db", "relative.db"),
    ("sqlite:///dir/relative.db", "dir/relative.db"),
    ("sqlite:////abs/path.db", "/abs/path.db"),
    ("sqlite://", ":memory:"),
    ("sqlite:///:memory:", ":memory:"),
])
def test_sqlite_path_follows_sqlalchemy(url: str, path: str) -> None:
    assert sqlite_path(url) == path


def test_in_memory_sqlite_url_works() -> None:
    with Desk(timed_policy(), store="sqlite://", autoload_plugins=False) as desk:
        case = desk.open(title="t", customer="c", channel="web")
        assert desk.get(case.id) == case


# -- read-only files ---------------------------------------------------------------------------


def _refuses_writes(desk: Desk, ids: list[str]) -> None:
    before = snapshot(desk)
    attempts = [
        lambda: desk.open(title="new", customer="c", channel="web"),
        lambda: desk.claim(ids[2], by="ana"),
        lambda: desk.note(ids[0], "hello", by="ana"),
    ]
    for attempt in attempts:
        with pytest.raises(StorageError) as info:
            attempt()
        assert "writable" in str(info.value), str(info.value)
        assert snapshot(desk) == before, "a failed write left something behind"


def _usable(desk: Desk, ids: list[str]) -> None:
    after = desk.claim(ids[2], by="ana")
    assert after.version == 2 and desk.get(ids[2]) == after
    assert desk.open(title="new", customer="c", channel="web").id not in ids


class _ReadOnlyFile:
    """The database file and its WAL files made read-only (for a non-root user)."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path

    def _files(self) -> list[Path]:
        # SQLite creates -wal and -shm files with the database file's permissions
        folder, name = self.db_path.parent, self.db_path.name
        return [p for p in folder.iterdir() if p.name.startswith(name)]

    def __enter__(self) -> _ReadOnlyFile:
        for file in self._files():
            file.chmod(stat.S_IRUSR)
        return self

    def writable(self) -> None:
        for file in self._files():
            file.chmod(stat.S_IRUSR | stat.S_IWUSR)

    def __exit__(self, *exc: object) -> None:
        self.writable()


NOT_AS_ROOT = pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only files, so "
                                 "chmod has no effect (see the query_only variant)")


@NOT_AS_ROOT
def test_read_only_file_gives_storage_error_and_writes_nothing(db_path: Path) -> None:
    url = f"sqlite:///{db_path}"
    with Desk(timed_policy(), store=url, autoload_plugins=False) as desk:
        ids = busy_desk(desk)
        before = snapshot(desk)
    with _ReadOnlyFile(db_path) as read_only:
        with Desk(timed_policy(), store=url, autoload_plugins=False) as desk:
            assert snapshot(desk) == before, "reading still works"
            _refuses_writes(desk, ids)
        read_only.writable()
        with Desk(timed_policy(), store=url, autoload_plugins=False) as desk:
            assert snapshot(desk) == before
            _usable(desk, ids)


@NOT_AS_ROOT
def test_same_desk_is_usable_again_after_chmod_back(db_path: Path) -> None:
    url = f"sqlite:///{db_path}"
    with Desk(timed_policy(), store=url, autoload_plugins=False) as desk:
        ids = busy_desk(desk)
    with _ReadOnlyFile(db_path) as read_only, Desk(timed_policy(), store=url,
                                                   autoload_plugins=False) as desk:
        _refuses_writes(desk, ids)
        read_only.writable()
        _usable(desk, ids)


def test_read_only_connection_gives_storage_error_and_recovers(file_desk: Desk) -> None:
    # Running as root makes chmod ineffective (root may write to a 0400 file), so the read-only
    # file is simulated by switching the store's own connection to PRAGMA query_only, which
    # fails writes with SQLITE_READONLY exactly as a read-only file does.
    ids = busy_desk(file_desk)
    store = file_desk.store
    assert isinstance(store, SqliteStore)
    store._db.execute("PRAGMA query_only = ON")
    _refuses_writes(file_desk, ids)
    store._db.execute("PRAGMA query_only = OFF")
    _usable(file_desk, ids)


# -- several processes -------------------------------------------------------------------------


def _open_cases(job: tuple[str, int, int]) -> list[str]:
    """In a child process: open `count` cases on the shared file and return their ids."""
    url, worker, count = job
    policy = Policy.from_dict(STANDARD_POLICY)
    with Desk(policy, store=url, clock=ManualClock(), autoload_plugins=False) as desk:
        return [desk.open(title=f"w{worker}-{n}", customer=f"c-{worker}", channel="web",
                          by="ana").id for n in range(count)]


def test_two_processes_get_distinct_ids_and_lose_no_case(db_path: Path) -> None:
    url = f"sqlite:///{db_path}"
    SqliteStore(db_path).close()  # create the schema once, before the race
    count = 40
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        results = pool.map(_open_cases, [(url, 0, count), (url, 1, count)], chunksize=1)
    ids = [case_id for result in results for case_id in result]
    assert len(ids) == 2 * count
    assert len(set(ids)) == 2 * count, "two processes received the same case id"
    with Desk(Policy.from_dict(STANDARD_POLICY), store=url, autoload_plugins=False) as desk:
        stored = list(desk.cases())
        assert sorted(c.id for c in stored) == sorted(ids)
        for worker in (0, 1):
            titles = {c.title for c in stored if c.customer == f"c-{worker}"}
            assert titles == {f"w{worker}-{n}" for n in range(count)}
        assert all(len(desk.history(c.id)) == 1 for c in stored)
        assert desk.verify(overdue_after=timedelta(days=365)) == []


def test_reading_all_events_seeks_one_index_and_never_sorts(tmp_path: Path) -> None:
    """A page of events costs its own rows: no temporary B-tree sorts the rest of the table."""
    from escalate.stores.sqlite import EVENTS_PAGE, SqliteStore

    SqliteStore(tmp_path / "plan.db").close()  # creates the schema
    with sqlite3.connect(tmp_path / "plan.db") as db:
        plan = db.execute(f"EXPLAIN QUERY PLAN {EVENTS_PAGE}", ("\uffff", "", "", -1)).fetchall()
    details = " ".join(str(row[-1]) for row in plan)
    assert "USING INDEX events_order" in details
    assert "TEMP B-TREE" not in details
