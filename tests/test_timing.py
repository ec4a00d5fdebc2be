"""SLA and tier clocks in business time, with examples/escalation.toml and a ManualClock.

Every due time below is computed by hand in the comments. The office calendar is
Europe/Bucharest, Mon-Thu 09:00-17:00 (8h), Fri 09:00-12:00 and 13:00-17:00 (7h), closed on
weekends and on Romanian public holidays: Mon 2026-11-30 (St Andrew) and Tue 2026-12-01
(National Day). In November to March Bucharest is UTC+2, so 10:00 local is 08:00 UTC.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from escalate import Agent, Desk, Event, EventKind, ManualClock, Policy, Queue, hookimpl
from escalate.timing import calendar_of

ROOT = Path(__file__).resolve().parent.parent
H = timedelta(hours=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


THU_10 = utc(2026, 11, 26, 8, 0)  # Thu 2026-11-26 10:00 local


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(THU_10)


@pytest.fixture
def desk(example_policy: Policy, url: str, clock: ManualClock) -> Iterator[Desk]:
    with Desk(example_policy, store=url, clock=clock, autoload_plugins=False) as made:
        yield made


def due(desk: Desk, case_id: str) -> dict[str, datetime | None]:
    return {c.name: c.due_at for c in desk.get(case_id).clocks}


def kinds(events: list[Event]) -> list[str]:
    return [e.kind.value for e in events]


# -- due times on the office calendar -----------------------------------------------------------


def test_due_times_on_the_office_calendar(desk: Desk) -> None:
    case = desk.open(title="Invoice is wrong", customer="c-17", channel="phone", by="ana")
    assert case.sla == "normal"
    clocks = {c.name: c for c in case.clocks}
    assert set(clocks) == {"first_response", "resolution", "tier"}
    # first_response 8h: Thu 10:00-17:00 = 7h, Fri 09:00-10:00 = 1h -> Fri 27 Nov 10:00 local.
    assert clocks["first_response"].due_at == utc(2026, 11, 27, 8, 0)
    # warned at 80% of 8h = 6h24m: Thu 10:00 + 6h24m -> Thu 16:24 local.
    assert clocks["first_response"].warn_at == utc(2026, 11, 26, 14, 24)
    # tier frontline 20h: Thu 7h, Fri 7h (14h); Sat, Sun closed; Mon 30 Nov and Tue 1 Dec are
    # public holidays; Wed 2 Dec 09:00 + 6h -> Wed 2 Dec 15:00 local.
    assert clocks["tier"].due_at == utc(2026, 12, 2, 13, 0)
    assert clocks["tier"].warn_at is None, "frontline has no warn_at"
    # resolution 5d = 120 business hours: Thu 7, Fri 7 (14); Wed 2 - Fri 4 Dec 8+8+7 (37);
    # week of 7 Dec 8+8+8+8+7 (76); week of 14 Dec (115); Mon 21 Dec 09:00 + 5h -> 14:00 local.
    assert clocks["resolution"].due_at == utc(2026, 12, 21, 12, 0)
    # its warning at 80% = 96h: 92h by the end of Tue 15 Dec, + 4h -> Wed 16 Dec 13:00 local.
    assert clocks["resolution"].warn_at == utc(2026, 12, 16, 11, 0)
    timers = {(t.clock, t.action.value): t.due_at for t in desk.store.timers(case.id)}
    assert timers == {("first_response", "warn"): utc(2026, 11, 26, 14, 24),
                      ("resolution", "warn"): utc(2026, 12, 16, 11, 0),
                      ("tier", "escalate"): utc(2026, 12, 2, 13, 0)}
    assert desk.next_due() == utc(2026, 11, 26, 14, 24)


def test_warning_fires_before_the_breach(desk: Desk, clock: ManualClock) -> None:
    case = desk.open(title="t", customer="c", channel="phone", by="ana")
    clock.set(utc(2026, 11, 26, 14, 23))
    assert desk.tick() == [], "nothing is due a minute before the warning"
    clock.set(utc(2026, 11, 26, 14, 24))
    (warned,) = desk.tick()
    assert warned.kind == "warned" and warned.actor is None
    assert warned.at == utc(2026, 11, 26, 14, 24)
    assert "first response" in (warned.reason or "") and "80% of 8h" in (warned.reason or "")
    assert desk.get(case.id).clock("first_response").warned  # type: ignore[union-attr]
    assert desk.tick() == [], "a warning fires once"
    clock.set(utc(2026, 11, 27, 7, 59))
    assert desk.tick() == []
    clock.set(utc(2026, 11, 27, 8, 0))
    (breached,) = desk.tick()
    assert breached.kind == "breached" and breached.actor is None
    assert breached.at == utc(2026, 11, 27, 8, 0)
    assert "first response target of 8h missed" in (breached.reason or "")
    assert kinds(desk.history(case.id)) == ["opened", "warned", "breached"]
    after = desk.get(case.id)
    assert after.owner == Queue("frontline") and after.tier == "frontline"
    assert after.clock("first_response").breached  # type: ignore[union-attr]


def test_tick_escalates_after_twenty_business_hours(desk: Desk, clock: ManualClock) -> None:
    case = desk.open(title="t", customer="c", channel="phone", by="ana")
    desk.claim(case.id, by="ana")
    desk.respond(case.id, by="ana")  # stops the first-response clock
    clock.set(utc(2026, 12, 2, 12, 59))  # Wed 2 Dec 14:59 local: 19h59m of business time
    assert desk.tick() == []
    assert desk.get(case.id).tier == "frontline"
    clock.set(utc(2026, 12, 2, 13, 0))  # 20h: Thu 7 + Fri 7 + Wed 6 (Mon, Tue holidays)
    (escalated,) = desk.tick()
    assert escalated.kind == EventKind.ESCALATED and escalated.actor is None
    assert escalated.at == utc(2026, 12, 2, 13, 0)
    assert escalated.reason == "not resolved within 20h of business time in tier frontline"
    assert (escalated.tier_before, escalated.tier_after) == ("frontline", "specialists")
    assert (escalated.owner_before, escalated.owner_after) == (Agent("ana"),
                                                                Queue("specialists"))
    after = desk.get(case.id)
    assert (after.tier, after.owner, after.escalations, after.status) == (
        "specialists", Queue("specialists"), 1, "open")
    assert after.contact == "ana"
    tier_clock = after.clock("tier")
    assert tier_clock is not None and tier_clock.started_at == utc(2026, 12, 2, 13, 0)
    # specialists: 20h with a warning at 75% = 15h. From Wed 15:00 local: Wed 2h, Thu 8h
    # (10h), Fri 4 Dec 09:00-12:00 (13h), 13:00 + 2h -> warning Fri 15:00 local; escalation:
    # 17h by Fri 17:00, Mon 7 Dec 09:00 + 3h -> Mon 12:00 local.
    assert tier_clock.warn_at == utc(2026, 12, 4, 13, 0)
    assert tier_clock.due_at == utc(2026, 12, 7, 10, 0)


def test_explain_mentions_the_skipped_holidays(desk: Desk) -> None:
    case = desk.open(title="t", customer="c", channel="phone", by="ana")
    explanations = {e.clock.name: e for e in desk.explain(case.id)}
    assert set(explanations) == {"first_response", "resolution", "tier"}
    tier = explanations["tier"]
    assert tier.due_at == utc(2026, 12, 2, 13, 0)
    text = "\n".join(tier.lines())
    assert "target 20h" in text and "office" in text and "Europe/Bucharest" in text
    assert "2026-11-28 skipped, closed" in text  # Saturday
    assert "Mon 2026-11-30 skipped, holiday" in text
    assert "Tue 2026-12-01 skipped, holiday" in text
    assert "Saint Andrew" in text or "Sf" in text
    assert "due Wed 2026-12-02 13:00 UTC" in text
    first = "\n".join(explanations["first_response"].lines())
    assert "2026-11-30" not in first, "the first-response deadline falls before the holiday"


# -- waiting pauses every clock ------------------------------------------------------------------


def test_waiting_pauses_every_clock_and_resume_shifts_them(desk: Desk,
                                                           clock: ManualClock) -> None:
    case = desk.open(title="t", customer="c", channel="phone", by="ana")
    desk.claim(case.id, by="ana")
    before = due(desk, case.id)
    warn_before = desk.get(case.id).clock("first_response").warn_at  # type: ignore[union-attr]
    clock.set(utc(2026, 11, 26, 10, 0))  # Thu 12:00 local
    waiting = desk.wait(case.id, by="ana", reason="asked for account number")
    assert all(c.due_at is None and c.paused for c in waiting.clocks)
    # left on each clock: first response Thu 12-17 + Fri 9-10 = 6h
    assert waiting.clock("first_response").remaining == 6 * H  # type: ignore[union-attr]
    assert desk.store.timers(case.id) == [], "a waiting case has no running timers"

    clock.set(utc(2026, 12, 10, 8, 0))  # two weeks later: nothing fires while waiting
    assert desk.tick() == []
    assert desk.get(case.id) == waiting
    clock.set(utc(2026, 11, 27, 9, 0) + timedelta(days=13))  # Thu 10 Dec 11:00 local
    resumed_at = clock.now()
    resumed = desk.resume(case.id, by="ana")
    office = calendar_of(desk.policy, "office")
    paused = office.between(utc(2026, 11, 26, 10, 0), resumed_at)
    # paused business time: Thu 26 5h, Fri 27 7h, Wed 2 - Fri 4 23h, Mon 7 - Wed 9 24h,
    # Thu 10 09:00-11:00 2h = 61h (the holidays and weekends do not count)
    assert paused == 61 * H
    after = {c.name: c.due_at for c in resumed.clocks}
    for name, old in before.items():
        assert old is not None and after[name] == office.add(old, paused), name
    # by hand: first response had 6h left from Thu 10 Dec 11:00 local: Thu 11-17 -> 17:00.
    assert after["first_response"] == utc(2026, 12, 10, 15, 0)
    # tier had 20h - 2h (Thu 26 10-12) = 18h left: Thu 10 Dec 6h, Fri 7h (13h), Mon 14 Dec
    # 09:00 + 5h -> 14:00 local.
    assert after["tier"] == utc(2026, 12, 14, 12, 0)
    # the warning moves with it: 80% of 8h is reached 1h36m before the due time
    warn_after = resumed.clock("first_response").warn_at  # type: ignore[union-attr]
    assert warn_before is not None and warn_after == office.add(warn_before, paused)
    assert warn_after == utc(2026, 12, 10, 13, 24)
    assert all(c.running for c in resumed.clocks)


def test_waiting_on_a_24x7_clock_shifts_by_wall_time(desk: Desk, clock: ManualClock) -> None:
    case = desk.open(title="t", customer="c", channel="phone", priority="urgent", by="ana")
    desk.claim(case.id, by="ana")
    # urgent runs on "always": first response 1h, resolution 8h from Thu 08:00 UTC
    assert due(desk, case.id)["resolution"] == THU_10 + 8 * H
    clock.advance(timedelta(minutes=10))
    desk.wait(case.id, by="ana")
    clock.advance(timedelta(hours=3, minutes=7))
    resumed = desk.resume(case.id, by="ana")
    assert resumed.clock("resolution").due_at == THU_10 + 8 * H + timedelta(  # type: ignore[union-attr]
        hours=3, minutes=7)


# -- breaches that escalate, re-alerts at the top ------------------------------------------------


def test_escalate_on_breach_records_breach_and_escalation_in_one_tick(
        desk: Desk, clock: ManualClock) -> None:
    case = desk.open(title="site down", customer="c", channel="phone", priority="urgent",
                     by="ana")
    desk.claim(case.id, by="ana")
    # urgent: first response 1h on the 24x7 calendar, warning at 80% = 48 minutes
    clock.advance(timedelta(minutes=48))
    assert kinds(desk.tick()) == ["warned"]
    clock.advance(timedelta(minutes=12))
    fired = desk.tick()
    assert kinds(fired) == ["breached", "escalated"]
    breached, escalated = fired
    assert breached.at == escalated.at == THU_10 + H
    assert escalated.actor is None and escalated.seq == breached.seq + 1
    assert escalated.reason == ("first response target missed and the policy escalates "
                                "on breach")
    assert (escalated.tier_before, escalated.tier_after) == ("frontline", "specialists")
    after = desk.get(case.id)
    assert after.tier == "specialists" and after.owner == Queue("specialists")
    assert desk.history(case.id)[-2:] == fired


def test_top_tier_realerts_once_per_interval_with_catch_up(
        example_policy: Policy, url: str) -> None:
    monday_9 = utc(2026, 3, 2, 7, 0)  # Mon 2 Mar 2026 09:00 local, no holidays that week
    clock = ManualClock(monday_9)
    with Desk(example_policy, store=url, clock=clock, autoload_plugins=False) as desk:
        case = desk.open(title="t", customer="c", channel="phone", by="ana")
        desk.escalate(case.id, by="ana")
        desk.escalate(case.id, by="cy")
        desk.respond(case.id, by="dee")  # stops the first-response clock
        assert desk.get(case.id).tier == "management"
        # realert_every 4h of office time from Mon 09:00: Mon 13:00, Mon 17:00, Tue 13:00,
        # Tue 17:00, Wed 13:00, Wed 17:00 local (UTC+2).
        expected = [utc(2026, 3, 2, 11), utc(2026, 3, 2, 15), utc(2026, 3, 3, 11),
                    utc(2026, 3, 3, 15), utc(2026, 3, 4, 11), utc(2026, 3, 4, 15)]
        clock.set(utc(2026, 3, 4, 16, 0))  # Wed 18:00 local, a single late tick
        fired = desk.tick()
        assert kinds(fired) == ["realerted"] * 6
        assert [e.at for e in fired] == expected
        assert [e.reason for e in fired] == [
            f"still unresolved at the top tier management; re-alert {n}" for n in range(1, 7)]
        assert all(e.actor is None for e in fired)
        tier = desk.get(case.id).clock("tier")
        assert tier is not None and tier.alerts == 6
        assert tier.due_at == utc(2026, 3, 5, 11)  # Thu 13:00 local
        assert desk.tick() == []
        clock.set(utc(2026, 3, 5, 11))
        assert kinds(desk.tick()) == ["realerted"]
        assert desk.get(case.id).owner == Agent("dee"), "a re-alert keeps the owner"


# -- cases that finish in time --------------------------------------------------------------------


def test_a_case_resolved_in_time_never_escalates(desk: Desk, clock: ManualClock) -> None:
    kept = desk.open(title="resolved", customer="c", channel="phone", by="ana")
    closed = desk.open(title="closed", customer="c", channel="phone", by="ana")
    for case in (kept, closed):
        desk.claim(case.id, by="ana")
        desk.respond(case.id, by="ana")
    clock.advance(5 * H)
    desk.resolve(kept.id, by="ana", resolution="done")
    desk.resolve(closed.id, by="ana", resolution="done")
    desk.close(closed.id, by="ana")
    assert desk.store.timers(kept.id) == [] and desk.store.timers(closed.id) == []
    clock.advance(timedelta(days=90))
    assert desk.tick() == []
    assert kinds(desk.history(kept.id)) == ["opened", "claimed", "responded", "resolved"]
    assert kinds(desk.history(closed.id))[-1] == "closed"
    assert desk.get(kept.id).tier == "frontline" and desk.get(kept.id).escalations == 0
    reopened = desk.reopen(kept.id, by="ana")
    # the tier clock paused at resolution with 20h - 5h = 15h left and resumes now, Wed 24 Feb
    # 2027 15:00 local: Wed 2h, Thu 8h (10h), Fri 26 Feb 09:00-12:00 (13h), 13:00 + 2h -> Fri
    # 15:00 local
    assert clock.now() == utc(2027, 2, 24, 13, 0)
    assert reopened.clock("tier").due_at == utc(2027, 2, 26, 13, 0)  # type: ignore[union-attr]
    resolution = reopened.clock("resolution")
    assert resolution is not None and resolution.started_at == clock.now()
    assert desk.tick() == []


# -- several workers -----------------------------------------------------------------------------


def _scenario(desk: Desk, count: int) -> list[str]:
    ids = []
    for n in range(count):
        case = desk.open(title=f"case {n}", customer="c", channel="phone",
                         priority="urgent" if n % 3 == 0 else "normal", by="ana")
        if n % 2:
            desk.claim(case.id, by="bo")
        ids.append(case.id)
    return ids


class _SlowObserver:
    @hookimpl
    def escalate_event_committed(self, desk: Desk, case: object, event: Event) -> None:
        time.sleep(0.002)


def test_two_desks_ticking_one_file_fire_each_timer_once(example_policy: Policy,
                                                         tmp_path: Path) -> None:
    count = 24
    late = utc(2026, 12, 4, 16, 0)  # Fri 4 Dec 18:00 local: several timers per case are due
    reference_clock = ManualClock(THU_10)
    with Desk(example_policy, store="memory://", clock=reference_clock,
              autoload_plugins=False) as reference:
        ids = _scenario(reference, count)
        reference.tick(late)
        expected = {i: kinds(reference.history(i)) for i in ids}
    assert sum(len(k) for k in expected.values()) > 3 * count, "the scenario should fire a lot"

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    clock = ManualClock(THU_10)
    # a slow observer releases the processor between batches, so the two desks interleave
    desks = [Desk(example_policy, store=url, clock=clock, autoload_plugins=False,
                  plugins=[_SlowObserver()]) for _ in range(2)]
    try:
        assert _scenario(desks[0], count) == ids
        start = threading.Barrier(2)
        results: list[list[Event]] = [[], []]
        errors: list[BaseException] = []

        def work(n: int) -> None:
            try:
                start.wait()
                results[n] = desks[n].tick(late, batch=5)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        fired = results[0] + results[1]
        keys = Counter((e.case_id, e.seq) for e in fired)
        assert all(n == 1 for n in keys.values()), "an event was recorded twice"
        got = {i: kinds(desks[0].history(i)) for i in ids}
        assert got == expected
        opening = {i: len(desks[0].history(i)) for i in ids}
        assert len(fired) == sum(opening.values()) - sum(
            1 if n % 2 == 0 else 2 for n in range(count))
        assert desks[1].tick(late) == [] and desks[0].tick(late) == []
    finally:
        for made in desks:
            made.shutdown()


@pytest.mark.parametrize("url", ["memory://", "sqlite"])
def test_one_late_tick_fires_in_due_order_on_every_store(url: str, tmp_path: Path) -> None:
    """A warning written by an earlier firing in the same tick keeps its place in the order."""
    from escalate.testing import timed_policy

    store = url if url == "memory://" else f"sqlite:///{tmp_path / 'order.db'}"
    monday = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # 09:00 in Bucharest
    clock = ManualClock(monday)
    desk = Desk(timed_policy(), store=store, clock=clock, autoload_plugins=False)
    case = desk.open(title="t", customer="c", channel="phone", priority="urgent")
    clock.advance(timedelta(days=3))
    fired = [(e.kind.value, e.tier_before) for e in desk.tick() if e.case_id == case.id]
    # urgent: 30m first response (warn at 50%), escalate_on_breach; 8h resolution (warn 80%)
    assert fired[:3] == [("warned", "frontline"), ("breached", "frontline"),
                         ("escalated", "frontline")]
    times = [e.at for e in desk.history(case.id)]
    assert times == sorted(times)
