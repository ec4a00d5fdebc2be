"""Durable actions per second on SQLite: Desk against raw sqlite3 doing the same writes.

Both sides use a file in a temporary directory with WAL and synchronous=NORMAL, and the
schema SqliteStore creates; every action is its own transaction.

Escalate: `Desk(standard_policy(), store="sqlite:///<tmp>/escalate.db")`; claim, wait,
  resume and note on cases opened beforehand (not timed), and `open` on its own.
Baseline: raw sqlite3 on a second file: for each action BEGIN IMMEDIATE, UPDATE the case row
  (checking the version, as the store does), INSERT the event row, COMMIT. The JSON bodies
  are the ones escalate writes for the same actions (same keys and values, so the same
  sizes), serialized with json.dumps on every action. For `open`: INSERT case + INSERT event.

Also measured in the same run, to split escalate's cost: the same cycle on memory:// (the
Desk's own work, no storage), and raw sqlite3 reading the case row and decoding its JSON
before writing (what a real read-modify-write costs at the bottom). Target: escalate
reaches at least 50% of the raw two-row write rate.

    python benchmarks/bench_sqlite.py [--quick] [--cases N] [--repeats R] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sqlite3
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import _harness as h

from escalate import Desk, ManualClock, Policy
from escalate.codec import case_to_dict, event_to_dict
from escalate.fold import apply
from escalate.stores.sqlite import SqliteStore
from escalate.testing import standard_policy

CYCLE = ("claim", "wait", "resume", "note")


def _dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def new_desk(policy: Policy, url: str) -> Desk:
    return Desk(policy, store=url, clock=ManualClock(), autoload_plugins=False)


def run_cycle(desk: Desk, ids: Sequence[str]) -> None:
    for case_id in ids:
        desk.claim(case_id, by="ana")
        desk.wait(case_id, by="ana", reason="asked for the invoice number")
        desk.resume(case_id, by="ana")
        desk.note(case_id, "customer sent the invoice", by="ana")


def open_cases(desk: Desk, count: int, start: int = 0) -> list[str]:
    return [desk.open(title="Invoice is wrong", customer=f"c-{i}", channel="phone").id
            for i in range(start, start + count)]


# -- the rows escalate writes, as templates for the raw side -----------------------------

class Templates:
    """The case and event dicts escalate writes for one case's open and cycle."""

    def __init__(self, policy: Policy) -> None:
        desk = new_desk(policy, "memory://")
        (case_id,) = open_cases(desk, 1)
        run_cycle(desk, [case_id])
        history = desk.history(case_id)
        case = None
        self.cases: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        for event in history:
            case = apply(case, event)
            self.cases.append(case_to_dict(case))
            self.events.append(event_to_dict(event))
        self.case_bytes = [len(_dumps(c).encode()) for c in self.cases]
        self.event_bytes = [len(_dumps(e).encode()) for e in self.events]


class Raw:
    """A raw sqlite3 connection with the store's schema and PRAGMAs."""

    def __init__(self, path: Path, templates: Templates) -> None:
        SqliteStore(path).close()  # the same schema, indexes and triggers as escalate's
        self.db = sqlite3.connect(path, isolation_level=None, timeout=5.0)
        self.db.execute("PRAGMA busy_timeout = 5000")
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.t = templates

    def open(self, case_id: str) -> None:
        case = {**self.t.cases[0], "id": case_id}
        event = {**self.t.events[0], "case_id": case_id}
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        db.execute(
            "INSERT INTO cases (id, status, owner, ladder, tier, priority, channel, customer,"
            " opened_at, updated_at, version, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (case_id, case["status"], case["owner"], case["ladder"], case["tier"],
             case["priority"], case["channel"], case["customer"], case["opened_at"],
             case["updated_at"], 1, _dumps(case)))
        db.execute("INSERT INTO events (case_id, seq, at, kind, actor, body)"
                   " VALUES (?, ?, ?, ?, ?, ?)",
                   (case_id, 1, event["at"], event["kind"], event["actor"], _dumps(event)))
        db.execute("COMMIT")

    def act(self, case_id: str, step: int, read: bool = False) -> None:
        """The write of cycle action `step` (1-4): UPDATE the case, INSERT the event."""
        case = {**self.t.cases[step], "id": case_id}
        event = {**self.t.events[step], "case_id": case_id}
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        if read:
            (body,) = db.execute("SELECT body FROM cases WHERE id = ?", (case_id,)).fetchone()
            json.loads(body)
        cursor = db.execute(
            "UPDATE cases SET status = ?, owner = ?, updated_at = ?, version = ?, body = ?"
            " WHERE id = ? AND version = ?",
            (case["status"], case["owner"], case["updated_at"], step + 1, _dumps(case),
             case_id, step))
        if cursor.rowcount != 1:
            db.execute("ROLLBACK")
            raise RuntimeError(f"raw baseline lost its row {case_id}")
        db.execute("INSERT INTO events (case_id, seq, at, kind, actor, body)"
                   " VALUES (?, ?, ?, ?, ?, ?)",
                   (case_id, step + 1, event["at"], event["kind"], event["actor"],
                    _dumps(event)))
        db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()


# -- one repeat of each side -------------------------------------------------------------

def esc_cycle(policy: Policy, cases: int, url: str | None = None) -> float:
    """Seconds per action of the cycle on a fresh store (SQLite file unless `url`)."""
    with tempfile.TemporaryDirectory(prefix="escalate-bench-") as tmp:
        desk = new_desk(policy, url or f"sqlite:///{tmp}/escalate.db")
        ids = open_cases(desk, cases)
        seconds = h.timed(lambda: run_cycle(desk, ids))
        desk.shutdown()
    return seconds / (cases * len(CYCLE))


def esc_open(policy: Policy, cases: int) -> float:
    with tempfile.TemporaryDirectory(prefix="escalate-bench-") as tmp:
        desk = new_desk(policy, f"sqlite:///{tmp}/escalate.db")
        seconds = h.timed(lambda: open_cases(desk, cases))
        desk.shutdown()
    return seconds / cases


def raw_cycle(templates: Templates, cases: int, read: bool = False) -> float:
    with tempfile.TemporaryDirectory(prefix="escalate-bench-") as tmp:
        raw = Raw(Path(tmp) / "raw.db", templates)
        ids = [f"C-{i}" for i in range(1, cases + 1)]
        for case_id in ids:
            raw.open(case_id)

        def work() -> None:
            for case_id in ids:
                for step in range(1, len(CYCLE) + 1):
                    raw.act(case_id, step, read)

        seconds = h.timed(work)
        raw.close()
    return seconds / (cases * len(CYCLE))


def raw_open(templates: Templates, cases: int) -> float:
    with tempfile.TemporaryDirectory(prefix="escalate-bench-") as tmp:
        raw = Raw(Path(tmp) / "raw.db", templates)
        ids = [f"C-{i}" for i in range(1, cases + 1)]

        def work() -> None:
            for case_id in ids:
                raw.open(case_id)

        seconds = h.timed(work)
        raw.close()
    return seconds / cases


def store_parts(policy: Policy, cases: int, repeats: int) -> dict[str, h.Sample]:
    """Seconds per action of two store steps on their own: loading and encoding a case."""
    with tempfile.TemporaryDirectory(prefix="escalate-bench-") as tmp:
        desk = new_desk(policy, f"sqlite:///{tmp}/escalate.db")
        ids = open_cases(desk, cases)
        run_cycle(desk, ids)
        store = desk.store
        pairs = []
        for case_id in ids:
            case = None
            for event in desk.history(case_id):
                case = apply(case, event)
                pairs.append((case, event))

        def load() -> None:
            for case_id in ids:
                store.get(case_id)

        def encode() -> None:
            for case, event in pairs:
                _dumps(case_to_dict(case))
                _dumps(event_to_dict(event))

        got = h.interleave({"load": lambda: h.timed(load) / len(ids),
                            "encode": lambda: h.timed(encode) / len(pairs)}, repeats)
        desk.shutdown()
    return got


def profile(policy: Policy, cases: int, top: int = 20) -> str:
    """cProfile of the SQLite cycle: the top functions by own time, with their share."""
    with tempfile.TemporaryDirectory(prefix="escalate-bench-") as tmp:
        desk = new_desk(policy, f"sqlite:///{tmp}/escalate.db")
        ids = open_cases(desk, cases)
        profiler = cProfile.Profile()
        profiler.runcall(run_cycle, desk, ids)
        desk.shutdown()
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    entries = stats.stats  # type: ignore[attr-defined]
    rows = []
    for (path, line, func), (_cc, calls, own, cum, _) in sorted(
            entries.items(), key=lambda kv: kv[1][2], reverse=True)[:top]:
        where = path.split("site-packages/")[-1].split("/src/")[-1]
        rows.append((f"{func} ({where}:{line})", calls, h.pct(own / total), h.pct(cum / total)))
    return h.table(["function", "calls", "own time", "cumulative"], rows)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--cases", type=int, help="cases per repeat (default 2000, quick 300)")
    parser.add_argument("--repeats", type=int, help="repeats per side (default 7, quick 5)")
    parser.add_argument("--profile", action="store_true", help="add a cProfile listing")
    args = parser.parse_args(argv)
    cases = args.cases or (300 if args.quick else 2000)
    repeats = args.repeats or (5 if args.quick else 7)

    policy = standard_policy()
    templates = Templates(policy)
    h.banner("Durable actions per second on SQLite: Desk vs raw sqlite3")
    print(f"SQLite {sqlite3.sqlite_version}, WAL, synchronous=NORMAL, one transaction per "
          f"action, a file in {tempfile.gettempdir()}. {cases} cases x {len(CYCLE)} actions "
          f"per repeat, {repeats} repeats, interleaved; medians, spread = (max - min) / median.")
    print(f"JSON bodies per cycle action: case {templates.case_bytes[1:]} bytes, event "
          f"{templates.event_bytes[1:]} bytes (open: {templates.case_bytes[0]} + "
          f"{templates.event_bytes[0]}).")
    print()

    esc_cycle(policy, 50)  # warm-up: imports, first file creation
    raw_cycle(templates, 50)

    cycle: dict[str, Callable[[], float]] = {
        "escalate": lambda: esc_cycle(policy, cases),
        "raw": lambda: raw_cycle(templates, cases),
        "raw_read": lambda: raw_cycle(templates, cases, read=True),
        "memory": lambda: esc_cycle(policy, cases, "memory://"),
    }
    got = h.interleave(cycle, repeats)
    opened = h.interleave({"escalate": lambda: esc_open(policy, cases),
                           "raw": lambda: raw_open(templates, cases)}, repeats)

    def rate(sample: h.Sample) -> str:
        return f"{1 / sample.median:,.0f}"

    def share(esc: h.Sample, raw: h.Sample) -> str:
        r = h.paired(raw, esc)  # escalate's rate over raw's = raw time over escalate time
        return f"{h.pct(r.median)} ({h.pct(r.low)}-{h.pct(r.high)})"

    rows = [
        ("claim/wait/resume/note", rate(got["escalate"]), h.us(got["escalate"].median),
         h.pct(got["escalate"].spread), rate(got["raw"]), h.us(got["raw"].median),
         h.pct(got["raw"].spread), share(got["escalate"], got["raw"]), ">= 50%"),
        ("open", rate(opened["escalate"]), h.us(opened["escalate"].median),
         h.pct(opened["escalate"].spread), rate(opened["raw"]), h.us(opened["raw"].median),
         h.pct(opened["raw"].spread), share(opened["escalate"], opened["raw"]), ">= 50%"),
    ]
    print(h.table(["workload", "escalate actions/s", "us/action", "spread", "raw actions/s",
                   "us/action", "spread", "escalate / raw rate (range)", "target"], rows))
    print()
    esc, mem = got["escalate"].median, got["memory"].median
    raw, raw_read = got["raw"].median, got["raw_read"].median
    parts = store_parts(policy, min(cases, 1000), repeats)
    load, encode = parts["load"].median, parts["encode"].median
    print("### Where a durable action's time goes (claim/wait/resume/note)")
    print()
    print("Each line measured on its own in this run; the store's share is the SQLite "
          "figure minus the memory:// figure.")
    print()
    print(h.table(["part", "us/action", "share"], [
        ("Desk logic (the same cycle on memory://)", h.us(mem), h.pct(mem / esc)),
        ("SQLite store on top of that", h.us(esc - mem), h.pct((esc - mem) / esc)),
        ("  store.get: SELECT + json.loads + case_from_dict", h.us(load), h.pct(load / esc)),
        ("  encode case + event: *_to_dict + json.dumps", h.us(encode), h.pct(encode / esc)),
        ("  raw floor: two-row write transaction (json.dumps included)", h.us(raw),
         h.pct(raw / esc)),
        ("  raw floor with a read: SELECT + json.loads + the write", h.us(raw_read),
         h.pct(raw_read / esc)),
        ("escalate on SQLite (measured)", h.us(esc), "100.0%"),
    ]))
    print()
    if args.profile:
        print("### cProfile of the SQLite cycle")
        print()
        print(profile(policy, min(cases, 1000)))
        print()


if __name__ == "__main__":
    main()
