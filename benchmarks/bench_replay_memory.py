"""Peak memory of a replay against the length of the log: streamed, bounded by cases.

Writes two generated logs with the same number of cases, one ten times longer than the
other, and replays each (file order, then `sort = true` with small chunks) into a fresh
SQLite file in a process of its own, printing the peak resident memory of each run. When
the replay holds no list of rows, the peak does not grow with the rows.

    python benchmarks/bench_replay_memory.py [--quick] [--rows 20000] [--cases 200] [--chunk 20000]
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

MAPPING = {
    "case_id": "case", "timestamp": "at", "status": "status", "owner": "owner",
    "team": "team", "status_map": {"New": "return", "Active": "claim", "Resolved": "resolve"},
    "tiers": ["first", "second"], "team_tiers": {"T1": "first", "T2": "first", "T3": "second"},
}


def write_log(path: Path, rows: int, cases: int) -> None:
    """`rows` rows over `cases` cases, each case's rows one minute apart."""
    rnd = random.Random(1)
    per_case = rows // cases
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["case", "at", "status", "owner", "team"])
        for case in range(cases):
            for i in range(per_case):
                writer.writerow([f"C{case}", f"2024-01-{1 + i // 1440:02d}T{(i // 60) % 24:02d}:"
                                 f"{i % 60:02d}:00+00:00", ("New", "Active", "Active",
                                                            "Resolved")[i % 4],
                                 rnd.choice(("ana", "bo", "cy")), rnd.choice(("T1", "T2", "T3"))])


def replay_once(log: str, sort: bool, chunk: int) -> None:
    """One replay in this process; prints rows, events and the peak resident memory."""
    from escalate.replay import ReplayMapping, replay_csv
    from escalate.stores.sqlite import SqliteStore

    mapping = ReplayMapping.from_dict({**MAPPING, "sort": sort, "sort_chunk_rows": chunk})
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "replay.db")
        result = replay_csv(log, mapping, store)
        store.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"| {result.rows:,} | {'sort' if sort else 'file order'} | {result.events:,} | "
          f"{peak:.1f} |")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000, help="rows of the short log")
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--chunk", type=int, default=20_000, help="sort_chunk_rows")
    parser.add_argument("--quick", action="store_true", help="2,000 and 20,000 rows")
    parser.add_argument("--one", nargs=2, metavar=("LOG", "SORT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.chunk = 2_000, 2_000
    if args.one:
        replay_once(args.one[0], args.one[1] == "sort", args.chunk)
        return 0
    print("| rows | order | events | peak RSS (MiB) |")
    print("| --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for rows in (args.rows, args.rows * 10):
            log = Path(tmp) / f"log-{rows}.csv"
            write_log(log, rows, args.cases)
            for order in ("file", "sort"):
                subprocess.run([sys.executable, __file__, "--chunk", str(args.chunk),
                                "--one", str(log), order], check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
