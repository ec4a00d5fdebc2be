"""`replay_csv`: stream a log, plan each row, and commit the cases' events."""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InvalidTransition
from ..fold import EventOrderError
from ..model import Action, Status
from ..policy import Policy
from ..stores.base import Change, Store
from .mapping import KEEP_PROBLEMS, ReplayMapping
from .planner import Plan, Refuse, Track, apply_snapshots, open_case, plan_row
from .reader import CountingReader, Row, RowReader, Skip, check_file, read_header
from .results import ReplayResult, RowProblem, replay_policy

__all__ = ["Progress", "replay_csv"]

#: progress(rows_done, bytes_done, bytes_total)
Progress = Callable[[int, int, int], None]

# -- the replay ------------------------------------------------------------------------------

class _Replay:
    """The running state of one replay: tracks, counters and problem lists."""

    def __init__(self, mapping: ReplayMapping, store: Store, ladder: str) -> None:
        self.m = mapping
        self.store = store
        self.ladder = ladder
        self.stored = set(store.case_ids())  # cases the store had before this replay
        self.tracks: dict[str, Track] = {}
        self.waiting: dict[str, Track] = {}
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

    def refuse(self, case_id: str, row: Row, reason: str) -> None:
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
        if track.pending and track.pending_at is not None and row.at > track.pending_at:
            self.process(row.case_id, track)
        track.pending.append(row)
        if track.pending_at is None or row.at > track.pending_at:
            track.pending_at = row.at
        self.waiting[row.case_id] = track
        if len(track.events) >= 500:
            self.commit(row.case_id, track)

    def process(self, case_id: str, track: Track) -> None:
        """Turn the case's pending rows into events, in time and tie-break order."""
        rows = sorted(track.pending, key=lambda r: (r.at, r.order, r.line))
        track.pending = []
        track.pending_at = None
        for row in rows:
            self.count_source(track, row)
            self.one(case_id, track, row)

    def count_source(self, track: Track, row: Row) -> None:
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

    def one(self, case_id: str, track: Track, row: Row) -> None:
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
            case, opened = open_case(row, self.ladder, self.m.tiers[0])
            plan = Plan(case, row, row.team, opened=True)
            try:
                plan_row(plan, track, self.m)
            except (Refuse, InvalidTransition, EventOrderError) as exc:
                self.refuse(case_id, row, str(exc))
                plan = Plan(case, row, row.team, opened=True)
            track.case = plan.case
            track.events.append(opened)
            track.events.extend(plan.events)
            track.case_team = row.team
            self.cases += 1
            return
        plan = Plan(track.case, row, track.case_team or row.team)
        try:
            plan_row(plan, track, self.m)
        except (Refuse, InvalidTransition, EventOrderError) as exc:
            self.refuse(case_id, row, str(exc))
            return
        track.case = plan.case
        track.events.extend(plan.events)
        if row.team is not None:
            track.case_team = row.team

    def commit(self, case_id: str, track: Track) -> None:
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

    def finish_snapshots(self, track: Track) -> None:
        assert track.case is not None
        last = Row(line=0, case_id=track.case.id, at=track.case.updated_at,
                    order=(2, 0.0, ""), status="", action=Action.NOTE, person=None,
                    team=track.case_team, tier=track.case.tier, first={}, snapshots={})
        plan = Plan(track.case, last, track.case_team)
        try:
            apply_snapshots(plan, track, None)
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
        counter = CountingReader(raw)
        text = io.TextIOWrapper(io.BufferedReader(counter, 1 << 16), encoding=mapping.encoding,
                                newline="")
        reader = csv.reader(text, delimiter=mapping.delimiter, strict=False)
        header = read_header(reader, file, mapping)
        rows = RowReader(mapping, header)
        line = reader.line_num
        for record in _records(reader, state):
            start_line, line = line + 1, reader.line_num
            if not record:
                continue
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
