"""The API integrators build on: CaseExists, expected_version=, JSON dicts, paged listing,
and one Desk shared by several threads."""

from __future__ import annotations

import inspect
import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalate import (
    Case,
    CaseExists,
    ConflictError,
    Desk,
    EscalateError,
    Event,
    InvalidInput,
    ManualClock,
    Notification,
    Store,
)
from escalate.stores.memory import MemoryStore
from escalate.testing import standard_policy

ROOT = Path(__file__).resolve().parent.parent
JSON_DOC = ROOT / "docs" / "reference" / "json.md"
ACTIONS = ["claim", "respond", "transfer", "escalate", "assign", "wait", "resume", "resolve",
           "reopen", "close", "note", "rate"]


def new(desk: Desk, **kwargs: Any) -> Case:
    return desk.open(title="printer", customer="c-1", **kwargs)


# -- CaseExists -------------------------------------------------------------------------

def test_a_second_open_of_an_id_raises_case_exists(desk: Desk) -> None:
    first = new(desk, case_id="T-1")
    with pytest.raises(CaseExists, match="'T-1' already exists") as info:
        new(desk, case_id="T-1", priority="urgent")
    assert info.value.case_id == "T-1" and isinstance(info.value, EscalateError)
    assert not isinstance(info.value, InvalidInput)  # a web app maps it to 409, not 422
    assert desk.get("T-1") == first and len(desk.history("T-1")) == 1


class _BlindStore(MemoryStore):
    """Says a case does not exist when asked before opening: a racing writer's view."""

    def get(self, case_id: str) -> Case | None:
        frame = inspect.currentframe()
        caller = frame.f_back.f_code.co_name if frame and frame.f_back else ""
        return None if caller == "open" else super().get(case_id)


def test_losing_the_race_to_open_an_id_raises_case_exists() -> None:
    desk = Desk(standard_policy(), store=_BlindStore(), clock=ManualClock(),
                autoload_plugins=False)
    first = new(desk, case_id="T-1")
    with pytest.raises(CaseExists):
        new(desk, case_id="T-1")
    assert desk.get("T-1") == first


# -- expected_version -------------------------------------------------------------------

@pytest.mark.parametrize("name", ACTIONS)
def test_every_action_takes_expected_version(name: str) -> None:
    parameter = inspect.signature(getattr(Desk, name)).parameters["expected_version"]
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY and parameter.default is None


def test_a_stale_version_raises_conflict_and_writes_nothing(desk: Desk) -> None:
    case = new(desk)
    claimed = desk.claim(case.id, by="ana", expected_version=case.version)
    assert claimed.version == case.version + 1
    with pytest.raises(ConflictError, match="after version 1") as info:
        desk.note(case.id, "stale", by="ana", expected_version=case.version)
    assert info.value.expected_version == 1 and info.value.actual_version == 2
    assert desk.get(case.id) == claimed and len(desk.history(case.id)) == 2


def test_a_lost_race_with_expected_version_is_not_retried(desk: Desk) -> None:
    case = desk.claim(new(desk).id, by="ana")
    real_commit = desk.store.commit
    calls: list[int] = []

    def racing_commit(change: Any) -> None:
        calls.append(change.expected_version)
        if len(calls) == 1:  # another writer slips in between read and commit
            real_commit_other = desk.store.commit
            desk.store.commit = real_commit  # type: ignore[method-assign]
            desk.note(case.id, "meanwhile", by="bo")
            desk.store.commit = real_commit_other  # type: ignore[method-assign]
        real_commit(change)

    desk.store.commit = racing_commit  # type: ignore[method-assign]
    with pytest.raises(ConflictError):
        desk.note(case.id, "mine", by="ana", expected_version=case.version)
    assert calls == [case.version]  # tried once, never again
    desk.store.commit = real_commit  # type: ignore[method-assign]
    assert [e.reason for e in desk.history(case.id)][-1] == "meanwhile"


def test_without_expected_version_a_lost_race_is_retried(desk: Desk) -> None:
    case = desk.claim(new(desk).id, by="ana")
    real_commit = desk.store.commit
    calls: list[int] = []

    def racing_commit(change: Any) -> None:
        calls.append(change.expected_version)
        if len(calls) == 1:
            desk.store.commit = real_commit  # type: ignore[method-assign]
            desk.note(case.id, "meanwhile", by="bo")
            desk.store.commit = racing_commit  # type: ignore[method-assign]
        real_commit(change)

    desk.store.commit = racing_commit  # type: ignore[method-assign]
    desk.note(case.id, "mine", by="ana")
    desk.store.commit = real_commit  # type: ignore[method-assign]
    assert calls == [case.version, case.version + 1]
    assert [e.reason for e in desk.history(case.id)][-2:] == ["meanwhile", "mine"]


@pytest.mark.parametrize("bad", [0, -1, 1.0, True, "2"])
def test_expected_version_must_be_a_version(desk: Desk, bad: object) -> None:
    case = new(desk)
    with pytest.raises(InvalidInput, match="expected_version"):
        desk.claim(case.id, by="ana", expected_version=bad)  # type: ignore[arg-type]
    assert desk.get(case.id) == case


# -- JSON -------------------------------------------------------------------------------

def _schemas() -> dict[str, dict[str, Any]]:
    blocks = re.findall(r"```json\n(.*?)```", JSON_DOC.read_text(encoding="utf-8"), re.S)
    schemas = [json.loads(block) for block in blocks]
    return {schema["title"]: schema for schema in schemas}


_TYPES = {"string": str, "integer": int, "object": dict, "array": list, "null": type(None),
          "number": (int, float), "boolean": bool}


def check(schema: dict[str, Any], data: dict[str, Any]) -> list[str]:
    """Problems of `data` against a flat JSON Schema: keys, required keys, types, enums."""
    properties = schema["properties"]
    problems = [f"{key} not documented" for key in data if key not in properties]
    problems += [f"{key} missing" for key in schema["required"] if key not in data]
    for key, value in data.items():
        rule = properties.get(key, {})
        if "enum" in rule and value not in rule["enum"]:
            problems.append(f"{key}={value!r} not in {rule['enum']}")
        if "type" in rule:
            kinds = rule["type"] if isinstance(rule["type"], list) else [rule["type"]]
            if not isinstance(value, tuple(_TYPES[k] for k in kinds)) or (
                    isinstance(value, bool) and "boolean" not in kinds):
                problems.append(f"{key}={value!r} is not {kinds}")
    return problems


def test_the_schema_check_finds_a_planted_fault() -> None:
    schema = _schemas()["Case"]
    assert check(schema, {"id": 3}) != []
    assert any("undocumented" in p or "not documented" in p
               for p in check(schema, {"undocumented": 1}))


def test_dicts_follow_the_documented_schemas_and_round_trip(desk: Desk) -> None:
    schemas = _schemas()
    case = desk.claim(new(desk, fields={"order": "A-1"}, by="ana").id, by="ana")
    data = json.loads(json.dumps(case.to_dict()))
    assert check(schemas["Case"], data) == []
    assert Case.from_dict(data) == case
    for event in desk.history(case.id):
        encoded = json.loads(json.dumps(event.to_dict()))
        assert check(schemas["Event"], encoded) == []
        assert Event.from_dict(encoded) == event
    rows = desk.outbox()
    assert rows, "the example policy notifies on open"
    for row in rows:
        encoded = json.loads(json.dumps(row.to_dict()))
        assert check(schemas["Notification"], encoded) == []
        assert Notification.from_dict(encoded) == row


# -- paging -----------------------------------------------------------------------------

def test_cases_is_an_iterator_and_checks_its_cursor(desk: Desk) -> None:
    a, b = new(desk), new(desk)
    listing = desk.cases()
    assert iter(listing) is listing
    assert [c.id for c in desk.cases(after=a.id)] == [b.id]
    with pytest.raises(InvalidInput, match="after="):
        desk.cases(after="C-999")


@settings(max_examples=25)
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["c-1", "c-2"])), max_size=14),
       st.integers(1, 5), st.sampled_from([None, "c-1"]))
def test_pages_concatenate_to_the_full_listing(tmp_path_factory: pytest.TempPathFactory,
                                               opens: list[tuple[int, str]], size: int,
                                               customer: str | None) -> None:
    from datetime import timedelta
    for url in ("memory://", f"sqlite:///{tmp_path_factory.mktemp('p') / 'cases.db'}"):
        clock = ManualClock()
        with Desk(standard_policy(), store=url, clock=clock, autoload_plugins=False) as desk:
            for minutes, who in opens:
                clock.advance(timedelta(minutes=minutes))  # equal times keep insertion order
                desk.open(title="t", customer=who)
            everything = [c.id for c in desk.cases(customer=customer)]
            pages: list[str] = []
            cursor: str | None = None
            while True:
                page = [c.id for c in desk.cases(customer=customer, after=cursor, limit=size)]
                pages += page
                if len(page) < size:
                    break
                cursor = page[-1]
            assert pages == everything
            assert len(everything) == sum(1 for _, who in opens
                                          if customer is None or who == customer)


def test_a_long_listing_is_read_in_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    from escalate import paging
    desk = Desk(standard_policy(), store="memory://", clock=ManualClock(),
                autoload_plugins=False)
    ids = [new(desk).id for _ in range(7)]
    reads: list[int | None] = []
    real_find = desk.store.find
    monkeypatch.setattr(desk.store, "find",
                        lambda query: reads.append(query.limit) or real_find(query))
    monkeypatch.setattr(paging, "PAGE_SIZE", 3)
    assert [c.id for c in paging.pages(desk.store, paging.CaseQuery(), 3)] == ids
    assert reads == [3, 3, 3]
    reads.clear()
    assert [c.id for c in desk.cases(limit=4)] == ids[:4]
    assert reads == [4]


def test_sqlite_lists_by_customer_and_pages_with_an_index(tmp_path: Path) -> None:
    import sqlite3
    path = tmp_path / "cases.db"
    Desk(standard_policy(), store=f"sqlite:///{path}", autoload_plugins=False).shutdown()
    db = sqlite3.connect(path)
    plans = {
        "customer": "SELECT body FROM cases WHERE customer = 'c' ORDER BY opened_at, rowid",
        "page": "SELECT body FROM cases WHERE (opened_at, rowid) > ('x', 1)"
                " ORDER BY opened_at, rowid",
        "status": "SELECT body FROM cases WHERE status IN ('open') ORDER BY opened_at, rowid",
    }
    for name, sql in plans.items():
        plan = " ".join(row[-1] for row in db.execute("EXPLAIN QUERY PLAN " + sql))
        assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, (name, plan)
    db.close()


# -- one Desk, several threads ------------------------------------------------------------

def test_threads_sharing_one_desk_on_sqlite_lose_nothing(tmp_path: Path) -> None:
    desk = Desk(standard_policy(), store=f"sqlite:///{tmp_path / 'cases.db'}",
                clock=ManualClock(), autoload_plugins=False, conflict_retries=100)
    shared = desk.claim(new(desk).id, by="ana")
    errors: list[BaseException] = []
    opened: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def work(n: int) -> None:
        try:
            start.wait()
            for i in range(10):
                case = new(desk)
                desk.claim(case.id, by="ana" if n % 2 else "bo")
                desk.note(shared.id, f"thread {n} note {i}", by="ana")
                with lock:
                    opened.append(case.id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(opened)) == 60
    notes = [e.reason for e in desk.history(shared.id) if e.kind == "noted"]
    assert sorted(notes) == sorted(f"thread {n} note {i}" for n in range(6) for i in range(10))
    assert [e.seq for e in desk.history(shared.id)] == list(range(1, 63))
    assert desk.get(shared.id).version == 62
    assert desk.verify(overdue_after=None) == []
    assert isinstance(desk.store, Store)
    desk.shutdown()
