"""The store digest: kept elsewhere, it detects truncation, deletion and rollback."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from escalate import Desk, InvalidInput, Policy
from escalate.cli import main
from verify_support import filled_desk, raw

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "escalation.toml"


def test_a_digest_still_matches_after_later_events(tmp_path: Path) -> None:
    desk = filled_desk(tmp_path / "cases.db")
    digest = desk.digest()
    assert desk.verify(overdue_after=None, expect=digest) == []
    desk.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    desk.note("C-1", "later", by="ana")
    desk.open(title="later case", customer="c", by="bo")
    assert desk.verify(overdue_after=None, expect=digest) == []
    assert desk.digest() != digest


@pytest.mark.parametrize("sql", [
    "DELETE FROM events WHERE case_id = 'C-2' AND seq = 4",
    "DELETE FROM events WHERE case_id = 'C-4'",
])
def test_truncation_and_tampering_break_the_digest(tmp_path: Path, sql: str) -> None:
    path = tmp_path / "cases.db"
    desk = filled_desk(path)
    digest = desk.digest()
    raw(path).execute(sql)
    anchor = [p for p in desk.verify(overdue_after=None, expect=digest) if p.kind == "anchor"]
    assert len(anchor) == 1 and anchor[0].case_id == "(store)"


def test_a_whole_case_and_its_registry_entry_removed_is_caught_by_the_digest(
        tmp_path: Path) -> None:
    # an attacker who also empties the registry leaves verify nothing but the digest
    path = tmp_path / "cases.db"
    desk = filled_desk(path)
    digest = desk.digest()
    db = raw(path)
    for table, column in (("cases", "id"), ("events", "case_id"), ("timers", "case_id"),
                          ("outbox", "case_id"), ("case_registry", "case_id")):
        db.execute(f"DELETE FROM {table} WHERE {column} = 'C-3'")
    assert desk.verify(overdue_after=None) == []
    problems = desk.verify(overdue_after=None, expect=digest)
    assert [p.kind for p in problems] == ["anchor"]
    assert "3 cases instead of 4" in problems[0].message


def test_a_rolled_back_copy_does_not_match(tmp_path: Path) -> None:
    path = tmp_path / "cases.db"
    desk = filled_desk(path, Policy.from_toml(EXAMPLE))
    desk.shutdown()
    shutil.copy(path, tmp_path / "old.db")
    desk = Desk(Policy.from_toml(EXAMPLE), store=f"sqlite:///{path}", clock=desk.clock,
                autoload_plugins=False)
    desk.note("C-1", "one more", by="bo")
    digest = desk.digest()
    desk.shutdown()
    runner = CliRunner()
    args = ["--policy", str(EXAMPLE), "--expect", digest]
    current = runner.invoke(main, ["verify", "--db", f"sqlite:///{path}", *args])
    old = runner.invoke(main, ["verify", "--db", f"sqlite:///{tmp_path / 'old.db'}", "--json",
                               *args])
    assert "anchor" not in current.output
    assert old.exit_code == 5 and '"anchor_ok": false' in old.output


def test_the_cli_prints_a_digest_and_refuses_a_bad_one(tmp_path: Path) -> None:
    path = tmp_path / "cases.db"
    filled_desk(path, Policy.from_toml(EXAMPLE)).shutdown()
    runner = CliRunner()
    base = ["verify", "--db", f"sqlite:///{path}", "--policy", str(EXAMPLE)]
    printed = runner.invoke(main, [*base, "--digest", "--as-of", "2026-01-05T12:00:00+00:00"])
    assert printed.exit_code == 0
    digest = printed.output.strip()
    assert digest.startswith("escalate-digest:1:2026-01-05T12:00:00.000000+00:00:4:")
    bad = runner.invoke(main, [*base, "--expect", "not-a-digest"])
    assert bad.exit_code == 1 and "not an escalate digest" in bad.output
    with pytest.raises(InvalidInput, match="64 hex digits"):
        Desk(Policy.from_toml(EXAMPLE), store=f"sqlite:///{path}",
             autoload_plugins=False).verify(expect=digest[:-1] + "z")


def test_an_edited_and_resealed_trail_is_caught_by_the_digest(tmp_path: Path) -> None:
    # without a chain key, a writer can re-hash the whole chain and fix the case row; the
    # chain then holds on its own, and only the digest kept elsewhere tells
    import json

    import attrs

    from escalate.chain import seal
    from escalate.codec import case_to_dict, event_to_dict
    from escalate.fold import rebuild

    path = tmp_path / "cases.db"
    desk = filled_desk(path)
    digest = desk.digest()
    events, previous = [], ""
    for event in desk.history("C-1"):
        if event.seq == 3:
            event = attrs.evolve(event, reason="never asked for anything")
        event = seal(event, previous)
        previous = event.hash
        events.append(event)
    db = raw(path)
    for event in events:
        db.execute("UPDATE events SET body = ? WHERE case_id = 'C-1' AND seq = ?",
                   (json.dumps(event_to_dict(event)), event.seq))
    db.execute("UPDATE cases SET body = ? WHERE id = 'C-1'",
               (json.dumps(case_to_dict(rebuild(events))),))
    assert desk.verify(overdue_after=None) == []
    assert [p.kind for p in desk.verify(overdue_after=None, expect=digest)] == ["anchor"]
