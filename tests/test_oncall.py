"""Tiers with on-call schedules: who is on call, who is told, config errors and the CLI."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from escalate import ConfigError, Desk, InvalidInput, ManualClock, Policy
from escalate.cli import main

POLICY_TOML = """
[calendars.always]
hours = "24x7"

[schedules.specialists]
timezone = "Europe/Bucharest"
[[schedules.specialists.layers]]
members = ["cy", "dan"]
rotate = "weekly"
start = "2026-11-02T09:00"
[[schedules.specialists.overrides]]
who = "dee"
start = "2026-12-24T09:00"
end = "2026-12-27T09:00"

[ladders.support]
calendar = "always"

[[ladders.support.tiers]]
name = "frontline"
members = ["ana", "bo"]
escalate_after = "20h"

[[ladders.support.tiers]]
name = "specialists"
members = ["cy", "dan"]
lead = "lee"
on_call = "specialists"
realert_every = "4h"
"""

# 2026-11-03 10:00 in Bucharest: cy's first week
CY_WEEK = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
BEFORE_START = datetime(2026, 10, 20, 8, 0, tzinfo=UTC)


def policy_data() -> dict[str, Any]:
    return tomllib.loads(POLICY_TOML)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(CY_WEEK)


@pytest.fixture
def desk(url: str, clock: ManualClock) -> Iterator[Desk]:
    with Desk(Policy.from_dict(policy_data()), store=url, clock=clock,
              autoload_plugins=False) as made:
        yield made


def recipients(desk: Desk, case_id: str, seq: int) -> set[str]:
    return {n.recipient for n in desk.outbox(case_id=case_id) if n.seq == seq}


def test_on_call_follows_the_schedule(desk: Desk) -> None:
    assert desk.on_call("specialists") == ["cy"]
    assert desk.on_call("specialists", at=CY_WEEK + timedelta(days=7)) == ["dan"]
    assert desk.on_call("specialists", at=datetime(2026, 12, 25, 12, tzinfo=UTC)) == ["dee"]
    assert desk.on_call("specialists", at=BEFORE_START) == []
    assert desk.on_call("frontline") == ["ana", "bo"]  # no schedule: every member


def test_unknown_tier_or_naive_time_is_refused(desk: Desk) -> None:
    with pytest.raises(InvalidInput, match="unknown tier"):
        desk.on_call("nowhere")
    with pytest.raises(InvalidInput):
        desk.on_call("specialists", at=datetime(2026, 11, 3, 10, 0))


def test_escalation_calls_only_who_is_on_call_and_records_them(desk: Desk) -> None:
    case = desk.open(title="Printer on fire", customer="c-1", by="ana")
    escalated = desk.escalate(case.id, by="ana", reason="needs a specialist")
    event = desk.history(case.id)[-1]
    assert event.data["on_call"] == ["cy"]
    told = recipients(desk, case.id, escalated.version)
    assert "cy" in told
    assert "dan" not in told


def test_nobody_on_call_falls_back_to_the_lead(url: str) -> None:
    clock = ManualClock(BEFORE_START)
    with Desk(Policy.from_dict(policy_data()), store=url, clock=clock,
              autoload_plugins=False) as desk:
        case = desk.open(title="Before the rota", customer="c-2", by="ana")
        escalated = desk.escalate(case.id, by="ana")
        assert desk.history(case.id)[-1].data["on_call"] == []
        told = recipients(desk, case.id, escalated.version)
        assert "lee" in told
        assert not told & {"cy", "dan"}


def test_events_of_tiers_without_schedule_record_nothing(desk: Desk) -> None:
    case = desk.open(title="Plain", customer="c-3", by="ana")
    assert "on_call" not in desk.history(case.id)[0].data


def test_realert_goes_to_whoever_is_on_call_then(desk: Desk, clock: ManualClock) -> None:
    case = desk.open(title="Long one", customer="c-4", by="ana")
    desk.escalate(case.id, by="ana")
    clock.advance(timedelta(days=7))  # dan's week now
    realerts = [e for e in desk.tick() if e.kind == "realerted"]
    assert realerts
    assert realerts[-1].data["on_call"] == ["dan"]
    assert "dan" in recipients(desk, case.id, realerts[-1].seq)


@pytest.mark.parametrize(("change", "key"), [
    (lambda d: d["ladders"]["support"]["tiers"][1].update(on_call="nights"),
     "ladders.support.tiers[1].on_call"),
    (lambda d: d["schedules"]["specialists"]["layers"][0].update(hours="office"),
     "schedules.specialists.layers[0].hours"),
])
def test_bad_on_call_settings_name_the_key(change: Any, key: str) -> None:
    data = policy_data()
    change(data)
    with pytest.raises(ConfigError) as caught:
        Policy.from_dict(data)
    assert caught.value.path == key


def test_policy_with_schedules_round_trips() -> None:
    policy = Policy.from_dict(policy_data())
    again = Policy.from_dict(policy.to_dict())
    assert again.version == policy.version
    assert again.schedules == policy.schedules
    assert again.tier("specialists").on_call == "specialists"


def test_cli_oncall_prints_who_and_the_next_handoff(tmp_path: Path) -> None:
    policy_file = tmp_path / "escalation.toml"
    policy_file.write_text(POLICY_TOML, encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(main, ["oncall", "specialists", "--at", "2026-11-03T10:00+02:00",
                                  "--policy", str(policy_file)])
    assert result.exit_code == 0, result.output
    assert "cy" in result.output and "2026-11-09 09:00" in result.output
    result = runner.invoke(main, ["oncall", "specialists", "--at", "2026-11-10T10:00+02:00",
                                  "--policy", str(policy_file), "--json"])
    data = json.loads(result.output)
    assert data["on_call"] == ["dan"]
    assert data["next_handoff"] == "2026-11-16T07:00:00+00:00"
    result = runner.invoke(main, ["oncall", "nowhere", "--policy", str(policy_file)])
    assert result.exit_code == 1 and "unknown tier" in result.output
    result = runner.invoke(main, ["oncall", "specialists", "--at", "tomorrow",
                                  "--policy", str(policy_file)])
    assert result.exit_code == 1 and "--at" in result.output
