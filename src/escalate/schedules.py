"""On-call schedules: rotation layers and overrides that say who is on call at any instant.

A schedule has a time zone, one or more layers and any number of overrides:

- A **layer** rotates through its members, one at a time. The first member starts at the
  layer's `start` (a local wall-clock time of the schedule's zone); each hand-off happens
  one rotation later in *local wall-clock time*, so a weekly rotation at 09:00 stays at
  09:00 across a daylight-saving change. A layer with `hours` covers only the open hours of
  that calendar; outside them it covers nobody. A layer covers nobody before its start.
- **Later layers take precedence** over earlier ones wherever they cover the moment.
- An **override** puts someone on call from `start` to `end` (local times), above every
  layer. Overlapping overrides put everyone named on call at once.

Fairness is measured in local wall-clock time: over whole cycles, every member of a layer
holds the same number of rotations, each of the same local length (a rotation that spans a
DST change is an hour shorter or longer in elapsed time, as the wall clock says).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from .calendars import BusinessHours
from .clock import as_utc
from .configreader import check_keys, join, read_name, read_names, read_table
from .durations import format_duration, parse_duration
from .errors import ConfigError

__all__ = ["Layer", "OnCall", "Override", "Schedule"]

#: The named rotation lengths; any duration such as "12h" is accepted too.
ROTATIONS = {"daily": timedelta(days=1), "weekly": timedelta(weeks=1)}

_LAYER_KEYS = ("members", "rotate", "start", "hours")
_OVERRIDE_KEYS = ("who", "start", "end")
_SCHEDULE_KEYS = ("timezone", "layers", "overrides")
#: How far ahead `next_handoff` looks before it says there is none.
_HORIZON = timedelta(days=366)


def _members(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _localize(wall: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time (a skipped time moves forward, as clocks do)."""
    aware = wall.replace(tzinfo=zone, fold=0)
    instant = aware.astimezone(zoneinfo.ZoneInfo("UTC"))
    if instant.astimezone(zone).replace(tzinfo=None) != wall:
        # the wall time does not exist (spring forward): the hand-off happens at the jump
        instant = wall.replace(tzinfo=zone, fold=1).astimezone(zoneinfo.ZoneInfo("UTC"))
    return instant


@attrs.frozen
class Layer:
    """One rotation: members take turns, each for `rotate`, starting at local `start`."""

    members: tuple[str, ...] = attrs.field(converter=_members)
    rotate: timedelta
    start: datetime
    hours: str | None = None

    def __attrs_post_init__(self) -> None:
        if not self.members:
            raise ConfigError("members", "a layer needs at least one member")
        if self.start.tzinfo is not None:
            raise ConfigError("start", "a layer's start is a local time of the schedule's "
                                       "zone; write it without an offset, such as "
                                       "2026-11-02T09:00")
        if self.rotate <= timedelta(0):
            raise ConfigError("rotate", "a rotation must be longer than zero")

    def handoff(self, turn: int, zone: zoneinfo.ZoneInfo) -> datetime:
        """The UTC instant at which rotation number `turn` (0 is the first) begins."""
        return _localize(self.start + self.rotate * turn, zone)

    def turn_at(self, at: datetime, zone: zoneinfo.ZoneInfo) -> int | None:
        """The rotation under way at `at`, or None before the layer starts."""
        if at < self.handoff(0, zone):
            return None
        wall = at.astimezone(zone).replace(tzinfo=None)
        turn = max(0, (wall - self.start) // self.rotate)
        while turn > 0 and self.handoff(turn, zone) > at:
            turn -= 1
        while self.handoff(turn + 1, zone) <= at:
            turn += 1
        return turn

    def member_at(self, at: datetime, zone: zoneinfo.ZoneInfo) -> str | None:
        """Who this layer's rotation puts on call at `at` (ignoring its hours)."""
        turn = self.turn_at(at, zone)
        return None if turn is None else self.members[turn % len(self.members)]


@attrs.frozen
class Override:
    """Someone on call from local `start` to local `end`, above every layer."""

    who: str
    start: datetime
    end: datetime

    def __attrs_post_init__(self) -> None:
        if self.end <= self.start:
            raise ConfigError("end", f"an override must end after it starts ({self.start} "
                                     f"to {self.end})")

    def covers(self, at: datetime, zone: zoneinfo.ZoneInfo) -> bool:
        """True while the override is in force."""
        return _localize(self.start, zone) <= at < _localize(self.end, zone)


@attrs.frozen
class OnCall:
    """Who is on call at a moment, which part of the schedule says so, and until when."""

    names: tuple[str, ...]
    source: str
    until: datetime | None


def _layers(value: Iterable[Layer]) -> tuple[Layer, ...]:
    return tuple(value)


def _overrides(value: Iterable[Override]) -> tuple[Override, ...]:
    return tuple(value)


@attrs.frozen
class Schedule:
    """A named on-call schedule in one time zone: layers (later wins) and overrides."""

    name: str
    timezone: str = "UTC"
    layers: tuple[Layer, ...] = attrs.field(default=(), converter=_layers)
    overrides: tuple[Override, ...] = attrs.field(default=(), converter=_overrides)

    def __attrs_post_init__(self) -> None:
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
            raise ConfigError(f"schedules.{self.name}.timezone",
                              f"unknown time zone {self.timezone!r}; use an IANA name such "
                              "as Europe/Bucharest") from None

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The schedule's time zone."""
        return zoneinfo.ZoneInfo(self.timezone)

    def members(self) -> tuple[str, ...]:
        """Everyone the schedule can put on call, in order of first mention."""
        names: dict[str, None] = {}
        for layer in self.layers:
            names.update(dict.fromkeys(layer.members))
        names.update(dict.fromkeys(o.who for o in self.overrides))
        return tuple(names)

    def who(self, at: datetime,
            calendars: Mapping[str, BusinessHours] | None = None) -> OnCall:
        """Who is on call at `at`, which layer or override says so, and until when."""
        moment = as_utc(at)
        names, source = self._names_at(moment, calendars or {})
        return OnCall(names=names, source=source,
                      until=self.next_handoff(moment, calendars))

    def on_call(self, at: datetime,
                calendars: Mapping[str, BusinessHours] | None = None) -> list[str]:
        """The names on call at `at` (empty when the schedule covers nobody then)."""
        return list(self._names_at(as_utc(at), calendars or {})[0])

    def next_handoff(self, at: datetime,
                     calendars: Mapping[str, BusinessHours] | None = None) -> datetime | None:
        """The first instant after `at` when who is on call changes (within a year)."""
        moment = as_utc(at)
        known = calendars or {}
        current = self._names_at(moment, known)[0]
        for candidate in self._changes_after(moment, known):
            if self._names_at(candidate, known)[0] != current:
                return candidate
        return None

    # -- internals -----------------------------------------------------------------

    def _names_at(self, moment: datetime,
                  calendars: Mapping[str, BusinessHours]) -> tuple[tuple[str, ...], str]:
        zone = self.zone
        overriding = tuple(dict.fromkeys(o.who for o in self.overrides
                                         if o.covers(moment, zone)))
        if overriding:
            return overriding, "override"
        for index in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[index]
            if layer.hours is not None and not _calendar(calendars, layer.hours).is_open(
                    moment):
                continue
            member = layer.member_at(moment, zone)
            if member is not None:
                return (member,), f"layer {index + 1}"
        return (), "nobody"

    def _changes_after(self, moment: datetime,
                       calendars: Mapping[str, BusinessHours]) -> list[datetime]:
        """Every instant in the horizon at which some layer or override may change hands."""
        zone = self.zone
        end = moment + _HORIZON
        found: set[datetime] = set()
        for override in self.overrides:
            found.update((_localize(override.start, zone), _localize(override.end, zone)))
        for layer in self.layers:
            found.update(_layer_handoffs(layer, zone, moment, end))
            if layer.hours is not None:
                for opening, closing in _calendar(calendars, layer.hours).windows(moment, end):
                    found.update((opening, closing))
        return sorted(t for t in found if moment < t <= end)

    # -- configuration -------------------------------------------------------------

    @classmethod
    def from_config(cls, name: str, data: object, path: str,
                    calendars: Mapping[str, BusinessHours]) -> Schedule:
        """Read `[schedules.NAME]`; bad values raise ConfigError naming the key."""
        table = read_table(data, path)
        check_keys(table, path, _SCHEDULE_KEYS)
        zone = table.get("timezone", "UTC")
        if not isinstance(zone, str):
            raise ConfigError(join(path, "timezone"), f"expected a time zone name, got {zone!r}")
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ConfigError(join(path, "timezone"), f"unknown time zone {zone!r}; use "
                                                      "an IANA name such as Europe/Bucharest"
                              ) from None
        layers_value = table.get("layers", [])
        if not isinstance(layers_value, list) or not layers_value:
            raise ConfigError(join(path, "layers"), "expected at least one [[layers]] table "
                                                    "with members, rotate and start")
        layers = tuple(_read_layer(item, join(join(path, "layers"), i), calendars)
                       for i, item in enumerate(layers_value))
        overrides_value = table.get("overrides", [])
        if not isinstance(overrides_value, list):
            raise ConfigError(join(path, "overrides"), "expected a list of [[overrides]] tables")
        overrides = tuple(_read_override(item, join(join(path, "overrides"), i))
                          for i, item in enumerate(overrides_value))
        return cls(name=name, timezone=zone, layers=layers, overrides=overrides)

    def to_config(self) -> dict[str, Any]:
        """The policy-file table for this schedule; `from_config` reads it back unchanged."""
        out: dict[str, Any] = {"timezone": self.timezone, "layers": [
            _layer_to_config(layer) for layer in self.layers]}
        if self.overrides:
            out["overrides"] = [{"who": o.who, "start": _local_text(o.start),
                                 "end": _local_text(o.end)} for o in self.overrides]
        return out


def _calendar(calendars: Mapping[str, BusinessHours], name: str) -> BusinessHours:
    try:
        return calendars[name]
    except KeyError:
        raise ConfigError("hours", f"unknown calendar {name!r}") from None


def _layer_handoffs(layer: Layer, zone: zoneinfo.ZoneInfo, low: datetime,
                    high: datetime) -> Iterable[datetime]:
    turn = layer.turn_at(low, zone)
    turn = 0 if turn is None else turn + 1
    while True:
        moment = layer.handoff(turn, zone)
        if moment > high:
            return
        yield moment
        turn += 1


def _read_local(value: object, path: str) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ConfigError(path, f"{value!r} is not a local date and time; write it like "
                                    "2026-11-02T09:00") from None
    else:
        raise ConfigError(path, f"expected a local date and time such as 2026-11-02T09:00, "
                                f"got {value!r}")
    if moment.tzinfo is not None:
        raise ConfigError(path, "write a local time of the schedule's zone without an offset, "
                                "such as 2026-11-02T09:00")
    return moment


def _read_rotation(value: object, path: str) -> timedelta:
    if isinstance(value, str) and value in ROTATIONS:
        return ROTATIONS[value]
    if isinstance(value, str) and value.strip() in ROTATIONS:
        return ROTATIONS[value.strip()]
    try:
        return parse_duration(value, path)
    except ConfigError:
        raise ConfigError(path, f'expected "daily", "weekly" or a duration such as "12h", '
                                f"got {value!r}") from None


def _read_layer(data: object, path: str,
                calendars: Mapping[str, BusinessHours]) -> Layer:
    table = read_table(data, path)
    check_keys(table, path, _LAYER_KEYS)
    for key in ("members", "rotate", "start"):
        if key not in table:
            raise ConfigError(join(path, key), "missing; a layer needs members, rotate and "
                                               "start")
    members = read_names(table["members"], join(path, "members"), allow_empty=False)
    hours = table.get("hours")
    if hours is not None:
        hours = read_name(hours, join(path, "hours"))
        if hours not in calendars:
            known = ", ".join(calendars) or "none"
            raise ConfigError(join(path, "hours"), f"unknown calendar {hours!r}; the policy "
                                                   f"defines: {known}")
    return Layer(members=members, rotate=_read_rotation(table["rotate"], join(path, "rotate")),
                 start=_read_local(table["start"], join(path, "start")), hours=hours)


def _read_override(data: object, path: str) -> Override:
    table = read_table(data, path)
    check_keys(table, path, _OVERRIDE_KEYS)
    for key in _OVERRIDE_KEYS:
        if key not in table:
            raise ConfigError(join(path, key), "missing; an override needs who, start and end")
    start = _read_local(table["start"], join(path, "start"))
    end = _read_local(table["end"], join(path, "end"))
    if end <= start:
        raise ConfigError(join(path, "end"), f"an override must end after it starts "
                                             f"({table['start']} to {table['end']})")
    return Override(who=read_name(table["who"], join(path, "who")), start=start, end=end)


def _local_text(moment: datetime) -> str:
    return moment.isoformat(timespec="minutes")


def _layer_to_config(layer: Layer) -> dict[str, Any]:
    rotate = next((name for name, size in ROTATIONS.items() if size == layer.rotate),
                  format_duration(layer.rotate))
    out: dict[str, Any] = {"members": list(layer.members), "rotate": rotate,
                           "start": _local_text(layer.start)}
    if layer.hours is not None:
        out["hours"] = layer.hours
    return out
