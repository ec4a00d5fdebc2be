"""The tamper-evident trail: verify names the first event altered, deleted or inserted."""

from __future__ import annotations

import itertools
import json
import sqlite3
from pathlib import Path

import attrs
import pytest

from escalate import Desk, ManualClock, Policy
from escalate.chain import check_chain, event_hash, seal


@pytest.fixture
def filled(tmp_path: Path, policy: Policy) -> tuple[Desk, Path, str]:
    path = tmp_path / "cases.db"
    desk = Desk(policy, store=f"sqlite:///{path}", clock=ManualClock(), autoload_plugins=False)
    case = desk.open(title="t", customer="c", channel="phone", by="ana")
    desk.claim(case.id, by="ana")
    desk.note(case.id, "first note", by="ana")
    desk.note(case.id, "second note", by="bo")
    return desk, path, case.id


def raw(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER events_append_only_update")
    db.execute("DROP TRIGGER events_append_only_delete")
    return db


def test_events_are_chained_and_sealed(filled: tuple[Desk, Path, str]) -> None:
    desk, _, case_id = filled
    events = desk.history(case_id)
    assert events[0].prev_hash == ""
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert all(e.hash == event_hash(e) for e in events)
    assert desk.get(case_id).last_hash == events[-1].hash
    assert check_chain(events) is None and desk.verify() == []


def test_an_altered_event_is_named(filled: tuple[Desk, Path, str]) -> None:
    desk, path, case_id = filled
    db = raw(path)
    body = json.loads(db.execute("SELECT body FROM events WHERE case_id=? AND seq=3",
                                 (case_id,)).fetchone()[0])
    body["reason"] = "a different note"
    db.execute("UPDATE events SET body=? WHERE case_id=? AND seq=3", (json.dumps(body), case_id))
    db.commit()
    problems = [p for p in desk.verify() if p.kind == "tampered"]
    assert len(problems) == 1 and "event 3 (noted) was altered" in problems[0].message


def test_a_deleted_event_is_found(filled: tuple[Desk, Path, str]) -> None:
    desk, path, case_id = filled
    db = raw(path)
    db.execute("DELETE FROM events WHERE case_id=? AND seq=2", (case_id,))
    db.commit()
    kinds = {p.kind: p.message for p in desk.verify()}
    assert "gap" in kinds and "event 3 (noted) does not follow" in kinds["tampered"]


def test_an_inserted_event_is_found_even_when_resealed(filled: tuple[Desk, Path, str]) -> None:
    desk, _, case_id = filled
    events = desk.history(case_id)
    forged = seal(attrs.evolve(events[2], reason="forged"), events[1].hash)
    tampered = [*events[:2], forged, *events[3:]]
    assert check_chain(tampered) == ("event 4 (noted) does not follow the event before it: an "
                                     "event was removed, inserted or altered before it")


def test_events_are_append_only_in_sqlite(filled: tuple[Desk, Path, str]) -> None:
    _, path, case_id = filled
    db = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE events SET kind='x' WHERE case_id=?", (case_id,))
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM events WHERE case_id=?", (case_id,))
