"""Changing the policy of a running desk: dry run, new-cases-only, migration, removed tiers."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from escalate import Desk, ManualClock, Policy
from escalate.errors import InvalidInput
from escalate.testing import TIMED_POLICY

MONDAY_9 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # 09:00 in Bucharest (UTC+2)


def policies() -> tuple[Policy, Policy]:
    old = Policy.from_dict(TIMED_POLICY)
    data = copy.deepcopy(TIMED_POLICY)
    data["ladders"]["support"]["tiers"][0]["escalate_after"] = "3h"
    return old, Policy.from_dict(data)


def test_preview_lists_moves_and_changes_nothing() -> None:
    old, new = policies()
    clock = ManualClock(MONDAY_9)
    desk = Desk(old, "memory://", clock, autoload_plugins=False)
    case = desk.open(title="t", customer="c", channel="web")
    clock.advance(timedelta(hours=1))
    plans = desk.preview_policy(new)
    assert [p.case_id for p in plans] == [case.id]
    # 6h frontline limit from Mon 09:00 -> Mon 15:00 local; with 3h and 1h used -> Mon 12:00.
    assert plans[0].old_due["tier"] == MONDAY_9 + timedelta(hours=6)
    assert plans[0].new_due["tier"] == MONDAY_9 + timedelta(hours=3)
    assert "tier" in plans[0].line()
    assert desk.get(case.id) == case and desk.policy is old


def test_without_migration_open_cases_keep_their_due_times() -> None:
    old, new = policies()
    clock = ManualClock(MONDAY_9)
    desk = Desk(old, "memory://", clock, autoload_plugins=False)
    before = desk.open(title="t", customer="c", channel="web")
    assert desk.change_policy(new) == []
    after = desk.open(title="t2", customer="c", channel="web")
    assert desk.get(before.id).clock("tier").due_at == MONDAY_9 + timedelta(hours=6)
    assert after.clock("tier").due_at == MONDAY_9 + timedelta(hours=3)
    assert after.policy_version == new.version != before.policy_version


def test_migration_recomputes_clocks_with_one_event_per_case_and_fires_on_time() -> None:
    old, new = policies()
    clock = ManualClock(MONDAY_9)
    desk = Desk(old, "memory://", clock, autoload_plugins=False)
    case = desk.open(title="t", customer="c", channel="web")
    clock.advance(timedelta(hours=1))
    events = desk.change_policy(new, migrate=True, by="root")
    assert [(e.case_id, e.kind.value, e.actor) for e in events] == [(case.id, "noted", "root")]
    migrated = desk.get(case.id)
    assert migrated.policy_version == new.version
    assert migrated.clock("tier").due_at == MONDAY_9 + timedelta(hours=3)
    clock.set(MONDAY_9 + timedelta(hours=3))
    assert [e.kind.value for e in desk.tick() if e.case_id == case.id][-1] == "escalated"
    assert desk.verify() == []


def test_a_removed_tier_keeps_its_timers_until_the_case_is_moved() -> None:
    old = Policy.from_dict(TIMED_POLICY)
    data = copy.deepcopy(TIMED_POLICY)
    data["ladders"]["support"]["tiers"][0]["name"] = "helpdesk"
    new = Policy.from_dict(data)
    clock = ManualClock(MONDAY_9)
    desk = Desk(old, "memory://", clock, autoload_plugins=False)
    case = desk.open(title="t", customer="c", channel="web")
    plan = desk.preview_policy(new)[0]
    assert not plan.tier_exists and "tier_map" in plan.line()
    with pytest.raises(InvalidInput, match="tier_map"):
        desk.change_policy(new, migrate=True)
    assert desk.policy is old
    desk.change_policy(new)
    timers = desk.store.timers(case.id)
    clock.advance(timedelta(days=10))
    assert desk.tick() == []
    assert desk.get(case.id).version == 1 and desk.store.timers(case.id) == timers
    assert [(p.case_id, p.kind) for p in desk.verify(overdue_after=None)] == [
        (case.id, "orphaned")]
    desk.change_policy(new, migrate=True, tier_map={"frontline": "helpdesk"})
    assert desk.get(case.id).tier == "helpdesk"
    assert [e.kind.value for e in desk.tick() if e.case_id == case.id] == [
        "breached", "breached"], "the SLA clocks kept their time and fire at once"
    assert desk.get(case.id).clock("tier").running
    assert desk.verify() == []
