"""Tick cost with 10k, 100k and 1M open cases on SQLite, against a naive full scan.

The store is built fast and directly: a SqliteStore creates the schema, then the `cases`,
`events` and `timers` rows of N open cases are written with executemany in one
transaction. Every row is a clone of one real case opened by a Desk under
`escalate.testing.timed_policy()` (SLA clocks in office hours, a tier limit): its JSON bodies
come from `codec.case_to_dict` / `event_to_dict`, with a new id and customer, and three
timers per case (first-response warning, resolution warning, tier escalation).

For each repeat r, a distinct 1% of the cases has its tier limit (in the case body and in
the timer row) due at D_r; nothing else is due before the afternoon.

(a) nothing due: `desk.tick(now)` at a moment before every due time.
(b) 1% due: `desk.tick(D_r)` fires exactly that 1% (one escalation each, with new timers
    and notifications, each in its own transaction).
Baseline, in the same run: what a cron-style sweeper does, on its own connection: SELECT
    every open case, json.loads each body, parse each clock's due and warning times and
    collect the cases that are due. It only finds them; it does not act on them.

Targets: (a) a tick under 5 ms at 1M open cases; (b) cost per fired timer flat from 10k to 1M.

    python benchmarks/bench_tick.py [--quick] [--sizes 10k,100k,1m] [--repeats R]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _harness as h

from escalate import Desk, ManualClock
from escalate.codec import case_to_dict, event_to_dict, format_time
from escalate.stores.sqlite import SqliteStore
from escalate.testing import timed_policy

OPENED_AT = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # Monday 10:00 in Bucharest
IDLE_AT = OPENED_AT + timedelta(minutes=20)  # nothing is due yet
FIRST_DUE = OPENED_AT + timedelta(minutes=30)  # repeat r's 1% is due at FIRST_DUE + r min
_ID, _CUSTOMER, _TIER_DUE = "C-0000000", "cust-0000000", "2099-01-01T00:00:00.000000+00:00"


def due_at(repeat: int) -> datetime:
    return FIRST_DUE + timedelta(minutes=repeat)


class Template:
    """One real opened case, as JSON text with placeholders for the cloned parts."""

    def __init__(self) -> None:
        clock = ManualClock(OPENED_AT)
        desk = Desk(timed_policy(), store="memory://", clock=clock, autoload_plugins=False)
        case = desk.open(title="Invoice is wrong", customer=_CUSTOMER, channel="phone",
                         by="ana", case_id=_ID)
        (event,) = desk.history(case.id)
        body = case_to_dict(case)
        tier = next(c for c in body["clocks"] if c["name"] == "tier")
        self.tier_due = tier["due_at"]
        tier["due_at"] = _TIER_DUE
        self.case_json = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        self.event_json = json.dumps(event_to_dict(event), separators=(",", ":"),
                                     ensure_ascii=False)
        self.case = body
        self.event = event
        self.timers = [(t.clock, format_time(t.due_at), t.action.value)
                       for t in desk.store.timers(case.id)]
        assert self.case_json.count(_TIER_DUE) == 1
        assert any(clock == "tier" and due == self.tier_due for clock, due, _ in self.timers)
        assert min(due for _, due, _ in self.timers) > format_time(due_at(100))

    def case_body(self, case_id: str, customer: str, tier_due: str) -> str:
        return (self.case_json.replace(_ID, case_id).replace(_CUSTOMER, customer)
                .replace(_TIER_DUE, tier_due))

    def event_body(self, case_id: str, customer: str) -> str:
        return self.event_json.replace(_ID, case_id).replace(_CUSTOMER, customer)


def build(path: Path, n: int, template: Template, repeats: int) -> float:
    """Write N open cases straight into a fresh store file; returns the seconds it took.

    Case i belongs to repeat r's 1% when i % 100 == r: its tier limit falls due at D_r.
    """
    started = time.perf_counter()
    SqliteStore(path).close()  # the store's schema, at its current version
    db = sqlite3.connect(path, isolation_level=None)
    # Setup only: a bulk load without a journal, then the file goes back to WAL mode.
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -1000000")
    c, e, at = template.case, template.event, format_time(template.event.at)
    numbers = sorted(range(1, n + 1), key=lambda i: f"C-{i}")  # primary-key order

    dues = [format_time(due_at(r)) for r in range(repeats)]

    def due_of(i: int) -> str:
        return dues[i % 100] if i % 100 < repeats else template.tier_due

    def cases() -> Iterator[tuple[Any, ...]]:
        for i in numbers:
            case_id, customer = f"C-{i}", f"cust-{i}"
            yield (case_id, c["status"], c["owner"], c["ladder"], c["tier"], c["priority"],
                   c["channel"], customer, c["opened_at"], c["updated_at"], c["version"],
                   template.case_body(case_id, customer, due_of(i)))

    def events() -> Iterator[tuple[Any, ...]]:
        for i in numbers:
            case_id = f"C-{i}"
            yield (case_id, 1, at, e.kind.value, e.actor,
                   template.event_body(case_id, f"cust-{i}"))

    def timers() -> Iterator[tuple[Any, ...]]:
        for i in numbers:
            case_id = f"C-{i}"
            for clock, due, action in template.timers:
                yield (case_id, clock, due_of(i) if clock == "tier" else due, action)

    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO cases (id, status, owner, ladder, tier, priority, channel, customer,"
        " opened_at, updated_at, version, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        cases())
    db.executemany("INSERT INTO events (case_id, seq, at, kind, actor, body)"
                   " VALUES (?, ?, ?, ?, ?, ?)", events())
    db.executemany("INSERT INTO timers (case_id, clock, due_at, action) VALUES (?, ?, ?, ?)",
                   timers())
    db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('case_ids', ?)", (n,))
    db.execute("COMMIT")
    db.execute("PRAGMA journal_mode = WAL")
    db.close()
    return time.perf_counter() - started


class Sweeper:
    """The naive baseline: scan every open case and check its deadlines in Python."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")

    def due(self, now: datetime) -> list[str]:
        found = []
        parse = datetime.fromisoformat
        for case_id, body in self.db.execute(
                "SELECT id, body FROM cases WHERE status IN ('open', 'active', 'waiting')"):
            case = json.loads(body)
            for clock in case["clocks"]:
                due, warn = clock["due_at"], clock["warn_at"]
                if (due is not None and parse(due) <= now) or (
                        warn is not None and parse(warn) <= now):
                    found.append(case_id)
                    break
        return found

    def close(self) -> None:
        self.db.close()


def events_layout(path: Path) -> str | None:
    """How the events table sits on disk (needs SQLite's dbstat table, present in most builds)."""
    db = sqlite3.connect(path)
    try:
        pages, overflow, unused, size = db.execute(
            "SELECT count(*), sum(pagetype = 'overflow'), sum(unused), sum(pgsize)"
            " FROM dbstat WHERE name = 'events'").fetchone()
        (rows,) = db.execute("SELECT count(*) FROM events").fetchone()
    except sqlite3.Error:
        return None
    finally:
        db.close()
    return (f"events table: {pages:,} pages for {rows:,} events, {overflow:,} of them overflow "
            f"pages, {unused / size:.0%} of its bytes unused ({size / rows:,.0f} bytes per "
            "event on disk)")


class Subject:
    """One store of N open cases, its Desk and the sweeper, and what was measured on them."""

    def __init__(self, n: int, repeats: int, template: Template, directory: str,
                 with_layout: bool) -> None:
        self.n = n
        self.path = Path(directory) / f"tick-{n}.db"
        self.built = build(self.path, n, template, repeats)
        self.size = self.path.stat().st_size
        self.layout = events_layout(self.path) if with_layout else None
        self.desk = Desk(timed_policy(), store=f"sqlite:///{self.path}",
                         clock=ManualClock(OPENED_AT), autoload_plugins=False)
        self.sweeper = Sweeper(self.path)
        start = time.perf_counter()
        assert self.desk.tick(IDLE_AT) == []
        self.first_tick = time.perf_counter() - start
        self.idle_ticks: list[float] = []
        self.idle_scans: list[float] = []
        self.idle_found: list[int] = []
        self.due_ticks: list[float] = []
        self.due_scans: list[float] = []
        self.due_found: list[int] = []
        self.fired: list[int] = []

    def idle_round(self, ticks: int, scan_first: bool) -> None:
        """(a): `ticks` ticks with nothing due, and one naive scan at the same moment."""
        def tick() -> None:
            def work() -> None:
                for _ in range(ticks):
                    self.desk.tick(IDLE_AT)
            self.idle_ticks.append(h.timed(work) / ticks)

        def scan() -> None:
            start = time.perf_counter()
            self.idle_found.append(len(self.sweeper.due(IDLE_AT)))
            self.idle_scans.append(time.perf_counter() - start)

        for step in ((scan, tick) if scan_first else (tick, scan)):
            step()

    def due_round(self, repeat: int) -> None:
        """(b): the scan, then the tick that fires repeat's 1% (the scan must still see it)."""
        moment = due_at(repeat)
        start = time.perf_counter()
        self.due_found.append(len(self.sweeper.due(moment)))
        self.due_scans.append(time.perf_counter() - start)
        start = time.perf_counter()
        self.fired.append(len(self.desk.tick(moment)))
        self.due_ticks.append(time.perf_counter() - start)

    def close(self) -> None:
        self.sweeper.close()
        self.desk.shutdown()
        for suffix in ("", "-wal", "-shm"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="sizes 2k,20k; 3 repeats")
    parser.add_argument("--sizes", help="comma-separated open cases (default 10k,100k,1m)")
    parser.add_argument("--repeats", type=int, help="repeats per size (default 4, quick 3)")
    parser.add_argument("--idle-ticks", type=int, default=50,
                        help="ticks per repeat when nothing is due (default 50)")
    parser.add_argument("--dir", help="where to build the databases (default: a temp dir)")
    args = parser.parse_args(argv)
    ns = h.sizes(args.sizes or ("2k,20k" if args.quick else "10k,100k,1m"))
    repeats = args.repeats or (3 if args.quick else 4)
    if repeats > 100:
        parser.error("at most 100 repeats: each uses its own 1% of the cases")
    template = Template()

    h.banner("Tick cost on SQLite with N open cases vs a naive full scan")
    print(f"SQLite {sqlite3.sqlite_version}. All sizes are built first; then {repeats} repeats, "
          f"the sizes taking turns, of (a) {args.idle_ticks} ticks with nothing due and (b) "
          "one tick with 1% of the cases due, each beside the naive scan at the same moment. "
          "Medians, spread = (max - min) / median.")
    print()
    with tempfile.TemporaryDirectory(prefix="escalate-tick-", dir=args.dir) as tmp:
        subjects: list[Subject] = []
        for n in ns:
            subject = Subject(n, repeats, template, tmp, with_layout=n == ns[0])
            subjects.append(subject)
            print(f"- {h.human(n)}: built in {subject.built:.1f} s, "
                  f"{subject.size / 2**20:,.0f} MiB", flush=True)
            if subject.layout:
                print(f"  - {subject.layout}")
        # Sizes take turns within each repeat, so background load hits every size alike.
        for r in range(repeats):
            for subject in (subjects if r % 2 == 0 else subjects[::-1]):
                subject.idle_round(args.idle_ticks, scan_first=r % 2 == 1)
                subject.due_round(r)
        for subject in subjects:
            subject.close()
    print()
    for s in subjects:
        print(f"- {h.human(s.n)}: the scan found {s.idle_found} due when idle and "
              f"{s.due_found} at the due moments; the ticks fired {s.fired} timers")
    print()

    print("### (a) nothing due")
    print()
    rows = []
    for s in subjects:
        tick, scan = h.Sample(tuple(s.idle_ticks)), h.Sample(tuple(s.idle_scans))
        rows.append((h.human(s.n), h.ms(tick.median), h.pct(tick.spread), h.ms(s.first_tick),
                     h.ms(scan.median), h.pct(scan.spread), f"{scan.median / tick.median:,.0f}x",
                     "< 5 ms at 1M"))
    print(h.table(["open cases", "tick ms", "spread", "first tick ms (cold connection)",
                   "naive scan ms", "spread", "scan / tick", "target"], rows))
    print()

    print("### (b) 1% due")
    print()
    rows = []
    per_fire = {}
    for s in subjects:
        tick, scan = h.Sample(tuple(s.due_ticks)), h.Sample(tuple(s.due_scans))
        fired = max(s.fired[0], 1)
        per_fire[s.n] = tick.median / fired
        rows.append((h.human(s.n), fired, h.ms(tick.median), h.pct(tick.spread),
                     h.us(tick.median / fired), h.ms(scan.median), h.pct(scan.spread),
                     f"{scan.median / tick.median:.2f}x", "flat from 10k to 1M"))
    print(h.table(["open cases", "timers fired per tick", "tick ms", "spread",
                   "us per fired timer", "naive scan ms (finds only)", "spread",
                   "scan / tick", "target"], rows))
    print()
    if len(per_fire) > 1:
        low, high = min(per_fire), max(per_fire)
        print(f"Cost per fired timer at {h.human(high)} is "
              f"{per_fire[high] / per_fire[low]:.2f}x the cost at {h.human(low)} "
              "(1.00x = flat).")
        print()


if __name__ == "__main__":
    main()
