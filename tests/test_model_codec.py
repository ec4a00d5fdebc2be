"""Value objects and their codec: str enums, owners, dict round trips of cases, events and
clocks (property-based), and clocks that refuse to run backwards or without a time zone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import (
    Agent,
    Case,
    ClockState,
    Desk,
    Event,
    EventKind,
    ManualClock,
    Queue,
    Status,
)
from escalate.clock import SystemClock, as_utc
from escalate.codec import (
    case_from_dict,
    case_to_dict,
    clock_from_dict,
    clock_to_dict,
    event_from_dict,
    event_to_dict,
    format_time,
    parse_time,
)
from escalate.model import parse_owner
from escalate.testing import standard_policy

# -- enums --------------------------------------------------------------------------------------


def test_status_and_event_kind_are_str_enums() -> None:
    assert Status.OPEN == "open" and isinstance(Status.OPEN, str)
    assert EventKind.ESCALATED == "escalated" and isinstance(EventKind.ESCALATED, str)
    assert Status("waiting") is Status.WAITING
    assert f"{Status.RESOLVED}" == "resolved" and str(EventKind.NOTED) == "noted"
    assert json.dumps({"s": Status.CLOSED}) == '{"s": "closed"}'
    assert [s.value for s in Status] == ["open", "active", "waiting", "resolved", "closed"]
    assert {k.value for k in EventKind} == {
        "opened", "claimed", "responded", "transferred", "escalated", "assigned", "waited",
        "resumed", "resolved", "reopened", "closed", "noted", "warned", "breached",
        "realerted", "returned", "rated", "updated"}


def test_case_status_compares_with_plain_text(tmp_path: Path) -> None:
    for url in ("memory://", f"sqlite:///{tmp_path / 'cases.db'}"):
        with Desk(standard_policy(), store=url, clock=ManualClock(),
                  autoload_plugins=False) as desk:
            case = desk.open(title="t", customer="c", channel="web")
            stored = desk.get(case.id)
            assert stored.status == "open" and stored.status is Status.OPEN
            assert desk.history(case.id)[0].kind == "opened"
            assert desk.history(case.id)[0].kind is EventKind.OPENED


# -- owners -------------------------------------------------------------------------------------


def test_owners_format_and_parse() -> None:
    assert Agent("ana").ref == "agent:ana" and str(Agent("ana")) == "ana"
    assert Queue("frontline").ref == "queue:frontline"
    assert str(Queue("frontline")) == "frontline queue"
    assert parse_owner("agent:ana") == Agent("ana")
    assert parse_owner("queue:frontline") == Queue("frontline")
    assert parse_owner("agent:a:b") == Agent("a:b")
    assert Agent("x") != Queue("x")
    assert Agent("ana").name == "ana" and Queue("q").name == "q"


@pytest.mark.parametrize("ref", ["ana", "agent:", "queue:", "robot:r2", "", ":ana",
                                 "Agent:ana"])
def test_bad_owner_references(ref: str) -> None:
    with pytest.raises(ValueError, match="'agent:NAME' or 'queue:NAME'"):
        parse_owner(ref)


NAMES = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)
OWNERS = st.one_of(st.builds(Agent, NAMES), st.builds(Queue, NAMES))


@given(OWNERS)
def test_owner_refs_round_trip(owner: Agent | Queue) -> None:
    assert parse_owner(owner.ref) == owner
    assert type(parse_owner(owner.ref)) is type(owner)


# -- dict round trips ---------------------------------------------------------------------------

ZONES = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))])
TIMES = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1),
                     timezones=ZONES)
OPT_TIMES = st.none() | TIMES
SPANS = st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=1000))
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
FIELDS = st.dictionaries(TEXT, JSON, max_size=5)

CLOCKS = st.builds(
    ClockState, name=st.sampled_from(["first_response", "resolution", "tier"]), target=SPANS,
    calendar=st.sampled_from(["", "office", "always"]), started_at=TIMES, due_at=OPT_TIMES,
    remaining=st.none() | SPANS, warn_at=OPT_TIMES,
    warn_fraction=st.none() | st.floats(min_value=0.01, max_value=0.99),
    warned=st.booleans(), breached=st.booleans(), stopped_at=OPT_TIMES,
    alerts=st.integers(0, 1000))

CASES = st.builds(
    Case, id=NAMES, title=TEXT, customer=TEXT, channel=TEXT, priority=TEXT,
    status=st.sampled_from(Status), owner=OWNERS, ladder=NAMES, tier=NAMES, opened_at=TIMES,
    updated_at=TIMES, tier_entered_at=TIMES, version=st.integers(1, 10**6),
    contact=st.none() | NAMES, category=st.none() | TEXT, sla=st.none() | NAMES,
    transfers=st.integers(0, 99), escalations=st.integers(0, 99),
    first_response_at=OPT_TIMES, resolved_at=OPT_TIMES, closed_at=OPT_TIMES,
    resolution=st.none() | TEXT, policy_version=TEXT,
    clocks=st.lists(CLOCKS, max_size=3).map(tuple), fields=FIELDS)

EVENTS = st.builds(
    Event, case_id=NAMES, seq=st.integers(1, 10**6), at=TIMES, kind=st.sampled_from(EventKind),
    actor=st.none() | NAMES, owner_before=st.none() | OWNERS, owner_after=OWNERS,
    status_before=st.none() | st.sampled_from(Status), status_after=st.sampled_from(Status),
    tier_before=st.none() | NAMES, tier_after=st.none() | NAMES, reason=st.none() | TEXT,
    data=FIELDS)


def through_json(data: dict[str, Any]) -> dict[str, Any]:
    """What a store keeps: the dict as JSON text, read back."""
    text = json.dumps(data, ensure_ascii=False)
    text.encode("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


@given(CLOCKS)
def test_clock_round_trip(clock: ClockState) -> None:
    again = clock_from_dict(through_json(clock_to_dict(clock)))
    assert again == clock
    for moment in (again.started_at, again.due_at, again.warn_at, again.stopped_at):
        assert moment is None or moment.utcoffset() == timedelta(0)


@given(CASES)
def test_case_round_trip(case: Case) -> None:
    again = case_from_dict(through_json(case_to_dict(case)))
    assert again == case
    assert dict(again.fields) == dict(case.fields)
    assert again.clocks == case.clocks
    assert again.opened_at.tzinfo is not None and again.opened_at.utcoffset() == timedelta(0)
    assert case_to_dict(again) == case_to_dict(case)


@given(EVENTS)
def test_event_round_trip(event: Event) -> None:
    again = event_from_dict(through_json(event_to_dict(event)))
    assert again == event
    assert again.at.utcoffset() == timedelta(0)
    assert type(again.owner_after) is type(event.owner_after)


def test_case_from_an_older_dict_gets_defaults() -> None:
    case = Case(id="C-1", title="t", customer="c", channel="web", priority="normal",
                status=Status.OPEN, owner=Queue("frontline"), ladder="support",
                tier="frontline", opened_at=datetime(2026, 1, 5, tzinfo=UTC),
                updated_at=datetime(2026, 1, 5, tzinfo=UTC),
                tier_entered_at=datetime(2026, 1, 5, tzinfo=UTC), version=1)
    data = case_to_dict(case)
    for optional in ("category", "sla", "contact", "first_response_at", "resolved_at",
                     "closed_at", "resolution", "policy_version", "clocks", "fields"):
        data.pop(optional)
    assert case_from_dict(data) == case


def test_stored_times_are_fixed_width_utc_text() -> None:
    moment = datetime(2026, 3, 29, 3, 30, tzinfo=timezone(timedelta(hours=3)))
    assert format_time(moment) == "2026-03-29T00:30:00.000000+00:00"
    earlier, later = (format_time(datetime(2026, 1, 1, 9, tzinfo=UTC)),
                      format_time(datetime(2026, 1, 1, 10, 0, 0, 1, tzinfo=UTC)))
    assert len(earlier) == len(later) and earlier < later
    assert parse_time("2026-03-29T03:30:00+03:00") == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert parse_time("2026-03-29T03:30:00+03:00").tzinfo is UTC


def test_naive_stored_time_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        parse_time("2026-03-29T03:30:00")


# -- clocks ---------------------------------------------------------------------------------------


def test_manual_clock_defaults_and_moves_forward() -> None:
    clock = ManualClock()
    assert clock.now() == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert clock.advance(timedelta(hours=2)) == datetime(2026, 1, 5, 11, 0, tzinfo=UTC)
    assert clock.advance(timedelta(0)) == clock.now()
    bucharest = timezone(timedelta(hours=2))
    target = datetime(2026, 1, 6, 9, 0, tzinfo=bucharest)
    assert clock.set(target) == target
    assert clock.now().utcoffset() == timedelta(0) and clock.now() == target
    assert clock.set(clock.now()) == target  # setting the same instant is fine


def test_manual_clock_refuses_to_go_backwards() -> None:
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    before = clock.now()
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(timedelta(microseconds=-1))
    assert clock.now() == before
    with pytest.raises(ValueError, match="only moves forward"):
        clock.set(before - timedelta(seconds=1))
    assert clock.now() == before


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 3, 2, 9, 0)
    with pytest.raises(ValueError, match="naive datetime"):
        ManualClock(naive)
    clock = ManualClock()
    with pytest.raises(ValueError, match=r"tzinfo=timezone\.utc"):
        clock.set(naive)
    assert clock.now() == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="naive"):
        as_utc(naive)
    assert as_utc(datetime(2026, 1, 1, 2, tzinfo=timezone(timedelta(hours=2)))) == datetime(
        2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("url", ["memory://", "sqlite"])
def test_desk_refuses_naive_times_for_tick_and_dispatch(url: str, tmp_path: Path) -> None:
    store = url if url == "memory://" else f"sqlite:///{tmp_path / 'cases.db'}"
    with Desk(standard_policy(), store=store, clock=ManualClock(),
              autoload_plugins=False) as desk:
        desk.open(title="t", customer="c", channel="web")
        with pytest.raises(ValueError, match="naive"):
            desk.tick(datetime(2026, 3, 2, 9, 0))
        with pytest.raises(ValueError, match="naive"):
            desk.dispatch(datetime(2026, 3, 2, 9, 0))


@pytest.mark.parametrize("url", ["memory://", "sqlite"])
def test_desk_refuses_naive_times_for_events(url: str, tmp_path: Path) -> None:
    store = url if url == "memory://" else f"sqlite:///{tmp_path / 'cases.db'}"
    with Desk(standard_policy(), store=store, clock=ManualClock(),
              autoload_plugins=False) as desk:
        desk.open(title="t", customer="c", channel="web")
        with pytest.raises(ValueError, match="naive"):
            list(desk.events(since=datetime(2026, 1, 1)))
        with pytest.raises(ValueError, match="naive"):
            list(desk.events(until=datetime(2027, 1, 1)))


def test_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
    assert abs(now - datetime.now(UTC)) < timedelta(minutes=1)
