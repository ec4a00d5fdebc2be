"""A process that acts on a PostgreSQL schema and ticks and dispatches until it is killed.

Usage: pg_crash_child.py URL SCHEMA SEED

The PostgreSQL twin of tests/support/crash_child.py. Prints "loaded" once imported and
waits for one line on stdin (so the parent can start it while still checking the previous
run), then opens the store, prints "ready", and prints "opened CASE_ID" after each
committed open, so the parent knows which cases it must find after the kill.
"""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from escalate_postgres import PostgresStore

from escalate import Desk, EscalateError, ManualClock, Policy

POLICY = Path(__file__).resolve().parents[4] / "examples" / "escalation.toml"
PEOPLE = {"frontline": ["ana", "bo"], "specialists": ["cy", "dan"], "management": ["dee"]}


def main() -> None:
    url, schema, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = random.Random(seed)
    policy = Policy.from_toml(POLICY)
    print("loaded", flush=True)
    sys.stdin.readline()
    start = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    store = PostgresStore(url, schema=schema, pool_min=1, pool_max=2)
    desk = Desk(policy, store=store, clock=ManualClock(start), autoload_plugins=False)
    latest = max((case.updated_at for case in desk.cases()), default=start)
    desk.clock = clock = ManualClock(latest)
    print("ready", flush=True)
    while True:
        unclosed = list(desk.cases(status=("open", "active", "waiting", "resolved")))
        if not unclosed or rng.random() < 0.25:
            case = desk.open(title="crash test", customer="c", channel="phone",
                             priority=rng.choice(["normal", "urgent"]))
            print(f"opened {case.id}", flush=True)
        else:
            case = rng.choice(unclosed)
            actor = rng.choice(PEOPLE.get(case.tier, ["root"]))
            action = rng.choice(["claim", "respond", "wait", "resume", "resolve", "escalate",
                                 "transfer", "reopen", "close", "note"])
            try:
                if action == "transfer":
                    desk.transfer(case.id, to=rng.choice(PEOPLE[case.tier]), by=actor,
                                  note="handoff")
                elif action == "resolve":
                    desk.resolve(case.id, by=actor, resolution="done")
                elif action == "note":
                    desk.note(case.id, "a note", by=actor)
                else:
                    getattr(desk, action)(case.id, by=actor)
            except EscalateError:
                pass
        clock.advance(timedelta(minutes=rng.randint(1, 300)))
        desk.tick()
        desk.dispatch()


if __name__ == "__main__":
    main()
