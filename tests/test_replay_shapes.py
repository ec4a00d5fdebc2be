"""Log shapes a mapping can express: snapshots, actors, ordering, markers, teams, SLA."""

from __future__ import annotations

import sys
from pathlib import Path

from escalate.replay import replay_csv
from escalate.report import build_report
from escalate.stores.memory import MemoryStore
from escalate.verify import verify_store

sys.path.insert(0, str(Path(__file__).parent / "support"))
from replay_logs import HEADER, mapping, replay


def kinds_actors(store: MemoryStore, case_id: str) -> list[tuple[str, str | None]]:
    return [(e.kind.value, e.actor) for e in store.events(case_id)]


SNAPSHOT = """
INC1,09:00,New,?,T1,caller,low
INC1,09:10,New,?,T1,caller,high
INC1,09:20,Active,ana,T1,ana,high
INC1,09:30,Active,ana,T1,ana,high
INC1,09:40,Active,bo,T1,lead,high
INC1,10:00,Active,bo,T3,bo,high
INC1,11:00,Resolved,bo,T3,bo,high
INC1,12:00,Resolved,bo,T4,bo,high
"""


def test_snapshot_rows_become_the_differences_between_consecutive_rows(
        tmp_path: Path) -> None:
    result, store = replay(tmp_path, SNAPSHOT, header=[*HEADER, "by", "prio"],
                           mode="snapshot", actor="by", priority="prio")
    assert kinds_actors(store, "INC1") == [
        ("opened", "caller"),
        ("noted", "caller"),          # 09:10 priority low -> high
        ("claimed", "ana"),           # 09:20
        ("transferred", "lead"),      # 09:40 lead hands it from ana to bo
        ("claimed", "lead"),          #       and bo holds it, active
        ("escalated", "bo"),          # 10:00 team T1 -> T3
        ("claimed", "bo"),
        ("resolved", "bo"),           # 11:00
        ("noted", "bo"),              # 12:00 a resolved case changes team: an update
    ]
    events = store.events("INC1")
    assert events[1].data["changed"] == {"prio": "high"}
    assert result.unchanged_rows == 1  # 09:30 repeats 09:20
    report = build_report(store.all_events())
    assert report.agent("bo").resolved == 1 and report.totals.reopened == 0


def test_missing_markers_per_column(tmp_path: Path) -> None:
    _, store = replay(tmp_path, """
C1,09:00,New,?,T1,?
C1,10:00,Active,ana,T1,?
""", header=[*HEADER, "prio"], priority="prio", missing=[""],
        missing_in={"owner": ["", "?"]})
    case = store.get("C1")
    assert case is not None and case.priority == "?"  # a value in this column
    assert store.events("C1")[0].actor is None         # nobody in the owner column


def test_team_only_logs_have_the_team_queue_own_the_case(tmp_path: Path) -> None:
    result, store = replay(tmp_path, """
C1,09:00,New,T1
C1,10:00,Active,T1
C1,11:00,New,T3
C1,12:00,Resolved,T3
""", header=["case", "at", "status", "team"], owner=[])
    assert [(e.kind.value, e.actor, e.owner_after.ref, e.tier_after)
            for e in store.events("C1")] == [
        ("opened", None, "queue:frontline", "frontline"),
        ("noted", None, "queue:frontline", "frontline"),
        ("escalated", None, "queue:specialists", "specialists"),
        ("resolved", None, "queue:specialists", "specialists"),
    ]
    assert result.moves_up == 1 and result.owners == 0
    assert store.events("C1")[2].data["actor_unknown"] is True
    totals = build_report(store.all_events()).totals
    # the log does not say who moved it: neither by hand nor by a timer
    assert (totals.escalated, totals.escalated_by_hand, totals.escalated_by_timer) == (1, 0, 0)


def test_explicit_escalation_and_transfer_activities(tmp_path: Path) -> None:
    statuses = {"Active": "claim", "Escalated": "escalate", "Handed over": "transfer",
                "Resolved": "resolve"}
    _, store = replay(tmp_path, """
C1,09:00,Active,ana,T1
C1,09:30,Handed over,bo,T1
C1,10:00,Escalated,?,T1
C1,11:00,Active,cy,T1
C1,12:00,Resolved,cy,T1
""", status_map=statuses)
    events = store.events("C1")
    assert [(e.kind.value, e.actor, e.owner_after.ref, e.tier_after) for e in events] == [
        ("opened", "ana", "queue:frontline", "frontline"),
        ("claimed", "ana", "agent:ana", "frontline"),
        ("transferred", "ana", "agent:bo", "frontline"),
        ("escalated", "bo", "queue:specialists", "specialists"),
        ("claimed", "cy", "agent:cy", "specialists"),
        ("resolved", "cy", "agent:cy", "specialists"),
    ]
    assert events[3].data["direction"] == "up"


def test_order_by_columns_then_file_order(tmp_path: Path) -> None:
    _, store = replay(tmp_path, """
C1,09:00,Resolved,ana,T1,3,0
C1,09:00,Active,ana,T1,2,1
C1,09:00,New,?,T1,2,0
C1,09:00,Active,bo,T1,2,1
""", header=[*HEADER, "mods", "sub"], order_by=["mods", "sub"])
    assert [e.data["line"] for e in store.events("C1")] == [4, 3, 5, 5, 2]
    assert [e.kind.value for e in store.events("C1")] == [
        "opened", "claimed", "transferred", "claimed", "resolved"]


def test_missing_team_unknown_is_recorded_as_unknown(tmp_path: Path) -> None:
    text = """
C1,09:00,Active,ana,T1
C1,10:00,Active,bo,?
"""
    _, carried = replay(tmp_path, text)
    assert carried.events("C1")[-1].data["team"] == "T1"
    _, unknown = replay(tmp_path, text, missing_team="unknown")
    assert unknown.events("C1")[-1].data["team"] is None


def test_the_source_sla_verdict_is_compared_with_escalates_own(tmp_path: Path) -> None:
    path = tmp_path / "sla.csv"
    path.write_text("case,at,status,owner,team,made_sla\n"
                    "A,09:00,Active,ana,T1,true\nA,10:00,Closed,ana,T1,true\n"
                    "B,09:00,Active,ana,T1,\nB,12:00,Closed,ana,T1,yes\n"
                    "C,09:00,Active,ana,T1,false\nC,10:00,Active,ana,T1,false\n"
                    "D,09:00,Active,ana,T1,\nD,10:00,Closed,ana,T1,\n"
                    "E,09:00,Active,ana,T1,no\nE,11:30,Active,bo,T1,no\n", encoding="utf-8")
    store = MemoryStore()
    result = replay_csv(path, mapping(sla_met="made_sla", sla_resolution="2h"), store)
    assert list(verify_store(store)) == []
    # A met and says so; B took 3h but says met; C is unresolved within 2h; D has no
    # verdict; E is unresolved past 2h and says missed
    assert (result.sla_agree, result.sla_disagree, result.sla_undecided,
            result.sla_no_source) == (2, 1, 1, 1)
