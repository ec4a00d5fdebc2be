"""The `replay` and `simulate` commands, run with click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from escalate.cli_replay import COMMANDS, load_mapping, replay_command, simulate_command
from escalate.replay_mappings import BPIC2013_PROBLEMS_OPEN

PROBLEMS_OPEN = (Path(__file__).resolve().parents[1].parent / "shared" / "data"
                 / "bpic2013-volvo-problems" / "vinst_open_problems.csv")

MAPPING = """
case_id = "id"
timestamp = "when"
status = "status"
owner = "agent"
team = "team"
timestamp_format = "%d/%m/%Y %H:%M"
timezone = "Europe/Brussels"
missing = ["", "?"]

[team_tiers]
Desk = "1st line"
Network = "2nd line"
Vendor = "3rd line"

[status_map]
New = "return"
Working = "claim"
Solved = "resolve"
Closed = "close"
"""

LOG = """id,when,status,agent,team
C1,04/03/2024 09:00,New,ana,Desk
C1,04/03/2024 09:30,Working,ana,Desk
C1,04/03/2024 11:00,New,ana,Network
C1,05/03/2024 10:00,Working,cy,Network
C1,05/03/2024 16:00,Solved,cy,Network
C2,04/03/2024 10:00,New,bo,Desk
C2,04/03/2024 10:05,Teleported,bo,Desk
C2,31/02/2024 10:05,Working,bo,Desk
C2,04/03/2024 12:00,Working,bo,Desk
"""

CANDIDATE = """
[calendars.always]
hours = "24x7"

[ladders.support]
calendar = "always"

[[ladders.support.tiers]]
name = "1st line"
members = ["ana", "bo"]
escalate_after = "1h"

[[ladders.support.tiers]]
name = "2nd line"
members = ["cy"]
escalate_after = "4h"

[[ladders.support.tiers]]
name = "3rd line"
members = ["dee"]
"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "mapping.toml").write_text(MAPPING, encoding="utf-8")
    (tmp_path / "log.csv").write_text(LOG, encoding="utf-8")
    (tmp_path / "candidate.toml").write_text(CANDIDATE, encoding="utf-8")
    return {"mapping": str(tmp_path / "mapping.toml"), "log": str(tmp_path / "log.csv"),
            "candidate": str(tmp_path / "candidate.toml"),
            "db": f"sqlite:///{tmp_path / 'cases.db'}"}


def run(command: click.Command, *args: str) -> Result:
    return CliRunner().invoke(command, list(args), env={"ESCALATE_DB": None,
                                                        "ESCALATE_POLICY": None})


def test_replay_prints_a_summary_and_lists_bad_rows(files: dict[str, str]) -> None:
    result = run(replay_command, files["log"], "--mapping", files["mapping"], "--db",
                 files["db"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "rows read                9" in out and "cases                    2" in out
    assert "1 up, 0 sideways, 0 down" in out
    assert "line 8: unknown status 'Teleported'" in out
    assert "line 9: time '31/02/2024 10:05'" in out
    assert "replaying log.csv" in result.stderr
    assert "Traceback" not in result.output


def test_replay_json(files: dict[str, str]) -> None:
    result = run(replay_command, files["log"], "--mapping", files["mapping"], "--db",
                 files["db"], "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["rows"], data["cases"], data["moves"]["up"]) == (9, 2, 1)
    assert data["unknown_statuses"]["rows"] == [
        {"line": 8, "value": "Teleported", "reason": "unknown status 'Teleported'; add it "
                                                     "to status_map"}]
    assert data["malformed"]["count"] == 1 and data["malformed"]["rows"][0]["line"] == 9
    assert data["tiers"] == ["1st line", "2nd line", "3rd line"]


def test_bad_mapping_is_one_line_and_exit_3(files: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(MAPPING.replace('team = "team"', 'team = "Group"'), encoding="utf-8")
    result = run(replay_command, files["log"], "--mapping", str(bad), "--db", files["db"])
    assert result.exit_code == 3
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: team: column 'Group' is not in")
    assert "Traceback" not in result.output and result.stdout == ""
    assert not (tmp_path / "cases.db").exists()  # nothing written, not even an empty file


def test_unknown_mapping_name(files: dict[str, str]) -> None:
    result = run(replay_command, files["log"], "--mapping", "bpic2099", "--db", files["db"])
    assert result.exit_code == 3
    assert "unknown mapping 'bpic2099'" in result.stderr and "bpic2013-incidents" in result.stderr


def test_mapping_names_and_files() -> None:
    assert load_mapping("bpic2013-problems-open") is BPIC2013_PROBLEMS_OPEN
    assert [c.name for c in COMMANDS] == ["replay", "simulate"]


def test_simulate_after_replay(files: dict[str, str]) -> None:
    assert run(replay_command, files["log"], "--mapping", files["mapping"], "--db",
               files["db"]).exit_code == 0
    text = run(simulate_command, "--db", files["db"], "--policy", files["candidate"])
    assert text.exit_code == 0, text.output
    assert "escalations to 2nd line" in text.stdout and "candidate" in text.stdout
    first = run(simulate_command, "--db", files["db"], "--policy", files["candidate"],
                "--seed", "3", "--json")
    second = run(simulate_command, "--db", files["db"], "--policy", files["candidate"],
                 "--seed", "3", "--json")
    assert first.exit_code == second.exit_code == 0
    one, two = json.loads(first.stdout), json.loads(second.stdout)
    one.pop("elapsed_seconds")
    two.pop("elapsed_seconds")
    assert one == two
    assert one["actual"]["escalations"] == {"2nd line": 1}
    assert one["candidate"]["total_escalations"] >= 1
    assert one["candidate"]["cases"] == 2


def test_simulate_needs_a_replayed_store(files: dict[str, str], tmp_path: Path) -> None:
    missing = run(simulate_command, "--db", f"sqlite:///{tmp_path / 'none.db'}", "--policy",
                  files["candidate"])
    assert missing.exit_code == 4 and "no database" in missing.stderr
    assert not (tmp_path / "none.db").exists()
    empty = run(simulate_command, "--db", "memory://", "--policy", files["candidate"])
    assert empty.exit_code == 1 and "no cases" in empty.stderr
    bad_policy = run(simulate_command, "--db", "memory://", "--policy",
                     str(tmp_path / "nope.toml"))
    assert bad_policy.exit_code == 3 and "Traceback" not in bad_policy.output


def test_replay_a_bpi_log_by_mapping_name(tmp_path: Path) -> None:
    if not PROBLEMS_OPEN.is_file():
        pytest.skip(f"the shared BPI Challenge 2013 log {PROBLEMS_OPEN} is not present")
    result = run(replay_command, str(PROBLEMS_OPEN), "--mapping", "bpic2013-problems-open",
                 "--db", f"sqlite:///{tmp_path / 'problems.db'}", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["rows"], data["cases"]) == (2_351, 819)
    assert data["moves"] == {"up": 59, "sideways": 126, "down": 36}
    assert data["ping_pong_cases"] == 31


def test_report_show_and_verify_read_the_replayed_store_without_a_policy_file(
        files: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from escalate.cli import main

    monkeypatch.chdir(tmp_path)  # no escalation.toml here
    assert run(replay_command, files["log"], "--mapping", files["mapping"], "--db",
               files["db"]).exit_code == 0
    report = run(main, "report", "--db", files["db"], "--format", "json")
    assert report.exit_code == 0, report.output
    assert json.loads(report.stdout)["totals"]["opened"] == 2
    show = run(main, "show", "C1", "--db", files["db"], "--json")
    assert show.exit_code == 0, show.output
    verify = run(main, "verify", "--db", files["db"])
    assert verify.exit_code == 0, verify.output
    # a read-only command never creates a store: a missing file is a storage error
    other = run(main, "report", "--db", f"sqlite:///{tmp_path / 'other.db'}")
    assert other.exit_code == 4 and not (tmp_path / "other.db").exists()


def test_a_run_where_most_rows_are_malformed_exits_non_zero(files: dict[str, str],
                                                            tmp_path: Path) -> None:
    log = tmp_path / "bad.csv"
    log.write_text("id,when,status,agent,team\n"
                   "C1,04/03/2024 09:00,New,ana,Desk\n"
                   "C1,2024-03-04,Working,ana,Desk\n"
                   "C2,yesterday,New,bo,Desk\n", encoding="utf-8")
    result = run(replay_command, str(log), "--mapping", files["mapping"], "--db",
                 files["db"], "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["malformed"]["count"] == 2
    assert "2 of 3 rows could not be read" in result.stderr
