"""Operator commands of `escalate`: explain, outbox, retry, remove-agent, policy preview and
migrate, open --field/--case-id, paged and aligned list, --json errors, no policy needed to
read, the demo's clean-up and quiet -v."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from escalate import Desk, ManualClock, Policy
from escalate.cli import main
from escalate.cli_common import table
from escalate.outbox import DEAD
from escalate.stores.base import Notification

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


def opened(env: dict[str, str], *extra: str) -> str:
    code, out, err = run(env, "open", "--title", "Printer", "--customer", "acme", "--json",
                         *extra)
    assert code == 0, err
    return str(json.loads(out)["id"])


def test_open_with_fields_and_a_chosen_id_then_a_duplicate(env: dict[str, str]) -> None:
    code, out, _ = run(env, "open", "--title", "t", "--customer", "c", "--case-id", "TK-1",
                       "--field", "order=A-17", "--field", "seats=3", "--json")
    assert code == 0
    case = json.loads(out)
    assert case["id"] == "TK-1" and case["fields"] == {"order": "A-17", "seats": 3}
    code, out, err = run(env, "open", "--title", "t", "--customer", "c", "--case-id", "TK-1",
                         "--json")
    assert code == 1 and err == ""
    assert json.loads(out) == {"error": json.loads(out)["error"], "kind": "CaseExists",
                               "exit_code": 1}
    code, _, err = run(env, "open", "--title", "t", "--customer", "c", "--field", "nokey")
    assert code == 2 and "KEY=VALUE" in err


def test_errors_with_json_are_one_object_with_kind_and_exit_code(env: dict[str, str],
                                                                  tmp_path: Path) -> None:
    code, out, err = run(env, "claim", "C-404", "--by", "ana", "--json")
    assert code == 1 and err == ""
    data = json.loads(out)
    assert data["kind"] == "CaseNotFound" and data["exit_code"] == 1 and "C-404" in data["error"]
    code, out, _ = run(env, "list", "--json", "--policy", str(tmp_path / "missing.toml"))
    assert code == 3 and json.loads(out)["kind"] == "ConfigError"
    code, out, _ = run(env, "list", "--json", "--limit", "-3")  # a usage error, from click
    assert code == 2 and json.loads(out)["kind"] == "UsageError"
    code, out, _ = run(env, "report", "--format", "json", "--until", "2026-01-01",
                       "--since", "2026-02-01")
    assert code == 2
    code, out, _ = run(env, "claim", "C-404", "--by", "ana")  # without --json: text
    assert code == 1 and out == ""


def test_expected_version_from_the_command_line(env: dict[str, str]) -> None:
    cid = opened(env)
    code, out, _ = run(env, "claim", cid, "--by", "ana", "--expected-version", "1", "--json")
    assert code == 0 and json.loads(out)["version"] == 2
    code, out, _ = run(env, "note", cid, "--by", "ana", "--text", "x", "--expected-version",
                       "1", "--json")
    assert code == 1 and json.loads(out)["kind"] == "ConflictError"


def test_list_pages_filters_by_customer_and_aligns_columns(env: dict[str, str]) -> None:
    ids = [opened(env, "--case-id", name) for name in ("A", "a-much-longer-case-id", "C")]
    opened(env, "--customer", "other")  # a later --customer wins over the first
    code, out, _ = run(env, "list", "--customer", "acme", "--limit", "2", "--json")
    assert [c["id"] for c in json.loads(out)] == ids[:2]
    code, out, _ = run(env, "list", "--customer", "acme", "--after", ids[1], "--json")
    assert [c["id"] for c in json.loads(out)] == ids[2:]
    code, out, _ = run(env, "list", "--customer", "acme")
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["ID", "STATUS", "TIER"]
    starts = {line.index("open") for line in lines[1:]}
    assert len(starts) == 1 and lines[0].index("STATUS") in starts  # one column, aligned
    code, out, _ = run(env, "list", "--after", "nope", "--json")
    assert code == 1 and "nope" in json.loads(out)["error"]


def test_table_aligns_every_column() -> None:
    text = table(("A", "BB", "C"), [("xxxx", 1, "end"), ("y", 22222, "e")])
    assert text.splitlines() == ["A     BB     C", "xxxx  1      end", "y     22222  e"]


def test_reading_commands_need_no_policy_file(env: dict[str, str], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    cid = opened(env)
    bare = {k: v for k, v in env.items() if k != "ESCALATE_POLICY"}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # no escalation.toml here
    runner = CliRunner()
    for args in (["list", "--json"], ["show", cid, "--json"],
                 ["outbox", "--json"], ["report", "--json"], ["report", "--format", "json"]):
        result = runner.invoke(main, args, env=bare)
        assert result.exit_code == 0, (args, result.output)
        json.loads(result.stdout)
    result = runner.invoke(main, ["claim", cid, "--by", "ana"], env=bare)
    assert result.exit_code == 3 and "escalation.toml" in result.stderr


def test_show_says_unknown_for_an_opener_not_given(env: dict[str, str]) -> None:
    cid = opened(env)
    _code, out, _ = run(env, "show", cid)
    trail = out.split("\n\n")[1].splitlines()
    assert trail[0].split()[:4] == ["SEQ", "AT", "(UTC)", "KIND"]
    assert "opened" in trail[1] and " unknown " in trail[1] and "escalate" not in trail[1]


def test_explain_outbox_retry(env: dict[str, str]) -> None:
    cid = opened(env, "--priority", "urgent")
    code, out, _ = run(env, "explain", cid)
    assert code == 0 and "first_response: target 1h" in out
    code, out, _ = run(env, "explain", cid, "--json")
    clocks = json.loads(out)["clocks"]
    assert {c["clock"]["name"] for c in clocks} >= {"first_response", "resolution"}
    code, out, _ = run(env, "outbox", "--json")
    rows = json.loads(out)
    assert rows and {r["status"] for r in rows} == {"pending"}
    key = rows[0]["key"]
    policy = Policy.from_toml(env["ESCALATE_POLICY"])
    with Desk(policy, store=env["ESCALATE_DB"], autoload_plugins=False) as desk:
        row = next(n for n in desk.outbox() if n.key == key)
        desk.store.update_notification(Notification(**{**row.to_dict(), "status": DEAD,
                                                       "created_at": row.created_at,
                                                       "next_attempt_at": None,
                                                       "attempts": 8,
                                                       "last_error": "mailbox full"}))
    code, out, _ = run(env, "outbox", "--status", "dead")
    assert code == 0 and key in out and "mailbox full" in out
    assert out.splitlines()[0].startswith("KEY")
    code, out, _ = run(env, "retry", key, "--json")
    assert code == 0 and json.loads(out)["status"] == "pending"
    code, out, _ = run(env, "outbox", "--status", "dead")
    assert out.strip() == "no notifications"
    code, out, _ = run(env, "retry", key, "--json")
    assert code == 1 and json.loads(out)["kind"] == "InvalidInput"


def test_remove_agent_returns_cases(env: dict[str, str]) -> None:
    cid = opened(env)
    assert run(env, "claim", cid, "--by", "bo")[0] == 0
    code, out, _ = run(env, "remove-agent", "bo", "--by", "ana", "--json")
    assert code == 1 and json.loads(out)["kind"] == "NotAuthorized"
    code, out, _ = run(env, "remove-agent", "bo", "--by", "root", "--reason", "left the team",
                       "--json")
    assert code == 0
    [event] = json.loads(out)
    assert event["case_id"] == cid and event["kind"] == "returned"
    assert event["owner_after"] == "queue:frontline"
    code, out, _ = run(env, "remove-agent", "bo", "--by", "root")
    assert code == 0 and "owned no unclosed case" in out


def test_policy_preview_and_migrate(env: dict[str, str], tmp_path: Path) -> None:
    cid = opened(env)
    text = Path(env["ESCALATE_POLICY"]).read_text(encoding="utf-8")
    assert 'resolution = "5d"' in text
    faster = tmp_path / "faster.toml"
    faster.write_text(text.replace('resolution = "5d"', 'resolution = "2d"'), encoding="utf-8")
    code, out, _ = run(env, "policy", "preview", str(faster))
    assert code == 0 and f"{cid}: " in out and "resolution" in out
    assert out.strip().endswith("1 of 1 unclosed cases would change")
    code, out, _ = run(env, "policy", "migrate", str(faster), "--json")
    assert code == 1 and "--yes" in json.loads(out)["error"]
    assert len(json.loads(run(env, "show", cid, "--json")[1])["events"]) == 1
    code, out, _ = run(env, "policy", "migrate", str(faster), "--yes", "--by", "admin",
                       "--json")
    assert code == 0
    [event] = json.loads(out)
    assert event["case_id"] == cid and event["kind"] == "noted"
    code, out, _ = run(env, "policy", "preview", str(faster), "--policy", str(faster))
    assert out.strip().endswith("0 of 1 unclosed cases would change")


def test_verbose_worker_logs_no_third_party_debug_lines(env: dict[str, str]) -> None:
    opened(env)
    root = logging.getLogger()
    before = (root.level, list(root.handlers), logging.getLogger("transitions").level)
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep(level=logging.DEBUG)
    root.addHandler(keep)
    try:
        code, _, _ = run(env, "-vv", "worker", "--once")
        assert code == 0
        desk = Desk(Policy.from_toml(env["ESCALATE_POLICY"]), store="memory://",
                    clock=ManualClock(), autoload_plugins=False)
        desk.claim(desk.open(title="t", customer="c").id, by="ana")  # transitions at work
    finally:
        root.removeHandler(keep)
        root.setLevel(before[0])
        logging.getLogger("transitions").setLevel(before[2])
    assert any(r.name.startswith("escalate") for r in records)
    assert not [r for r in records if r.name.startswith("transitions")]


def test_the_demo_removes_its_temporary_folder() -> None:
    folder = Path(tempfile.gettempdir())
    before = set(folder.glob("escalate-demo-*"))
    code, out, _ = run({"ESCALATE_DISABLE_PLUGIN_AUTOLOAD": "1"}, "demo")
    assert code == 0 and "all invariants hold" in out
    assert set(folder.glob("escalate-demo-*")) == before
    assert "times are UTC" in out


def test_realert_subjects_do_not_repeat_themselves() -> None:
    from escalate.model import EventKind
    from escalate.notify import HEADLINES
    assert HEADLINES[EventKind.REALERTED] == "{reason}"


def _leaf_commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _leaf_commands(command, f"{prefix}{name} ")
        else:
            found.append((prefix + name, command))
    return found


def test_every_command_takes_json() -> None:
    commands = _leaf_commands(main)
    assert len(commands) >= 25
    lacking = [name for name, command in commands
               if "--json" not in {o for p in command.params for o in getattr(p, "opts", [])}]
    assert lacking == []


def test_init_diagram_and_demo_speak_json(tmp_path: Path) -> None:
    target = tmp_path / "policy.toml"
    code, out, _ = run({}, "init", str(target), "--json")
    assert code == 0 and json.loads(out) == {"wrote": str(target)}
    code, out, _ = run({}, "init", str(target), "--json")
    assert code == 2 and json.loads(out)["kind"] == "UsageError"
    code, out, _ = run({}, "diagram", "--json")
    assert code == 0 and json.loads(out)["mermaid"].startswith("stateDiagram-v2")
    code, out, _ = run({"ESCALATE_DISABLE_PLUGIN_AUTOLOAD": "1"}, "demo", "--json")
    week = json.loads(out)
    assert code == 0 and week["problems"] == [] and len(week["cases"]) == 4


def test_policy_migrate_maps_a_renamed_tier(env: dict[str, str], tmp_path: Path) -> None:
    cid = opened(env)
    text = Path(env["ESCALATE_POLICY"]).read_text(encoding="utf-8")
    assert 'name = "frontline"' in text
    renamed = tmp_path / "renamed.toml"
    renamed.write_text(text.replace('name = "frontline"', 'name = "first_line"'),
                       encoding="utf-8")
    code, out, _ = run(env, "policy", "migrate", str(renamed), "--yes", "--by", "admin",
                       "--json")
    assert code == 1 and json.loads(out)["kind"] == "InvalidInput"
    code, out, _ = run(env, "policy", "migrate", str(renamed), "--yes", "--by", "admin",
                       "--map", "frontline", "--json")
    assert code == 1 and "OLD=NEW" in json.loads(out)["error"]
    code, out, _ = run(env, "policy", "preview", str(renamed), "--map",
                       "frontline=first_line")
    assert code == 0 and cid in out
    code, out, _ = run(env, "policy", "migrate", str(renamed), "--yes", "--by", "admin",
                       "--map", "frontline=first_line", "--json")
    assert code == 0, out
    [event] = json.loads(out)
    assert (event["tier_before"], event["tier_after"]) == ("frontline", "first_line")
