"""Opening N cases on memory:// and SQLite: time and peak memory per case, for several N.

Each (store, side, N, repeat) runs in its own subprocess, so peak memory figures never mix;
the peak is the process's maximum resident set (getrusage ru_maxrss) minus its resident set
just before the first case is opened.

Escalate: `Desk(timed_policy())` opens N phone cases taken by an agent, one `open` each (a
  case row, its `opened` event, three SLA/tier timers and one outbox row), the clock moving
  one second per case.
Baseline, memory: the same records as plain dicts (case dict, a list with the event dict,
  timer tuples, the outbox row) built from a template and kept in dicts: the floor of any
  in-process store.
Baseline, SQLite: raw sqlite3 on the same schema and PRAGMAs writing the same rows (case,
  event, timers, outbox) with the same JSON bodies, one transaction per case.

Flat per-case figures from the smallest N to the largest mean linear growth.

    python benchmarks/bench_open_many.py [--quick] [--sizes 10k,30k,100k] [--repeats R]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import _harness as h

STORES = ("memory", "sqlite")
SIDES = ("escalate", "baseline")


# -- the child: one measurement ----------------------------------------------------------

def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _templates() -> dict[str, Any]:
    """What escalate writes for one opened case, as plain values."""
    from escalate import Desk, ManualClock
    from escalate.codec import case_to_dict, event_to_dict, format_time
    from escalate.testing import timed_policy

    desk = Desk(timed_policy(), store="memory://", clock=ManualClock(), autoload_plugins=False)
    case = desk.open(title="Invoice is wrong", customer="c-0", channel="phone", by="ana")
    (event,) = desk.history(case.id)
    return {
        "case": case_to_dict(case),
        "event": event_to_dict(event),
        "timers": [(t.clock, format_time(t.due_at), t.action.value)
                   for t in desk.store.timers(case.id)],
        "outbox": [n for n in desk.outbox()],
    }


def child(store: str, side: str, n: int, directory: str) -> dict[str, Any]:
    if side == "escalate":
        return child_escalate(store, n, directory)
    return child_baseline(store, n, directory)


def child_escalate(store: str, n: int, directory: str) -> dict[str, Any]:
    from escalate import Desk, ManualClock
    from escalate.testing import timed_policy

    policy = timed_policy()
    scratch = Desk(policy, store="memory://", clock=ManualClock(), autoload_plugins=False)
    for i in range(50):  # warm the code paths, then drop the scratch desk
        scratch.open(title="Invoice is wrong", customer=f"w-{i}", channel="phone", by="ana")
    del scratch
    path = Path(directory) / "escalate.db"
    url = "memory://" if store == "memory" else f"sqlite:///{path}"
    clock = ManualClock()
    desk = Desk(policy, store=url, clock=clock, autoload_plugins=False)
    second = timedelta(seconds=1)
    rss_before = _rss_bytes()
    start = time.perf_counter()
    for i in range(n):
        desk.open(title="Invoice is wrong", customer=f"c-{i}", channel="phone", by="ana")
        clock.advance(second)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result = {"seconds": seconds, "memory": peak - rss_before, "disk": _disk(path)}
    desk.shutdown()
    return result


def child_baseline(store: str, n: int, directory: str) -> dict[str, Any]:
    t = _templates()
    path = Path(directory) / "raw.db"
    if store == "memory":
        cases: dict[str, dict[str, Any]] = {}
        events: dict[str, list[dict[str, Any]]] = {}
        timers: dict[str, list[tuple[str, str, str]]] = {}
        outbox: dict[str, dict[str, Any]] = {}
        rss_before = _rss_bytes()
        start = time.perf_counter()
        for i in range(n):
            case_id = f"C-{i + 1}"
            case = {**t["case"], "id": case_id, "customer": f"c-{i}",
                    "clocks": [dict(c) for c in t["case"]["clocks"]]}
            cases[case_id] = case
            events[case_id] = [{**t["event"], "case_id": case_id,
                                "data": {**t["event"]["data"], "customer": case["customer"]}}]
            timers[case_id] = [(clock, due, action) for clock, due, action in t["timers"]]
            for note in t["outbox"]:
                key = f"{case_id}:1:{note.recipient}:{note.channel}"
                outbox[key] = {"key": key, "case_id": case_id, "subject": note.subject,
                               "body": note.body, "status": "pending"}
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return {"seconds": seconds, "memory": peak - rss_before, "disk": 0}

    import sqlite3

    from escalate.stores.sqlite import SqliteStore

    SqliteStore(path).close()  # the store's own schema
    db = sqlite3.connect(path, isolation_level=None, timeout=5.0)
    db.execute("PRAGMA busy_timeout = 5000")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    rss_before = _rss_bytes()
    start = time.perf_counter()
    for i in range(n):
        case_id = f"C-{i + 1}"
        case = {**t["case"], "id": case_id, "customer": f"c-{i}"}
        event = {**t["event"], "case_id": case_id}
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
        db.executemany("INSERT INTO timers (case_id, clock, due_at, action) VALUES (?, ?, ?, ?)",
                       [(case_id, *timer) for timer in t["timers"]])
        db.executemany(
            "INSERT INTO outbox (key, case_id, seq, recipient, channel, subject, body,"
            " created_at, status, attempts, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
            " 'pending', 0, ?)",
            [(f"{case_id}:1:{o.recipient}:{o.channel}", case_id, 1, o.recipient, o.channel,
              o.subject, o.body, event["at"], event["at"]) for o in t["outbox"]])
        db.execute("COMMIT")
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    db.close()
    return {"seconds": seconds, "memory": peak - rss_before, "disk": _disk(path)}


def _disk(path: Path) -> int:
    """Bytes of the database file and its WAL, if any."""
    total = 0
    for suffix in ("", "-wal"):
        candidate = Path(str(path) + suffix)
        if candidate.exists():
            total += candidate.stat().st_size
    return total


# -- the parent: runs the children and prints the tables ---------------------------------

def measure(store: str, side: str, n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="escalate-bench-") as tmp:
        out = subprocess.run(
            [sys.executable, __file__, "--child", store, side, str(n), tmp],
            check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--child":
        store, side, n, directory = argv[1], argv[2], int(argv[3]), argv[4]
        print(json.dumps(child(store, side, n, directory)))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="sizes 1k,2k,5k, 2 repeats")
    parser.add_argument("--sizes", help="comma-separated N (default 10k,30k,100k)")
    parser.add_argument("--repeats", type=int, help="runs per (store, side, N) (default 3)")
    parser.add_argument("--stores", default="memory,sqlite", help="memory,sqlite")
    args = parser.parse_args(argv)
    ns = h.sizes(args.sizes or ("1k,2k,5k" if args.quick else "10k,30k,100k"))
    repeats = args.repeats or (2 if args.quick else 3)
    stores = [s for s in args.stores.split(",") if s in STORES]

    h.banner("Opening N cases: time and peak memory per case")
    print(f"One subprocess per run; {repeats} runs per (store, side, N), sides alternating; "
          "medians, spread = (max - min) / median. Memory = peak RSS growth while opening.")
    print()
    for store in stores:
        rows = []
        per_case_time: list[float] = []
        for n in ns:
            runs: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
            for r in range(repeats):
                for side in (SIDES if r % 2 == 0 else SIDES[::-1]):
                    runs[side].append(measure(store, side, n))
            esc_t = h.Sample(tuple(x["seconds"] / n for x in runs["escalate"]))
            base_t = h.Sample(tuple(x["seconds"] / n for x in runs["baseline"]))
            esc_m = h.Sample(tuple(x["memory"] / n for x in runs["escalate"]))
            base_m = h.Sample(tuple(x["memory"] / n for x in runs["baseline"]))
            disk = h.Sample(tuple(x["disk"] / n for x in runs["escalate"]))
            per_case_time.append(esc_t.median)
            row = [h.human(n), h.us(esc_t.median), h.pct(esc_t.spread), h.us(base_t.median),
                   h.ratio_text(esc_t, base_t), f"{esc_t.median * n:.2f}",
                   f"{esc_m.median:,.0f}", f"{base_m.median:,.0f}",
                   f"{h.ratio(esc_m, base_m):.1f}x" if base_m.median > 0 else "-"]
            if store == "sqlite":
                row.append(f"{disk.median:,.0f}")
            rows.append(row)
        headers = ["N", "escalate us/case", "spread", "baseline us/case", "time ratio (range)",
                   "escalate total s", "escalate bytes/case", "baseline bytes/case",
                   "memory ratio"]
        if store == "sqlite":
            headers.append("escalate disk bytes/case")
        print(f"### {store}")
        print()
        print(h.table(headers, rows))
        print()
        if len(per_case_time) > 1:
            growth = per_case_time[-1] / per_case_time[0]
            print(f"Per-case time at {h.human(ns[-1])} is {growth:.2f}x the per-case time at "
                  f"{h.human(ns[0])} (1.00x = perfectly linear total time).")
            print()


if __name__ == "__main__":
    main()
