"""Management reports computed from the event log: agents, tiers, channels, shuffling, trends.

`build_report` reads the whole event stream once, in time order, and keeps state only for
the cases it has seen. Two kinds of figure come out of it (docs/reports.md has the exact
definitions):

* activity: events with since <= at < until (claims, resolutions, escalations, breaches,
  transfers, moves, time spent in a tier);
* cohort: the cases opened in the window, followed up to `until` (SLA compliance, the
  distribution of transfers per case, cases opened per group).
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any, TypeVar

import attrs

from .calendars import BusinessHours
from .clock import as_utc
from .codec import clock_from_dict, format_time
from .errors import InvalidInput
from .model import Agent, ClockState, Event, EventKind, Owner, Status
from .policy import Policy
from .timing import FIRST_RESPONSE, RESOLUTION, calendar_of

__all__ = [
    "TRENDS",
    "AgentRow",
    "Compliance",
    "GroupRow",
    "Period",
    "PingPong",
    "Report",
    "Shuffling",
    "TierRow",
    "Totals",
    "TrendRow",
    "build_report",
]

#: The trend periods `build_report` accepts.
TRENDS = ("day", "week", "month")

#: The SLA clocks reported on, in display order.
SLA_CLOCKS = (FIRST_RESPONSE, RESOLUTION)

_Row = TypeVar("_Row")
_ALWAYS = BusinessHours.always()
#: The whole-number fields of Totals, counted while reading.
_COUNT_TOTALS = ("events", "opened", "resolved", "reopened", "closed", "escalated",
                 "escalated_by_hand", "escalated_by_timer", "transferred",
                 "breaches_first_response", "breaches_resolution", "ping_pong_cases",
                 "backlog")
_UNRESOLVED = (Status.OPEN, Status.ACTIVE, Status.WAITING)


def _frozen_counts(value: Mapping[Any, int] | None) -> Mapping[Any, int]:
    return MappingProxyType(dict(value or {}))


# -- the report's values ---------------------------------------------------------------


@attrs.frozen
class Compliance:
    """Outcomes of one SLA clock over a set of cases: met, breached or still pending."""

    met: int = 0
    breached: int = 0
    pending: int = 0

    @property
    def total(self) -> int:
        """Cases that have this clock: met + breached + pending."""
        return self.met + self.breached + self.pending

    @property
    def rate(self) -> float | None:
        """Share of decided clocks that were met, met / (met + breached); None if none."""
        decided = self.met + self.breached
        return None if decided == 0 else self.met / decided

    def to_json(self) -> dict[str, Any]:
        """The counts and the rate (rounded to 4 places) as a JSON-ready dict."""
        return {"met": self.met, "breached": self.breached, "pending": self.pending,
                "rate": _round(self.rate)}


@attrs.frozen
class Period:
    """The window a report covers; `end` is `until`, or the last event read without one."""

    since: datetime | None
    until: datetime | None
    trend: str
    end: datetime | None


@attrs.frozen
class AgentRow:
    """What one agent did in the window."""

    agent: str
    received: int = 0
    claimed: int = 0
    resolved: int = 0
    escalated_by_hand: int = 0
    escalated_away: int = 0
    transferred: int = 0
    reopened: int = 0
    median_resolution: timedelta | None = None
    p90_resolution: timedelta | None = None
    sla_breaches: int = 0


@attrs.frozen
class GroupRow:
    """One channel or priority: volume, resolutions, escalations and SLA compliance."""

    name: str
    opened: int = 0
    resolved: int = 0
    escalated: int = 0
    first_response: Compliance = Compliance()
    resolution: Compliance = Compliance()
    breached_in: Mapping[str, int] = attrs.field(factory=dict, converter=_frozen_counts,
                                                 hash=False)


@attrs.frozen
class TierRow:
    """One tier: arrivals, resolutions, moves in and out, time held and SLA outcomes."""

    tier: str
    opened: int = 0
    entered: int = 0
    resolved: int = 0
    escalations_in: int = 0
    escalations_out: int = 0
    transfers_in: int = 0
    transfers_out: int = 0
    cases_timed: int = 0
    time_total: timedelta = timedelta(0)
    time_median: timedelta | None = None
    breaches: int = 0
    first_response: Compliance = Compliance()
    resolution: Compliance = Compliance()


@attrs.frozen
class PingPong:
    """A case that came back to an owner (kind "owner") or tier (kind "tier") it had left."""

    case_id: str
    kind: str
    path: tuple[str, ...]
    returns: int

    @property
    def route(self) -> str:
        """The path as text: "ana -> bo -> ana"."""
        return " -> ".join(self.path)


@attrs.frozen
class Shuffling:
    """How much cases were passed around: transfers per case, ping-pong and move directions."""

    transfers_per_case: Mapping[int, int] = attrs.field(factory=dict, converter=_frozen_counts,
                                                        hash=False)
    ping_pong: tuple[PingPong, ...] = ()
    moves_up: int = 0
    moves_down: int = 0
    moves_sideways: int = 0


@attrs.frozen
class TrendRow:
    """One day, ISO week or month: activity in it, and compliance of the cases opened in it."""

    period: str
    start: date
    opened: int = 0
    resolved: int = 0
    escalated: int = 0
    breached: int = 0
    first_response: Compliance = Compliance()
    resolution: Compliance = Compliance()


@attrs.frozen
class Totals:
    """Whole-window figures."""

    events: int = 0
    opened: int = 0
    resolved: int = 0
    reopened: int = 0
    closed: int = 0
    escalated: int = 0
    escalated_by_hand: int = 0
    escalated_by_timer: int = 0
    transferred: int = 0
    breaches_first_response: int = 0
    breaches_resolution: int = 0
    ping_pong_cases: int = 0
    backlog: int = 0
    first_response: Compliance = Compliance()
    resolution: Compliance = Compliance()


@attrs.frozen
class Report:
    """Management figures for one window, computed from the event log by `build_report`."""

    period: Period
    totals: Totals
    agents: tuple[AgentRow, ...]
    tiers: tuple[TierRow, ...]
    channels: tuple[GroupRow, ...]
    priorities: tuple[GroupRow, ...]
    shuffling: Shuffling
    trends: tuple[TrendRow, ...]

    def agent(self, name: str) -> AgentRow:
        """The row of the named agent; KeyError if the agent did nothing in the window."""
        return _find(self.agents, lambda row: row.agent == name, name)

    def tier(self, name: str) -> TierRow:
        """The row of the named tier; KeyError if there is none."""
        return _find(self.tiers, lambda row: row.tier == name, name)

    def channel(self, name: str) -> GroupRow:
        """The row of the named channel; KeyError if there is none."""
        return _find(self.channels, lambda row: row.name == name, name)

    def priority(self, name: str) -> GroupRow:
        """The row of the named priority; KeyError if there is none."""
        return _find(self.priorities, lambda row: row.name == name, name)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready plain values, keys in a stable order; durations in seconds."""
        s = self.shuffling
        return {
            "period": {"since": _time(self.period.since), "until": _time(self.period.until),
                       "end": _time(self.period.end), "trend": self.period.trend},
            "totals": _totals_json(self.totals),
            "agents": [_agent_json(row) for row in self.agents],
            "tiers": [_tier_json(row) for row in self.tiers],
            "channels": [_group_json(row) for row in self.channels],
            "priorities": [_group_json(row) for row in self.priorities],
            "shuffling": {
                "transfers_per_case": {str(k): v for k, v in s.transfers_per_case.items()},
                "moves": {"up": s.moves_up, "down": s.moves_down, "sideways": s.moves_sideways},
                "ping_pong": [{"case_id": p.case_id, "kind": p.kind, "path": list(p.path),
                               "returns": p.returns} for p in s.ping_pong],
            },
            "trends": [_trend_json(row) for row in self.trends],
        }

    def to_csv(self) -> str:
        """One CSV section per table, each with a header row, a blank line between sections.

        The first column of every row names its table (period, totals, agents, tiers,
        channels, priorities, transfers, moves, ping_pong, trends). Lines end in a line
        feed; `csv.reader` reads each section back.
        """
        data = self.to_json()
        s = data["shuffling"]
        sections: list[tuple[str, list[dict[str, Any]]]] = [
            ("period", [data["period"]]),
            ("totals", [data["totals"]]),
            ("agents", data["agents"]),
            ("tiers", data["tiers"]),
            ("channels", data["channels"]),
            ("priorities", data["priorities"]),
            ("transfers", [{"transfers": k, "cases": v}
                           for k, v in s["transfers_per_case"].items()]),
            ("moves", [s["moves"]]),
            ("ping_pong", [{**p, "path": " -> ".join(p["path"])} for p in s["ping_pong"]]),
            ("trends", data["trends"]),
        ]
        out = io.StringIO()
        for i, (name, rows) in enumerate(sections):
            if i:
                out.write("\n")
            writer = csv.writer(out, lineterminator="\n")
            flat = [_flatten(row) for row in rows]
            writer.writerow(["table", *_CSV_HEADERS.get(name, _keys(flat))])
            for row in flat:
                writer.writerow([name, *row.values()])
        return out.getvalue()

    def to_text(self) -> str:
        """Aligned text tables with headings, for a terminal."""
        return _render_text(self)


def _find(rows: Sequence[_Row], match: Callable[[_Row], bool], name: str) -> _Row:
    for row in rows:
        if match(row):
            return row
    raise KeyError(name)


# -- building ----------------------------------------------------------------------------


def build_report(events: Iterable[Event], *, policy: Policy | None = None,
                 since: datetime | None = None, until: datetime | None = None,
                 trend: str = "week") -> Report:
    """Compute the management report for since <= at < until from the whole event stream.

    `events` must be every event before `until`, in time order (`desk.events(until=until)`),
    so that cases opened before `since` are known. It is read once. With `policy`, durations
    count business time of the clocks' calendars and moves are classified by tier level;
    without it, wall-clock time and event kinds are used.
    """
    if trend not in TRENDS:
        raise InvalidInput(f"unknown trend {trend!r}; expected one of {', '.join(TRENDS)}")
    low = None if since is None else as_utc(since)
    high = None if until is None else as_utc(until)
    if low is not None and high is not None and low >= high:
        raise InvalidInput(f"since ({format_time(low)}) must be before until "
                           f"({format_time(high)})")
    builder = _Builder(policy, low, high, trend)
    for event in events:
        builder.feed(event)
    return builder.finish()


@attrs.define
class _CaseState:
    """What the builder remembers about one case it has seen."""

    case_id: str
    opened_at: datetime | None = None
    channel: str = "?"
    priority: str = "?"
    ladder: str | None = None
    first_tier: str | None = None
    in_cohort: bool = False
    owner: Owner | None = None
    tier: str | None = None
    status: Status | None = None
    clocks: dict[str, ClockState] = attrs.field(factory=dict)
    breached: dict[str, str] = attrs.field(factory=dict)
    met_in: dict[str, str] = attrs.field(factory=dict)
    transfers: int = 0
    agent_path: list[str] = attrs.field(factory=list)
    tier_path: list[str] = attrs.field(factory=list)
    owner_returns: int = 0
    tier_returns: int = 0
    last_resolver: str | None = None
    spell_start: datetime | None = None
    spell_tier: str | None = None
    tier_time: dict[str, timedelta] = attrs.field(factory=dict)


@attrs.define
class _AgentCounts:
    received: int = 0
    claimed: int = 0
    resolved: int = 0
    escalated_by_hand: int = 0
    escalated_away: int = 0
    transferred: int = 0
    reopened: int = 0
    sla_breaches: int = 0
    durations: list[timedelta] = attrs.field(factory=list)


@attrs.define
class _Outcomes:
    met: int = 0
    breached: int = 0
    pending: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def frozen(self) -> Compliance:
        return Compliance(self.met, self.breached, self.pending)


@attrs.define
class _GroupCounts:
    opened: int = 0
    resolved: int = 0
    escalated: int = 0
    compliance: dict[str, _Outcomes] = attrs.field(
        factory=lambda: {name: _Outcomes() for name in SLA_CLOCKS})
    breached_in: Counter[str] = attrs.field(factory=Counter)


@attrs.define
class _TierCounts(_GroupCounts):
    entered: int = 0
    escalations_in: int = 0
    escalations_out: int = 0
    transfers_in: int = 0
    transfers_out: int = 0
    breaches: int = 0
    durations: list[timedelta] = attrs.field(factory=list)


@attrs.define
class _TrendCounts(_GroupCounts):
    breached: int = 0


class _Builder:
    """The one-pass accumulator behind `build_report`."""

    def __init__(self, policy: Policy | None, since: datetime | None,
                 until: datetime | None, trend: str) -> None:
        self.policy = policy
        self.since = since
        self.until = until
        self.trend = trend
        self.cases: dict[str, _CaseState] = {}
        self.agents: dict[str, _AgentCounts] = {}
        self.tiers: dict[str, _TierCounts] = {}
        self.channels: dict[str, _GroupCounts] = {}
        self.priorities: dict[str, _GroupCounts] = {}
        self.trends: dict[date, _TrendCounts] = {}
        self.totals = Counter[str]()
        self.moves = Counter[str]()
        self.last_at: datetime | None = None
        self.first_active: datetime | None = None
        self.last_active: datetime | None = None

    # -- helpers ---------------------------------------------------------------------

    def _agent(self, name: str) -> _AgentCounts:
        return self.agents.setdefault(name, _AgentCounts())

    def _tier(self, name: str) -> _TierCounts:
        return self.tiers.setdefault(name, _TierCounts())

    def _trend(self, at: datetime) -> _TrendCounts:
        return self.trends.setdefault(_period_start(self.trend, at.date()), _TrendCounts())

    def _groups(self, st: _CaseState) -> list[_GroupCounts]:
        return [self.channels.setdefault(st.channel, _GroupCounts()),
                self.priorities.setdefault(st.priority, _GroupCounts())]

    def _level(self, tier: str | None) -> int | None:
        if self.policy is None or tier is None:
            return None
        try:
            level = self.policy.level(tier)
        except KeyError:
            return None
        return level if level >= 0 else None

    def _tier_calendar(self, tier: str) -> BusinessHours:
        if self.policy is None:
            return _ALWAYS
        try:
            name = self.policy.tier_calendar_name(tier)
        except KeyError:
            return _ALWAYS
        return calendar_of(self.policy, name or "")

    def _resolution_calendar(self, st: _CaseState) -> BusinessHours:
        if self.policy is None:
            return _ALWAYS
        clock = st.clocks.get(RESOLUTION)
        if clock is not None:
            return calendar_of(self.policy, clock.calendar)
        ladder = self.policy.ladders.get(st.ladder or "")
        return calendar_of(self.policy, (ladder.calendar if ladder else None) or "")

    def _inside(self, at: datetime) -> bool:
        return self.since is None or at >= self.since

    # -- one event -------------------------------------------------------------------

    def feed(self, event: Event) -> None:
        """Take the next event of the stream into account."""
        at = event.at
        if self.until is not None and at >= self.until:
            return
        if self.last_at is None or at > self.last_at:
            self.last_at = at
        st = self.cases.get(event.case_id)
        if st is None:
            st = self.cases[event.case_id] = _CaseState(event.case_id, owner=event.owner_before,
                                                        tier=event.tier_before,
                                                        status=event.status_before)
        inside = self._inside(at)
        if inside:
            self.totals["events"] += 1
            self.first_active = self.first_active or at
            self.last_active = at
        kind = event.kind
        before_tier = st.tier if st.tier is not None else event.tier_before
        after_tier = event.tier_after or before_tier
        moved = kind is not EventKind.OPENED and after_tier != before_tier

        if kind is EventKind.OPENED:
            self._opened(st, event, inside)
        self._clocks(st, event, before_tier, after_tier, inside)

        if kind is EventKind.CLAIMED and inside and event.actor:
            self._agent(event.actor).claimed += 1
        elif kind is EventKind.TRANSFERRED:
            st.transfers += 1
            if inside:
                self.totals["transferred"] += 1
                if event.actor:
                    self._agent(event.actor).transferred += 1
        elif kind is EventKind.ESCALATED and inside:
            self._escalated(st, event, before_tier, after_tier)
        elif kind is EventKind.RESOLVED:
            self._resolved(st, event, before_tier, inside)
        elif kind is EventKind.REOPENED and inside:
            self.totals["reopened"] += 1
            if st.last_resolver:
                self._agent(st.last_resolver).reopened += 1
        elif kind is EventKind.CLOSED and inside:
            self.totals["closed"] += 1

        if inside and kind is not EventKind.OPENED and (
                moved or kind in (EventKind.TRANSFERRED, EventKind.ESCALATED)):
            self.moves[self._direction(kind, before_tier, after_tier)] += 1
        if moved and inside and after_tier is not None:
            self._tier(after_tier).entered += 1
            if kind is EventKind.TRANSFERRED:
                self._tier(after_tier).transfers_in += 1
                if before_tier is not None:
                    self._tier(before_tier).transfers_out += 1
        self._owners(st, event, inside)
        if moved and after_tier is not None:
            _step_path(st.tier_path, after_tier, lambda: self._tier_return(st, inside))
        self._spells(st, event, moved, after_tier)
        st.owner, st.tier, st.status = event.owner_after, after_tier, event.status_after

    def _opened(self, st: _CaseState, event: Event, inside: bool) -> None:
        data = event.data
        st.opened_at = event.at
        st.channel = str(data.get("channel") or "?")
        st.priority = str(data.get("priority") or "?")
        st.ladder = data.get("ladder")
        st.first_tier = event.tier_after
        st.in_cohort = inside
        if event.tier_after:
            st.tier_path.append(event.tier_after)
        if inside:
            self.totals["opened"] += 1
            for group in self._groups(st):
                group.opened += 1
            if event.tier_after:
                self._tier(event.tier_after).opened += 1
            self._trend(event.at).opened += 1

    def _clocks(self, st: _CaseState, event: Event, before_tier: str | None,
                after_tier: str | None, inside: bool) -> None:
        """Follow the SLA clocks: breaches, met targets, late stops and restarts."""
        before = st.clocks
        after = before
        if "clocks" in event.data:
            after = {}
            for raw in event.data["clocks"]:
                clock = clock_from_dict(raw)
                after[clock.name] = clock
        if event.kind is EventKind.BREACHED:
            names = [n for n in SLA_CLOCKS if n in after and after[n].breached
                     and not (n in before and before[n].breached)]
            if not names:
                reason = (event.reason or "").lower()
                names = [n for n in SLA_CLOCKS if reason.startswith(n.replace("_", " "))]
            for name in names:
                self._breach(st, name, event, before_tier, inside)
        elif event.kind is not EventKind.OPENED:
            for name in SLA_CLOCKS:
                new, old = after.get(name), before.get(name)
                if new is None:
                    continue
                if new.stopped_at is not None and (old is None or old.stopped_at is None):
                    late = (old is not None and not old.breached and old.due_at is not None
                            and old.due_at < event.at)
                    if late:
                        self._breach(st, name, event, after_tier, inside)
                    else:
                        st.met_in[name] = after_tier or "?"
                elif new.stopped_at is None:
                    st.met_in.pop(name, None)
        st.clocks = after

    def _breach(self, st: _CaseState, name: str, event: Event, tier: str | None,
                inside: bool) -> None:
        held = tier or "?"
        st.breached.setdefault(name, held)
        if not inside:
            return
        self.totals[f"breaches_{name}"] += 1
        self._tier(held).breaches += 1
        self._trend(event.at).breached += 1
        if isinstance(event.owner_before, Agent):
            self._agent(event.owner_before.name).sla_breaches += 1

    def _escalated(self, st: _CaseState, event: Event, before_tier: str | None,
                   after_tier: str | None) -> None:
        self.totals["escalated"] += 1
        if event.actor:
            self.totals["escalated_by_hand"] += 1
            self._agent(event.actor).escalated_by_hand += 1
        else:
            self.totals["escalated_by_timer"] += 1
            if isinstance(event.owner_before, Agent):
                self._agent(event.owner_before.name).escalated_away += 1
        if before_tier is not None:
            self._tier(before_tier).escalations_out += 1
        if after_tier is not None and after_tier != before_tier:
            self._tier(after_tier).escalations_in += 1
        for group in self._groups(st):
            group.escalated += 1
        self._trend(event.at).escalated += 1

    def _resolved(self, st: _CaseState, event: Event, tier: str | None, inside: bool) -> None:
        resolver = event.actor or (event.owner_after.name
                                   if isinstance(event.owner_after, Agent) else None)
        if resolver:
            st.last_resolver = resolver
        if not inside:
            return
        self.totals["resolved"] += 1
        for group in self._groups(st):
            group.resolved += 1
        if tier is not None:
            self._tier(tier).resolved += 1
        self._trend(event.at).resolved += 1
        if resolver:
            agent = self._agent(resolver)
            agent.resolved += 1
            if st.opened_at is not None:
                calendar = self._resolution_calendar(st)
                agent.durations.append(calendar.between(st.opened_at, event.at))

    def _direction(self, kind: EventKind, before: str | None, after: str | None) -> str:
        low, high = self._level(before), self._level(after)
        if low is not None and high is not None:
            return "up" if high > low else "down" if high < low else "sideways"
        return "up" if kind is EventKind.ESCALATED else "sideways"

    def _owners(self, st: _CaseState, event: Event, inside: bool) -> None:
        owner = event.owner_after
        if not isinstance(owner, Agent) or owner == event.owner_before:
            return
        if inside:
            self._agent(owner.name).received += 1
        _step_path(st.agent_path, owner.name, lambda: self._owner_return(st, inside))

    def _owner_return(self, st: _CaseState, inside: bool) -> None:
        if inside:
            st.owner_returns += 1

    def _tier_return(self, st: _CaseState, inside: bool) -> None:
        if inside:
            st.tier_returns += 1

    def _spells(self, st: _CaseState, event: Event, moved: bool, tier: str | None) -> None:
        """Open and close the case's spells in a tier (unresolved time held by the tier)."""
        kind = event.kind
        if moved and st.spell_start is not None:
            self._close_spell(st, event.at)
        if kind in (EventKind.RESOLVED, EventKind.CLOSED):
            self._close_spell(st, event.at)
        elif st.spell_start is None and tier is not None and (
                kind in (EventKind.OPENED, EventKind.REOPENED) or moved) \
                and event.status_after in _UNRESOLVED:
            st.spell_start, st.spell_tier = event.at, tier

    def _close_spell(self, st: _CaseState, end: datetime) -> None:
        start, tier = st.spell_start, st.spell_tier
        st.spell_start = st.spell_tier = None
        if start is None or tier is None:
            return
        low = start if self.since is None else max(start, self.since)
        high = end if self.until is None else min(end, self.until)
        if high < low or (high == low and not self._inside(start)):
            return
        spent = self._tier_calendar(tier).between(low, high)
        st.tier_time[tier] = st.tier_time.get(tier, timedelta(0)) + spent

    # -- the end of the stream -------------------------------------------------------

    def finish(self) -> Report:
        """Close open spells, settle the cohort's SLA outcomes and freeze the report."""
        end = self.until or self.last_at
        compliance = {name: _Outcomes() for name in SLA_CLOCKS}
        transfers: Counter[int] = Counter()
        ping_pong: list[PingPong] = []
        for st in self.cases.values():
            if st.spell_start is not None and end is not None:
                self._close_spell(st, end)
            for tier, spent in st.tier_time.items():
                self._tier(tier).durations.append(spent)
            if st.status in _UNRESOLVED:
                self.totals["backlog"] += 1
            if st.owner_returns:
                ping_pong.append(PingPong(st.case_id, "owner", tuple(st.agent_path),
                                          st.owner_returns))
            if st.tier_returns:
                ping_pong.append(PingPong(st.case_id, "tier", tuple(st.tier_path),
                                          st.tier_returns))
            if not st.in_cohort or st.opened_at is None:
                continue
            transfers[st.transfers] += 1
            for name in SLA_CLOCKS:
                if name not in st.clocks:
                    continue
                outcome, tier = self._outcome(st, name)
                compliance[name].add(outcome)
                self._tier(tier).compliance[name].add(outcome)
                self._trend(st.opened_at).compliance[name].add(outcome)
                for group in self._groups(st):
                    group.compliance[name].add(outcome)
                    if outcome == "breached":
                        group.breached_in[tier] += 1
        self.totals["ping_pong_cases"] = len({p.case_id for p in ping_pong})
        most = max(transfers, default=-1)
        shuffling = Shuffling(
            transfers_per_case={n: transfers.get(n, 0) for n in range(most + 1)},
            ping_pong=tuple(ping_pong), moves_up=self.moves["up"],
            moves_down=self.moves["down"], moves_sideways=self.moves["sideways"])
        return Report(
            period=Period(self.since, self.until, self.trend, end),
            totals=Totals(**{name: self.totals[name] for name in _COUNT_TOTALS},
                          first_response=compliance[FIRST_RESPONSE].frozen(),
                          resolution=compliance[RESOLUTION].frozen()),
            agents=tuple(self._agent_row(name) for name in sorted(self.agents)),
            tiers=tuple(self._tier_row(name) for name in self._tier_order()),
            channels=tuple(_group_row(name, self.channels[name])
                           for name in sorted(self.channels)),
            priorities=tuple(_group_row(name, self.priorities[name])
                             for name in self._priority_order()),
            shuffling=shuffling,
            trends=self._trend_rows(),
        )

    def _outcome(self, st: _CaseState, name: str) -> tuple[str, str]:
        if name in st.breached:
            return "breached", st.breached[name]
        if name in st.met_in:
            return "met", st.met_in[name]
        return "pending", st.tier or "?"

    def _agent_row(self, name: str) -> AgentRow:
        c = self.agents[name]
        return AgentRow(agent=name, received=c.received, claimed=c.claimed, resolved=c.resolved,
                        escalated_by_hand=c.escalated_by_hand, escalated_away=c.escalated_away,
                        transferred=c.transferred, reopened=c.reopened,
                        median_resolution=_median(c.durations),
                        p90_resolution=_percentile(c.durations, 0.9),
                        sla_breaches=c.sla_breaches)

    def _tier_order(self) -> list[str]:
        known = ([t.name for ladder in self.policy.ladders.values() for t in ladder.tiers]
                 if self.policy is not None else [])
        for name in known:
            self._tier(name)
        return known + [name for name in self.tiers if name not in known]

    def _tier_row(self, name: str) -> TierRow:
        c = self.tiers[name]
        return TierRow(tier=name, opened=c.opened, entered=c.entered, resolved=c.resolved,
                       escalations_in=c.escalations_in, escalations_out=c.escalations_out,
                       transfers_in=c.transfers_in, transfers_out=c.transfers_out,
                       cases_timed=len(c.durations),
                       time_total=sum(c.durations, timedelta(0)),
                       time_median=_median(c.durations), breaches=c.breaches,
                       first_response=c.compliance[FIRST_RESPONSE].frozen(),
                       resolution=c.compliance[RESOLUTION].frozen())

    def _priority_order(self) -> list[str]:
        known = list(self.policy.sla) if self.policy is not None else []
        return ([name for name in known if name in self.priorities]
                + sorted(name for name in self.priorities if name not in known))

    def _trend_rows(self) -> tuple[TrendRow, ...]:
        first = self.since or self.first_active
        last = (self.until - timedelta(microseconds=1)) if self.until else self.last_active
        if first is None or last is None:
            return ()
        start = _period_start(self.trend, first.date())
        stop = _period_start(self.trend, last.date())
        for key in self.trends:  # a cohort case's period always lies in the window
            start, stop = min(start, key), max(stop, key)
        rows = []
        day = start
        while day <= stop:
            c = self.trends.get(day, _TrendCounts())
            rows.append(TrendRow(period=_period_label(self.trend, day), start=day,
                                 opened=c.opened, resolved=c.resolved, escalated=c.escalated,
                                 breached=c.breached,
                                 first_response=c.compliance[FIRST_RESPONSE].frozen(),
                                 resolution=c.compliance[RESOLUTION].frozen()))
            day = _next_period(self.trend, day)
        return tuple(rows)


def _step_path(path: list[str], name: str, on_return: Callable[[], None]) -> None:
    """Append `name` to a path of distinct consecutive owners; a name seen before is a return."""
    if path and path[-1] == name:
        return
    if name in path:
        on_return()
    path.append(name)


def _group_row(name: str, c: _GroupCounts) -> GroupRow:
    return GroupRow(name=name, opened=c.opened, resolved=c.resolved, escalated=c.escalated,
                    first_response=c.compliance[FIRST_RESPONSE].frozen(),
                    resolution=c.compliance[RESOLUTION].frozen(),
                    breached_in=dict(sorted(c.breached_in.items())))


# -- statistics and periods ------------------------------------------------------------


def _median(values: Sequence[timedelta]) -> timedelta | None:
    """The middle value; the mean of the two middle values for an even count."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def _percentile(values: Sequence[timedelta], fraction: float) -> timedelta | None:
    """Nearest-rank percentile: the smallest value with at least `fraction` of values <= it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def _period_start(trend: str, day: date) -> date:
    if trend == "day":
        return day
    if trend == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _next_period(trend: str, start: date) -> date:
    if trend == "day":
        return start + timedelta(days=1)
    if trend == "week":
        return start + timedelta(days=7)
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)


def _period_label(trend: str, start: date) -> str:
    if trend == "day":
        return start.isoformat()
    if trend == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{start.year}-{start.month:02d}"


# -- JSON and CSV ------------------------------------------------------------------------


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else format_time(moment)


def _seconds(delta: timedelta | None) -> float | None:
    return None if delta is None else delta.total_seconds()


def _totals_json(t: Totals) -> dict[str, Any]:
    out: dict[str, Any] = {f.name: getattr(t, f.name) for f in attrs.fields(Totals)}
    out["first_response"] = t.first_response.to_json()
    out["resolution"] = t.resolution.to_json()
    return out


def _agent_json(row: AgentRow) -> dict[str, Any]:
    return {"agent": row.agent, "received": row.received, "claimed": row.claimed,
            "resolved": row.resolved, "escalated_by_hand": row.escalated_by_hand,
            "escalated_away": row.escalated_away, "transferred": row.transferred,
            "reopened": row.reopened,
            "median_resolution_seconds": _seconds(row.median_resolution),
            "p90_resolution_seconds": _seconds(row.p90_resolution),
            "sla_breaches": row.sla_breaches}


def _tier_json(row: TierRow) -> dict[str, Any]:
    return {"tier": row.tier, "opened": row.opened, "entered": row.entered,
            "resolved": row.resolved, "escalations_in": row.escalations_in,
            "escalations_out": row.escalations_out, "transfers_in": row.transfers_in,
            "transfers_out": row.transfers_out, "cases_timed": row.cases_timed,
            "time_total_seconds": row.time_total.total_seconds(),
            "time_median_seconds": _seconds(row.time_median), "breaches": row.breaches,
            "first_response": row.first_response.to_json(),
            "resolution": row.resolution.to_json()}


def _group_json(row: GroupRow) -> dict[str, Any]:
    return {"name": row.name, "opened": row.opened, "resolved": row.resolved,
            "escalated": row.escalated, "first_response": row.first_response.to_json(),
            "resolution": row.resolution.to_json(), "breached_in": dict(row.breached_in)}


def _trend_json(row: TrendRow) -> dict[str, Any]:
    return {"period": row.period, "start": row.start.isoformat(), "opened": row.opened,
            "resolved": row.resolved, "escalated": row.escalated, "breached": row.breached,
            "first_response": row.first_response.to_json(),
            "resolution": row.resolution.to_json()}


def _flatten(row: Mapping[str, Any]) -> dict[str, Any]:
    """Nested compliance dicts become prefix_key columns; breached_in becomes "tier=n ..."."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        if key == "breached_in":
            flat[key] = " ".join(f"{tier}={n}" for tier, n in value.items())
        elif isinstance(value, Mapping):
            for sub, item in value.items():
                flat[f"{key}_{sub}"] = item
        else:
            flat[key] = value
    return flat


def _keys(rows: list[dict[str, Any]]) -> list[str]:
    return list(rows[0]) if rows else []


def _compliance_columns(prefix: str) -> list[str]:
    return [f"{prefix}_{k}" for k in ("met", "breached", "pending", "rate")]


_SLA_COLUMNS = _compliance_columns(FIRST_RESPONSE) + _compliance_columns(RESOLUTION)

#: Header rows of each CSV section, so that empty sections still say what they would hold.
_CSV_HEADERS: dict[str, list[str]] = {
    "period": ["since", "until", "end", "trend"],
    "totals": [f.name for f in attrs.fields(Totals) if f.name not in SLA_CLOCKS]
    + _SLA_COLUMNS,
    "agents": ["agent", "received", "claimed", "resolved", "escalated_by_hand",
               "escalated_away", "transferred", "reopened", "median_resolution_seconds",
               "p90_resolution_seconds", "sla_breaches"],
    "tiers": ["tier", "opened", "entered", "resolved", "escalations_in", "escalations_out",
              "transfers_in", "transfers_out", "cases_timed", "time_total_seconds",
              "time_median_seconds", "breaches", *_SLA_COLUMNS],
    "channels": ["name", "opened", "resolved", "escalated", *_SLA_COLUMNS, "breached_in"],
    "priorities": ["name", "opened", "resolved", "escalated", *_SLA_COLUMNS, "breached_in"],
    "transfers": ["transfers", "cases"],
    "moves": ["up", "down", "sideways"],
    "ping_pong": ["case_id", "kind", "path", "returns"],
    "trends": ["period", "start", "opened", "resolved", "escalated", "breached",
               *_SLA_COLUMNS],
}


# -- text --------------------------------------------------------------------------------


def _hours(delta: timedelta | None) -> str:
    """A duration in hours and minutes ("34h05m"), which reads the same on any calendar."""
    if delta is None:
        return "-"
    minutes = round(delta.total_seconds() / 60)
    return f"{minutes // 60}h{minutes % 60:02d}m"


def _rate(compliance: Compliance) -> str:
    rate = compliance.rate
    shown = "-" if rate is None else f"{rate:.0%}"
    return f"{shown} ({compliance.met}/{compliance.breached}/{compliance.pending})"


def _table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]],
           left: int = 1) -> list[str]:
    """A heading and an aligned table; the first `left` columns are left-aligned."""
    lines = [title, "-" * len(title)]
    if not rows:
        return [*lines, "(none)", ""]
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        parts = [cell.ljust(width) if i < left else cell.rjust(width)
                 for i, (cell, width) in enumerate(zip(row, widths, strict=True))]
        return "  ".join(parts).rstrip()

    return [*lines, line(cells[0]), *(line(row) for row in cells[1:]), ""]


def _render_text(report: Report) -> str:
    p, t, s = report.period, report.totals, report.shuffling
    window = (f"{_time(p.since) or 'the beginning'} to "
              f"{_time(p.until) or 'the last event'}")
    out = [f"escalate report: {window} (trend by {p.trend})", ""]
    out += _table("Totals", ["figure", "value"], [
        ["events", t.events], ["cases opened", t.opened], ["resolutions", t.resolved],
        ["reopened", t.reopened], ["closed", t.closed],
        ["escalations (by hand / by timer)",
         f"{t.escalated} ({t.escalated_by_hand} / {t.escalated_by_timer})"],
        ["transfers", t.transferred],
        ["breaches (first response / resolution)",
         f"{t.breaches_first_response} / {t.breaches_resolution}"],
        ["ping-pong cases", t.ping_pong_cases], ["backlog at the end", t.backlog],
        ["first response compliance (met/breached/pending)", _rate(t.first_response)],
        ["resolution compliance (met/breached/pending)", _rate(t.resolution)],
    ])
    out += _table("Agents", ["agent", "received", "claimed", "resolved", "esc.hand",
                             "esc.away", "transfers", "reopened", "median res.", "p90 res.",
                             "breaches"],
                  [[r.agent, r.received, r.claimed, r.resolved, r.escalated_by_hand,
                    r.escalated_away, r.transferred, r.reopened, _hours(r.median_resolution),
                    _hours(r.p90_resolution), r.sla_breaches] for r in report.agents])
    out += _table("Tiers", ["tier", "opened", "entered", "resolved", "esc.in", "esc.out",
                            "trf.in", "trf.out", "time total", "time median", "breaches",
                            "first response", "resolution"],
                  [[r.tier, r.opened, r.entered, r.resolved, r.escalations_in,
                    r.escalations_out, r.transfers_in, r.transfers_out, _hours(r.time_total),
                    _hours(r.time_median), r.breaches, _rate(r.first_response),
                    _rate(r.resolution)] for r in report.tiers])
    for title, rows in (("Channels", report.channels), ("Priorities", report.priorities)):
        out += _table(title, ["name", "opened", "resolved", "escalated", "first response",
                              "resolution", "breached in"],
                      [[r.name, r.opened, r.resolved, r.escalated, _rate(r.first_response),
                        _rate(r.resolution),
                        ", ".join(f"{k} {v}" for k, v in r.breached_in.items()) or "-"]
                       for r in rows])
    out += _table("Transfers per case", ["transfers", "cases"],
                  [[k, v] for k, v in s.transfers_per_case.items()])
    out += _table("Moves", ["direction", "moves"],
                  [["up", s.moves_up], ["down", s.moves_down], ["sideways", s.moves_sideways]])
    out += _table("Ping-pong", ["case", "kind", "returns", "path"],
                  [[pp.case_id, pp.kind, pp.returns, pp.route] for pp in s.ping_pong])
    out += _table(f"Trends by {p.trend}", ["period", "opened", "resolved", "escalated",
                                           "breached", "first response", "resolution"],
                  [[r.period, r.opened, r.resolved, r.escalated, r.breached,
                    _rate(r.first_response), _rate(r.resolution)] for r in report.trends])
    out.append("Compliance: met/breached/pending of the cases opened in the window; "
               "rate = met / (met + breached).")
    return "\n".join(out) + "\n"
