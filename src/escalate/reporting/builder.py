"""`build_report`: one pass over the event stream, in time order, to a `Report`.

Two kinds of figure come out of it (docs/reports.md has the exact definitions):

* activity: events with since <= at < until (claims, resolutions, escalations, breaches,
  transfers, moves, time spent in a tier, ratings);
* cohort: the cases opened in the window, followed up to `until` (SLA compliance, the
  distribution of transfers per case, cases opened per group).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from ..calendars import BusinessHours
from ..clock import as_utc
from ..codec import clock_from_dict, format_time
from ..errors import InvalidInput
from ..model import Agent, Event, EventKind, Status
from ..policy import Policy
from ..timing import FIRST_RESPONSE, RESOLUTION, calendar_of
from .clockshare import ClockShares
from .rows import agent_row, group_row, tier_row, trend_rows
from .state import (
    AgentCounts,
    CaseState,
    GroupCounts,
    Outcomes,
    Rating,
    SatisfactionCounts,
    TierCounts,
    TrendCounts,
)
from .stats import period_start, step_path
from .values import (
    SLA_CLOCKS,
    TRENDS,
    Breach,
    GroupTrend,
    Period,
    PingPong,
    Report,
    Shuffling,
    Totals,
    TrendRow,
)

__all__ = ["build_report"]

_ALWAYS = BusinessHours.always()
#: The whole-number fields of Totals, counted while reading.
_COUNT_TOTALS = ("events", "opened", "resolved", "reopened", "closed", "escalated",
                 "escalated_by_hand", "escalated_by_timer", "transferred",
                 "breaches_first_response", "breaches_resolution", "ping_pong_cases",
                 "backlog")
_UNRESOLVED = (Status.OPEN, Status.ACTIVE, Status.WAITING)


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


class _Builder:
    """The one-pass accumulator behind `build_report`."""

    def __init__(self, policy: Policy | None, since: datetime | None,
                 until: datetime | None, trend: str) -> None:
        self.policy = policy
        self.since = since
        self.until = until
        self.trend = trend
        self.cases: dict[str, CaseState] = {}
        self.agents: dict[str, AgentCounts] = {}
        self.tiers: dict[str, TierCounts] = {}
        self.channels: dict[str, GroupCounts] = {}
        self.priorities: dict[str, GroupCounts] = {}
        self.trends: dict[tuple[str, str], dict[date, TrendCounts]] = {}
        self.shares = ClockShares(since, until, self._calendar)
        self.breaches: list[Breach] = []
        self.totals = Counter[str]()
        self.moves = Counter[str]()
        self.satisfaction = SatisfactionCounts()
        self.last_at: datetime | None = None
        self.first_active: datetime | None = None
        self.last_active: datetime | None = None

    # -- helpers ---------------------------------------------------------------------

    def _agent(self, name: str) -> AgentCounts:
        return self.agents.setdefault(name, AgentCounts())

    def _tier(self, name: str) -> TierCounts:
        return self.tiers.setdefault(name, TierCounts())

    def _trends(self, st: CaseState, at: datetime) -> list[TrendCounts]:
        """The period's counts overall, for the case's channel and for its priority."""
        key = period_start(self.trend, at.date())
        return [self.trends.setdefault(group, {}).setdefault(key, TrendCounts())
                for group in (("", ""), ("channel", st.channel), ("priority", st.priority))]

    def _calendar(self, name: str) -> BusinessHours:
        return _ALWAYS if self.policy is None else calendar_of(self.policy, name)

    def _groups(self, st: CaseState) -> list[GroupCounts]:
        return [self.channels.setdefault(st.channel, GroupCounts()),
                self.priorities.setdefault(st.priority, GroupCounts())]

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

    def _resolution_calendar(self, st: CaseState) -> BusinessHours:
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
            st = self.cases[event.case_id] = CaseState(event.case_id, owner=event.owner_before,
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
        self.shares.add(st.clocks, before_tier, st.last_at, at)
        st.last_at = at
        self._clocks(st, event, before_tier, after_tier, inside)
        self._count(st, event, before_tier, after_tier, inside)

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
            step_path(st.tier_path, after_tier, lambda: self._tier_return(st, inside))
        self._spells(st, event, moved, after_tier)
        st.owner, st.tier, st.status = event.owner_after, after_tier, event.status_after

    def _count(self, st: CaseState, event: Event, before_tier: str | None,
               after_tier: str | None, inside: bool) -> None:
        """Count what the event's kind stands for: claims, transfers, escalations, ..."""
        kind = event.kind
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
        elif kind is EventKind.RATED and isinstance(event.data.get("score"), int):
            st.rating = Rating(event.data["score"], event.reason, event.at,
                               before_tier or "?")

    def _opened(self, st: CaseState, event: Event, inside: bool) -> None:
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
            for period in self._trends(st, event.at):
                period.opened += 1

    def _clocks(self, st: CaseState, event: Event, before_tier: str | None,
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

    def _breach(self, st: CaseState, name: str, event: Event, tier: str | None,
                inside: bool) -> None:
        held = tier or "?"
        st.breached.setdefault(name, held)
        if not inside:
            return
        self.totals[f"breaches_{name}"] += 1
        self._tier(held).breaches += 1
        for period in self._trends(st, event.at):
            period.breached += 1
        self.breaches.append(Breach(st.case_id, name, held, event.at,
                                    str(event.owner_before or "?")))
        if isinstance(event.owner_before, Agent):
            self._agent(event.owner_before.name).sla_breaches += 1

    def _escalated(self, st: CaseState, event: Event, before_tier: str | None,
                   after_tier: str | None) -> None:
        self.totals["escalated"] += 1
        if event.actor:
            self.totals["escalated_by_hand"] += 1
            self._agent(event.actor).escalated_by_hand += 1
        elif event.data.get("actor_unknown"):
            pass  # an imported log that does not say who moved the case: neither
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
        for period in self._trends(st, event.at):
            period.escalated += 1

    def _resolved(self, st: CaseState, event: Event, tier: str | None, inside: bool) -> None:
        resolver = event.actor  # counted by who acted; a resolution nobody did is no one's
        if resolver:
            st.last_resolver = resolver
        if not inside:
            return
        self.totals["resolved"] += 1
        for group in self._groups(st):
            group.resolved += 1
        if tier is not None:
            self._tier(tier).resolved += 1
        for period in self._trends(st, event.at):
            period.resolved += 1
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

    def _owners(self, st: CaseState, event: Event, inside: bool) -> None:
        owner = event.owner_after
        if not isinstance(owner, Agent) or owner == event.owner_before:
            return
        if inside:
            self._agent(owner.name).received += 1
        step_path(st.agent_path, owner.name, lambda: self._owner_return(st, inside))

    def _owner_return(self, st: CaseState, inside: bool) -> None:
        if inside:
            st.owner_returns += 1

    def _tier_return(self, st: CaseState, inside: bool) -> None:
        if inside:
            st.tier_returns += 1

    def _spells(self, st: CaseState, event: Event, moved: bool, tier: str | None) -> None:
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

    def _close_spell(self, st: CaseState, end: datetime) -> None:
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
        compliance = {name: Outcomes() for name in SLA_CLOCKS}
        transfers: Counter[int] = Counter()
        ping_pong: list[PingPong] = []
        for st in self.cases.values():
            self._settle(st, end, ping_pong)
            if not st.in_cohort or st.opened_at is None:
                continue
            transfers[st.transfers] += 1
            for name in SLA_CLOCKS:
                if name not in st.clocks:
                    continue
                outcome, tier = self._outcome(st, name)
                compliance[name].add(outcome)
                self._tier(tier).compliance[name].add(outcome)
                for group in (*self._trends(st, st.opened_at), *self._groups(st)):
                    group.compliance[name].add(outcome)
                for group in self._groups(st):
                    if outcome == "breached":
                        group.breached_in[tier] += 1
        self.totals["ping_pong_cases"] = len({p.case_id for p in ping_pong})
        most = max(transfers, default=-1)
        shuffling = Shuffling(
            transfers_per_case={n: transfers.get(n, 0) for n in range(most + 1)},
            ping_pong=tuple(ping_pong), moves_up=self.moves["up"],
            moves_down=self.moves["down"], moves_sideways=self.moves["sideways"])
        tiers = self._tier_order()
        return Report(
            period=Period(self.since, self.until, self.trend, end),
            totals=Totals(**{name: self.totals[name] for name in _COUNT_TOTALS},
                          first_response=compliance[FIRST_RESPONSE].frozen(),
                          resolution=compliance[RESOLUTION].frozen(),
                          satisfaction=self.satisfaction.frozen()),
            agents=tuple(agent_row(name, self.agents[name]) for name in sorted(self.agents)),
            tiers=tuple(tier_row(name, self.tiers[name]) for name in tiers),
            channels=tuple(group_row(name, self.channels[name])
                           for name in sorted(self.channels)),
            priorities=tuple(group_row(name, self.priorities[name])
                             for name in self._priority_order()),
            shuffling=shuffling,
            trends=self._trend_rows(("", "")),
            channel_trends=tuple(GroupTrend(name, self._trend_rows(("channel", name)))
                                 for name in sorted(self.channels)),
            priority_trends=tuple(GroupTrend(name, self._trend_rows(("priority", name)))
                                  for name in self._priority_order()),
            clock_shares=self.shares.rows(tiers),
            breaches=tuple(self.breaches),
        )

    def _settle(self, st: CaseState, end: datetime | None, ping_pong: list[PingPong]) -> None:
        """Close the case's running spell and clocks at the end; count backlog, ping-pong."""
        if st.spell_start is not None and end is not None:
            self._close_spell(st, end)
        if end is not None:
            self.shares.add(st.clocks, st.tier, st.last_at, end)
        self._rated(st)
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

    def _rated(self, st: CaseState) -> None:
        """Count the case's last rating where it belongs, when it was given in the window."""
        rating = st.rating
        if rating is None or not self._inside(rating.at):
            return
        self.satisfaction.add(st.case_id, rating)
        if st.last_resolver:
            self._agent(st.last_resolver).satisfaction.add(st.case_id, rating)
        self._tier(rating.tier).satisfaction.add(st.case_id, rating)
        for group in (*self._groups(st), *self._trends(st, rating.at)):
            group.satisfaction.add(st.case_id, rating)

    def _outcome(self, st: CaseState, name: str) -> tuple[str, str]:
        if name in st.breached:
            return "breached", st.breached[name]
        if name in st.met_in:
            return "met", st.met_in[name]
        return "pending", st.tier or "?"

    def _tier_order(self) -> list[str]:
        known = ([t.name for ladder in self.policy.ladders.values() for t in ladder.tiers]
                 if self.policy is not None else [])
        for name in known:
            self._tier(name)
        return known + [name for name in self.tiers if name not in known]

    def _priority_order(self) -> list[str]:
        known = list(self.policy.sla) if self.policy is not None else []
        return ([name for name in known if name in self.priorities]
                + sorted(name for name in self.priorities if name not in known))

    def _trend_rows(self, group: tuple[str, str]) -> tuple[TrendRow, ...]:
        first = self.since or self.first_active
        last = (self.until - timedelta(microseconds=1)) if self.until else self.last_active
        if first is None or last is None:
            return ()
        start = period_start(self.trend, first.date())
        stop = period_start(self.trend, last.date())
        for key in self.trends.get(("", ""), {}):  # a cohort case's period lies in the window
            start, stop = min(start, key), max(stop, key)
        return trend_rows(self.trend, start, stop, self.trends.get(group, {}))
