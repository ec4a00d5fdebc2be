"""Automatic assignment and agent availability: who gets a case, who is told, who may say."""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from escalate import (
    ConfigError,
    Desk,
    InvalidInput,
    ManualClock,
    NotAuthorized,
    Policy,
    StorageError,
    hookimpl,
)
from escalate.model import Agent, Queue

POLICY_TOML = """
admins = ["root"]

[schedules.specialists]
timezone = "UTC"
[[schedules.specialists.layers]]
members = ["cy", "dan"]
rotate = "daily"
start = "2026-11-02T00:00"

[ladders.support]

[[ladders.support.tiers]]
name = "frontline"
members = ["ana", "bo", "eve"]
lead = "lee"
assign = "round_robin"
escalate_after = "20h"

[[ladders.support.tiers]]
name = "specialists"
members = ["cy", "dan"]
lead = "sam"
on_call = "specialists"
assign = "least_loaded"
realert_every = "4h"
"""

MONDAY = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # cy's day on the schedule


def policy_data() -> dict[str, Any]:
    return tomllib.loads(POLICY_TOML)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY)


def make(url: str, clock: ManualClock, *plugins: object, data: dict[str, Any] | None = None
         ) -> Desk:
    return Desk(Policy.from_dict(data or policy_data()), store=url, clock=clock,
                plugins=plugins, autoload_plugins=False)


@pytest.fixture
def desk(url: str, clock: ManualClock) -> Iterator[Desk]:
    with make(url, clock) as made:
        yield made


def test_round_robin_spreads_arrivals_evenly(desk: Desk) -> None:
    owners = [desk.open(title=f"case {i}", customer="c-1").owner for i in range(9)]
    assert Counter(owners) == {Agent("ana"): 3, Agent("bo"): 3, Agent("eve"): 3}
    assert owners[:3] == [Agent("ana"), Agent("bo"), Agent("eve")]


def test_assignment_is_an_assigned_event_by_nobody_with_the_strategy(desk: Desk) -> None:
    case = desk.open(title="Invoice", customer="c-1", by="ana")
    opened, assigned = desk.history(case.id)
    assert opened.kind == "opened" and opened.owner_after == Queue("frontline")
    assert assigned.kind == "assigned" and assigned.actor is None
    assert assigned.data["strategy"] == "round_robin"
    assert assigned.owner_after == case.owner and case.status == "open"
    assert desk.verify() == []


def test_least_loaded_gives_the_case_to_who_holds_fewest(desk: Desk,
                                                         clock: ManualClock) -> None:
    # only cy is on call on Monday; then on Tuesday only dan; on Wednesday cy again
    first = desk.open(title="a", customer="c-1")
    desk.escalate(first.id, by=first.owner.name)
    assert desk.get(first.id).owner == Agent("cy")
    assert desk.history(first.id)[-1].data["strategy"] == "least_loaded"


def test_least_loaded_prefers_the_emptier_member(url: str, clock: ManualClock) -> None:
    data = policy_data()
    del data["ladders"]["support"]["tiers"][1]["on_call"]
    with make(url, clock, data=data) as desk:
        owners = []
        for i in range(4):
            case = desk.open(title=f"c{i}", customer="c-1")
            owners.append(desk.escalate(case.id, by=case.owner.name).owner)
        assert Counter(owners) == {Agent("cy"): 2, Agent("dan"): 2}
        busy = next(iter(desk.cases(owner="cy")))
        desk.resolve(busy.id, by="cy", resolution="done")
        case = desk.open(title="next", customer="c-1")
        assert desk.escalate(case.id, by=case.owner.name).owner == Agent("cy")


def test_unavailable_agents_are_neither_assigned_nor_told(desk: Desk) -> None:
    desk.set_available("bo", False, by="bo", reason="holiday")
    owners = {desk.open(title=f"case {i}", customer="c-1", by="ana").owner for i in range(6)}
    assert Agent("bo") not in owners
    assert all(n.recipient != "bo" for n in desk.outbox())


def test_nobody_available_leaves_the_case_in_the_queue(desk: Desk) -> None:
    for name in ("ana", "bo", "eve"):
        desk.set_available(name, False, by="lee")
    case = desk.open(title="Nobody home", customer="c-1")
    assert case.owner == Queue("frontline")
    assert [e.kind for e in desk.history(case.id)] == ["opened"]


def test_availability_until_reverts_by_itself(desk: Desk, clock: ManualClock) -> None:
    desk.set_available("ana", False, by="ana", until=MONDAY + timedelta(hours=2))
    assert desk.available("ana") is False
    assert desk.available("ana", at=MONDAY + timedelta(hours=2)) is True
    clock.advance(timedelta(hours=3))
    owners = {desk.open(title=f"c{i}", customer="c-1").owner for i in range(3)}
    assert Agent("ana") in owners
    assert [c.available for c in desk.availability("ana")] == [False]


def test_return_cases_sends_them_back_and_reassigns(desk: Desk) -> None:
    cases = [desk.open(title=f"c{i}", customer="c-1") for i in range(3)]
    ana_case = next(c for c in cases if c.owner == Agent("ana"))
    desk.set_available("ana", False, by="ana", return_cases=True)
    after = desk.get(ana_case.id)
    kinds = [e.kind for e in desk.history(ana_case.id)]
    assert kinds[-2:] == ["returned", "assigned"]
    assert after.owner in (Agent("bo"), Agent("eve"))
    assert desk.verify() == []


@pytest.mark.parametrize(("actor", "allowed"), [
    ("bo", True), ("lee", True), ("root", True), ("ana", False), ("cy", False),
    ("sam", False)])
def test_who_may_change_availability(desk: Desk, actor: str, allowed: bool) -> None:
    if allowed:
        desk.set_available("bo", False, by=actor)
        assert desk.available("bo") is False
    else:
        with pytest.raises(NotAuthorized, match="availability"):
            desk.set_available("bo", False, by=actor)
        assert desk.availability("bo") == []


@pytest.mark.parametrize("kwargs", [
    {"name": "stranger", "available": False, "by": "root"},
    {"name": "bo", "available": "no", "by": "bo"},
    {"name": "bo", "available": False, "by": "bo", "until": MONDAY - timedelta(hours=1)},
    {"name": "bo", "available": False, "by": "bo", "until": datetime(2026, 12, 1)},
    {"name": "", "available": False, "by": "bo"},
])
def test_bad_availability_input_is_refused_and_changes_nothing(desk: Desk,
                                                               kwargs: Any) -> None:
    with pytest.raises(InvalidInput):
        desk.set_available(**kwargs)
    assert desk.availability() == []


class PrefersEve:
    @hookimpl
    def escalate_assign(self, case: Any, candidates: list[str]) -> str | None:
        return "eve" if "eve" in candidates and case.fields.get("language") == "de" else None


class ChoosesAStranger:
    @hookimpl
    def escalate_assign(self, candidates: list[str]) -> str | None:
        return "mallory"


def test_an_assignment_plugin_chooses_among_candidates(url: str, clock: ManualClock) -> None:
    with make(url, clock, PrefersEve()) as desk:
        case = desk.open(title="Rechnung", customer="c-1", fields={"language": "de"})
        assert case.owner == Agent("eve")
        assert desk.history(case.id)[-1].data["strategy"] == "plugin"
        other = desk.open(title="Invoice", customer="c-1")
        assert other.owner == Agent("ana")


def test_a_plugin_choosing_a_stranger_is_ignored(url: str, clock: ManualClock) -> None:
    with make(url, clock, ChoosesAStranger()) as desk:
        case = desk.open(title="x", customer="c-1")
        assert case.owner == Agent("ana")
        assert desk.history(case.id)[-1].data["strategy"] == "round_robin"


def test_bad_strategy_names_the_key() -> None:
    data = policy_data()
    data["ladders"]["support"]["tiers"][0]["assign"] = "randomly"
    with pytest.raises(ConfigError) as caught:
        Policy.from_dict(data)
    assert caught.value.path == "ladders.support.tiers[0].assign"


def test_verify_knows_unavailable_agents_were_not_told(desk: Desk) -> None:
    desk.set_available("bo", False, by="bo")
    for i in range(4):
        desk.open(title=f"c{i}", customer="c-1", by="ana")
    assert desk.verify() == []


def test_verify_reports_a_damaged_availability_row(tmp_path: Any, clock: ManualClock) -> None:
    import sqlite3

    url = f"sqlite:///{tmp_path / 'cases.db'}"
    with make(url, clock) as desk:
        desk.set_available("bo", False, by="bo")
        desk.open(title="x", customer="c-1")
    db = sqlite3.connect(tmp_path / "cases.db")
    db.execute("DROP TRIGGER availability_append_only_update")
    db.execute("UPDATE availability SET body = '{not json'")
    db.commit()
    db.close()
    with make(url, clock) as desk:
        problems = desk.verify()
        assert [p.kind for p in problems if not p.case_id] == ["damaged"]
        assert "availability" in problems[0].message
        with pytest.raises(StorageError, match="availability trail is damaged"):
            desk.open(title="y", customer="c-1")
