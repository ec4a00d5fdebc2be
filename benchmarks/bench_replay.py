"""Replay of a real helpdesk log into SQLite, and the full report on it, against a stdlib pass.

escalate: `replay_csv` of the BPI Challenge 2013 incident log (65,533 rows, 7,554 cases)
    into a fresh SQLite file: every row becomes lifecycle-checked, hash-chained events,
    committed case by case. Then, when `escalate.report.build_report` exists, the full
    report over every stored event (read back from SQLite) with the replay's policy.
Baselines, in the same run:
    raw sqlite3: the stdlib `csv` module reads the same file and writes one row per source
    row (case id, sequence number, time, status, owner, the whole row as JSON) with
    `executemany` into a fresh SQLite file, in one transaction, plus one row per case:
    the cost of writing the log's rows with no lifecycle, fold, hash chain or checks.
    stdlib count: one pass of `csv` that only counts the figures the replay reports
    (rows, cases, distinct owners, team moves up / sideways / down, A -> B -> A ping-pong
    cases). It writes nothing and checks nothing.

The two sides run interleaved, repeat by repeat; the figures of both are compared.

    python benchmarks/bench_replay.py [--quick] [--repeats R] [--log PATH --mapping NAME]
"""

from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _harness as h

from escalate.replay import ReplayMapping, ReplayResult, replay_csv
from escalate.replay_mappings import MAPPINGS
from escalate.stores.sqlite import SqliteStore

DATA = h.ROOT.parent / "shared" / "data"
LOGS = {
    "bpic2013-incidents": DATA / "bpic2013-volvo-incidents" / "bpic2013_incidents.csv",
    "bpic2013-problems-closed": DATA / "bpic2013-volvo-problems" / "vinst_closed_problems.csv",
    "bpic2013-problems-open": DATA / "bpic2013-volvo-problems" / "vinst_open_problems.csv",
}
FIGURES = ("rows", "cases", "owners", "moves_up", "moves_sideways", "moves_down",
           "ping_pong_cases")

try:
    from escalate.report import build_report
except ImportError:  # the report module is not there yet
    build_report = None


def level(mapping: ReplayMapping, team: str) -> int:
    for suffix, tier in mapping.tier_suffixes.items():
        if team.endswith(suffix):
            return tier
    return 1


def stdlib_counts(path: Path, mapping: ReplayMapping) -> dict[str, int]:
    """The replay's figures, counted with the csv module alone."""
    name_col, country_col = mapping.owner
    teams: dict[str, list[str]] = {}
    owners: set[tuple[str, str]] = set()
    moves = {"moves_up": 0, "moves_sideways": 0, "moves_down": 0}
    rows = 0
    with path.open(encoding=mapping.encoding, newline="") as file:
        for row in csv.DictReader(file, delimiter=mapping.delimiter):
            rows += 1
            name = row[name_col]
            if name not in mapping.system_accounts and name not in mapping.missing:
                owners.add((name, row[country_col]))
            team = row[mapping.team or ""]
            seen = teams.setdefault(row[mapping.case_id], [])
            if seen and seen[-1] != team:
                before, after = level(mapping, seen[-1]), level(mapping, team)
                key = "moves_up" if after > before else (
                    "moves_down" if after < before else "moves_sideways")
                moves[key] += 1
            seen.append(team)
    ping_pong = 0
    for sequence in teams.values():
        collapsed = [t for i, t in enumerate(sequence) if i == 0 or sequence[i - 1] != t]
        if any(collapsed[i] == collapsed[i + 2] for i in range(len(collapsed) - 2)):
            ping_pong += 1
    return {"rows": rows, "cases": len(teams), "owners": len(owners), **moves,
            "ping_pong_cases": ping_pong}


def raw_sqlite(path: Path, mapping: ReplayMapping, db: Path) -> int:
    """Write the log's rows raw into SQLite in one transaction; returns the rows written."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE cases (id TEXT PRIMARY KEY, version INTEGER, body TEXT)")
    conn.execute("CREATE TABLE events (case_id TEXT, seq INTEGER, at TEXT, kind TEXT,"
                 " actor TEXT, body TEXT, PRIMARY KEY (case_id, seq))")
    conn.execute("CREATE INDEX events_at ON events (at)")
    seqs: dict[str, int] = {}
    status_cols = list(mapping.status)
    owner_col = mapping.owner[0]

    def rows() -> Any:
        with path.open(encoding=mapping.encoding, newline="") as file:
            for row in csv.DictReader(file, delimiter=mapping.delimiter):
                case_id = row[mapping.case_id]
                seq = seqs[case_id] = seqs.get(case_id, 0) + 1
                yield (case_id, seq, row[mapping.timestamp],
                       "/".join(row[c] for c in status_cols), row[owner_col],
                       json.dumps(row, separators=(",", ":"), ensure_ascii=False))

    conn.execute("BEGIN")
    conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", rows())
    conn.executemany("INSERT INTO cases VALUES (?, ?, ?)",
                     ((case_id, n, "{}") for case_id, n in seqs.items()))
    conn.execute("COMMIT")
    conn.close()
    return sum(seqs.values())


class Runs:
    """The three timed steps; each returns its seconds and keeps what it produced."""

    def __init__(self, path: Path, mapping: ReplayMapping, workdir: Path) -> None:
        self.path, self.mapping, self.workdir = path, mapping, workdir
        self.repeat = 0
        self.result: ReplayResult | None = None
        self.counts: dict[str, int] = {}
        self.report_seconds: list[float] = []
        self.report_totals: dict[str, Any] = {}
        self.raw_rows = 0

    def replay(self) -> float:
        self.repeat += 1
        store = SqliteStore(self.workdir / f"replay-{self.repeat}.db")
        start = time.perf_counter()
        self.result = replay_csv(self.path, self.mapping, store)
        seconds = time.perf_counter() - start
        if build_report is not None:
            started = time.perf_counter()
            report = build_report(store.all_events(), policy=self.result.policy)
            self.report_seconds.append(time.perf_counter() - started)
            self.report_totals = report.to_json().get("totals", {})
        store.close()
        return seconds

    def raw(self) -> float:
        self.repeat += 1
        start = time.perf_counter()
        self.raw_rows = raw_sqlite(self.path, self.mapping, self.workdir / f"raw-{self.repeat}.db")
        return time.perf_counter() - start

    def baseline(self) -> float:
        start = time.perf_counter()
        self.counts = stdlib_counts(self.path, self.mapping)
        return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="the closed-problems log (6,660 rows) and 2 repeats")
    parser.add_argument("--repeats", type=int, default=None, help="repeats (default 3)")
    parser.add_argument("--mapping", choices=sorted(MAPPINGS), default=None)
    parser.add_argument("--log", type=Path, default=None, help="the CSV file to replay")
    args = parser.parse_args(argv)
    name = args.mapping or ("bpic2013-problems-closed" if args.quick else "bpic2013-incidents")
    path = args.log or LOGS[name]
    repeats = args.repeats or (2 if args.quick else 3)
    h.banner("Replay of a helpdesk log into SQLite, against a stdlib counting pass", argv)
    if not path.is_file():
        print(f"skipped: {path} is not present (the shared BPI Challenge 2013 logs live in "
              "shared/data beside the project)")
        return 0
    mapping = MAPPINGS[name]
    with tempfile.TemporaryDirectory(prefix="escalate-bench-replay-") as tmp:
        runs = Runs(path, mapping, Path(tmp))
        samples = h.interleave({"replay": runs.replay, "raw": runs.raw,
                                "baseline": runs.baseline}, repeats)
    result = runs.result
    assert result is not None
    replay, baseline, raw = samples["replay"], samples["baseline"], samples["raw"]
    events_rate = result.events / replay.median
    raw_rate = runs.raw_rows / raw.median
    ours = {key: getattr(result, key) for key in FIGURES}
    agree = ours == runs.counts
    print(f"log: `{path.name}` with mapping `{name}`: {result.rows:,} rows, "
          f"{result.cases:,} cases, {result.events:,} events written, {result.refused:,} rows "
          f"refused by the lifecycle; {repeats} repeats, medians (min-max)")
    print()
    print(h.table(["write into SQLite", "seconds", "rows per second", "ratio to raw"], [
        ["escalate replay (events)", f"{replay.median:.2f} ({replay.low:.2f}-{replay.high:.2f})",
         f"{events_rate:,.0f}", f"{events_rate / raw_rate:.2f}x"],
        ["raw sqlite3, one transaction (rows)",
         f"{raw.median:.2f} ({raw.low:.2f}-{raw.high:.2f})", f"{raw_rate:,.0f}", "1.00x"],
    ]))
    print()
    print(f"target: >= 50,000 events/s ({'met' if events_rate >= 50_000 else 'missed'}) and "
          f">= 0.3x the raw rate ({'met' if events_rate >= 0.3 * raw_rate else 'missed'})")
    print()
    rows = [
        ["replay into SQLite (s)", f"{replay.median:.2f} ({replay.low:.2f}-{replay.high:.2f})",
         f"{baseline.median:.3f} ({baseline.low:.3f}-{baseline.high:.3f})",
         h.ratio_text(replay, baseline)],
        ["rows per second", f"{result.rows / replay.median:,.0f}",
         f"{result.rows / baseline.median:,.0f}", ""],
        ["events written per second", f"{result.events / replay.median:,.0f}", "-", ""],
    ]
    if build_report is None:
        rows.append(["full report (s)", "skipped: escalate.report.build_report not present",
                     "-", ""])
    else:
        report = h.Sample(tuple(runs.report_seconds))
        rows.append(["full report, events read from SQLite (s)",
                     f"{report.median:.2f} ({report.low:.2f}-{report.high:.2f})", "-",
                     f"{report.median / baseline.median:.1f}x the baseline pass"])
        total = h.Sample(tuple(r + b for r, b in zip(replay.values, runs.report_seconds,
                                                     strict=True)))
        rows.append(["replay + report (s)", f"{total.median:.2f}", f"{baseline.median:.3f}",
                     h.ratio_text(total, baseline)])
    print(h.table(["step", "escalate", "stdlib baseline", "ratio"], rows))
    print()
    print(h.table(["figure", "escalate", "stdlib", "same"],
                  [[key, f"{ours[key]:,}", f"{runs.counts.get(key, 0):,}",
                    "yes" if ours[key] == runs.counts.get(key) else "NO"] for key in FIGURES]))
    print()
    print(f"figures agree: {'yes' if agree else 'NO'}")
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
