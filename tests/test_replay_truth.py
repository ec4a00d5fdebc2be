"""Replay records what the log says and nothing more: one small hand-made log per rule."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from escalate import ConfigError
from escalate.report import build_report

sys.path.insert(0, str(Path(__file__).parent / "support"))
from replay_logs import HEADER, mapping, replay, trail


def test_a_repeated_resolved_status_with_another_team_is_an_update_not_a_reopening(
        tmp_path: Path) -> None:
    _, store = replay(tmp_path, """
C2,09:00,Active,ana,T1
C2,10:00,Resolved,ana,T1
C2,11:00,Resolved,ana,T2
""")
    assert trail(store, "C2") == [
        ("opened", "ana", "queue:frontline", "open"),
        ("claimed", "ana", "agent:ana", "active"),
        ("resolved", "ana", "agent:ana", "resolved"),
        ("noted", "ana", "agent:ana", "resolved"),
    ]
    note = store.events("C2")[-1]
    assert (note.data["team"], note.data["team_before"]) == ("T2", "T1")
    ana = build_report(store.all_events()).agent("ana")
    assert (ana.resolved, ana.reopened, ana.transferred) == (1, 0, 0)


def test_a_status_change_with_nobody_to_take_the_case_is_not_a_claim(tmp_path: Path) -> None:
    _, store = replay(tmp_path, """
C1,09:00,New,?,T1
C1,10:00,Active,?,T1
""")
    assert trail(store, "C1") == [
        ("opened", None, "queue:frontline", "open"),
        ("noted", None, "queue:frontline", "open"),
    ]
    assert store.events("C1")[-1].reason == "Active"
    assert store.get("C1").status == "open"  # type: ignore[union-attr]


def test_out_of_order_rows_are_refused_unless_sort_is_set(tmp_path: Path) -> None:
    log = """
C3,10:00,Active,ana,T1
C3,09:00,New,?,T1
C3,11:00,Resolved,ana,T1
"""
    result, store = replay(tmp_path, log)
    assert [p.line for p in result.refused_rows] == [3]
    assert "add `sort = true` to the mapping" in result.refused_rows[0].reason
    assert trail(store, "C3") == [
        ("opened", "ana", "queue:frontline", "open"),
        ("claimed", "ana", "agent:ana", "active"),
        ("resolved", "ana", "agent:ana", "resolved"),
    ]
    result, store = replay(tmp_path, log, sort=True)
    assert result.refused == 0
    assert [(e.kind.value, e.at.strftime("%H:%M")) for e in store.events("C3")] == [
        ("opened", "09:00"), ("claimed", "10:00"), ("resolved", "11:00")]


def test_a_resolution_nobody_did_is_credited_to_nobody(tmp_path: Path) -> None:
    _, store = replay(tmp_path, """
C4,09:00,Active,ana,T1
C4,10:00,Resolved,?,T1
""")
    assert trail(store, "C4")[-1] == ("resolved", None, "agent:ana", "resolved")
    report = build_report(store.all_events())
    assert report.totals.resolved == 1
    assert report.agent("ana").resolved == 0


def test_hand_offs_are_credited_to_the_passer_not_the_receiver(tmp_path: Path) -> None:
    _, store = replay(tmp_path, """
C5,09:00,Active,ana,T1
C5,10:00,Active,bo,T1
C5,11:00,New,?,T3
""")
    assert trail(store, "C5") == [
        ("opened", "ana", "queue:frontline", "open"),
        ("claimed", "ana", "agent:ana", "active"),
        ("transferred", "ana", "agent:bo", "open"),
        ("claimed", "bo", "agent:bo", "active"),
        ("escalated", "bo", "queue:specialists", "open"),
    ]
    report = build_report(store.all_events())
    assert (report.agent("ana").transferred, report.agent("bo").transferred) == (1, 0)
    assert report.agent("bo").escalated_by_hand == 1


def test_an_actor_column_names_who_acted(tmp_path: Path) -> None:
    _, store = replay(tmp_path, """
C5,09:00,Active,ana,T1,ana
C5,10:00,Active,bo,T1,lead
C5,11:00,Resolved,bo,T1,bo
""", header=[*HEADER, "by"], actor="by")
    assert [(e.kind.value, e.actor) for e in store.events("C5")] == [
        ("opened", "ana"), ("claimed", "ana"), ("transferred", "lead"), ("claimed", "lead"),
        ("resolved", "bo")]


AFTER_CLOSE = """
C6,09:00,Active,ana,T1
C6,10:00,Closed,ana,T1
C6,11:00,Active,bo,T1
C6,12:00,Closed,bo,T1
"""


def test_after_close_refuse_keeps_the_history_up_to_the_close(tmp_path: Path) -> None:
    result, store = replay(tmp_path, AFTER_CLOSE)
    assert [k for k, *_ in trail(store, "C6")] == ["opened", "claimed", "resolved", "closed"]
    assert [p.line for p in result.refused_rows] == [4, 5]
    assert 'after_close = "reopen"' in result.refused_rows[0].reason


def test_after_close_reopen_keeps_every_row_and_closes_at_the_last_close(
        tmp_path: Path) -> None:
    result, store = replay(tmp_path, AFTER_CLOSE, after_close="reopen")
    assert result.refused == 0
    assert [(e.kind.value, e.actor, e.at.strftime("%H:%M")) for e in store.events("C6")] == [
        ("opened", "ana", "09:00"), ("claimed", "ana", "09:00"),
        ("resolved", "ana", "10:00"), ("reopened", "bo", "11:00"),
        ("claimed", "bo", "11:00"), ("resolved", "bo", "12:00"), ("closed", "bo", "12:00")]
    assert store.get("C6").status == "closed"  # type: ignore[union-attr]


def test_a_zoneless_time_format_without_timezone_is_refused_before_reading() -> None:
    with pytest.raises(ConfigError, match="timezone"):
        mapping(timezone=None)
    with pytest.raises(ConfigError, match="after_close"):
        mapping(after_close="ignore")
