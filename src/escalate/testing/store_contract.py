"""The store contract: tests every storage backend must pass, written once, subclassed by each.

A backend's test module subclasses `StoreContract` and says how to make a fresh store::

    class TestPostgresStore(StoreContract):
        def make_store(self) -> Store:
            return PostgresStore(URL, schema=new_schema())

pytest collects the inherited `test_*` methods. Needs pytest.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from .. import lifecycle
from ..errors import ConflictError, StorageError
from ..fold import apply
from ..model import EVENT_OF_ACTION, Action, Agent, Case, Event, EventKind, Queue, Status
from ..stores.base import (
    KEEP,
    AvailabilityChange,
    CaseQuery,
    Change,
    Keep,
    Notification,
    Store,
    Timer,
)

__all__ = ["StoreContract"]

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def opened(case_id: str, at: datetime = T0, *, priority: str = "normal",
           channel: str = "phone") -> Event:
    """The opening event of a case in tier "frontline"."""
    return Event(case_id=case_id, seq=1, at=at, kind=EventKind.OPENED, actor="ana",
                 owner_before=None, owner_after=Queue("frontline"), status_before=None,
                 status_after=Status.OPEN, tier_before=None, tier_after="frontline",
                 data={"title": f"case {case_id}", "customer": "c-1", "channel": channel,
                       "priority": priority, "ladder": "support", "contact": "ana",
                       "fields": {"n": 1}})


def following(case: Case, action: Action, at: datetime, owner: Agent | Queue | None = None,
              tier: str | None = None) -> Event:
    """The next event of `case` for `action`."""
    return Event(case_id=case.id, seq=case.version + 1, at=at,
                 kind=EVENT_OF_ACTION[action], actor="ana",
                 owner_before=case.owner, owner_after=owner or case.owner,
                 status_before=case.status,
                 status_after=lifecycle.next_status(case.status, action, case.id),
                 tier_before=case.tier, tier_after=tier or case.tier, reason="because")


def new_case_change(case_id: str, at: datetime = T0, **kwargs: str) -> Change:
    """A Change that creates a case."""
    event = opened(case_id, at, **kwargs)
    return Change(case=apply(None, event), events=(event,), expected_version=0, timers=())


def notification(case_id: str, seq: int, recipient: str, at: datetime = T0) -> Notification:
    """An outbox row."""
    return Notification(key=f"{case_id}:{seq}:{recipient}:log", case_id=case_id, seq=seq,
                        recipient=recipient, channel="log", subject="s", body="b",
                        created_at=at, next_attempt_at=at)


class StoreContract:
    """Inherited tests that define what a store must do; subclass and implement make_store."""

    def make_store(self) -> Store:
        """Return a fresh, empty store (override in the backend's tests)."""
        raise NotImplementedError("subclasses of StoreContract implement make_store()")

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        """A fresh store, closed after the test."""
        made = self.make_store()
        yield made
        made.close()

    # -- cases and events -----------------------------------------------------------------

    def test_a_new_case_reads_back_exactly(self, store: Store) -> None:
        """A committed case and its events read back equal, custom fields included."""
        change = new_case_change("K-1")
        store.commit(change)
        assert store.get("K-1") == change.case
        assert store.events("K-1") == list(change.events)
        assert store.get("missing") is None
        assert store.events("missing") == []

    def test_transactions_are_atomic_and_versions_conflict(self, store: Store) -> None:
        """A stale version or a duplicate event is refused and writes nothing at all."""
        first = new_case_change("K-1")
        store.commit(first)
        case = first.case
        event = following(case, Action.CLAIM, T0 + timedelta(minutes=1), owner=Agent("ana"))
        claimed = apply(case, event)
        timers = (Timer("K-1", "tier", T0 + timedelta(hours=1), Action.ESCALATE),)
        good = Change(case=claimed, events=(event,), expected_version=1, timers=timers,
                      notifications=(notification("K-1", 2, "bo"),))
        store.commit(good)
        stale = attrs.evolve(good, notifications=(notification("K-1", 2, "cy"),), timers=())
        with pytest.raises(ConflictError):
            store.commit(stale)
        with pytest.raises(ConflictError):
            store.commit(first)
        assert store.get("K-1") == claimed
        assert len(store.events("K-1")) == 2
        assert store.timers("K-1") == list(timers)
        assert [n.recipient for n in store.notifications(case_id="K-1")] == ["bo"]

    def test_a_change_whose_event_exists_writes_nothing(self, store: Store) -> None:
        """Events are append-only: re-using a sequence number is a conflict."""
        first = new_case_change("K-1")
        store.commit(first)
        event = following(first.case, Action.NOTE, T0)
        clash = attrs.evolve(event, seq=1)
        bad = Change(case=apply(first.case, event), events=(clash,), expected_version=1,
                     timers=(Timer("K-1", "x", T0, Action.WARN),))
        with pytest.raises(ConflictError):
            store.commit(bad)
        assert store.get("K-1") == first.case
        assert store.events("K-1") == list(first.events)
        assert store.timers("K-1") == []

    def test_commit_many_writes_many_cases_in_order(self, store: Store) -> None:
        """`commit_many`: several cases, one of them twice, read back exactly."""
        first = new_case_change("M1")
        claim = following(first.case, Action.CLAIM, T0 + timedelta(minutes=1), Agent("ana"))
        claimed = apply(first.case, claim)
        second = new_case_change("M2", T0 + timedelta(minutes=2))
        store.commit_many([first, second,
                           Change(case=claimed, events=(claim,), expected_version=1)])
        assert store.get("M1") == claimed
        assert store.get("M2") == second.case
        assert [e.seq for e in store.events("M1")] == [1, 2]
        assert [e.case_id for e in store.all_events()] == ["M1", "M1", "M2"]
        store.commit_many([])

    def test_settings_are_kept_and_replaced(self, store: Store) -> None:
        """`put_setting` / `get_setting`: None before, the last value after."""
        assert store.get_setting("policy") is None
        store.put_setting("policy", '{"a": 1}')
        store.put_setting("policy", '{"a": 2}')
        assert store.get_setting("policy") == '{"a": 2}'
        assert store.get_setting("other") is None

    def test_commit_many_is_all_or_nothing(self, store: Store) -> None:
        """A conflict on the last change of a batch writes none of the batch."""
        store.commit(new_case_change("K1"))
        fresh = new_case_change("K2")
        stale = new_case_change("K1")  # K1 exists: expected_version 0 is stale
        with pytest.raises(ConflictError):
            store.commit_many([fresh, stale])
        assert store.get("K2") is None
        assert store.events("K2") == []
        assert [e.seq for e in store.events("K1")] == [1]

    def test_find_filters_and_orders_oldest_first(self, store: Store) -> None:
        """find() matches every filter exactly and lists cases oldest first."""
        store.commit(new_case_change("K-2", T0 + timedelta(hours=1), priority="urgent"))
        store.commit(new_case_change("K-1", T0, channel="email"))
        assert [c.id for c in store.find(CaseQuery())] == ["K-1", "K-2"]
        assert [c.id for c in store.find(CaseQuery(priority="urgent"))] == ["K-2"]
        assert [c.id for c in store.find(CaseQuery(channel="email", status=("open",)))] == ["K-1"]
        assert store.find(CaseQuery(owner=Agent("zed").ref)) == []
        assert [c.id for c in store.find(CaseQuery(owner=Queue("frontline").ref, limit=1))] \
            == ["K-1"]
        assert list(store.case_ids()) == ["K-1", "K-2"]

    def test_find_pages_after_a_cursor(self, store: Store) -> None:
        """find(after=id) lists only the cases after that one, in the same order.

        Equal opening times keep insertion order, so paging never skips nor repeats a case.
        """
        ids = ["P-3", "P-1", "P-2", "P-4"]
        for n, case_id in enumerate(ids):
            store.commit(new_case_change(case_id, T0 + timedelta(minutes=n // 2),
                                         channel="email" if n % 2 else "phone"))
        assert [c.id for c in store.find(CaseQuery(after="P-3"))] == ["P-1", "P-2", "P-4"]
        assert [c.id for c in store.find(CaseQuery(after="P-1", limit=1))] == ["P-2"]
        assert [c.id for c in store.find(CaseQuery(after="P-3", channel="phone"))] == ["P-2"]
        assert store.find(CaseQuery(after="P-4")) == []

    def test_all_events_are_ordered_and_windowed(self, store: Store) -> None:
        """all_events() orders by time, case and seq, and honours since <= at < until."""
        store.commit(new_case_change("K-2", T0))
        store.commit(new_case_change("K-1", T0 + timedelta(hours=2)))
        keys = [(e.case_id, e.seq) for e in store.all_events()]
        assert keys == [("K-2", 1), ("K-1", 1)]
        window = list(store.all_events(since=T0 + timedelta(hours=1),
                                       until=T0 + timedelta(hours=3)))
        assert [(e.case_id, e.seq) for e in window] == [("K-1", 1)]
        assert list(store.all_events(until=T0)) == []

    def test_allocated_ids_are_unique_across_threads(self, store: Store) -> None:
        """Concurrent callers never receive the same case id."""
        ids: list[str] = []
        lock = threading.Lock()

        def grab() -> None:
            got = [store.allocate_id() for _ in range(25)]
            with lock:
                ids.extend(got)

        threads = [threading.Thread(target=grab) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(ids) == len(set(ids)) == 100

    # -- timers ---------------------------------------------------------------------------

    def test_timers_are_replaced_or_kept(self, store: Store) -> None:
        """A Change's timers replace the case's timers; None leaves them as they are."""
        change = new_case_change("K-1")
        due = (Timer("K-1", "tier", T0 + timedelta(hours=2), Action.ESCALATE),
               Timer("K-1", "first_response", T0 + timedelta(hours=1), Action.WARN))
        store.commit(attrs.evolve(change, timers=due))
        assert store.timers("K-1") == sorted(due, key=lambda t: t.due_at)
        assert store.next_due_at() == T0 + timedelta(hours=1)
        event = following(change.case, Action.NOTE, T0)
        store.commit(Change(case=apply(change.case, event), events=(event,),
                            expected_version=1, timers=None))
        assert len(store.timers("K-1")) == 2

    def test_each_due_timer_is_handled_once_across_threads(self, store: Store) -> None:
        """fire_due from several threads handles every due timer exactly once."""
        for n in range(60):
            base = new_case_change(f"K-{n}")
            store.commit(attrs.evolve(base, timers=(
                Timer(f"K-{n}", "tier", T0 + timedelta(minutes=n), Action.ESCALATE),)))
        handled: list[str] = []
        lock = threading.Lock()

        def handler(case: Case, timer: Timer) -> Change:
            with lock:
                handled.append(case.id)
            event = following(case, Action.ESCALATE, timer.due_at, owner=Queue("specialists"),
                              tier="specialists")
            return Change(case=apply(case, event), events=(event,),
                          expected_version=case.version, timers=())

        def work() -> None:
            while store.fire_due(T0 + timedelta(hours=2), 7, handler):
                pass

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(handled) == sorted(f"K-{n}" for n in range(60))
        assert all(len(store.events(f"K-{n}")) == 2 for n in range(60))
        assert store.next_due_at() is None

    def test_fire_due_starts_no_timer_once_stop_is_set(self, store: Store) -> None:
        """A set stop event ends fire_due after the timer in flight; the rest stay due."""
        for n in range(5):
            store.commit(attrs.evolve(new_case_change(f"K-{n}"), timers=(
                Timer(f"K-{n}", "tier", T0 + timedelta(minutes=n), Action.ESCALATE),)))
        stop = threading.Event()
        handled: list[str] = []

        def handler(case: Case, timer: Timer) -> Change:
            handled.append(case.id)
            stop.set()  # as a signal arriving while this timer's transaction runs
            event = following(case, Action.NOTE, timer.due_at)
            return Change(case=apply(case, event), events=(event,),
                          expected_version=case.version, timers=())

        fired = store.fire_due(T0 + timedelta(hours=1), 10, handler, stop)
        assert handled == ["K-0"] and [e.case_id for e in fired] == ["K-0"]
        assert store.fire_due(T0 + timedelta(hours=1), 10, handler, stop) == []
        assert handled == ["K-0"]
        assert store.next_due_at() == T0 + timedelta(minutes=1)

    def test_fire_due_leaves_future_timers_and_drops_declined_ones(self, store: Store) -> None:
        """Only due timers are offered; a handler that declines removes the stale timer."""
        store.commit(attrs.evolve(new_case_change("K-1"), timers=(
            Timer("K-1", "tier", T0 + timedelta(hours=5), Action.ESCALATE),
            Timer("K-1", "first_response", T0, Action.WARN))))
        offered: list[str] = []

        def decline(case: Case, timer: Timer) -> None:
            offered.append(timer.clock)

        assert store.fire_due(T0 + timedelta(hours=1), 10, decline) == []
        assert offered == ["first_response"]
        assert [t.clock for t in store.timers("K-1")] == ["tier"]

    def test_fire_due_leaves_kept_timers_stored_and_fires_the_rest(self, store: Store) -> None:
        """A timer the handler keeps stays stored, is offered once per call, and blocks nothing.

        More kept timers than `limit` are due before the one that fires: kept timers do not
        count towards the limit, so the later timer still fires in the same call.
        """
        kept_timers = [Timer(f"K-{n}", "tier", T0 + timedelta(minutes=n), Action.ESCALATE)
                       for n in range(3)]
        for timer in kept_timers:
            store.commit(attrs.evolve(new_case_change(timer.case_id), timers=(timer,)))
        late = Timer("L-1", "tier", T0 + timedelta(minutes=30), Action.ESCALATE)
        store.commit(attrs.evolve(new_case_change("L-1"), timers=(late,)))
        offered: list[str] = []

        def handler(case: Case, timer: Timer) -> Change | Keep:
            offered.append(case.id)
            if case.id.startswith("K-"):
                return KEEP
            event = following(case, Action.ESCALATE, timer.due_at, owner=Queue("specialists"),
                              tier="specialists")
            return Change(case=apply(case, event), events=(event,),
                          expected_version=case.version, timers=())

        fired = store.fire_due(T0 + timedelta(hours=1), 2, handler)
        assert [(e.case_id, e.kind) for e in fired] == [("L-1", EventKind.ESCALATED)]
        assert offered == ["K-0", "K-1", "K-2", "L-1"]
        for timer in kept_timers:
            assert store.timers(timer.case_id) == [timer]
        assert store.timers("L-1") == []
        assert store.fire_due(T0 + timedelta(hours=1), 10, handler) == []
        assert store.next_due_at() == T0

    # -- outbox ---------------------------------------------------------------------------

    def test_outbox_rows_are_kept_until_delivered_and_leased(self, store: Store) -> None:
        """Rows dedupe by key, lease once at a time, and stay listed whatever their status."""
        change = new_case_change("K-1")
        rows = (notification("K-1", 1, "bo"), notification("K-1", 1, "cy"))
        store.commit(attrs.evolve(change, notifications=(*rows, rows[0])))
        assert [n.key for n in store.notifications()] == [r.key for r in rows]
        lease = timedelta(minutes=5)
        first = store.claim_notifications(T0, 1, lease)
        assert [n.key for n in first] == [rows[0].key]
        second = store.claim_notifications(T0, 10, lease)
        assert [n.key for n in second] == [rows[1].key]
        assert store.claim_notifications(T0 + timedelta(minutes=1), 10, lease) == []
        store.update_notification(attrs.evolve(first[0], status="delivered", attempts=1,
                                               delivered_at=T0))
        store.update_notification(attrs.evolve(second[0], status="dead", attempts=8,
                                               last_error="refused"))
        assert [n.status for n in store.notifications()] == ["delivered", "dead"]
        assert store.notifications(status="dead")[0].last_error == "refused"
        assert store.claim_notifications(T0 + timedelta(hours=1), 10, lease) == []

    def test_an_expired_lease_makes_the_row_due_again(self, store: Store) -> None:
        """A dispatcher that died releases its rows when the lease runs out."""
        store.commit(attrs.evolve(new_case_change("K-1"),
                                  notifications=(notification("K-1", 1, "bo"),)))
        lease = timedelta(minutes=5)
        assert len(store.claim_notifications(T0, 10, lease)) == 1
        assert store.claim_notifications(T0 + timedelta(minutes=4), 10, lease) == []
        again = store.claim_notifications(T0 + timedelta(minutes=5), 10, lease)
        assert [n.recipient for n in again] == ["bo"]

    def test_a_claim_counts_the_attempt_and_fences_a_stale_outcome(self, store: Store) -> None:
        """Each claim adds an attempt and a lease id; an outcome from a lost lease is refused."""
        store.commit(attrs.evolve(new_case_change("K-1"),
                                  notifications=(notification("K-1", 1, "bo"),)))
        lease = timedelta(minutes=5)
        (slow,) = store.claim_notifications(T0, 1, lease)
        assert (slow.attempts, slow.lease_id, slow.next_attempt_at) == (1, 1, T0 + lease)
        (fast,) = store.claim_notifications(T0 + lease, 1, lease)
        assert (fast.attempts, fast.lease_id) == (2, 2)
        assert store.update_notification(attrs.evolve(fast, status="delivered",
                                                      delivered_at=T0 + lease))
        late = attrs.evolve(slow, last_error="timed out", next_attempt_at=T0 + 2 * lease)
        assert not store.update_notification(late), "the first claim's outcome is stale"
        (stored,) = store.notifications()
        assert (stored.status, stored.attempts, stored.lease_id) == ("delivered", 2, 2)
        assert stored.last_error is None

    def test_each_due_row_is_claimed_by_one_dispatcher(self, store: Store) -> None:
        """Dispatchers claiming one row at a time from several threads never share a row."""
        notes = tuple(notification("K-1", 1, f"r{n:02}") for n in range(40))
        store.commit(attrs.evolve(new_case_change("K-1"), notifications=notes))
        claims: list[tuple[str, int, int]] = []
        lock = threading.Lock()

        def work() -> None:
            while claimed := store.claim_notifications(T0, 1, timedelta(minutes=5)):
                with lock:
                    claims.extend((n.key, n.attempts, n.lease_id) for n in claimed)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(claims) == sorted((n.key, 1, 1) for n in notes)

    def test_an_outbox_key_clash_is_refused_and_writes_nothing(self, store: Store) -> None:
        """Two different messages with one key fail the commit instead of losing one."""
        first = new_case_change("K-1")
        store.commit(attrs.evolve(first, notifications=(notification("K-1", 1, "bo"),)))
        event = following(first.case, Action.NOTE, T0)
        clash = attrs.evolve(notification("K-1", 2, "cy"), key="K-1:1:bo:log")
        change = Change(case=apply(first.case, event), events=(event,), expected_version=1,
                        notifications=(clash,))
        with pytest.raises(StorageError, match="K-1:1:bo:log"):
            store.commit(change)
        assert store.get("K-1") == first.case
        assert [n.recipient for n in store.notifications()] == ["bo"]
        twin = attrs.evolve(notification("K-2", 1, "cy"), key="K-2:1:x:log")
        other = attrs.evolve(twin, recipient="dan")
        with pytest.raises(StorageError, match="K-2:1:x:log"):
            store.commit(attrs.evolve(new_case_change("K-2"), notifications=(twin, other)))
        assert store.get("K-2") is None

    def test_inspection_reads_rows_as_stored(self, store: Store) -> None:
        """The read-only `inspect_*` methods return the rows verify checks, undecoded."""
        from ..codec import case_from_dict, event_from_dict, parse_time
        from ..verify import verify_store

        change = new_case_change("C-9")
        timer = Timer("C-9", "tier", T0 + timedelta(hours=1), Action.ESCALATE)
        store.commit(attrs.evolve(change, timers=(timer,),
                                  notifications=(notification("C-9", 1, "bo"),)))
        assert "C-9" in store.inspect_case_ids()
        row = store.inspect_case("C-9")
        assert row is not None and store.inspect_case("C-404") is None
        assert case_from_dict(json.loads(row.columns["body"])) == change.case
        assert row.columns["status"] == "open" and row.columns["version"] == 1
        events = store.inspect_events("C-9")
        assert [event_from_dict(json.loads(e.columns["body"]))
                for e in events] == list(change.events)
        assert [(e.columns["case_id"], e.columns["seq"], e.columns["kind"])
                for e in events] == [("C-9", 1, "opened")]
        [stored] = store.inspect_timers("C-9")
        due = stored.columns["due_at"]
        assert (due if isinstance(due, datetime) else parse_time(due)) == timer.due_at
        assert (stored.columns["clock"], stored.columns["action"]) == ("tier", "escalate")
        [row_out] = store.inspect_outbox("C-9")
        assert (row_out.columns["recipient"], row_out.columns["seq"]) == ("bo", 1)
        registered = store.registered_ids()
        assert registered is None or "C-9" in registered
        # the contract's events are not sealed, so only the chain is reported
        assert {p.kind for p in verify_store(store)} == {"tampered"}

    def test_availability_trail_is_kept_in_order_per_agent(self, store: Store) -> None:
        """Each agent's availability changes are numbered 1, 2, 3... and read back whole."""
        away = AvailabilityChange(agent="bo", seq=1, at=T0, available=False, actor="bo",
                                  until=T0 + timedelta(days=2), reason="holiday")
        store.record_availability(away)
        store.record_availability(AvailabilityChange(agent="cy", seq=1, at=T0,
                                                     available=False, actor="dee"))
        back = AvailabilityChange(agent="bo", seq=2, at=T0 + timedelta(hours=1),
                                  available=True, actor="dee")
        store.record_availability(back)
        assert store.availability("bo") == [away, back]
        assert {c.agent for c in store.availability()} == {"bo", "cy"}
        assert store.latest_availability()["bo"] == back
        assert store.latest_availability()["cy"].available is False

    def test_a_taken_availability_number_is_a_conflict(self, store: Store) -> None:
        """Two writers that read the same trail cannot both append: one loses cleanly."""
        first = AvailabilityChange(agent="bo", seq=1, at=T0, available=False, actor="bo")
        store.record_availability(first)
        with pytest.raises(ConflictError):
            store.record_availability(attrs.evolve(first, available=True))
        with pytest.raises(ConflictError):
            store.record_availability(attrs.evolve(first, seq=3))
        assert store.availability("bo") == [first]

    def test_rotations_count_turns_once_each_across_threads(self, store: Store) -> None:
        """Round-robin turns come from one shared counter: no turn is handed out twice."""
        turns: list[int] = []
        lock = threading.Lock()

        def take() -> None:
            for _ in range(25):
                turn = store.next_in_rotation("assign:frontline")
                with lock:
                    turns.append(turn)

        workers = [threading.Thread(target=take) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert sorted(turns) == list(range(100))
        assert store.next_in_rotation("assign:other") == 0
