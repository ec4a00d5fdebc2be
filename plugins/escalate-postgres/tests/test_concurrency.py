"""Several writers and workers on one schema: one winner per case version, each due timer
handled exactly once, each notification leased to one dispatcher at a time."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta

import attrs
import pytest
from escalate_postgres import PostgresStore
from pgschemas import URL, Schemas

from escalate import Action, Case, Change, ConflictError, Timer
from escalate.fold import apply
from escalate.testing.store_contract import T0, following, new_case_change, notification

WORKERS = 4


def run_together(count: int, work: Callable[[int], object]) -> list[object]:
    """Run work(0..count-1) in threads released at the same moment; return results or errors."""
    start = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(n: int) -> None:
        start.wait()
        try:
            results[n] = work(n)
        except BaseException as exc:
            results[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.fixture
def schema(schemas: Schemas) -> Iterator[str]:
    name = schemas.new()
    PostgresStore(URL, schema=name, pool_min=0).close()
    yield name


def note_by(case: Case, agent: str) -> Change:
    """A note by `agent`, with a timer and a notification of its own."""
    event = attrs.evolve(following(case, Action.NOTE, T0 + timedelta(minutes=1)), actor=agent)
    return Change(case=apply(case, event), events=(event,), expected_version=case.version,
                  notifications=(notification(case.id, event.seq, agent),),
                  timers=(Timer(case.id, agent, T0, Action.WARN),))


def test_one_of_two_threads_wins_a_case_version(schema: str) -> None:
    stores = [PostgresStore(URL, schema=schema) for _ in range(2)]
    try:
        stores[0].commit(new_case_change("K-1"))
        for round_ in range(10):  # many races, each on a fresh version
            case = stores[0].get("K-1")
            assert case is not None
            agents = (f"x{round_}", f"y{round_}")

            def race(n: int, case: Case = case, agents: tuple[str, str] = agents) -> None:
                stores[n].commit(note_by(case, agents[n]))

            results = run_together(2, race)
            winners = [n for n, result in enumerate(results) if result is None]
            assert len(winners) == 1, results
            assert isinstance(results[1 - winners[0]], ConflictError), results
            won, lost = agents[winners[0]], agents[1 - winners[0]]
            assert stores[1].get("K-1") == note_by(case, won).case
            assert [t.clock for t in stores[1].timers("K-1")] == [won]
            recipients = [n.recipient for n in stores[1].notifications(case_id="K-1")]
            assert won in recipients and lost not in recipients
        assert [e.seq for e in stores[1].events("K-1")] == list(range(1, 12))
        assert len(stores[1].notifications()) == 10
    finally:
        for store in stores:
            store.close()


def _race_in_process(schema: str, agent: str, start: threading.Barrier,
                     out: multiprocessing.Queue[tuple[str, str]]) -> None:
    with PostgresStore(URL, schema=schema, pool_min=1) as store:
        case = store.get("K-1")
        assert case is not None and case.version == 1
        start.wait()
        try:
            store.commit(note_by(case, agent))
        except ConflictError:
            out.put((agent, "conflict"))
        else:
            out.put((agent, "won"))


def test_one_of_two_processes_wins_a_case_version(schema: str) -> None:
    with PostgresStore(URL, schema=schema) as store:
        setup = new_case_change("K-1")
        store.commit(setup)
        context = multiprocessing.get_context("spawn")
        start = context.Barrier(2)
        out: multiprocessing.Queue[tuple[str, str]] = context.Queue()
        processes = [context.Process(target=_race_in_process, args=(schema, agent, start, out))
                     for agent in ("bo", "cy")]
        for process in processes:
            process.start()
        outcomes = dict(out.get(timeout=30) for _ in processes)
        for process in processes:
            process.join(timeout=30)
        assert sorted(outcomes.values()) == ["conflict", "won"]
        (winner,) = [agent for agent, outcome in outcomes.items() if outcome == "won"]
        assert store.get("K-1") == note_by(setup.case, winner).case
        assert [n.recipient for n in store.notifications(case_id="K-1")] == [winner]


def test_each_of_500_due_timers_is_handled_once_by_four_workers(schema: str) -> None:
    """250 cases with two due timers each: workers race for timers of the same case too."""
    clocks = ("first_response", "tier")
    with PostgresStore(URL, schema=schema, pool_max=8) as setup:
        for n in range(250):
            timers = tuple(Timer(f"K-{n}", clock, T0 + timedelta(seconds=n + i), Action.WARN)
                           for i, clock in enumerate(clocks))
            setup.commit(attrs.evolve(new_case_change(f"K-{n}"), timers=timers))
        assert len([1 for n in range(250) for _ in setup.timers(f"K-{n}")]) == 500

    handled: Counter[tuple[str, str]] = Counter()
    lock = threading.Lock()

    def handler(case: Case, timer: Timer) -> Change:
        with lock:  # the case row is locked by this transaction, so this is consistent
            handled[(case.id, timer.clock)] += 1
            left = tuple(Timer(case.id, clock, T0 + timedelta(seconds=int(case.id[2:]) + i),
                               Action.WARN)
                         for i, clock in enumerate(clocks) if (case.id, clock) not in handled)
        event = following(case, Action.NOTE, timer.due_at)
        return Change(case=apply(case, event), events=(event,),
                      expected_version=case.version, timers=left)

    stores = [PostgresStore(URL, schema=schema, pool_max=2) for _ in range(WORKERS)]
    try:
        def work(n: int) -> int:
            count = 0
            while fired := stores[n].fire_due(T0 + timedelta(hours=1), 25, handler):
                count += len(fired)
            return count

        results = run_together(WORKERS, work)
        assert all(isinstance(r, int) for r in results), results
        assert sum(results) == 500  # type: ignore[arg-type]
        assert len(handled) == 500 and set(handled.values()) == {1}
        check = stores[0]
        assert check.next_due_at() is None
        assert all(len(check.events(f"K-{n}")) == 3 for n in range(250))
    finally:
        for store in stores:
            store.close()


def test_each_notification_is_leased_to_one_dispatcher(schema: str) -> None:
    with PostgresStore(URL, schema=schema) as setup:
        for n in range(50):
            rows = tuple(notification(f"K-{n}", 1, who) for who in ("ana", "bo", "cy", "dee"))
            setup.commit(attrs.evolve(new_case_change(f"K-{n}"), notifications=rows))
    stores = [PostgresStore(URL, schema=schema, pool_max=2) for _ in range(WORKERS)]
    try:
        def work(n: int) -> list[str]:
            keys: list[str] = []
            while claimed := stores[n].claim_notifications(T0, 7, timedelta(minutes=5)):
                keys.extend(row.key for row in claimed)
            return keys

        results = run_together(WORKERS, work)
        keys = [key for result in results for key in result]  # type: ignore[attr-defined]
        assert len(keys) == len(set(keys)) == 200
    finally:
        for store in stores:
            store.close()


def test_allocated_ids_are_unique_across_stores(schema: str) -> None:
    stores = [PostgresStore(URL, schema=schema, pool_max=2) for _ in range(WORKERS)]
    try:
        results = run_together(WORKERS, lambda n: [stores[n].allocate_id() for _ in range(50)])
        ids = [case_id for result in results for case_id in result]  # type: ignore[attr-defined]
        assert len(ids) == len(set(ids)) == 200
    finally:
        for store in stores:
            store.close()


def test_workers_and_writers_on_the_same_cases_never_deadlock(schema: str) -> None:
    """Writers replace timers of cases while workers fire them: no deadlock, no double fire."""
    with PostgresStore(URL, schema=schema) as setup:
        for n in range(40):
            setup.commit(attrs.evolve(new_case_change(f"K-{n}"),
                                      timers=(Timer(f"K-{n}", "c0", T0, Action.WARN),)))
    handled: Counter[tuple[str, str]] = Counter()
    lock = threading.Lock()
    stop = threading.Event()

    def handler(case: Case, timer: Timer) -> Change:
        with lock:
            handled[(case.id, timer.clock)] += 1
        event = following(case, Action.NOTE, case.updated_at)
        return Change(case=apply(case, event), events=(event,),
                      expected_version=case.version, timers=())

    stores = [PostgresStore(URL, schema=schema, pool_max=2) for _ in range(5)]

    def work(n: int) -> int:
        store = stores[n]
        if n < 3:  # workers
            count = 0
            while not stop.is_set():
                count += len(store.fire_due(T0 + timedelta(hours=1), 10, handler))
            return count
        writes = 0  # writers: re-arm a fresh due timer on every case, round after round
        for round_ in range(1, 6):
            for c in range(40):
                while True:
                    case = store.get(f"K-{c}")
                    assert case is not None
                    event = following(case, Action.NOTE, case.updated_at)
                    clock = f"w{n}r{round_}"
                    try:
                        store.commit(Change(case=apply(case, event), events=(event,),
                                            expected_version=case.version,
                                            timers=(Timer(case.id, clock, T0, Action.WARN),)))
                    except ConflictError:
                        continue
                    writes += 1
                    break
        return writes

    writers_done = threading.Barrier(2, action=stop.set)

    def run(n: int) -> int:
        try:
            return work(n)
        finally:
            if n >= 3:
                writers_done.wait()

    try:
        results = run_together(5, run)
        assert all(isinstance(r, int) for r in results), results
        while stores[0].fire_due(T0 + timedelta(hours=1), 50, handler):
            pass
        assert max(handled.values()) == 1, "a timer fired twice"
        assert stores[0].next_due_at() is None
    finally:
        for store in stores:
            store.close()
