"""`ReplayMapping`: which columns of a source log hold what, and how its conventions read."""

from __future__ import annotations

import codecs
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from ..configreader import check_keys, join
from ..durations import parse_duration
from ..errors import ConfigError
from ..model import Action

__all__ = ["KEEP_PROBLEMS", "REPLAY_ACTIONS", "SNAPSHOT_KEYS", "ReplayMapping", "frozen"]

#: Actions a source status may map to. Moves between teams are also found from the team
#: column; `escalate` and `transfer` name an explicit hand-off activity of the source.
REPLAY_ACTIONS = frozenset({
    Action.RETURN, Action.CLAIM, Action.RESPOND, Action.ASSIGN, Action.WAIT, Action.RESUME,
    Action.RESOLVE, Action.REOPEN, Action.CLOSE, Action.NOTE, Action.ESCALATE,
    Action.TRANSFER,
})

#: How many problem rows of each kind a result keeps (all of them are counted).
KEEP_PROBLEMS = 100

#: Columns whose value is the time something happened, valid on every row of a snapshot export.
SNAPSHOT_KEYS = ("resolved_at", "closed_at")

_COLUMN_KEYS = ("case_id", "timestamp", "status", "owner", "team", "priority", "channel",
                "title", "customer", "tiebreak", "fields", "actor", "order_by", "sla_met")
_KEYS = (*_COLUMN_KEYS, "timestamp_format", "timezone", "missing", "system_accounts",
         "status_separator", "owner_separator", "status_map", "tiers", "tier_suffixes",
         "team_tiers", "default_tier", "snapshot_fields", "encoding", "delimiter", "ladder",
         "priority_map", "default_priority", "default_channel", "default_customer", "tier_lead",
         "mode", "sort", "after_close", "missing_in", "missing_team", "sla_resolution",
         "sort_chunk_rows")

#: `mode`: "events" (each row is one change) or "snapshot" (each row is the whole record).
MODES = ("events", "snapshot")
#: `after_close`: what rows after a source close do.
AFTER_CLOSE = ("refuse", "reopen")
#: `missing_team`: what a row without a team does.
MISSING_TEAM = ("carry", "unknown")


def _names(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def frozen(value: Mapping[Any, Any] | None) -> Mapping[Any, Any]:
    """A read-only copy of `value` (empty when None)."""
    return MappingProxyType(dict(value or {}))


def _actions(value: Mapping[str, Action | str]) -> Mapping[str, Action | str]:
    converted: dict[str, Action | str] = {}
    for key, action in dict(value).items():
        try:
            converted[key] = Action(action)
        except ValueError:
            converted[key] = action  # reported by the validation, with its key
    return MappingProxyType(converted)


@attrs.frozen
class ReplayMapping:
    """How the columns and conventions of one source log read as escalate cases.

    Column keys name CSV header cells; `status` and `owner` may name several columns, whose
    values are joined with `status_separator` / `owner_separator` (for example "Accepted/In
    Progress" or "Anne@France"). The tier of a team comes from `team_tiers` when given, else
    from `tier_suffixes` (suffix to 1-based tier level; no suffix is the first tier).
    """

    case_id: str
    timestamp: str
    status: tuple[str, ...] = attrs.field(converter=_names)
    status_map: Mapping[str, Action | str] = attrs.field(converter=_actions, hash=False)
    owner: tuple[str, ...] = attrs.field(default=(), converter=_names)
    team: str | None = None
    priority: str | None = None
    channel: str | None = None
    title: str | None = None
    customer: str | None = None
    tiebreak: str | None = None
    fields: tuple[str, ...] = attrs.field(default=(), converter=_names)
    timestamp_format: str = "iso"
    timezone: str | None = None
    missing: tuple[str, ...] = attrs.field(default=("",), converter=_names)
    system_accounts: tuple[str, ...] = attrs.field(default=(), converter=_names)
    status_separator: str = "/"
    owner_separator: str = "@"
    tiers: tuple[str, ...] = attrs.field(default=("1st line", "2nd line", "3rd line"),
                                         converter=_names)
    tier_suffixes: Mapping[str, int] = attrs.field(factory=dict, converter=frozen, hash=False)
    team_tiers: Mapping[str, str] = attrs.field(factory=dict, converter=frozen, hash=False)
    default_tier: str | None = None
    snapshot_fields: Mapping[str, str] = attrs.field(factory=dict, converter=frozen, hash=False)
    encoding: str = "utf-8"
    delimiter: str = ","
    ladder: str = "support"
    priority_map: Mapping[str, str] = attrs.field(factory=dict, converter=frozen, hash=False)
    default_priority: str = "normal"
    default_channel: str = "unknown"
    default_customer: str = "unknown"
    tier_lead: str = "lead"
    actor: str | None = None
    mode: str = "events"
    order_by: tuple[str, ...] = attrs.field(default=(), converter=_names)
    sort: bool = False
    sort_chunk_rows: int = 200_000
    after_close: str = "refuse"
    missing_in: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict, converter=frozen,
                                                            hash=False)
    missing_team: str = "carry"
    sla_met: str | None = None
    sla_resolution: str | None = None

    def __attrs_post_init__(self) -> None:
        validate_mapping(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReplayMapping:
        """Build a mapping from plain values (the structure of the TOML file)."""
        if not isinstance(data, Mapping):
            raise ConfigError("", f"expected a table of mapping keys, got {data!r}")
        check_keys(data, "", _KEYS)
        for key in ("case_id", "timestamp", "status", "status_map"):
            if key not in data:
                raise ConfigError(key, "missing; a mapping needs case_id, timestamp, status "
                                       "and status_map")
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key in ("status", "owner", "fields", "missing", "system_accounts", "tiers",
                       "order_by"):
                values[key] = _read_strs(value, key)
            elif key == "missing_in":
                values[key] = {k: _read_strs(v, join(key, k))
                               for k, v in _read_table(value, key).items()}
            elif key == "sort":
                if not isinstance(value, bool):
                    raise ConfigError(key, f"expected true or false, got {value!r}")
                values[key] = value
            elif key == "sort_chunk_rows":
                values[key] = _read_level(value, key)
            elif key in ("status_map", "team_tiers", "snapshot_fields", "priority_map"):
                values[key] = {k: _read_str(v, join(key, k))
                               for k, v in _read_table(value, key).items()}
            elif key == "tier_suffixes":
                values[key] = {k: _read_level(v, join(key, k))
                               for k, v in _read_table(value, key).items()}
            else:
                values[key] = _read_str(value, key)
        return cls(**values)

    @classmethod
    def from_toml(cls, path: str | Path) -> ReplayMapping:
        """Load a mapping from a TOML file; a bad key raises ConfigError naming it."""
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError("", f"cannot read mapping file {str(file)!r}: "
                                  f"{exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError("", f"mapping file {str(file)!r} is not UTF-8 (byte at offset "
                                  f"{exc.start}); save it as UTF-8") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("", f"{file} is not valid TOML: {exc}") from None
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """The mapping in the structure `from_dict` reads."""
        out: dict[str, Any] = {}
        for field in attrs.fields(ReplayMapping):
            value = getattr(self, field.name)
            if value is None:
                continue
            if isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Mapping):
                value = {k: (v.value if isinstance(v, Action) else
                             list(v) if isinstance(v, tuple) else v) for k, v in value.items()}
            out[field.name] = value
        return out

    def columns(self) -> dict[str, tuple[str, ...]]:
        """Every column the mapping reads, by the key that names it."""
        named: dict[str, tuple[str, ...]] = {
            "case_id": (self.case_id,), "timestamp": (self.timestamp,),
            "status": self.status, "owner": self.owner, "fields": self.fields,
            "order_by": self.order_by,
        }
        for key in ("team", "priority", "channel", "title", "customer", "tiebreak", "actor",
                    "sla_met"):
            value = getattr(self, key)
            if value is not None:
                named[key] = (value,)
        for key, column in self.snapshot_fields.items():
            named[join("snapshot_fields", key)] = (column,)
        for column in self.missing_in:
            named[join("missing_in", column)] = (column,)
        return named

    def order_columns(self) -> tuple[str, ...]:
        """The columns that order rows of one time: `order_by`, else `tiebreak`."""
        if self.order_by:
            return self.order_by
        return (self.tiebreak,) if self.tiebreak else ()

    def tier_of(self, team: str) -> str | None:
        """The tier name a team works in; None when `team_tiers` does not know it."""
        if self.team_tiers:
            return self.team_tiers.get(team, self.default_tier)
        for suffix, level in self.tier_suffixes.items():
            if team.endswith(suffix):
                return self.tiers[level - 1]
        return self.tiers[0]

    def level(self, tier: str) -> int:
        """The 0-based level of a tier name of this mapping."""
        return self.tiers.index(tier)


def _validate_choices(m: ReplayMapping) -> None:
    for key, allowed in (("mode", MODES), ("after_close", AFTER_CLOSE),
                         ("missing_team", MISSING_TEAM)):
        if getattr(m, key) not in allowed:
            raise ConfigError(key, f"expected one of {', '.join(map(repr, allowed))}, "
                                   f"got {getattr(m, key)!r}")
    if not isinstance(m.sort, bool):
        raise ConfigError("sort", f"expected true or false, got {m.sort!r}")
    if isinstance(m.sort_chunk_rows, bool) or not isinstance(m.sort_chunk_rows, int) \
            or m.sort_chunk_rows < 1:
        raise ConfigError("sort_chunk_rows", f"expected a positive number of rows, got "
                                             f"{m.sort_chunk_rows!r}")
    if m.sla_resolution is not None:
        try:
            parse_duration(m.sla_resolution)
        except ConfigError as exc:
            raise ConfigError("sla_resolution", str(exc)) from None
        if m.sla_met is None:
            raise ConfigError("sla_resolution", "needs `sla_met`, the column with the "
                                                "source's verdict to compare with")
    if "%" in m.timestamp_format and m.timezone is None \
            and not any(z in m.timestamp_format for z in ("%z", "%Z")):
        raise ConfigError("timezone", f"the time format {m.timestamp_format!r} has no zone; "
                                      "set `timezone` to the zone the log was written in, "
                                      "for example 'Europe/Brussels'")


def _read_str(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(path, f"expected text, got {type(value).__name__} {value!r}")
    return value


def _read_strs(value: object, path: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list | tuple):
        raise ConfigError(path, f"expected text or a list of text, got {value!r}")
    return tuple(_read_str(item, join(path, i)) for i, item in enumerate(value))


def _read_table(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(path, f"expected a table, got {type(value).__name__} {value!r}")
    return value


def _read_level(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(path, f"expected a tier level (1 is the first tier), got {value!r}")
    return value


def validate_mapping(m: ReplayMapping) -> None:
    for key in ("case_id", "timestamp"):
        if not isinstance(getattr(m, key), str) or not getattr(m, key):
            raise ConfigError(key, "expected the name of a column")
    for key in ("status", "owner", "order_by"):
        names = getattr(m, key)
        if (key == "status" and not names) or not all(isinstance(n, str) and n for n in names):
            raise ConfigError(key, "expected one column name or a list of column names")
    if not m.owner and m.team is None:
        raise ConfigError("owner", "a log needs an owner column, a team column or both")
    _validate_choices(m)
    for key in ("team", "priority", "channel", "title", "customer", "tiebreak", "actor",
                "sla_met"):
        value = getattr(m, key)
        if value is not None and (not isinstance(value, str) or not value):
            raise ConfigError(key, f"expected the name of a column, got {value!r}")
    if not m.status_map:
        raise ConfigError("status_map", "empty; map each source status to an action such "
                                        "as claim, wait, resolve or close")
    allowed = ", ".join(sorted(a.value for a in REPLAY_ACTIONS))
    for source, action in m.status_map.items():
        if not isinstance(action, Action) or action not in REPLAY_ACTIONS:
            raise ConfigError(join("status_map", source),
                              f"unknown action {action!r}; expected one of {allowed}")
    if not m.tiers or len(set(m.tiers)) != len(m.tiers) or not all(m.tiers):
        raise ConfigError("tiers", "expected a list of distinct, non-empty tier names")
    for suffix, level in m.tier_suffixes.items():
        if isinstance(level, bool) or not isinstance(level, int) \
                or not 1 <= level <= len(m.tiers):
            raise ConfigError(join("tier_suffixes", suffix),
                              f"expected a tier level from 1 to {len(m.tiers)}, got {level!r}")
    for team, tier in m.team_tiers.items():
        if tier not in m.tiers:
            raise ConfigError(join("team_tiers", team),
                              f"unknown tier {tier!r}; expected one of {', '.join(m.tiers)}")
    if m.default_tier is not None and m.default_tier not in m.tiers:
        raise ConfigError("default_tier", f"unknown tier {m.default_tier!r}; expected one of "
                                          f"{', '.join(m.tiers)}")
    _validate_reading(m)


def _validate_reading(m: ReplayMapping) -> None:
    """The keys that say how the file reads: time format and zone, encoding, delimiter."""
    if m.timestamp_format != "iso" and "%" not in m.timestamp_format:
        raise ConfigError("timestamp_format", f"expected 'iso' or a strptime format such as "
                                              f"'%d/%m/%Y %H:%M', got {m.timestamp_format!r}")
    if m.timezone is not None:
        try:
            ZoneInfo(m.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError("timezone", f"unknown time zone {m.timezone!r}; use an IANA "
                                          "name such as 'Europe/Brussels'") from None
    try:
        codecs.lookup(m.encoding)
    except LookupError:
        raise ConfigError("encoding", f"unknown encoding {m.encoding!r}; use for example "
                                      "'utf-8' or 'iso-8859-1'") from None
    if not isinstance(m.delimiter, str) or len(m.delimiter) != 1:
        raise ConfigError("delimiter", f"expected one character, got {m.delimiter!r}")
    _validate_names(m)


def _validate_names(m: ReplayMapping) -> None:
    for key in m.snapshot_fields:
        if key not in SNAPSHOT_KEYS:
            raise ConfigError(join("snapshot_fields", key),
                              f"unknown snapshot field; expected one of {', '.join(SNAPSHOT_KEYS)}")
    for key in ("ladder", "tier_lead", "default_priority", "default_channel",
                "default_customer"):
        value = getattr(m, key)
        if not isinstance(value, str) or not value.strip() or value != value.strip():
            raise ConfigError(key, f"expected a non-empty name, got {value!r}")

