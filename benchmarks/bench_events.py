"""Reading every event in time order from SQLite: cost per event as the store grows.

`desk.events()` / `Store.all_events` read the events table in pages of 2,000 ordered by
(at, case_id, seq). The page query once used an OR over the three columns, which made
SQLite sort every remaining row for each page; it now seeks the (at, case_id, seq) index
with a row-value comparison. Both page queries run here on the same files, beside the
baseline: one plain full scan of the same rows (`SELECT body FROM events`), so each figure
is a ratio measured in the same run. Rows are synthetic (one stored event body repeated
under other case ids and times): only the reading is measured, not decoding.

    python benchmarks/bench_events.py --sizes 40k,400k --repeats 3
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _harness import banner, human, interleave, ratio_text, sizes, table, timed, us

from escalate.stores.sqlite import EVENTS_PAGE, SqliteStore

#: The page query as it was, with its OR predicate.
OLD_PAGE = ("SELECT at, case_id, seq, body FROM events WHERE at < ? AND"
            " (at > ? OR (at = ? AND (case_id > ? OR (case_id = ? AND seq > ?))))"
            " ORDER BY at, case_id, seq LIMIT 2000")
#: What the old query used: an index on `at` alone.
OLD_INDEX = "CREATE INDEX IF NOT EXISTS events_at ON events (at)"
BODY = '{"kind":"noted","padding":"' + "x" * 300 + '"}'
START = datetime(2026, 1, 1, tzinfo=UTC)


def build(folder: Path, events: int) -> Path:
    """A fresh store file with `events` rows, four per case, a few sharing each instant."""
    path = folder / f"events-{events}.db"
    SqliteStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("DROP TRIGGER IF EXISTS events_append_only_update")
        rows = ((f"C-{n // 4}", n % 4 + 1,
                 (START + timedelta(seconds=n // 3)).isoformat(timespec="microseconds"), BODY)
                for n in range(events))
        db.executemany("INSERT INTO events (case_id, seq, at, kind, actor, body)"
                       " VALUES (?, ?, ?, 'noted', NULL, ?)",
                       ((c, s, a, b) for c, s, a, b in rows))
        db.execute(OLD_INDEX)
    return path


def read_pages(db: sqlite3.Connection, sql: str, wide: bool) -> int:
    """Read every row page by page; return how many were read."""
    count, last = 0, ("", "", -1)
    while True:
        params = ("\uffff", last[0], last[0], last[1], last[1], last[2]) if wide else (
            "\uffff", *last)
        rows = db.execute(sql, params).fetchall()
        if not rows:
            return count
        count += len(rows)
        last = rows[-1][:3]


def measure(path: Path, size: int, repeats: int) -> list[str]:
    """One table row: per-event cost of the scan and both page queries, and their ratios."""
    db = sqlite3.connect(path)

    def per_event(read: Callable[[], object]) -> float:
        return timed(read) / size

    runs = {
        "scan": lambda: per_event(lambda: db.execute("SELECT body FROM events").fetchall()),
        "new": lambda: per_event(lambda: read_pages(db, EVENTS_PAGE, False)),
        "old": lambda: per_event(lambda: read_pages(db, OLD_PAGE, True)),
    }
    got = interleave(runs, repeats)
    db.close()
    return [human(size), us(got["scan"].median), us(got["new"].median), us(got["old"].median),
            ratio_text(got["new"], got["scan"]), ratio_text(got["old"], got["scan"])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="40k,400k", help="events per store, e.g. 40k,400k")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="10k and 100k events, 2 repeats")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.repeats = "10k,100k", 2
    banner("Reading all events in time order (SQLite)")
    with tempfile.TemporaryDirectory() as folder:
        out = [measure(build(Path(folder), size), size, args.repeats)
               for size in sizes(args.sizes)]
    print(table(["events", "full scan us/event", "row-value pages us/event",
                 "OR pages us/event", "row-value / scan", "OR / scan"], out))


if __name__ == "__main__":
    main()
