"""Turning one row into legal escalate events on a copy of its case (`plan_row`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from ..chain import event_hash
from ..fold import apply
from ..lifecycle import next_status
from ..model import EVENT_OF_ACTION, Action, Agent, Case, Event, Owner, Queue, Status
from .mapping import SNAPSHOT_KEYS, ReplayMapping
from .reader import Row

__all__ = ["Plan", "Refuse", "Track", "apply_snapshots", "open_case", "plan_row"]


class Refuse(Exception):
    """The lifecycle has no legal path for this row."""

# -- per-case state -------------------------------------------------------------------------

class Track:
    """What the replay keeps of one case: the case while it is open, its team history."""

    __slots__ = ("applied", "case", "case_team", "closed", "committed", "events", "foreign",
                 "pending", "pending_at", "ping_pong", "previous_team", "snapshots", "team")

    def __init__(self) -> None:
        self.case: Case | None = None
        self.committed = 0
        self.events: list[Event] = []
        self.pending: list[Row] = []
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


class Plan:
    """Builds the events of one row on a copy of the case; nothing is kept if it fails."""

    def __init__(self, case: Case, row: Row, team: str | None, *,
                 opened: bool = False) -> None:
        self.case = case
        self.row = row
        self.opened = opened  # the row already has its `opened` event
        self.events: list[Event] = []
        self.team = team  # the team the case is with; the row's team from its move on

    def emit(self, action: Action, owner: Owner, *, tier: str | None = None,
             at: datetime | None = None, actor: str | None = None, use_row_actor: bool = True,
             data: dict[str, Any] | None = None, reason: str | None = None) -> None:
        """Append the event of `action` (giving the case to `owner`) and fold it in."""
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


def open_case(row: Row, ladder: str, first_tier: str) -> tuple[Case, Event]:
    """The case a first row opens, and its `opened` event."""
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


def apply_snapshots(plan: Plan, track: Track, until: datetime | None) -> None:
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


def plan_row(plan: Plan, track: Track, mapping: ReplayMapping) -> None:
    """Append the events for one row; raises Refuse when the lifecycle has no legal path."""
    row = plan.row
    if plan.case.status is Status.CLOSED:
        raise Refuse("the case is closed, and a closed case stays closed")
    if row.at < plan.case.updated_at:
        raise Refuse(f"dated {row.at.isoformat()}, before the case's previous row "
                      f"({plan.case.updated_at.isoformat()})")
    apply_snapshots(plan, track, row.at)
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

