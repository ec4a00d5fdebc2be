"""On-call schedules: hand-computed rotations, DST hand-offs, overrides and properties."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import BusinessHours, ConfigError
from escalate.schedules import Layer, Override, Schedule

BUCHAREST = zoneinfo.ZoneInfo("Europe/Bucharest")
UTC = zoneinfo.ZoneInfo("UTC")


def local(text: str, zone: zoneinfo.ZoneInfo = BUCHAREST) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone).astimezone(UTC)


def specialists() -> Schedule:
    return Schedule.from_config("specialists", {
        "timezone": "Europe/Bucharest",
        "layers": [{"members": ["cy", "dan"], "rotate": "weekly",
                    "start": "2026-11-02T09:00"}],
        "overrides": [{"who": "dee", "start": "2026-12-24T09:00", "end": "2026-12-27T09:00"}],
    }, "schedules.specialists", {})


def test_weekly_rotation_hands_over_at_local_start_time() -> None:
    schedule = specialists()
    assert schedule.on_call(local("2026-11-02T08:59")) == []
    assert schedule.on_call(local("2026-11-02T09:00")) == ["cy"]
    assert schedule.on_call(local("2026-11-09T08:59")) == ["cy"]
    assert schedule.on_call(local("2026-11-09T09:00")) == ["dan"]
    assert schedule.on_call(local("2026-11-16T09:00")) == ["cy"]
    assert schedule.next_handoff(local("2026-11-03T12:00")) == local("2026-11-09T09:00")


def test_handoff_stays_at_nine_across_the_spring_change() -> None:
    schedule = specialists()
    # Bucharest moves to summer time on 2027-03-28: 09:00 is 07:00 UTC before, 06:00 after
    before = schedule.next_handoff(local("2027-03-20T12:00"))
    after = schedule.next_handoff(local("2027-03-27T12:00"))
    assert before == datetime(2027, 3, 22, 7, 0, tzinfo=UTC)
    assert after == datetime(2027, 3, 29, 6, 0, tzinfo=UTC)
    assert after.astimezone(BUCHAREST).hour == 9


def test_override_wins_over_every_layer() -> None:
    schedule = specialists()
    assert schedule.on_call(local("2026-12-24T08:59")) != ["dee"]
    assert schedule.on_call(local("2026-12-24T09:00")) == ["dee"]
    assert schedule.on_call(local("2026-12-27T08:59")) == ["dee"]
    assert schedule.on_call(local("2026-12-27T09:00")) != ["dee"]
    who = schedule.who(local("2026-12-25T12:00"))
    assert who.source == "override" and who.until == local("2026-12-27T09:00")


def test_later_layer_covers_its_hours_only() -> None:
    office = BusinessHours.from_config({"timezone": "Europe/Bucharest",
                                        "hours": {"mon": "09:00-17:00", "tue": "09:00-17:00",
                                                  "wed": "09:00-17:00", "thu": "09:00-17:00",
                                                  "fri": "09:00-17:00"}}, "calendars.office")
    schedule = Schedule.from_config("support", {
        "timezone": "Europe/Bucharest",
        "layers": [
            {"members": ["night"], "rotate": "daily", "start": "2026-11-01T00:00"},
            {"members": ["ana", "bo"], "rotate": "daily", "start": "2026-11-02T09:00",
             "hours": "office"},
        ],
    }, "schedules.support", {"office": office})
    calendars = {"office": office}
    assert schedule.on_call(local("2026-11-02T10:00"), calendars) == ["ana"]
    assert schedule.on_call(local("2026-11-03T10:00"), calendars) == ["bo"]
    assert schedule.on_call(local("2026-11-02T18:00"), calendars) == ["night"]
    assert schedule.on_call(local("2026-11-07T10:00"), calendars) == ["night"]  # Saturday
    assert schedule.next_handoff(local("2026-11-02T10:00"), calendars) == local(
        "2026-11-02T17:00")


@pytest.mark.parametrize(("table", "key"), [
    ({"layers": []}, "schedules.s.layers"),
    ({"timezone": "Mars/Olympus", "layers": []}, "schedules.s.timezone"),
    ({"layers": [{"members": [], "rotate": "daily", "start": "2026-11-02T09:00"}]},
     "schedules.s.layers[0].members"),
    ({"layers": [{"members": ["a"], "rotate": "fortnightly", "start": "2026-11-02T09:00"}]},
     "schedules.s.layers[0].rotate"),
    ({"layers": [{"members": ["a"], "rotate": "daily", "start": "next monday"}]},
     "schedules.s.layers[0].start"),
    ({"layers": [{"members": ["a"], "rotate": "daily", "start": "2026-11-02T09:00+02:00"}]},
     "schedules.s.layers[0].start"),
    ({"layers": [{"members": ["a"], "rotate": "daily", "start": "2026-11-02T09:00",
                  "hours": "nope"}]}, "schedules.s.layers[0].hours"),
    ({"layers": [{"members": ["a"], "rotate": "daily"}]}, "schedules.s.layers[0].start"),
    ({"layers": [{"members": ["a"], "rotate": "daily", "start": "2026-11-02T09:00"}],
      "overrides": [{"who": "b", "start": "2026-11-03T09:00", "end": "2026-11-03T08:00"}]},
     "schedules.s.overrides[0].end"),
    ({"layers": [{"members": ["a"], "rotate": "daily", "start": "2026-11-02T09:00"}],
      "shifts": []}, "schedules.s.shifts"),
])
def test_bad_schedule_names_the_key(table: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Schedule.from_config("s", table, "schedules.s", {})
    assert caught.value.path == key


def test_config_round_trips() -> None:
    schedule = specialists()
    again = Schedule.from_config("specialists", schedule.to_config(), "schedules.specialists",
                                 {})
    assert again == schedule


# -- properties ------------------------------------------------------------------------

ZONES = ["Europe/Bucharest", "America/New_York", "Australia/Lord_Howe", "UTC"]
BASE = datetime(2026, 1, 1)


@st.composite
def layers(draw: st.DrawFn) -> Layer:
    members = draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=4,
                            unique=True))
    rotate = draw(st.sampled_from([timedelta(days=1), timedelta(weeks=1), timedelta(hours=12),
                                   timedelta(hours=8), timedelta(days=3)]))
    start = BASE + timedelta(minutes=draw(st.integers(0, 60 * 24 * 200)) // 30 * 30)
    return Layer(members=members, rotate=rotate, start=start)


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    zone = draw(st.sampled_from(ZONES))
    drawn = draw(st.lists(layers(), min_size=1, max_size=3))
    overrides = []
    for _ in range(draw(st.integers(0, 2))):
        start = BASE + timedelta(hours=draw(st.integers(0, 24 * 400)))
        end = start + timedelta(hours=draw(st.integers(1, 24 * 10)))
        overrides.append(Override(who=draw(st.sampled_from(["x", "y"])), start=start, end=end))
    return Schedule(name="s", timezone=zone, layers=drawn, overrides=overrides)


instants = st.integers(0, 60 * 24 * 500).map(
    lambda minutes: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes))


def brute_force(schedule: Schedule, at: datetime) -> list[str]:
    """Who is on call by walking every hand-off from each layer's start."""
    zone = schedule.zone
    over = [o.who for o in schedule.overrides
            if o.start.replace(tzinfo=zone).astimezone(UTC) <= at
            < o.end.replace(tzinfo=zone).astimezone(UTC)]
    if over:
        return list(dict.fromkeys(over))
    for layer in reversed(schedule.layers):
        turn, wall = -1, layer.start
        while _instant(wall, zone) <= at:
            turn, wall = turn + 1, wall + layer.rotate
        if turn >= 0:
            return [layer.members[turn % len(layer.members)]]
    return []


def _instant(wall: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    moment = wall.replace(tzinfo=zone).astimezone(UTC)
    if moment.astimezone(zone).replace(tzinfo=None) != wall:
        moment = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return moment


@given(schedules(), instants)
def test_on_call_is_what_layers_and_overrides_say(schedule: Schedule, at: datetime) -> None:
    assert schedule.on_call(at) == brute_force(schedule, at)


@given(layers(), st.sampled_from(ZONES), st.integers(0, 400))
def test_handoffs_land_on_the_configured_local_time(layer: Layer, zone_name: str,
                                                    turn: int) -> None:
    zone = zoneinfo.ZoneInfo(zone_name)
    wall = layer.start + layer.rotate * turn
    handoff = layer.handoff(turn, zone).astimezone(zone).replace(tzinfo=None)
    if _instant(wall, zone).astimezone(zone).replace(tzinfo=None) == wall:
        assert handoff == wall  # the local time exists: the hand-off happens exactly then
    else:
        assert timedelta(0) < handoff - wall <= timedelta(hours=1)  # skipped: at the jump


@given(layers(), st.sampled_from(ZONES), st.integers(1, 6))
def test_rotation_is_fair_over_whole_cycles(layer: Layer, zone_name: str, cycles: int) -> None:
    zone = zoneinfo.ZoneInfo(zone_name)
    held: dict[str, timedelta] = dict.fromkeys(layer.members, timedelta(0))
    turns = cycles * len(layer.members)
    changes = 0
    for turn in range(turns):
        begin, end = layer.handoff(turn, zone), layer.handoff(turn + 1, zone)
        held[layer.members[turn % len(layer.members)]] += end - begin
        if begin.astimezone(zone).utcoffset() != end.astimezone(zone).utcoffset():
            changes += 1
    # each member holds the same wall-clock time; elapsed time differs by the DST shifts only
    assert max(held.values()) - min(held.values()) <= timedelta(hours=1) * changes


@given(schedules(), instants)
def test_next_handoff_is_the_next_change(schedule: Schedule, at: datetime) -> None:
    current = schedule.on_call(at)
    handoff = schedule.next_handoff(at)
    if handoff is None:
        return
    assert handoff > at
    assert schedule.on_call(handoff) != current
    step = (handoff - at) / 7
    for i in range(7):
        assert schedule.on_call(at + step * i) == current
