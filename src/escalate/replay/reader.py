"""Reading a source log: encoding and header checks, times, and one CSV record as a `Row`."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import attrs

from ..errors import ConfigError
from ..model import Action
from .mapping import ReplayMapping

__all__ = ["CountingReader", "Row", "RowReader", "Skip", "check_file", "read_header"]

# -- reading the file ---------------------------------------------------------------------

class CountingReader(io.RawIOBase):
    """A raw binary reader that counts the bytes it has handed out."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        """Always True: this is a reader."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Fill `buffer` from the file and count the bytes."""
        data = self._raw.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        self.count += size
        return size


def check_decodes(path: Path, encoding: str) -> None:
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
class Row:
    """One usable source row."""

    line: int
    case_id: str
    at: datetime
    order: tuple[tuple[int, float, str], ...]
    status: str
    action: Action
    person: str | None
    team: str | None
    tier: str | None
    first: dict[str, Any]
    snapshots: dict[str, datetime]
    actor: str | None = None
    values: dict[str, str | None] = attrs.field(factory=dict)
    sla_met: bool | None = None

    def key(self) -> tuple[datetime, tuple[tuple[int, float, str], ...], int]:
        """The order rows of one case take: time, the `order_by` columns, file line."""
        return (self.at, self.order, self.line)


class Skip(Exception):
    """The row cannot be used; `kind` says in which list it is reported."""

    def __init__(self, kind: str, value: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.value = value
        self.reason = reason


class Refuse(Exception):
    """The lifecycle has no legal path for this row."""


#: How a source's SLA column says met (True) or missed (False), lower-cased.
SLA_WORDS = {"true": True, "yes": True, "y": True, "1": True, "met": True,
             "false": False, "no": False, "n": False, "0": False, "missed": False,
             "breached": False}


def _tiebreak(value: str | None) -> tuple[int, float, str]:
    if value is None:
        return (2, 0.0, "")
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, value)


class RowReader:
    """Turns a CSV record into a Row, or raises Skip."""

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
        self.order_by = [index[c] for c in mapping.order_columns()]
        self.actor = opt(mapping.actor)
        self.sla_met = opt(mapping.sla_met)
        self.watched = [(c, index[c]) for c in (*mapping.fields, *filter(None, (
            mapping.priority, mapping.title, mapping.customer, mapping.channel)))]
        self.fields = [(c, index[c]) for c in mapping.fields]
        self.snapshots = [(k, index[c]) for k, c in mapping.snapshot_fields.items()]
        self.missing = frozenset(mapping.missing)
        self.missing_at = {index[c]: frozenset(marks) for c, marks in mapping.missing_in.items()}
        self.system = frozenset(mapping.system_accounts)
        self.parse_time = _time_parser(mapping)
        self.status_map = mapping.status_map

    def value(self, record: list[str], i: int | None) -> str | None:
        """The stripped value of column `i`, or None when it is a missing marker."""
        if i is None:
            return None
        text = record[i].strip()
        missing = self.missing_at.get(i, self.missing)
        return None if text in missing or record[i] in missing else text

    def read(self, record: list[str], line: int) -> Row:
        """The record as a Row; raises Skip when it cannot be used."""
        if len(record) != self.width:
            raise Skip("malformed", self.m.delimiter.join(record)[:80],
                        f"has {len(record)} fields, the header has {self.width}")
        case_id = self.value(record, self.case_id)
        if case_id is None:
            raise Skip("malformed", "", f"no case id in column {self.m.case_id!r}")
        stamp = self.value(record, self.timestamp)
        if stamp is None:
            raise Skip("malformed", "", f"no time in column {self.m.timestamp!r}")
        try:
            at = self.parse_time(stamp)
        except (ValueError, OverflowError) as exc:  # OverflowError: beyond years 1-9999
            raise Skip("malformed", stamp, f"time {stamp!r} does not read as "
                                            f"{self.m.timestamp_format!r}: {exc}") from None
        parts = [v for v in (self.value(record, i) for i in self.status) if v is not None]
        if not parts:
            raise Skip("malformed", "", f"no status in {', '.join(self.m.status)}")
        status = self.m.status_separator.join(parts)
        action = self.status_map.get(status)
        if not isinstance(action, Action):
            raise Skip("unknown", status, f"unknown status {status!r}; add it to status_map")
        team = self.value(record, self.team)
        tier = None if team is None else self.m.tier_of(team)
        if team is not None and tier is None:
            raise Skip("malformed", team or "", f"team {team!r} has no tier in team_tiers "
                                                 "(and no default_tier is set)")
        snapshots: dict[str, datetime] = {}
        for key, i in self.snapshots:
            raw = self.value(record, i)
            if raw is None:
                continue
            try:
                snapshots[key] = self.parse_time(raw)
            except (ValueError, OverflowError) as exc:
                raise Skip("malformed", raw, f"{key} {raw!r} does not read as "
                                              f"{self.m.timestamp_format!r}: {exc}") from None
        return Row(line=line, case_id=case_id, at=at,
                   order=tuple(_tiebreak(self.value(record, i)) for i in self.order_by),
                   status=status, action=action, person=self.person(record), team=team,
                   tier=tier, first={}, snapshots=snapshots, actor=self.acting(record),
                   values=self.watched_values(record), sla_met=self.sla(record))

    def acting(self, record: list[str]) -> str | None:
        """The `actor` column's person, or None for nobody or a system account."""
        name = self.value(record, self.actor)
        return None if name is None or name in self.system else name

    def watched_values(self, record: list[str]) -> dict[str, str | None]:
        """Snapshot mode: the fields whose changes are recorded."""
        if self.m.mode != "snapshot":
            return {}
        return {name: self.value(record, i) for name, i in self.watched}

    def sla(self, record: list[str]) -> bool | None:
        """The source system's SLA verdict on this row, if the mapping has the column."""
        text = self.value(record, self.sla_met)
        if text is None:
            return None
        verdict = SLA_WORDS.get(text.lower())
        if verdict is None:
            raise Skip("malformed", text, f"SLA value {text!r} in {self.m.sla_met!r} is not "
                                          f"one of {', '.join(SLA_WORDS)}")
        return verdict

    def person(self, record: list[str]) -> str | None:
        """The owner key of the record, or None for nobody or a system account."""
        parts = [self.value(record, i) for i in self.owner]
        if not parts or parts[0] is None or parts[0] in self.system:
            return None
        key = self.m.owner_separator.join(p for p in parts if p is not None)
        return None if key in self.system else key

    def opening(self, record: list[str], case_id: str) -> dict[str, Any]:
        """The case attributes a first row gives (title, customer, channel, ...)."""
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



def read_header(reader: Iterator[list[str]], path: Path, mapping: ReplayMapping) -> list[str]:
    """The header row, checked to hold every column the mapping names."""
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
    check_decodes(file, mapping.encoding)
    with file.open(encoding=mapping.encoding, newline="") as text:
        reader = csv.reader(text, delimiter=mapping.delimiter)
        header = read_header(reader, file, mapping)
        if mapping.timezone is None and mapping.timestamp_format == "iso":
            _check_zones(reader, header, mapping)
        return header


def _check_zones(reader: Iterator[list[str]], header: list[str], mapping: ReplayMapping,
                 sample: int = 20) -> None:
    """ISO times without an offset and no `timezone`: ConfigError before anything is read."""
    column = header.index(mapping.timestamp)
    for _ in range(sample):
        try:
            record = next(reader)
        except (StopIteration, csv.Error):
            return  # the end, or a record the replay reports as malformed with its line
        if len(record) <= column:
            continue
        try:
            moment = datetime.fromisoformat(record[column].strip())
        except (ValueError, OverflowError):
            continue
        if moment.tzinfo is None:
            raise ConfigError("timezone", f"the time {record[column].strip()!r} in "
                                          f"{mapping.timestamp!r} has no UTC offset; set "
                                          "`timezone` to the zone the log was written in")

