"""Business time: a calendar's opening hours, holidays and time zone, and deadlines counted in it.

A `BusinessHours` calendar says when time counts. Opening windows are half-open local
wall-clock ranges `[open, close)` in the calendar's time zone; a holiday closes the whole
local day; a 24x7 calendar counts every instant. All datetimes in and out are
timezone-aware and results are in UTC.

Across daylight-saving changes a window measures real elapsed time: a window that spans a
spring-forward gap is shorter, one that spans a fall-back is longer. A window boundary that
does not exist on the wall clock (it falls in the gap) means the moment the gap ends; an
ambiguous one (it occurs twice) means its first occurrence.
"""

from __future__ import annotations

import difflib
import functools
import re
import zoneinfo
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import attrs
import holidays as holidays_package

from .clock import as_utc
from .errors import ConfigError

__all__ = ["BusinessHours", "DeadlineExplanation"]

_UTC = UTC
_DAY = timedelta(days=1)
_DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_CONFIG_KEYS = ("hours", "holiday_country", "holiday_subdivision", "holidays", "timezone")
_MIDNIGHT = time(0)
# How long `add` searches for open time before it gives up (about ten years).
_MAX_EMPTY_DAYS = 3660
_RANGE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?-(\d{1,2}):(\d{2})(?::(\d{2}))?")
_RANGE_EXPECTED = 'expected "HH:MM-HH:MM" with the end after the start'
_COMPANY_HOLIDAY = "company holiday"

Window = tuple[datetime, datetime]
DayHours = tuple[tuple[time, time], ...]


# --------------------------------------------------------------------------- weekly hours


class _Week(Mapping[int, DayHours]):
    """An immutable, hashable weekday -> opening ranges mapping (0=Monday..6=Sunday)."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[int, DayHours]]) -> None:
        self._items: tuple[tuple[int, DayHours], ...] = tuple(sorted(items))

    def __getitem__(self, key: int) -> DayHours:
        for day, ranges in self._items:
            if day == key:
                return ranges
        raise KeyError(key)

    def __iter__(self) -> Iterator[int]:
        return (day for day, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return repr(dict(self._items))


def _seconds(moment: time) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def _end_seconds(moment: time) -> int:
    """Seconds after midnight of a closing time; 00:00 as an end means 24:00."""
    return 86400 if moment == _MIDNIGHT else _seconds(moment)


def _format_clock(moment: time, *, end: bool = False) -> str:
    if end and moment == _MIDNIGHT:
        return "24:00"
    text = f"{moment.hour:02d}:{moment.minute:02d}"
    return text + (f":{moment.second:02d}" if moment.second else "")


def _format_range(opening: time, closing: time) -> str:
    return f"{_format_clock(opening)}-{_format_clock(closing, end=True)}"


def _freeze_week(value: Mapping[int, Iterable[tuple[time, time]]] | None) -> _Week | None:
    """Converter: turn any weekday mapping into a hashable `_Week`, dropping closed days."""
    if value is None or isinstance(value, _Week):
        return value
    if not isinstance(value, Mapping):
        raise ConfigError("weekly", f"expected a mapping of weekday (0-6) to ranges, got {value!r}")
    items = []
    for day, ranges in value.items():
        frozen = tuple((opening, closing) for opening, closing in ranges)
        if frozen:
            items.append((day, frozen))
    return _Week(items)


def _freeze_dates(values: Iterable[date]) -> frozenset[date]:
    """Converter for explicit holidays."""
    return frozenset(values)


def _check_week(week: _Week) -> None:
    """Validate weekly hours built in code; configuration is checked earlier, with its paths."""
    for day, ranges in week.items():
        if not isinstance(day, int) or isinstance(day, bool) or not 0 <= day <= 6:
            raise ConfigError("weekly", f"weekdays are 0 (Monday) to 6 (Sunday), got {day!r}")
        previous_end = 0
        for index, pair in enumerate(ranges):
            where = f"weekly[{day}][{index}]"
            if len(pair) != 2 or not all(isinstance(t, time) for t in pair):
                raise ConfigError(where, f"expected a (time, time) pair, got {pair!r}")
            opening, closing = pair
            if any(t.tzinfo is not None or t.microsecond for t in pair):
                raise ConfigError(
                    where, "opening times are local wall-clock times in whole seconds, "
                    f"without tzinfo; got {pair!r}"
                )
            start, end = _seconds(opening), _end_seconds(closing)
            if end <= start:
                raise ConfigError(
                    where, f"{_RANGE_EXPECTED} (time(0) as the end means 24:00), "
                    f"got {_format_range(opening, closing)!r}"
                )
            if start < previous_end:
                raise ConfigError(
                    where, "ranges of a day must be in order and must not overlap, got "
                    f"{_format_range(opening, closing)!r} after one ending at "
                    f"{previous_end // 3600:02d}:{previous_end // 60 % 60:02d}"
                )
            previous_end = end
    if not week:
        raise ConfigError(
            "weekly", "the calendar has no opening hours on any day; give at least one "
            "range, or use BusinessHours.always() for a 24x7 calendar"
        )


# --------------------------------------------------------------------------- time zones


def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def _zone_suggestion(name: str) -> str | None:
    zones = sorted(zoneinfo.available_timezones())
    lowered = {zone.lower(): zone for zone in zones}
    if name.lower() in lowered:
        return lowered[name.lower()]
    city = name.strip().rsplit("/", 1)[-1].lower().replace(" ", "_")
    for zone in zones:
        if zone.rsplit("/", 1)[-1].lower() == city:
            return zone
    close = difflib.get_close_matches(name, zones, n=1, cutoff=0.6)
    return close[0] if close else None


def _check_zone(name: object, path: str) -> None:
    if not isinstance(name, str):
        raise ConfigError(
            path, f'expected a time zone name such as "Europe/Bucharest", got {name!r}'
        )
    try:
        _zone(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
        suggestion = _zone_suggestion(name)
        hint = f' (did you mean "{suggestion}"?)' if suggestion else ""
        raise ConfigError(
            path, f'unknown time zone "{name}"{hint}; use an IANA name such as '
            '"Europe/Bucharest", "America/New_York" or "UTC"'
        ) from exc


def _wall_to_utc(day: date, clock: time, zone: zoneinfo.ZoneInfo) -> datetime:
    """The instant at which the wall clock of `zone` first reads `clock` on `day`.

    An ambiguous wall time (fall-back) gives its first occurrence; a wall time that does not
    exist (spring-forward gap) gives the moment the gap ends.
    """
    naive = datetime.combine(day, clock)
    instant = naive.replace(tzinfo=zone).astimezone(_UTC)  # fold=0: first occurrence
    if instant.astimezone(zone).replace(tzinfo=None) == naive:
        return instant
    # In a gap. fold=0 reads the wall time with the offset from before the change, which
    # lands after the change; fold=1 uses the offset from after it, which lands before.
    # The change itself is the first instant whose wall time is at or past `naive`.
    low = int(naive.replace(tzinfo=zone, fold=1).astimezone(_UTC).timestamp()) - 1
    high = int(instant.timestamp()) + 1
    while high - low > 1:
        middle = (low + high) // 2
        wall = datetime.fromtimestamp(middle, zone).replace(tzinfo=None)
        if wall >= naive:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, _UTC)


def _offset(moment: datetime, zone: zoneinfo.ZoneInfo) -> timedelta:
    offset = moment.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def _offset_changes(zone: zoneinfo.ZoneInfo, start: datetime,
                    end: datetime) -> tuple[tuple[datetime, timedelta], ...]:
    """UTC offset changes of `zone` at instants in [start, end]: (instant, change)."""
    found = []
    step = timedelta(hours=6)
    before = start - timedelta(seconds=1)
    previous = _offset(before, zone)
    while before < end:
        after = min(before + step, end)
        offset = _offset(after, zone)
        if offset != previous:
            low, high = int(before.timestamp()), int(after.timestamp()) + 1
            while high - low > 1:
                middle = (low + high) // 2
                if _offset(datetime.fromtimestamp(middle, _UTC), zone) == previous:
                    low = middle
                else:
                    high = middle
            instant = datetime.fromtimestamp(high, _UTC)
            if start <= instant <= end:
                found.append((instant, offset - previous))
            previous = offset
        before = after
    return tuple(found)


# --------------------------------------------------------------------------- holidays


def _check_country(country: object, subdivision: object, path: str) -> None:
    if country is None:
        if subdivision is not None:
            raise ConfigError(
                f"{path}holiday_subdivision",
                "a holiday subdivision needs holiday_country too, e.g. "
                'holiday_country = "US" with holiday_subdivision = "CA"',
            )
        return
    if not isinstance(country, str):
        raise ConfigError(
            f"{path}holiday_country",
            f'expected a country code such as "RO", got {country!r}',
        )
    supported = holidays_package.list_supported_countries()
    if country not in supported:
        hint = f'did you mean "{country.upper()}"? ' if country.upper() in supported else ""
        raise ConfigError(
            f"{path}holiday_country",
            f'unknown country "{country}" for public holidays; {hint}use an ISO 3166 '
            'code supported by the `holidays` package, such as "RO", "US" or "DE"',
        )
    if subdivision is None:
        return
    known = [str(code) for code in supported[country]]
    if not isinstance(subdivision, str) or subdivision not in known:
        if known:
            shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
            expected = f"expected one of {shown}"
        else:
            expected = f"{country} has no subdivisions; leave holiday_subdivision out"
        raise ConfigError(
            f"{path}holiday_subdivision",
            f"unknown subdivision {subdivision!r} of {country}; {expected}",
        )


@functools.lru_cache(maxsize=512)
def _public_holidays(country: str, subdivision: str | None, year: int) -> dict[date, str]:
    table = holidays_package.country_holidays(country, subdiv=subdivision, years=year)
    return {day: str(name) for day, name in table.items()}


# --------------------------------------------------------------------------- the calendar


@functools.lru_cache(maxsize=16384)
def _day_windows(calendar: BusinessHours, day: date) -> tuple[Window, ...]:
    """The opening windows listed on local `day`, as UTC instants, empty ones dropped."""
    week = calendar.weekly
    assert week is not None
    ranges = week.get(day.weekday())
    if not ranges or calendar.is_holiday(day) is not None:
        return ()
    zone = _zone(calendar.timezone)
    found = []
    for opening, closing in ranges:
        start = _wall_to_utc(day, opening, zone)
        if closing == _MIDNIGHT:
            end = _wall_to_utc(day + _DAY, _MIDNIGHT, zone)
        else:
            end = _wall_to_utc(day, closing, zone)
        if end > start:
            found.append((start, end))
    return tuple(found)


@attrs.frozen(cache_hash=True)
class BusinessHours:
    """A business calendar: time zone, weekly opening hours, holidays; or 24x7."""

    timezone: str = "UTC"
    weekly: Mapping[int, tuple[tuple[time, time], ...]] | None = attrs.field(
        default=None, converter=_freeze_week
    )
    holidays: frozenset[date] = attrs.field(default=frozenset(), converter=_freeze_dates)
    holiday_country: str | None = None
    holiday_subdivision: str | None = None

    def __attrs_post_init__(self) -> None:
        _check_zone(self.timezone, "timezone")
        if isinstance(self.weekly, _Week):
            _check_week(self.weekly)
        for day in self.holidays:
            if not isinstance(day, date) or isinstance(day, datetime):
                raise ConfigError("holidays", f"expected dates, got {day!r}")
        _check_country(self.holiday_country, self.holiday_subdivision, "")
        if self.weekly is None and (self.holidays or self.holiday_country is not None):
            raise ConfigError(
                "holidays", "a 24x7 calendar counts every instant, so holidays would be "
                "ignored; give weekly hours 00:00-24:00 on every day to close on holidays"
            )

    # ------------------------------------------------------------------ construction

    @classmethod
    def always(cls, timezone: str = "UTC") -> BusinessHours:
        """A 24x7 calendar: every instant is business time."""
        return cls(timezone=timezone)

    @classmethod
    def from_config(cls, data: Mapping[str, Any], path: str) -> BusinessHours:
        """Build a calendar from its policy-file table; bad values raise ConfigError at `path`."""
        prefix = f"{path}." if path else ""
        if not isinstance(data, Mapping):
            raise ConfigError(
                path, f"expected a table with keys {', '.join(_CONFIG_KEYS)}, got {data!r}"
            )
        for key in data:
            if key not in _CONFIG_KEYS:
                close = difflib.get_close_matches(str(key), _CONFIG_KEYS, n=1)
                hint = f'did you mean "{close[0]}"? ' if close else ""
                raise ConfigError(
                    f"{prefix}{key}", f"unknown key; {hint}expected one of "
                    f"{', '.join(_CONFIG_KEYS)}"
                )
        zone_name = data.get("timezone", "UTC")
        _check_zone(zone_name, f"{prefix}timezone")
        weekly = _parse_hours(data.get("hours", "24x7"), f"{prefix}hours")
        explicit = _parse_holidays(data.get("holidays", []), f"{prefix}holidays")
        country = data.get("holiday_country")
        subdivision = data.get("holiday_subdivision")
        _check_country(country, subdivision, prefix)
        if weekly is None and (explicit or country is not None):
            key = "holidays" if explicit else "holiday_country"
            raise ConfigError(
                f"{prefix}{key}", 'holidays have no effect on a "24x7" calendar, which '
                'counts every instant; to close on holidays, give hours such as '
                'mon = "00:00-24:00" for every day'
            )
        return cls(timezone=zone_name, weekly=weekly, holidays=explicit,
                   holiday_country=country, holiday_subdivision=subdivision)

    def to_config(self) -> dict[str, Any]:
        """The policy-file table for this calendar; `from_config` reads it back unchanged."""
        result: dict[str, Any] = {"timezone": self.timezone}
        if self.weekly is None:
            result["hours"] = "24x7"
        else:
            hours: dict[str, Any] = {}
            for day, ranges in sorted(self.weekly.items()):
                texts = [_format_range(opening, closing) for opening, closing in ranges]
                hours[_DAY_KEYS[day]] = texts[0] if len(texts) == 1 else texts
            result["hours"] = hours
        if self.holidays:
            result["holidays"] = [day.isoformat() for day in sorted(self.holidays)]
        if self.holiday_country is not None:
            result["holiday_country"] = self.holiday_country
        if self.holiday_subdivision is not None:
            result["holiday_subdivision"] = self.holiday_subdivision
        return result

    # ------------------------------------------------------------------ queries

    @property
    def is_always(self) -> bool:
        """True for a 24x7 calendar."""
        return self.weekly is None

    @property
    def open_per_week(self) -> timedelta | None:
        """The weekly opening time (before holidays); None for a 24x7 calendar."""
        if self.weekly is None:
            return None
        seconds = sum(_end_seconds(closing) - _seconds(opening)
                      for ranges in self.weekly.values() for opening, closing in ranges)
        return timedelta(seconds=seconds)

    def is_holiday(self, day: date) -> str | None:
        """The name of the holiday on local `day` ("company holiday" if listed), or None."""
        if isinstance(day, datetime):
            day = as_utc(day).astimezone(_zone(self.timezone)).date()
        if self.holiday_country is not None:
            name = _public_holidays(self.holiday_country, self.holiday_subdivision,
                                    day.year).get(day)
            if name is not None:
                return name
        if day in self.holidays:
            return _COMPANY_HOLIDAY
        return None

    def is_open(self, at: datetime) -> bool:
        """True when the instant `at` is business time."""
        moment = as_utc(at)
        if self.weekly is None:
            return True
        day = moment.astimezone(_zone(self.timezone)).date()
        return any(start <= moment < end
                   for listed in (day - _DAY, day)
                   for start, end in _day_windows(self, listed))

    def windows(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The opening windows clipped to [start, end), as UTC datetimes, in order."""
        low, high = as_utc(start), as_utc(end)
        if high <= low:
            return
        if self.weekly is None:
            yield (low, high)
            return
        zone = _zone(self.timezone)
        day = low.astimezone(zone).date() - _DAY
        last = high.astimezone(zone).date()
        while day <= last:
            for window_start, window_end in _day_windows(self, day):
                clipped_start, clipped_end = max(window_start, low), min(window_end, high)
                if clipped_start < clipped_end:
                    yield (clipped_start, clipped_end)
            day += _DAY

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time in [start, end); zero when `end` is not after `start`."""
        low, high = as_utc(start), as_utc(end)
        if self.weekly is None:
            return max(high - low, timedelta(0))
        return sum((b - a for a, b in self.windows(low, high)), timedelta(0))

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant at which `duration` of business time has passed since `start`."""
        moment = as_utc(start)
        if duration < timedelta(0):
            raise ValueError(f"a business-time duration cannot be negative, got {duration!r}")
        if duration == timedelta(0) or self.weekly is None:
            return moment + duration
        zone = _zone(self.timezone)
        remaining = duration
        day = moment.astimezone(zone).date() - _DAY
        empty_days = 0
        while True:
            counted = False
            for window_start, window_end in _day_windows(self, day):
                if window_end <= moment:
                    continue
                begin = max(window_start, moment)
                available = window_end - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
                counted = True
            empty_days = 0 if counted else empty_days + 1
            if empty_days > _MAX_EMPTY_DAYS:
                since = day - _DAY * _MAX_EMPTY_DAYS
                raise ConfigError(
                    "hours", f"no open business time in the ten years after {since}; "
                    "check the calendar's weekly hours and holidays"
                )
            day += _DAY

    def explain(self, start: datetime, duration: timedelta) -> DeadlineExplanation:
        """How `add(start, duration)` is reached: windows counted, days skipped, DST shifts."""
        moment = as_utc(start)
        due = self.add(moment, duration)
        zone = _zone(self.timezone)
        skipped: list[tuple[date, str]] = []
        if self.weekly is not None:
            day, last = moment.astimezone(zone).date(), due.astimezone(zone).date()
            while day <= last:
                reason = self._closed_reason(day)
                if reason is not None:
                    skipped.append((day, reason))
                day += _DAY
        return DeadlineExplanation(
            start=moment, duration=duration, due=due, timezone=self.timezone,
            windows=tuple(self.windows(moment, due)), skipped=tuple(skipped),
            dst_shifts=_offset_changes(zone, moment, due),
        )

    def _closed_reason(self, day: date) -> str | None:
        assert self.weekly is not None
        if not self.weekly.get(day.weekday()):
            return f"closed: {_DAY_NAMES[day.weekday()]}"
        name = self.is_holiday(day)
        return None if name is None else f"holiday: {name}"


# --------------------------------------------------------------------------- configuration


def _parse_hours(value: object, path: str) -> _Week | None:
    if isinstance(value, str):
        if value.strip().lower() == "24x7":
            return None
        raise ConfigError(
            path, 'expected "24x7" or a table of days such as '
            f'{{ mon = "09:00-17:00", fri = ["09:00-12:00", "13:00-17:00"] }}, got {value!r}'
        )
    if not isinstance(value, Mapping):
        raise ConfigError(
            path, f'expected "24x7" or a table of days (mon..sun), got {value!r}'
        )
    items: list[tuple[int, DayHours]] = []
    for key, ranges in value.items():
        if key not in _DAY_KEYS:
            raise ConfigError(
                f"{path}.{key}", f"unknown day; expected one of {', '.join(_DAY_KEYS)}"
            )
        parsed = _parse_day(ranges, f"{path}.{key}")
        if parsed:
            items.append((_DAY_KEYS.index(key), parsed))
    if not items:
        raise ConfigError(
            path, 'no opening hours on any day; name at least one day, e.g. '
            'mon = "09:00-17:00", or write hours = "24x7"'
        )
    return _Week(items)


def _parse_day(value: object, path: str) -> DayHours:
    entries: list[tuple[str, object]]
    if isinstance(value, list | tuple):
        entries = [(f"{path}[{index}]", item) for index, item in enumerate(value)]
    else:
        entries = [(path, value)]
    ranges: list[tuple[time, time]] = []
    previous: tuple[str, int] | None = None
    for where, item in entries:
        opening, closing = _parse_range(item, where)
        if previous is not None and _seconds(opening) < previous[1]:
            raise ConfigError(
                where, "ranges of a day must be in order and must not overlap; "
                f'"{item}" starts before "{previous[0]}" ends'
            )
        previous = (str(item), _end_seconds(closing))
        ranges.append((opening, closing))
    return tuple(ranges)


def _parse_range(value: object, path: str) -> tuple[time, time]:
    def bad() -> ConfigError:
        shown = f'"{value}"' if isinstance(value, str) else f"{type(value).__name__} {value!r}"
        return ConfigError(path, f"{_RANGE_EXPECTED}, got {shown}")

    if not isinstance(value, str):
        raise bad()
    match = _RANGE.fullmatch(value.replace(" ", ""))
    if match is None:
        raise bad()
    h1, m1, s1, h2, m2, s2 = (int(part or 0) for part in match.groups())
    if h1 > 23 or m1 > 59 or s1 > 59 or m2 > 59 or s2 > 59 or h2 > 24:
        raise bad()
    if h2 == 24 and (m2 or s2):
        raise bad()
    if h2 * 3600 + m2 * 60 + s2 <= h1 * 3600 + m1 * 60 + s1:
        raise bad()
    opening = time(h1, m1, s1)
    closing = _MIDNIGHT if h2 == 24 else time(h2, m2, s2)
    return opening, closing


def _parse_holidays(value: object, path: str) -> frozenset[date]:
    if not isinstance(value, list | tuple):
        raise ConfigError(path, f'expected a list of dates such as ["2026-12-25"], got {value!r}')
    days = set()
    for index, item in enumerate(value):
        where = f"{path}[{index}]"
        if isinstance(item, date) and not isinstance(item, datetime):
            days.add(item)
            continue
        try:
            if not isinstance(item, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", item.strip()):
                raise ValueError(item)
            days.add(date.fromisoformat(item.strip()))
        except ValueError:
            shown = f'"{item}"' if isinstance(item, str) else f"{type(item).__name__} {item!r}"
            raise ConfigError(
                where, f'expected a date written "YYYY-MM-DD", got {shown}'
            ) from None
    return frozenset(days)


# --------------------------------------------------------------------------- explanations


def _format_span(delta: timedelta) -> str:
    """A duration in hours, minutes and seconds, e.g. "28h", "1h30m", "45s"."""
    total = delta // timedelta(seconds=1)
    micro = delta - timedelta(seconds=total)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    if seconds or micro:
        parts.append(f"{seconds}.{micro.microseconds:06d}s" if micro else f"{seconds}s")
    return "".join(parts) or "0s"


def _format_local(moment: datetime, *, date_part: bool = True) -> str:
    clock = f"{moment:%H:%M}"
    if moment.second or moment.microsecond:
        clock += f":{moment:%S}" + (f".{moment:%f}" if moment.microsecond else "")
    return f"{moment:%a %Y-%m-%d} {clock}" if date_part else clock


def _format_offset(offset: timedelta) -> str:
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(offset) // timedelta(minutes=1)
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


@attrs.frozen
class DeadlineExplanation:
    """Why a deadline falls where it does: the windows counted, days skipped and DST shifts."""

    start: datetime
    duration: timedelta
    due: datetime
    timezone: str
    windows: tuple[tuple[datetime, datetime], ...]
    skipped: tuple[tuple[date, str], ...]
    dst_shifts: tuple[tuple[datetime, timedelta], ...]

    def lines(self) -> list[str]:
        """A human-readable account in local time, one line per step, in time order."""
        zone = _zone(self.timezone)
        name = self.timezone

        def local(moment: datetime) -> datetime:
            return moment.astimezone(zone)

        def stamp(moment: datetime) -> str:
            utc = _format_local(moment.astimezone(_UTC))[4:]
            return f"{_format_local(local(moment))} {name} ({utc} UTC)"

        steps: list[tuple[datetime, int, str]] = []
        for day, reason in self.skipped:
            midnight = datetime.combine(day, _MIDNIGHT, tzinfo=zone).astimezone(_UTC)
            steps.append((midnight, 0, f"{day:%a %Y-%m-%d} skipped, {reason}"))
        for begin, end in self.windows:
            first, last = local(begin), local(end)
            if last.date() == first.date():
                span = f"{_format_local(first)}-{_format_local(last, date_part=False)}"
            elif last.date() == first.date() + _DAY and last.time() == _MIDNIGHT:
                span = f"{_format_local(first)}-24:00"
            else:
                span = f"{_format_local(first)} - {_format_local(last)}"
            steps.append((begin, 1, f"{span} {name}: {_format_span(end - begin)} counted"))
        for instant, change in self.dst_shifts:
            after = _offset(instant, zone)
            direction = "forward" if change > timedelta(0) else "back"
            steps.append((instant, 2, (
                f"{_format_local(local(instant))} {name}: clocks go {direction} "
                f"{_format_span(abs(change))} ({_format_offset(after - change)} -> "
                f"{_format_offset(after)})"
            )))
        steps.sort(key=lambda step: (step[0], step[1]))
        return [
            f"start {stamp(self.start)}, counting {_format_span(self.duration)} "
            f"of business time",
            *(text for _, _, text in steps),
            f"due {stamp(self.due)}",
        ]

