"""Customer ratings: `desk.rate` records `rated` on resolved or closed cases, changes nothing
else, refuses bad scores and open cases, and the CLI's `escalate rate`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from escalate import Desk, EventKind, InvalidInput, InvalidTransition, ManualClock, Status
from escalate.cli import main
from escalate.fold import rebuild
from escalate.testing.machine import standard_policy

ROOT = Path(__file__).resolve().parent.parent


def resolved_case(desk: Desk) -> str:
    case = desk.open(title="Printer", customer="acme", channel="phone", by="ana")
    desk.claim(case.id, by="ana")
    desk.resolve(case.id, by="ana", resolution="new toner")
    return case.id


def test_rate_records_rated_without_changing_status(desk: Desk) -> None:
    case_id = resolved_case(desk)
    before = desk.get(case_id)
    after = desk.rate(case_id, score=5, comment="fixed in an hour")
    event = desk.history(case_id)[-1]
    assert event.kind == EventKind.RATED == "rated"
    assert event.actor is None
    assert event.data["score"] == 5 and event.data["rated_by"] == "customer"
    assert event.reason == "fixed in an hour"
    assert (after.status, after.owner, after.tier) == (before.status, before.owner, before.tier)
    assert after.version == before.version + 1
    assert rebuild(desk.history(case_id)) == desk.get(case_id)


def test_rate_closed_case_and_rerate_by_agent(desk: Desk) -> None:
    case_id = resolved_case(desk)
    desk.close(case_id, by="ana")
    desk.rate(case_id, score=2)
    desk.rate(case_id, score=4, comment="called back", by="ana")
    rated = [e for e in desk.history(case_id) if e.kind is EventKind.RATED]
    assert [e.data["score"] for e in rated] == [2, 4]
    assert rated[-1].actor == "ana" and rated[-1].data["rated_by"] == "ana"
    assert desk.get(case_id).status is Status.CLOSED


@pytest.mark.parametrize("score", [0, 6, -1, 4.5, "5", True, None])
def test_bad_score_is_refused_and_changes_nothing(desk: Desk, score: object) -> None:
    case_id = resolved_case(desk)
    version = desk.get(case_id).version
    with pytest.raises(InvalidInput, match="score must be a whole number from 1 to 5"):
        desk.rate(case_id, score=score)  # type: ignore[arg-type]
    assert desk.get(case_id).version == version


def test_open_case_cannot_be_rated(desk: Desk) -> None:
    case = desk.open(title="VPN", customer="initech", by="ana")
    with pytest.raises(InvalidTransition, match=r"cannot rate: case .* is open"):
        desk.rate(case.id, score=3)
    assert len(desk.history(case.id)) == 1


@settings(max_examples=30, deadline=None)
@given(scores=st.lists(st.integers(1, 5), min_size=1, max_size=6))
def test_any_rating_sequence_keeps_the_case_and_replays(scores: list[int]) -> None:
    with Desk(standard_policy(), store="memory://", clock=ManualClock(),
              autoload_plugins=False) as desk:
        case_id = resolved_case(desk)
        before = desk.get(case_id)
        for score in scores:
            desk.rate(case_id, score=score)
        after = desk.get(case_id)
        assert (after.status, after.owner) == (before.status, before.owner)
        assert rebuild(desk.history(case_id)) == after
        satisfaction = desk.report().totals.satisfaction
        assert satisfaction.ratings == 1                 # one case, its last rating
        assert satisfaction.mean == scores[-1]


@settings(max_examples=40, deadline=None)
@given(plan=st.lists(st.tuples(st.integers(0, 3), st.integers(1, 5), st.sampled_from(
    ["phone", "email"])), min_size=1, max_size=12))
def test_satisfaction_counts_each_rated_case_once_everywhere(
        plan: list[tuple[int, int, str]]) -> None:
    with Desk(standard_policy(), store="memory://", clock=ManualClock(),
              autoload_plugins=False) as desk:
        ids: dict[int, str] = {}
        last: dict[str, int] = {}
        for index, score, channel in plan:
            if index not in ids:
                case = desk.open(title="t", customer="c", channel=channel, by="ana")
                desk.claim(case.id, by="ana")
                desk.resolve(case.id, by="ana", resolution="done")
                ids[index] = case.id
            desk.rate(ids[index], score=score)
            last[ids[index]] = score
        report = desk.report()
        total = report.totals.satisfaction
        assert total.ratings == len(last)
        assert total.score_total == sum(last.values())
        assert total.satisfied == sum(1 for v in last.values() if v >= 4)
        for rows in (report.agents, report.channels, report.priorities, report.trends):
            assert sum(r.satisfaction.ratings for r in rows) == len(last)
            assert sum(r.satisfaction.score_total for r in rows) == sum(last.values())


def test_cli_rate(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cases.db'}"
    policy = str(ROOT / "examples" / "escalation.toml")
    runner = CliRunner()
    base = ["--db", db, "--policy", policy]
    opened = runner.invoke(main, ["open", *base, "--title", "x", "--customer", "c", "--by",
                                  "ana", "--json"])
    case_id = json.loads(opened.stdout)["id"]
    assert runner.invoke(main, ["resolve", case_id, *base, "--by", "ana",
                                "--resolution", "done"]).exit_code == 0
    result = runner.invoke(main, ["rate", case_id, *base, "--score", "5", "--comment", "great"])
    assert result.exit_code == 0, result.output
    assert "rated 5/5: great" in result.stdout
    bad = runner.invoke(main, ["rate", case_id, *base, "--score", "9"])
    assert bad.exit_code == 1
    assert bad.stderr.strip().splitlines() == [
        "error: score must be a whole number from 1 to 5, got 9"]
    word = runner.invoke(main, ["rate", case_id, *base, "--score", "great"])
    assert word.exit_code == 1 and "got 'great'" in word.stderr
