"""End to end: a Desk opened with a postgresql:// URL runs the whole lifecycle, ticks and
dispatches like the built-in stores."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from escalate_postgres import PostgresStore
from pgschemas import URL, Schemas

from escalate import Agent, Desk, ManualClock, Queue, Status
from escalate.testing import standard_policy, timed_policy


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def desk(schemas: Schemas, clock: ManualClock) -> Iterator[Desk]:
    with Desk(standard_policy(), store=f"{URL}?schema={schemas.new()}", clock=clock,
              autoload_plugins=True) as made:
        yield made


def test_the_desk_opens_its_store_from_the_url(desk: Desk) -> None:
    assert isinstance(desk.store, PostgresStore)
    assert desk.store.schema in repr(desk)


def test_a_case_climbs_and_is_resolved(desk: Desk, clock: ManualClock) -> None:
    case = desk.open(title="Invoice is wrong", customer="c-17", channel="phone",
                     priority="normal", by="ana")
    assert case.id == "C-1" and case.owner == Queue("frontline") and case.contact == "ana"
    desk.claim(case.id, by="ana")
    clock.advance(timedelta(minutes=5))
    desk.transfer(case.id, to="bo", by="ana", note="Customer sent the invoice")
    desk.escalate(case.id, by="bo", reason="needs billing specialist")
    desk.respond(case.id, by="cy")
    desk.wait(case.id, by="cy", reason="asked for account number")
    desk.resume(case.id, by="cy")
    final = desk.resolve(case.id, by="cy", resolution="credit note issued")
    assert final.status == "resolved" and final.tier == "specialists"
    assert final.owner == Agent("cy") and final.transfers == 1 and final.escalations == 1
    assert desk.get(case.id) == final
    history = desk.history(case.id)
    assert [e.kind.value for e in history] == [
        "opened", "claimed", "transferred", "escalated", "responded", "waited", "resumed",
        "resolved"]
    assert [e.seq for e in history] == list(range(1, 9))
    assert history[2].at - history[1].at == timedelta(minutes=5)
    assert desk.verify() == []
    assert list(desk.events()) == history


def test_cases_are_filtered_like_the_builtin_stores(desk: Desk) -> None:
    one = desk.open(title="a", customer="acme", channel="email", priority="normal", by="ana")
    two = desk.open(title="b", customer="acme", channel="phone", priority="urgent")
    three = desk.open(title="c", customer="other", channel="phone", priority="normal")
    desk.claim(one.id, by="ana")
    desk.escalate(three.id, by="bo")

    def ids(**filters: object) -> list[str]:
        return [c.id for c in desk.cases(**filters)]  # type: ignore[arg-type]

    assert ids() == [one.id, two.id, three.id]
    assert ids(status="open") == [two.id, three.id]
    assert ids(status=[Status.OPEN, Status.ACTIVE]) == [one.id, two.id, three.id]
    assert ids(owner="ana") == [one.id]
    assert ids(owner=Queue("frontline")) == [two.id]
    assert ids(tier="specialists") == [three.id]
    assert ids(customer="acme", channel="phone") == [two.id]
    assert ids(priority="urgent") == [two.id]
    assert ids(ladder="support", limit=2) == [one.id, two.id]


def test_timers_fire_and_notifications_are_delivered(schemas: Schemas,
                                                     clock: ManualClock) -> None:
    url = f"{URL}?schema={schemas.new()}"
    with Desk(timed_policy(), store=url, clock=clock, autoload_plugins=True) as desk:
        case = desk.open(title="down", customer="c-1", priority="normal", by="ana")
        assert desk.next_due() is not None
        pending = desk.outbox(status="pending")
        assert pending and all(n.case_id == case.id for n in pending)
        delivered = desk.dispatch()
        assert {n.status for n in delivered} == {"delivered"}
        assert desk.outbox(status="pending") == []
        clock.advance(timedelta(days=3))
        fired = desk.tick()
        assert fired, "three days in, the tier and SLA clocks have run out"
        assert all(e.actor is None for e in fired)
        assert desk.get(case.id).tier != "frontline"
        assert desk.tick() == [], "a fired timer never fires again"
        assert desk.verify(overdue_after=None) == []


def test_the_worker_loop_wakes_on_a_new_timer(schemas: Schemas, clock: ManualClock) -> None:
    url = f"{URL}?schema={schemas.new()}"
    with Desk(timed_policy(), store=url, clock=clock, autoload_plugins=True) as worker, \
            Desk(timed_policy(), store=url, clock=clock, autoload_plugins=True) as front:
        stop = threading.Event()
        loop = threading.Thread(target=worker.run_worker,
                                kwargs={"max_sleep": 30.0, "stop": stop,
                                        "handle_signals": False})
        loop.start()
        try:
            case = front.open(title="down", customer="c-1", priority="normal", by="ana")
            for _ in range(100):  # the worker delivers the opening notifications quickly
                if not front.outbox(status="pending", case_id=case.id):
                    break
                threading.Event().wait(0.05)
            assert front.outbox(status="pending", case_id=case.id) == []
        finally:
            stop.set()
            front.resolve(case.id, by="ana", resolution="fixed")  # rewrites the timers
            loop.join(timeout=10)
        assert not loop.is_alive()


def test_one_late_tick_fires_in_due_order(schemas: Schemas) -> None:
    """A warning written by an earlier firing in the same tick keeps its place in the order."""
    monday = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # 09:00 in Bucharest
    clock = ManualClock(monday)
    with Desk(timed_policy(), store=f"{URL}?schema={schemas.new()}", clock=clock,
              autoload_plugins=True) as desk:
        case = desk.open(title="t", customer="c", channel="phone", priority="urgent")
        clock.advance(timedelta(days=3))
        fired = [(e.kind.value, e.tier_before) for e in desk.tick() if e.case_id == case.id]
        # urgent: 30m first response (warn at 50%), escalate_on_breach; 8h resolution
        assert fired[:3] == [("warned", "frontline"), ("breached", "frontline"),
                             ("escalated", "frontline")]
        times = [e.at for e in desk.history(case.id)]
        assert times == sorted(times)
