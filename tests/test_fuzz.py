"""Hostile input, fuzzed: only escalate's own errors may escape, and a refusal writes nothing."""

from __future__ import annotations

import shutil
import string
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from escalate import ConfigError, Desk, EscalateError, ManualClock, Policy
from escalate.cli import main
from escalate.testing import STANDARD_POLICY, TIMED_POLICY

ROOT = Path(__file__).resolve().parent.parent

scalars = (st.none() | st.booleans() | st.integers(-10, 10**6) | st.floats(allow_nan=True)
           | st.text(max_size=20) | st.sampled_from(["20h", "0h", "-1h", "24x7", "09:00-17:00",
                                                     "Europe/Bucharest", "Mars/Base", "ana",
                                                     "99999999999w", "400000w", "3651d",
                                                     "1e400h", "\udcff"]))
json_like = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                         max_leaves=20)
KEYS = ["max_transfers", "admins", "calendars", "sla", "ladders", "routes", "notifications",
        "tiers", "name", "members", "lead", "escalate_after", "realert_every", "warn_at",
        "calendar", "hours", "timezone", "holidays", "first_response", "resolution", "when",
        "ladder", "channels", "templates", "subject", "body", "max_attempts"]


def mutate(base: Any, draw: Any) -> Any:
    """Replace a random value somewhere in `base` with hostile data."""
    if isinstance(base, dict) and base:
        key = draw(st.sampled_from([*base, *KEYS]))
        out = dict(base)
        out[key] = mutate(base[key], draw) if key in base and draw(st.booleans()) \
            else draw(json_like)
        return out
    if isinstance(base, list) and base:
        i = draw(st.integers(0, len(base) - 1))
        return [*base[:i], mutate(base[i], draw), *base[i + 1:]]
    return draw(json_like)


@settings(max_examples=300)
@given(st.data())
def test_random_policy_documents_raise_only_config_errors(data: st.DataObject) -> None:
    document = mutate(data.draw(st.sampled_from([STANDARD_POLICY, TIMED_POLICY])), data.draw)
    try:
        Policy.from_dict(document)
    except ConfigError as exc:
        assert str(exc) and ":" in str(exc)


@settings(max_examples=200)
@given(st.text(alphabet=string.printable + "[]=\"'.", max_size=300))
def test_random_toml_text_raises_only_config_errors(text: str) -> None:
    try:
        Policy.from_toml_text(text)
    except ConfigError as exc:
        assert str(exc)


hostile_text = (st.none() | st.integers() | st.text(max_size=50)
                | st.sampled_from(["", "  ", "'; DROP TABLE cases;--", "\x00\x1f", "\ud800",
                                   "C-1\udcff", "x" * 200_001, "C-1", "ana", "root",
                                   "queue:specialists"]))
METHODS = ["claim", "respond", "transfer", "escalate", "assign", "wait", "resume", "resolve",
           "reopen", "close", "note", "get", "history", "explain", "remove_agent"]


def snapshot(desk: Desk) -> tuple[Any, ...]:
    cases = list(desk.cases())
    return (cases, [desk.history(c.id) for c in cases], desk.outbox())


@settings(max_examples=300)
@given(method=st.sampled_from(METHODS), case_id=hostile_text, by=hostile_text,
       other=hostile_text)
def test_random_arguments_to_desk_methods(method: str, case_id: Any, by: Any,
                                          other: Any) -> None:
    desk = Desk(Policy.from_dict(TIMED_POLICY), store="memory://", clock=ManualClock(),
                autoload_plugins=False)
    case = desk.open(title="t", customer="c", channel="phone")
    desk.claim(case.id, by="ana")
    before = snapshot(desk)
    target = case.id if case_id == "C-1" else case_id
    kwargs: dict[str, Any] = {
        "transfer": {"to": other, "by": by, "note": other},
        "assign": {"to": other, "by": by},
        "resolve": {"by": by, "resolution": other},
        "respond": {"by": by, "message": other},
        "escalate": {"by": by, "reason": other},
        "remove_agent": {"by": by},
        "get": {}, "history": {}, "explain": {},
    }.get(method, {"by": by})
    args = [other] if method == "note" else []
    try:
        getattr(desk, method)(target, *args, **kwargs)
    except EscalateError as exc:
        assert str(exc)
        assert snapshot(desk) == before, f"a refused {method} wrote something"
    assert desk.verify(overdue_after=None) == []


def deeply_nested(depth: int, leaf: Any) -> Any:
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


field_values = st.recursive(
    scalars | st.sampled_from(["\ud800", "x" * 100_001, "\x1b[31m"])
    | st.builds(deeply_nested, st.sampled_from([2, 30, 31, 32, 3000]), st.just("leaf")),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=8) | st.integers(0, 3) | st.just("k" * 201), inner,
                      max_size=3),
    max_leaves=8)


@settings(max_examples=150, deadline=None)
@given(fields=st.dictionaries(st.text(max_size=8) | st.just("\udcff"), field_values,
                              max_size=4)
       | st.builds(lambda depth: {"deep": deeply_nested(depth, "leaf")},
                   st.sampled_from([29, 30, 31, 32, 3000])))
def test_random_custom_fields_are_kept_or_refused_on_sqlite(tmp_path_factory: Any,
                                                            fields: dict[Any, Any]) -> None:
    url = f"sqlite:///{tmp_path_factory.mktemp('fields') / 'c.db'}"
    desk = Desk(Policy.from_dict(TIMED_POLICY), store=url, clock=ManualClock(),
                autoload_plugins=False)
    try:
        case = desk.open(title="t", customer="c", channel="phone", fields=fields)
    except EscalateError as exc:
        assert str(exc)
        assert list(desk.cases()) == [] and desk.outbox() == []
    else:
        assert desk.get(case.id).fields == case.fields
        assert desk.verify(overdue_after=None) == []
    finally:
        desk.shutdown()


@settings(max_examples=150)
@given(field=st.sampled_from(["tier", "priority", "channel", "ladder", "customer", "owner"]),
       value=hostile_text, case_id=hostile_text)
def test_random_filters_raise_only_escalate_errors(tmp_path_factory: Any, field: str,
                                                   value: Any, case_id: Any) -> None:
    url = f"sqlite:///{tmp_path_factory.mktemp('filters') / 'c.db'}"
    with Desk(Policy.from_dict(TIMED_POLICY), store=url, clock=ManualClock(),
              autoload_plugins=False) as desk:
        desk.open(title="t", customer="c", channel="phone")
        for call in (lambda: list(desk.cases(**{field: value})),
                     lambda: desk.outbox(case_id=case_id)):
            try:
                call()
            except EscalateError as exc:
                assert str(exc)


@settings(max_examples=200)
@given(st.lists(st.sampled_from(["open", "claim", "show", "list", "verify", "transfer",
                                 "--by", "ana", "zed", "--to", "queue:x", "--note", "",
                                 "--title", "t", "--customer", "c", "--json", "C-1",
                                 "--status", "nope", "--limit", "-3", "--priority", "weird",
                                 "diagram", "--help", "resolve", "--resolution",
                                 "C-1\udcff", "\x1b[2J"]),
                max_size=8))
def test_random_command_lines_never_crash(tmp_path_factory: Any, argv: list[str]) -> None:
    folder = tmp_path_factory.mktemp("cli")
    shutil.copy(ROOT / "examples" / "escalation.toml", folder / "escalation.toml")
    env = {"ESCALATE_DB": f"sqlite:///{folder / 'c.db'}",
           "ESCALATE_POLICY": str(folder / "escalation.toml"),
           "ESCALATE_DISABLE_PLUGIN_AUTOLOAD": "1"}
    result = CliRunner().invoke(main, argv, env=env)
    assert result.exit_code in (0, 1, 2, 3, 4), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)


def test_dangerous_text_is_stored_as_data(tmp_path: Path) -> None:
    desk = Desk(Policy.from_dict(STANDARD_POLICY), store=f"sqlite:///{tmp_path / 'c.db'}",
                clock=ManualClock(), autoload_plugins=False)
    nasty = ["'); DROP TABLE cases; --", "line\nbreak\r\n\ttab\x00nul\x1b[31m",
             "ünïcødé ✓ 🚒", "x" * 100_000]
    case = desk.open(title=nasty[0], customer=nasty[1], channel="phone", fields={"n": nasty})
    for text in nasty:
        desk.note(case.id, text, by="ana")
    desk.transfer(case.id, to="bo", by="ana", note=nasty[1])
    again = Desk(Policy.from_dict(STANDARD_POLICY), store=f"sqlite:///{tmp_path / 'c.db'}",
                 autoload_plugins=False)
    stored = again.get(case.id)
    assert stored.title == nasty[0] and stored.customer == nasty[1]
    assert list(stored.fields["n"]) == nasty
    assert [e.reason for e in again.history(case.id)][1:5] == nasty
    assert again.verify() == []
