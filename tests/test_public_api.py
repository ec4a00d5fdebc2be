"""The public names: what `import escalate` offers is exactly what DESIGN.md relies on, plus a
short, written-out list of extras."""

from __future__ import annotations

import inspect

import attrs
import pytest

import escalate

#: Names DESIGN.md uses: the API sketch, the vocabulary, the error tree and the policy types.
DESIGN_NAMES = {
    "Desk", "Policy", "ManualClock", "Clock",
    "Ladder", "Tier", "SlaTarget", "BusinessHours",
    "Status", "EventKind", "Agent", "Queue",
    "EscalateError", "InvalidTransition", "NotAuthorized", "CaseNotFound", "ConflictError",
    "ConfigError", "StorageError", "CaseExists",
}

#: Public beyond DESIGN.md: value types of the model and store interface, the argument error,
#: the system clock, the plugin marker and the report value.
EXTRAS = {
    "Action", "Case", "ClockState", "Event", "Owner", "Route", "Report",
    "CaseQuery", "Change", "Notification", "Store", "Timer", "AvailabilityChange", "Schedule",
    "InvalidInput", "SystemClock", "hookimpl",
}


def test_all_is_sorted_and_unique() -> None:
    assert escalate.__all__ == sorted(escalate.__all__)
    assert len(escalate.__all__) == len(set(escalate.__all__))


def test_every_name_in_all_exists() -> None:
    for name in escalate.__all__:
        assert getattr(escalate, name, None) is not None, name


def test_all_is_exactly_the_design_names_plus_the_extras() -> None:
    assert not DESIGN_NAMES & EXTRAS
    assert set(escalate.__all__) == DESIGN_NAMES | EXTRAS


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from escalate import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(escalate.__all__)


def test_version_is_a_string() -> None:
    assert isinstance(escalate.__version__, str) and escalate.__version__.count(".") >= 1


def test_desk_signature_matches_design() -> None:
    params = inspect.signature(escalate.Desk).parameters
    assert list(params)[:3] == ["policy", "store", "clock"]
    assert params["store"].default == "sqlite:///cases.db"
    assert params["clock"].default is None


DESK_METHODS = ["open", "claim", "respond", "transfer", "escalate", "assign", "wait", "resume",
                "resolve", "reopen", "close", "note", "get", "history", "cases", "tick",
                "dispatch", "run_worker", "remove_agent"]


@pytest.mark.parametrize("method", DESK_METHODS)
def test_desk_has_every_design_method(method: str) -> None:
    assert callable(getattr(escalate.Desk, method, None)), method


def test_desk_has_report() -> None:
    params = inspect.signature(escalate.Desk.report).parameters
    assert "since" in params and "until" in params


def test_design_attribute_names() -> None:
    case_fields = {f.name for f in attrs.fields(escalate.Case)}
    assert {"id", "status", "owner", "tier", "contact", "transfers", "priority", "channel",
            "version", "title", "customer"} <= case_fields
    event_fields = {f.name for f in attrs.fields(escalate.Event)}
    assert {"case_id", "seq", "at", "kind", "actor", "owner_before", "owner_after",
            "status_before", "status_after", "reason"} <= event_fields
    for name in ("now", "advance", "set"):
        assert callable(getattr(escalate.ManualClock, name))
    for name in ("from_toml", "from_dict", "to_dict"):
        assert callable(getattr(escalate.Policy, name))
    assert escalate.Agent("ana").name == "ana" and escalate.Queue("q").name == "q"


def test_error_tree_is_public() -> None:
    for name in ("InvalidTransition", "NotAuthorized", "CaseNotFound", "ConflictError",
                 "ConfigError", "StorageError", "InvalidInput"):
        assert issubclass(getattr(escalate, name), escalate.EscalateError)


def test_hookimpl_marks_escalate_hooks() -> None:
    assert escalate.hookimpl.project_name == "escalate"
