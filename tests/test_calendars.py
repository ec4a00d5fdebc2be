"""Business-time arithmetic: opening hours, holidays, DST, 24x7, configuration errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from escalate import calendars as calendars_module
from escalate.calendars import BusinessHours, DeadlineExplanation
from escalate.errors import ConfigError

BUCHAREST = ZoneInfo("Europe/Bucharest")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
H = timedelta(hours=1)
M = timedelta(minutes=1)

WEEKDAYS_9_TO_5 = {day: ((time(9), time(17)),) for day in range(5)}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def one_day(zone: str, weekday: int, *ranges: tuple[time, time]) -> BusinessHours:
    """A calendar open only on `weekday`, in the given ranges."""
    return BusinessHours(timezone=zone, weekly={weekday: ranges})


SUNDAY = 6


# --------------------------------------------------------------------------- the worked example


def office_with_monday_holiday() -> BusinessHours:
    return BusinessHours(timezone="Europe/Bucharest", weekly=WEEKDAYS_9_TO_5,
                         holidays=frozenset({date(2026, 1, 12)}))


def test_worked_example_friday_evening_plus_20_business_hours_is_thursday_13_00() -> None:
    # Mon-Fri 09:00-17:00 in Bucharest (UTC+2 in January), Monday 2026-01-12 is a holiday.
    # The case opens on Friday 2026-01-09 at 18:00 local: Friday's window is already over.
    #   Sat 10, Sun 11: closed.  Mon 12: holiday.
    #   Tue 13: 09:00-17:00 = 8h  (8h so far)
    #   Wed 14: 09:00-17:00 = 8h  (16h so far)
    #   Thu 15: 09:00-13:00 = 4h  (20h) -> due Thursday 13:00 local = 11:00 UTC.
    cal = office_with_monday_holiday()
    start = datetime(2026, 1, 9, 18, 0, tzinfo=BUCHAREST)
    due = cal.add(start, 20 * H)
    assert due == utc(2026, 1, 15, 11, 0)
    assert due.tzinfo is UTC
    assert due.astimezone(BUCHAREST) == datetime(2026, 1, 15, 13, 0, tzinfo=BUCHAREST)
    assert cal.between(start, due) == 20 * H

    explanation = cal.explain(start, 20 * H)
    assert explanation.due == due
    assert explanation.start == utc(2026, 1, 9, 16, 0)
    assert explanation.skipped == (
        (date(2026, 1, 10), "closed: Saturday"),
        (date(2026, 1, 11), "closed: Sunday"),
        (date(2026, 1, 12), "holiday: company holiday"),
    )
    assert explanation.windows == (
        (utc(2026, 1, 13, 7), utc(2026, 1, 13, 15)),
        (utc(2026, 1, 14, 7), utc(2026, 1, 14, 15)),
        (utc(2026, 1, 15, 7), utc(2026, 1, 15, 11)),
    )
    assert explanation.dst_shifts == ()
    assert explanation.lines() == [
        "start Fri 2026-01-09 18:00 Europe/Bucharest (2026-01-09 16:00 UTC), "
        "counting 20h of business time",
        "Sat 2026-01-10 skipped, closed: Saturday",
        "Sun 2026-01-11 skipped, closed: Sunday",
        "Mon 2026-01-12 skipped, holiday: company holiday",
        "Tue 2026-01-13 09:00-17:00 Europe/Bucharest: 8h counted",
        "Wed 2026-01-14 09:00-17:00 Europe/Bucharest: 8h counted",
        "Thu 2026-01-15 09:00-13:00 Europe/Bucharest: 4h counted",
        "due Thu 2026-01-15 13:00 Europe/Bucharest (2026-01-15 11:00 UTC)",
    ]


def test_deadline_at_the_end_of_a_window_stays_there() -> None:
    # Friday 16:00 + 1h ends exactly when Friday closes: 17:00, not Monday 09:00.
    cal = office_with_monday_holiday()
    start = datetime(2026, 1, 9, 16, 0, tzinfo=BUCHAREST)
    assert cal.add(start, H) == datetime(2026, 1, 9, 17, 0, tzinfo=BUCHAREST)
    # One more second rolls over the weekend and the Monday holiday to Tuesday 09:00:01.
    assert cal.add(start, H + timedelta(seconds=1)) == datetime(
        2026, 1, 13, 9, 0, 1, tzinfo=BUCHAREST)


def test_add_zero_returns_start_even_when_closed() -> None:
    cal = office_with_monday_holiday()
    saturday = datetime(2026, 1, 10, 12, 0, tzinfo=BUCHAREST)
    assert cal.add(saturday, timedelta(0)) == saturday
    assert cal.add(saturday, timedelta(0)).tzinfo is UTC


def test_add_from_closed_time_starts_at_next_opening() -> None:
    cal = BusinessHours(weekly=WEEKDAYS_9_TO_5)
    assert cal.add(utc(2026, 1, 10, 12), timedelta(seconds=1)) == utc(2026, 1, 12, 9, 0, 1)
    assert cal.add(utc(2026, 1, 12, 8, 59), 30 * M) == utc(2026, 1, 12, 9, 30)


def test_negative_duration_is_refused() -> None:
    cal = BusinessHours(weekly=WEEKDAYS_9_TO_5)
    with pytest.raises(ValueError, match="negative"):
        cal.add(utc(2026, 1, 12), -M)
    with pytest.raises(ValueError, match="negative"):
        BusinessHours.always().add(utc(2026, 1, 12), -M)


def test_naive_datetimes_are_refused_everywhere() -> None:
    cal = BusinessHours(weekly=WEEKDAYS_9_TO_5)
    naive = datetime(2026, 1, 12, 10)
    aware = utc(2026, 1, 12, 10)
    calls = [
        lambda: cal.add(naive, H),
        lambda: cal.between(naive, aware),
        lambda: cal.between(aware, naive),
        lambda: cal.is_open(naive),
        lambda: list(cal.windows(naive, aware)),
        lambda: cal.explain(naive, H),
        lambda: BusinessHours.always().add(naive, H),
        lambda: BusinessHours.always().between(aware, naive),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="aware"):
            call()


def test_between_counts_half_open_interval_and_is_zero_backwards() -> None:
    cal = BusinessHours(weekly=WEEKDAYS_9_TO_5)
    monday = utc(2026, 1, 12)
    assert cal.between(monday, monday + timedelta(days=7)) == 40 * H
    assert cal.between(utc(2026, 1, 12, 16), utc(2026, 1, 13, 10)) == 2 * H
    assert cal.between(utc(2026, 1, 13, 10), utc(2026, 1, 12, 16)) == timedelta(0)
    assert cal.between(utc(2026, 1, 12, 10), utc(2026, 1, 12, 10)) == timedelta(0)


def test_is_open_is_half_open() -> None:
    cal = BusinessHours(weekly=WEEKDAYS_9_TO_5)
    assert not cal.is_open(utc(2026, 1, 12, 8, 59, 59))
    assert cal.is_open(utc(2026, 1, 12, 9))
    assert cal.is_open(utc(2026, 1, 12, 16, 59, 59))
    assert not cal.is_open(utc(2026, 1, 12, 17))
    assert not cal.is_open(utc(2026, 1, 10, 12))  # Saturday


def test_split_day_windows_are_clipped_and_ordered() -> None:
    cal = BusinessHours.from_config(
        {"timezone": "Europe/Bucharest", "hours": {"fri": ["09:00-12:00", "13:00-17:00"]}},
        "calendars.office",
    )
    # Friday 2026-01-09, UTC+2: 07:00-10:00 and 11:00-15:00 UTC.
    assert list(cal.windows(utc(2026, 1, 9, 8), utc(2026, 1, 9, 12))) == [
        (utc(2026, 1, 9, 8), utc(2026, 1, 9, 10)),
        (utc(2026, 1, 9, 11), utc(2026, 1, 9, 12)),
    ]
    assert list(cal.windows(utc(2026, 1, 9, 12), utc(2026, 1, 9, 8))) == []
    # The lunch hour does not count: 11:30 local + 1h = 13:30 local.
    start = datetime(2026, 1, 9, 11, 30, tzinfo=BUCHAREST)
    assert cal.add(start, H) == datetime(2026, 1, 9, 13, 30, tzinfo=BUCHAREST)
    assert not cal.is_open(datetime(2026, 1, 9, 12, 30, tzinfo=BUCHAREST))


def test_window_ending_at_24_00_runs_until_midnight() -> None:
    cal = BusinessHours.from_config({"hours": {"mon": "22:00-24:00", "tue": "00:00-01:00"}}, "c")
    assert cal.weekly == {0: ((time(22), time(0)),), 1: ((time(0), time(1)),)}
    monday_22 = utc(2026, 1, 12, 22)
    assert cal.add(monday_22, 2 * H) == utc(2026, 1, 13, 0)
    assert cal.add(monday_22, 150 * M) == utc(2026, 1, 13, 0, 30)
    assert cal.is_open(utc(2026, 1, 12, 23, 59, 59))
    assert cal.is_open(utc(2026, 1, 13, 0))
    assert cal.to_config()["hours"] == {"mon": "22:00-24:00", "tue": "00:00-01:00"}


def test_long_durations_step_by_window_not_by_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    cal = office_with_monday_holiday()
    start = utc(2026, 1, 5, 7)
    days_read: list[date] = []
    read_day = calendars_module._day_windows

    def counting(calendar: BusinessHours, day: date) -> tuple[tuple[datetime, datetime], ...]:
        days_read.append(day)
        return read_day(calendar, day)

    monkeypatch.setattr(calendars_module, "_day_windows", counting)
    due = cal.add(start, 10_000 * H)  # 1250 working days, almost five calendar years
    assert due.year == 2030
    span = (due - start).days
    assert len(days_read) <= 2 * span + 4, "each calendar day is read about once"
    monkeypatch.undo()
    assert cal.between(start, due) == 10_000 * H


def test_add_gives_up_clearly_when_a_decade_has_no_open_time() -> None:
    # Open only on Mondays, and every Monday for twelve years is a holiday.
    mondays = frozenset(date(2026, 1, 5) + timedelta(weeks=n) for n in range(52 * 12))
    cal = BusinessHours(weekly={0: ((time(9), time(17)),)}, holidays=mondays)
    with pytest.raises(ConfigError, match="no open business time in the ten years"):
        cal.add(utc(2026, 1, 1), H)


# --------------------------------------------------------------------------- 24x7


def test_always_is_plain_arithmetic() -> None:
    cal = BusinessHours.always("Europe/Bucharest")
    assert cal.is_always
    start = utc(2026, 3, 28, 12)
    # Straight through the spring-forward night: 30h of real time.
    assert cal.add(start, 30 * H) == start + 30 * H
    assert cal.between(start, start + 30 * H) == 30 * H
    assert cal.between(start + H, start) == timedelta(0)
    assert cal.is_open(utc(2026, 12, 25, 3))
    assert list(cal.windows(start, start + H)) == [(start, start + H)]
    assert cal.explain(start, H).skipped == ()
    assert not BusinessHours(weekly=WEEKDAYS_9_TO_5).is_always


def test_missing_hours_means_24x7() -> None:
    assert BusinessHours.from_config({"timezone": "Europe/Bucharest"}, "c") == \
        BusinessHours.always("Europe/Bucharest")
    assert BusinessHours.from_config({"hours": "24x7"}, "c").is_always


# --------------------------------------------------------------------------- DST: Bucharest
# EET is UTC+2, EEST is UTC+3. On Sun 2026-03-29 at 01:00 UTC the clocks jump from 03:00 to
# 04:00; on Sun 2026-10-25 at 01:00 UTC they fall back from 04:00 to 03:00.


def test_bucharest_spring_forward_window_is_an_hour_shorter() -> None:
    cal = one_day("Europe/Bucharest", SUNDAY, (time(0), time(8)))
    # 00:00 EET = Sat 22:00 UTC; 08:00 EEST = 05:00 UTC: 7 real hours, not 8.
    start = datetime(2026, 3, 29, 0, 0, tzinfo=BUCHAREST)
    assert start == utc(2026, 3, 28, 22)
    assert cal.between(start, start + timedelta(days=1)) == 7 * H
    assert cal.add(start, 7 * H) == utc(2026, 3, 29, 5)
    # 3h after midnight is the jump itself: 01:00 UTC, which reads 04:00 on the wall.
    assert cal.add(start, 3 * H) == utc(2026, 3, 29, 1)
    assert cal.add(start, 3 * H).astimezone(BUCHAREST).hour == 4


def test_bucharest_fall_back_window_is_an_hour_longer() -> None:
    cal = one_day("Europe/Bucharest", SUNDAY, (time(0), time(8)))
    # 00:00 EEST = Sat 21:00 UTC; 08:00 EET = 06:00 UTC: 9 real hours.
    start = datetime(2026, 10, 25, 0, 0, tzinfo=BUCHAREST)
    assert start == utc(2026, 10, 24, 21)
    assert cal.between(start, start + timedelta(days=1)) == 9 * H
    assert cal.add(start, 9 * H) == utc(2026, 10, 25, 6)
    # 4h after midnight: 01:00 UTC, the wall clock reads 03:00 for the second time.
    assert cal.add(start, 4 * H) == utc(2026, 10, 25, 1)


def test_bucharest_boundary_in_the_gap_opens_when_the_gap_ends() -> None:
    # 03:30 does not exist on 2026-03-29: the window opens at 04:00 EEST = 01:00 UTC and
    # closes at 05:00 EEST = 02:00 UTC.
    cal = one_day("Europe/Bucharest", SUNDAY, (time(3, 30), time(5)))
    day = utc(2026, 3, 29)
    assert list(cal.windows(day - H * 6, day + H * 12)) == [
        (utc(2026, 3, 29, 1), utc(2026, 3, 29, 2))]


def test_bucharest_ambiguous_boundary_uses_first_occurrence() -> None:
    # 03:30 happens twice on 2026-10-25; the first one is 03:30 EEST = 00:30 UTC. The window
    # closes at 05:00 EET = 03:00 UTC, so it lasts 2h30m.
    cal = one_day("Europe/Bucharest", SUNDAY, (time(3, 30), time(5)))
    windows = list(cal.windows(utc(2026, 10, 24, 12), utc(2026, 10, 25, 12)))
    assert windows == [(utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 3))]


def test_bucharest_explain_reports_the_shift() -> None:
    cal = one_day("Europe/Bucharest", SUNDAY, (time(0), time(8)))
    explanation = cal.explain(datetime(2026, 3, 29, 0, 0, tzinfo=BUCHAREST), 7 * H)
    assert explanation.dst_shifts == ((utc(2026, 3, 29, 1), H),)
    assert explanation.lines()[1:] == [
        "Sun 2026-03-29 00:00-08:00 Europe/Bucharest: 7h counted",
        "Sun 2026-03-29 04:00 Europe/Bucharest: clocks go forward 1h (UTC+02:00 -> UTC+03:00)",
        "due Sun 2026-03-29 08:00 Europe/Bucharest (2026-03-29 05:00 UTC)",
    ]
    autumn = cal.explain(datetime(2026, 10, 25, 0, 0, tzinfo=BUCHAREST), 9 * H)
    assert autumn.dst_shifts == ((utc(2026, 10, 25, 1), -H),)
    assert "clocks go back 1h (UTC+03:00 -> UTC+02:00)" in autumn.lines()[2]


# --------------------------------------------------------------------------- DST: New York
# EST is UTC-5, EDT is UTC-4. On Sun 2026-03-08 at 07:00 UTC the clocks jump from 02:00 to
# 03:00; on Sun 2026-11-01 at 06:00 UTC they fall back from 02:00 to 01:00.


def test_new_york_spring_forward() -> None:
    cal = one_day("America/New_York", SUNDAY, (time(1), time(5)))
    # 01:00 EST = 06:00 UTC; 05:00 EDT = 09:00 UTC: 3 real hours.
    start = datetime(2026, 3, 8, 1, 0, tzinfo=NEW_YORK)
    assert start == utc(2026, 3, 8, 6)
    assert cal.between(start, start + timedelta(days=1)) == 3 * H
    # 2h later is 08:00 UTC, which the wall shows as 04:00 EDT (not 03:00).
    assert cal.add(start, 2 * H) == utc(2026, 3, 8, 8)
    assert cal.add(start, 2 * H).astimezone(NEW_YORK).hour == 4
    # A boundary in the gap: 02:30 does not exist, it opens at 03:00 EDT = 07:00 UTC.
    gap = one_day("America/New_York", SUNDAY, (time(2, 30), time(4)))
    assert list(gap.windows(utc(2026, 3, 8), utc(2026, 3, 9))) == [
        (utc(2026, 3, 8, 7), utc(2026, 3, 8, 8))]


def test_new_york_fall_back() -> None:
    cal = one_day("America/New_York", SUNDAY, (time(1, 30), time(2, 30)))
    # 01:30 happens twice; the first is 01:30 EDT = 05:30 UTC. 02:30 EST = 07:30 UTC.
    # The one-wall-hour window lasts 2 real hours.
    assert list(cal.windows(utc(2026, 11, 1), utc(2026, 11, 2))) == [
        (utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 7, 30))]
    start = datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK)  # fold=0: the first 01:30
    # (An aware datetime with an ambiguous wall time never compares equal across zones in
    # Python, so compare the UTC conversion.)
    assert start.astimezone(UTC) == utc(2026, 11, 1, 5, 30)
    # 90 minutes later is 07:00 UTC = 02:00 EST.
    assert cal.add(start, 90 * M) == utc(2026, 11, 1, 7)
    # The second 01:15 (EST, 06:15 UTC) lies inside the window although its wall time is
    # before 01:30: the window is the real interval between its two boundary instants.
    assert cal.is_open(datetime(2026, 11, 1, 1, 15, fold=1, tzinfo=NEW_YORK))
    assert not cal.is_open(datetime(2026, 11, 1, 1, 15, fold=0, tzinfo=NEW_YORK))


def test_new_york_office_across_the_spring_weekend() -> None:
    cal = BusinessHours(timezone="America/New_York", weekly=WEEKDAYS_9_TO_5)
    # Fri 2026-03-06 16:00 EST (21:00 UTC) + 2h: 1h on Friday, 1h on Monday from 09:00 EDT,
    # so due Mon 10:00 EDT = 14:00 UTC.
    assert cal.add(datetime(2026, 3, 6, 16, tzinfo=NEW_YORK), 2 * H) == utc(2026, 3, 9, 14)


# --------------------------------------------------------------------------- DST: Lord Howe
# Lord Howe Island moves by 30 minutes: standard time is UTC+10:30, summer time UTC+11.
# On Sun 2026-04-05 at 02:00 local (Sat 15:00 UTC) the clocks fall back to 01:30; on
# Sun 2026-10-04 at 02:00 local (Sat 15:30 UTC) they jump to 02:30.


def test_lord_howe_spring_forward_loses_half_an_hour() -> None:
    cal = one_day("Australia/Lord_Howe", SUNDAY, (time(0), time(6)))
    # 00:00 at +10:30 = Sat 13:30 UTC; 06:00 at +11 = Sat 19:00 UTC: 5h30m.
    start = datetime(2026, 10, 4, 0, 0, tzinfo=LORD_HOWE)
    assert start == utc(2026, 10, 3, 13, 30)
    assert cal.between(start, start + timedelta(days=1)) == 5 * H + 30 * M
    assert cal.add(start, 5 * H + 30 * M) == utc(2026, 10, 3, 19)
    # 02:15 does not exist: a window from 02:15 opens at 02:30 (+11) = 15:30 UTC.
    gap = one_day("Australia/Lord_Howe", SUNDAY, (time(2, 15), time(3)))
    assert list(gap.windows(utc(2026, 10, 3), utc(2026, 10, 4))) == [
        (utc(2026, 10, 3, 15, 30), utc(2026, 10, 3, 16))]
    explanation = cal.explain(start, 3 * H)
    assert explanation.dst_shifts == ((utc(2026, 10, 3, 15, 30), 30 * M),)
    assert "clocks go forward 30m (UTC+10:30 -> UTC+11:00)" in explanation.lines()[2]


def test_lord_howe_fall_back_gains_half_an_hour() -> None:
    cal = one_day("Australia/Lord_Howe", SUNDAY, (time(1), time(3)))
    # 01:00 at +11 = Sat 14:00 UTC; 03:00 at +10:30 = Sat 16:30 UTC: 2h30m.
    start = datetime(2026, 4, 5, 1, 0, tzinfo=LORD_HOWE)
    assert start == utc(2026, 4, 4, 14)
    assert cal.between(start, start + timedelta(days=1)) == 2 * H + 30 * M
    # 1h later is 15:00 UTC, the moment of the change: the wall reads 01:30 (the second time).
    assert cal.add(start, H) == utc(2026, 4, 4, 15)
    # 01:45 happens twice; the first, at +11, is 14:45 UTC.
    ambiguous = one_day("Australia/Lord_Howe", SUNDAY, (time(1, 45), time(2)))
    assert list(ambiguous.windows(utc(2026, 4, 4), utc(2026, 4, 5))) == [
        (utc(2026, 4, 4, 14, 45), utc(2026, 4, 4, 15, 30))]


# --------------------------------------------------------------------------- holidays


def test_holidays_package_closes_romanian_national_day() -> None:
    cal = BusinessHours.from_config(
        {"timezone": "Europe/Bucharest", "hours": {"tue": "09:00-17:00"},
         "holiday_country": "RO"}, "calendars.office")
    assert cal.is_holiday(date(2026, 12, 1)) == "National Day"
    assert cal.is_holiday(date(2026, 12, 8)) is None
    # Tuesday 2026-12-01 is closed; the next open time is Tuesday 2026-12-08.
    start = datetime(2026, 11, 30, 12, tzinfo=BUCHAREST)
    assert cal.add(start, H) == datetime(2026, 12, 8, 10, tzinfo=BUCHAREST)
    assert (date(2026, 12, 1), "holiday: National Day") in cal.explain(start, H).skipped
    assert cal.between(start, datetime(2026, 12, 2, tzinfo=BUCHAREST)) == timedelta(0)


def test_holiday_subdivision_and_names() -> None:
    cal = BusinessHours(weekly=WEEKDAYS_9_TO_5, holiday_country="US", holiday_subdivision="CA",
                        holidays=frozenset({date(2026, 7, 3), date(2026, 12, 25)}))
    assert cal.is_holiday(date(2026, 3, 31)) == "Cesar Chavez Day"  # California only
    assert cal.is_holiday(date(2026, 12, 25)) == "Christmas Day"      # package name wins
    assert cal.is_holiday(date(2026, 7, 6)) is None
    assert BusinessHours(weekly=WEEKDAYS_9_TO_5, holiday_country="US").is_holiday(
        date(2026, 3, 31)) is None


def test_holiday_closes_the_whole_local_day() -> None:
    # 2026-01-12 in Bucharest runs 2026-01-11 22:00 UTC to 2026-01-12 22:00 UTC.
    cal = BusinessHours(timezone="Europe/Bucharest", weekly={0: ((time(0), time(0)),)},
                        holidays=frozenset({date(2026, 1, 12)}))
    assert not cal.is_open(utc(2026, 1, 11, 22))
    assert not cal.is_open(utc(2026, 1, 12, 21, 59))
    assert cal.is_open(utc(2026, 1, 18, 22))  # the next Monday, local midnight


# --------------------------------------------------------------------------- configuration

DESIGN_OFFICE = {
    "timezone": "Europe/Bucharest",
    "holidays": ["2026-12-25", "2026-12-26"],
    "holiday_country": "RO",
    "hours": {
        "mon": "09:00-17:00", "tue": "09:00-17:00", "wed": "09:00-17:00",
        "thu": "09:00-17:00", "fri": ["09:00-12:00", "13:00-17:00"],
    },
}


def test_design_example_loads_and_round_trips() -> None:
    cal = BusinessHours.from_config(DESIGN_OFFICE, "calendars.office")
    assert cal.timezone == "Europe/Bucharest"
    assert cal.weekly == {
        **{day: ((time(9), time(17)),) for day in range(4)},
        4: ((time(9), time(12)), (time(13), time(17))),
    }
    assert cal.holidays == {date(2026, 12, 25), date(2026, 12, 26)}
    assert cal.holiday_country == "RO"
    assert cal.to_config() == DESIGN_OFFICE
    assert BusinessHours.from_config(cal.to_config(), "x") == cal
    assert hash(BusinessHours.from_config(DESIGN_OFFICE, "y")) == hash(cal)


def test_dates_and_seconds_are_accepted() -> None:
    cal = BusinessHours.from_config(
        {"hours": {"sat": "09:00:30-10:00"}, "holidays": [date(2026, 1, 1)]}, "c")
    assert cal.weekly == {5: ((time(9, 0, 30), time(10)),)}
    assert cal.holidays == {date(2026, 1, 1)}
    assert BusinessHours.from_config(cal.to_config(), "c") == cal


def test_code_and_config_calendars_are_equal() -> None:
    from_code = BusinessHours(weekly={4: [(time(9), time(17))]})
    from_config = BusinessHours.from_config({"hours": {"fri": "09:00-17:00"}}, "c")
    assert from_code == from_config
    assert {from_code, from_config} == {from_code}


def config_error(data: object, path: str = "calendars.office") -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        BusinessHours.from_config(data, path)  # type: ignore[arg-type]
    return caught.value


def test_error_unknown_key() -> None:
    error = config_error({"colour": "blue", "hours": "24x7"})
    assert error.path == "calendars.office.colour"
    assert str(error).startswith(
        "calendars.office.colour: unknown key; expected one of hours, holiday_country, ")


def test_error_misspelt_key_gets_a_suggestion() -> None:
    error = config_error({"timezon": "UTC"})
    assert error.path == "calendars.office.timezon"
    assert 'did you mean "timezone"?' in str(error)


def test_error_not_a_table() -> None:
    error = config_error(["09:00-17:00"])
    assert error.path == "calendars.office"


def test_error_unknown_time_zone_suggests_a_name() -> None:
    error = config_error({"timezone": "Europe/Bucarest"})
    assert error.path == "calendars.office.timezone"
    assert 'unknown time zone "Europe/Bucarest"' in str(error)
    assert 'did you mean "Europe/Bucharest"?' in str(error)
    assert 'did you mean "Europe/Bucharest"?' in str(config_error({"timezone": "bucharest"}))


def test_error_time_zone_not_a_string() -> None:
    error = config_error({"timezone": 2})
    assert error.path == "calendars.office.timezone"
    assert '"Europe/Bucharest"' in str(error)


def test_error_hours_bad_string() -> None:
    error = config_error({"hours": "weekdays"})
    assert error.path == "calendars.office.hours"
    assert '"24x7"' in str(error)


def test_error_hours_not_a_table() -> None:
    assert config_error({"hours": 40}).path == "calendars.office.hours"


def test_error_unknown_day() -> None:
    error = config_error({"hours": {"monday": "09:00-17:00"}})
    assert error.path == "calendars.office.hours.monday"
    assert "unknown day; expected one of mon, tue, wed, thu, fri, sat, sun" in str(error)


def test_error_range_end_before_start() -> None:
    error = config_error({"hours": {"fri": ["09:00-12:00", "13:00-12:00"]}})
    assert error.path == "calendars.office.hours.fri[1]"
    assert str(error) == ('calendars.office.hours.fri[1]: expected "HH:MM-HH:MM" with the end '
                          'after the start, got "13:00-12:00"')


@pytest.mark.parametrize("text", ["9am-5pm", "09:00", "25:00-26:00", "09:60-10:00",
                                  "09:00-24:30", "00:00-00:00", "24:00-24:00", ""])
def test_error_malformed_range(text: str) -> None:
    error = config_error({"hours": {"mon": text}})
    assert error.path == "calendars.office.hours.mon"
    assert f'with the end after the start, got "{text}"' in str(error)


def test_error_range_not_a_string() -> None:
    error = config_error({"hours": {"tue": ["09:00-12:00", 13]}})
    assert error.path == "calendars.office.hours.tue[1]"
    assert "got int 13" in str(error)


def test_error_overlapping_ranges() -> None:
    error = config_error({"hours": {"fri": ["09:00-12:00", "11:00-17:00"]}})
    assert error.path == "calendars.office.hours.fri[1]"
    assert 'must not overlap; "11:00-17:00" starts before "09:00-12:00" ends' in str(error)


def test_error_unordered_ranges() -> None:
    error = config_error({"hours": {"wed": ["13:00-17:00", "09:00-12:00"]}})
    assert error.path == "calendars.office.hours.wed[1]"
    assert "must be in order" in str(error)


def test_error_no_open_hours_at_all() -> None:
    for hours in ({}, {"mon": [], "tue": []}):
        error = config_error({"hours": hours})
        assert error.path == "calendars.office.hours"
        assert "no opening hours on any day" in str(error)


def test_error_holidays_not_a_list() -> None:
    error = config_error({"hours": {"mon": "09:00-17:00"}, "holidays": "2026-12-25"})
    assert error.path == "calendars.office.holidays"


@pytest.mark.parametrize("bad", ["2026-02-30", "25.12.2026", "2026-1-5", 20261225,
                                 datetime(2026, 12, 25, 9, 0)])
def test_error_bad_holiday_date(bad: object) -> None:
    error = config_error({"hours": {"mon": "09:00-17:00"}, "holidays": ["2026-12-25", bad]})
    assert error.path == "calendars.office.holidays[1]"
    assert 'expected a date written "YYYY-MM-DD"' in str(error)


def test_error_unknown_holiday_country() -> None:
    error = config_error({"hours": {"mon": "09:00-17:00"}, "holiday_country": "XX"})
    assert error.path == "calendars.office.holiday_country"
    assert 'unknown country "XX"' in str(error)
    lower = config_error({"hours": {"mon": "09:00-17:00"}, "holiday_country": "ro"})
    assert 'did you mean "RO"?' in str(lower)


def test_error_unknown_holiday_subdivision() -> None:
    error = config_error({"hours": {"mon": "09:00-17:00"}, "holiday_country": "US",
                          "holiday_subdivision": "XX"})
    assert error.path == "calendars.office.holiday_subdivision"
    assert "unknown subdivision 'XX' of US; expected one of AK, AL" in str(error)
    none = config_error({"hours": {"mon": "09:00-17:00"}, "holiday_country": "RO",
                         "holiday_subdivision": "B"})
    assert "RO has no subdivisions" in str(none)


def test_error_subdivision_without_country() -> None:
    error = config_error({"hours": {"mon": "09:00-17:00"}, "holiday_subdivision": "CA"})
    assert error.path == "calendars.office.holiday_subdivision"
    assert "needs holiday_country" in str(error)


def test_error_holidays_on_a_24x7_calendar() -> None:
    error = config_error({"hours": "24x7", "holidays": ["2026-12-25"]})
    assert error.path == "calendars.office.holidays"
    assert config_error({"holiday_country": "RO"}).path == "calendars.office.holiday_country"


def test_error_path_prefix_is_used_as_given() -> None:
    assert config_error({"hours": {"mon": "x"}}, path="calendars.helpdesk").path == \
        "calendars.helpdesk.hours.mon"


def test_code_built_calendars_are_validated() -> None:
    with pytest.raises(ConfigError, match="no opening hours on any day"):
        BusinessHours(weekly={})
    with pytest.raises(ConfigError, match=r"weekly\[0\]\[0\]"):
        BusinessHours(weekly={0: ((time(17), time(9)),)})
    with pytest.raises(ConfigError, match=r"weekly\[0\]\[1\].*must not overlap"):
        BusinessHours(weekly={0: ((time(9), time(12)), (time(11), time(13)))})
    with pytest.raises(ConfigError, match="weekdays are 0"):
        BusinessHours(weekly={7: ((time(9), time(17)),)})
    with pytest.raises(ConfigError, match="Europe/Bucharest"):
        BusinessHours(timezone="Mars/Olympus")
    with pytest.raises(ConfigError, match="unknown country"):
        BusinessHours(weekly=WEEKDAYS_9_TO_5, holiday_country="XX")


def test_explanation_is_a_value() -> None:
    cal = office_with_monday_holiday()
    start = datetime(2026, 1, 9, 18, tzinfo=BUCHAREST)
    first, second = cal.explain(start, 20 * H), cal.explain(start, 20 * H)
    assert isinstance(first, DeadlineExplanation)
    assert first == second
    assert first.timezone == "Europe/Bucharest"
    assert first.duration == 20 * H
