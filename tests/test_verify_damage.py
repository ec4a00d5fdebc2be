"""verify never raises on a damaged row: each becomes a problem naming the case and the fault.

Each test damages one row of a real SQLite file with sqlite3 directly, as a disk fault, a
bad migration or a hand edit would.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from escalate import Policy
from escalate.cli import main
from verify_support import filled_desk, kinds, raw

ROOT = Path(__file__).resolve().parent.parent


def _edit_event(path: Path, case_id: str, seq: int, edit: object) -> None:
    db = raw(path)
    (body,) = db.execute("SELECT body FROM events WHERE case_id = ? AND seq = ?",
                         (case_id, seq)).fetchone()
    new = edit(json.loads(body)) if callable(edit) else edit
    db.execute("UPDATE events SET body = ? WHERE case_id = ? AND seq = ?",
               (new if isinstance(new, str) else json.dumps(new), case_id, seq))


def _edit_case(path: Path, case_id: str, edit: object) -> None:
    db = raw(path)
    (body,) = db.execute("SELECT body FROM cases WHERE id = ?", (case_id,)).fetchone()
    new = edit(json.loads(body)) if callable(edit) else edit
    db.execute("UPDATE cases SET body = ? WHERE id = ?",
               (new if isinstance(new, str) else json.dumps(new), case_id))


def _without(key: str) -> object:
    return lambda body: {k: v for k, v in body.items() if k != key}


@pytest.mark.parametrize(("edit", "said"), [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "not an object"),
    (lambda b: {**b, "kind": "teleported"}, "teleported"),
    (_without("owner_after"), "'owner_after' is missing"),
    (lambda b: {**b, "at": 12}, "wrong type"),
    (lambda b: {**b, "at": "yesterday"}, "wrong type"),
    (lambda b: {**b, "status_after": None}, "wrong type"),
    (lambda b: {**b, "data": {"clocks": [{"name": "tier"}]}}, "C-1"),
])
def test_a_damaged_event_is_a_problem_of_its_case(tmp_path: Path, edit: object,
                                                  said: str) -> None:
    path = tmp_path / "cases.db"
    desk = filled_desk(path)
    _edit_event(path, "C-1", 2, edit)
    problems = desk.verify(overdue_after=None)
    ours = [p for p in problems if p.case_id == "C-1"]
    assert ours, problems
    assert any(said in str(p) for p in ours), ours
    assert {p.case_id for p in problems} == {"C-1"}


@pytest.mark.parametrize(("edit", "said"), [
    ("\x00garbage", "not valid JSON"),
    ("null", "not an object"),
    (_without("owner"), "'owner' is missing"),
    (lambda b: {**b, "status": "vanished"}, "vanished"),
    (lambda b: {**b, "opened_at": None}, "wrong type"),
    (lambda b: {**b, "clocks": "many"}, "C-2"),
    (lambda b: {**b, "clocks": [{"name": "tier", "target": "x"}]}, "C-2"),
    (lambda b: {**b, "transfers": "lots"}, "C-2"),
])
def test_a_damaged_case_row_is_a_problem_of_its_case(tmp_path: Path, edit: object,
                                                     said: str) -> None:
    path = tmp_path / "cases.db"
    desk = filled_desk(path)
    _edit_case(path, "C-2", edit)
    problems = desk.verify(overdue_after=None)
    assert problems and {p.case_id for p in problems} == {"C-2"}, problems
    assert any(said in str(p) for p in problems), problems


def test_damaged_timer_and_outbox_rows_are_problems(tmp_path: Path) -> None:
    path = tmp_path / "cases.db"
    desk = filled_desk(path)
    db = raw(path)
    db.execute("UPDATE timers SET due_at = 'soon', action = 'explode' WHERE case_id = 'C-4'"
               " AND clock = 'tier'")
    db.execute("UPDATE outbox SET attempts = 'several', created_at = 7 WHERE case_id = 'C-3'")
    db.execute("UPDATE events SET body = CAST(X'80FF' AS TEXT) WHERE case_id = 'C-1'"
               " AND seq = 3")
    assert kinds(desk) == {"C-1": {"damaged", "gap", "version", "tampered", "replay"},
                           "C-3": {"notification"},
                           "C-4": {"timer-due", "timer-action"}}


def test_escalate_verify_prints_damage_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "cases.db"
    example = ROOT / "examples" / "escalation.toml"
    filled_desk(path, Policy.from_toml(example)).shutdown()
    _edit_event(path, "C-1", 1, "{not json")
    _edit_case(path, "C-3", _without("tier"))
    result = CliRunner().invoke(main, ["verify", "--db", f"sqlite:///{path}", "--policy",
                                       str(example)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "C-1: damaged: event 1 cannot be read: the body is not valid JSON" in result.output
    assert "C-3: damaged: the case row cannot be read: the field 'tier' is missing" \
        in result.output
