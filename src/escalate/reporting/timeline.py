"""One case's timeline as a self-contained HTML page (`escalate show CASE --format html`).

Owner and tier swim-lanes, the SLA clocks as bars with their due times, waiting spells, and
warnings and breaches marked; below, every event with its time in the calendar's zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import attrs

from ..codec import clock_from_dict
from ..model import Case, ClockState, Event, EventKind, Status
from ..policy import Policy
from ..timing import calendar_of
from .html import case_file_name, environment

if TYPE_CHECKING:
    from ..desk import Desk

__all__ = ["Timeline", "build_timeline", "render_case_html", "write_case_pages"]

_LEFT, _WIDTH, _LANE = 150.0, 900.0, 30.0
_FLAGS = {EventKind.WARNED: "warning", EventKind.BREACHED: "breach",
          EventKind.REALERTED: "re-alert", EventKind.ESCALATED: "escalation"}


@attrs.frozen
class Bar:
    """A horizontal bar in one lane: x, width, its text and its kind (owner, wait, clock)."""

    lane: int
    x: float
    width: float
    text: str
    kind: str
    due_x: float | None = None


@attrs.frozen
class Flag:
    """A marked event: warning, breach, re-alert or escalation, at x in a lane."""

    lane: int
    x: float
    kind: str
    text: str


@attrs.frozen
class Timeline:
    """What the page draws: lane names, bars, flags, time ticks and the event rows."""

    lanes: tuple[str, ...]
    bars: tuple[Bar, ...]
    flags: tuple[Flag, ...]
    ticks: tuple[tuple[float, str], ...]
    zone: str
    width: float
    height: float
    rows: tuple[tuple[Event, str], ...]


def _zone_of(policy: Policy | None, case: Case) -> str:
    if policy is None or case.ladder not in policy.ladders:
        return "UTC"
    return calendar_of(policy, policy.ladders[case.ladder].calendar or "").timezone


def _clocks(events: Sequence[Event]) -> dict[str, ClockState]:
    latest: dict[str, ClockState] = {}
    for event in events:
        for raw in event.data.get("clocks", ()):
            clock = clock_from_dict(raw)
            latest[clock.name] = clock
    return latest


@attrs.frozen
class _Span:
    """A stretch of time in which one clock ran towards one due time."""

    clock: str
    start: datetime
    stop: datetime
    due_at: datetime | None
    breached: bool


def _clock_spans(events: Sequence[Event], end: datetime) -> list[_Span]:
    """When each clock was running, from the clock states the events carry: a pause or a stop
    ends a span, a new due time (a restart, a new tier) starts another."""
    state: dict[str, ClockState] = {}
    spans: list[_Span] = []
    for i, event in enumerate(events):
        if "clocks" in event.data:
            state = {c.name: c for c in map(clock_from_dict, event.data["clocks"])}
        following = events[i + 1].at if i + 1 < len(events) else end
        for clock in state.values():
            if not clock.running or following <= event.at:
                continue
            match = next((s for s in reversed(spans) if s.clock == clock.name), None)
            if match is not None and match.stop == event.at and match.due_at == clock.due_at:
                spans[spans.index(match)] = attrs.evolve(match, stop=following,
                                                         breached=clock.breached)
            else:
                spans.append(_Span(clock.name, event.at, following, clock.due_at,
                                   clock.breached))
    return spans


def build_timeline(case: Case, events: Sequence[Event], policy: Policy | None = None,
                   now: datetime | None = None) -> Timeline:
    """Lay the case's trail out: one lane per tier, one per clock, one for waiting."""
    zone = _zone_of(policy, case)
    local = ZoneInfo(zone)
    clocks = _clocks(events)
    start = events[0].at
    moments = [e.at for e in events] + [c.due_at for c in clocks.values() if c.due_at]
    open_case = case.status not in (Status.RESOLVED, Status.CLOSED)
    end = max([*moments, *([now] if now and open_case else [])])
    end = max(end, start + timedelta(minutes=1))
    scale = (_WIDTH - _LEFT - 60) / (end - start).total_seconds()

    def x(at: datetime) -> float:
        return _LEFT + (at - start).total_seconds() * scale

    tiers = list(dict.fromkeys(e.tier_after or e.tier_before or "?" for e in events))
    lanes = [f"tier {t}" for t in tiers] + ["waiting"] + [f"clock {n}" for n in clocks]
    bars: list[Bar] = []
    flags: list[Flag] = []
    wait_start: datetime | None = None
    for i, event in enumerate(events):
        following = events[i + 1].at if i + 1 < len(events) else (end if open_case else None)
        tier = event.tier_after or event.tier_before or "?"
        if following is not None and event.status_after not in (Status.RESOLVED,
                                                                Status.CLOSED):
            bars.append(Bar(tiers.index(tier), x(event.at), max(1.0, x(following) - x(event.at)),
                            str(event.owner_after), "owner"))
        if event.status_after is Status.WAITING and wait_start is None:
            wait_start = event.at
        elif event.status_after is not Status.WAITING and wait_start is not None:
            bars.append(Bar(len(tiers), x(wait_start), x(event.at) - x(wait_start), "waiting",
                            "wait"))
            wait_start = None
        if event.kind in _FLAGS and (event.kind is not EventKind.ESCALATED
                                     or event.actor is None):
            clock = event.data.get("clock")
            lane = (len(tiers) + 1 + list(clocks).index(clock) if clock in clocks
                    else tiers.index(tier))
            flags.append(Flag(lane, x(event.at), _FLAGS[event.kind],
                              f"{_FLAGS[event.kind]}: {event.reason or event.kind.value}"))
    if wait_start is not None:
        bars.append(Bar(len(tiers), x(wait_start), x(end) - x(wait_start), "waiting", "wait"))
    names = list(clocks)
    for span in _clock_spans(events, end):
        due = f"due {span.due_at.astimezone(local):%a %d %b %H:%M}" if span.due_at else ""
        late = ", breached" if span.breached else ""
        bars.append(Bar(len(tiers) + 1 + names.index(span.clock), x(span.start),
                        max(1.0, x(span.stop) - x(span.start)),
                        f"{span.clock.replace('_', ' ')}: {due}{late}", "clock",
                        None if span.due_at is None else x(span.due_at)))
    steps = 5
    ticks = tuple((x(start + (end - start) * k / steps),
                   f"{(start + (end - start) * k / steps).astimezone(local):%a %d %b %H:%M}")
                  for k in range(steps + 1))
    rows = tuple((e, f"{e.at.astimezone(local):%Y-%m-%d %H:%M}") for e in events)
    return Timeline(tuple(lanes), tuple(bars), tuple(flags), ticks, zone, _WIDTH,
                    40 + _LANE * len(lanes) + 30, rows)


def render_case_html(case: Case, events: Sequence[Event], policy: Policy | None = None,
                     now: datetime | None = None) -> str:
    """The case's timeline page: one self-contained HTML file, no script."""
    timeline = build_timeline(case, events, policy, now)
    return environment().get_template("timeline.html.j2").render(
        case=case, tl=timeline, lane_height=_LANE, left=_LEFT)


def write_case_pages(desk: Desk, case_ids: Iterable[str], folder: Path) -> list[Path]:
    """Write the timeline page of each case into `folder` as FILE.html; return the paths.

    FILE is `case_file_name(case_id)`, so that a report rendered with
    `case_links="FOLDER/{file}.html"` links to them.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for case_id in dict.fromkeys(case_ids):
        path = folder / f"{case_file_name(case_id)}.html"
        path.write_text(render_case_html(desk.get(case_id), desk.history(case_id), desk.policy,
                                         desk.clock.now()), encoding="utf-8")
        written.append(path)
    return written
