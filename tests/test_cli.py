"""The `escalate` command: each command through click's runner, and the demo as a real process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from escalate.cli import main
from escalate.lifecycle import mermaid

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    shutil.copy(ROOT / "examples" / "escalation.toml", tmp_path / "escalation.toml")
    return {"ESCALATE_DB": f"sqlite:///{tmp_path / 'cases.db'}",
            "ESCALATE_POLICY": str(tmp_path / "escalation.toml"),
            "ESCALATE_DISABLE_PLUGIN_AUTOLOAD": "1"}


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_a_case_lifecycle_from_the_command_line(env: dict[str, str]) -> None:
    code, out, _ = run(env, "open", "--title", "Invoice is wrong", "--customer", "c-17",
                       "--channel", "phone", "--by", "ana", "--json")
    assert code == 0
    case = json.loads(out)
    assert case["owner"] == "queue:frontline" and case["status"] == "open"
    cid = case["id"]
    assert run(env, "claim", cid, "--by", "ana")[0] == 0
    assert run(env, "transfer", cid, "--to", "bo", "--by", "ana", "--note", "credit note")[0] == 0
    assert run(env, "escalate", cid, "--by", "bo", "--reason", "billing")[0] == 0
    assert run(env, "note", cid, "--by", "cy", "--text", "looking")[0] == 0
    code, out, _ = run(env, "resolve", cid, "--by", "cy", "--resolution", "issued", "--json")
    assert code == 0 and json.loads(out)["status"] == "resolved"
    code, out, _ = run(env, "show", cid, "--json")
    shown = json.loads(out)
    assert [e["kind"] for e in shown["events"]] == [
        "opened", "claimed", "transferred", "escalated", "noted", "resolved"]
    code, out, _ = run(env, "list", "--status", "resolved", "--json")
    assert [c["id"] for c in json.loads(out)] == [cid]
    code, out, _ = run(env, "verify", "--json")
    assert code == 0 and json.loads(out) == {"cases": 1, "problems": []}


def test_refusals_are_one_line_with_documented_exit_codes(env: dict[str, str],
                                                          tmp_path: Path) -> None:
    code, _, err = run(env, "claim", "C-404", "--by", "ana")
    assert code == 1 and err.count("\n") == 1 and "no case with id 'C-404'" in err
    run(env, "open", "--title", "t", "--customer", "c")
    code, _, err = run(env, "transfer", "C-1", "--to", "bo", "--by", "zed", "--note", "n")
    assert code == 1 and "may not transfer" in err and "Traceback" not in err
    bad = tmp_path / "bad.toml"
    bad.write_text("[ladders.x]\ntiers = []\n")
    code, _, err = run({**env, "ESCALATE_POLICY": str(bad)}, "list")
    assert code == 3 and "ladders.x.tiers" in err
    code, _, err = run(env, "open", "--title", "t")
    assert code == 2 and "--customer" in err


def test_verify_fails_on_a_broken_store(env: dict[str, str], tmp_path: Path) -> None:
    import sqlite3

    run(env, "open", "--title", "t", "--customer", "c")
    db = sqlite3.connect(tmp_path / "cases.db")
    db.execute("UPDATE cases SET body = json_set(body, '$.transfers', 5)")
    db.commit()
    db.close()
    code, out, _ = run(env, "verify")
    assert code == 1 and "replay" in out and "transfers" in out


def test_init_writes_a_policy_that_loads(tmp_path: Path) -> None:
    target = tmp_path / "p.toml"
    assert CliRunner().invoke(main, ["init", str(target)]).exit_code == 0
    from escalate import Policy

    assert Policy.from_toml(target).ladders["support"].top.name == "management"
    again = CliRunner().invoke(main, ["init", str(target)])
    assert again.exit_code == 2 and "--force" in again.stderr


def test_worker_once_delivers_and_stops(env: dict[str, str],
                                        caplog: pytest.LogCaptureFixture) -> None:
    run(env, "open", "--title", "t", "--customer", "c", "--priority", "urgent")
    with caplog.at_level("INFO", logger="escalate"):
        code, _, _ = run(env, "worker", "--once")
    assert code == 0
    assert "notifications: 2 delivered, 0 to retry, 0 dead-lettered" in caplog.text
    assert "worker stopped" in caplog.text


def test_diagram_is_generated_from_the_machine_and_the_docs_are_current(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["diagram"])
    assert result.stdout == mermaid()
    page = (ROOT / "docs" / "concepts.md").read_text()
    assert f"```mermaid\n{mermaid()}```" in page, \
        "the diagram is stale: run `escalate diagram --write docs/concepts.md`"
    copy = tmp_path / "c.md"
    copy.write_text("intro\n```mermaid\nold\n```\nend\n")
    CliRunner().invoke(main, ["diagram", "--write", str(copy)])
    assert copy.read_text() == f"intro\n```mermaid\n{mermaid()}```\nend\n"


def test_help_and_version() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0 and "Exit codes" in result.stdout
    assert "escalate" in CliRunner().invoke(main, ["--version"]).stdout


def test_demo_runs_as_a_real_process(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("escalate")
    result = subprocess.run([str(exe), "demo", "--db-file", str(tmp_path / "d.db")],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "ESCALATE_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert result.returncode == 0, result.stderr
    assert "escalated" in result.stdout and "realerted" in result.stdout
    assert "verify: all invariants hold" in result.stdout
    assert (tmp_path / "d.db").exists()
