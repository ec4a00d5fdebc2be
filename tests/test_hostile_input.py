"""Input that used to escape as a raw Python exception now raises escalate's own error.

Each test feeds one kind of hostile input through the public API or the CLI and checks the
typed error, that its message says what to fix, and that nothing was written.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from escalate import (
    CaseNotFound,
    ConfigError,
    Desk,
    InvalidInput,
    ManualClock,
    Policy,
    StorageError,
)
from escalate.cli import main
from escalate.inputs import MAX_FIELD_DEPTH, MAX_FIELDS_SIZE, MAX_TEXT
from escalate.stores.sqlite import SqliteStore
from escalate.testing import TIMED_POLICY, timed_policy

ROOT = Path(__file__).resolve().parent.parent
SURROGATE_ID = "C-\udcff"  # what a shell passes for the bytes b"C-\xff" on Linux


@pytest.fixture(params=["memory", "sqlite"])
def desk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Desk]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'c.db'}"
    with Desk(timed_policy(), store=url, clock=ManualClock(), autoload_plugins=False) as desk:
        desk.open(title="Invoice is wrong", customer="c-17", channel="phone", by="ana")
        yield desk


def snapshot(desk: Desk) -> tuple[Any, ...]:
    cases = list(desk.cases())
    return (cases, [desk.history(c.id) for c in cases], [desk.store.timers(c.id) for c in cases],
            desk.outbox(), list(desk.store.case_ids()))


def refused(desk: Desk, error: type[Exception], call: Any, *fragments: str) -> Exception:
    before = snapshot(desk)
    with pytest.raises(error) as info:
        call()
    assert snapshot(desk) == before, "a refused call wrote something"
    for fragment in fragments:
        assert fragment in str(info.value), f"{fragment!r} not in {info.value}"
    return info.value


# -- lone surrogates in case ids and filters ------------------------------------------------


@pytest.mark.parametrize("call", ["get", "history", "claim", "explain", "note"])
def test_a_case_id_with_a_lone_surrogate_is_not_found(desk: Desk, call: str) -> None:
    calls = {
        "get": lambda: desk.get(SURROGATE_ID),
        "history": lambda: desk.history(SURROGATE_ID),
        "claim": lambda: desk.claim(SURROGATE_ID, by="ana"),
        "explain": lambda: desk.explain(SURROGATE_ID),
        "note": lambda: desk.note(SURROGATE_ID, "hello", by="ana"),
    }
    error = refused(desk, CaseNotFound, calls[call], "invalid Unicode")
    assert isinstance(error, CaseNotFound)


@pytest.mark.parametrize("field", ["tier", "priority", "channel", "ladder", "customer", "owner"])
def test_a_filter_with_a_lone_surrogate_is_invalid_input(desk: Desk, field: str) -> None:
    refused(desk, InvalidInput, lambda: desk.cases(**{field: "x\ud800"}), field,
            "invalid Unicode")


def test_an_outbox_filter_with_a_lone_surrogate_is_invalid_input(desk: Desk) -> None:
    refused(desk, InvalidInput, lambda: desk.outbox(case_id=SURROGATE_ID), "case_id",
            "invalid Unicode")
    refused(desk, InvalidInput, lambda: desk.retry_notification("k\ud800"), "invalid Unicode")


def test_the_sqlite_store_turns_unencodable_text_into_a_storage_error(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "c.db")
    try:
        with pytest.raises(StorageError, match="invalid Unicode"):
            store.get(SURROGATE_ID)
        with pytest.raises(StorageError, match="invalid Unicode"):
            store.notifications(case_id=SURROGATE_ID)
    finally:
        store.close()


def _cli_env(tmp_path: Path) -> dict[str, str]:
    policy = tmp_path / "escalation.toml"
    policy.write_text((ROOT / "examples" / "escalation.toml").read_text(encoding="utf-8"),
                      encoding="utf-8")
    return {"ESCALATE_DB": f"sqlite:///{tmp_path / 'c.db'}", "ESCALATE_POLICY": str(policy),
            "ESCALATE_DISABLE_PLUGIN_AUTOLOAD": "1"}


@pytest.mark.parametrize("argv", [["show", SURROGATE_ID], ["claim", SURROGATE_ID, "--by", "ana"],
                                  ["list", "--tier", "x\udcff"]])
def test_the_cli_prints_one_line_for_a_surrogate_argument(tmp_path: Path,
                                                          argv: list[str]) -> None:
    env = _cli_env(tmp_path)
    assert CliRunner().invoke(main, ["open", "--title", "t", "--customer", "c"],
                              env=env).exit_code == 0
    result = CliRunner().invoke(main, argv, env=env)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.output.count("\n") == 1 and result.output.startswith("error: ")
    assert "invalid Unicode" in result.output


def test_with_json_the_error_for_a_surrogate_argument_is_one_object(tmp_path: Path) -> None:
    env = _cli_env(tmp_path)
    result = CliRunner().invoke(main, ["show", SURROGATE_ID, "--json"], env=env)
    assert result.exit_code == 1 and result.stderr == ""
    error = json.loads(result.stdout)
    assert error["kind"] == "CaseNotFound" and "invalid Unicode" in error["error"]


# -- custom fields: depth, size, keys and values ---------------------------------------------


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def test_deeply_nested_fields_are_refused_not_a_recursion_error(desk: Desk) -> None:
    refused(desk, InvalidInput,
            lambda: desk.open(title="t", customer="c", fields={"a": _nested(5000)}),
            "nested", str(MAX_FIELD_DEPTH))
    deep_tables: Any = {}
    for _ in range(5000):
        deep_tables = {"k": deep_tables}
    refused(desk, InvalidInput, lambda: desk.open(title="t", customer="c", fields=deep_tables),
            "nested")


def test_fields_nested_up_to_the_limit_are_kept(desk: Desk) -> None:
    fields = {"a": _nested(MAX_FIELD_DEPTH - 1)}
    case = desk.open(title="t", customer="c", fields=fields)
    assert desk.get(case.id).fields == fields


def test_a_field_value_longer_than_the_text_limit_is_refused(desk: Desk) -> None:
    refused(desk, InvalidInput,
            lambda: desk.open(title="t", customer="c", fields={"a": "x" * (MAX_TEXT + 1)}),
            "fields.a", str(MAX_TEXT))
    refused(desk, InvalidInput,
            lambda: desk.open(title="t", customer="c",
                              fields={"a": {"b": ["ok", "x" * (MAX_TEXT + 1)]}}),
            "fields.a.b[1]")


def test_field_names_are_short_text_at_every_level(desk: Desk) -> None:
    refused(desk, InvalidInput,
            lambda: desk.open(title="t", customer="c", fields={"k" * 201: 1}), "field name")
    refused(desk, InvalidInput,
            lambda: desk.open(title="t", customer="c", fields={"a": {1: "x"}}),
            "fields.a", "must be text")
    refused(desk, InvalidInput,
            lambda: desk.open(title="t", customer="c", fields={"a": {"b\ud800": 1}}),
            "invalid Unicode")


def test_fields_larger_in_total_than_the_limit_are_refused(desk: Desk) -> None:
    many = {f"f{i}": "x" * 50_000 for i in range(MAX_FIELDS_SIZE // 50_000 + 1)}
    refused(desk, InvalidInput, lambda: desk.open(title="t", customer="c", fields=many),
            "fields", str(MAX_FIELDS_SIZE))


# -- naive datetimes -------------------------------------------------------------------------


@pytest.mark.parametrize("keyword", ["since", "until"])
def test_report_with_a_naive_datetime_is_invalid_input(desk: Desk, keyword: str) -> None:
    refused(desk, InvalidInput, lambda: desk.report(**{keyword: datetime(2026, 1, 1)}),
            keyword, "time zone")


_END = datetime.max.replace(tzinfo=UTC)


@pytest.mark.parametrize("call", ["report", "tick", "dispatch", "events"])
def test_times_at_the_end_of_the_datetime_range_are_invalid_input(desk: Desk,
                                                                 call: str) -> None:
    calls = {"report": lambda: desk.report(until=_END), "tick": lambda: desk.tick(now=_END),
             "dispatch": lambda: desk.dispatch(now=_END),
             "events": lambda: list(desk.events(until=_END))}
    refused(desk, InvalidInput, calls[call], "9999-12-31", "latest time")


def test_the_start_of_the_datetime_range_still_means_from_the_beginning(desk: Desk) -> None:
    start = datetime.min.replace(tzinfo=UTC)
    assert len(list(desk.events(since=start))) == 1
    assert desk.report(since=start).period.since == start


def test_a_manual_clock_refuses_the_end_of_the_datetime_range() -> None:
    with pytest.raises(InvalidInput, match="latest time"):
        ManualClock(_END)
    with pytest.raises(InvalidInput, match="latest time"):
        ManualClock().advance(timedelta.max)
    with pytest.raises(InvalidInput, match="naive"):
        ManualClock(datetime(2026, 1, 1))


@pytest.mark.parametrize("limit", [10**30, -1, "x", 2.0])
def test_a_limit_out_of_range_is_invalid_input(desk: Desk, limit: Any) -> None:
    refused(desk, InvalidInput, lambda: desk.cases(limit=limit), "limit")
    refused(desk, InvalidInput, lambda: desk.outbox(limit=limit), "limit")


# -- policy files and durations ----------------------------------------------------------------


def test_a_policy_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "escalation.toml"
    path.write_bytes("max_transfers = 2 # caf\u00e9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        Policy.from_toml(path)


def test_a_replay_mapping_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    from escalate.replay import ReplayMapping

    path = tmp_path / "mapping.toml"
    path.write_bytes("case_id = 'n\u00famero'\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        ReplayMapping.from_toml(path)


def test_the_cli_exits_3_on_a_policy_file_that_is_not_utf8(tmp_path: Path) -> None:
    env = _cli_env(tmp_path)
    Path(env["ESCALATE_POLICY"]).write_bytes(b"# \xff\xfe\n")
    result = CliRunner().invoke(main, ["list"], env=env)
    assert result.exit_code == 3, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.output.count("\n") == 1 and "UTF-8" in result.output


def test_a_name_with_a_lone_surrogate_in_a_policy_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        Policy.from_dict(_tier_policy(members=["ana\udcff", "bo"]))
    assert info.value.path == "ladders.support.tiers[0].members[0]"
    assert "invalid Unicode" in str(info.value)


def _tier_policy(**tier0: Any) -> dict[str, Any]:
    document = copy.deepcopy(TIMED_POLICY)
    document["ladders"]["support"]["tiers"][0].update(tier0)
    return document


@pytest.mark.parametrize("value", ["99999999999w", "400000w", "3651d", "522w",
                                   "999999999999999999999999.5h"])
def test_a_tier_limit_over_ten_years_is_a_config_error(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        Policy.from_dict(_tier_policy(escalate_after=value))
    assert info.value.path == "ladders.support.tiers[0].escalate_after"
    assert "10 years" in str(info.value)


@pytest.mark.parametrize("key", ["backoff", "max_backoff", "lease", "timeout"])
def test_huge_notification_durations_are_config_errors(key: str) -> None:
    document = {**copy.deepcopy(TIMED_POLICY), "notifications": {key: "99999999999w"}}
    with pytest.raises(ConfigError) as info:
        Policy.from_dict(document)
    assert info.value.path == f"notifications.{key}"


def test_ten_years_on_an_office_calendar_is_accepted_and_opens_cases() -> None:
    policy = Policy.from_dict(_tier_policy(escalate_after="3650d"))
    desk = Desk(policy, store="memory://", clock=ManualClock(), autoload_plugins=False)
    case = desk.open(title="t", customer="c", channel="phone")
    assert desk.get(case.id).tier == "frontline"


def test_a_duration_given_in_code_is_bounded_too() -> None:
    from escalate import Ladder, Tier
    with pytest.raises(ConfigError, match="10 years") as info:
        Policy(ladders={"l": Ladder(name="l", tiers=[
            Tier(name="t", members=["a"], realert_every=timedelta(days=999_999_999))])})
    assert info.value.path == "ladders.l.tiers[0].realert_every"


def test_a_limit_a_sparse_calendar_cannot_reach_in_a_century_is_a_config_error() -> None:
    document = _tier_policy(escalate_after="3000d")
    document["calendars"]["office"]["hours"] = {"mon": "09:00-09:01"}
    with pytest.raises(ConfigError) as info:
        Policy.from_dict(document)
    assert info.value.path == "ladders.support.tiers[0].escalate_after"
    assert "calendar 'office'" in str(info.value)


# -- replay: timestamps at the edges of the datetime range, oversized CSV fields -------------


def _replay(tmp_path: Path, rows: list[list[str]]) -> Any:
    from escalate.replay import ReplayMapping, replay_csv
    from escalate.stores.memory import MemoryStore
    from escalate.verify import verify_store

    path = tmp_path / "log.csv"
    lines = ["id,when,status,agent,team", *(",".join(row) for row in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    mapping = ReplayMapping.from_dict({
        "case_id": "id", "timestamp": "when", "status": "status", "owner": "agent",
        "team": "team", "status_map": {"Working": "claim", "Solved": "resolve"},
        "team_tiers": {"Desk": "1st line"}, "timezone": "Europe/Brussels"})
    store = MemoryStore()
    result = replay_csv(path, mapping, store)
    assert list(verify_store(store)) == []
    return result, store


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
                                   "0001-01-01T00:00:00"])
def test_replay_counts_a_time_beyond_the_datetime_range_as_malformed(tmp_path: Path,
                                                                     stamp: str) -> None:
    result, store = _replay(tmp_path, [["C1", stamp, "Working", "ana", "Desk"],
                                       ["C2", "2024-03-04T09:00:00", "Working", "ana", "Desk"]])
    assert result.malformed == 1 and result.malformed_rows[0].line == 2
    assert stamp in result.malformed_rows[0].reason
    assert store.get("C1") is None and store.get("C2") is not None


def test_replay_counts_an_oversized_csv_field_as_malformed_and_reads_on(tmp_path: Path) -> None:
    huge = "x" * 140_000
    result, store = _replay(tmp_path, [["C1", "2024-03-04T09:00:00", "Working", "ana", "Desk"],
                                       ["C2", "2024-03-04T09:00:00", "Working", huge, "Desk"],
                                       ["C3", "2024-03-04T09:00:00", "Working", "bo", "Desk"]])
    assert result.malformed == 1 and result.malformed_rows[0].line == 3
    assert "131072" in result.malformed_rows[0].reason
    assert store.get("C1") is not None and store.get("C3") is not None
    assert store.get("C2") is None


# -- terminal control sequences in CLI output --------------------------------------------------

HOSTILE_TITLE = "\x1b[2J\x1b[31mred\x1b[0m\nC-99  open fake line\r\u202egnp.exe\x07"


def _has_raw_controls(text: str) -> bool:
    return any(c in text for c in "\x1b\r\x07\u202e")


def test_list_and_show_escape_control_characters_and_keep_the_data(tmp_path: Path) -> None:
    env = _cli_env(tmp_path)
    policy = Policy.from_toml(env["ESCALATE_POLICY"])
    with Desk(policy, store=env["ESCALATE_DB"], autoload_plugins=False) as desk:
        case = desk.open(title=HOSTILE_TITLE, customer="c\x1b]0;owned\x07", channel="phone")
        desk.note(case.id, "see \x1b[8mhidden\x1b[0m\nsecond line", by="ana")
    runner = CliRunner()
    # color=True: output as a terminal gets it (click strips ANSI codes only off a terminal)
    listing = runner.invoke(main, ["list"], env=env, color=True)
    assert listing.exit_code == 0, listing.output
    assert not _has_raw_controls(listing.output)
    assert listing.output.count("\n") == 2, "a header and one case, one line each"
    assert "\\x1b[31mred\\x1b[0m\\nC-99  open fake line\\r\\u202egnp.exe\\x07" in listing.output
    shown = runner.invoke(main, ["show", case.id], env=env, color=True)
    assert shown.exit_code == 0, shown.output
    assert not _has_raw_controls(shown.output)
    assert "see \\x1b[8mhidden\\x1b[0m\\nsecond line" in shown.output
    assert shown.output.count("\n") == 6, \
        "a header and the case line, a blank line, a header and two events"
    as_json = runner.invoke(main, ["show", case.id, "--json"], env=env)
    import json
    assert json.loads(as_json.output)["case"]["title"] == HOSTILE_TITLE
    with Desk(policy, store=env["ESCALATE_DB"], autoload_plugins=False) as desk:
        assert desk.get(case.id).title == HOSTILE_TITLE


def test_error_lines_escape_control_characters(tmp_path: Path) -> None:
    env = _cli_env(tmp_path)
    Path(env["ESCALATE_POLICY"]).write_text('["\\u001b[31mbad"]\nx = 1\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["list"], env=env, color=True)
    assert result.exit_code == 3, result.output
    assert "\\x1b[31mbad" in result.output
    assert not _has_raw_controls(result.output) and result.output.count("\n") == 1
