"""Import a real helpdesk log: each CSV row becomes escalate events, committed case by case.

A `ReplayMapping` says which columns hold the case id, time, status, owner and team, and how
the source's conventions read (time format and zone, missing-value markers, system accounts,
status names, team tiers, snapshot columns). `replay_csv` streams the file, builds every
case with `escalate.fold.apply` and `escalate.lifecycle.next_status`, commits the events
through `Store.commit`, and returns a `ReplayResult` with the figures and every row it could
not use, by line number.
"""

from __future__ import annotations

import codecs
import csv
import io
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from .chain import event_hash
from .configreader import check_keys, join
from .errors import ConfigError, InvalidTransition
from .fold import EventOrderError, apply
from .lifecycle import next_status
from .model import EVENT_OF_ACTION, Action, Agent, Case, Event, Owner, Queue, Status
from .policy import Ladder, Policy, Tier
from .stores.base import Change, Store

__all__ = [
    "KEEP_PROBLEMS",
    "REPLAY_ACTIONS",
    "Progress",
    "ReplayMapping",
    "ReplayResult",
    "RowProblem",
    "check_file",
    "replay_csv",
    "replay_policy",
]

#: Actions a source status may map to; moves between teams are found from the team column.
REPLAY_ACTIONS = frozenset({
    Action.RETURN, Action.CLAIM, Action.RESPOND, Action.ASSIGN, Action.WAIT, Action.RESUME,
    Action.RESOLVE, Action.REOPEN, Action.CLOSE, Action.NOTE,
})

#: How many problem rows of each kind a result keeps (all of them are counted).
KEEP_PROBLEMS = 100

#: Columns whose value is the time something happened, valid on every row of a snapshot export.
SNAPSHOT_KEYS = ("resolved_at", "closed_at")

#: progress(rows_done, bytes_done, bytes_total)
Progress = Callable[[int, int, int], None]

_COLUMN_KEYS = ("case_id", "timestamp", "status", "owner", "team", "priority", "channel",
                "title", "customer", "tiebreak", "fields")
_KEYS = (*_COLUMN_KEYS, "timestamp_format", "timezone", "missing", "system_accounts",
         "status_separator", "owner_separator", "status_map", "tiers", "tier_suffixes",
         "team_tiers", "default_tier", "snapshot_fields", "encoding", "delimiter", "ladder",
         "priority_map", "default_priority", "default_channel", "default_customer", "tier_lead")


def _names(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _frozen(value: Mapping[Any, Any] | None) -> Mapping[Any, Any]:
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
    owner: tuple[str, ...] = attrs.field(converter=_names)
    status_map: Mapping[str, Action | str] = attrs.field(converter=_actions, hash=False)
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
    tier_suffixes: Mapping[str, int] = attrs.field(factory=dict, converter=_frozen, hash=False)
    team_tiers: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen, hash=False)
    default_tier: str | None = None
    snapshot_fields: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen, hash=False)
    encoding: str = "utf-8"
    delimiter: str = ","
    ladder: str = "support"
    priority_map: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen, hash=False)
    default_priority: str = "normal"
    default_channel: str = "unknown"
    default_customer: str = "unknown"
    tier_lead: str = "lead"

    def __attrs_post_init__(self) -> None:
        _validate(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReplayMapping:
        """Build a mapping from plain values (the structure of the TOML file)."""
        if not isinstance(data, Mapping):
            raise ConfigError("", f"expected a table of mapping keys, got {data!r}")
        check_keys(data, "", _KEYS)
        for key in ("case_id", "timestamp", "status", "owner", "status_map"):
            if key not in data:
                raise ConfigError(key, "missing; a mapping needs case_id, timestamp, status, "
                                       "owner and status_map")
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key in ("status", "owner", "fields", "missing", "system_accounts", "tiers"):
                values[key] = _read_strs(value, key)
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
                value = {k: (v.value if isinstance(v, Action) else v) for k, v in value.items()}
            out[field.name] = value
        return out

    def columns(self) -> dict[str, tuple[str, ...]]:
        """Every column the mapping reads, by the key that names it."""
        named: dict[str, tuple[str, ...]] = {
            "case_id": (self.case_id,), "timestamp": (self.timestamp,),
            "status": self.status, "owner": self.owner, "fields": self.fields,
        }
        for key in ("team", "priority", "channel", "title", "customer", "tiebreak"):
            value = getattr(self, key)
            if value is not None:
                named[key] = (value,)
        for key, column in self.snapshot_fields.items():
            named[join("snapshot_fields", key)] = (column,)
        return named

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


def _validate(m: ReplayMapping) -> None:
    for key in ("case_id", "timestamp"):
        if not isinstance(getattr(m, key), str) or not getattr(m, key):
            raise ConfigError(key, "expected the name of a column")
    for key in ("status", "owner"):
        names = getattr(m, key)
        if not names or not all(isinstance(n, str) and n for n in names):
            raise ConfigError(key, "expected one column name or a list of column names")
    for key in ("team", "priority", "channel", "title", "customer", "tiebreak"):
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
                              f"unknown action {action!r}; expected one of {allowed} "
                              "(moves between teams are found from the team column)")
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
    for key in m.snapshot_fields:
        if key not in SNAPSHOT_KEYS:
            raise ConfigError(join("snapshot_fields", key),
                              f"unknown snapshot field; expected one of {', '.join(SNAPSHOT_KEYS)}")
    for key in ("ladder", "tier_lead", "default_priority", "default_channel",
                "default_customer"):
        value = getattr(m, key)
        if not isinstance(value, str) or not value.strip() or value != value.strip():
            raise ConfigError(key, f"expected a non-empty name, got {value!r}")


@attrs.frozen
class RowProblem:
    """One source row that could not be used as it stands, by its line in the file."""

    line: int
    value: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


def _problems_to_list(problems: Iterable[RowProblem]) -> list[dict[str, Any]]:
    return [{"line": p.line, "value": p.value, "reason": p.reason} for p in problems]


@attrs.frozen
class ReplayResult:
    """What a replay read, wrote and could not use; `policy` has the tiers the cases use.

    Moves and ping-pong are counted from the source rows (adjacent rows of a case whose team
    differs), so they match an independent count of the file; the events written show the
    same moves as `escalated` / `transferred` events unless their row was refused.
    """

    path: str
    rows: int
    cases: int
    events: int
    owners: int
    moves_up: int
    moves_sideways: int
    moves_down: int
    ping_pong_cases: int
    malformed: int
    malformed_rows: tuple[RowProblem, ...]
    unknown_statuses: int
    unknown_status_rows: tuple[RowProblem, ...]
    refused: int
    refused_rows: tuple[RowProblem, ...]
    refused_cases: int
    events_by_kind: Mapping[str, int] = attrs.field(converter=_frozen, hash=False)
    statuses: Mapping[str, int] = attrs.field(converter=_frozen, hash=False)
    policy: Policy = attrs.field(eq=False)
    elapsed: float = attrs.field(eq=False)

    @property
    def events_per_second(self) -> float:
        """Events written per second of replay."""
        return self.events / self.elapsed if self.elapsed > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The figures as JSON-ready values (the policy as its tier names)."""
        return {
            "path": self.path, "rows": self.rows, "cases": self.cases, "events": self.events,
            "owners": self.owners,
            "moves": {"up": self.moves_up, "sideways": self.moves_sideways,
                      "down": self.moves_down},
            "ping_pong_cases": self.ping_pong_cases,
            "malformed": {"count": self.malformed,
                          "rows": _problems_to_list(self.malformed_rows)},
            "unknown_statuses": {"count": self.unknown_statuses,
                                 "rows": _problems_to_list(self.unknown_status_rows)},
            "refused": {"count": self.refused, "cases": self.refused_cases,
                        "rows": _problems_to_list(self.refused_rows)},
            "events_by_kind": dict(self.events_by_kind),
            "statuses": dict(self.statuses),
            "tiers": [t.name for ladder in self.policy.ladders.values() for t in ladder.tiers],
            "elapsed_seconds": round(self.elapsed, 3),
            "events_per_second": round(self.events_per_second),
        }

    def summary(self) -> str:
        """A few lines for people: the figures, then the first problem rows of each kind."""
        kinds = ", ".join(f"{kind} {count:,}" for kind, count in
                          sorted(self.events_by_kind.items(), key=lambda kv: -kv[1]))
        lines = [
            f"replayed {self.path}",
            f"  rows read        {self.rows:>9,}",
            f"  cases            {self.cases:>9,}",
            f"  events written   {self.events:>9,}  ({self.events_per_second:,.0f}/s in "
            f"{self.elapsed:.1f}s)",
            f"  distinct owners  {self.owners:>9,}",
            f"  team moves       {self.moves_up:>9,} up, {self.moves_sideways:,} sideways, "
            f"{self.moves_down:,} down",
            f"  ping-pong cases  {self.ping_pong_cases:>9,}  (team A -> B -> A)",
            f"  malformed rows   {self.malformed:>9,}",
            f"  unknown statuses {self.unknown_statuses:>9,}",
            f"  refused rows     {self.refused:>9,}  in {self.refused_cases:,} cases (the "
            "lifecycle has no legal path)",
            f"  events by kind   {kinds}",
        ]
        for title, count, rows in (("malformed", self.malformed, self.malformed_rows),
                                   ("unknown status", self.unknown_statuses,
                                    self.unknown_status_rows),
                                   ("refused", self.refused, self.refused_rows)):
            if not rows:
                continue
            groups = _grouped(rows)
            lines.append(f"{title} rows (first {len(rows)} of {count:,}):")
            lines.extend(f"  {group}" for group in groups[:20])
            if len(groups) > 20:
                lines.append(f"  ... {len(groups) - 20} more; all kept rows are in the JSON")
        return "\n".join(lines)


def _grouped(rows: Iterable[RowProblem]) -> list[str]:
    """Problems with one reason on consecutive lines, as "lines 4-9: reason"."""
    groups: list[list[Any]] = []  # [first line, last line, reason]
    for problem in rows:
        last = groups[-1] if groups else None
        if last is not None and last[2] == problem.reason and problem.line == last[1] + 1:
            last[1] = problem.line
        else:
            groups.append([problem.line, problem.line, problem.reason])
    return [f"line {a}: {reason}" if a == b else f"lines {a}-{b}: {reason}"
            for a, b, reason in groups]


def replay_policy(mapping: ReplayMapping,
                  members: Mapping[str, Iterable[str]] | None = None) -> Policy:
    """The policy replayed cases live in: one ladder with the mapping's tiers.

    Each tier gets `mapping.tier_lead` as lead (so a tier is valid with no member) and, when
    given, the owners seen working in it as members.
    """
    seen = members or {}
    tiers = [Tier(name=name, members=sorted(set(seen.get(name, ())) - {mapping.tier_lead}),
                  lead=mapping.tier_lead) for name in mapping.tiers]
    return Policy(ladders={mapping.ladder: Ladder(name=mapping.ladder, tiers=tiers)})


# -- reading the file ---------------------------------------------------------------------

class _CountingReader(io.RawIOBase):
    """A raw binary reader that counts the bytes it has handed out."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        self.count += size
        return size


def _check_decodes(path: Path, encoding: str) -> None:
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise ConfigError("encoding", f"{path} is not {encoding} (bad byte near offset "
                                              f"{offset + exc.start}); set `encoding`, for "
                                              "example 'iso-8859-1'") from None
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise ConfigError("encoding", f"{path} ends inside a {encoding} character; set "
                                          "`encoding`") from None


def _time_parser(mapping: ReplayMapping) -> Callable[[str], datetime]:
    zone: tzinfo | None = ZoneInfo(mapping.timezone) if mapping.timezone else None
    fmt = mapping.timestamp_format

    def localize(moment: datetime, text: str) -> datetime:
        if moment.tzinfo is None:
            if zone is None:
                raise ValueError(f"time {text!r} has no UTC offset; set `timezone` in the "
                                 "mapping")
            moment = moment.replace(tzinfo=zone)
        return moment.astimezone(UTC)

    if fmt == "iso":
        def parse_iso(text: str) -> datetime:
            return localize(datetime.fromisoformat(text), text)
        return parse_iso

    def parse_format(text: str) -> datetime:
        return localize(datetime.strptime(text, fmt), text)
    return parse_format


# -- one row, read ------------------------------------------------------------------------

@attrs.define(slots=True)
class _Row:
    """One usable source row."""

    line: int
    case_id: str
    at: datetime
    order: tuple[int, float, str]
    status: str
    action: Action
    person: str | None
    team: str | None
    tier: str | None
    first: dict[str, Any]
    snapshots: dict[str, datetime]


class _Skip(Exception):
    """The row cannot be used; `kind` says in which list it is reported."""

    def __init__(self, kind: str, value: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.value = value
        self.reason = reason


class _Refuse(Exception):
    """The lifecycle has no legal path for this row."""


def _tiebreak(value: str | None) -> tuple[int, float, str]:
    if value is None:
        return (2, 0.0, "")
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, value)


class _RowReader:
    """Turns a CSV record into a _Row, or raises _Skip."""

    def __init__(self, mapping: ReplayMapping, header: list[str]) -> None:
        self.m = mapping
        index = {name: i for i, name in reversed(list(enumerate(header)))}
        self.width = len(header)
        self.case_id = index[mapping.case_id]
        self.timestamp = index[mapping.timestamp]
        self.status = [index[c] for c in mapping.status]
        self.owner = [index[c] for c in mapping.owner]

        def opt(column: str | None) -> int | None:
            return None if column is None else index[column]

        self.team = opt(mapping.team)
        self.priority = opt(mapping.priority)
        self.channel = opt(mapping.channel)
        self.title = opt(mapping.title)
        self.customer = opt(mapping.customer)
        self.tiebreak = opt(mapping.tiebreak)
        self.fields = [(c, index[c]) for c in mapping.fields]
        self.snapshots = [(k, index[c]) for k, c in mapping.snapshot_fields.items()]
        self.missing = frozenset(mapping.missing)
        self.system = frozenset(mapping.system_accounts)
        self.parse_time = _time_parser(mapping)
        self.status_map = mapping.status_map

    def value(self, record: list[str], i: int | None) -> str | None:
        if i is None:
            return None
        text = record[i].strip()
        return None if text in self.missing or record[i] in self.missing else text

    def read(self, record: list[str], line: int) -> _Row:
        if len(record) != self.width:
            raise _Skip("malformed", self.m.delimiter.join(record)[:80],
                        f"has {len(record)} fields, the header has {self.width}")
        case_id = self.value(record, self.case_id)
        if case_id is None:
            raise _Skip("malformed", "", f"no case id in column {self.m.case_id!r}")
        stamp = self.value(record, self.timestamp)
        if stamp is None:
            raise _Skip("malformed", "", f"no time in column {self.m.timestamp!r}")
        try:
            at = self.parse_time(stamp)
        except (ValueError, OverflowError) as exc:  # OverflowError: beyond years 1-9999
            raise _Skip("malformed", stamp, f"time {stamp!r} does not read as "
                                            f"{self.m.timestamp_format!r}: {exc}") from None
        parts = [v for v in (self.value(record, i) for i in self.status) if v is not None]
        if not parts:
            raise _Skip("malformed", "", f"no status in {', '.join(self.m.status)}")
        status = self.m.status_separator.join(parts)
        action = self.status_map.get(status)
        if not isinstance(action, Action):
            raise _Skip("unknown", status, f"unknown status {status!r}; add it to status_map")
        team = self.value(record, self.team)
        tier = None if team is None else self.m.tier_of(team)
        if team is not None and tier is None:
            raise _Skip("malformed", team or "", f"team {team!r} has no tier in team_tiers "
                                                 "(and no default_tier is set)")
        snapshots: dict[str, datetime] = {}
        for key, i in self.snapshots:
            raw = self.value(record, i)
            if raw is None:
                continue
            try:
                snapshots[key] = self.parse_time(raw)
            except (ValueError, OverflowError) as exc:
                raise _Skip("malformed", raw, f"{key} {raw!r} does not read as "
                                              f"{self.m.timestamp_format!r}: {exc}") from None
        return _Row(line=line, case_id=case_id, at=at,
                    order=_tiebreak(self.value(record, self.tiebreak)), status=status,
                    action=action, person=self.person(record), team=team, tier=tier,
                    first={}, snapshots=snapshots)

    def person(self, record: list[str]) -> str | None:
        parts = [self.value(record, i) for i in self.owner]
        if parts[0] is None or parts[0] in self.system:
            return None
        key = self.m.owner_separator.join(p for p in parts if p is not None)
        return None if key in self.system else key

    def opening(self, record: list[str], case_id: str) -> dict[str, Any]:
        m = self.m
        raw_priority = self.value(record, self.priority)
        priority = m.default_priority if raw_priority is None else \
            m.priority_map.get(raw_priority, raw_priority)
        fields = {name: v for name, i in self.fields
                  if (v := self.value(record, i)) is not None}
        return {
            "title": self.value(record, self.title) or case_id,
            "customer": self.value(record, self.customer) or m.default_customer,
            "channel": self.value(record, self.channel) or m.default_channel,
            "priority": priority,
            "category": None,
            "fields": fields,
        }


# -- per-case state -------------------------------------------------------------------------

class _Track:
    """What the replay keeps of one case: the case while it is open, its team history."""

    __slots__ = ("applied", "case", "case_team", "closed", "committed", "events", "foreign",
                 "pending", "pending_at", "ping_pong", "previous_team", "snapshots", "team")

    def __init__(self) -> None:
        self.case: Case | None = None
        self.committed = 0
        self.events: list[Event] = []
        self.pending: list[_Row] = []
        self.pending_at: datetime | None = None
        self.team: str | None = None           # as the source rows say, for counting
        self.previous_team: str | None = None  # the distinct team before `team`
        self.ping_pong = False
        self.case_team: str | None = None      # as the written events say
        self.closed = False
        self.foreign = False                   # the store already had this case id
        self.snapshots: dict[str, datetime] = {}
        self.applied: set[str] = set()


_STATUS_CACHE: dict[tuple[Status, Action], Status] = {}


def _next(status: Status, action: Action, case_id: str) -> Status:
    """`lifecycle.next_status`, remembered per (status, action) since it never changes."""
    key = (status, action)
    found = _STATUS_CACHE.get(key)
    if found is None:
        found = next_status(status, action, case_id)
        _STATUS_CACHE[key] = found
    return found


#: The status of a new case, from the lifecycle.
_OPENED = next_status(None, Action.OPEN)

_TAKES = (Action.CLAIM, Action.RESPOND, Action.RESUME)
_HOLDS = (Action.RETURN, Action.CLAIM, Action.RESPOND, Action.RESUME, Action.ASSIGN,
          Action.WAIT)


class _Plan:
    """Builds the events of one row on a copy of the case; nothing is kept if it fails."""

    def __init__(self, case: Case, row: _Row, team: str | None, *,
                 opened: bool = False) -> None:
        self.case = case
        self.row = row
        self.opened = opened  # the row already has its `opened` event
        self.events: list[Event] = []
        self.team = team  # the team the case is with; the row's team from its move on

    def emit(self, action: Action, owner: Owner, *, tier: str | None = None,
             at: datetime | None = None, actor: str | None = None, use_row_actor: bool = True,
             data: dict[str, Any] | None = None, reason: str | None = None) -> None:
        case = self.case
        body: dict[str, Any] = {"line": self.row.line}
        if self.team is not None:
            body["team"] = self.team
        if data:
            body.update(data)
        event = _sealed(Event(
            case_id=case.id, seq=case.version + 1, at=at or self.row.at,
            kind=EVENT_OF_ACTION[action], actor=self.row.person if use_row_actor else actor,
            owner_before=case.owner, owner_after=owner, status_before=case.status,
            status_after=_next(case.status, action, case.id), tier_before=case.tier,
            tier_after=tier or case.tier, reason=self.row.status if reason is None else reason,
            data=body, prev_hash=case.last_hash))
        self.case = apply(case, event)
        self.events.append(event)


def _sealed(event: Event) -> Event:
    """The event with its chain hash (as `chain.seal` does; `prev_hash` is already set)."""
    return attrs.evolve(event, hash=event_hash(event))


def _open_case(row: _Row, ladder: str, first_tier: str) -> tuple[Case, Event]:
    data = {**row.first, "ladder": ladder, "contact": row.person, "sla": None}
    if row.team is not None:
        data["team"] = row.team
    data["line"] = row.line
    tier = row.tier or first_tier
    event = Event(case_id=row.case_id, seq=1, at=row.at, kind=EVENT_OF_ACTION[Action.OPEN],
                  actor=row.person, owner_before=None, owner_after=Queue(tier),
                  status_before=None, status_after=_OPENED,
                  tier_before=None, tier_after=tier, reason=row.status, data=data)
    event = _sealed(event)
    return apply(None, event), event


def _apply_snapshots(plan: _Plan, track: _Track, until: datetime | None) -> None:
    """Record snapshot times that have happened by `until` (None: all of them, at the end)."""
    for key in SNAPSHOT_KEYS:
        moment = track.snapshots.get(key)
        if moment is None or key in track.applied or (until is not None and moment > until):
            continue
        track.applied.add(key)
        case = plan.case
        row_does_it = until is not None and moment == plan.row.at and (
            plan.row.action is Action.CLOSE
            or (key == "resolved_at" and plan.row.action is Action.RESOLVE))
        if row_does_it or case.status is Status.CLOSED:
            continue
        if key == "resolved_at" and case.status is Status.RESOLVED:
            continue
        at = max(moment, case.updated_at)
        actor = case.owner.name if isinstance(case.owner, Agent) else None
        mark = {"snapshot": key}
        if case.status is not Status.RESOLVED:
            plan.emit(Action.RESOLVE, case.owner, at=at, actor=actor, use_row_actor=False,
                      data=mark, reason=f"{key} from the export")
        if key == "closed_at":
            plan.emit(Action.CLOSE, plan.case.owner, at=at, actor=actor, use_row_actor=False,
                      data=mark, reason=f"{key} from the export")


def _plan_row(plan: _Plan, track: _Track, mapping: ReplayMapping) -> None:
    """Append the events for one row; raises _Refuse when the lifecycle has no legal path."""
    row = plan.row
    if plan.case.status is Status.CLOSED:
        raise _Refuse("the case is closed, and a closed case stays closed")
    if row.at < plan.case.updated_at:
        raise _Refuse(f"dated {row.at.isoformat()}, before the case's previous row "
                      f"({plan.case.updated_at.isoformat()})")
    _apply_snapshots(plan, track, row.at)
    own_from = len(plan.events)  # the events before this are the export's snapshot times
    action = row.action
    person: Owner | None = Agent(row.person) if row.person else None
    tier = row.tier or plan.case.tier  # a row without a team leaves the case where it is
    moved = row.team is not None and (row.team != track.case_team if track.case_team
                                      else tier != plan.case.tier)
    targets_open = action in _HOLDS or action is Action.REOPEN
    case = plan.case
    # 1. out of a resolved case, when the row needs it open again
    if case.status is Status.RESOLVED and (moved or targets_open):
        plan.emit(Action.REOPEN, case.owner)
    # 2. the move between teams: up is an escalation, same level or down a transfer
    if moved:
        if plan.case.status is Status.WAITING and action in (Action.RETURN, *_TAKES,
                                                             Action.ASSIGN):
            plan.emit(Action.RESUME, plan.case.owner)
        before = mapping.level(plan.case.tier)
        after = mapping.level(tier)
        direction = "up" if after > before else "down" if after < before else "sideways"
        to: Owner = Queue(tier) if action is Action.RETURN or person is None else person
        plan.team = row.team
        plan.emit(Action.ESCALATE if direction == "up" else Action.TRANSFER, to, tier=tier,
                  data={"team_before": track.case_team, "direction": direction})
    # 3. a new owner at the same team, for rows that say who holds the case
    case = plan.case
    if (not moved and person is not None and case.owner != person and action in _HOLDS
            and action not in (Action.RETURN, Action.ASSIGN, Action.WAIT)
            and case.status is not Status.OPEN):
        plan.emit(Action.TRANSFER, person)
    # 4. the status the row reports
    case = plan.case
    status = case.status
    if action is Action.RETURN:
        if status is Status.WAITING:
            plan.emit(Action.RESUME, case.owner)
        if plan.case.status is Status.ACTIVE or plan.case.owner != Queue(tier):
            plan.emit(Action.RETURN, Queue(tier))
    elif action in _TAKES:
        if status is Status.OPEN:
            taker = person or case.owner
            plan.emit(Action.RESPOND if action is Action.RESPOND else Action.CLAIM, taker)
        elif status is Status.WAITING:
            plan.emit(Action.RESUME, case.owner)
    elif action is Action.ASSIGN:
        if status is Status.WAITING:
            plan.emit(Action.RESUME, case.owner)
        if plan.case.status is Status.ACTIVE or (person is not None and case.owner != person):
            plan.emit(Action.ASSIGN, person or plan.case.owner)
    elif action is Action.WAIT:
        if status is Status.OPEN:
            plan.emit(Action.CLAIM, person or case.owner)
        if plan.case.status is Status.ACTIVE:
            plan.emit(Action.WAIT, plan.case.owner)
        if person is not None and plan.case.owner != person:
            plan.emit(Action.TRANSFER, person)
    elif action is Action.RESOLVE:
        if status is not Status.RESOLVED:
            keeper = person if isinstance(case.owner, Queue) and person else case.owner
            plan.emit(Action.RESOLVE, keeper)
    elif action is Action.CLOSE:
        if status is not Status.RESOLVED:
            plan.emit(Action.RESOLVE, case.owner)
        plan.emit(Action.CLOSE, plan.case.owner)
    if len(plan.events) == own_from and not plan.opened:
        plan.emit(Action.NOTE, plan.case.owner)


# -- the replay ------------------------------------------------------------------------------

class _Replay:
    """The running state of one replay: tracks, counters and problem lists."""

    def __init__(self, mapping: ReplayMapping, store: Store, ladder: str) -> None:
        self.m = mapping
        self.store = store
        self.ladder = ladder
        self.stored = set(store.case_ids())  # cases the store had before this replay
        self.tracks: dict[str, _Track] = {}
        self.waiting: dict[str, _Track] = {}
        self.rows = 0
        self.cases = 0
        self.events = 0
        self.owners: set[str] = set()
        self.members: dict[str, set[str]] = {tier: set() for tier in mapping.tiers}
        self.moves = {"up": 0, "sideways": 0, "down": 0}
        self.ping_pong = 0
        self.kinds: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.problems: dict[str, list[RowProblem]] = {"malformed": [], "unknown": [],
                                                      "refused": []}
        self.counts: Counter[str] = Counter()
        self.refused_cases: set[str] = set()

    def problem(self, kind: str, line: int, value: str, reason: str) -> None:
        self.counts[kind] += 1
        kept = self.problems[kind]
        if len(kept) < KEEP_PROBLEMS:
            kept.append(RowProblem(line, value, reason))

    def refuse(self, case_id: str, row: _Row, reason: str) -> None:
        self.problem("refused", row.line, row.status, f"case {case_id}: {reason}")
        self.refused_cases.add(case_id)

    def add(self, row: _Row) -> None:
        """Queue a row of its case; rows of one case at one time wait for their tie-break."""
        for case_id, other in list(self.waiting.items()):
            if case_id != row.case_id and other.pending_at != row.at:
                del self.waiting[case_id]
                self.process(case_id, other)
                self.commit(case_id, other)
        track = self.tracks.get(row.case_id)
        if track is None:
            track = self.tracks[row.case_id] = _Track()
        if track.pending and track.pending_at is not None and row.at > track.pending_at:
            self.process(row.case_id, track)
        track.pending.append(row)
        if track.pending_at is None or row.at > track.pending_at:
            track.pending_at = row.at
        self.waiting[row.case_id] = track
        if len(track.events) >= 500:
            self.commit(row.case_id, track)

    def process(self, case_id: str, track: _Track) -> None:
        """Turn the case's pending rows into events, in time and tie-break order."""
        rows = sorted(track.pending, key=lambda r: (r.at, r.order, r.line))
        track.pending = []
        track.pending_at = None
        for row in rows:
            self.count_source(track, row)
            self.one(case_id, track, row)

    def count_source(self, track: _Track, row: _Row) -> None:
        """Count owners, statuses, team moves and A -> B -> A returns as the rows say."""
        self.statuses[row.status] += 1
        if row.person is not None:
            self.owners.add(row.person)
            if row.tier is not None:
                self.members[row.tier].add(row.person)
        team = row.team
        if team is None or row.tier is None or team == track.team:
            return
        if track.team is not None:
            before = self.m.level(self.m.tier_of(track.team) or self.m.tiers[0])
            after = self.m.level(row.tier)
            self.moves["up" if after > before else "down" if after < before else "sideways"] += 1
            if team == track.previous_team and not track.ping_pong:
                track.ping_pong = True
                self.ping_pong += 1
        track.previous_team = track.team
        track.team = team

    def one(self, case_id: str, track: _Track, row: _Row) -> None:
        if track.foreign:
            self.refuse(case_id, row, f"case {case_id!r} was already in the store before "
                                      "this replay")
            return
        if track.closed:
            self.refuse(case_id, row, "the case is closed, and a closed case stays closed")
            return
        for key, moment in row.snapshots.items():
            track.snapshots[key] = moment
        if track.case is None:
            if case_id in self.stored:
                track.foreign = True
                self.one(case_id, track, row)
                return
            case, opened = _open_case(row, self.ladder, self.m.tiers[0])
            plan = _Plan(case, row, row.team, opened=True)
            try:
                _plan_row(plan, track, self.m)
            except (_Refuse, InvalidTransition, EventOrderError) as exc:
                self.refuse(case_id, row, str(exc))
                plan = _Plan(case, row, row.team, opened=True)
            track.case = plan.case
            track.events.append(opened)
            track.events.extend(plan.events)
            track.case_team = row.team
            self.cases += 1
            return
        plan = _Plan(track.case, row, track.case_team or row.team)
        try:
            _plan_row(plan, track, self.m)
        except (_Refuse, InvalidTransition, EventOrderError) as exc:
            self.refuse(case_id, row, str(exc))
            return
        track.case = plan.case
        track.events.extend(plan.events)
        if row.team is not None:
            track.case_team = row.team

    def commit(self, case_id: str, track: _Track) -> None:
        """Write the case's new events in one change; forget a closed case's state."""
        if track.events and track.case is not None:
            events = tuple(track.events)
            self.store.commit(Change(case=track.case, events=events,
                                     expected_version=track.committed))
            track.committed = track.case.version
            self.events += len(events)
            self.kinds.update(e.kind.value for e in events)
            track.events = []
        if track.case is not None and track.case.status is Status.CLOSED and not track.pending:
            track.case = None
            track.closed = True
            track.snapshots.clear()

    def finish(self) -> None:
        """Process every pending row, record snapshot times still due, and commit."""
        for case_id, track in list(self.tracks.items()):
            if track.pending:
                self.process(case_id, track)
            if track.case is not None and track.snapshots and not track.foreign:
                self.finish_snapshots(track)
            self.commit(case_id, track)
        self.waiting.clear()

    def finish_snapshots(self, track: _Track) -> None:
        assert track.case is not None
        last = _Row(line=0, case_id=track.case.id, at=track.case.updated_at,
                    order=(2, 0.0, ""), status="", action=Action.NOTE, person=None,
                    team=track.case_team, tier=track.case.tier, first={}, snapshots={})
        plan = _Plan(track.case, last, track.case_team)
        try:
            _apply_snapshots(plan, track, None)
        except (InvalidTransition, EventOrderError) as exc:
            self.refuse(track.case.id, last, str(exc))
            return
        track.case = plan.case
        track.events.extend(plan.events)


def _check_policy(policy: Policy, mapping: ReplayMapping) -> str:
    """The ladder of `policy` that holds the mapping's tiers, in order; else ConfigError."""
    for ladder in policy.ladders.values():
        names = [tier.name for tier in ladder.tiers]
        if all(name in names for name in mapping.tiers):
            if [n for n in names if n in mapping.tiers] != list(mapping.tiers):
                raise ConfigError("tiers", f"ladder {ladder.name!r} has the tiers in another "
                                           f"order than the mapping ({', '.join(mapping.tiers)})")
            return ladder.name
    raise ConfigError("tiers", f"no ladder of the policy has the mapping's tiers "
                               f"({', '.join(mapping.tiers)}); leave `policy` out to use "
                               "replay_policy(mapping)")


def _header(reader: Iterator[list[str]], path: Path, mapping: ReplayMapping) -> list[str]:
    try:
        header = next(reader)
    except StopIteration:
        raise ConfigError("", f"{path} is empty; expected a header row") from None
    except csv.Error as exc:
        raise ConfigError("delimiter", f"cannot read the header of {path}: {exc}") from None
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    header = [name.strip() for name in header]
    present = set(header)
    for key, columns in mapping.columns().items():
        for column in columns:
            if column not in present:
                shown = ", ".join(repr(h) for h in header[:20])
                hint = ""
                if len(header) == 1 and mapping.delimiter not in header[0]:
                    hint = f"; is the delimiter {mapping.delimiter!r} right?"
                raise ConfigError(key, f"column {column!r} is not in {path.name} "
                                       f"(its columns: {shown}){hint}")
    return header


def check_file(path: str | Path, mapping: ReplayMapping) -> list[str]:
    """Check that the file exists, decodes and has every column the mapping names.

    Returns the header; raises ConfigError naming the mapping key otherwise. `replay_csv`
    runs this before it writes anything.
    """
    file = Path(path)
    if not file.is_file():
        raise ConfigError("", f"no file {str(file)!r} to replay")
    _check_decodes(file, mapping.encoding)
    with file.open(encoding=mapping.encoding, newline="") as text:
        return _header(csv.reader(text, delimiter=mapping.delimiter), file, mapping)


def _records(reader: Any, state: _Replay) -> Iterator[list[str]]:
    """The CSV records; one the csv module cannot read (a field over its size limit) is
    counted as malformed, with its line, and reading goes on at the next line."""
    while True:
        before = reader.line_num
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            state.rows += 1
            state.problem("malformed", before + 1, "", f"cannot read the CSV record: {exc}")
            yield []


def replay_csv(path: str | Path, mapping: ReplayMapping, store: Store, *,
               policy: Policy | None = None, progress: Progress | None = None) -> ReplayResult:
    """Replay a CSV log into `store` and return what was read, written and refused.

    The file is streamed; only open cases are held in memory. The header and the encoding
    are checked against the mapping before anything is written (ConfigError naming the
    mapping key). `policy`, when given, must have a ladder with the mapping's tiers; by
    default the result carries `replay_policy(mapping)` with the owners seen per tier.
    """
    started = time.perf_counter()
    file = Path(path)
    ladder = _check_policy(policy, mapping) if policy is not None else mapping.ladder
    check_file(file, mapping)
    total = file.stat().st_size
    state = _Replay(mapping, store, ladder)
    with file.open("rb") as raw:
        counter = _CountingReader(raw)
        text = io.TextIOWrapper(io.BufferedReader(counter, 1 << 16), encoding=mapping.encoding,
                                newline="")
        reader = csv.reader(text, delimiter=mapping.delimiter, strict=False)
        header = _header(reader, file, mapping)
        rows = _RowReader(mapping, header)
        line = reader.line_num
        for record in _records(reader, state):
            start_line, line = line + 1, reader.line_num
            if not record:
                continue
            state.rows += 1
            try:
                row = rows.read(record, start_line)
            except _Skip as skip:
                state.problem(skip.kind, start_line, skip.value, skip.reason)
                continue
            track = state.tracks.get(row.case_id)
            if track is None or (track.case is None and not track.closed
                                 and not track.foreign):
                row.first = rows.opening(record, row.case_id)
            state.add(row)
            if progress is not None and state.rows % 2000 == 0:
                progress(state.rows, counter.count, total)
        state.finish()
    if progress is not None:
        progress(state.rows, total, total)
    members = {tier: sorted(names) for tier, names in state.members.items()}
    return ReplayResult(
        path=str(file), rows=state.rows, cases=state.cases, events=state.events,
        owners=len(state.owners), moves_up=state.moves["up"],
        moves_sideways=state.moves["sideways"], moves_down=state.moves["down"],
        ping_pong_cases=state.ping_pong,
        malformed=state.counts["malformed"], malformed_rows=tuple(state.problems["malformed"]),
        unknown_statuses=state.counts["unknown"],
        unknown_status_rows=tuple(state.problems["unknown"]),
        refused=state.counts["refused"], refused_rows=tuple(state.problems["refused"]),
        refused_cases=len(state.refused_cases),
        events_by_kind=dict(state.kinds), statuses=dict(state.statuses),
        policy=policy if policy is not None else replay_policy(mapping, members),
        elapsed=time.perf_counter() - started,
    )
