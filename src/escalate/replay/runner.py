"""`replay_csv`: stream a log, plan each row, and commit the cases' events."""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs

from ..durations import parse_duration
from ..errors import ConfigError, InvalidTransition
from ..fold import EventOrderError
from ..model import Action, Case, EventKind, Status
from ..policy import Policy
from ..stored_policy import store_policy
from ..stores.base import Change, Store
from .counting import CaseCounts, SlaCounts, SourceCounts
from .mapping import KEEP_PROBLEMS, ReplayMapping
from .planner import Plan, Refuse, Track, apply_snapshots, open_case, plan_row
from .reader import CountingReader, Row, RowReader, Skip, check_file, read_header
from .results import ReplayResult, RowProblem, replay_policy
from .sorting import Record, sorted_records

__all__ = ["Progress", "replay_csv"]

#: progress(rows_done, bytes_done, bytes_total)
Progress = Callable[[int, int, int], None]

# -- the replay ------------------------------------------------------------------------------

class _Replay:
    """The running state of one replay: tracks, counters, problem lists and the batch."""

    def __init__(self, mapping: ReplayMapping, store: Store, ladder: str) -> None:
        self.m = mapping
        self.store = store
        self.ladder = ladder
        self.stored = set(store.case_ids())  # cases the store had before this replay
        self.tracks: dict[str, Track] = {}
        self.counted: dict[str, CaseCounts] = {}
        self.waiting: dict[str, Track] = {}
        self.rows = 0
        self.cases = 0
        self.events = 0
        self.unchanged = 0
        self.source = SourceCounts(mapping)
        target = parse_duration(mapping.sla_resolution) if mapping.sla_resolution else None
        self.sla = SlaCounts(target)
        self.kinds: Counter[str] = Counter()
        self.problems: dict[str, list[RowProblem]] = {"malformed": [], "unknown": [],
                                                      "refused": []}
        self.counts: Counter[str] = Counter()
        self.refused_cases: set[str] = set()
        self.batch: list[Change] = []
        self.batch_events = 0

    def problem(self, kind: str, line: int, value: str, reason: str) -> None:
        """Count a problem row and keep the first `KEEP_PROBLEMS` of its kind."""
        self.counts[kind] += 1
        kept = self.problems[kind]
        if len(kept) < KEEP_PROBLEMS:
            kept.append(RowProblem(line, value, reason))

    def refuse(self, case_id: str, row: Row, reason: str) -> None:
        """A row the lifecycle (or the order of the file) has no legal path for."""
        self.problem("refused", row.line, row.status, f"case {case_id}: {reason}")
        self.refused_cases.add(case_id)

    def add(self, row: Row) -> None:
        """Queue a row of its case; rows of one case at one time wait for their tie-break."""
        for case_id, other in list(self.waiting.items()):
            if case_id != row.case_id and other.pending_at != row.at:
                del self.waiting[case_id]
                self.process(case_id, other)
                self.commit(case_id, other)
        track = self.tracks.get(row.case_id)
        if track is None:
            track = self.tracks[row.case_id] = Track()
        if track.last_at is not None and row.at < track.last_at:
            self.refuse(row.case_id, row, f"dated {row.at.isoformat()}, before the case's "
                                          f"previous row ({track.last_at.isoformat()}); the "
                                          "file is not in time order: add `sort = true` to "
                                          "the mapping")
            return
        track.last_at = row.at
        if track.pending and track.pending_at is not None and row.at > track.pending_at:
            self.process(row.case_id, track)
        track.pending.append(row)
        track.pending_at = row.at
        self.waiting[row.case_id] = track
        if len(track.events) >= 500:
            self.commit(row.case_id, track)

    def process(self, case_id: str, track: Track) -> None:
        """Turn the case's pending rows into events, in time and tie-break order."""
        rows = sorted(track.pending, key=Row.key)
        track.pending = []
        track.pending_at = None
        counted = self.counted.get(case_id)
        if counted is None:
            counted = self.counted[case_id] = CaseCounts()
        for row in rows:
            self.source.count(counted, row)
            if row.sla_met is not None:
                track.sla_source = row.sla_met
            self.one(case_id, track, row)

    def one(self, case_id: str, track: Track, row: Row) -> None:
        """Plan one row of the case; a refused row leaves the case as it was."""
        if track.foreign:
            self.refuse(case_id, row, f"case {case_id!r} was already in the store before "
                                      "this replay")
            return
        if track.closed:
            self.refuse(case_id, row, "the case is closed, and a closed case stays closed "
                                      '(after_close = "reopen" keeps such rows)')
            return
        for key, moment in row.snapshots.items():
            track.snapshots[key] = moment
        if track.case is None:
            if case_id in self.stored:
                track.foreign = True
                self.one(case_id, track, row)
                return
            self.open(case_id, track, row)
            return
        plan = self.plan(track.case, row, track.case_team or row.team)
        try:
            plan_row(plan, track, self.m)
        except (Refuse, InvalidTransition, EventOrderError) as exc:
            self.refuse(case_id, row, str(exc))
            return
        if not plan.events and not plan.opened:
            self.unchanged += 1
        track.case = plan.case
        track.events.extend(plan.events)
        if row.team is not None:
            track.case_team = row.team

    def plan(self, case: Case, row: Row, team: str | None, *, opened: bool = False) -> Plan:
        """A fresh plan of `row` on `case`."""
        return Plan(case, row, team, opened=opened, actor_column=self.m.actor is not None,
                    unknown_team=self.m.missing_team == "unknown")

    def open(self, case_id: str, track: Track, row: Row) -> None:
        """The first row of a case: `opened`, then what its status says."""
        case, opened = open_case(row, self.ladder, self.m.tiers[0], self.m.actor is not None)
        plan = self.plan(case, row, row.team, opened=True)
        try:
            plan_row(plan, track, self.m)
        except (Refuse, InvalidTransition, EventOrderError) as exc:
            self.refuse(case_id, row, str(exc))
            plan = self.plan(case, row, row.team, opened=True)
        track.case = plan.case
        track.events.append(opened)
        track.events.extend(plan.events)
        track.case_team = row.team
        self.cases += 1

    def commit(self, case_id: str, track: Track) -> None:
        """Queue the case's new events as one change; forget a closed case's state."""
        case = track.case
        if track.events and case is not None:
            events = tuple(track.events)
            self.batch.append(Change(case=case, events=events,
                                     expected_version=track.committed))
            self.batch_events += len(events)
            track.committed = case.version
            self.events += len(events)
            self.kinds.update(e.kind.value for e in events)
            if track.first_resolved is None:
                track.first_resolved = next(
                    (e.at for e in events if e.kind is EventKind.RESOLVED), None)
            track.events = []
            if len(self.batch) >= _BATCH_CASES or self.batch_events >= _BATCH_EVENTS:
                self.flush()
        if case is not None and case.status is Status.CLOSED and not track.pending:
            self.judge(track, case)
            track.case = None
            track.closed = True
            track.snapshots.clear()

    def judge(self, track: Track, case: Case) -> None:
        """Set the source's SLA verdict of a finished case beside escalate's own."""
        self.sla.judge(track.sla_source, case.opened_at, track.first_resolved,
                       case.updated_at)

    def flush(self) -> None:
        """Write the queued changes, many cases in one transaction."""
        if self.batch:
            self.store.commit_many(self.batch)
            self.batch = []
            self.batch_events = 0

    def finish(self) -> None:
        """Process every pending row, record times still due, commit, and judge SLAs."""
        for case_id, track in list(self.tracks.items()):
            if track.pending:
                self.process(case_id, track)
            if track.case is not None and not track.foreign:
                if track.snapshots:
                    self.finish_snapshots(track)
                if track.close_at is not None:
                    self.finish_close(track)
            self.commit(case_id, track)
            if track.case is not None and not track.foreign:
                self.judge(track, track.case)
        self.waiting.clear()
        self.flush()

    def end_row(self, track: Track) -> Row:
        """A row standing for the end of the file, for events recorded there."""
        assert track.case is not None
        return Row(line=0, case_id=track.case.id, at=track.case.updated_at, order=(),
                   status="", action=Action.NOTE, person=None, team=track.case_team,
                   tier=track.case.tier, first={}, snapshots={})

    def finish_snapshots(self, track: Track) -> None:
        """Snapshot times still in the future at the case's last row."""
        assert track.case is not None
        last = self.end_row(track)
        plan = self.plan(track.case, last, track.case_team)
        try:
            apply_snapshots(plan, track, None)
        except (InvalidTransition, EventOrderError) as exc:
            self.refuse(track.case.id, last, str(exc))
            return
        track.case = plan.case
        track.events.extend(plan.events)

    def finish_close(self, track: Track) -> None:
        """after_close = "reopen": the source's last close of the case is final."""
        assert track.case is not None and track.close_at is not None
        row = attrs.evolve(self.end_row(track), at=track.close_at, status="close",
                           action=Action.CLOSE)
        plan = self.plan(track.case, row, track.case_team)
        plan.emit(Action.CLOSE, plan.case.owner, use_row_actor=False,
                  actor=track.close_actor, reason=track.close_reason)
        track.case = plan.case
        track.events.extend(plan.events)


#: A batch is written when it holds this many cases or events.
_BATCH_CASES = 500
_BATCH_EVENTS = 20_000


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



def replay_csv(path: str | Path, mapping: ReplayMapping, store: Store, *,
               policy: Policy | None = None, progress: Progress | None = None) -> ReplayResult:
    """Replay a CSV log into `store` and return what was read, written and refused.

    The file is streamed (with `sort = true`, through an external sort in bounded memory);
    only open cases are held in memory. The header, the encoding and the time zone are
    checked against the mapping before anything is written (ConfigError naming the mapping
    key). Events are written through `Store.commit_many`, many cases per transaction.
    `policy`, when given, must have a ladder with the mapping's tiers; by default the result
    carries `replay_policy(mapping)` with the owners seen per tier.
    """
    started = time.perf_counter()
    file = Path(path)
    ladder = _check_policy(policy, mapping) if policy is not None else mapping.ladder
    check_file(file, mapping)
    total = file.stat().st_size
    state = _Replay(mapping, store, ladder)
    with file.open("rb") as raw:
        counter = CountingReader(raw)
        text = io.TextIOWrapper(io.BufferedReader(counter, 1 << 16), encoding=mapping.encoding,
                                newline="")
        reader = csv.reader(text, delimiter=mapping.delimiter, strict=False)
        rows = RowReader(mapping, read_header(reader, file, mapping))
        records = _records(reader, state)
        if mapping.sort:
            records = sorted_records(records, _sort_key(rows), mapping.sort_chunk_rows)
        for start_line, record in records:
            state.rows += 1
            try:
                row = rows.read(record, start_line)
            except Skip as skip:
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
    result = _result(state, file, policy, time.perf_counter() - started)
    store_policy(store, result.policy)
    return result


def _records(reader: Any, state: _Replay) -> Iterator[Record]:
    """Non-empty CSV records with the physical line each starts on. A record the csv
    module cannot read (a field over its size limit) is counted as malformed, with its
    line, and reading goes on at the next line."""
    line = reader.line_num
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            state.rows += 1
            state.problem("malformed", line + 1, "", f"cannot read the CSV record: {exc}")
            line = reader.line_num
            continue
        start_line, line = line + 1, reader.line_num
        if record:
            yield start_line, record


def _sort_key(rows: RowReader) -> Callable[[int, list[str]], Any]:
    """Time, then the `order_by` columns, then the file line; unusable rows first."""
    floor = datetime.min.replace(tzinfo=UTC)

    def key(line: int, record: list[str]) -> Any:
        try:
            row = rows.read(record, line)
        except Skip:
            return (floor, (), line)
        return row.key()
    return key


def _result(state: _Replay, file: Path, policy: Policy | None, elapsed: float) -> ReplayResult:
    source, sla = state.source, state.sla
    members = {tier: sorted(names) for tier, names in source.members.items()}
    return ReplayResult(
        path=str(file), rows=state.rows, cases=state.cases, events=state.events,
        owners=len(source.owners), moves_up=source.moves["up"],
        moves_sideways=source.moves["sideways"], moves_down=source.moves["down"],
        ping_pong_cases=source.team_ping_pong,
        malformed=state.counts["malformed"], malformed_rows=tuple(state.problems["malformed"]),
        unknown_statuses=state.counts["unknown"],
        unknown_status_rows=tuple(state.problems["unknown"]),
        refused=state.counts["refused"], refused_rows=tuple(state.problems["refused"]),
        refused_cases=len(state.refused_cases),
        events_by_kind=dict(state.kinds), statuses=dict(source.statuses),
        policy=policy if policy is not None else replay_policy(state.m, members),
        elapsed=elapsed, owner_changes=source.owner_changes,
        owner_ping_pong_cases=source.owner_ping_pong, unchanged_rows=state.unchanged,
        sla_agree=sla.agree, sla_disagree=sla.disagree, sla_undecided=sla.undecided,
        sla_no_source=sla.no_source,
    )
