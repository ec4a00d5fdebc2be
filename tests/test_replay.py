"""Replay of small CSV logs written here, one convention at a time."""

from __future__ import annotations

import csv
import itertools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalate import ConfigError, Event, Ladder, Policy, Tier
from escalate.replay import ReplayMapping, ReplayResult, replay_csv, replay_policy
from escalate.stores.memory import MemoryStore
from escalate.stores.sqlite import SqliteStore
from escalate.verify import verify_store

HEADER = ["id", "when", "status", "agent", "team", "seq"]

STATUS_MAP = {
    "New": "return", "Working": "claim", "Assigned": "assign", "Pending": "wait",
    "Solved": "resolve", "Closed": "close", "Comment": "note",
}
TEAM_TIERS = {"Desk": "1st line", "Desk B": "1st line", "Network": "2nd line",
              "Vendor": "3rd line"}


def mapping(**overrides: Any) -> ReplayMapping:
    values: dict[str, Any] = {
        "case_id": "id", "timestamp": "when", "status": "status", "owner": "agent",
        "team": "team", "status_map": STATUS_MAP, "team_tiers": TEAM_TIERS,
        "missing": ["", "?"], "system_accounts": ["robot"], "tiebreak": "seq",
    }
    values.update(overrides)
    return ReplayMapping.from_dict({k: v for k, v in values.items() if v is not None})


def write(path: Path, rows: list[list[str]], header: list[str] = HEADER,
          delimiter: str = ",", encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as file:
        writer = csv.writer(file, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def replay(tmp_path: Path, rows: list[list[str]], *, store: Any = None,
           **overrides: Any) -> tuple[ReplayResult, Any]:
    store = store if store is not None else MemoryStore()
    result = replay_csv(write(tmp_path / "log.csv", rows), mapping(**overrides), store)
    assert list(verify_store(store)) == []
    return result, store


def kinds(store: Any, case_id: str) -> list[str]:
    return [e.kind.value for e in store.events(case_id)]


def history(store: Any, case_id: str) -> list[Event]:
    return list(store.events(case_id))


# -- the basic walk --------------------------------------------------------------------------

def test_a_case_walks_its_rows_into_legal_events(tmp_path: Path) -> None:
    result, store = replay(tmp_path, [
        ["C1", "2024-03-04T09:00:00+01:00", "New", "ana", "Desk", "0"],
        ["C1", "2024-03-04T09:05:00+01:00", "Working", "ana", "Desk", "1"],
        ["C1", "2024-03-04T09:30:00+01:00", "Pending", "ana", "Desk", "2"],
        ["C1", "2024-03-04T11:00:00+01:00", "Working", "ana", "Desk", "3"],
        ["C1", "2024-03-04T12:00:00+01:00", "New", "ana", "Network", "4"],
        ["C1", "2024-03-04T13:00:00+01:00", "Working", "bo", "Network", "5"],
        ["C1", "2024-03-04T14:00:00+01:00", "Solved", "bo", "Network", "6"],
        ["C1", "2024-03-05T14:00:00+01:00", "Closed", "robot", "Network", "7"],
    ])
    assert kinds(store, "C1") == ["opened", "claimed", "waited", "resumed", "escalated",
                                  "claimed", "resolved", "closed"]
    events = history(store, "C1")
    assert events[0].at == utc("2024-03-04T08:00:00")
    assert all(e.at.tzinfo is not None and e.at.utcoffset().total_seconds() == 0
               for e in events)
    assert events[4].tier_after == "2nd line" and events[4].data["team"] == "Network"
    assert events[4].data["team_before"] == "Desk" and events[4].data["direction"] == "up"
    assert events[-1].actor is None  # robot is a system account
    case = store.get("C1")
    assert case.status == "closed" and case.owner.name == "bo" and case.tier == "2nd line"
    assert (result.rows, result.cases, result.events) == (8, 1, 8)
    assert (result.moves_up, result.moves_sideways, result.moves_down) == (1, 0, 0)
    assert result.owners == 2
    assert result.malformed == result.unknown_statuses == result.refused == 0


def test_team_to_tier_mapping_gives_up_sideways_and_down_moves(tmp_path: Path) -> None:
    result, store = replay(tmp_path, [
        ["C1", "2024-03-04T09:00:00Z", "Working", "ana", "Desk", "0"],
        ["C1", "2024-03-04T10:00:00Z", "New", "ana", "Desk B", "1"],      # sideways
        ["C1", "2024-03-04T11:00:00Z", "New", "cy", "Vendor", "2"],       # up two tiers
        ["C1", "2024-03-04T12:00:00Z", "New", "cy", "Network", "3"],      # down
        ["C1", "2024-03-04T13:00:00Z", "New", "dee", "Vendor", "4"],      # up: ping-pong
    ])
    events = history(store, "C1")
    moves = [(e.kind.value, e.tier_after, e.data.get("direction")) for e in events
             if "direction" in e.data]
    assert moves == [("transferred", "1st line", "sideways"),
                     ("escalated", "3rd line", "up"),
                     ("transferred", "2nd line", "down"),
                     ("escalated", "3rd line", "up")]
    assert (result.moves_up, result.moves_sideways, result.moves_down) == (2, 1, 1)
    assert result.ping_pong_cases == 1  # Vendor -> Network -> Vendor
    assert store.get("C1").owner.name == "3rd line"  # a queued row leaves it in the queue


def test_suffix_rule_reads_the_tier_from_the_team_name(tmp_path: Path) -> None:
    result, store = replay(tmp_path, [
        ["C1", "2024-03-04T09:00:00Z", "Working", "ana", "V30", "0"],
        ["C1", "2024-03-04T10:00:00Z", "New", "ana", "V5 3rd", "1"],
        ["C1", "2024-03-04T11:00:00Z", "New", "cy", "V13 2nd", "2"],
    ], team_tiers={}, tier_suffixes={" 2nd": 2, " 3rd": 3})
    assert [e.tier_after for e in history(store, "C1")][-2:] == ["3rd line", "2nd line"]
    assert (result.moves_up, result.moves_down) == (1, 1)


def test_unknown_team_is_malformed_unless_a_default_tier_is_set(tmp_path: Path) -> None:
    rows = [["C1", "2024-03-04T09:00:00Z", "Working", "ana", "Desk", "0"],
            ["C1", "2024-03-04T10:00:00Z", "New", "ana", "Mystery", "1"]]
    result, _ = replay(tmp_path, rows)
    assert result.malformed == 1 and result.malformed_rows[0].line == 3
    assert "Mystery" in result.malformed_rows[0].reason
    result, store = replay(tmp_path, rows, default_tier="2nd line")
    assert result.malformed == 0 and store.get("C1").tier == "2nd line"


def test_owner_change_in_the_same_team_is_a_transfer(tmp_path: Path) -> None:
    _, store = replay(tmp_path, [
        ["C1", "2024-03-04T09:00:00Z", "Working", "ana", "Desk", "0"],
        ["C1", "2024-03-04T10:00:00Z", "Working", "bo", "Desk", "1"],
        ["C1", "2024-03-04T11:00:00Z", "Pending", "bo", "Desk", "2"],
        ["C1", "2024-03-04T12:00:00Z", "Pending", "cy", "Desk", "3"],
    ])
    assert kinds(store, "C1") == ["opened", "claimed", "transferred", "claimed", "waited",
                                  "transferred"]
    assert store.get("C1").owner.name == "cy" and store.get("C1").status == "waiting"
    assert all("direction" not in e.data for e in history(store, "C1"))


def test_owner_key_from_several_columns(tmp_path: Path) -> None:
    header = ["id", "when", "status", "first", "country", "team", "seq"]
    path = write(tmp_path / "log.csv", [
        ["C1", "2024-03-04T09:00:00Z", "Working", "Anne", "France", "Desk", "0"],
        ["C1", "2024-03-04T10:00:00Z", "Working", "Anne", "Sweden", "Desk", "1"],
        ["C1", "2024-03-04T11:00:00Z", "Working", "Anne", "?", "Desk", "2"],
    ], header=header)
    store = MemoryStore()
    result = replay_csv(path, mapping(owner=["first", "country"]), store)
    owners = [e.owner_after.name for e in history(store, "C1")]
    assert owners[1] == "Anne@France" and "Anne@Sweden" in owners and owners[-1] == "Anne"
    assert result.owners == 3


def test_resolved_case_that_becomes_active_again_is_reopened_then_claimed(
        tmp_path: Path) -> None:
    result, store = replay(tmp_path, [
        ["C1", "2024-03-04T09:00:00Z", "Working", "ana", "Desk", "0"],
        ["C1", "2024-03-04T10:00:00Z", "Solved", "ana", "Desk", "1"],
        ["C1", "2024-03-04T11:00:00Z", "Working", "ana", "Desk", "2"],
        ["C1", "2024-03-04T12:00:00Z", "Solved", "ana", "Desk", "3"],
        ["C1", "2024-03-04T13:00:00Z", "New", "ana", "Network", "4"],
    ])
    assert kinds(store, "C1") == ["opened", "claimed", "resolved", "reopened", "claimed",
                                  "resolved", "reopened", "escalated"]
    reopened = [e for e in history(store, "C1") if e.kind == "reopened"][-1]
    assert reopened.data["team"] == "Desk"  # the bridge happens before the move
    assert result.refused == 0


def test_rows_after_closure_are_refused_with_their_lines(tmp_path: Path) -> None:
    result, store = replay(tmp_path, [
        ["C1", "2024-03-04T09:00:00Z", "Working", "ana", "Desk", "0"],
        ["C1", "2024-03-04T10:00:00Z", "Closed", "ana", "Desk", "1"],
        ["C1", "2024-03-04T11:00:00Z", "Working", "bo", "Network", "2"],
        ["C2", "2024-03-04T11:30:00Z", "Working", "ana", "Desk", "0"],
        ["C1", "2024-03-04T12:00:00Z", "Closed", "bo", "Network", "3"],
    ])
    assert kinds(store, "C1") == ["opened", "claimed", "resolved", "closed"]
    assert result.refused == 2 and result.refused_cases == 1
    assert [p.line for p in result.refused_rows] == [4, 6]
    assert "closed" in result.refused_rows[0].reason
    assert result.moves_up == 1  # the source rows still show the move


def test_same_case_id_already_stored_is_refused_not_duplicated(tmp_path: Path) -> None:
    rows = [["C1", "2024-03-04T09:00:00Z", "Working", "ana", "Desk", "0"],
            ["C1", "2024-03-04T10:00:00Z", "Solved", "ana", "Desk", "1"]]
    first, store = replay(tmp_path, rows)
    again, _ = replay(tmp_path, rows, store=store)
    assert first.events == 3 and again.events == 0 and again.cases == 0
    assert again.refused == 2 and "already in the store" in again.refused_rows[0].reason
    assert len(store.events("C1")) == 3


# -- time conventions ------------------------------------------------------------------------

def test_day_first_minutes_without_zone_in_a_configured_zone_across_dst(
        tmp_path: Path) -> None:
    # Europe/Bucharest moves from +02:00 to +03:00 at 03:00 local on 31 March 2024,
    # and back at 04:00 local on 27 October 2024 (03:00-04:00 happens twice).
    result, store = replay(tmp_path, [
        ["C1", "30/03/2024 23:15", "Working", "ana", "Desk", "0"],
        ["C1", "31/03/2024 02:59", "Pending", "ana", "Desk", "1"],
        ["C1", "31/03/2024 04:00", "Working", "ana", "Desk", "2"],
        ["C1", "01/04/2024 09:30", "Solved", "ana", "Desk", "3"],
        ["C2", "27/10/2024 02:30", "Working", "bo", "Desk", "0"],
        ["C2", "27/10/2024 03:30", "Pending", "bo", "Desk", "1"],
        ["C2", "27/10/2024 04:30", "Working", "bo", "Desk", "2"],
    ], timestamp_format="%d/%m/%Y %H:%M", timezone="Europe/Bucharest")
    assert result.malformed == 0
    c1 = [e.at for e in history(store, "C1")]
    assert c1[0] == utc("2024-03-30T21:15:00")
    assert c1[2] == utc("2024-03-31T00:59:00")   # +02:00 before the change
    assert c1[3] == utc("2024-03-31T01:00:00")   # +03:00 after: one minute later
    assert c1[4] == utc("2024-04-01T06:30:00")
    c2 = [e.at for e in history(store, "C2")]
    assert c2[0] == utc("2024-10-26T23:30:00")   # summer time, +03:00
    assert c2[2] == utc("2024-10-27T00:30:00")   # ambiguous hour: first occurrence
    assert c2[3] == utc("2024-10-27T02:30:00")   # +02:00 after the change


def test_iso_times_keep_their_instant_whatever_the_offset(tmp_path: Path) -> None:
    _, store = replay(tmp_path, [
        ["C1", "2010-03-31T15:59:42+01:00", "Working", "ana", "Desk", "0"],
        ["C2", "2010-03-31T16:59:42+02:00", "Working", "ana", "Desk", "0"],
    ])
    assert store.get("C1").opened_at == store.get("C2").opened_at == utc("2010-03-31T14:59:42")


def test_iso_time_without_offset_needs_a_timezone(tmp_path: Path) -> None:
    rows = [["C1", "2024-03-04T09:00:00", "Working", "ana", "Desk", "0"]]
    store = MemoryStore()
    with pytest.raises(ConfigError, match="timezone"):  # before anything is written
        replay(tmp_path, rows, store=store)
    assert list(store.case_ids()) == []
    result, store = replay(tmp_path, rows, timezone="Europe/Brussels")
    assert result.malformed == 0 and store.get("C1").opened_at == utc("2024-03-04T08:00:00")


def test_same_timestamp_rows_follow_the_tiebreak_column(tmp_path: Path) -> None:
    at = "2024-03-04T09:00:00Z"
    result, store = replay(tmp_path, [
        ["C1", at, "Solved", "ana", "Desk", "2"],
        ["C2", at, "Working", "bo", "Desk", "0"],
        ["C1", at, "New", "ana", "Desk", "0"],
        ["C1", at, "Working", "ana", "Desk", "1"],
        ["C1", "2024-03-04T10:00:00Z", "Closed", "robot", "Desk", "10"],
        ["C1", "2024-03-04T09:30:00Z", "Comment", "ana", "Desk", "9"],
    ])
    # C1's 09:00 rows wait for their tie-break; the 09:30 row, listed after the 10:00
    # one, is out of time order: refused, with the advice to sort
    assert [e.data["line"] for e in history(store, "C1")] == [4, 5, 2, 6]
    assert kinds(store, "C1") == ["opened", "claimed", "resolved", "closed"]
    assert kinds(store, "C2") == ["opened", "claimed"]
    assert result.refused == 1 and result.refused_rows[0].line == 7
    assert "add `sort = true`" in result.refused_rows[0].reason


def test_sort_true_takes_rows_in_time_then_tiebreak_order(tmp_path: Path) -> None:
    at = "2024-03-04T09:00:00Z"
    rows = [
        ["C1", at, "Solved", "ana", "Desk", "2"],
        ["C2", at, "Working", "bo", "Desk", "0"],
        ["C1", at, "New", "ana", "Desk", "0"],
        ["C1", at, "Working", "ana", "Desk", "1"],
        ["C1", "2024-03-04T10:00:00Z", "Closed", "robot", "Desk", "10"],
        ["C1", "2024-03-04T09:30:00Z", "Comment", "ana", "Desk", "9"],
    ]
    for chunk in (100, 2):  # in memory, and spilled to temporary files two rows at a time
        store = MemoryStore()
        result, _ = replay(tmp_path, rows, store=store, sort=True, sort_chunk_rows=chunk)
        assert [e.data["line"] for e in history(store, "C1")] == [4, 5, 2, 7, 6]
        assert kinds(store, "C1") == ["opened", "claimed", "resolved", "noted", "closed"]
        assert result.refused == 0


def test_a_row_dated_before_the_case_previous_row_is_refused(tmp_path: Path) -> None:
    result, store = replay(tmp_path, [
        ["C1", "2024-03-04T10:00:00Z", "Working", "ana", "Desk", "0"],
        ["C2", "2024-03-04T10:30:00Z", "Working", "bo", "Desk", "0"],
        ["C1", "2024-03-04T09:00:00Z", "Pending", "ana", "Desk", "1"],
    ], tiebreak=None)
    assert result.refused == 1 and result.refused_rows[0].line == 4
    assert "before the case's previous row" in result.refused_rows[0].reason
    assert kinds(store, "C1") == ["opened", "claimed"]


# -- missing values, system accounts, snapshots ----------------------------------------------

def test_question_mark_is_missing(tmp_path: Path) -> None:
    header = [*HEADER, "priority"]
    path = write(tmp_path / "log.csv", [
        ["C1", "2024-03-04T09:00:00Z", "Working", "ana", "Network", "0", "?"],
        ["C1", "2024-03-04T10:00:00Z", "Pending", "?", "?", "1", "?"],
        ["C1", "2024-03-04T11:00:00Z", "Working", "?", "Network", "2", "?"],
    ], header=header)
    store = MemoryStore()
    result = replay_csv(path, mapping(priority="priority"), store)
    assert list(verify_store(store)) == []
    events = history(store, "C1")
    assert [e.kind.value for e in events] == ["opened", "claimed", "waited", "resumed"]
    assert events[2].actor is None and events[2].owner_after.name == "ana"
    assert events[2].tier_after == "2nd line" and events[2].data["team"] == "Network"
    case = store.get("C1")
    assert case.priority == "normal" and case.owner.name == "ana" and case.tier == "2nd line"
    assert result.moves_up == result.moves_down == result.moves_sideways == 0
    assert result.owners == 1


def test_system_accounts_act_as_nobody_and_own_nothing(tmp_path: Path) -> None:
    result, store = replay(tmp_path, [
        ["C1", "2024-03-04T09:00:00Z", "Working", "ana", "Desk", "0"],
        ["C1", "2024-03-04T10:00:00Z", "Solved", "ana", "Desk", "1"],
        ["C1", "2024-03-04T11:00:00Z", "Closed", "robot", "Desk", "2"],
        ["C2", "2024-03-04T11:00:00Z", "Working", "robot", "Desk", "0"],
    ])
    closed = history(store, "C1")[-1]
    assert closed.kind == "closed" and closed.actor is None and closed.owner_after.name == "ana"
    c2 = history(store, "C2")
    assert all(e.actor is None for e in c2) and store.get("C2").owner.name == "1st line"
    assert result.owners == 1


def test_snapshot_resolved_at_takes_effect_only_when_it_happens(tmp_path: Path) -> None:
    header = [*HEADER, "resolved"]
    final = "2024-03-04T11:00:00Z"
    path = write(tmp_path / "log.csv", [
        # every row carries the final resolution time, also the rows before it
        ["C1", "2024-03-04T09:00:00Z", "New", "ana", "Desk", "0", final],
        ["C1", "2024-03-04T10:00:00Z", "Working", "ana", "Desk", "1", final],
        ["C1", "2024-03-04T12:00:00Z", "Closed", "robot", "Desk", "2", final],
        # resolved after the last row of the export
        ["C2", "2024-03-04T09:00:00Z", "Working", "bo", "Desk", "0", "2024-03-06T08:00:00Z"],
        ["C2", "2024-03-04T10:00:00Z", "Comment", "bo", "Desk", "1", "2024-03-06T08:00:00Z"],
        # the value appears only on a later row, dated before that row
        ["C3", "2024-03-04T09:00:00Z", "Working", "cy", "Desk", "0", "?"],
        ["C3", "2024-03-04T10:00:00Z", "Working", "cy", "Desk", "1", "?"],
        ["C3", "2024-03-04T13:00:00Z", "Comment", "cy", "Desk", "2", "2024-03-04T09:30:00Z"],
    ], header=header)
    store = MemoryStore()
    result = replay_csv(path, mapping(snapshot_fields={"resolved_at": "resolved"}), store)
    assert list(verify_store(store)) == []
    c1 = history(store, "C1")
    assert [e.kind.value for e in c1] == ["opened", "claimed", "resolved", "closed"]
    resolved = c1[2]
    assert resolved.at == utc("2024-03-04T11:00:00") and resolved.data["snapshot"] == "resolved_at"
    assert resolved.actor is None  # the export says when, not who
    resolved_from = {"C1": utc("2024-03-04T11:00:00"), "C2": utc("2024-03-06T08:00:00"),
                     "C3": utc("2024-03-04T10:00:00")}
    for case_id, moment in resolved_from.items():
        assert all(e.at >= moment for e in history(store, case_id)
                   if e.status_after == "resolved"), case_id
    c2 = history(store, "C2")
    assert [e.kind.value for e in c2] == ["opened", "claimed", "noted", "resolved"]
    assert c2[-1].at == utc("2024-03-06T08:00:00")
    c3 = history(store, "C3")
    # first seen on the 13:00 row: it cannot be dated before the case's previous event
    assert [e.kind.value for e in c3] == ["opened", "claimed", "noted", "resolved", "noted"]
    assert c3[3].at == utc("2024-03-04T10:00:00")
    assert result.refused == 0


# -- problems reported by line -----------------------------------------------------------------

def test_unknown_statuses_and_malformed_rows_are_reported_with_line_numbers(
        tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        "id,when,status,agent,team,seq\n"                            # line 1
        "C1,2024-03-04T09:00:00Z,Working,ana,Desk,0\n"               # 2
        "C1,2024-03-04T10:00:00Z,Escalated to Mars,ana,Desk,1\n"     # 3 unknown status
        "C1,not a time,Working,ana,Desk,2\n"                         # 4 bad time
        "C1,2024-03-04T11:00:00Z,Working,ana\n"                      # 5 too few fields
        ",2024-03-04T11:00:00Z,Working,ana,Desk,3\n"                 # 6 no case id
        "C1,2024-03-04T12:00:00Z,Comment,\"ana\nand bo\",Desk,4\n"   # 7-8 one record
        "C1,2024-03-04T13:00:00Z,?,ana,Desk,5\n"                     # 9 no status
        "C1,2024-03-04T14:00:00Z,Paused,ana,Desk,6\n",               # 10 unknown status
        encoding="utf-8")
    store = MemoryStore()
    result = replay_csv(path, mapping(), store)
    assert result.rows == 8
    assert result.unknown_statuses == 2
    assert [(p.line, p.value) for p in result.unknown_status_rows] == [
        (3, "Escalated to Mars"), (10, "Paused")]
    assert result.malformed == 4
    assert [p.line for p in result.malformed_rows] == [4, 5, 6, 9]
    assert "not a time" in result.malformed_rows[0].reason
    assert "4 fields" in result.malformed_rows[1].reason
    assert kinds(store, "C1") == ["opened", "claimed", "noted"]
    assert history(store, "C1")[-1].data["line"] == 7
    text = result.summary()
    assert "line 3: unknown status 'Escalated to Mars'" in text and "line 9" in text
    data = result.to_dict()
    assert data["unknown_statuses"]["count"] == 2 and data["malformed"]["rows"][0]["line"] == 4


def test_problem_lists_keep_the_first_hundred_and_count_all(tmp_path: Path) -> None:
    rows = [["C1", "2024-03-04T09:00:00Z", "Working", "ana", "Desk", "0"]]
    rows += [["C1", f"2024-03-04T10:{i // 60:02d}:{i % 60:02d}Z", "Nope", "ana", "Desk", str(i)]
             for i in range(150)]
    result, _ = replay(tmp_path, rows)
    assert result.unknown_statuses == 150 and len(result.unknown_status_rows) == 100
    assert result.unknown_status_rows[0].line == 3
    assert "lines 3-102: unknown status 'Nope'" in result.summary()


# -- bad mappings -------------------------------------------------------------------------------

def test_a_column_the_file_lacks_is_a_config_error_before_anything_is_written(
        tmp_path: Path) -> None:
    path = write(tmp_path / "log.csv", [
        ["C1", "2024-03-04T09:00:00Z", "Working", "ana", "Desk", "0"]])
    for store in (MemoryStore(), SqliteStore(tmp_path / "cases.db")):
        with pytest.raises(ConfigError) as info:
            replay_csv(path, mapping(team="Group"), store)
        assert info.value.path == "team" and "'Group'" in str(info.value)
        assert list(store.case_ids()) == []


def test_wrong_delimiter_says_so(tmp_path: Path) -> None:
    path = write(tmp_path / "log.csv", [
        ["C1", "2024-03-04T09:00:00Z", "Working", "ana", "Desk", "0"]], delimiter=";")
    store = MemoryStore()
    with pytest.raises(ConfigError, match="delimiter"):
        replay_csv(path, mapping(), store)
    assert list(store.case_ids()) == []


def test_wrong_encoding_is_found_before_anything_is_written(tmp_path: Path) -> None:
    path = write(tmp_path / "log.csv", [
        ["C1", "2024-03-04T09:00:00Z", "Working", "ana", "Desk", "0"],
        ["C2", "2024-03-04T09:00:00Z", "Working", "Åse", "Desk", "0"]], encoding="iso-8859-1")
    store = MemoryStore()
    with pytest.raises(ConfigError) as info:
        replay_csv(path, mapping(), store)
    assert info.value.path == "encoding"
    assert list(store.case_ids()) == []
    result = replay_csv(path, mapping(encoding="iso-8859-1"), store)
    assert store.get("C2").owner.name == "Åse" and result.cases == 2


@pytest.mark.parametrize(("data", "path"), [
    ({"case_id": "id", "timestamp": "t", "status": "s", "owner": "o", "status_map": {},
      "colour": "red"}, "colour"),
    ({"timestamp": "t", "status": "s", "owner": "o", "status_map": {"A": "claim"}}, "case_id"),
    ({"case_id": "id", "timestamp": "t", "status": "s", "owner": "o",
      "status_map": {"A": "fly"}}, "status_map.A"),
    ({"case_id": "id", "timestamp": "t", "status": "s", "owner": "o",
      "status_map": {"A": "warn"}}, "status_map.A"),
    ({"case_id": "id", "timestamp": "t", "status": "s", "owner": "o",
      "status_map": {"A": "claim"}, "tier_suffixes": {" 4th": 4}}, "tier_suffixes. 4th"),
    ({"case_id": "id", "timestamp": "t", "status": "s", "owner": "o",
      "status_map": {"A": "claim"}, "team_tiers": {"X": "top"}}, "team_tiers.X"),
    ({"case_id": "id", "timestamp": "t", "status": "s", "owner": "o",
      "status_map": {"A": "claim"}, "timezone": "Mars/Olympus"}, "timezone"),
    ({"case_id": "id", "timestamp": "t", "status": "s", "owner": "o",
      "status_map": {"A": "claim"}, "timestamp_format": "dd/mm/yyyy"}, "timestamp_format"),
    ({"case_id": "id", "timestamp": "t", "status": "s", "owner": "o",
      "status_map": {"A": "claim"}, "encoding": "klingon"}, "encoding"),
    ({"case_id": "id", "timestamp": "t", "status": "s", "owner": "o",
      "status_map": {"A": "claim"}, "delimiter": ";;"}, "delimiter"),
    ({"case_id": "id", "timestamp": "t", "status": "s", "owner": 3,
      "status_map": {"A": "claim"}}, "owner"),
    ({"case_id": "id", "timestamp": "t", "status": "s", "owner": "o",
      "status_map": {"A": "claim"}, "snapshot_fields": {"opened_at": "x"}},
     "snapshot_fields.opened_at"),
])
def test_bad_mapping_keys_are_named(data: dict[str, Any], path: str) -> None:
    with pytest.raises(ConfigError) as info:
        ReplayMapping.from_dict(data)
    assert info.value.path == path


def test_a_mapping_built_in_code_is_checked_too() -> None:
    with pytest.raises(ConfigError) as info:
        ReplayMapping(case_id="id", timestamp="t", status="s", owner="o",
                      status_map={"A": "fly"})
    assert info.value.path == "status_map.A"
    with pytest.raises(ConfigError) as info:
        ReplayMapping(case_id="id", timestamp="t", status="s", owner="o",
                      status_map={"A": "claim"}, tiers=["one", "one"])
    assert info.value.path == "tiers"


def test_mapping_from_toml_and_back(tmp_path: Path) -> None:
    file = tmp_path / "mapping.toml"
    file.write_text('''
case_id = "Ticket"
timestamp = "Changed"
status = ["State", "Sub state"]
owner = ["First name", "Country"]
team = "Group"
timestamp_format = "%d/%m/%Y %H:%M"
timezone = "Europe/Brussels"
missing = ["?", ""]
system_accounts = ["Siebel"]
tiers = ["front", "back"]

[team_tiers]
"Service Desk" = "front"
"Network" = "back"

[status_map]
"New/Open" = "return"
"Work/Busy" = "claim"
''', encoding="utf-8")
    loaded = ReplayMapping.from_toml(file)
    assert loaded.status == ("State", "Sub state") and loaded.tier_of("Network") == "back"
    assert ReplayMapping.from_dict(loaded.to_dict()) == loaded
    file.write_text("case_id = ", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        ReplayMapping.from_toml(file)


# -- policy, stores, progress ----------------------------------------------------------------

def test_the_replay_policy_has_the_tiers_and_the_owners_seen_in_them(tmp_path: Path) -> None:
    result, _ = replay(tmp_path, [
        ["C1", "2024-03-04T09:00:00Z", "Working", "ana", "Desk", "0"],
        ["C1", "2024-03-04T10:00:00Z", "Working", "cy", "Network", "1"],
    ])
    ladder = result.policy.ladders["support"]
    assert [t.name for t in ladder.tiers] == ["1st line", "2nd line", "3rd line"]
    assert ladder.tiers[0].members == ("ana",) and ladder.tiers[1].members == ("cy",)
    assert ladder.tiers[2].members == () and ladder.tiers[2].lead == "lead"
    assert replay_policy(mapping()).ladders["support"].tiers[0].members == ()


def test_a_given_policy_must_hold_the_mapping_tiers(tmp_path: Path) -> None:
    path = write(tmp_path / "log.csv", [
        ["C1", "2024-03-04T09:00:00Z", "Working", "ana", "Desk", "0"]])
    tiers = [Tier("1st line", lead="x"), Tier("2nd line", lead="x"), Tier("3rd line", lead="x")]
    good = Policy(ladders={"vinst": Ladder("vinst", tiers)})
    store = MemoryStore()
    result = replay_csv(path, mapping(), store, policy=good)
    assert result.policy is good and store.get("C1").ladder == "vinst"
    bad = Policy(ladders={"other": Ladder("other", [Tier("front", lead="x")])})
    empty = MemoryStore()
    with pytest.raises(ConfigError, match="tiers"):
        replay_csv(path, mapping(), empty, policy=bad)
    assert list(empty.case_ids()) == []


def test_sqlite_store_and_progress_callback(tmp_path: Path) -> None:
    rows = [[f"C{i}", f"2024-03-04T{9 + i % 8:02d}:00:00Z", "Working", "ana", "Desk", "0"]
            for i in range(5000)]
    path = write(tmp_path / "log.csv", rows)
    calls: list[tuple[int, int, int]] = []
    store = SqliteStore(tmp_path / "cases.db")
    result = replay_csv(path, mapping(), store,
                        progress=lambda r, b, t: calls.append((r, b, t)))
    size = path.stat().st_size
    assert calls[-1] == (5000, size, size)
    assert [c[0] for c in calls[:-1]] == [2000, 4000]
    assert all(0 < c[1] <= size for c in calls)
    assert result.cases == 5000 and result.events == 10000
    assert list(verify_store(store)) == []
    assert result.events_per_second > 0
    store.close()


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no file"):
        replay_csv(tmp_path / "nope.csv", mapping(), MemoryStore())


# -- any log ---------------------------------------------------------------------------------

@st.composite
def logs(draw: st.DrawFn) -> list[list[str]]:
    statuses = [*STATUS_MAP, "Mystery"]
    rows = []
    for i in range(draw(st.integers(1, 40))):
        minute = draw(st.integers(0, 600))
        rows.append([
            draw(st.sampled_from(["C1", "C2", "C3"])),
            f"2024-03-04T{8 + minute // 60:02d}:{minute % 60:02d}:00Z",
            draw(st.sampled_from(statuses)),
            draw(st.sampled_from(["ana", "bo", "cy", "robot", "?"])),
            draw(st.sampled_from([*TEAM_TIERS, "?"])),
            str(draw(st.integers(0, 3))) if draw(st.booleans()) else str(i),
        ])
    return rows


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=logs())
def test_any_log_replays_into_a_verified_store_and_every_row_is_accounted_for(
        tmp_path: Path, rows: list[list[str]]) -> None:
    store = MemoryStore()
    result = replay_csv(write(tmp_path / "any.csv", rows), mapping(), store)
    assert list(verify_store(store)) == []
    lines = {e.data["line"] for case_id in store.case_ids() for e in store.events(case_id)}
    assert len(lines) + result.refused + result.malformed + result.unknown_statuses == len(rows)
    allowed = ("a closed case stays closed", "before the case's previous row")
    assert all(any(text in p.reason for text in allowed) for p in result.refused_rows)
    for case_id in store.case_ids():
        events = store.events(case_id)
        assert all(a.at <= b.at for a, b in itertools.pairwise(events))
        assert all(e.actor != "robot" for e in events)
