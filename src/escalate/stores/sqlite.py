"""`sqlite:///path.db`: the embedded default store (SQLite in WAL mode, one file)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import attrs

from ..codec import (
    case_from_dict,
    case_to_dict,
    event_from_dict,
    event_to_dict,
    format_time,
    parse_time,
)
from ..errors import ConflictError, StorageError
from ..model import Action, Case, Event
from . import sqlite_inspection as inspection
from .base import (
    AvailabilityChange,
    CaseQuery,
    Change,
    Keep,
    Notification,
    RawRow,
    Store,
    Timer,
    TimerHandler,
    distinct_notifications,
    key_clash,
)
from .roster import availability_body, availability_conflict, availability_from_body

__all__ = ["MIGRATIONS", "SqliteStore"]

R = TypeVar("R")

#: Schema migrations; the database's PRAGMA user_version counts how many were applied.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE case_ids (n INTEGER PRIMARY KEY AUTOINCREMENT);
    CREATE TABLE cases (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        owner TEXT NOT NULL,
        ladder TEXT NOT NULL,
        tier TEXT NOT NULL,
        priority TEXT NOT NULL,
        channel TEXT NOT NULL,
        customer TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        version INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX cases_status ON cases (status, opened_at);
    CREATE INDEX cases_owner ON cases (owner);
    CREATE INDEX cases_tier ON cases (tier);
    CREATE TABLE events (
        case_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        actor TEXT,
        body TEXT NOT NULL,
        PRIMARY KEY (case_id, seq)
    ) WITHOUT ROWID;
    CREATE INDEX events_at ON events (at);
    CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
    CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
    CREATE TABLE timers (
        case_id TEXT NOT NULL,
        clock TEXT NOT NULL,
        due_at TEXT NOT NULL,
        action TEXT NOT NULL,
        PRIMARY KEY (case_id, clock)
    ) WITHOUT ROWID;
    CREATE INDEX timers_due ON timers (due_at);
    CREATE TABLE outbox (
        key TEXT PRIMARY KEY,
        case_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        recipient TEXT NOT NULL,
        channel TEXT NOT NULL,
        subject TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        delivered_at TEXT
    );
    CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
    CREATE INDEX outbox_case ON outbox (case_id);
    """,
    # events of a few KB overflowed the WITHOUT ROWID table; a rowid table stores them inline
    """
    CREATE TABLE events_rowid (
        case_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        actor TEXT,
        body TEXT NOT NULL,
        UNIQUE (case_id, seq)
    );
    INSERT INTO events_rowid (case_id, seq, at, kind, actor, body)
        SELECT case_id, seq, at, kind, actor, body FROM events ORDER BY at, case_id, seq;
    DROP TABLE events;
    ALTER TABLE events_rowid RENAME TO events;
    CREATE INDEX events_at ON events (at);
    CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
    CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
    """,    # listing by customer and paging by opening time read an index, not the whole table
    """
    CREATE INDEX cases_customer ON cases (customer, opened_at);
    CREATE INDEX cases_opened ON cases (opened_at);
    """,
    # the fencing token of outbox claims: grows with every claim, an outcome must match it
    """
    ALTER TABLE outbox ADD COLUMN lease_id INTEGER NOT NULL DEFAULT 0;
    """,
    # an append-only registry of every case id ever stored, so a deleted case is found
    """
    CREATE TABLE case_registry (case_id TEXT PRIMARY KEY) WITHOUT ROWID;
    INSERT OR IGNORE INTO case_registry (case_id) SELECT id FROM cases;
    CREATE TRIGGER cases_registered AFTER INSERT ON cases
        BEGIN INSERT OR IGNORE INTO case_registry (case_id) VALUES (NEW.id); END;
    CREATE TRIGGER case_registry_append_only_update BEFORE UPDATE ON case_registry
        BEGIN SELECT RAISE(ABORT, 'the case registry is append-only'); END;
    CREATE TRIGGER case_registry_append_only_delete BEFORE DELETE ON case_registry
        BEGIN SELECT RAISE(ABORT, 'the case registry is append-only'); END;
    """,
    # the agent roster: each agent's availability trail, and round-robin counters
    """
    CREATE TABLE availability (
        agent TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (agent, seq)
    ) WITHOUT ROWID;
    CREATE TRIGGER availability_append_only_update BEFORE UPDATE ON availability
        BEGIN SELECT RAISE(ABORT, 'the availability trail is append-only'); END;
    CREATE TRIGGER availability_append_only_delete BEFORE DELETE ON availability
        BEGIN SELECT RAISE(ABORT, 'the availability trail is append-only'); END;
    CREATE TABLE rotations (key TEXT PRIMARY KEY, turns INTEGER NOT NULL) WITHOUT ROWID;
    """,
    # events read in (at, case_id, seq) order page by page: one index serves the seek and
    # the order, so each page costs its own rows instead of sorting all that remain
    """
    CREATE INDEX events_order ON events (at, case_id, seq);
    DROP INDEX events_at;
    """,
)

#: One page of `all_events`: a row-value seek on the (at, case_id, seq) index, no sorting.
EVENTS_PAGE = ("SELECT at, case_id, seq, body FROM events WHERE at < ?"
               " AND (at, case_id, seq) > (?, ?, ?) ORDER BY at, case_id, seq LIMIT 2000")

_OUTBOX_COLUMNS = ("key, case_id, seq, recipient, channel, subject, body, created_at, status,"
                   " attempts, next_attempt_at, last_error, delivered_at, lease_id")

_QUERY_COLUMNS = ("owner", "tier", "priority", "channel", "ladder", "customer")


def _dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class SqliteStore(Store):
    """One SQLite file in WAL mode; every commit is one IMMEDIATE transaction."""

    def __init__(self, path: str | Path, *, url: str | None = None,
                 busy_timeout: float = 5.0) -> None:
        self.path = str(path)
        self.url = url or f"sqlite:///{self.path}"
        self._lock = threading.RLock()
        self._busy_timeout = busy_timeout
        self._stale = False
        self._db = self._connect()
        try:
            self._migrate()
        except (sqlite3.Error, StorageError) as exc:
            self._db.close()
            if isinstance(exc, StorageError):
                raise
            raise StorageError(f"cannot open SQLite database {self.path!r}: {exc}; check that "
                               "the path exists, is writable and is an escalate database") from exc

    # -- plumbing --------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        """A configured connection (WAL, synchronous=NORMAL, busy timeout)."""
        try:
            db = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None,
                                 check_same_thread=False)
        except sqlite3.Error as exc:
            raise _storage_error("open", self.path, exc) from exc
        try:
            db.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            if self.path != ":memory:":
                self._enable_wal(db)
            db.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            db.close()
            raise StorageError(f"cannot open SQLite database {self.path!r}: {exc}; check that "
                               "the path exists, is writable and is an escalate database") from exc
        return db

    def _enable_wal(self, db: sqlite3.Connection) -> None:
        """Switch to WAL; retried within the busy timeout, because SQLite refuses the switch
        at once (without waiting) when processes opening a new file at once contend for it."""
        deadline = time.monotonic() + self._busy_timeout
        while True:
            try:
                db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _migrate(self) -> None:
        """Bring the schema up to date, once, however many processes open the file at once.

        The version is read again inside an EXCLUSIVE transaction: a process that waited for
        the lock finds the migrations another one committed and runs none of them.
        """
        if self._schema_version() == len(MIGRATIONS):
            return  # the common case: no write lock taken
        with self._write("EXCLUSIVE"):
            version = self._schema_version()
            for number in range(version, len(MIGRATIONS)):
                for statement in _statements(MIGRATIONS[number]):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number + 1}")

    def _schema_version(self) -> int:
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version > len(MIGRATIONS):
            raise StorageError(
                f"database {self.path!r} has schema version {version}, newer than this "
                f"escalate understands ({len(MIGRATIONS)}); upgrade escalate")
        return int(version)

    @contextlib.contextmanager
    def _write(self, begin: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE (or EXCLUSIVE) transaction; rolled back on any error, sqlite errors
        as StorageError."""
        with self._lock:
            if self._stale and self.path != ":memory:":
                # SQLite keeps a connection read-only once the file was; reconnect to recover
                self._db.close()
                self._db = self._connect()
                self._stale = False
            try:
                self._db.execute(f"BEGIN {begin}")
            except sqlite3.Error as exc:
                raise _storage_error("begin a transaction", self.path, exc) from exc
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    self._stale = "readonly" in str(exc) or "read-only" in str(exc)
                    raise _storage_error("write", self.path, exc) from exc
                if isinstance(exc, UnicodeEncodeError):
                    raise _unencodable("write", self.path, exc) from None
                raise

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise _storage_error("read", self.path, exc) from exc
            except UnicodeEncodeError as exc:
                raise _unencodable("read", self.path, exc) from None

    # -- cases and events ------------------------------------------------------------

    def record_availability(self, change: AvailabilityChange) -> None:
        """Append to the agent's availability trail in one transaction."""
        with self._write() as db:
            (last,) = db.execute("SELECT coalesce(max(seq), 0) FROM availability WHERE agent = ?",
                                 (change.agent,)).fetchone()
            if change.seq != last + 1:
                raise availability_conflict(change)
            db.execute("INSERT INTO availability (agent, seq, at, body) VALUES (?, ?, ?, ?)",
                       (change.agent, change.seq, format_time(change.at),
                        availability_body(change)))

    def availability(self, agent: str | None = None) -> list[AvailabilityChange]:
        """The availability trail, oldest first."""
        if agent is None:
            rows = self._read("SELECT body FROM availability ORDER BY at, agent, seq")
        else:
            rows = self._read("SELECT body FROM availability WHERE agent = ? ORDER BY seq",
                              (agent,))
        return [availability_from_body(body) for (body,) in rows]

    def latest_availability(self) -> dict[str, AvailabilityChange]:
        """Each agent's latest change, read from the primary key."""
        rows = self._read("SELECT body FROM availability AS a WHERE seq = "
                          "(SELECT max(seq) FROM availability WHERE agent = a.agent)")
        return {c.agent: c for c in (availability_from_body(body) for (body,) in rows)}

    def next_in_rotation(self, key: str) -> int:
        """Count a turn of the rotation `key` in one transaction."""
        with self._write() as db:
            (turns,) = db.execute(
                "INSERT INTO rotations (key, turns) VALUES (?, 1) ON CONFLICT (key) "
                "DO UPDATE SET turns = turns + 1 RETURNING turns", (key,)).fetchone()
        return int(turns) - 1

    def allocate_id(self) -> str:
        """Return "C-n" from an AUTOINCREMENT sequence shared by every process."""
        while True:
            with self._write() as db:
                number = db.execute("INSERT INTO case_ids DEFAULT VALUES").lastrowid
            candidate = f"C-{number}"
            if self.get(candidate) is None:  # else an imported case took this id
                return candidate

    def get(self, case_id: str) -> Case | None:
        """The stored case, or None."""
        rows = self._read("SELECT body FROM cases WHERE id = ?", (case_id,))
        return case_from_dict(json.loads(rows[0][0])) if rows else None

    def events(self, case_id: str) -> list[Event]:
        """The case's events in sequence order."""
        rows = self._read("SELECT body FROM events WHERE case_id = ? ORDER BY seq", (case_id,))
        return [event_from_dict(json.loads(body)) for (body,) in rows]

    def find(self, query: CaseQuery) -> list[Case]:
        """Matching cases, oldest first, using the indexed columns."""
        clauses: list[str] = []
        params: list[Any] = []
        if query.status is not None:
            clauses.append(f"status IN ({', '.join('?' for _ in query.status)})")
            params.extend(query.status)
        for column in _QUERY_COLUMNS:
            value = getattr(query, column)
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if query.after is not None:
            clauses.append("(opened_at, rowid) > (SELECT opened_at, rowid FROM cases"
                           " WHERE id = ?)")
            params.append(query.after)
        sql = "SELECT body FROM cases"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY opened_at, rowid"
        if query.limit is not None:
            sql += " LIMIT ?"
            params.append(query.limit)
        return [case_from_dict(json.loads(body)) for (body,) in self._read(sql, tuple(params))]

    def commit(self, change: Change) -> None:
        """Write case, events, timers and outbox rows in one IMMEDIATE transaction."""
        with self._write() as db:
            self._apply(db, change)

    def get_setting(self, key: str) -> str | None:
        """The value under `key` in the settings table (None when there is no table yet)."""
        tables = self._read("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                            ("settings",))
        if not tables:
            return None
        rows = self._read("SELECT value FROM settings WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def put_setting(self, key: str, value: str) -> None:
        """Store `value` under `key`; the settings table is made on first use."""
        with self._write() as db:
            db.execute("CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY,"
                       " value TEXT NOT NULL)")
            db.execute("INSERT INTO settings (key, value) VALUES (?, ?)"
                       " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    def commit_many(self, changes: Sequence[Change]) -> None:
        """Write every change in one IMMEDIATE transaction; a conflict writes nothing."""
        if not changes:
            return
        with self._write() as db:
            for change in changes:
                self._apply(db, change)

    def _apply(self, db: sqlite3.Connection, change: Change) -> None:
        case = change.case
        body = _dumps(case_to_dict(case))
        row = (case.status.value, case.owner.ref, case.ladder, case.tier, case.priority,
               case.channel, case.customer, format_time(case.opened_at),
               format_time(case.updated_at), case.version, body)
        if change.expected_version == 0:
            try:
                db.execute(
                    "INSERT INTO cases (status, owner, ladder, tier, priority, channel, customer,"
                    " opened_at, updated_at, version, body, id)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (*row, case.id))
            except sqlite3.IntegrityError:
                raise ConflictError(case.id, 0) from None
        else:
            cursor = db.execute(
                "UPDATE cases SET status = ?, owner = ?, ladder = ?, tier = ?, priority = ?,"
                " channel = ?, customer = ?, opened_at = ?, updated_at = ?, version = ?, body = ?"
                " WHERE id = ? AND version = ?", (*row, case.id, change.expected_version))
            if cursor.rowcount != 1:
                raise ConflictError(case.id, change.expected_version)
        try:
            db.executemany(
                "INSERT INTO events (case_id, seq, at, kind, actor, body)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(e.case_id, e.seq, format_time(e.at), e.kind.value, e.actor,
                  _dumps(event_to_dict(e))) for e in change.events])
        except sqlite3.IntegrityError:
            raise ConflictError(case.id, change.expected_version) from None
        if change.timers is not None:
            db.execute("DELETE FROM timers WHERE case_id = ?", (case.id,))
            db.executemany(
                "INSERT INTO timers (case_id, clock, due_at, action) VALUES (?, ?, ?, ?)",
                [(t.case_id, t.clock, format_time(t.due_at), t.action.value)
                 for t in change.timers])
        if change.notifications:
            self._insert_notifications(db, distinct_notifications(change.notifications))

    def _insert_notifications(self, db: sqlite3.Connection,
                              notes: tuple[Notification, ...]) -> None:
        """Insert new outbox rows; a row already stored is kept, a key clash is refused."""
        before = db.total_changes
        db.executemany(
            f"INSERT OR IGNORE INTO outbox ({_OUTBOX_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [_notification_row(n) for n in notes])
        if db.total_changes - before == len(notes):
            return
        for note in notes:
            stored = db.execute("SELECT case_id, seq, recipient, channel FROM outbox"
                                " WHERE key = ?", (note.key,)).fetchone()
            if stored is not None and tuple(stored) != note.identity:
                raise key_clash(note.key, tuple(stored), note.identity)

    def case_ids(self) -> Iterator[str]:
        """Every case id, oldest first."""
        return iter([case_id for (case_id,) in
                     self._read("SELECT id FROM cases ORDER BY opened_at, rowid")])

    def all_events(self, since: datetime | None = None,
                   until: datetime | None = None) -> Iterator[Event]:
        """Events in the time window, read in pages so memory stays flat."""
        low = "" if since is None else format_time(since)
        high = "\uffff" if until is None else format_time(until)
        last: tuple[str, str, int] = (low, "", -1)
        while True:
            rows = self._read(EVENTS_PAGE, (high, *last))
            if not rows:
                return
            for at, case_id, seq, body in rows:
                yield event_from_dict(json.loads(body))
                last = (at, case_id, seq)

    # -- timers ----------------------------------------------------------------------

    def timers(self, case_id: str) -> list[Timer]:
        """The case's timers, earliest first."""
        rows = self._read("SELECT case_id, clock, due_at, action FROM timers WHERE case_id = ?"
                          " ORDER BY due_at", (case_id,))
        return [_timer(row) for row in rows]

    def next_due_at(self) -> datetime | None:
        """The earliest due time, from the due-time index."""
        rows = self._read("SELECT MIN(due_at) FROM timers")
        return parse_time(rows[0][0]) if rows and rows[0][0] else None

    def fire_due(self, now: datetime, limit: int, handler: TimerHandler,
                 stop: threading.Event | None = None) -> list[Event]:
        """Handle due timers earliest first, one IMMEDIATE transaction each.

        The earliest due timer is selected inside each transaction, so a timer written by an
        earlier firing (a breach after a warning) keeps its place, and a timer another desk
        has handled is never seen again. Timers the handler keeps are passed over by reading
        one row more per kept timer.
        """
        fired: list[Event] = []
        cutoff = format_time(now)
        if not self._read("SELECT 1 FROM timers WHERE due_at <= ? LIMIT 1", (cutoff,)):
            return fired  # nothing due: no write lock taken
        kept: set[tuple[str, str]] = set()
        handled = 0
        while handled < limit:
            if stop is not None and stop.is_set():
                break
            with self._write() as db:
                rows = db.execute(
                    "SELECT t.case_id, t.clock, t.due_at, t.action, c.body FROM timers t"
                    " JOIN cases c ON c.id = t.case_id WHERE t.due_at <= ?"
                    " ORDER BY t.due_at, t.case_id, t.clock LIMIT ?",
                    (cutoff, len(kept) + 1)).fetchall()
                row = next((r for r in rows if (r[0], r[1]) not in kept), None)
                if row is None:
                    break
                timer = _timer(row[:4])
                change = handler(case_from_dict(json.loads(row[4])), timer)
                if isinstance(change, Keep):
                    kept.add((timer.case_id, timer.clock))
                    continue
                handled += 1
                if change is None:
                    db.execute("DELETE FROM timers WHERE case_id = ? AND clock = ?",
                               (timer.case_id, timer.clock))
                    continue
                self._apply(db, change)
            fired.extend(change.events)
        return fired

    # -- outbox ----------------------------------------------------------------------

    def notifications(self, *, status: str | None = None, case_id: str | None = None,
                      limit: int | None = None) -> list[Notification]:
        """Outbox rows in creation order."""
        clauses, params = [], []
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        if case_id is not None:
            clauses.append("case_id = ?")
            params.append(case_id)
        sql = f"SELECT {_OUTBOX_COLUMNS} FROM outbox"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY created_at, key"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_notification(row) for row in self._read(sql, tuple(params))]

    def claim_notifications(self, now: datetime, limit: int,
                            lease: timedelta) -> list[Notification]:
        """Lease due pending rows in one short transaction, counting the attempt."""
        until = now + lease
        with self._write() as db:
            rows = db.execute(
                f"SELECT {_OUTBOX_COLUMNS} FROM outbox"
                " WHERE status = 'pending' AND next_attempt_at <= ?"
                " ORDER BY next_attempt_at, key LIMIT ?", (format_time(now), limit)).fetchall()
            db.executemany("UPDATE outbox SET next_attempt_at = ?, attempts = attempts + 1,"
                           " lease_id = lease_id + 1 WHERE key = ?",
                           [(format_time(until), row[0]) for row in rows])
        claimed = [_notification(row) for row in rows]
        return [attrs.evolve(note, next_attempt_at=until, attempts=note.attempts + 1,
                             lease_id=note.lease_id + 1) for note in claimed]

    def update_notification(self, notification: Notification) -> bool:
        """Store a delivery outcome, unless another claim has taken the row since."""
        row = _notification_row(notification)
        with self._write() as db:
            cursor = db.execute(
                "UPDATE outbox SET status = ?, attempts = ?, next_attempt_at = ?,"
                " last_error = ?, delivered_at = ? WHERE key = ? AND lease_id = ?",
                (row[8], row[9], row[10], row[11], row[12], row[0], row[13]))
        return cursor.rowcount == 1

    # -- read-only inspection (sqlite_inspection) ----------------------------------------

    def inspect_case_ids(self) -> list[str]:
        """Case ids from every table, the cases table's oldest first."""
        return self._inspect(inspection.case_ids)

    def inspect_case(self, case_id: str) -> RawRow | None:
        """The case row as stored."""
        found = self._inspect(inspection.rows, "cases", "id = ?", (case_id,))
        return found[0] if found else None

    def inspect_events(self, case_id: str) -> list[RawRow]:
        """The case's event rows as stored, by sequence number."""
        return self._inspect(inspection.rows, "events", "case_id = ? ORDER BY seq", (case_id,))

    def inspect_timers(self, case_id: str) -> list[RawRow]:
        """The case's timer rows as stored."""
        return self._inspect(inspection.rows, "timers", "case_id = ? ORDER BY clock",
                             (case_id,))

    def inspect_outbox(self, case_id: str) -> list[RawRow]:
        """The case's outbox rows as stored."""
        return self._inspect(inspection.rows, "outbox", "case_id = ? ORDER BY created_at, key",
                             (case_id,))

    def registered_ids(self) -> set[str] | None:
        """Every case id the registry recorded when the case was first stored."""
        return self._inspect(inspection.registered_ids)

    def _inspect(self, read: Callable[..., R], *args: Any) -> R:
        with self._lock:
            try:
                return read(self._db, *args)
            except sqlite3.Error as exc:
                raise _storage_error("read", self.path, exc) from exc

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()


def _statements(script: str) -> list[str]:
    """Split a migration script into statements, keeping trigger bodies whole."""
    statements: list[str] = []
    buffer = ""
    for line in script.strip().splitlines():
        buffer += line + "\n"
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return statements


def _timer(row: tuple[str, str, str, str]) -> Timer:
    return Timer(case_id=row[0], clock=row[1], due_at=parse_time(row[2]), action=Action(row[3]))


def _notification_row(n: Notification) -> tuple[Any, ...]:
    return (n.key, n.case_id, n.seq, n.recipient, n.channel, n.subject, n.body,
            format_time(n.created_at), n.status, n.attempts,
            format_time(n.next_attempt_at or n.created_at), n.last_error,
            None if n.delivered_at is None else format_time(n.delivered_at), n.lease_id)


def _notification(row: tuple[Any, ...]) -> Notification:
    return Notification(
        key=row[0], case_id=row[1], seq=row[2], recipient=row[3], channel=row[4],
        subject=row[5], body=row[6], created_at=parse_time(row[7]), status=row[8],
        attempts=row[9], next_attempt_at=parse_time(row[10]), last_error=row[11],
        delivered_at=None if row[12] is None else parse_time(row[12]), lease_id=row[13])


def _storage_error(doing: str, path: str, exc: sqlite3.Error) -> StorageError:
    text = str(exc)
    hint = "check the file and try again"
    if "locked" in text or "busy" in text:
        hint = "another process holds the database; try again when it is done"
    elif "readonly" in text or "read-only" in text:
        hint = "make the database file and its folder writable"
    elif "full" in text:
        hint = "free disk space; nothing was written"
    return StorageError(f"cannot {doing} SQLite database {path!r}: {text}; {hint}")



def _unencodable(doing: str, path: str, exc: UnicodeEncodeError) -> StorageError:
    shown = exc.object[max(exc.start - 20, 0):exc.end + 20]
    return StorageError(f"cannot {doing} SQLite database {path!r}: a value contains invalid "
                        f"Unicode (a lone surrogate) near {shown!r}; nothing was written, "
                        "decode the text properly before passing it")
