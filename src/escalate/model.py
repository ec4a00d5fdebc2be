"""The value objects of escalate: statuses, owners, cases, events and clocks."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, TypeAlias

import attrs

__all__ = [
    "Action",
    "Agent",
    "Case",
    "ClockState",
    "Event",
    "EventKind",
    "Owner",
    "Queue",
    "Status",
    "parse_owner",
]


class Status(enum.StrEnum):
    """Where a case stands in its lifecycle."""

    OPEN = "open"
    ACTIVE = "active"
    WAITING = "waiting"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Action(enum.StrEnum):
    """What someone (or the library itself) does to a case; each is one Desk method."""

    OPEN = "open"
    CLAIM = "claim"
    RESPOND = "respond"
    TRANSFER = "transfer"
    ESCALATE = "escalate"
    ASSIGN = "assign"
    WAIT = "wait"
    RESUME = "resume"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    CLOSE = "close"
    NOTE = "note"
    RETURN = "return"
    WARN = "warn"
    BREACH = "breach"
    REALERT = "realert"
    RATE = "rate"
    UPDATE = "update"


class EventKind(enum.StrEnum):
    """What an event records: one per action, plus timer firings and returns."""

    OPENED = "opened"
    CLAIMED = "claimed"
    RESPONDED = "responded"
    TRANSFERRED = "transferred"
    ESCALATED = "escalated"
    ASSIGNED = "assigned"
    WAITED = "waited"
    RESUMED = "resumed"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"
    NOTED = "noted"
    WARNED = "warned"
    BREACHED = "breached"
    REALERTED = "realerted"
    RETURNED = "returned"
    RATED = "rated"
    UPDATED = "updated"


#: The event kind each action records.
EVENT_OF_ACTION: Mapping[Action, EventKind] = MappingProxyType({
    Action.OPEN: EventKind.OPENED,
    Action.CLAIM: EventKind.CLAIMED,
    Action.RESPOND: EventKind.RESPONDED,
    Action.TRANSFER: EventKind.TRANSFERRED,
    Action.ESCALATE: EventKind.ESCALATED,
    Action.ASSIGN: EventKind.ASSIGNED,
    Action.WAIT: EventKind.WAITED,
    Action.RESUME: EventKind.RESUMED,
    Action.RESOLVE: EventKind.RESOLVED,
    Action.REOPEN: EventKind.REOPENED,
    Action.CLOSE: EventKind.CLOSED,
    Action.NOTE: EventKind.NOTED,
    Action.RETURN: EventKind.RETURNED,
    Action.WARN: EventKind.WARNED,
    Action.BREACH: EventKind.BREACHED,
    Action.REALERT: EventKind.REALERTED,
    Action.RATE: EventKind.RATED,
    Action.UPDATE: EventKind.UPDATED,
})


@attrs.frozen(order=True)
class Agent:
    """A person who can own a case."""

    name: str

    @property
    def ref(self) -> str:
        """The owner as stored: "agent:NAME"."""
        return f"agent:{self.name}"

    def __str__(self) -> str:
        return self.name


@attrs.frozen(order=True)
class Queue:
    """A tier's queue; owns a case while no agent in the tier has it."""

    name: str

    @property
    def ref(self) -> str:
        """The owner as stored: "queue:NAME"."""
        return f"queue:{self.name}"

    def __str__(self) -> str:
        return f"{self.name} queue"


Owner: TypeAlias = Agent | Queue


def parse_owner(ref: str) -> Owner:
    """Turn a stored owner reference ("agent:ana", "queue:frontline") back into an owner."""
    kind, sep, name = ref.partition(":")
    if not sep or not name:
        raise ValueError(f"owner reference {ref!r} is not 'agent:NAME' or 'queue:NAME'")
    if kind == "agent":
        return Agent(name)
    if kind == "queue":
        return Queue(name)
    raise ValueError(f"owner reference {ref!r} is not 'agent:NAME' or 'queue:NAME'")


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


@attrs.frozen
class ClockState:
    """One running commitment of a case: an SLA target or the current tier's time limit.

    While the clock runs, `due_at` is set; while the case waits, the clock is paused,
    `due_at` is None and `remaining` holds the business time that was left. `overrun` is
    business time already past the target when a re-prioritised case moved to a shorter
    target than the time it had used (the clock is then due at once).
    """

    name: str
    target: timedelta
    calendar: str
    started_at: datetime
    due_at: datetime | None
    remaining: timedelta | None = None
    warn_at: datetime | None = None
    warn_fraction: float | None = None
    warned: bool = False
    breached: bool = False
    stopped_at: datetime | None = None
    alerts: int = 0
    overrun: timedelta = timedelta(0)

    @property
    def running(self) -> bool:
        """True while the clock counts: not paused and not stopped."""
        return self.due_at is not None and self.stopped_at is None

    @property
    def paused(self) -> bool:
        """True while the case waits and this clock is on hold."""
        return self.due_at is None and self.stopped_at is None


@attrs.frozen
class Case:
    """One customer problem, as it stands after its latest event."""

    id: str
    title: str
    customer: str
    channel: str
    priority: str
    status: Status
    owner: Owner
    ladder: str
    tier: str
    opened_at: datetime
    updated_at: datetime
    tier_entered_at: datetime
    version: int
    contact: str | None = None
    category: str | None = None
    sla: str | None = None
    transfers: int = 0
    escalations: int = 0
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    resolution: str | None = None
    policy_version: str = ""
    last_hash: str = ""
    clocks: tuple[ClockState, ...] = ()
    fields: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping,
                                            hash=False)
    waiting_on: str | None = None

    @property
    def is_open(self) -> bool:
        """True until the case is closed (resolved cases may still be reopened)."""
        return self.status is not Status.CLOSED

    def clock(self, name: str) -> ClockState | None:
        """The clock with this name ("first_response", "resolution", "tier"), if any."""
        for state in self.clocks:
            if state.name == name:
                return state
        return None

    def to_dict(self) -> dict[str, Any]:
        """The case as a JSON-ready dict (the schema is in docs/reference/json.md)."""
        from .codec import case_to_dict

        return case_to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Case:
        """Read a case from a dict written by `to_dict` (or parsed from its JSON)."""
        from .codec import case_from_dict

        return case_from_dict(data)


@attrs.frozen
class Event:
    """An immutable record of one change to one case."""

    case_id: str
    seq: int
    at: datetime
    kind: EventKind
    actor: str | None
    owner_before: Owner | None
    owner_after: Owner
    status_before: Status | None
    status_after: Status
    tier_before: str | None = None
    tier_after: str | None = None
    reason: str | None = None
    data: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping,
                                          hash=False)
    prev_hash: str = ""
    hash: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The event as a JSON-ready dict (the schema is in docs/reference/json.md)."""
        from .codec import event_to_dict

        return event_to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        """Read an event from a dict written by `to_dict` (or parsed from its JSON)."""
        from .codec import event_from_dict

        return event_from_dict(data)
