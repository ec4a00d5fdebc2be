"""Property: a random snapshot-style log, shuffled and replayed with `sort = true`, gives a
store whose every reported figure equals a count made here from the rows alone."""

from __future__ import annotations

import csv
import itertools
import random
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from escalate.replay import ReplayMapping, replay_csv
from escalate.replay.figures import team_figures
from escalate.report import build_report
from escalate.stores.memory import MemoryStore
from escalate.verify import verify_store

STATUSES = ("New", "Active", "Resolved")
OWNERS = ("ana", "bo", "?")
TEAMS = ("T1", "T2", "T3", "?")
LEVEL = {"T1": 0, "T2": 0, "T3": 1}

MAPPING = ReplayMapping.from_dict({
    "case_id": "case", "timestamp": "at", "status": "status", "owner": "owner",
    "team": "team", "mode": "snapshot", "sort": True, "sort_chunk_rows": 7,
    "missing": [""], "missing_in": {"owner": ["?"], "team": ["?"]},
    "status_map": {"New": "return", "Active": "claim", "Resolved": "resolve"},
    "tiers": ["frontline", "specialists"],
    "team_tiers": {"T1": "frontline", "T2": "frontline", "T3": "specialists"},
    "timezone": "UTC", "timestamp_format": "%Y-%m-%d %H:%M",
})

row_values = st.tuples(st.sampled_from(STATUSES), st.sampled_from(OWNERS),
                       st.sampled_from(TEAMS))
case_rows = st.tuples(st.sampled_from(("T1", "T2", "T3")),  # the opening row has a team
                      st.lists(row_values, min_size=1, max_size=8))


def collapse(values: list[str]) -> list[str]:
    return [v for i, v in enumerate(values) if i == 0 or values[i - 1] != v]


def has_return(values: list[str]) -> bool:
    path = collapse(values)
    return any(path[i] == path[i + 2] for i in range(len(path) - 2))


def independent_counts(cases: dict[str, list[tuple[str, str, str]]]) -> dict[str, Any]:
    """The figures, from the rows in time order, with no escalate code."""
    resolved: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for rows in cases.values():
        teams = [team for _, _, team in rows if team != "?"]
        owners = [owner for _, owner, _ in rows if owner != "?"]
        counts["team_ping_pong"] += has_return(teams)
        counts["owner_ping_pong"] += has_return(owners)
        counts["owner_changes"] += len(collapse(owners)) - 1 if owners else 0
        previous_status, team = None, None
        for status, owner, row_team in rows:
            repeated = status == previous_status
            if status == "Resolved" and not repeated and owner != "?":
                resolved[owner] += 1
            if previous_status == "Resolved" and status != "Resolved":
                counts["reopened"] += 1
            if row_team != "?" and team is not None and row_team != team:
                up = LEVEL[row_team] > LEVEL[team]
                direction = "up" if up else "down" if LEVEL[row_team] < LEVEL[team] \
                    else "sideways"
                counts[f"moves_{direction}"] += 1
                if not (previous_status == "Resolved" and status == "Resolved"):
                    counts["escalated" if up else f"handed_{direction}"] += 1
            team = row_team if row_team != "?" else team
            previous_status = status
    return {"resolved": dict(resolved), **counts}


@settings(max_examples=60, deadline=None)
@given(st.lists(case_rows, min_size=1, max_size=6), st.randoms(use_true_random=False))
def test_replayed_figures_equal_counts_of_the_rows(logs: list[Any],
                                                   shuffler: random.Random) -> None:
    cases: dict[str, list[tuple[str, str, str]]] = {}
    lines: list[list[str]] = []
    for number, (first_team, rows) in enumerate(logs):
        case_id = f"C{number}"
        rows = [(rows[0][0], rows[0][1], first_team), *rows[1:]]
        cases[case_id] = rows
        for minute, (status, owner, team) in enumerate(rows):
            lines.append([case_id, f"2024-03-04 09:{minute:02d}", status, owner, team])
    shuffler.shuffle(lines)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.csv"
        with path.open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(["case", "at", "status", "owner", "team"])
            writer.writerows(lines)
        store = MemoryStore()
        result = replay_csv(path, MAPPING, store)
    assert list(verify_store(store)) == []
    expected = independent_counts(cases)
    events = list(store.all_events())
    report = build_report(events, policy=result.policy)
    assert result.refused == result.malformed == 0
    assert {a.agent: a.resolved for a in report.agents if a.resolved} == expected["resolved"]
    assert report.totals.reopened == expected.get("reopened", 0)
    assert report.totals.escalated == expected.get("escalated", 0)
    handed = Counter(e.data["direction"] for e in events
                     if e.kind.value == "transferred" and "direction" in e.data)
    assert handed == Counter({d: expected[f"handed_{d}"] for d in ("sideways", "down")
                              if expected.get(f"handed_{d}")})
    assert (result.moves_up, result.moves_sideways, result.moves_down) == tuple(
        expected.get(f"moves_{d}", 0) for d in ("up", "sideways", "down"))
    assert result.team_ping_pong_cases == expected.get("team_ping_pong", 0)
    assert result.owner_ping_pong_cases == expected.get("owner_ping_pong", 0)
    assert result.owner_changes == expected.get("owner_changes", 0)
    stored = team_figures(itertools.chain.from_iterable(store.events(c) for c in cases))
    assert stored.team_moves == sum(expected.get(f"moves_{d}", 0)
                                    for d in ("up", "sideways", "down"))
    assert stored.team_ping_pong_cases == expected.get("team_ping_pong", 0)
