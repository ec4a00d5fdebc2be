"""A process that acts on a SQLite store and runs the worker loop until it is killed.

Usage: crash_child.py DB_PATH SEED. Prints "ready", then "opened CASE_ID" after each
committed open, so the parent knows which cases it must find after the kill.
"""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from escalate import Desk, EscalateError, ManualClock, Policy

POLICY = Path(__file__).resolve().parents[2] / "examples" / "escalation.toml"
PEOPLE = {"frontline": ["ana", "bo"], "specialists": ["cy", "dan"], "management": ["dee"]}


def main() -> None:
    path, seed = sys.argv[1], int(sys.argv[2])
    rng = random.Random(seed)
    policy = Policy.from_toml(POLICY)
    start = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    desk = Desk(policy, store=f"sqlite:///{path}", clock=ManualClock(start),
                autoload_plugins=False)
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
