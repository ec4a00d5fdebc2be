"""The storage interface every backend implements, and the records it keeps beside cases."""

from __future__ import annotations

import abc
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from ..codec import case_to_dict, event_to_dict, format_time, json_text
from ..errors import StorageError
from ..model import Action, Case, Event

__all__ = ["KEEP", "AvailabilityChange", "CaseQuery", "Change", "Keep", "Notification",
           "RawRow", "Store", "Timer", "TimerHandler", "distinct_notifications", "key_clash"]


@attrs.frozen
class Timer:
    """A stored due time: when `due_at` passes, the worker performs `action` on the case."""

    case_id: str
    clock: str
    due_at: datetime
    action: Action


@attrs.frozen
class Notification:
    """One message to one recipient on one channel, kept in the outbox until delivered.

    `attempts` counts claims for delivery (a claim is an attempt, whatever its outcome);
    `lease_id` is the fencing token: it grows by one with every claim and is never reset, and
    an outcome is stored only while the stored row still carries the same `lease_id`.
    """

    key: str
    case_id: str
    seq: int
    recipient: str
    channel: str
    subject: str
    body: str
    created_at: datetime
    status: str = "pending"
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None
    lease_id: int = 0

    @property
    def identity(self) -> tuple[str, int, str, str]:
        """What the key stands for: (case id, event seq, recipient, channel)."""
        return (self.case_id, self.seq, self.recipient, self.channel)

    def to_dict(self) -> dict[str, Any]:
        """The outbox row as a JSON-ready dict (the schema is in docs/reference/json.md)."""
        from ..codec import notification_to_dict

        return notification_to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Notification:
        """Read an outbox row from a dict written by `to_dict`."""
        from ..codec import notification_from_dict

        return notification_from_dict(data)


def distinct_notifications(notes: tuple[Notification, ...]) -> tuple[Notification, ...]:
    """`notes` without repeats of one message; StorageError when two messages share a key.

    The same message listed twice is kept once. Two rows with one key but a different case,
    event, recipient or channel would lose one of them, so that is refused, never ignored.
    """
    seen: dict[str, Notification] = {}
    for note in notes:
        first = seen.setdefault(note.key, note)
        if first.identity != note.identity:
            raise key_clash(note.key, first.identity, note.identity)
    return tuple(seen.values())


def key_clash(key: str, stored: tuple[object, ...], new: tuple[object, ...]) -> StorageError:
    """The error for two different messages that share outbox key `key`."""
    return StorageError(
        f"outbox key {key!r} already belongs to case {stored[0]!r} event {stored[1]} for "
        f"{stored[2]!r} on {stored[3]!r}, not case {new[0]!r} event {new[1]} for {new[2]!r} on "
        f"{new[3]!r}; nothing was written: build keys with escalate.notify.outbox_key")


@attrs.frozen
class AvailabilityChange:
    """One change of an agent's availability, kept in the agent's own trail.

    `seq` counts the agent's changes (1, 2, 3...). With `until`, the change holds until
    then and the agent reverts to the opposite afterwards ("away until Monday 09:00").
    """

    agent: str
    seq: int
    at: datetime
    available: bool
    actor: str | None
    until: datetime | None = None
    reason: str | None = None

    def available_at(self, moment: datetime) -> bool:
        """Whether this change leaves the agent available at `moment` (at or after `at`)."""
        if self.until is not None and moment >= self.until:
            return not self.available
        return self.available


@attrs.frozen
class Change:
    """Everything one action writes, committed atomically or not at all.

    `expected_version` is the case version the change was computed from (0 for a new case);
    the store refuses the change with ConflictError when the stored version differs.
    `timers` is the complete set of the case's timers afterwards (all of this case), or None
    to leave the stored timers as they are. A `TimerHandler` runs inside the store's
    transaction, holding the case; it must not call the store itself.
    """

    case: Case
    events: tuple[Event, ...]
    expected_version: int
    timers: tuple[Timer, ...] | None = None
    notifications: tuple[Notification, ...] = ()


@attrs.frozen
class CaseQuery:
    """Filters for listing cases; None means any. Values are matched exactly.

    `after` is a paging cursor: the id of a stored case; only cases after it in the listing
    order (opening time, then insertion order) match. `limit` caps the number returned.
    """

    status: tuple[str, ...] | None = None
    owner: str | None = None
    tier: str | None = None
    priority: str | None = None
    channel: str | None = None
    ladder: str | None = None
    customer: str | None = None
    limit: int | None = None
    after: str | None = None

    def matches(self, case: Case) -> bool:
        """True when `case` passes every filter."""
        return (
            (self.status is None or case.status.value in self.status)
            and (self.owner is None or case.owner.ref == self.owner)
            and (self.tier is None or case.tier == self.tier)
            and (self.priority is None or case.priority == self.priority)
            and (self.channel is None or case.channel == self.channel)
            and (self.ladder is None or case.ladder == self.ladder)
            and (self.customer is None or case.customer == self.customer)
        )


@attrs.frozen
class RawRow:
    """One stored row as the database holds it, before decoding; what `verify` inspects.

    `columns` maps each column name to its stored value: text, a number, None, or (where the
    database has a time type) a datetime. `body` columns hold the JSON text undecoded.
    """

    table: str
    columns: Mapping[str, Any]


class Keep:
    """A timer handler's answer for a timer it cannot act on: leave it stored, untouched.

    A worker whose policy does not know the case's tier (a newer policy during a rolling
    deploy, or a tier removed by a policy edit) answers `KEEP`; the store leaves the timer
    for a worker that understands it and skips it for the rest of that `fire_due` call.
    """

    def __repr__(self) -> str:
        return "KEEP"


#: The one `Keep` value.
KEEP = Keep()


#: Called by `Store.fire_due` inside the timer's transaction with the current case and the
#: timer; returns the change to commit, None when the timer has nothing left to do (it is
#: deleted), or `KEEP` to leave it stored for another worker.
TimerHandler = Callable[[Case, Timer], Change | Keep | None]


class Store(abc.ABC):
    """Where cases, their events, timers and outbox rows live.

    Every write goes through `commit`, which is atomic: the case row, its events, its timers
    and its notifications are all written, or none is.
    """

    url: str = ""

    @abc.abstractmethod
    def allocate_id(self) -> str:
        """Return a new case id that no other caller of this store will receive."""

    @abc.abstractmethod
    def get(self, case_id: str) -> Case | None:
        """The stored case, or None."""

    @abc.abstractmethod
    def events(self, case_id: str) -> list[Event]:
        """The case's events in sequence order (empty when there is no such case)."""

    @abc.abstractmethod
    def find(self, query: CaseQuery) -> list[Case]:
        """Cases that match the query, oldest first (opening time, then insertion order).

        Honour `query.after` (only cases listed after that case id) and `query.limit`;
        an `after` naming no stored case matches nothing.
        """

    @abc.abstractmethod
    def commit(self, change: Change) -> None:
        """Write the change atomically; ConflictError if the case moved on meanwhile."""

    def get_setting(self, key: str) -> str | None:
        """A value stored beside the cases under `key` (such as the replayed policy), or None.

        The default keeps settings in process memory; stores that persist override both.
        """
        settings: dict[str, str] = self.__dict__.setdefault("_settings", {})
        return settings.get(key)

    def put_setting(self, key: str, value: str) -> None:
        """Store `value` under `key`, replacing what was there (one transaction)."""
        settings: dict[str, str] = self.__dict__.setdefault("_settings", {})
        settings[key] = value

    def commit_many(self, changes: Sequence[Change]) -> None:
        """Write many changes (of many cases) in one transaction: all of them, or none.

        Changes are applied in order, so one case may appear more than once, each change
        expecting the version the one before it left. A ConflictError on any change writes
        nothing. This is the bulk path of `escalate.replay`; the default commits one change
        after another, and a store overrides it with one transaction (the store contract
        kit checks that it is all or nothing).
        """
        for change in changes:
            self.commit(change)

    @abc.abstractmethod
    def case_ids(self) -> Iterator[str]:
        """Every stored case id, oldest first."""

    @abc.abstractmethod
    def all_events(self, since: datetime | None = None,
                   until: datetime | None = None) -> Iterator[Event]:
        """Every event with since <= at < until, ordered by time, then case, then seq."""

    @abc.abstractmethod
    def timers(self, case_id: str) -> list[Timer]:
        """The case's stored timers."""

    @abc.abstractmethod
    def next_due_at(self) -> datetime | None:
        """The earliest stored timer due time, or None when no timer is stored."""

    @abc.abstractmethod
    def fire_due(self, now: datetime, limit: int, handler: TimerHandler,
                 stop: threading.Event | None = None) -> list[Event]:
        """Act on up to `limit` timers due at or before `now`, earliest first.

        Each timer is handled in its own transaction that re-reads the timer and the case, so
        a timer is acted on exactly once even when several desks tick the same store. When
        `stop` is set, no further timer is started: the call returns after the transaction
        in flight.
        A timer the handler answers `KEEP` for stays stored and is not offered again in this
        call; it does not count towards `limit`.
        """

    @abc.abstractmethod
    def notifications(self, *, status: str | None = None, case_id: str | None = None,
                      limit: int | None = None) -> list[Notification]:
        """Outbox rows, oldest first, filtered by status and case."""

    @abc.abstractmethod
    def claim_notifications(self, now: datetime, limit: int,
                            lease: timedelta) -> list[Notification]:
        """Lease up to `limit` pending rows whose next attempt is due, oldest first.

        In the same transaction each claimed row's next attempt moves to `now + lease` (other
        dispatchers skip it), its `attempts` grows by one (a claim is an attempt) and its
        `lease_id` grows by one; the rows are returned as they are after the claim. If the
        dispatcher dies, the lease runs out and the row is due again.
        """

    @abc.abstractmethod
    def update_notification(self, notification: Notification) -> bool:
        """Store the outcome of a delivery attempt (status, attempts, errors, times).

        Fenced: the row is written only when the stored row still has the notification's
        `lease_id`, that is when no other dispatcher claimed it since. Returns whether the
        row was written; a stale outcome changes nothing and returns False.
        """

    @abc.abstractmethod
    def record_availability(self, change: AvailabilityChange) -> None:
        """Append `change` to the agent's trail; ConflictError when its `seq` is taken."""

    @abc.abstractmethod
    def availability(self, agent: str | None = None) -> list[AvailabilityChange]:
        """The availability trail of `agent` (of every agent when None), oldest first."""

    def latest_availability(self) -> dict[str, AvailabilityChange]:
        """Each agent's latest availability change; agents never changed are absent."""
        latest: dict[str, AvailabilityChange] = {}
        for change in self.availability():
            latest[change.agent] = change
        return latest

    @abc.abstractmethod
    def next_in_rotation(self, key: str) -> int:
        """Count one more turn of the rotation `key` and return how many came before (0, 1...).

        Round-robin assignment uses it so that every desk sharing the store takes turns
        from the same counter.
        """

    def wait_for_timer_change(self, timeout: float,
                              stop: threading.Event | None = None) -> bool:
        """Sleep up to `timeout` seconds; True if woken early because timers changed.

        The worker sleeps here between rounds. This default just waits (returning early,
        with False, when `stop` is set); a store that can be woken, like PostgreSQL with
        LISTEN/NOTIFY, overrides it.
        """
        (stop or threading.Event()).wait(timeout)
        return False

    # -- read-only inspection, used by verify ------------------------------------------
    #
    # The defaults rebuild rows from the decoded records above; the SQLite and PostgreSQL
    # stores override them to return rows exactly as stored, so that a damaged row is seen
    # as it is instead of failing to decode.

    def inspect_case_ids(self) -> list[str]:
        """Every case id found in any table (cases, events, timers, outbox), cases first."""
        ids = dict.fromkeys(self.case_ids())
        ids.update(dict.fromkeys(n.case_id for n in self.notifications()))
        registered = self.registered_ids()
        if registered is not None:
            ids.update(dict.fromkeys(sorted(registered)))
        return list(ids)

    def inspect_case(self, case_id: str) -> RawRow | None:
        """The case's row undecoded, or None when there is no row."""
        case = self.get(case_id)
        if case is None:
            return None
        return RawRow("cases", {
            "id": case.id, "status": case.status.value, "owner": case.owner.ref,
            "ladder": case.ladder, "tier": case.tier, "priority": case.priority,
            "channel": case.channel, "customer": case.customer,
            "opened_at": format_time(case.opened_at), "updated_at": format_time(case.updated_at),
            "version": case.version, "body": json_text(case_to_dict(case))})

    def inspect_events(self, case_id: str) -> list[RawRow]:
        """The case's event rows undecoded, in sequence order."""
        return [RawRow("events", {
            "case_id": e.case_id, "seq": e.seq, "at": format_time(e.at), "kind": e.kind.value,
            "actor": e.actor, "body": json_text(event_to_dict(e))})
            for e in self.events(case_id)]

    def inspect_timers(self, case_id: str) -> list[RawRow]:
        """The case's timer rows undecoded."""
        return [RawRow("timers", {"case_id": t.case_id, "clock": t.clock,
                                  "due_at": format_time(t.due_at), "action": t.action.value})
                for t in self.timers(case_id)]

    def inspect_outbox(self, case_id: str) -> list[RawRow]:
        """The case's outbox rows undecoded."""
        return [RawRow("outbox", attrs.asdict(n)) for n in self.notifications(case_id=case_id)]

    def registered_ids(self) -> set[str] | None:
        """Every case id ever committed, from an append-only registry; None if none is kept.

        A case row that is missing while its id is registered was deleted.
        """
        return None

    def close(self) -> None:  # noqa: B027 - optional for stores with nothing to release
        """Release connections and files; the store is unusable afterwards."""
