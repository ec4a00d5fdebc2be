"""Turning one row into legal escalate events on a copy of its case (`plan_row`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..chain import event_hash
from ..fold import apply
from ..lifecycle import next_status
from ..model import EVENT_OF_ACTION, Action, Agent, Case, Event, EventKind, Owner, Queue, Status
from .mapping import SNAPSHOT_KEYS, ReplayMapping
from .reader import Row

__all__ = ["Plan", "Refuse", "Track", "apply_snapshots", "open_case", "plan_row"]


class Refuse(Exception):
    """The lifecycle has no legal path for this row."""

# -- per-case state -------------------------------------------------------------------------

class Track:
    """What the replay keeps of one case: the case while it is open, its team history."""

    __slots__ = (
        "applied",
        "case",
        "case_team",
        "close_actor",
        "close_at",
        "close_reason",
        "closed",
        "committed",
        "events",
        "first_resolved",
        "foreign",
        "last_at",
        "last_status",
        "owner_path",
        "pending",
        "pending_at",
        "ping_pong",
        "previous_team",
        "sla_source",
        "snapshots",
        "team",
        "values",
    )

    def __init__(self) -> None:
        self.case: Case | None = None
        self.committed = 0
        self.events: list[Event] = []
        self.pending: list[Row] = []
        self.pending_at: datetime | None = None
        self.last_at: datetime | None = None   # the latest time of a row accepted
        self.owner_path: list[str] = []        # distinct owners in row order, for ping-pong
        self.team: str | None = None           # as the source rows say, for counting
        self.previous_team: str | None = None  # the distinct team before `team`
        self.ping_pong = False
        self.case_team: str | None = None      # as the written events say
        self.closed = False
        self.foreign = False                   # the store already had this case id
        self.snapshots: dict[str, datetime] = {}
        self.applied: set[str] = set()
        self.last_status: str | None = None    # the source status of the previous row
        self.values: dict[str, str | None] = {}  # snapshot mode: the previous row's fields
        self.close_at: datetime | None = None  # after_close = "reopen": a close not yet final
        self.close_actor: str | None = None
        self.close_reason: str | None = None
        self.sla_source: bool | None = None    # the source's latest SLA verdict
        self.first_resolved: datetime | None = None


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


class Plan:
    """Builds the events of one row on a copy of the case; nothing is kept if it fails.

    The acting person of an event is the row's `actor` column when the mapping has one, else
    the row's owner; a hand-off (transfer, escalation, assignment) is done by whoever held
    the case before it (`passer`), never by the person who receives it.
    """

    def __init__(self, case: Case, row: Row, team: str | None, *,
                 opened: bool = False, actor_column: bool = False,
                 unknown_team: bool = False) -> None:
        self.case = case
        self.row = row
        self.opened = opened  # the row already has its `opened` event
        self.events: list[Event] = []
        self.team = team  # the team the case is with; the row's team from its move on
        self.actor_column = actor_column
        if unknown_team and row.team is None and row.line:
            self.team = None  # missing_team = "unknown": this row does not say where it is
        self.team_known = not (unknown_team and row.team is None and row.line > 0)

    @property
    def actor(self) -> str | None:
        """Who acts on this row: the actor column if mapped, else the row's owner."""
        return self.row.actor if self.actor_column else self.row.person

    def passer(self) -> str | None:
        """Who hands the case on: the actor column if mapped, else the agent holding it."""
        if self.actor_column:
            return self.row.actor
        owner = self.case.owner
        return owner.name if isinstance(owner, Agent) else None

    def emit(self, action: Action, owner: Owner, *, tier: str | None = None,
             at: datetime | None = None, actor: str | None = None, use_row_actor: bool = True,
             data: dict[str, Any] | None = None, reason: str | None = None) -> None:
        """Append the event of `action` (giving the case to `owner`) and fold it in."""
        case = self.case
        body: dict[str, Any] = {"line": self.row.line}
        if self.team is not None or not self.team_known:
            body["team"] = self.team
        if data:
            body.update(data)
        event = _sealed(
            case_id=case.id, seq=case.version + 1, at=at or self.row.at,
            kind=EVENT_OF_ACTION[action], actor=self.actor if use_row_actor else actor,
            owner_before=case.owner, owner_after=owner, status_before=case.status,
            status_after=_next(case.status, action, case.id), tier_before=case.tier,
            tier_after=tier or case.tier, reason=self.row.status if reason is None else reason,
            data=body, prev_hash=case.last_hash)
        self.case = apply(case, event)
        self.events.append(event)

    def hand_off(self, action: Action, owner: Owner, *, tier: str | None = None,
                 data: dict[str, Any] | None = None) -> None:
        """A transfer, escalation or assignment, done by the passer.

        When the log does not say who passed the case on (it sat in a queue and the log has
        no actor column), the event's actor is None and `data.actor_unknown` says so.
        """
        passer = self.passer()
        if passer is None:
            data = {**(data or {}), "actor_unknown": True}
        self.emit(action, owner, tier=tier, actor=passer, use_row_actor=False, data=data)


def _sealed(**fields: Any) -> Event:
    """The event with its chain hash (as `chain.seal` does; `prev_hash` is among `fields`).

    Built twice from the same values rather than copied with `attrs.evolve`, which costs
    several times more per event.
    """
    return Event(**fields, hash=event_hash(Event(**fields)))


def open_case(row: Row, ladder: str, first_tier: str,
              actor_column: bool = False) -> tuple[Case, Event]:
    """The case a first row opens, and its `opened` event."""
    data = {**row.first, "ladder": ladder, "contact": row.person, "sla": None}
    if row.team is not None:
        data["team"] = row.team
    data["line"] = row.line
    tier = row.tier or first_tier
    event = _sealed(case_id=row.case_id, seq=1, at=row.at, kind=EVENT_OF_ACTION[Action.OPEN],
                    actor=row.actor if actor_column else row.person, owner_before=None,
                    owner_after=Queue(tier), status_before=None, status_after=_OPENED,
                    tier_before=None, tier_after=tier, reason=row.status, data=data)
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
        actor = None  # the export says when, not who
        mark = {"snapshot": key}
        if case.status is not Status.RESOLVED:
            plan.emit(Action.RESOLVE, case.owner, at=at, actor=actor, use_row_actor=False,
                      data=mark, reason=f"{key} from the export")
        if key == "closed_at":
            plan.emit(Action.CLOSE, plan.case.owner, at=at, actor=actor, use_row_actor=False,
                      data=mark, reason=f"{key} from the export")


def plan_row(plan: Plan, track: Track, mapping: ReplayMapping) -> None:
    """Append the events for one row; raises Refuse when the lifecycle has no legal path.

    The row's status is applied only when it says something new: in `snapshot` mode a row
    that repeats the previous row's status is an update (a move, a new owner, changed
    fields), never a second resolution or claim.
    """
    row = plan.row
    if plan.case.status is Status.CLOSED:
        raise Refuse("the case is closed, and a closed case stays closed "
                     '(after_close = "reopen" keeps such rows)')
    if row.at < plan.case.updated_at:
        raise Refuse(f"dated {row.at.isoformat()}, before the case's previous row "
                     f"({plan.case.updated_at.isoformat()}); the file is not in time order: "
                     "add `sort = true` to the mapping")
    apply_snapshots(plan, track, row.at)
    own_from = len(plan.events)  # the events before this are the export's snapshot times
    repeated = mapping.mode == "snapshot" and row.status == track.last_status
    action = row.action
    person: Agent | None = Agent(row.person) if row.person else None
    if track.close_at is not None:
        track.close_at = None  # a later row: the source's close did not last
    if plan.case.status is Status.RESOLVED and not repeated and action in _REOPENS:
        plan.emit(Action.REOPEN, plan.case.owner)
    if _moved(plan, track):
        _move(plan, track, mapping, person)
    elif person is not None and plan.case.owner != person and (repeated or _keeps(action)):
        _new_owner(plan, person, repeated)
    handed = any(e.kind in _HAND_OFFS for e in plan.events[own_from:])
    if not repeated or handed:  # after a hand-off, the status the row shows holds again
        _status(plan, track, mapping, person)
    elif track.values != row.values:
        changed = {k: v for k, v in row.values.items() if track.values.get(k) != v}
        plan.emit(Action.NOTE, plan.case.owner, data={"changed": changed})
    track.values = row.values
    track.last_status = row.status
    if len(plan.events) == own_from and not plan.opened and not repeated:
        plan.emit(Action.NOTE, plan.case.owner)


_HAND_OFFS = (EventKind.TRANSFERRED, EventKind.ESCALATED, EventKind.ASSIGNED)

#: Row actions that say the case is being worked on again.
_REOPENS = (Action.RETURN, Action.CLAIM, Action.RESPOND, Action.RESUME, Action.ASSIGN,
            Action.WAIT, Action.REOPEN, Action.ESCALATE, Action.TRANSFER)


def _keeps(action: Action) -> bool:
    """Rows whose person holds the case after a plain status change."""
    return action in (Action.CLAIM, Action.RESPOND, Action.RESUME)


def _moved(plan: Plan, track: Track) -> bool:
    row = plan.row
    if row.team is None:
        return False
    if track.case_team:
        return row.team != track.case_team
    return (row.tier or plan.case.tier) != plan.case.tier


def _move(plan: Plan, track: Track, mapping: ReplayMapping, person: Agent | None) -> None:
    """The move between teams: up is an escalation, same level or down a transfer."""
    row = plan.row
    tier = row.tier or plan.case.tier
    before, after = mapping.level(plan.case.tier), mapping.level(tier)
    direction = "up" if after > before else "down" if after < before else "sideways"
    data = {"team_before": track.case_team, "direction": direction}
    plan.team = row.team
    if plan.case.status is Status.RESOLVED:
        # a resolved case changing team is an update, not new work
        plan.emit(Action.NOTE, plan.case.owner, tier=tier, data=data)
        return
    if plan.case.status is Status.WAITING and row.action in (Action.RETURN, *_TAKES,
                                                             Action.ASSIGN):
        plan.emit(Action.RESUME, plan.case.owner)
    to: Owner = Queue(tier) if row.action is Action.RETURN or person is None else person
    plan.hand_off(Action.ESCALATE if direction == "up" else Action.TRANSFER, to, tier=tier,
                  data=data)


def _new_owner(plan: Plan, person: Agent, repeated: bool) -> None:
    """Another person holds the case in the same team."""
    status = plan.case.status
    if status in (Status.ACTIVE, Status.WAITING):
        plan.hand_off(Action.TRANSFER, person)
    elif status is Status.OPEN and (repeated or plan.row.action not in _TAKES):
        plan.hand_off(Action.ASSIGN, person)


def _status(plan: Plan, track: Track, mapping: ReplayMapping, person: Agent | None) -> None:
    """The events of the status the row reports."""
    action = plan.row.action
    case = plan.case
    status = case.status
    if action is Action.RETURN:
        if status is Status.WAITING:
            plan.emit(Action.RESUME, case.owner)
        tier_queue = Queue(plan.case.tier)
        if plan.case.status is Status.ACTIVE or plan.case.owner != tier_queue:
            plan.emit(Action.RETURN, tier_queue)
    elif action in _TAKES or action is Action.WAIT:
        _take(plan, action, person)
    elif action is Action.ASSIGN:
        if status is Status.WAITING:
            plan.emit(Action.RESUME, case.owner)
        if plan.case.status is Status.ACTIVE or (person is not None and case.owner != person):
            plan.hand_off(Action.ASSIGN, person or plan.case.owner)
    elif action in (Action.ESCALATE, Action.TRANSFER):
        _activity(plan, mapping, action, person)
    elif action is Action.RESOLVE:
        if status is not Status.RESOLVED:
            keeper = person if isinstance(case.owner, Queue) and person else case.owner
            plan.emit(Action.RESOLVE, keeper)
    elif action is Action.CLOSE:
        if status is not Status.RESOLVED:
            plan.emit(Action.RESOLVE, case.owner)
        if mapping.after_close == "reopen":
            track.close_at = plan.row.at  # closed at the end, unless a later row reopens it
            track.close_actor, track.close_reason = plan.actor, plan.row.status
        else:
            plan.emit(Action.CLOSE, plan.case.owner)


def _take(plan: Plan, action: Action, person: Agent | None) -> None:
    """Claim, respond, resume or wait: an open case needs someone who takes it."""
    case = plan.case
    if case.status is Status.OPEN:
        taker = person or (case.owner if isinstance(case.owner, Agent) else None)
        if taker is None:
            return  # a status change with nobody to take the case: only a note
        plan.emit(Action.RESPOND if action is Action.RESPOND else Action.CLAIM, taker)
    elif case.status is Status.WAITING and action is not Action.WAIT:
        plan.emit(Action.RESUME, case.owner)
    if action is Action.WAIT and plan.case.status is Status.ACTIVE:
        plan.emit(Action.WAIT, plan.case.owner)
    if action is Action.WAIT and plan.case.status is Status.WAITING \
            and person is not None and plan.case.owner != person:
        plan.hand_off(Action.TRANSFER, person)


def _activity(plan: Plan, mapping: ReplayMapping, action: Action,
              person: Agent | None) -> None:
    """An explicit escalation or transfer activity, when the team column did not move."""
    if plan.events and plan.events[-1].kind in (EventKind.ESCALATED, EventKind.TRANSFERRED):
        return  # the team move of this row already is the hand-off
    case = plan.case
    if action is Action.ESCALATE:
        level = mapping.level(case.tier)
        if level + 1 >= len(mapping.tiers):
            raise Refuse(f"escalation from the top tier {case.tier!r}")
        tier = mapping.tiers[level + 1]
        plan.hand_off(Action.ESCALATE, person or Queue(tier), tier=tier,
                      data={"direction": "up", "activity": plan.row.status})
    elif person is not None and case.owner != person:
        plan.hand_off(Action.TRANSFER, person, data={"direction": "sideways",
                                                    "activity": plan.row.status})
