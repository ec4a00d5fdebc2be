"""Both built-in stores: atomic commits, version checks, timers, the outbox, fire_due and
ordering, driven directly through the Store interface."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest

from escalate import (
    Action,
    Agent,
    Case,
    CaseQuery,
    Change,
    ConflictError,
    Event,
    EventKind,
    Notification,
    Queue,
    Status,
    Store,
    Timer,
)
from escalate.fold import apply
from escalate.lifecycle import next_status
from escalate.model import EVENT_OF_ACTION
from escalate.stores import MemoryStore, SqliteStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made: Store = MemoryStore() if request.param == "memory" else SqliteStore(
        tmp_path / "cases.db")
    yield made
    made.close()


def opening(case_id: str, at: datetime = T0, **data: Any) -> Event:
    values = {"title": f"case {case_id}", "customer": "c-1", "channel": "web",
              "priority": "normal", "ladder": "support", "contact": None, "fields": {}}
    values.update(data)
    return Event(case_id=case_id, seq=1, at=at, kind=EventKind.OPENED, actor="ana",
                 owner_before=None, owner_after=Queue("frontline"), status_before=None,
                 status_after=Status.OPEN, tier_before=None, tier_after="frontline",
                 data=values)


def next_event(case: Case, action: Action, at: datetime | None = None,
               owner: Agent | Queue | None = None, seq: int | None = None) -> Event:
    return Event(case_id=case.id, seq=case.version + 1 if seq is None else seq,
                 at=at or case.updated_at, kind=EVENT_OF_ACTION[action], actor="ana",
                 owner_before=case.owner, owner_after=owner or case.owner,
                 status_before=case.status, status_after=next_status(case.status, action),
                 tier_before=case.tier, tier_after=case.tier, reason="because")


def row(case_id: str, seq: int, recipient: str, at: datetime = T0, **kwargs: Any
        ) -> Notification:
    kwargs.setdefault("next_attempt_at", at)
    return Notification(key=f"{case_id}:{seq}:{recipient}:log", case_id=case_id, seq=seq,
                        recipient=recipient, channel="log", subject=f"to {recipient}",
                        body="body\n", created_at=at, **kwargs)


def create(store: Store, case_id: str, at: datetime = T0, *,
           timers: tuple[Timer, ...] = (), notes: tuple[Notification, ...] = (),
           **data: Any) -> Case:
    event = opening(case_id, at, **data)
    case = apply(None, event)
    store.commit(Change(case=case, events=(event,), expected_version=0, timers=timers,
                        notifications=notes))
    return case


def step(store: Store, case: Case, action: Action, *, owner: Agent | Queue | None = None,
         at: datetime | None = None, timers: tuple[Timer, ...] | None = None,
         notes: tuple[Notification, ...] = ()) -> Case:
    event = next_event(case, action, at, owner)
    after = apply(case, event)
    store.commit(Change(case=after, events=(event,), expected_version=case.version,
                        timers=timers, notifications=notes))
    return after


def everything(store: Store, case_id: str) -> tuple[Any, ...]:
    return (store.get(case_id), store.events(case_id), store.timers(case_id),
            store.notifications(case_id=case_id), store.next_due_at(),
            list(store.all_events()), list(store.case_ids()))


# -- commits -------------------------------------------------------------------------------------


def test_a_committed_case_reads_back(store: Store) -> None:
    case = create(store, "K-1", fields={"n": 1, "tags": ["a"]}, contact="ana")
    assert store.get("K-1") == case
    assert store.get("K-1").fields == {"n": 1, "tags": ["a"]}  # type: ignore[union-attr]
    assert [e.kind for e in store.events("K-1")] == [EventKind.OPENED]
    assert store.get("K-2") is None and store.events("K-2") == []
    assert store.timers("K-2") == [] and store.notifications(case_id="K-2") == []


def test_a_colliding_event_seq_writes_nothing(store: Store) -> None:
    timer = Timer("K-1", "tier", T0 + H, Action.ESCALATE)
    case = create(store, "K-1", timers=(timer,), notes=(row("K-1", 1, "bo"),))
    case = step(store, case, Action.CLAIM, owner=Agent("ana"))
    before = everything(store, "K-1")
    event = next_event(case, Action.NOTE, seq=2)  # seq 2 exists already
    bad = Change(case=apply(case, attrs.evolve(event, seq=3)), events=(event,),
                 expected_version=case.version,
                 timers=(Timer("K-1", "tier", T0 + 5 * H, Action.ESCALATE),),
                 notifications=(row("K-1", 3, "cy"),))
    with pytest.raises(ConflictError):
        store.commit(bad)
    assert everything(store, "K-1") == before


def test_duplicate_seqs_inside_one_change_write_nothing(store: Store) -> None:
    case = create(store, "K-1")
    before = everything(store, "K-1")
    first = next_event(case, Action.NOTE)
    twice = Change(case=apply(case, first), events=(first, first), expected_version=1,
                   timers=(Timer("K-1", "tier", T0, Action.WARN),),
                   notifications=(row("K-1", 2, "bo"),))
    with pytest.raises(ConflictError):
        store.commit(twice)
    assert everything(store, "K-1") == before


@pytest.mark.parametrize("expected", [0, 1, 3, -1])
def test_expected_version_must_match(store: Store, expected: int) -> None:
    case = create(store, "K-1")
    case = step(store, case, Action.NOTE)
    assert case.version == 2
    before = everything(store, "K-1")
    event = next_event(case, Action.CLAIM, owner=Agent("ana"))
    with pytest.raises(ConflictError) as info:
        store.commit(Change(case=apply(case, event), events=(event,), expected_version=expected,
                            notifications=(row("K-1", 3, "bo"),)))
    assert info.value.case_id == "K-1" and info.value.expected_version == expected
    assert everything(store, "K-1") == before
    store.commit(Change(case=apply(case, event), events=(event,), expected_version=2))
    assert store.get("K-1").version == 3  # type: ignore[union-attr]


def test_creating_an_existing_case_conflicts(store: Store) -> None:
    create(store, "K-1")
    before = everything(store, "K-1")
    with pytest.raises(ConflictError):
        create(store, "K-1", title="impostor")
    assert everything(store, "K-1") == before


def test_updating_a_missing_case_conflicts(store: Store) -> None:
    ghost = apply(None, opening("K-9"))
    event = next_event(ghost, Action.NOTE)
    with pytest.raises(ConflictError):
        store.commit(Change(case=apply(ghost, event), events=(event,), expected_version=1))
    assert store.get("K-9") is None and store.events("K-9") == []
    assert list(store.case_ids()) == []


# -- timers ---------------------------------------------------------------------------------------


def test_timers_none_keeps_empty_clears_and_a_tuple_replaces(store: Store) -> None:
    due = (Timer("K-1", "tier", T0 + 2 * H, Action.ESCALATE),
           Timer("K-1", "first_response", T0 + H, Action.WARN))
    case = create(store, "K-1", timers=due)
    assert store.timers("K-1") == [due[1], due[0]], "earliest first"
    case = step(store, case, Action.NOTE, timers=None)
    assert store.timers("K-1") == [due[1], due[0]]
    assert store.next_due_at() == T0 + H
    replacement = (Timer("K-1", "tier", T0 + 4 * H, Action.ESCALATE),)
    case = step(store, case, Action.NOTE, timers=replacement)
    assert store.timers("K-1") == list(replacement)
    assert store.next_due_at() == T0 + 4 * H
    step(store, case, Action.NOTE, timers=())
    assert store.timers("K-1") == []
    assert store.next_due_at() is None


def test_next_due_at_spans_cases(store: Store) -> None:
    create(store, "K-1", timers=(Timer("K-1", "tier", T0 + 3 * H, Action.ESCALATE),))
    create(store, "K-2", timers=(Timer("K-2", "tier", T0 + 2 * H, Action.ESCALATE),))
    assert store.next_due_at() == T0 + 2 * H


def _escalating_handler(seen: list[tuple[str, str, datetime]]) -> Any:
    def handler(case: Case, timer: Timer) -> Change:
        seen.append((case.id, timer.clock, timer.due_at))
        event = next_event(case, Action.ESCALATE, timer.due_at, Queue("specialists"))
        event = attrs.evolve(event, tier_after="specialists", actor=None)
        return Change(case=apply(case, event), events=(event,), expected_version=case.version,
                      timers=())
    return handler


def test_fire_due_handles_each_due_timer_once(store: Store) -> None:
    for n in range(5):
        create(store, f"K-{n}", timers=(Timer(f"K-{n}", "tier", T0 + n * H, Action.ESCALATE),))
    seen: list[tuple[str, str, datetime]] = []
    handler = _escalating_handler(seen)
    fired = store.fire_due(T0 + 2 * H, 10, handler)
    assert [(e.case_id, e.kind) for e in fired] == [
        ("K-0", EventKind.ESCALATED), ("K-1", EventKind.ESCALATED), ("K-2", EventKind.ESCALATED)]
    assert [s[0] for s in seen] == ["K-0", "K-1", "K-2"], "earliest first, due <= now only"
    assert store.fire_due(T0 + 2 * H, 10, handler) == []
    assert len(seen) == 3
    assert store.get("K-0").tier == "specialists"  # type: ignore[union-attr]
    assert store.events("K-0")[-1] == fired[0]
    assert store.get("K-3").tier == "frontline"  # type: ignore[union-attr]
    assert store.next_due_at() == T0 + 3 * H


def test_fire_due_respects_the_limit(store: Store) -> None:
    for n in range(4):
        create(store, f"K-{n}", timers=(Timer(f"K-{n}", "tier", T0, Action.ESCALATE),))
    seen: list[tuple[str, str, datetime]] = []
    handler = _escalating_handler(seen)
    assert len(store.fire_due(T0, 3, handler)) == 3
    assert len(store.fire_due(T0, 3, handler)) == 1
    assert store.fire_due(T0, 3, handler) == []
    assert sorted(s[0] for s in seen) == [f"K-{n}" for n in range(4)]


def test_fire_due_skips_a_rescheduled_timer(store: Store) -> None:
    case = create(store, "K-1", timers=(Timer("K-1", "tier", T0 + H, Action.ESCALATE),))
    step(store, case, Action.NOTE, timers=(Timer("K-1", "tier", T0 + 3 * H, Action.ESCALATE),))
    seen: list[tuple[str, str, datetime]] = []
    handler = _escalating_handler(seen)
    assert store.fire_due(T0 + 2 * H, 10, handler) == []
    assert seen == [], "the timer due at +1h was replaced and must not fire"
    assert len(store.fire_due(T0 + 3 * H, 10, handler)) == 1
    assert seen == [("K-1", "tier", T0 + 3 * H)]


def test_fire_due_rereads_timers_changed_by_an_earlier_one(store: Store) -> None:
    create(store, "K-1", timers=(Timer("K-1", "first_response", T0, Action.WARN),
                                 Timer("K-1", "tier", T0 + H, Action.ESCALATE)))
    seen: list[tuple[str, str, datetime]] = []
    handler = _escalating_handler(seen)  # clears every timer of the case
    fired = store.fire_due(T0 + 2 * H, 10, handler)
    assert seen == [("K-1", "first_response", T0)]
    assert len(fired) == 1 and store.timers("K-1") == []


def test_fire_due_declined_timer_is_dropped(store: Store) -> None:
    create(store, "K-1", timers=(Timer("K-1", "tier", T0, Action.ESCALATE),
                                 Timer("K-1", "resolution", T0 + 9 * H, Action.BREACH)))
    offered: list[str] = []

    def decline(case: Case, timer: Timer) -> None:
        offered.append(timer.clock)

    before = store.events("K-1")
    assert store.fire_due(T0 + H, 10, decline) == []
    assert store.fire_due(T0 + H, 10, decline) == []
    assert offered == ["tier"]
    assert [t.clock for t in store.timers("K-1")] == ["resolution"]
    assert store.events("K-1") == before


def test_fire_due_conflicting_change_raises_and_keeps_the_timer(store: Store) -> None:
    timer = Timer("K-1", "tier", T0, Action.ESCALATE)
    create(store, "K-1", timers=(timer,))

    def stale(case: Case, due: Timer) -> Change:
        event = next_event(case, Action.NOTE)
        return Change(case=apply(case, event), events=(event,), expected_version=7, timers=())

    with pytest.raises(ConflictError):
        store.fire_due(T0, 10, stale)
    assert store.timers("K-1") == [timer]
    assert len(store.events("K-1")) == 1


# -- the outbox ---------------------------------------------------------------------------------


def test_outbox_insert_or_ignore_by_key(store: Store) -> None:
    original = row("K-1", 1, "bo")
    case = create(store, "K-1", notes=(original, row("K-1", 1, "cy")))
    delivered = attrs.evolve(original, status="delivered", attempts=1, delivered_at=T0)
    store.update_notification(delivered)
    impostor = attrs.evolve(original, subject="overwritten", status="pending")
    step(store, case, Action.NOTE, notes=(impostor, row("K-1", 2, "bo")))
    rows = {n.key: n for n in store.notifications()}
    assert len(rows) == 3
    assert rows[original.key] == delivered
    assert rows[original.key].subject == "to bo"


def test_notifications_filter_and_order(store: Store) -> None:
    create(store, "K-1", T0 + H, notes=(row("K-1", 1, "bo", T0 + H),))
    create(store, "K-2", T0, notes=(row("K-2", 1, "cy", T0), row("K-2", 1, "ana", T0)))
    assert [n.key for n in store.notifications()] == [
        "K-2:1:ana:log", "K-2:1:cy:log", "K-1:1:bo:log"]
    assert [n.key for n in store.notifications(case_id="K-1")] == ["K-1:1:bo:log"]
    assert [n.key for n in store.notifications(limit=1)] == ["K-2:1:ana:log"]
    assert store.notifications(status="dead") == []
    assert len(store.notifications(status="pending")) == 3


def test_claimed_rows_are_leased(store: Store) -> None:
    notes = (row("K-1", 1, "ana"), row("K-1", 1, "bo"), row("K-1", 1, "cy"))
    create(store, "K-1", notes=notes)
    lease = timedelta(minutes=5)
    first = store.claim_notifications(T0, 2, lease)
    assert [n.recipient for n in first] == ["ana", "bo"], "oldest first, up to the limit"
    assert first[0] == attrs.evolve(notes[0], next_attempt_at=T0 + lease, attempts=1,
                                    lease_id=1), "returned as it is after the claim"
    second = store.claim_notifications(T0, 10, lease)
    assert [n.recipient for n in second] == ["cy"]
    for moment in (T0, T0 + timedelta(minutes=4, seconds=59)):
        assert store.claim_notifications(moment, 10, lease) == []
    stored = store.notifications()
    assert all(n.next_attempt_at == T0 + lease for n in stored)
    assert all(n.status == "pending" and n.attempts == n.lease_id == 1 for n in stored), \
        "a claim counts the attempt"
    again = store.claim_notifications(T0 + lease, 10, lease)
    assert sorted(n.recipient for n in again) == ["ana", "bo", "cy"]
    assert all(n.attempts == n.lease_id == 2 for n in again)


def test_only_due_pending_rows_are_claimed(store: Store) -> None:
    later = row("K-1", 1, "later", next_attempt_at=T0 + H)
    notes = (row("K-1", 1, "ana"), row("K-1", 1, "bo"), later)
    create(store, "K-1", notes=notes)
    store.update_notification(attrs.evolve(notes[0], status="delivered", attempts=1,
                                           delivered_at=T0))
    store.update_notification(attrs.evolve(notes[1], status="dead", attempts=8,
                                           last_error="gone"))
    lease = timedelta(minutes=5)
    assert store.claim_notifications(T0 + timedelta(minutes=59), 10, lease) == []
    assert [n.recipient for n in store.claim_notifications(T0 + H, 10, lease)] == ["later"]
    dead = store.notifications(status="dead")
    assert [(n.recipient, n.attempts, n.last_error) for n in dead] == [("bo", 8, "gone")]


# -- reading in order ------------------------------------------------------------------------------


def test_all_events_order_and_bounds(store: Store) -> None:
    b = create(store, "K-b", T0)
    a = create(store, "K-a", T0)
    step(store, b, Action.NOTE, at=T0)
    a = step(store, a, Action.NOTE, at=T0 + H)
    step(store, a, Action.NOTE, at=T0 + 2 * H)
    keys = [(e.case_id, e.seq) for e in store.all_events()]
    assert keys == [("K-a", 1), ("K-b", 1), ("K-b", 2), ("K-a", 2), ("K-a", 3)]
    since = [(e.case_id, e.seq) for e in store.all_events(since=T0 + H)]
    assert since == [("K-a", 2), ("K-a", 3)], "since is inclusive"
    until = [(e.case_id, e.seq) for e in store.all_events(until=T0 + H)]
    assert until == [("K-a", 1), ("K-b", 1), ("K-b", 2)], "until is exclusive"
    window = list(store.all_events(since=T0 + H, until=T0 + 2 * H))
    assert [(e.case_id, e.seq) for e in window] == [("K-a", 2)]
    assert list(store.all_events(since=T0 + 3 * H)) == []
    assert list(store.all_events(since=T0 + H, until=T0 + H)) == []


def test_all_events_bounds_in_another_time_zone(store: Store) -> None:
    case = create(store, "K-1", T0)
    step(store, case, Action.NOTE, at=T0 + H)
    bucharest = timezone(timedelta(hours=2))
    since = (T0 + H).astimezone(bucharest)  # the same instant written as 12:00+02:00
    assert [e.seq for e in store.all_events(since=since)] == [2]
    assert [e.seq for e in store.all_events(until=since)] == [1]


def test_all_events_pages_through_many_events_with_equal_times(store: Store) -> None:
    case = create(store, "K-1", T0)
    events = []
    current = case
    for n in range(2, 2_502):
        event = next_event(current, Action.NOTE, at=T0 + timedelta(seconds=n // 1000))
        current = apply(current, event)
        events.append(event)
    store.commit(Change(case=current, events=tuple(events), expected_version=1))
    read = list(store.all_events())
    assert [e.seq for e in read] == list(range(1, 2_502))
    assert len(list(store.all_events(since=T0 + timedelta(seconds=1)))) == 1_502


def test_find_lists_oldest_first(store: Store) -> None:
    create(store, "K-3", T0 + 2 * H)
    create(store, "K-1", T0 + H)
    create(store, "K-2", T0)
    create(store, "K-z", T0 + H)  # same opening time as K-1, committed later
    create(store, "K-y", T0 + H)
    assert [c.id for c in store.find(CaseQuery())] == ["K-2", "K-1", "K-z", "K-y", "K-3"]
    assert list(store.case_ids()) == ["K-2", "K-1", "K-z", "K-y", "K-3"]
    assert [c.id for c in store.find(CaseQuery(limit=2))] == ["K-2", "K-1"]


def test_find_matches_every_filter(store: Store) -> None:
    one = create(store, "K-1", T0, priority="urgent", channel="phone", customer="acme")
    create(store, "K-2", T0 + H, priority="normal", channel="phone", customer="acme")
    step(store, one, Action.CLAIM, owner=Agent("bo"))

    def ids(**filters: Any) -> list[str]:
        return [c.id for c in store.find(CaseQuery(**filters))]

    assert ids(status=("active",)) == ["K-1"]
    assert ids(status=("open", "active")) == ["K-1", "K-2"]
    assert ids(status=()) == []
    assert ids(owner="agent:bo") == ["K-1"]
    assert ids(owner="queue:frontline") == ["K-2"]
    assert ids(priority="urgent", channel="phone") == ["K-1"]
    assert ids(customer="acme", tier="frontline", ladder="support") == ["K-1", "K-2"]
    assert ids(customer="other") == []


def test_allocated_ids_are_fresh(store: Store) -> None:
    create(store, "C-2")  # an imported case took an id the allocator would hand out
    ids = [store.allocate_id() for _ in range(5)]
    assert len(set(ids)) == 5
    assert "C-2" not in ids
