"""Escalations per second by 1, 2 and 4 workers on PostgreSQL and one on SQLite; durable
actions per second on PostgreSQL, Desk against raw psycopg.

(A) Timer firing. N cases (100,000; --quick 10,000) are opened by a Desk on a recording
    memory store under a policy whose only timer within a day is the first tier's one-hour
    limit; the Changes it commits are written, by the stores' own row writers in large
    transactions, into a template PostgreSQL schema and a template SQLite file. Each run
    copies the template (server-side INSERT ... SELECT and ANALYZE; a file copy for SQLite),
    starts W worker processes (this script with --worker: a Desk with a ManualClock two
    hours after the openings, `desk.tick()` until nothing is due), waits until all are
    connected, releases them at once and times until the last one is done. Every run then
    checks that exactly N escalations were recorded. Rate = N / wall time.
(B) Durable actions. Desk on PostgresStore: claim, wait, resume, note on cases opened
    beforehand (not timed), and `open` on its own. Baseline: raw psycopg on one connection
    and a schema PostgresStore created (same tables, indexes, trigger): per action one
    transaction with UPDATE of the case row (checking the version, as the store does) and
    INSERT of the event row (INSERT + INSERT for `open`), with the JSON bodies escalate
    writes for the same actions, serialized with json.dumps every time. Also in the same
    run: the cycle on memory:// (the Desk's own work), store.get alone, and raw psycopg
    reading the case row before writing. Interleaved repeat by repeat.

Targets (the project's): firing throughput grows with workers up to the machine's cores;
escalate reaches at least half of raw psycopg's action rate.

    python benchmarks/bench_postgres.py [--quick] [--timers N] [--cases M] [--repeats R]
                                        [--fire-repeats F] [--part all|fire|actions]
                                        [--url postgresql://user@host:port/db] [--profile]

The URL (default ESCALATE_BENCH_POSTGRES_URL or postgresql://postgres@127.0.0.1:5432/test)
names a database where schemas may be created; they are dropped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import pstats
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _harness as h

from escalate import Desk, ManualClock, Policy
from escalate.codec import case_to_dict, event_to_dict
from escalate.fold import apply
from escalate.stores.base import Change, Store
from escalate.stores.memory import MemoryStore
from escalate.stores.sqlite import SqliteStore
from escalate.testing import standard_policy

DEFAULT_URL = os.environ.get("ESCALATE_BENCH_POSTGRES_URL",
                             "postgresql://postgres@127.0.0.1:5432/test")
OPENED = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
DUE_NOW = OPENED + timedelta(hours=2)  # every first-tier limit has passed; nothing else
TICK_POLICY: dict[str, Any] = {
    "ladders": {"support": {"tiers": [
        {"name": "frontline", "members": ["ana", "bo"], "escalate_after": "1h"},
        {"name": "specialists", "members": ["cy", "dan"], "lead": "cy",
         "escalate_after": "100h"},
        {"name": "management", "members": ["dee"], "lead": "dee", "realert_every": "100h"},
    ]}},
}
WORKER_COUNTS = (1, 2, 4)
CYCLE = ("claim", "wait", "resume", "note")
TABLES = ("cases", "events", "timers", "outbox")


def _dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def round_trips(store: Any, work: Callable[[], object]) -> tuple[int, int]:
    """(server round trips, of which pool checks) a one-connection store makes in work().

    Counted from a libpq protocol trace: one ReadyForQuery per round trip; the pool's check
    of a connection it hands out is an empty query.
    """
    import psycopg

    with store._pool.connection() as conn:
        pgconn = conn.pgconn
    with tempfile.TemporaryFile() as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            work()
        finally:
            pgconn.untrace()
        trace.seek(0)
        lines = trace.read().decode("utf-8", "replace").splitlines()
    ready = sum(1 for line in lines if "\tReadyForQuery" in line)
    checks = sum(1 for line in lines if line.startswith("F") and line.endswith('Query\t ""'))
    return ready, checks


# -- (A) building the due timers ---------------------------------------------------------

class Recording(MemoryStore):
    """A memory store that keeps every Change committed to it."""

    def __init__(self) -> None:
        super().__init__()
        self.changes: list[Change] = []

    def commit(self, change: Change) -> None:
        super().commit(change)
        self.changes.append(change)


def opened(policy: Policy, n: int, chunk: int = 5000) -> Iterator[list[Change]]:
    """The Changes of cases C-1..C-n opened at OPENED, `chunk` cases at a time."""
    for start in range(0, n, chunk):
        store = Recording()
        desk = Desk(policy, store=store, clock=ManualClock(OPENED), autoload_plugins=False)
        for i in range(start, min(n, start + chunk)):
            desk.open(title=f"Invoice {i} is wrong", customer=f"cust-{i}", channel="phone",
                      case_id=f"C-{i + 1}")
        yield store.changes


def load_postgres(store: Any, changes: Sequence[Change]) -> None:
    """Write new cases with the PostgreSQL store's own row writer, in one transaction."""
    with store._transaction("load cases into") as conn, conn.pipeline():
        for change in changes:
            store._apply(conn, change)


def load_sqlite(store: SqliteStore, changes: Sequence[Change]) -> None:
    """Write new cases with the SQLite store's own row writer, in one transaction."""
    with store._write() as db:
        for change in changes:
            store._apply(db, change)


class Postgres:
    """The server: fresh schemas, copies of the template, and cleanup."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.url = url
        self.prefix = f"esc_bench_{uuid.uuid4().hex[:8]}"
        self.count = 0
        self.conn = psycopg.connect(url, autocommit=True)

    def new_schema(self) -> str:
        from escalate_postgres import PostgresStore

        self.count += 1
        name = f"{self.prefix}_{self.count}"
        PostgresStore(self.url, schema=name, pool_min=0).close()
        return name

    def clone(self, template: str) -> str:
        """A new schema holding the template's rows, analyzed."""
        name = self.new_schema()
        for table in TABLES:
            self.conn.execute(f"INSERT INTO {_q(name)}.{table} SELECT * FROM "
                              f"{_q(template)}.{table}")
            self.conn.execute(f"ANALYZE {_q(name)}.{table}")
        self.conn.execute("SELECT setval(%s, (SELECT max(num) FROM "
                          f"{_q(name)}.cases))", (f"{_q(name)}.cases_num_seq",))
        return name

    def drop(self, name: str) -> None:
        self.conn.execute(f"DROP SCHEMA {_q(name)} CASCADE")

    def count_rows(self, schema: str, where: str) -> int:
        row = self.conn.execute(f"SELECT count(*) FROM {_q(schema)}.events WHERE {where}"
                                ).fetchone()
        return int(row[0]) if row else 0

    def next_due(self, schema: str) -> datetime | None:
        row = self.conn.execute(f"SELECT min(due_at) FROM {_q(schema)}.timers").fetchone()
        return row[0] if row else None

    def close(self) -> None:
        rows = self.conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s",
                                 (self.prefix + "%",)).fetchall()
        for (name,) in rows:
            self.drop(name)
        self.conn.close()


def open_store(target: str) -> Store:
    """A store from a worker's target: a PostgreSQL URL with ?schema=, or a SQLite path."""
    if target.startswith(("postgresql://", "postgres://")):
        from escalate_postgres import PostgresStore

        return PostgresStore(target, pool_min=1, pool_max=2)
    return SqliteStore(target)


def worker(target: str, profile_out: str | None) -> None:
    """--worker: tick until nothing is due; prints "ready", waits for stdin, "done N"."""
    desk = Desk(Policy.from_dict(TICK_POLICY), store=open_store(target),
                clock=ManualClock(DUE_NOW), autoload_plugins=False)
    print("ready", flush=True)
    sys.stdin.readline()
    fired = 0

    def work() -> None:
        nonlocal fired
        while batch := desk.tick():
            fired += len(batch)

    if profile_out:
        profiler = cProfile.Profile()
        profiler.runcall(work)
        profiler.dump_stats(profile_out)
    else:
        work()
    desk.shutdown()
    print(f"done {fired}", flush=True)


WORKER_APP = "escalate-bench-worker"


def _proc_ticks(pid: int) -> int | None:
    """utime + stime of a process in clock ticks, or None when it is gone (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def _busy_ticks() -> tuple[int, int] | None:
    """(busy, total) clock ticks of the whole machine so far, from /proc/stat."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            values = [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return None
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


class CpuWatch:
    """Where the machine's CPU went during a run: the workers, their server backends, the rest.

    Samples /proc every 50 ms and keeps each watched process's last reading, so processes
    that end before the run does are still counted. Figures are average cores busy.
    """

    def __init__(self, *, every_postgres: bool = False) -> None:
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self.groups: dict[int, str] = {}
        self.every_postgres = every_postgres  # also count every postgres process seen
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def watch(self, pid: int, group: str) -> None:
        ticks = _proc_ticks(pid)
        if ticks is not None:
            self.first[pid] = self.last[pid] = ticks
            self.groups[pid] = group

    def start(self) -> None:
        self._sample()
        self.machine = _busy_ticks()
        self.started = time.perf_counter()
        self.thread.start()

    def _loop(self) -> None:
        while not self.stop.wait(0.05):
            self._sample()

    def _sample(self) -> None:
        if self.every_postgres:
            with contextlib.suppress(OSError):
                for name in os.listdir("/proc"):
                    if name.isdigit() and int(name) not in self.groups:
                        with contextlib.suppress(OSError), open(f"/proc/{name}/comm") as f:
                            if f.read().strip() == "postgres":
                                self.watch(int(name), "server")
        for pid in list(self.groups):
            ticks = _proc_ticks(pid)
            if ticks is not None:
                self.last[pid] = ticks

    def finish(self) -> dict[str, float]:
        self._sample()
        self.stop.set()
        self.thread.join()
        seconds = time.perf_counter() - self.started
        hz = os.sysconf("SC_CLK_TCK")
        cores: dict[str, float] = {}
        for pid, group in self.groups.items():
            cores[group] = cores.get(group, 0.0) + (self.last[pid] - self.first[pid]) / hz
        result = {group: value / seconds for group, value in cores.items()}
        end = _busy_ticks()
        if self.machine is not None and end is not None:
            busy = end[0] - self.machine[0]
            total = end[1] - self.machine[1]
            cpus = os.cpu_count() or 1
            result["busy"] = busy / total * cpus if total else 0.0
            result["other"] = max(0.0, result["busy"] - sum(
                v for k, v in result.items() if k != "busy"))
        return result


def run_workers(target: str, count: int, profile_out: str | None = None,
                pg: Postgres | None = None) -> tuple[float, int, dict[str, float]]:
    """Start `count` workers on `target`, release them together.

    Returns the seconds from the release until the last one is done, the timers they
    fired, and the CPU accounting of the run (CpuWatch).
    """
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", target]
    if profile_out:
        command += ["--profile-out", profile_out]
    procs = [subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True) for _ in range(count)]
    cpu = CpuWatch()
    try:
        for proc in procs:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"a worker did not start (said {line!r})")
            cpu.watch(proc.pid, "workers")
        if pg is not None:
            for (pid,) in pg.conn.execute("SELECT pid FROM pg_stat_activity"
                                          " WHERE application_name = %s", (WORKER_APP,)):
                cpu.watch(pid, "server")
        cpu.start()
        started = time.perf_counter()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        fired = 0
        for proc in procs:
            assert proc.stdout is not None
            fired += int(proc.stdout.readline().split()[1])
        seconds = time.perf_counter() - started
        used = cpu.finish()
        for proc in procs:
            if proc.wait(timeout=60) != 0:
                raise RuntimeError(f"a worker exited with {proc.returncode}")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return seconds, fired, used


class Firing:
    """The template schema and file with N due timers, and the runs on copies of them."""

    def __init__(self, pg: Postgres, n: int, directory: Path) -> None:
        from escalate_postgres import PostgresStore

        self.pg, self.n, self.directory = pg, n, directory
        policy = Policy.from_dict(TICK_POLICY)
        started = time.perf_counter()
        self.template = pg.new_schema()
        self.sqlite_template = directory / "template.db"
        pg_store = PostgresStore(pg.url, schema=self.template, pool_min=0, pool_max=1)
        sqlite_store = SqliteStore(self.sqlite_template)
        for chunk in opened(policy, n):
            load_postgres(pg_store, chunk)
            load_sqlite(sqlite_store, chunk)
        pg_store.close()
        sqlite_store.close()
        self.built = time.perf_counter() - started
        self.sqlite_runs = 0
        self.cpu: dict[str, list[dict[str, float]]] = {
            name: [] for name in (*(f"pg{w}" for w in WORKER_COUNTS), "sqlite")}

    def postgres(self, workers: int, profile_out: str | None = None) -> float:
        """Seconds for `workers` processes to fire every timer of a fresh copy."""
        schema = self.pg.clone(self.template)
        try:
            target = (f"{self.pg.url}?schema={schema}&pool_max=2"
                      f"&application_name={WORKER_APP}")
            seconds, fired, used = run_workers(target, workers, profile_out, self.pg)
            self.cpu[f"pg{workers}"].append(used)
            escalated = self.pg.count_rows(schema, "kind = 'escalated' AND actor IS NULL")
            due = self.pg.next_due(schema)
            if fired != self.n or escalated != self.n or due is None or due <= DUE_NOW:
                raise RuntimeError(f"{workers} workers fired {fired}, stored {escalated} "
                                   f"escalations of {self.n}; next due {due}")
        finally:
            self.pg.drop(schema)
        return seconds

    def trips_per_escalation(self, count: int = 20) -> tuple[float, float]:
        """Round trips (and pool checks) per escalation of one worker's tick over `count`."""
        from escalate_postgres import PostgresStore

        schema = self.pg.new_schema()
        store = PostgresStore(self.pg.url, schema=schema, pool_min=1, pool_max=1)
        try:
            for chunk in opened(Policy.from_dict(TICK_POLICY), count):
                load_postgres(store, chunk)
            desk = Desk(Policy.from_dict(TICK_POLICY), store=store,
                        clock=ManualClock(DUE_NOW), autoload_plugins=False)
            trips, checks = round_trips(store, desk.tick)
            if desk.next_due() is None or desk.next_due() <= DUE_NOW:  # type: ignore[operator]
                raise RuntimeError("the traced tick left due timers")
        finally:
            store.close()
            self.pg.drop(schema)
        return trips / count, checks / count

    def sqlite(self) -> float:
        self.sqlite_runs += 1
        path = self.directory / f"run-{self.sqlite_runs}.db"
        shutil.copyfile(self.sqlite_template, path)
        try:
            seconds, fired, used = run_workers(str(path), 1)
            self.cpu["sqlite"].append(used)
            db = sqlite3.connect(path)
            (escalated,) = db.execute("SELECT count(*) FROM events WHERE kind = 'escalated'"
                                      " AND actor IS NULL").fetchone()
            db.close()
            if fired != self.n or escalated != self.n:
                raise RuntimeError(f"SQLite fired {fired}, stored {escalated} of {self.n}")
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return seconds


# -- (B) durable actions -----------------------------------------------------------------

def run_cycle(desk: Desk, ids: Sequence[str]) -> None:
    for case_id in ids:
        desk.claim(case_id, by="ana")
        desk.wait(case_id, by="ana", reason="asked for the invoice number")
        desk.resume(case_id, by="ana")
        desk.note(case_id, "customer sent the invoice", by="ana")


def open_cases(desk: Desk, count: int) -> list[str]:
    return [desk.open(title="Invoice is wrong", customer=f"c-{i}", channel="phone").id
            for i in range(count)]


class Templates:
    """The case and event dicts escalate writes for one case's open and cycle."""

    def __init__(self, policy: Policy) -> None:
        desk = Desk(policy, store="memory://", clock=ManualClock(), autoload_plugins=False)
        (case_id,) = open_cases(desk, 1)
        run_cycle(desk, [case_id])
        case = None
        self.cases: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        for event in desk.history(case_id):
            case = apply(case, event)
            self.cases.append(case_to_dict(case))
            self.events.append(event_to_dict(event))
        self.case_bytes = [len(_dumps(c).encode()) for c in self.cases]
        self.event_bytes = [len(_dumps(e).encode()) for e in self.events]


class Raw:
    """Raw psycopg on one autocommit connection, in a schema PostgresStore created."""

    def __init__(self, url: str, schema: str, templates: Templates) -> None:
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)
        self.s = _q(schema)
        self.t = templates

    def open(self, case_id: str) -> None:
        case = {**self.t.cases[0], "id": case_id}
        event = {**self.t.events[0], "case_id": case_id}
        with self.conn.transaction():
            self.conn.execute(
                f"INSERT INTO {self.s}.cases (id, status, owner, ladder, tier, priority,"
                " channel, customer, opened_at, updated_at, version, body)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (case_id, case["status"], case["owner"], case["ladder"], case["tier"],
                 case["priority"], case["channel"], case["customer"], case["opened_at"],
                 case["updated_at"], 1, _dumps(case)))
            self.conn.execute(
                f"INSERT INTO {self.s}.events (case_id, seq, at, kind, actor, body)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (case_id, 1, event["at"], event["kind"], event["actor"], _dumps(event)))

    def act(self, case_id: str, step: int, read: bool = False) -> None:
        """The write of cycle action `step` (1-4): UPDATE the case, INSERT the event."""
        case = {**self.t.cases[step], "id": case_id}
        event = {**self.t.events[step], "case_id": case_id}
        with self.conn.transaction():
            if read:
                row = self.conn.execute(f"SELECT body FROM {self.s}.cases WHERE id = %s",
                                        (case_id,)).fetchone()
                assert row is not None
                json.loads(row[0])
            cursor = self.conn.execute(
                f"UPDATE {self.s}.cases SET status = %s, owner = %s, updated_at = %s,"
                " version = %s, body = %s WHERE id = %s AND version = %s",
                (case["status"], case["owner"], case["updated_at"], step + 1, _dumps(case),
                 case_id, step))
            if cursor.rowcount != 1:
                raise RuntimeError(f"raw baseline lost its row {case_id}")
            self.conn.execute(
                f"INSERT INTO {self.s}.events (case_id, seq, at, kind, actor, body)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (case_id, step + 1, event["at"], event["kind"], event["actor"],
                 _dumps(event)))

    def close(self) -> None:
        self.conn.close()


class Actions:
    """One repeat of each side of (B), each on a fresh schema."""

    def __init__(self, pg: Postgres, cases: int) -> None:
        self.pg, self.cases = pg, cases
        self.policy = standard_policy()
        self.templates = Templates(self.policy)

    @contextlib.contextmanager
    def desk(self, memory: bool = False, unchecked: bool = False) -> Iterator[Desk]:
        """A Desk on a fresh schema; `unchecked` switches off the pool's check of each
        connection it hands out (a psycopg_pool internal, for diagnosis only)."""
        from escalate_postgres import PostgresStore

        if memory:
            yield Desk(self.policy, store="memory://", clock=ManualClock(),
                       autoload_plugins=False)
            return
        schema = self.pg.new_schema()
        store = PostgresStore(self.pg.url, schema=schema, pool_min=1, pool_max=2)
        if unchecked:
            store._pool._check = None
        try:
            yield Desk(self.policy, store=store, clock=ManualClock(), autoload_plugins=False)
        finally:
            store.close()
            self.pg.drop(schema)

    @contextlib.contextmanager
    def raw(self) -> Iterator[Raw]:
        schema = self.pg.new_schema()
        raw = Raw(self.pg.url, schema, self.templates)
        try:
            yield raw
        finally:
            raw.close()
            self.pg.drop(schema)

    def esc_cycle(self, memory: bool = False, unchecked: bool = False) -> float:
        with self.desk(memory, unchecked) as desk:
            ids = open_cases(desk, self.cases)
            return h.timed(lambda: run_cycle(desk, ids)) / (self.cases * len(CYCLE))

    def esc_open(self) -> float:
        with self.desk() as desk:
            return h.timed(lambda: open_cases(desk, self.cases)) / self.cases

    def esc_get(self) -> float:
        with self.desk() as desk:
            ids = open_cases(desk, self.cases)
            store = desk.store

            def work() -> None:
                for case_id in ids:
                    store.get(case_id)

            return h.timed(work) / self.cases

    def raw_cycle(self, read: bool = False) -> float:
        with self.raw() as raw:
            ids = [f"C-{i}" for i in range(1, self.cases + 1)]
            for case_id in ids:
                raw.open(case_id)

            def work() -> None:
                for case_id in ids:
                    for step in range(1, len(CYCLE) + 1):
                        raw.act(case_id, step, read)

            return h.timed(work) / (self.cases * len(CYCLE))

    def raw_open(self) -> float:
        with self.raw() as raw:
            ids = [f"C-{i}" for i in range(1, self.cases + 1)]

            def work() -> None:
                for case_id in ids:
                    raw.open(case_id)

            return h.timed(work) / self.cases

    def trips(self) -> dict[str, tuple[float, float]]:
        """Round trips (and pool checks) per action: the cycle and open, one case each."""
        from escalate_postgres import PostgresStore

        schema = self.pg.new_schema()
        store = PostgresStore(self.pg.url, schema=schema, pool_min=1, pool_max=1)
        try:
            desk = Desk(self.policy, store=store, clock=ManualClock(), autoload_plugins=False)
            opening = round_trips(store, lambda: open_cases(desk, 1))
            case_id = next(iter(desk.cases())).id
            trips, checks = round_trips(store, lambda: run_cycle(desk, [case_id]))
        finally:
            store.close()
            self.pg.drop(schema)
        return {"cycle": (trips / len(CYCLE), checks / len(CYCLE)),
                "open": (float(opening[0]), float(opening[1]))}

    def profile(self) -> pstats.Stats:
        with self.desk() as desk:
            ids = open_cases(desk, self.cases)
            profiler = cProfile.Profile()
            profiler.runcall(run_cycle, desk, ids)
        return pstats.Stats(profiler)


# -- profiles ------------------------------------------------------------------------------

def _where(path: str) -> str:
    return path.split("site-packages/")[-1].split("/src/")[-1]


def waits(stats: pstats.Stats) -> tuple[int, float]:
    """Calls of psycopg's blocking wait (one per server round trip) and their time."""
    calls, seconds = 0, 0.0
    for (path, _line, func), (_cc, n, _own, cum, _) in stats.stats.items():  # type: ignore[attr-defined]
        if func == "wait" and path.endswith("psycopg/connection.py"):
            calls += n
            seconds += cum
    return calls, seconds


def shares(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Own time grouped by where it is spent, largest first."""
    groups: dict[str, float] = {}
    for (path, _line, func), (_cc, _n, own, _cum, _) in stats.stats.items():  # type: ignore[attr-defined]
        if func == "wait" and path.endswith("psycopg/connection.py"):
            key = "psycopg wait: the server and the network (round trips, commit flush)"
        elif "psycopg" in path:
            key = "psycopg: building queries, adapting parameters and rows"
        elif "escalate_postgres" in path:
            key = "escalate_postgres: the store's own code"
        elif "/escalate/" in path:
            key = "escalate: the Desk, lifecycle, clocks, hash chain, notifications, codec"
        elif "json" in path or func in ("dumps", "loads"):
            key = "json"
        else:
            key = "other (stdlib, attrs, pluggy, interpreter)"
        groups[key] = groups.get(key, 0.0) + own
    total = sum(groups.values()) or 1.0
    return sorted(((k, v / total) for k, v in groups.items()), key=lambda kv: -kv[1])


def top(stats: pstats.Stats, count: int = 15) -> str:
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    for (path, line, func), (_cc, calls, own, cum, _) in sorted(
            stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:count]:  # type: ignore[attr-defined]
        rows.append((f"{func} ({_where(path)}:{line})", calls, h.pct(own / total),
                     h.pct(cum / total)))
    return h.table(["function", "calls", "own time", "cumulative"], rows)


# -- main ----------------------------------------------------------------------------------

def server_problem(url: str) -> str | None:
    try:
        import escalate_postgres  # noqa: F401
        import psycopg
    except ImportError as exc:
        return f"escalate-postgres is not installed ({exc})"
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip()
    return None


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k timers, fewer actions")
    parser.add_argument("--timers", type=int, help="due timers (default 100k, quick 10k)")
    parser.add_argument("--cases", type=int, help="cases per action repeat (default 1000, "
                                                   "quick 200)")
    parser.add_argument("--repeats", type=int, help="repeats of (B) (default 5, quick 3)")
    parser.add_argument("--fire-repeats", type=int, default=1,
                        help="repeats of each firing run (default 1)")
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL URL, no query string")
    parser.add_argument("--profile", action="store_true",
                        help="add cProfile listings of one worker and of the action cycle")
    parser.add_argument("--part", choices=("all", "fire", "actions"), default="all",
                        help="run only (A) fire or (B) actions")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.profile_out)
        return
    n = args.timers or (10_000 if args.quick else 100_000)
    cases = args.cases or (200 if args.quick else 1000)
    repeats = args.repeats or (3 if args.quick else 5)

    h.banner("PostgreSQL: escalations per second by worker count; Desk vs raw psycopg")
    problem = server_problem(args.url)
    if problem is not None:
        print(f"Skipped: PostgreSQL at {args.url} cannot be used: {problem}")
        return
    pg = Postgres(args.url)
    try:
        version = pg.conn.execute("SHOW server_version").fetchone()
        settings = {name: pg.conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
                    for name in ("synchronous_commit", "fsync", "shared_buffers")}
        print(f"PostgreSQL {version[0] if version else '?'} at {args.url} ("
              + ", ".join(f"{k}={v}" for k, v in settings.items())
              + f"); SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL) in "
              f"{tempfile.gettempdir()}.")
        print()
        if args.part in ("all", "fire"):
            with tempfile.TemporaryDirectory(prefix="escalate-bench-pg-") as tmp:
                fire_part(pg, n, args.fire_repeats, Path(tmp), args.profile)
        if args.part in ("all", "actions"):
            action_part(pg, cases, repeats, args.profile)
    finally:
        pg.close()


def fire_part(pg: Postgres, n: int, repeats: int, directory: Path, profile: bool) -> None:
    firing = Firing(pg, n, directory)
    print(f"### (A) Escalations per second, {h.human(n)} due timers")
    print()
    print(f"Built {h.human(n)} cases (opened by a Desk, written into a template schema and "
          f"file) in {firing.built:.0f} s. Each run fires every timer of a fresh copy: one "
          "escalation per case, each in its own transaction, with its event, new timer "
          f"and outbox rows. {repeats} run(s) per line, alternating the order; medians.")
    print()
    runs: dict[str, Callable[[], float]] = {
        f"pg{w}": (lambda w=w: firing.postgres(w)) for w in WORKER_COUNTS}  # type: ignore[misc]
    runs["sqlite"] = firing.sqlite
    got = h.interleave(runs, repeats)
    one = got["pg1"].median

    def cores(name: str) -> list[str]:
        runs = firing.cpu[name]
        if not runs or "busy" not in runs[0]:
            return ["?"] * 4
        mean = {k: sum(r.get(k, 0.0) for r in runs) / len(runs)
                for k in ("workers", "server", "other", "busy")}
        return [f"{mean[k]:.2f}" for k in ("workers", "server", "other", "busy")]

    rows = []
    for w in WORKER_COUNTS:
        s = got[f"pg{w}"]
        rows.append((f"PostgreSQL, {w} worker{'s' if w > 1 else ''}", f"{n / s.median:,.0f}",
                     f"{s.median:.1f}", h.pct(s.spread), f"{one / s.median:.2f}x",
                     f"{s.median * 1e3 * w / n:.2f}", *cores(f"pg{w}")))
    s = got["sqlite"]
    rows.append(("SQLite, 1 worker", f"{n / s.median:,.0f}", f"{s.median:.1f}",
                 h.pct(s.spread), f"{one / s.median:.2f}x", f"{s.median * 1e3 / n:.2f}",
                 *cores("sqlite")))
    print(h.table(["store and workers", "escalations/s", "wall s", "spread",
                   "vs 1 PostgreSQL worker", "worker-ms per escalation",
                   "cores: workers", "server backends", "other processes", "machine busy"],
                  rows))
    print()
    print("Cores are averages over the run from /proc: the worker processes, the server "
          "backends serving them, and everything else on the machine (the server's WAL "
          f"writer and checkpointer, other programs); machine busy is out of "
          f"{os.cpu_count()}.")
    print()
    trips, checks = firing.trips_per_escalation()
    print(f"Server round trips per escalation (libpq trace of one worker's tick over 20 due "
          f"timers, its final empty claim included): {trips:.1f}, of which {checks:.1f} are "
          "the pool's check of the connection it hands out. From the claiming SELECT "
          "to COMMIT, the case row stays locked.")
    print()
    print(f"Target: throughput grows with workers up to the machine's {os.cpu_count()} cores.")
    print()
    if profile:
        out = directory / "worker.prof"
        small = min(n, 10_000)
        if small == n:
            firing_small = firing
        else:
            (directory / "small").mkdir()
            firing_small = Firing(pg, small, directory / "small")
        firing_small.postgres(1, str(out))
        stats = pstats.Stats(str(out))
        calls, _ = waits(stats)
        print(f"### cProfile of one PostgreSQL worker firing {h.human(small)} timers")
        print()
        print(f"{calls / small:.1f} blocking waits on the server per escalation.")
        print()
        print(h.table(["where", "share of own time"], [(k, h.pct(v)) for k, v in shares(stats)]))
        print()
        print(top(stats))
        print()


def action_part(pg: Postgres, cases: int, repeats: int, profile: bool) -> None:
    actions = Actions(pg, cases)
    t = actions.templates
    print("### (B) Durable actions per second on PostgreSQL: Desk vs raw psycopg")
    print()
    print(f"One transaction per action. {cases} cases x {len(CYCLE)} actions per repeat, "
          f"{repeats} repeats, interleaved; medians. JSON bodies per cycle action: case "
          f"{t.case_bytes[1:]} bytes, event {t.event_bytes[1:]} bytes (open: "
          f"{t.case_bytes[0]} + {t.event_bytes[0]}).")
    print()
    actions.cases = min(cases, 50)  # warm-up
    actions.esc_cycle()
    actions.raw_cycle()
    actions.cases = cases
    cpu = CpuWatch(every_postgres=True)
    cpu.watch(os.getpid(), "bench")
    cpu.start()
    got = h.interleave({"escalate": actions.esc_cycle, "raw": actions.raw_cycle,
                        "raw_read": lambda: actions.raw_cycle(read=True),
                        "memory": lambda: actions.esc_cycle(memory=True),
                        "unchecked": lambda: actions.esc_cycle(unchecked=True),
                        "get": actions.esc_get}, repeats)
    opened_ = h.interleave({"escalate": actions.esc_open, "raw": actions.raw_open}, repeats)
    used = cpu.finish()

    def rate(sample: h.Sample) -> str:
        return f"{1 / sample.median:,.0f}"

    def share(esc: h.Sample, raw: h.Sample) -> str:
        r = h.paired(raw, esc)
        return f"{h.pct(r.median)} ({h.pct(r.low)}-{h.pct(r.high)})"

    rows = []
    for name, side in (("claim/wait/resume/note", got), ("open", opened_)):
        esc, raw = side["escalate"], side["raw"]
        rows.append((name, rate(esc), h.us(esc.median), h.pct(esc.spread), rate(raw),
                     h.us(raw.median), h.pct(raw.spread), share(esc, raw), ">= 50%"))
    print(h.table(["workload", "escalate actions/s", "us/action", "spread", "raw actions/s",
                   "us/action", "spread", "escalate / raw rate (range)", "target"], rows))
    print()
    esc, mem, get = got["escalate"].median, got["memory"].median, got["get"].median
    raw, raw_read = got["raw"].median, got["raw_read"].median
    if "busy" in used:
        print(f"CPU during (B), average cores: this process {used.get('bench', 0):.2f}, "
              f"PostgreSQL processes {used.get('server', 0):.2f}, other programs "
              f"{used['other']:.2f}; machine busy {used['busy']:.2f} of {os.cpu_count()}.")
        print()
    trips = actions.trips()
    print("Server round trips per action (libpq trace): "
          f"claim/wait/resume/note {trips['cycle'][0]:.1f} (of which pool checks "
          f"{trips['cycle'][1]:.1f}) against raw 4 (BEGIN, UPDATE, INSERT, COMMIT); open "
          f"{trips['open'][0]:.0f} (pool checks {trips['open'][1]:.0f}) against raw 4.")
    print()
    print("### Where a durable action's time goes (claim/wait/resume/note)")
    print()
    print(h.table(["part", "us/action", "share"], [
        ("Desk logic (the same cycle on memory://)", h.us(mem), h.pct(mem / esc)),
        ("PostgreSQL store on top of that", h.us(esc - mem), h.pct((esc - mem) / esc)),
        ("  store.get: pooled connection, SELECT, json.loads, case_from_dict", h.us(get),
         h.pct(get / esc)),
        ("  the rest: commit transaction (UPDATE, INSERT, NOTIFY if timers/outbox, COMMIT)",
         h.us(esc - mem - get), h.pct((esc - mem - get) / esc)),
        ("raw floor: UPDATE + INSERT transaction (json.dumps included)", h.us(raw),
         h.pct(raw / esc)),
        ("raw floor with a read: SELECT + json.loads + the write", h.us(raw_read),
         h.pct(raw_read / esc)),
        ("escalate on PostgreSQL (measured)", h.us(esc), "100.0%"),
        ("diagnosis: escalate with the pool's check on checkout switched off",
         h.us(got["unchecked"].median), h.pct(got["unchecked"].median / esc)),
    ]))
    print()
    print("Without the pool's check the cycle reaches "
          f"{h.ratio_text(got['raw'], got['unchecked']).replace('x', ' of raw', 1)} "
          f"(with it: {h.ratio_text(got['raw'], got['escalate']).replace('x', ' of raw', 1)}).")
    print()
    if profile:
        actions.cases = min(cases, 500)
        stats = actions.profile()
        calls, _ = waits(stats)
        print(f"### cProfile of the PostgreSQL action cycle ({actions.cases} cases)")
        print()
        print(f"{calls / (actions.cases * len(CYCLE)):.1f} blocking waits on the server per "
              "action (raw psycopg: BEGIN, UPDATE, INSERT, COMMIT = 4).")
        print()
        print(h.table(["where", "share of own time"], [(k, h.pct(v)) for k, v in shares(stats)]))
        print()
        print(top(stats))
        print()


if __name__ == "__main__":
    main()
