"""`escalate report` through click's runner, on a SQLite file built by the test."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from escalate import Desk, ManualClock, Policy
from escalate.cli_report import report

ROOT = Path(__file__).resolve().parent.parent
MONDAY = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)      # 09:00 in Bucharest


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A policy file and a small history: two cases on Monday, one escalated on Thursday."""
    policy_file = tmp_path / "escalation.toml"
    shutil.copy(ROOT / "examples" / "escalation.toml", policy_file)
    db = f"sqlite:///{tmp_path / 'cases.db'}"
    clock = ManualClock(MONDAY)
    with Desk(Policy.from_toml(policy_file), db, clock, autoload_plugins=False) as desk:
        printer = desk.open(title="Printer", customer="acme", channel="phone", by="ana")
        desk.claim(printer.id, by="ana")
        clock.advance(timedelta(minutes=30))
        desk.resolve(printer.id, by="ana", resolution="toner")
        invoice = desk.open(title="Invoice", customer="c-17", channel="email")
        desk.claim(invoice.id, by="bo")
        desk.transfer(invoice.id, to="ana", by="bo", note="ana knows the customer")
        clock.set(MONDAY + timedelta(days=3))
        desk.escalate(invoice.id, by="ana", reason="needs a credit note")
    return {"ESCALATE_DB": db, "ESCALATE_POLICY": str(policy_file),
            "ESCALATE_DISABLE_PLUGIN_AUTOLOAD": "1"}


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(report, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_json_output(env: dict[str, str]) -> None:
    code, out, err = run(env, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["totals"]["opened"] == 2 and data["totals"]["escalated"] == 1
    ana = next(a for a in data["agents"] if a["agent"] == "ana")
    assert (ana["received"], ana["resolved"], ana["escalated_by_hand"]) == (2, 1, 1)
    # ana resolved the printer case 30 office minutes after it was opened.
    assert ana["median_resolution_seconds"] == 1800
    assert [t["tier"] for t in data["tiers"]] == ["frontline", "specialists", "management"]
    assert data["period"] == {"since": None, "until": None,
                              "end": "2026-11-26T07:00:00.000000+00:00", "trend": "week"}


def test_the_options_reach_the_report(env: dict[str, str]) -> None:
    # Dates without a zone are UTC; --until is exclusive.
    code, out, _ = run(env, "--format", "json", "--since", "2026-11-24", "--until",
                       "2026-11-27T00:00", "--trend", "day")
    assert code == 0
    data = json.loads(out)
    assert data["period"]["since"] == "2026-11-24T00:00:00.000000+00:00"
    assert [(t["period"], t["escalated"]) for t in data["trends"]] == [
        ("2026-11-24", 0), ("2026-11-25", 0), ("2026-11-26", 1)]
    assert data["totals"]["opened"] == 0 and data["totals"]["escalated"] == 1
    # A zone in the text is honoured: 09:00 in Bucharest is 07:00 UTC.
    code, out, _ = run(env, "--format", "json", "--since", "2026-11-23T09:00+02:00")
    assert json.loads(out)["period"]["since"] == "2026-11-23T07:00:00.000000+00:00"


def test_csv_output(env: dict[str, str]) -> None:
    code, out, _ = run(env, "--format", "csv")
    assert code == 0
    sections = [list(csv.reader(io.StringIO(part))) for part in out.split("\n\n")]
    agents = next(rows for rows in sections if rows[1:] and rows[1][0] == "agents")
    assert agents[0][:3] == ["table", "agent", "received"]
    assert [row[1] for row in agents[1:]] == ["ana", "bo"]


def test_table_output_and_chart(env: dict[str, str], tmp_path: Path) -> None:
    chart = tmp_path / "trends.png"
    code, out, err = run(env, "--chart", str(chart))
    assert code == 0, err
    assert "Agents\n------\n" in out and "Trends by week" in out
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote the trend chart to {chart}" in err


def test_a_bad_since_is_one_line_and_exit_code_2(env: dict[str, str]) -> None:
    code, out, err = run(env, "--since", "last tuesday")
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert err.startswith("error: Invalid value for '--since': 'last tuesday' is not an ISO")


def test_until_before_since_is_refused(env: dict[str, str]) -> None:
    code, _, err = run(env, "--since", "2026-11-25", "--until", "2026-11-24")
    assert code == 2 and err.count("\n") == 1 and "must be after --since" in err


def test_a_missing_policy_is_a_config_error(env: dict[str, str], tmp_path: Path) -> None:
    code, _, err = run(env, "--policy", str(tmp_path / "nope.toml"))
    assert code == 3 and err.count("\n") == 1 and "cannot read policy file" in err


def test_an_unwritable_chart_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    code, out, err = run(env, "--chart", str(tmp_path / "missing" / "trends.png"))
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "cannot write the chart" in err
