"""Real worker and actor processes on one PostgreSQL schema.

- Four worker processes fire the due timers of 10,000 cases: every timer once, every
  notification once, the store verifies.
- The same with one worker killed by SIGKILL halfway: the others finish, nothing is lost
  or doubled.
- Actor processes claim, transfer, escalate, resolve and reopen the same cases at random
  while ticking and dispatching: every acknowledged action is in the trail exactly once,
  and nothing is in the trail that no process acknowledged.

The number of cases is ESCALATE_PG_MULTIPROCESS_CASES (default 10000).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

import psycopg
import pytest
from escalate_postgres import PostgresStore
from pgschemas import URL, Schemas
from support.pg_cases import AFTER_DUE, T0, load, opened_cases, policy
from support.pg_checks import assert_timer_events_once, expected_keys, trail

from escalate import Agent, Desk, Event, ManualClock, Queue
from escalate.stores.base import Change

SUPPORT = Path(__file__).resolve().parent / "support"
CASES = int(os.environ.get("ESCALATE_PG_MULTIPROCESS_CASES", "10000"))
WORKERS = 4


# -- processes -------------------------------------------------------------------------

class Child:
    """A support script in its own interpreter; prints "ready" and starts on a line on stdin."""

    def __init__(self, script: str, *args: object) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(SUPPORT / script), *map(str, args)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []

    @property
    def stdout(self) -> IO[str]:
        assert self.process.stdout is not None
        return self.process.stdout

    def wait_ready(self) -> None:
        line = self.stdout.readline().strip()
        if line != "ready":
            self.process.kill()
            _, err = self.process.communicate()
            raise AssertionError(f"child did not start: {line!r} {err}")

    def start(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def finish(self, timeout: float = 600) -> list[str]:
        """Wait for a clean exit; the lines it printed after "ready"."""
        out, err = self.process.communicate(timeout=timeout)
        assert self.process.returncode == 0, err
        self.lines = out.splitlines()
        return self.lines

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.communicate(timeout=30)
        assert self.process.returncode == -signal.SIGKILL


@pytest.fixture
def children() -> Iterator[list[Child]]:
    """Children started by a test; any still running at its end are killed."""
    made: list[Child] = []
    yield made
    for child in made:
        if child.process.poll() is None:
            child.process.kill()
            child.process.communicate()


def started(made: list[Child], script: str, arg_lists: Iterable[tuple[object, ...]]
            ) -> list[Child]:
    """Start one child per argument list, wait until all are connected, then release them."""
    batch = [Child(script, *args) for args in arg_lists]
    made.extend(batch)
    for child in batch:
        child.wait_ready()
    for child in batch:
        child.start()
    return batch


# -- checks ----------------------------------------------------------------------------

def outbox_keys(schema: str) -> list[str]:
    with psycopg.connect(URL, autocommit=True) as conn:
        return [key for (key,) in conn.execute(f'SELECT key FROM "{schema}".outbox')]


def escalated_count(conn: psycopg.Connection[tuple[int]], schema: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM \"{schema}\".events WHERE kind = 'escalated'"
                       ).fetchone()
    assert row is not None
    return int(row[0])


def check_fall_due(schema: str, changes: list[Change]) -> dict[str, list[Event]]:
    """Every case warned once and escalated once by the library, all rows in place."""
    chosen = policy("FALL_DUE")
    store = PostgresStore(URL, schema=schema, pool_max=2)
    with Desk(chosen, store=store, clock=ManualClock(AFTER_DUE), autoload_plugins=False) as desk:
        by_case = trail(desk)
        assert sorted(by_case) == sorted(c.case.id for c in changes), "a case was lost"
        assert_timer_events_once(by_case)
        for case_id, events in by_case.items():
            kinds = [(e.kind.value, e.actor, e.tier_before) for e in events]
            assert kinds == [("opened", None, None), ("warned", None, "frontline"),
                             ("escalated", None, "frontline")], f"{case_id}: {kinds}"
        keys = outbox_keys(schema)
        assert len(keys) == len(set(keys))
        expected = set().union(*(expected_keys(chosen, events) for events in by_case.values()))
        assert set(keys) == expected, (f"missing {sorted(expected - set(keys))[:5]}, "
                                       f"unexpected {sorted(set(keys) - expected)[:5]}")
        assert all(case.tier == "specialists" and case.owner == Queue("specialists")
                   for case in desk.cases())
        due = desk.next_due()
        assert due is not None and due > AFTER_DUE, "a due timer was left behind"
        assert desk.verify() == []  # includes: no timer left overdue at AFTER_DUE
    return by_case


def worker_lines(paths: list[Path]) -> list[list[tuple[str, int, str]]]:
    """What each worker's events file says it committed."""
    result = []
    for path in paths:
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        result.append([(c, int(s), k) for c, s, k in (line.split() for line in lines)])
    return result


# -- the tests -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fall_due() -> list[Change]:
    """CASES opened cases (their Changes), each with a warning and an escalation to come."""
    return opened_cases(policy("FALL_DUE"), CASES)


@pytest.fixture
def loaded(schemas: Schemas, fall_due: list[Change]) -> str:
    """A fresh schema holding the fall_due cases; nothing fired yet."""
    with schemas.store(pool_max=2) as store:
        load(store, fall_due)
        due = store.next_due_at()
        assert due is not None and due <= AFTER_DUE
    return store.schema


def worker_args(schema: str, tmp_path: Path) -> list[tuple[object, ...]]:
    return [(URL, schema, "FALL_DUE", AFTER_DUE.isoformat(), tmp_path / f"worker-{n}.txt")
            for n in range(WORKERS)]


def test_four_workers_fire_every_due_timer_once(loaded: str, fall_due: list[Change],
                                                 children: list[Child],
                                                 tmp_path: Path) -> None:
    started_at = time.perf_counter()
    workers = started(children, "pg_tick_worker.py", worker_args(loaded, tmp_path))
    done = [int(w.finish()[-1].split()[1]) for w in workers]
    seconds = time.perf_counter() - started_at
    assert sum(done) == 2 * CASES, done
    assert all(n > 0 for n in done), f"a worker fired nothing: {done}"
    by_case = check_fall_due(loaded, fall_due)
    # the workers' own records partition the timer events: each fired by exactly one
    claimed = Counter(line for lines in worker_lines([tmp_path / f"worker-{n}.txt"
                                                      for n in range(WORKERS)])
                      for line in lines)
    stored = {(e.case_id, e.seq, e.kind.value) for events in by_case.values()
              for e in events if e.actor is None and e.seq > 1}
    assert set(claimed) == stored and set(claimed.values()) == {1}
    print(f"{WORKERS} workers fired {sum(done)} timers of {CASES} cases in {seconds:.1f} s: "
          f"{done}")


def test_a_worker_killed_halfway_leaves_nothing_lost_or_doubled(
        loaded: str, fall_due: list[Change], children: list[Child], tmp_path: Path) -> None:
    workers = started(children, "pg_tick_worker.py", worker_args(loaded, tmp_path))
    victim, survivors = workers[0], workers[1:]
    with psycopg.connect(URL, autocommit=True) as conn:
        deadline = time.monotonic() + 600
        while (at_kill := escalated_count(conn, loaded)) < CASES // 2:
            assert time.monotonic() < deadline, "the workers made no progress"
            assert victim.process.poll() is None, "the victim ended before it was killed"
            time.sleep(0.01)
        victim.kill()
    done = [int(w.finish()[-1].split()[1]) for w in survivors]
    paths = [tmp_path / f"worker-{n}.txt" for n in range(WORKERS)]
    claimed = worker_lines(paths)
    assert claimed[0], "the victim had fired nothing before it was killed"
    assert at_kill < CASES, "the victim was killed after all the work was done"
    assert sum(done) > 0 and all(n > 0 for n in done)
    by_case = check_fall_due(loaded, fall_due)
    everything = Counter(line for lines in claimed for line in lines)
    stored = {(e.case_id, e.seq, e.kind.value) for events in by_case.values()
              for e in events if e.actor is None and e.seq > 1}
    assert set(everything.values()) == {1}, "two workers both report one event"
    assert set(everything) <= stored
    # the survivors' reports are complete; only the victim's last batch may be unreported
    assert len(stored) - len(everything) <= 20
    print(f"killed worker 0 at {at_kill} of {CASES} escalations, after it reported "
          f"{len(claimed[0])} events; survivors fired {done}")


RACED_CASES = 12
ACTORS = 4
ACTIONS_EACH = 300


def test_racing_actors_lose_no_update(schemas: Schemas, children: list[Child]) -> None:
    chosen = policy("RACING")
    schema = schemas.new()
    store = PostgresStore(URL, schema=schema, pool_max=2)
    with Desk(chosen, store=store, clock=ManualClock(T0), autoload_plugins=False) as desk:
        ids = [desk.open(title=f"race {n}", customer=f"c-{n}", channel="web").id
               for n in range(RACED_CASES)]
    actors = started(children, "pg_actor.py",
                     [(URL, schema, seed, ACTIONS_EACH, *ids) for seed in range(ACTORS)])
    outputs = [actor.finish() for actor in actors]

    acked: Counter[tuple[str, int]] = Counter()
    acked_as: dict[tuple[str, int], tuple[str, str | None]] = {}
    retried = refused = 0
    for lines in outputs:
        for line in lines:
            word, *rest = line.split()
            if word == "ok":
                case_id, version, kind, actor = rest
                acked[(case_id, int(version))] += 1
                acked_as[(case_id, int(version))] = (kind, actor)
            elif word == "fired":
                case_id, seq, kind = rest
                acked[(case_id, int(seq))] += 1
                acked_as[(case_id, int(seq))] = (kind, None)
            elif word == "refused":
                refused += 1
            elif word == "retries":
                retried += int(rest[0])
    doubled = [key for key, n in acked.items() if n > 1]
    assert not doubled, f"two processes were told they wrote the same version: {doubled}"
    assert retried > 0, "the actors never raced; the test proves nothing"

    with Desk(chosen, store=PostgresStore(URL, schema=schema, pool_max=2),
              clock=ManualClock(T0), autoload_plugins=False) as desk:
        by_case = trail(desk)
        assert sorted(by_case) == sorted(ids)
        assert_timer_events_once(by_case)
        written = {(e.case_id, e.seq): (e.kind.value, e.actor)
                   for events in by_case.values() for e in events if e.seq > 1}
        assert written == acked_as, (
            f"lost: {sorted(set(acked_as) - set(written))[:5]}, unacknowledged: "
            f"{sorted(set(written) - set(acked_as))[:5]}, differing: "
            f"{[k for k in written if k in acked_as and written[k] != acked_as[k]][:5]}")
        keys = set(outbox_keys(schema))
        for case_id, events in by_case.items():
            case = desk.get(case_id)
            assert isinstance(case.owner, Agent | Queue) and case.owner.name
            assert case.version == len(events)
            missing = expected_keys(chosen, events) - keys
            assert not missing, f"notifications missing: {sorted(missing)[:5]}"
        assert desk.verify(overdue_after=None) == []
    print(f"{len(written)} events by {ACTORS} processes on {RACED_CASES} cases; "
          f"{retried} lost races retried, {refused} refusals")
