"""Crash safety on PostgreSQL: actions, ticks and dispatch in a child killed with SIGKILL 50 times.

The twin of tests/test_crash_safety.py. After each kill the store reopens and every
invariant holds: no acknowledged case lost, every case owned, events gap-free and chained,
replay equals state, no timer fired twice, and every event has the notifications the
policy calls for. The next child is started (imported, not yet connected) while the
previous kill is being checked, so that each round costs little more than its own run.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

from escalate_postgres import PostgresStore
from pgschemas import URL, Schemas
from support.pg_checks import assert_timer_events_once, expected_keys, trail

from escalate import Agent, Desk, Policy, Queue

ROOT = Path(__file__).resolve().parents[3]
CHILD = Path(__file__).resolve().parent / "support" / "pg_crash_child.py"
KILLS = 50


def spawn(schema: str, seed: int) -> subprocess.Popen[str]:
    """A child that has imported everything and waits for its start signal."""
    child = subprocess.Popen([sys.executable, str(CHILD), URL, schema, str(seed)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    return child


def run_and_kill(child: subprocess.Popen[str], rng: random.Random) -> list[str]:
    assert child.stdout is not None and child.stdin is not None
    for expected in ("loaded", "ready"):
        line = child.stdout.readline().strip()
        if line != expected:
            child.kill()
            raise AssertionError(f"child said {line!r}: {child.communicate()[1]}")
        if expected == "loaded":
            child.stdin.write("go\n")
            child.stdin.flush()
    # the kill falls at a random moment of real work, however slow a busy machine makes it
    first = child.stdout.readline().strip()
    if not first.startswith("opened "):
        child.kill()
        raise AssertionError(f"child said {first!r}: {child.communicate()[1]}")
    time.sleep(rng.uniform(0.01, 0.3))
    child.kill()
    out, err = child.communicate()
    assert child.returncode == -9, err
    return [line.split()[1] for line in [first, *out.splitlines()] if line.startswith("opened ")]


def test_sigkill_at_random_moments_never_loses_or_doubles(schemas: Schemas) -> None:
    policy = Policy.from_toml(ROOT / "examples" / "escalation.toml")
    schema = schemas.new()
    PostgresStore(URL, schema=schema, pool_min=0).close()  # created before any child runs
    rng = random.Random(7)
    acknowledged: set[str] = set()
    events = 0
    child = spawn(schema, 0)
    try:
        for kill in range(KILLS):
            acknowledged.update(run_and_kill(child, rng))
            if kill + 1 < KILLS:
                child = spawn(schema, kill + 1)  # imports while this kill is checked
            with Desk(policy, store=PostgresStore(URL, schema=schema, pool_max=2),
                      autoload_plugins=False) as desk:
                assert desk.verify(overdue_after=None) == [], f"after kill {kill}"
                by_case = trail(desk)
                stored = {case.id for case in desk.cases()}
                assert set(by_case) == stored
                assert acknowledged <= stored, f"lost {acknowledged - stored} after kill {kill}"
                assert_timer_events_once(by_case)
                keys = {n.key for n in desk.outbox()}
                for case_id, history in by_case.items():
                    case = desk.get(case_id)
                    assert isinstance(case.owner, Agent | Queue) and case.owner.name
                    missing = expected_keys(policy, history) - keys
                    assert not missing, f"after kill {kill}, notifications missing: {missing}"
                events = sum(len(history) for history in by_case.values())
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert len(acknowledged) >= KILLS, "every child acknowledged work before its kill"
    print(f"{KILLS} kills: {len(acknowledged)} acknowledged cases, {events} events, all intact")
