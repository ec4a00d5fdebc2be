"""Replay of the BPI Challenge 2013 logs, checked against counts made here from the raw CSV."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from escalate.replay import ReplayMapping, ReplayResult, replay_csv
from escalate.replay_mappings import (
    BPIC2013_INCIDENTS,
    BPIC2013_PROBLEMS_CLOSED,
    BPIC2013_PROBLEMS_OPEN,
)
from escalate.stores.sqlite import SqliteStore
from escalate.verify import verify_store

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
INCIDENTS = DATA / "bpic2013-volvo-incidents" / "bpic2013_incidents.csv"
PROBLEMS = DATA / "bpic2013-volvo-problems"


def need(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"the shared BPI Challenge 2013 log {path} is not present; it lives in "
                    "shared/data beside the project (see shared/data/README.md)")
    return path


def level(team: str) -> int:
    """The tier from the team suffix, as SOURCE.md counts it: none 1, ' 2nd' 2, ' 3rd' 3."""
    return 3 if team.endswith(" 3rd") else 2 if team.endswith(" 2nd") else 1


@attrs.define
class RawCounts:
    rows: int = 0
    cases: int = 0
    owners: int = 0
    up: int = 0
    sideways: int = 0
    down: int = 0
    ping_pong: int = 0
    move_of_line: dict[int, str] = attrs.field(factory=dict)


def raw_rows(path: Path, mapping: ReplayMapping) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(encoding=mapping.encoding, newline="") as file:
        reader = csv.DictReader(file, delimiter=mapping.delimiter)
        for row in reader:
            yield reader.line_num, row


def count_raw(path: Path, mapping: ReplayMapping) -> RawCounts:
    """Counts made with nothing but the csv module: no escalate code involved."""
    name_col, country_col = mapping.owner
    counts = RawCounts()
    teams: dict[str, list[str]] = {}
    owners: set[tuple[str, str]] = set()
    for line, row in raw_rows(path, mapping):
        counts.rows += 1
        name = row[name_col]
        if name not in ("Siebel", "-", ""):
            owners.add((name, row[country_col]))
        team = row[mapping.team or ""]
        seen = teams.setdefault(row[mapping.case_id], [])
        if seen and seen[-1] != team:
            before, after = level(seen[-1]), level(team)
            move = "up" if after > before else "down" if after < before else "sideways"
            setattr(counts, move, getattr(counts, move) + 1)
            counts.move_of_line[line] = move
        seen.append(team)
    counts.cases = len(teams)
    counts.owners = len(owners)
    for sequence in teams.values():
        collapsed = [t for i, t in enumerate(sequence) if i == 0 or sequence[i - 1] != t]
        if any(collapsed[i] == collapsed[i + 2] for i in range(len(collapsed) - 2)):
            counts.ping_pong += 1
    return counts


def check_against_raw(result: ReplayResult, raw: RawCounts, store: SqliteStore) -> None:
    assert result.rows == raw.rows
    assert result.cases == raw.cases
    assert result.owners == raw.owners
    assert (result.moves_up, result.moves_sideways, result.moves_down) == \
        (raw.up, raw.sideways, raw.down)
    assert result.ping_pong_cases == raw.ping_pong
    assert result.malformed == result.unknown_statuses == 0

    events = list(store.all_events())
    assert len(events) == result.events
    assert Counter(e.kind.value for e in events) == Counter(result.events_by_kind)
    # every row is in the trail, except the refused ones, which are all counted
    lines = {e.data["line"] for e in events}
    assert len(lines) + result.refused == raw.rows
    assert {p.line for p in result.refused_rows}.isdisjoint(lines)
    # each source move is an escalated/transferred event, unless its row was refused
    written = Counter(e.data["direction"] for e in events if "direction" in e.data)
    lost = Counter(move for line, move in raw.move_of_line.items() if line not in lines)
    assert written + lost == Counter(up=raw.up, sideways=raw.sideways, down=raw.down)
    assert written["up"] == result.events_by_kind["escalated"]
    # the written events carry the source team
    assert all("team" in e.data for e in events)
    assert list(verify_store(store)) == []


@pytest.fixture(scope="module")
def incidents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ReplayResult,
                                                                          SqliteStore]]:
    path = need(INCIDENTS)
    store = SqliteStore(tmp_path_factory.mktemp("bpic") / "incidents.db")
    yield replay_csv(path, BPIC2013_INCIDENTS, store), store
    store.close()


def test_incident_figures_match_independent_counts(
        incidents: tuple[ReplayResult, SqliteStore]) -> None:
    result, store = incidents
    check_against_raw(result, count_raw(INCIDENTS, BPIC2013_INCIDENTS), store)


def test_incident_figures_match_source_md(incidents: tuple[ReplayResult, SqliteStore]) -> None:
    result, _ = incidents
    assert (result.rows, result.cases) == (65_533, 7_554)
    assert (result.moves_up, result.moves_down, result.moves_sideways) == (3_245, 1_755, 4_454)
    assert result.ping_pong_cases == 1_177
    # 1,688 name+country pairs in SOURCE.md, less the Siebel system account and the "-" owner
    assert result.owners == 1_686
    assert result.statuses["Accepted/In Progress"] == 30_239
    assert result.statuses["Completed/Closed"] == 5_716


def test_incident_trail_reads_as_the_log(incidents: tuple[ReplayResult, SqliteStore]) -> None:
    _, store = incidents
    first = store.events("1-364285768")
    assert [e.kind.value for e in first[:5]] == ["opened", "claimed", "noted", "escalated",
                                                 "claimed"]
    assert first[3].data == {"line": 4, "team": "V5 3rd", "team_before": "V30",
                             "direction": "up"}
    assert first[3].tier_after == "3rd line" and first[3].actor == "Frederic@France"
    assert first[0].at.isoformat() == "2010-03-31T14:59:42+00:00"
    case = store.get("1-364285768")
    assert case.status == "closed" and case.priority == "medium"
    assert case.fields["Product"] == "PROD582"
    closing = first[-1]
    assert closing.kind == "closed" and closing.actor is None  # Siebel is not a person


def test_rows_of_reclosed_incidents_are_refused_and_listed(
        incidents: tuple[ReplayResult, SqliteStore]) -> None:
    result, _ = incidents
    raw_reopened = set()
    closed: set[str] = set()
    for _, row in raw_rows(INCIDENTS, BPIC2013_INCIDENTS):
        case_id = row["SR Number"]
        if case_id in closed:
            raw_reopened.add(case_id)
        if (row["Status"], row["Sub Status"]) in (("Completed", "Closed"),
                                                  ("Completed", "Cancelled")):
            closed.add(case_id)
    assert result.refused_cases == len(raw_reopened)
    assert len(result.refused_rows) == 100 and result.refused > 100
    assert all("closed" in p.reason for p in result.refused_rows)


@pytest.mark.parametrize(("name", "mapping", "figures"), [
    ("vinst_closed_problems.csv", BPIC2013_PROBLEMS_CLOSED,
     {"rows": 6_660, "cases": 1_487, "moves_up": 174, "moves_down": 154,
      "moves_sideways": 327, "ping_pong_cases": 107}),
    ("vinst_open_problems.csv", BPIC2013_PROBLEMS_OPEN,
     {"rows": 2_351, "cases": 819, "moves_up": 59, "moves_down": 36,
      "moves_sideways": 126, "ping_pong_cases": 31}),
])
def test_problem_logs(tmp_path: Path, name: str, mapping: ReplayMapping,
                      figures: dict[str, Any]) -> None:
    path = need(PROBLEMS / name)
    store = SqliteStore(tmp_path / "problems.db")
    result = replay_csv(path, mapping, store)
    check_against_raw(result, count_raw(path, mapping), store)
    assert {key: getattr(result, key) for key in figures} == figures
    store.close()
