"""The keyed chain: with ESCALATE_CHAIN_KEY set, nobody without the key can re-hash the trail."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

from escalate.chain import KEY_VARIABLE, KEYED_PREFIX, chain_problem, event_hash, seal
from verify_support import filled_desk, raw


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> bytes:
    monkeypatch.setenv(KEY_VARIABLE, "a long random secret kept out of the database")
    return b"a long random secret kept out of the database"


def _rehash_without_key(path: Path, case_id: str) -> None:
    """What an attacker with write access does after editing an event: re-seal the chain."""
    db = raw(path)
    rows = db.execute("SELECT seq, body FROM events WHERE case_id = ? ORDER BY seq",
                      (case_id,)).fetchall()
    previous = ""
    from escalate.codec import event_from_dict, event_to_dict

    for seq, body in rows:
        event = event_from_dict(json.loads(body))
        if seq == 1:
            event = attrs.evolve(event, data={**event.data, "title": "forged"})
        event = seal(event, previous, key=b"guess")  # or unkeyed; neither matches the key
        previous = event.hash
        db.execute("UPDATE events SET body = ? WHERE case_id = ? AND seq = ?",
                   (json.dumps(event_to_dict(event)), case_id, seq))


def test_events_are_keyed_when_a_key_is_set(tmp_path: Path, keyed: bytes) -> None:
    desk = filled_desk(tmp_path / "cases.db")
    events = desk.history("C-1")
    assert all(e.hash.startswith(KEYED_PREFIX) for e in events)
    assert desk.verify(overdue_after=None) == []


def test_a_re_hashed_trail_is_found_with_the_key(tmp_path: Path, keyed: bytes) -> None:
    path = tmp_path / "cases.db"
    desk = filled_desk(path)
    _rehash_without_key(path, "C-1")
    problems = [p for p in desk.verify(overdue_after=None) if p.kind == "tampered"]
    assert [p.case_id for p in problems] == ["C-1"]
    assert "another chain key" in problems[0].message


def test_a_downgrade_to_unkeyed_hashes_is_found(tmp_path: Path, keyed: bytes,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "cases.db"
    desk = filled_desk(path)
    events = desk.history("C-1")
    monkeypatch.delenv(KEY_VARIABLE)
    resealed, previous = [], ""
    for event in events:
        event = seal(event, previous)
        previous = event.hash
        resealed.append(event)
    assert chain_problem(resealed, keyed) is None  # an all-unkeyed chain holds on its own...
    monkeypatch.setenv(KEY_VARIABLE, keyed.decode())
    db = raw(path)
    from escalate.codec import event_to_dict

    for event in resealed:
        db.execute("UPDATE events SET body = ? WHERE case_id = ? AND seq = ?",
                   (json.dumps(event_to_dict(event)), event.case_id, event.seq))
    db.execute("UPDATE cases SET body = json_set(body, '$.last_hash', ?) WHERE id = 'C-1'",
               (previous,))
    # ...but not in a store where keyed sealing had begun before its last event
    assert {(p.case_id, p.kind) for p in desk.verify(overdue_after=None)} == {("C-1", "unkeyed")}


def test_old_unkeyed_events_still_verify_beside_keyed_ones(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    path = tmp_path / "cases.db"
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    desk = filled_desk(path)
    monkeypatch.setenv(KEY_VARIABLE, "from now on")
    desk.note("C-1", "keyed from here", by="bo")
    events = desk.history("C-1")
    assert not events[0].hash.startswith(KEYED_PREFIX)
    assert events[-1].hash.startswith(KEYED_PREFIX)
    assert desk.verify(overdue_after=None) == []
    monkeypatch.delenv(KEY_VARIABLE)
    assert [(p.case_id, p.kind) for p in desk.verify(overdue_after=None)] == [
        ("C-1", "unverifiable")]
    monkeypatch.setenv(KEY_VARIABLE, "a wrong key")
    assert [(p.case_id, p.kind) for p in desk.verify(overdue_after=None)] == [
        ("C-1", "tampered")]


def test_event_hash_follows_the_key(keyed: bytes, tmp_path: Path) -> None:
    desk = filled_desk(tmp_path / "cases.db")
    event = desk.history("C-2")[0]
    assert event_hash(event) == event.hash
    assert event_hash(event, b"other") != event.hash
