"""`postgresql://user@host/db?schema=desk`: one schema shared by any number of processes.

Each `commit` is one transaction. Due timers and due notifications are claimed with
`FOR UPDATE SKIP LOCKED`, so several workers never act on the same row, and a worker that
dies releases its claims with its transaction. Cases and events are stored as the same JSON
bodies the SQLite store writes (through `escalate.codec`); the other columns exist for
filtering and ordering.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from escalate.codec import case_from_dict, case_to_dict, event_from_dict, event_to_dict
from escalate.errors import ConfigError, ConflictError, StorageError
from escalate.model import Action, Case, Event
from escalate.stores.base import (
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
from escalate.stores.roster import (
    availability_body,
    availability_conflict,
    availability_from_body,
)

from . import inspection
from .options import Options, check_schema, parse_url, redact
from .schema import migrate, quote

__all__ = ["PostgresStore", "timer_channel"]

#: How many events `all_events` reads per round trip.
PAGE_SIZE = 2000

_QUERY_COLUMNS = ("owner", "tier", "priority", "channel", "ladder", "customer")
_OUTBOX_COLUMNS = ("key, case_id, seq, recipient, channel, subject, body, created_at, status,"
                   " attempts, next_attempt_at, last_error, delivered_at, lease_id")
#: Marks a stored text that had to be JSON-encoded (PostgreSQL text cannot hold NUL).
_MARK = "\x1bjson:"
_CONNECT_TIMEOUT = 10
#: How often a wait for timer changes looks at its stop event.
_STOP_POLL = 0.25


def timer_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel on which commits to `schema` announce new timers."""
    channel = f"escalate_timers.{schema}"
    if len(channel) <= 63:  # PostgreSQL truncates longer identifiers
        return channel
    digest = hashlib.sha256(schema.encode()).hexdigest()[:8]
    return f"escalate_timers.{schema[:38]}.{digest}"


class PostgresStore(Store):
    """Cases, events, timers and the outbox in one PostgreSQL schema, shared by many processes.

    `url` is a libpq URL; keyword arguments override the URL's `schema`, `pool_min`,
    `pool_max` and `pool_timeout` query options. The schema is created or migrated on open.
    """

    def __init__(self, url: str, *, schema: str | None = None, pool_min: int | None = None,
                 pool_max: int | None = None, pool_timeout: float | None = None) -> None:
        options = parse_url(url)
        overrides: dict[str, Any] = {
            "schema": None if schema is None else check_schema(schema),
            "pool_min": pool_min, "pool_max": pool_max, "pool_timeout": pool_timeout}
        options = attrs.evolve(options, **{k: v for k, v in overrides.items() if v is not None})
        if options.pool_min < 0 or options.pool_max < max(1, options.pool_min):
            raise ConfigError("store.pool_max", f"pool_min={options.pool_min} and pool_max="
                                                f"{options.pool_max} need 0 <= pool_min <= "
                                                "pool_max and pool_max >= 1")
        self.options: Options = options
        self.schema = options.schema
        self.url = redact(url)
        self.channel = timer_channel(options.schema)
        self._s = quote(options.schema)
        self._where = f"PostgreSQL database {redact(options.conninfo)!r} (schema " \
                      f"{options.schema!r})"
        self._connect_kwargs: dict[str, Any] = {"autocommit": True, "client_encoding": "utf8"}
        try:
            if "connect_timeout" not in conninfo_to_dict(options.conninfo):
                self._connect_kwargs["connect_timeout"] = _CONNECT_TIMEOUT
        except psycopg.Error as exc:
            raise ConfigError("store", f"{redact(url)!r} is not a valid PostgreSQL URL: "
                                       f"{exc}") from None
        self._listen_lock = threading.Lock()
        self._listener: psycopg.Connection[TupleRow] | None = None
        self._closed = False
        try:
            with self._connect() as conn:
                _check_encoding(conn, options.schema)
                migrate(conn, options.schema)
        except psycopg.Error as exc:
            raise _storage_error("open", self._where, exc) from exc
        self._pool: ConnectionPool[psycopg.Connection[TupleRow]] = ConnectionPool(
            options.conninfo, kwargs=self._connect_kwargs, min_size=options.pool_min,
            max_size=options.pool_max, timeout=options.pool_timeout, open=False,
            check=ConnectionPool.check_connection, name=f"escalate-{options.schema}")
        try:
            self._pool.open(wait=True, timeout=options.pool_timeout)
        except psycopg.Error as exc:
            self._pool.close()
            raise _storage_error("open a connection pool to", self._where, exc) from exc

    def __repr__(self) -> str:
        return f"PostgresStore({self.url!r}, schema={self.schema!r})"

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[TupleRow]:
        return psycopg.connect(self.options.conninfo, **self._connect_kwargs)

    @contextlib.contextmanager
    def _transaction(self, doing: str) -> Iterator[psycopg.Connection[TupleRow]]:
        """One transaction on a pooled connection; database errors become StorageError."""
        try:
            with self._pool.connection() as conn, conn.transaction():
                yield conn
        except psycopg.Error as exc:
            if isinstance(exc, pg_errors.DeadlockDetected | pg_errors.SerializationFailure):
                raise StorageError(f"cannot {doing} {self._where}: another transaction got in "
                                   "the way and this one was rolled back; try again") from exc
            raise _storage_error(doing, self._where, exc) from exc

    def _rows(self, doing: str, query: str, params: tuple[Any, ...] = ()) -> list[TupleRow]:
        """Run one statement (atomic by itself) outside any explicit transaction."""
        try:
            with self._pool.connection() as conn:
                return conn.execute(query, params).fetchall()
        except psycopg.Error as exc:
            raise _storage_error(doing, self._where, exc) from exc

    # -- cases and events ------------------------------------------------------------

    def allocate_id(self) -> str:
        """Return "C-n" from a sequence shared by every process using the schema."""
        while True:
            rows = self._rows(
                "allocate a case id from",
                f"SELECT n, EXISTS (SELECT 1 FROM {self._s}.cases WHERE id = 'C-' || n)"
                f" FROM (SELECT nextval(%s) AS n) AS next", (f"{self._s}.case_numbers",))
            number, taken = rows[0]
            if not taken:  # an imported case may already use the number
                return f"C-{number}"

    def get(self, case_id: str) -> Case | None:
        """The stored case, or None."""
        rows = self._rows("read a case from",
                          f"SELECT body FROM {self._s}.cases WHERE id = %s", (_put(case_id),))
        return case_from_dict(json.loads(rows[0][0])) if rows else None

    def events(self, case_id: str) -> list[Event]:
        """The case's events in sequence order."""
        rows = self._rows("read events from",
                          f"SELECT body FROM {self._s}.events WHERE case_id = %s ORDER BY seq",
                          (_put(case_id),))
        return [event_from_dict(json.loads(body)) for (body,) in rows]

    def find(self, query: CaseQuery) -> list[Case]:
        """Matching cases, oldest first (opening time, then insertion order)."""
        clauses: list[str] = []
        params: list[Any] = []
        if query.status is not None:
            clauses.append("status = ANY(%s)")
            params.append([_put(status) for status in query.status])
        for column in _QUERY_COLUMNS:
            value = getattr(query, column)
            if value is not None:
                clauses.append(f"{column} = %s")
                params.append(_put(value))
        if query.after is not None:
            clauses.append(f"(opened_at, num) > (SELECT opened_at, num FROM {self._s}.cases"
                           " WHERE id = %s)")
            params.append(_put(query.after))
        sql = f"SELECT body FROM {self._s}.cases"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY opened_at, num LIMIT %s"
        params.append(_limit(query.limit))
        return [case_from_dict(json.loads(body))
                for (body,) in self._rows("find cases in", sql, tuple(params))]

    def commit(self, change: Change) -> None:
        """Write case, events, timers and outbox rows in one transaction.

        A deadlock or serialisation abort is reported as ConflictError: nothing was written
        and the action can be retried like any lost race.
        """
        try:
            with self._transaction("commit a change to") as conn:
                self._apply(conn, change)
        except StorageError as exc:
            if isinstance(exc.__cause__, pg_errors.DeadlockDetected
                          | pg_errors.SerializationFailure):
                raise ConflictError(change.case.id, change.expected_version) from exc
            raise

    def get_setting(self, key: str) -> str | None:
        """The value under `key` in the schema's settings table (None without one)."""
        exists = self._rows("look for the settings of", "SELECT to_regclass(%s)",
                            (f"{self._s}.settings",))
        if exists[0][0] is None:
            return None
        rows = self._rows("read a setting from",
                          f"SELECT value FROM {self._s}.settings WHERE key = %s", (key,))
        return str(rows[0][0]) if rows else None

    def put_setting(self, key: str, value: str) -> None:
        """Store `value` under `key`; the settings table is made on first use."""
        with self._transaction("store a setting in") as conn:
            conn.execute(f"CREATE TABLE IF NOT EXISTS {self._s}.settings"
                         " (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            conn.execute(f"INSERT INTO {self._s}.settings (key, value) VALUES (%s, %s)"
                         " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", (key, value))

    def commit_many(self, changes: Sequence[Change]) -> None:
        """Write every change in one transaction; a conflict or deadlock writes nothing."""
        if not changes:
            return
        try:
            with self._transaction("commit changes to") as conn:
                for change in changes:
                    self._apply(conn, change)
        except StorageError as exc:
            if isinstance(exc.__cause__, pg_errors.DeadlockDetected
                          | pg_errors.SerializationFailure):
                first = changes[0]
                raise ConflictError(first.case.id, first.expected_version) from exc
            raise

    def _apply(self, conn: psycopg.Connection[TupleRow], change: Change) -> None:
        case = change.case
        s = self._s
        row = (_put(case.status.value), _put(case.owner.ref), _put(case.ladder), _put(case.tier),
               _put(case.priority), _put(case.channel), _put(case.customer), case.opened_at,
               case.updated_at, case.version, _dumps(case_to_dict(case)))
        if change.expected_version == 0:
            try:
                conn.execute(
                    f"INSERT INTO {s}.cases (status, owner, ladder, tier, priority, channel,"
                    " customer, opened_at, updated_at, version, body, id)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (*row, _put(case.id)))
            except pg_errors.UniqueViolation:
                raise ConflictError(case.id, 0) from None
        else:
            cursor = conn.execute(
                f"UPDATE {s}.cases SET status = %s, owner = %s, ladder = %s, tier = %s,"
                " priority = %s, channel = %s, customer = %s, opened_at = %s, updated_at = %s,"
                " version = %s, body = %s WHERE id = %s AND version = %s",
                (*row, _put(case.id), change.expected_version))
            if cursor.rowcount != 1:
                raise ConflictError(case.id, change.expected_version)
        if change.events:
            try:
                with conn.cursor() as cursor:
                    cursor.executemany(
                        f"INSERT INTO {s}.events (case_id, seq, at, kind, actor, body)"
                        " VALUES (%s, %s, %s, %s, %s, %s)",
                        [(_put(e.case_id), e.seq, e.at, _put(e.kind.value), _put_opt(e.actor),
                          _dumps(event_to_dict(e))) for e in change.events])
            except pg_errors.UniqueViolation:
                raise ConflictError(case.id, change.expected_version) from None
        if change.timers is not None:
            conn.execute(f"DELETE FROM {s}.timers WHERE case_id = %s", (_put(case.id),))
            if change.timers:
                with conn.cursor() as cursor:
                    cursor.executemany(
                        f"INSERT INTO {s}.timers (case_id, clock, due_at, action)"
                        " VALUES (%s, %s, %s, %s)",
                        [(_put(t.case_id), _put(t.clock), t.due_at, _put(t.action.value))
                         for t in change.timers])
        if change.notifications:
            self._insert_notifications(conn, distinct_notifications(change.notifications))
        if change.timers is not None or change.notifications:
            # Delivered when the transaction commits, dropped if it rolls back.
            conn.execute("SELECT pg_notify(%s, %s)",
                         (self.channel, "timers" if change.timers is not None else "outbox"))

    def _insert_notifications(self, conn: psycopg.Connection[TupleRow],
                              notes: tuple[Notification, ...]) -> None:
        """Insert new outbox rows; a row already stored is kept, a key clash is refused."""
        s = self._s
        with conn.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {s}.outbox ({_OUTBOX_COLUMNS})"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (key) DO NOTHING",
                [_notification_row(n) for n in notes])
            if cursor.rowcount == len(notes):
                return
        rows = conn.execute(f"SELECT key, case_id, seq, recipient, channel FROM {s}.outbox"
                            " WHERE key = ANY(%s)", ([_put(n.key) for n in notes],)).fetchall()
        stored = {_get(row[0]): (_get(row[1]), row[2], _get(row[3]), _get(row[4]))
                  for row in rows}
        for note in notes:
            if stored.get(note.key, note.identity) != note.identity:
                raise key_clash(note.key, stored[note.key], note.identity)

    def case_ids(self) -> Iterator[str]:
        """Every case id, oldest first."""
        rows = self._rows("list cases in",
                          f"SELECT id FROM {self._s}.cases ORDER BY opened_at, num")
        return iter([_get(case_id) for (case_id,) in rows])

    def all_events(self, since: datetime | None = None,
                   until: datetime | None = None) -> Iterator[Event]:
        """Events in the time window, read in pages so memory stays flat."""
        bounds: list[str] = []
        window: list[Any] = []
        if since is not None:
            bounds.append("at >= %s")
            window.append(since)
        if until is not None:
            bounds.append("at < %s")
            window.append(until)
        last: tuple[datetime, str, int] | None = None
        while True:
            clauses = list(bounds)
            params = list(window)
            if last is not None:
                clauses.append("(at, case_id, seq) > (%s, %s, %s)")
                params.extend(last)
            sql = f"SELECT at, case_id, seq, body FROM {self._s}.events"
            if clauses:
                sql += " WHERE " + " AND ".join(clauses)
            sql += f" ORDER BY at, case_id, seq LIMIT {PAGE_SIZE}"
            rows = self._rows("read events from", sql, tuple(params))
            for at, case_id, seq, body in rows:
                yield event_from_dict(json.loads(body))
                last = (at, case_id, seq)
            if len(rows) < PAGE_SIZE:
                return

    # -- timers ----------------------------------------------------------------------

    def timers(self, case_id: str) -> list[Timer]:
        """The case's timers, earliest first."""
        rows = self._rows("read timers from",
                          f"SELECT case_id, clock, due_at, action FROM {self._s}.timers"
                          " WHERE case_id = %s ORDER BY due_at, clock", (_put(case_id),))
        return [_timer(row) for row in rows]

    def next_due_at(self) -> datetime | None:
        """The earliest due time, from the due-time index."""
        rows = self._rows("read timers from", f"SELECT min(due_at) FROM {self._s}.timers")
        return _utc(rows[0][0]) if rows and rows[0][0] is not None else None

    def fire_due(self, now: datetime, limit: int, handler: TimerHandler,
                 stop: threading.Event | None = None) -> list[Event]:
        """Handle up to `limit` due timers, each in its own transaction, earliest first.

        Each transaction takes the case of the earliest due timer whose case row no other
        transaction holds (`FOR UPDATE OF c SKIP LOCKED`), then reads that case's earliest
        due timer under the lock, calls `handler` and writes its change before committing.
        The case row is the lock for all of its timers: every commit that replaces timers
        updates the case row first, so a timer cannot change or fire twice while a worker
        holds its case, the timers of one case fire in due order, and a worker never waits
        while holding a timer someone else needs (no deadlock with ordinary commits). A
        worker that dies releases the case with its transaction. Timers the handler keeps
        are excluded from the rest of the call by their (case, clock) key.
        """
        fired: list[Event] = []
        s = self._s
        kept_ids: list[str] = []
        kept_clocks: list[str] = []
        handled = 0
        while handled < max(0, limit):
            if stop is not None and stop.is_set():
                break
            unkept, extra = "", tuple[list[str], ...]()
            if kept_ids:  # timers the handler kept are passed over for the rest of the call
                unkept = (" AND (t.case_id, t.clock) NOT IN"
                          " (SELECT * FROM unnest(%s::text[], %s::text[]))")
                extra = (kept_ids, kept_clocks)
            with self._transaction("fire a timer in") as conn:
                claimed = conn.execute(
                    f"SELECT c.id, c.body FROM {s}.timers AS t"
                    f" JOIN {s}.cases AS c ON c.id = t.case_id"
                    f" WHERE t.due_at <= %s{unkept} ORDER BY t.due_at, t.case_id, t.clock"
                    " LIMIT 1 FOR UPDATE OF c SKIP LOCKED", (now, *extra)).fetchone()
                if claimed is None:
                    break
                due = conn.execute(
                    f"SELECT case_id, clock, due_at, action FROM {s}.timers AS t"
                    f" WHERE case_id = %s AND due_at <= %s{unkept} ORDER BY due_at, clock"
                    " LIMIT 1", (claimed[0], now, *extra)).fetchone()
                if due is None:
                    handled += 1
                    continue  # its timers moved on before the lock was granted
                timer = _timer(due)
                change = handler(case_from_dict(json.loads(claimed[1])), timer)
                if isinstance(change, Keep):
                    kept_ids.append(timer.case_id)
                    kept_clocks.append(timer.clock)
                    continue
                handled += 1
                if change is None:
                    conn.execute(f"DELETE FROM {s}.timers WHERE case_id = %s AND clock = %s",
                                 (due[0], due[1]))
                    continue
                self._apply(conn, change)
            fired.extend(change.events)
        return fired

    def wait_for_timer_change(self, timeout: float,
                              stop: threading.Event | None = None) -> bool:
        """Wait up to `timeout` seconds for a commit that wrote timers or notifications.

        Returns True when one was announced (LISTEN on a dedicated connection), False on
        timeout or, when `stop` is given, as soon as `stop` is set. The first call starts
        listening and returns True at once, because a change made before listening began
        cannot be ruled out.
        """
        deadline = time.monotonic() + max(0.0, timeout)
        with self._listen_lock:
            if self._closed:
                raise StorageError(f"cannot listen on {self._where}: the store is closed")
            if self._listener is None:
                try:
                    self._listener = self._connect()
                    self._listener.execute(f"LISTEN {quote(self.channel)}")
                except psycopg.Error as exc:
                    self._drop_listener()
                    raise _storage_error("listen on", self._where, exc) from exc
                return True
            try:
                while True:
                    left = deadline - time.monotonic()
                    if stop is not None:
                        if stop.is_set():
                            return False
                        left = min(left, _STOP_POLL)
                    if self._heard(max(0.0, left)):
                        return True
                    if time.monotonic() >= deadline:
                        return False
            except psycopg.Error:
                self._drop_listener()  # reconnect on the next call
                return True

    def _heard(self, timeout: float) -> bool:
        """True if a notification arrives within `timeout`; takes the rest of a burst too."""
        assert self._listener is not None
        heard = any(True for _ in self._listener.notifies(timeout=timeout, stop_after=1))
        if heard:  # so that the next wait really waits
            for _ in self._listener.notifies(timeout=0):
                pass
        return heard

    def _drop_listener(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(psycopg.Error):
                self._listener.close()
            self._listener = None

    # -- the agent roster ------------------------------------------------------------

    def record_availability(self, change: AvailabilityChange) -> None:
        """Append to the agent's availability trail; a taken seq is a ConflictError."""
        try:
            with self._transaction("record availability in") as conn:
                row = conn.execute(f"SELECT coalesce(max(seq), 0) FROM {self._s}.availability"
                                   " WHERE agent = %s", (_put(change.agent),)).fetchone()
                if row is None or change.seq != int(row[0]) + 1:
                    raise availability_conflict(change)
                conn.execute(f"INSERT INTO {self._s}.availability (agent, seq, at, body)"
                             " VALUES (%s, %s, %s, %s)", (_put(change.agent), change.seq,
                                                          change.at, availability_body(change)))
        except StorageError as exc:
            if isinstance(exc.__cause__, pg_errors.UniqueViolation):
                raise availability_conflict(change) from exc
            raise

    def availability(self, agent: str | None = None) -> list[AvailabilityChange]:
        """The availability trail, oldest first."""
        if agent is None:
            rows = self._rows("read availability from",
                              f"SELECT body FROM {self._s}.availability ORDER BY at, agent, seq")
        else:
            rows = self._rows("read availability from",
                              f"SELECT body FROM {self._s}.availability WHERE agent = %s"
                              " ORDER BY seq", (_put(agent),))
        return [availability_from_body(body) for (body,) in rows]

    def latest_availability(self) -> dict[str, AvailabilityChange]:
        """Each agent's latest change."""
        rows = self._rows("read availability from",
                          f"SELECT DISTINCT ON (agent) body FROM {self._s}.availability"
                          " ORDER BY agent, seq DESC")
        return {c.agent: c for c in (availability_from_body(body) for (body,) in rows)}

    def next_in_rotation(self, key: str) -> int:
        """Count a turn of the rotation `key` atomically."""
        with self._transaction("count a rotation in") as conn:
            row = conn.execute(
                f"INSERT INTO {self._s}.rotations (key, turns) VALUES (%s, 1)"
                " ON CONFLICT (key) DO UPDATE SET turns = rotations.turns + 1"
                " RETURNING turns", (_put(key),)).fetchone()
        assert row is not None
        return int(row[0]) - 1

    # -- outbox ----------------------------------------------------------------------

    def notifications(self, *, status: str | None = None, case_id: str | None = None,
                      limit: int | None = None) -> list[Notification]:
        """Outbox rows in creation order."""
        clauses: list[str] = []
        params: list[Any] = []
        if status is not None:
            clauses.append("status = %s")
            params.append(_put(status))
        if case_id is not None:
            clauses.append("case_id = %s")
            params.append(_put(case_id))
        sql = f"SELECT {_OUTBOX_COLUMNS} FROM {self._s}.outbox"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY created_at, key LIMIT %s"
        params.append(_limit(limit))
        return [_notification(row)
                for row in self._rows("read notifications from", sql, tuple(params))]

    def claim_notifications(self, now: datetime, limit: int,
                            lease: timedelta) -> list[Notification]:
        """Lease due pending rows (SKIP LOCKED) in one statement, counting the attempt.

        One statement is atomic by itself, so it runs without BEGIN and COMMIT round trips.
        """
        s = self._s
        columns = ", ".join(f"o.{name.strip()}" for name in _OUTBOX_COLUMNS.split(","))
        rows = self._rows(
            "lease notifications in",
            f"WITH due AS (SELECT key, next_attempt_at FROM {s}.outbox"
            " WHERE status = 'pending' AND next_attempt_at <= %s"
            " ORDER BY next_attempt_at, key LIMIT %s FOR UPDATE SKIP LOCKED)"
            f" UPDATE {s}.outbox AS o SET next_attempt_at = %s, attempts = o.attempts + 1,"
            " lease_id = o.lease_id + 1 FROM due WHERE o.key = due.key"
            f" RETURNING {columns}, due.next_attempt_at",
            (now, _limit(limit), now + lease))
        rows.sort(key=lambda row: (row[-1], row[0]))
        return [_notification(row[:-1]) for row in rows]

    def update_notification(self, notification: Notification) -> bool:
        """Store a delivery outcome, unless another claim has taken the row since."""
        row = _notification_row(notification)
        updated = self._rows(
            "record a delivery in",
            f"UPDATE {self._s}.outbox SET status = %s, attempts = %s, next_attempt_at = %s,"
            " last_error = %s, delivered_at = %s WHERE key = %s AND lease_id = %s RETURNING 1",
            (row[8], row[9], row[10], row[11], row[12], row[0], row[13]))
        return len(updated) == 1

    # -- read-only inspection (escalate_postgres.inspection) ------------------------------

    def inspect_case_ids(self) -> list[str]:
        """Case ids from every table, the cases table's oldest first."""
        return inspection.case_ids(self)

    def inspect_case(self, case_id: str) -> RawRow | None:
        """The case row as stored."""
        found = inspection.rows(self, "cases", "id", case_id, "id")
        return found[0] if found else None

    def inspect_events(self, case_id: str) -> list[RawRow]:
        """The case's event rows as stored, by sequence number."""
        return inspection.rows(self, "events", "case_id", case_id, "seq")

    def inspect_timers(self, case_id: str) -> list[RawRow]:
        """The case's timer rows as stored."""
        return inspection.rows(self, "timers", "case_id", case_id, "clock")

    def inspect_outbox(self, case_id: str) -> list[RawRow]:
        """The case's outbox rows as stored."""
        return inspection.rows(self, "outbox", "case_id", case_id, "created_at, key")

    def registered_ids(self) -> set[str] | None:
        """Every case id the registry recorded when the case was first stored."""
        return inspection.registered_ids(self)

    def close(self) -> None:
        """Close the pool and the listening connection."""
        with self._listen_lock:
            self._closed = True
            self._drop_listener()
        self._pool.close()


# -- conversions ---------------------------------------------------------------------


def _dumps(value: dict[str, Any]) -> str:
    """Compact JSON, like the SQLite store; escapes what UTF-8 cannot carry."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if not _encodable(text):
        text = json.dumps(value, separators=(",", ":"))
    return text


def _encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return False
    return True


def _put(text: str) -> str:
    """Text as stored: unchanged, unless PostgreSQL cannot hold it (NUL, lone surrogates)."""
    if "\x00" in text or text.startswith(_MARK) or not _encodable(text):
        return _MARK + json.dumps(text)
    return text


def _put_opt(text: str | None) -> str | None:
    return None if text is None else _put(text)


def _get(text: str) -> str:
    """The text `_put` stored."""
    if text.startswith(_MARK):
        value: str = json.loads(text[len(_MARK):])
        return value
    return text


def _get_opt(text: str | None) -> str | None:
    return None if text is None else _get(text)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _limit(limit: int | None) -> int | None:
    """A LIMIT parameter; None (LIMIT NULL) means no limit, as does a negative number."""
    return None if limit is None or limit < 0 else limit


def _timer(row: tuple[Any, ...]) -> Timer:
    return Timer(case_id=_get(row[0]), clock=_get(row[1]), due_at=_utc(row[2]),
                 action=Action(_get(row[3])))


def _notification_row(n: Notification) -> tuple[Any, ...]:
    return (_put(n.key), _put(n.case_id), n.seq, _put(n.recipient), _put(n.channel),
            _put(n.subject), _put(n.body), n.created_at, _put(n.status), n.attempts,
            n.next_attempt_at or n.created_at, _put_opt(n.last_error), n.delivered_at,
            n.lease_id)


def _notification(row: tuple[Any, ...]) -> Notification:
    return Notification(
        key=_get(row[0]), case_id=_get(row[1]), seq=row[2], recipient=_get(row[3]),
        channel=_get(row[4]), subject=_get(row[5]), body=_get(row[6]),
        created_at=_utc(row[7]), status=_get(row[8]), attempts=row[9],
        next_attempt_at=_utc(row[10]), last_error=_get_opt(row[11]),
        delivered_at=None if row[12] is None else _utc(row[12]), lease_id=row[13])


# -- errors --------------------------------------------------------------------------


def _check_encoding(conn: psycopg.Connection[TupleRow], schema: str) -> None:
    row = conn.execute("SHOW server_encoding").fetchone()
    encoding = str(row[0]) if row else ""
    if encoding.upper() not in ("UTF8", "SQL_ASCII"):
        raise StorageError(
            f"the database for schema {schema!r} uses encoding {encoding}, which cannot hold "
            "every case text; create the database with ENCODING 'UTF8'")


def _storage_error(doing: str, where: str, exc: psycopg.Error) -> StorageError:
    """A StorageError that says what failed, where, and what to do about it."""
    text = str(exc).strip().replace("\n", " ") or type(exc).__name__
    state = exc.sqlstate or ""
    if isinstance(exc, PoolClosed):
        hint = "the store was closed; open a new one"
    elif isinstance(exc, PoolTimeout):
        hint = ("no pooled connection became free in time; raise pool_max or pool_timeout in "
                "the URL, or check that the server is up")
    elif state.startswith("28") or "authentication failed" in text or (
            "role" in text and "does not exist" in text):
        hint = "check the user name and password (or the server's pg_hba.conf)"
    elif state == "3D000" or ("database" in text and "does not exist" in text):
        hint = "create the database first (createdb), or fix its name in the URL"
    elif state == "42501":
        hint = "grant the user rights on the database and schema, or choose ?schema=another"
    elif state.startswith("53"):
        hint = "the server is out of disk, memory or connections; nothing was written"
    elif state.startswith("57") or state.startswith("08") or (
            isinstance(exc, psycopg.OperationalError) and not state):
        hint = ("check that the server is running and reachable and that host, port and "
                "database in the URL are right")
    elif "append-only" in text:
        hint = "events are append-only; record a new event instead"
    else:
        hint = "nothing was written; see the server log for details"
    return StorageError(f"cannot {doing} {where}: {text}; {hint}")
