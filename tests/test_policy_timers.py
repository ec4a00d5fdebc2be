"""Policy edits and rolling deploys never silence a case: timers survive, stranded cases move."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from escalate import Desk, ManualClock, Policy, Queue
from escalate.errors import InvalidInput, InvalidTransition, NotAuthorized
from escalate.testing import TIMED_POLICY

START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)

#: Round the clock, three tiers, the top one re-alerting every 4 hours.
ALWAYS: dict[str, Any] = {
    "admins": ["root"],
    "sla": {"normal": {"first_response": "8h", "resolution": "5d"}},
    "ladders": {"support": {"tiers": [
        {"name": "frontline", "members": ["ana", "bo"], "escalate_after": "20h"},
        {"name": "specialists", "members": ["cy", "dan"], "lead": "cy",
         "escalate_after": "20h"},
        {"name": "management", "members": ["dee"], "lead": "dee", "realert_every": "4h"},
    ]}},
}


def variant(change: Any) -> Policy:
    """ALWAYS with `change` applied to a deep copy of its tiers list."""
    data = copy.deepcopy(ALWAYS)
    change(data["ladders"]["support"]["tiers"])
    return Policy.from_dict(data)


def without_top(tiers: list[dict[str, Any]]) -> None:
    tiers.pop()
    tiers[-1].pop("escalate_after")
    tiers[-1]["realert_every"] = "4h"


def renamed(tiers: list[dict[str, Any]]) -> None:
    tiers[1]["name"] = "experts"


def with_new_top(tiers: list[dict[str, Any]]) -> None:
    tiers[-1].pop("realert_every")
    tiers[-1]["escalate_after"] = "8h"
    tiers.append({"name": "directors", "members": ["eve"], "realert_every": "4h"})


def kinds(events: list[Any], case_id: str) -> list[str]:
    return [e.kind.value for e in events if e.case_id == case_id]


def top_tier_case(desk: Desk) -> str:
    case = desk.open(title="printer on fire", customer="c-1", channel="phone")
    desk.escalate(case.id, by="ana")
    desk.escalate(case.id, by="cy")
    assert desk.get(case.id).tier == "management"
    return case.id


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def desk(clock: ManualClock) -> Desk:
    return Desk(Policy.from_dict(ALWAYS), "memory://", clock, autoload_plugins=False)


# -- 1. a removed tier: the timer survives, verify names a fix that works -----------------

def test_removing_the_tier_without_migration_keeps_the_timer_and_verify_reports_it(
        desk: Desk, clock: ManualClock) -> None:
    case_id = top_tier_case(desk)
    stored = desk.store.timers(case_id)
    desk.change_policy(variant(without_top))
    clock.advance(timedelta(days=3))
    assert kinds(desk.tick(), case_id) == []
    assert desk.store.timers(case_id) == stored, "a worker deleted a timer it cannot fire"
    problems = desk.verify(overdue_after=None)
    assert [(p.case_id, p.kind) for p in problems] == [(case_id, "orphaned")]
    message = problems[0].message
    assert "management" in message and "tier_map" in message and "root" in message
    # the fix named in the message works: an administrator moves the case into a tier
    moved = desk.transfer(case_id, to=Queue("specialists"), by="root",
                          note="management is gone; specialists take it")
    assert moved.tier == "specialists" and moved.owner == Queue("specialists")
    assert desk.verify(overdue_after=None) == []
    clock.advance(timedelta(hours=4))
    fired = kinds(desk.tick(), case_id)  # the kept SLA timers fire late, then the re-alert
    assert fired.count("realerted") == 1 and "breached" in fired


def test_migrating_away_a_tier_without_a_tier_map_is_refused_and_changes_nothing(
        desk: Desk, clock: ManualClock) -> None:
    case_id = top_tier_case(desk)
    old = desk.policy
    before = desk.get(case_id)
    with pytest.raises(InvalidInput, match="tier_map"):
        desk.change_policy(variant(without_top), migrate=True)
    assert desk.policy is old and desk.get(case_id) == before
    clock.advance(timedelta(days=3))
    assert kinds(desk.tick(), case_id).count("realerted") == 18


def test_migration_with_a_tier_map_moves_the_case_with_one_event_and_it_realerts(
        desk: Desk, clock: ManualClock) -> None:
    case_id = top_tier_case(desk)
    events = desk.change_policy(variant(without_top), migrate=True, by="root",
                                tier_map={"management": "specialists"})
    assert [(e.case_id, e.kind.value, e.tier_before, e.tier_after, e.actor)
            for e in events] == [(case_id, "noted", "management", "specialists", "root")]
    case = desk.get(case_id)
    assert case.tier == "specialists" and case.owner == Queue("specialists")
    assert desk.verify(overdue_after=None) == []
    clock.advance(timedelta(days=3))
    fired = kinds(desk.tick(), case_id)
    assert fired and set(fired) == {"realerted", "breached"} | ({"warned"} & set(fired))
    assert desk.verify() == []


def test_a_renamed_tier_is_followed_by_the_tier_map(desk: Desk, clock: ManualClock) -> None:
    case = desk.open(title="t", customer="c", channel="web")
    desk.escalate(case.id, by="ana")
    desk.claim(case.id, by="cy")
    events = desk.change_policy(variant(renamed), migrate=True,
                                tier_map={"specialists": "experts"})
    assert [(e.tier_before, e.tier_after) for e in events] == [("specialists", "experts")]
    moved = desk.get(case.id)
    assert moved.tier == "experts" and moved.owner.name == "cy", "a member of both keeps it"
    clock.advance(timedelta(hours=20))
    assert "escalated" in kinds(desk.tick(), case.id)
    assert desk.get(case.id).tier == "management"


def test_a_tier_map_needs_migrate_and_existing_targets(desk: Desk) -> None:
    top_tier_case(desk)
    old = desk.policy
    with pytest.raises(InvalidInput, match="migrate=True"):
        desk.change_policy(variant(without_top), tier_map={"management": "specialists"})
    with pytest.raises(InvalidInput, match="nowhere"):
        desk.change_policy(variant(without_top), migrate=True,
                           tier_map={"management": "nowhere"})
    assert desk.policy is old


# -- 1b. a rolling deploy: an older worker leaves what it does not understand -------------

def test_an_older_worker_keeps_the_timer_of_a_tier_it_does_not_know(
        clock: ManualClock, tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path}/cases.db"
    old = Desk(Policy.from_dict(ALWAYS), url, clock, autoload_plugins=False)
    new = Desk(variant(with_new_top), url, clock, autoload_plugins=False)
    case = new.open(title="t", customer="c", channel="web")
    for by in ("ana", "cy", "dee"):
        new.escalate(case.id, by=by)
    assert new.get(case.id).tier == "directors"
    other = old.open(title="known", customer="c", channel="web")
    stored = new.store.timers(case.id)
    clock.advance(timedelta(hours=8))
    fired = old.tick()
    assert kinds(fired, case.id) == []
    assert kinds(fired, other.id) == ["warned", "breached"], "the rest still fires"
    assert new.store.timers(case.id) == stored
    assert [p.kind for p in old.verify(overdue_after=None)] == ["orphaned"]
    assert kinds(new.tick(), case.id).count("realerted") == 2
    assert new.verify(overdue_after=None) == []


def test_a_worker_fires_a_tier_timer_by_its_own_policy_when_the_top_moved(
        desk: Desk, clock: ManualClock) -> None:
    case_id = top_tier_case(desk)
    desk.change_policy(variant(with_new_top))  # management is no longer the top tier
    clock.advance(timedelta(hours=4))
    assert kinds(desk.tick(), case_id) == ["escalated"]
    assert desk.get(case_id).tier == "directors"


# -- 2. migration keeps warnings that are still ahead -------------------------------------

def test_shortening_a_limit_keeps_the_pending_warning() -> None:
    old = Policy.from_dict(TIMED_POLICY)
    data = copy.deepcopy(TIMED_POLICY)
    data["ladders"]["support"]["tiers"][1]["escalate_after"] = "3h"
    new = Policy.from_dict(data)
    clock = ManualClock(START)  # Monday 09:00 in Bucharest
    desk = Desk(old, "memory://", clock, autoload_plugins=False)
    case = desk.open(title="t", customer="c", channel="web")
    desk.escalate(case.id, by="ana")  # specialists: 5h, warn at 50%
    clock.advance(timedelta(hours=1))
    desk.change_policy(new, migrate=True)
    tier = desk.get(case.id).clock("tier")
    # 1h of 3h used: the 50% warning is due after 0.5h more, the limit after 2h more
    assert tier.warn_at == START + timedelta(hours=1, minutes=30)
    assert tier.due_at == START + timedelta(hours=3)
    clock.set(START + timedelta(hours=2))
    assert kinds(desk.tick(), case.id) == ["warned"]
    clock.set(START + timedelta(hours=3))
    assert kinds(desk.tick(), case.id) == ["escalated"]


def test_a_warning_point_already_passed_under_the_new_limit_warns_at_once() -> None:
    old = Policy.from_dict(TIMED_POLICY)
    data = copy.deepcopy(TIMED_POLICY)
    data["ladders"]["support"]["tiers"][1]["escalate_after"] = "3h"
    new = Policy.from_dict(data)
    clock = ManualClock(START)
    desk = Desk(old, "memory://", clock, autoload_plugins=False)
    case = desk.open(title="t", customer="c", channel="web")
    desk.escalate(case.id, by="ana")
    clock.advance(timedelta(hours=2))  # 2h of 5h: the 50% point (2.5h) is still ahead
    desk.change_policy(new, migrate=True)  # 2h of 3h: the 50% point (1.5h) has passed
    assert kinds(desk.tick(), case.id) == ["warned"]
    clock.set(START + timedelta(hours=3))
    assert kinds(desk.tick(), case.id) == ["escalated"]


# -- 3. an administrator can always move a stranded case ----------------------------------

def test_only_an_administrator_moves_a_stranded_case_and_into_any_existing_tier(
        desk: Desk) -> None:
    case_id = top_tier_case(desk)
    desk.claim(case_id, by="dee")
    desk.change_policy(variant(without_top))
    with pytest.raises(InvalidTransition) as refused:  # the owner may act, not move it
        desk.transfer(case_id, to=Queue("frontline"), by="dee", note="n")
    assert "root" in str(refused.value) and "migrate first" not in str(refused.value)
    with pytest.raises(NotAuthorized):
        desk.transfer(case_id, to=Queue("frontline"), by="ana", note="n")
    with pytest.raises(InvalidTransition) as up:
        desk.escalate(case_id, by="root")
    assert "transfer" in str(up.value) and "migrate first" not in str(up.value)
    assigned = desk.assign(case_id, to="bo", by="root")
    assert (assigned.tier, assigned.owner.name) == ("frontline", "bo")
    assert assigned.clock("tier") is not None and assigned.clock("tier").running
    assert desk.verify(overdue_after=None) == []


def test_an_administrator_transfers_a_stranded_case_to_an_agent_of_another_tier(
        desk: Desk) -> None:
    case_id = top_tier_case(desk)
    desk.change_policy(variant(without_top))
    with pytest.raises(InvalidInput, match="no tier"):
        desk.transfer(case_id, to=Queue("nowhere"), by="root", note="n")
    moved = desk.transfer(case_id, to="cy", by="root", note="cy leads what is left")
    assert (moved.tier, moved.owner.name) == ("specialists", "cy")


def test_a_worker_logs_each_timer_it_keeps(desk: Desk, clock: ManualClock,
                                           caplog: pytest.LogCaptureFixture) -> None:
    case_id = top_tier_case(desk)
    desk.change_policy(variant(without_top))
    clock.advance(timedelta(hours=5))
    with caplog.at_level("WARNING", logger="escalate.desk"):
        assert desk.tick() == []
    assert any(case_id in r.getMessage() and "management" in r.getMessage()
               for r in caplog.records)


def test_a_timer_stored_earlier_than_its_clock_is_kept_not_fired(
        clock: ManualClock, tmp_path: Any) -> None:
    import sqlite3

    from escalate.codec import format_time

    path = tmp_path / "cases.db"
    desk = Desk(Policy.from_dict(ALWAYS), f"sqlite:///{path}", clock, autoload_plugins=False)
    case = desk.open(title="t", customer="c", channel="web")
    with sqlite3.connect(path) as db:  # a tampered timer: due long before its clock
        db.execute("UPDATE timers SET due_at = ? WHERE clock = 'tier'",
                   (format_time(START + timedelta(minutes=1)),))
    clock.advance(timedelta(hours=1))
    assert desk.tick() == []
    assert desk.get(case.id).version == 1
    assert [t.clock for t in desk.store.timers(case.id) if t.due_at < clock.now()] == ["tier"]
    assert [p.kind for p in desk.verify()] == ["timer-due", "overdue"]
    clock.set(START + timedelta(hours=20))
    assert "escalated" in kinds(desk.tick(), case.id)
