"""What-if simulation: a log's cases run again under candidate policies."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from escalate import ConfigError, Event, Policy
from escalate.replay import ReplayMapping, replay_csv
from escalate.replay_mappings import BPIC2013_INCIDENTS
from escalate.simulate import outline_cases, simulate
from escalate.stores.memory import MemoryStore
from escalate.verify import verify_store

START = datetime(2024, 3, 4, 8, 0, tzinfo=UTC)
MAPPING = ReplayMapping.from_dict({
    "case_id": "id", "timestamp": "when", "status": "status", "owner": "agent",
    "team": "team", "priority": "priority",
    "status_map": {"New": "return", "Working": "claim", "Solved": "resolve",
                   "Pending": "wait", "Closed": "close"},
    "team_tiers": {"Desk": "1st line", "Network": "2nd line", "Vendor": "3rd line"},
})
BPI_INCIDENTS = (Path(__file__).resolve().parents[1].parent / "shared" / "data"
                 / "bpic2013-volvo-incidents" / "bpic2013_incidents.csv")


def stamp(minutes: float) -> str:
    return (START + timedelta(minutes=minutes)).isoformat()


def log_of(tmp_path: Path, rows: list[list[str]]) -> list[Event]:
    path = tmp_path / "log.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["id", "when", "status", "agent", "team", "priority"])
        writer.writerows(rows)
    store = MemoryStore()
    result = replay_csv(path, MAPPING, store)
    assert result.malformed == result.unknown_statuses == result.refused == 0
    return list(store.all_events())


def ten_cases(tmp_path: Path) -> list[Event]:
    rows: list[list[str]] = []
    for i in range(10):
        at = i * 60
        case = f"C{i}"
        rows.append([case, stamp(at), "New", "ana", "Desk", "normal"])
        rows.append([case, stamp(at + 30), "Working", "ana" if i % 2 else "bo", "Desk",
                     "normal"])
        if i < 8:  # two cases are never resolved
            rows.append([case, stamp(at + 60 * (i + 1)), "Solved", "bo", "Desk", "normal"])
    return log_of(tmp_path, rows)


def candidate(escalate_after: str | None, *, realert: str | None = None,
              sla: dict[str, Any] | None = None) -> Policy:
    def tier(name: str, members: list[str], top: bool = False) -> dict[str, Any]:
        spec: dict[str, Any] = {"name": name, "members": members}
        if top:
            if realert:
                spec["realert_every"] = realert
        elif escalate_after:
            spec["escalate_after"] = escalate_after
        return spec

    data: dict[str, Any] = {
        "calendars": {"always": {"hours": "24x7"}},
        "ladders": {"support": {"calendar": "always", "tiers": [
            tier("1st line", ["ana", "bo"]), tier("2nd line", ["cy", "cat"]),
            tier("3rd line", ["dee"], top=True)]}},
    }
    if sla is not None:
        data["sla"] = sla
    return Policy.from_dict(data)


def test_outline_takes_arrival_response_resolution_and_agents(tmp_path: Path) -> None:
    events = log_of(tmp_path, [
        ["C1", stamp(0), "New", "ana", "Desk", "urgent"],
        ["C1", stamp(45), "Working", "bo", "Desk", "urgent"],
        ["C1", stamp(90), "Solved", "bo", "Desk", "urgent"],
        ["C1", stamp(100), "Working", "cy", "Network", "urgent"],
        ["C2", stamp(5), "Working", "ana", "Desk", "normal"],
        ["C2", stamp(65), "Solved", "ana", "Desk", "normal"],
    ])
    outlines, without = outline_cases(events)
    assert without == 0
    c1, c2 = sorted(outlines, key=lambda o: o.case_id)
    assert c1.arrival == START and c1.priority == "urgent"
    assert c1.first_response == timedelta(minutes=45)
    assert c1.resolution is None  # reopened after its resolution
    assert c1.agents[:2] == ("ana", "bo") and "cy" in c1.agents
    assert c1.escalated_to == ("2nd line",)
    assert c2.first_response == timedelta(0) and c2.resolution == timedelta(minutes=60)
    limited, _ = outline_cases(events, limit=1)
    assert [o.case_id for o in limited] == ["C1"]
    assert outline_cases(events[1:])[1] == 1  # C1 without its opened event


def test_same_seed_gives_the_same_result(tmp_path: Path) -> None:
    events = ten_cases(tmp_path)
    policy = candidate("2h", realert="1h")
    first = simulate(events, policy, seed=7)
    second = simulate(events, policy, seed=7)
    assert first == second
    assert first.to_dict()["candidate"] == second.to_dict()["candidate"]


def test_a_stricter_candidate_escalates_more(tmp_path: Path) -> None:
    events = ten_cases(tmp_path)
    strict = simulate(events, candidate("1h"))
    lenient = simulate(events, candidate("100h"))
    assert strict.candidate.total_escalations > lenient.candidate.total_escalations
    assert lenient.candidate.total_escalations == 0
    assert strict.candidate.reached_top > lenient.candidate.reached_top == 0
    assert strict.actual == lenient.actual
    assert strict.actual.total_escalations == 0 and strict.actual.resolved == 8
    assert strict.candidate.resolved == lenient.candidate.resolved == 8


def test_timers_fire_at_the_times_the_log_implies(tmp_path: Path) -> None:
    events = log_of(tmp_path, [
        ["C1", stamp(0), "New", "ana", "Desk", "normal"],
        ["C1", stamp(30), "Working", "ana", "Desk", "normal"],
        ["C1", stamp(300), "Solved", "ana", "Desk", "normal"],
    ])
    sla = {"normal": {"first_response": "1h", "resolution": "4h", "calendar": "always"}}
    store = MemoryStore()
    result = simulate(events, candidate("2h", sla=sla), store=store)
    trail = [(e.kind.value, e.at - START, e.tier_after, e.actor) for e in store.events("C1")]
    assert trail == [
        ("opened", timedelta(0), "1st line", None),
        ("responded", timedelta(minutes=30), "1st line", "ana"),   # a real handler
        ("escalated", timedelta(hours=2), "2nd line", None),
        ("warned", timedelta(hours=3, minutes=12), "2nd line", None),  # 80% of 4h
        ("breached", timedelta(hours=4), "2nd line", None),
        ("escalated", timedelta(hours=4), "3rd line", None),
        ("resolved", timedelta(hours=5), "3rd line", "dee"),       # the 3rd line's member
    ]
    assert dict(result.candidate.escalations) == {"2nd line": 1, "3rd line": 1}
    assert (result.candidate.warnings, result.candidate.breaches) == (1, 1)
    assert result.candidate.reached_top == 1
    assert result.candidate.notifications == len(store.notifications()) > 0
    assert (result.actual.warnings, result.actual.breaches, result.actual.notifications) == \
        (0, 0, None)
    assert list(verify_store(store)) == []


def test_top_tier_realerts_until_the_log_ends(tmp_path: Path) -> None:
    events = log_of(tmp_path, [
        ["C1", stamp(0), "New", "ana", "Desk", "normal"],
        ["C2", stamp(600), "New", "ana", "Desk", "normal"],  # the log ends at 10h
    ])
    result = simulate(events, candidate("1h", realert="2h"))
    # C1: up at 1h and 2h, then re-alerts at 4h, 6h, 8h, 10h; C2 opened at the very end
    assert result.candidate.realerts == 4
    assert result.candidate.resolved == 0


def test_actual_figures_come_from_the_log(tmp_path: Path) -> None:
    events = log_of(tmp_path, [
        ["C1", stamp(0), "Working", "ana", "Desk", "normal"],
        ["C1", stamp(60), "New", "ana", "Network", "normal"],
        ["C1", stamp(120), "New", "cy", "Vendor", "normal"],
        ["C1", stamp(180), "Solved", "dee", "Vendor", "normal"],
    ])
    result = simulate(events, candidate("100h"))
    assert dict(result.actual.escalations) == {"2nd line": 1, "3rd line": 1}
    assert result.actual.reached_top == 1 and result.candidate.reached_top == 0
    table = result.table()
    assert "escalations to 3rd line" in table and "actual" in table


def test_cases_the_candidate_cannot_open_are_skipped_with_a_reason(tmp_path: Path) -> None:
    events = log_of(tmp_path, [
        ["C1", stamp(0), "New", "ana", "Desk", "urgent"],
        ["C2", stamp(10), "New", "ana", "Desk", "normal"],
    ])
    sla = {"urgent": {"first_response": "1h", "calendar": "always"}}
    result = simulate(events, candidate("1h", sla=sla))
    assert [case for case, _ in result.skipped] == ["C2"]
    assert "priority" in result.skipped[0][1]
    assert result.candidate.cases == result.actual.cases == 1


def test_keeping_the_trail_needs_an_empty_store(tmp_path: Path) -> None:
    events = ten_cases(tmp_path)
    store = MemoryStore()
    simulate(events, candidate("1h"), store=store)
    assert len(list(store.case_ids())) == 10
    with pytest.raises(ConfigError, match="empty store"):
        simulate(events, candidate("1h"), store=store)


def test_empty_log() -> None:
    result = simulate([], candidate("1h"))
    assert result.candidate.cases == result.actual.cases == 0


def test_first_500_bpi_incidents_in_seconds(tmp_path: Path) -> None:
    if not BPI_INCIDENTS.is_file():
        pytest.skip(f"the shared BPI Challenge 2013 incident log {BPI_INCIDENTS} is not present")
    part = tmp_path / "first-500.csv"
    with BPI_INCIDENTS.open(encoding="utf-8", newline="") as source, \
            part.open("w", encoding="utf-8", newline="") as target:
        reader, writer = csv.reader(source), csv.writer(target)
        writer.writerow(next(reader))
        seen: set[str] = set()
        for row in reader:
            if row[0] not in seen and len(seen) == 500:
                break
            seen.add(row[0])
            writer.writerow(row)
    store = MemoryStore()
    replayed = replay_csv(part, BPIC2013_INCIDENTS, store)
    assert replayed.cases == 500
    events = list(store.all_events())

    def policy(after: str) -> Policy:
        tiers = [{"name": "1st line", "lead": "lead", "escalate_after": after},
                 {"name": "2nd line", "lead": "lead", "escalate_after": after},
                 {"name": "3rd line", "lead": "lead"}]
        return Policy.from_dict({
            "calendars": {"office": {"timezone": "Europe/Brussels", "hours": {
                day: "08:00-18:00" for day in ("mon", "tue", "wed", "thu", "fri")}}},
            "ladders": {"support": {"calendar": "office", "tiers": tiers}}})

    strict = simulate(events, policy("4h"), actual=replayed.policy)
    lenient = simulate(events, policy("5d"), actual=replayed.policy)
    assert strict.candidate.cases == lenient.candidate.cases == 500
    assert strict.candidate.total_escalations > lenient.candidate.total_escalations
    assert strict.actual == lenient.actual and strict.actual.total_escalations > 0
