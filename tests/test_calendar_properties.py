"""Properties of business-time arithmetic over random calendars, zones, instants and durations."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalate.calendars import BusinessHours

ZONES = ["UTC", "Europe/Bucharest", "America/New_York", "Australia/Lord_Howe"]
TICK = timedelta(microseconds=1)

# Every UTC offset change of the three DST zones in 2026 (Lord Howe moves by 30 minutes).
TRANSITIONS = [
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),    # Bucharest 03:00 -> 04:00
    datetime(2026, 10, 25, 1, 0, tzinfo=UTC),   # Bucharest 04:00 -> 03:00
    datetime(2026, 3, 8, 7, 0, tzinfo=UTC),     # New York 02:00 -> 03:00
    datetime(2026, 11, 1, 6, 0, tzinfo=UTC),    # New York 02:00 -> 01:00
    datetime(2026, 4, 4, 15, 0, tzinfo=UTC),    # Lord Howe 02:00 -> 01:30
    datetime(2026, 10, 3, 15, 30, tzinfo=UTC),  # Lord Howe 02:00 -> 02:30
]

PROPERTY = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def minute_to_time(minute: int) -> time:
    """Minutes after midnight as a time; 1440 (24:00) is written time(0), as an end."""
    return time(0) if minute == 1440 else time(minute // 60, minute % 60)


# Boundaries on quarter hours hit the DST gaps and folds often (01:00-03:00 local);
# arbitrary minutes cover the rest.
boundary = st.one_of(
    st.integers(0, 96).map(lambda quarter: quarter * 15),
    st.sampled_from([60, 90, 105, 120, 135, 150, 165, 180, 210, 240]),
    st.integers(0, 1440),
)


@st.composite
def day_ranges(draw: st.DrawFn) -> tuple[tuple[time, time], ...]:
    """One to three ordered, non-overlapping ranges (a split day when more than one)."""
    points = sorted(draw(st.lists(boundary, min_size=2, max_size=6, unique=True)))
    pairs = zip(points[0::2], points[1::2], strict=False)
    return tuple((minute_to_time(a), minute_to_time(b)) for a, b in pairs)


holiday_dates = st.frozensets(st.dates(date(2025, 12, 1), date(2027, 6, 30)), max_size=40)

office_calendars = st.builds(
    BusinessHours,
    timezone=st.sampled_from(ZONES),
    weekly=st.dictionaries(st.integers(0, 6), day_ranges(), min_size=1, max_size=7),
    holidays=holiday_dates,
    holiday_country=st.sampled_from([None, None, "RO"]),
)
always_calendars = st.builds(BusinessHours.always, st.sampled_from(ZONES))
calendars = st.one_of(office_calendars, office_calendars, office_calendars, always_calendars)

# Local wall-clock times in the calendar zones, including both sides of every fold.
local_instants = st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31),
                              allow_imaginary=False,
                              timezones=st.sampled_from([ZoneInfo(zone) for zone in ZONES]))
# The properties do arithmetic on the instants, and Python adds and compares datetimes of one
# zone by wall time, so they get UTC; test_local_inputs_mean_their_instant covers the rest.
instants = st.one_of(
    st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31), timezones=st.just(UTC)),
    local_instants.map(lambda moment: moment.astimezone(UTC)),
    # Instants right around a DST change.
    st.builds(lambda moment, seconds: moment + timedelta(seconds=seconds),
              st.sampled_from(TRANSITIONS), st.integers(-6 * 3600, 6 * 3600)),
)

durations = st.one_of(
    st.integers(0, 80 * 60).map(lambda minutes: timedelta(minutes=minutes)),
    st.timedeltas(timedelta(0), timedelta(hours=80)),
    st.just(timedelta(0)),
)


@PROPERTY
@given(calendars, instants, durations, durations)
def test_add_is_additive(cal: BusinessHours, start: datetime, d1: timedelta,
                         d2: timedelta) -> None:
    assert cal.add(cal.add(start, d1), d2) == cal.add(start, d1 + d2)


@PROPERTY
@given(calendars, instants, durations, durations)
def test_add_is_monotone_in_duration(cal: BusinessHours, start: datetime, d1: timedelta,
                                     d2: timedelta) -> None:
    short, long = sorted([d1, d2])
    assert cal.add(start, short) <= cal.add(start, long)
    if short < long:
        # More business time always needs a strictly later deadline.
        assert cal.add(start, short) < cal.add(start, long)


@PROPERTY
@given(calendars, instants, instants, durations)
def test_add_is_monotone_in_start(cal: BusinessHours, a: datetime, b: datetime,
                                  duration: timedelta) -> None:
    early, late = sorted([a, b])
    assert cal.add(early, duration) <= cal.add(late, duration)


@PROPERTY
@given(calendars, instants, durations)
def test_between_inverts_add(cal: BusinessHours, start: datetime, duration: timedelta) -> None:
    due = cal.add(start, duration)
    assert due.tzinfo is UTC
    assert due >= start
    assert cal.between(start, due) == duration


@PROPERTY
@given(office_calendars, instants, durations.filter(lambda d: d > timedelta(0)))
def test_deadline_lies_in_a_window_or_at_its_end(cal: BusinessHours, start: datetime,
                                                 duration: timedelta) -> None:
    due = cal.add(start, duration)
    nearby = list(cal.windows(due - timedelta(days=2), due + TICK))
    assert any(opening < due <= closing for opening, closing in nearby)
    # ...and it is the earliest such instant: one microsecond earlier is not enough.
    assert cal.between(start, due - TICK) == duration - TICK
    if not cal.is_open(due):
        assert any(closing == due for _, closing in nearby)


@PROPERTY
@given(calendars, instants, instants, instants)
def test_between_is_additive_over_a_split_point(cal: BusinessHours, a: datetime, b: datetime,
                                                c: datetime) -> None:
    low, middle, high = sorted([a, b, c])
    whole = cal.between(low, high)
    assert whole == cal.between(low, middle) + cal.between(middle, high)
    assert cal.between(high, low) == timedelta(0)
    assert timedelta(0) <= whole <= high - low


@PROPERTY
@given(calendars, instants, durations)
def test_explain_agrees_with_add(cal: BusinessHours, start: datetime,
                                 duration: timedelta) -> None:
    explanation = cal.explain(start, duration)
    assert explanation.due == cal.add(start, duration)
    assert sum((b - a for a, b in explanation.windows), timedelta(0)) == duration
    for (_, previous_end), (next_start, _) in zip(
            explanation.windows, explanation.windows[1:], strict=False):
        assert previous_end <= next_start
    for day, reason in explanation.skipped:
        assert reason.startswith(("closed: ", "holiday: "))
        assert not cal.between(*_local_day(cal, day))
    lines = explanation.lines()
    assert lines[0].startswith("start ") and lines[-1].startswith("due ")


@PROPERTY
@given(calendars, instants)
def test_is_open_matches_windows(cal: BusinessHours, moment: datetime) -> None:
    assert cal.is_open(moment) == (cal.between(moment, moment + TICK) == TICK)
    assert cal.is_open(moment) == bool(list(cal.windows(moment, moment + TICK)))


@PROPERTY
@given(calendars, local_instants, durations)
def test_local_inputs_mean_their_instant(cal: BusinessHours, moment: datetime,
                                         duration: timedelta) -> None:
    instant = moment.astimezone(UTC)
    later = instant + duration
    assert cal.add(moment, duration) == cal.add(instant, duration)
    assert cal.between(moment, later) == cal.between(instant, later)
    assert cal.between(later, moment) == cal.between(later, instant)
    assert cal.is_open(moment) == cal.is_open(instant)
    assert list(cal.windows(moment, later)) == list(cal.windows(instant, later))


@PROPERTY
@given(calendars)
def test_config_round_trip(cal: BusinessHours) -> None:
    assert BusinessHours.from_config(cal.to_config(), "calendars.x") == cal


@PROPERTY
@given(st.sampled_from(ZONES[1:]), st.sampled_from(TRANSITIONS),
       st.integers(-1, 1), st.integers(0, 1439))
def test_window_boundary_is_first_instant_the_wall_clock_reaches_it(
        zone_name: str, transition: datetime, day_shift: int, minute: int) -> None:
    # Independent reference: scan every minute for the earliest instant whose local wall
    # time is at or past the boundary. That is the first occurrence of an ambiguous time
    # and the end of the gap for a time that does not exist.
    zone = ZoneInfo(zone_name)
    day = transition.astimezone(zone).date() + timedelta(days=day_shift)
    opening = minute_to_time(minute)
    cal = BusinessHours(timezone=zone_name, weekly={day.weekday(): ((opening, time(0)),)})
    wall = datetime.combine(day, opening)
    probe = wall.replace(tzinfo=UTC) - timedelta(hours=12)
    while probe.astimezone(zone).replace(tzinfo=None) < wall:
        probe += timedelta(minutes=1)
    midnight = datetime.combine(day, time(0), tzinfo=UTC)
    found = list(cal.windows(midnight - timedelta(days=1), midnight + timedelta(days=2)))
    assert found[0][0] == probe


def _local_day(cal: BusinessHours, day: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(cal.timezone)
    return (datetime.combine(day, time(0), tzinfo=zone),
            datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone))
