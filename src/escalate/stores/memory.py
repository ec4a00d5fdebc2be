"""`memory://`: a store in process memory, for tests, examples and simulations."""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

import attrs

from ..errors import ConflictError
from ..model import Case, Event
from .base import (
    AvailabilityChange,
    CaseQuery,
    Change,
    Keep,
    Notification,
    Store,
    Timer,
    TimerHandler,
    distinct_notifications,
    key_clash,
)
from .roster import availability_conflict

__all__ = ["MemoryStore"]


class MemoryStore(Store):
    """Keeps everything in dicts behind one lock; timers in a heap ordered by due time."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.RLock()
        self._cases: dict[str, Case] = {}
        self._events: dict[str, list[Event]] = {}
        self._timers: dict[str, dict[str, Timer]] = {}
        self._heap: list[tuple[datetime, str, str]] = []
        self._outbox: dict[str, Notification] = {}
        self._ids = itertools.count(1)
        self._availability: list[AvailabilityChange] = []
        self._rotations: dict[str, int] = {}

    def record_availability(self, change: AvailabilityChange) -> None:
        """Append to the agent's availability trail."""
        with self._lock:
            known = sum(1 for c in self._availability if c.agent == change.agent)
            if change.seq != known + 1:
                raise availability_conflict(change)
            self._availability.append(change)

    def availability(self, agent: str | None = None) -> list[AvailabilityChange]:
        """The availability trail, oldest first."""
        with self._lock:
            return [c for c in self._availability if agent is None or c.agent == agent]

    def next_in_rotation(self, key: str) -> int:
        """Count a turn of the rotation `key`."""
        with self._lock:
            turn = self._rotations.get(key, 0)
            self._rotations[key] = turn + 1
            return turn

    def allocate_id(self) -> str:
        """Return the next "C-n" id."""
        with self._lock:
            while True:
                candidate = f"C-{next(self._ids)}"
                if candidate not in self._cases:
                    return candidate

    def get(self, case_id: str) -> Case | None:
        """The stored case, or None."""
        with self._lock:
            return self._cases.get(case_id)

    def events(self, case_id: str) -> list[Event]:
        """The case's events in order."""
        with self._lock:
            return list(self._events.get(case_id, ()))

    def find(self, query: CaseQuery) -> list[Case]:
        """Matching cases, oldest first."""
        with self._lock:
            ordered = self._oldest_first()
            if query.after is not None:
                ids = [case.id for case in ordered]
                ordered = ordered[ids.index(query.after) + 1:] if query.after in ids else []
            found = [case for case in ordered if query.matches(case)]
        return found[: query.limit] if query.limit is not None else found

    def _oldest_first(self) -> list[Case]:
        """Cases by opening time; equal times keep insertion order (sort is stable)."""
        return sorted(self._cases.values(), key=lambda case: case.opened_at)

    def commit(self, change: Change) -> None:
        """Apply the change under the lock after checking the version."""
        case = change.case
        with self._lock:
            current = self._cases.get(case.id)
            stored_version = 0 if current is None else current.version
            if stored_version != change.expected_version:
                raise ConflictError(case.id, change.expected_version)
            history = self._events.get(case.id, ())
            last = history[-1].seq if history else 0
            seqs = [event.seq for event in change.events]
            if seqs and (seqs[0] <= last or seqs != sorted(set(seqs))):
                raise ConflictError(case.id, change.expected_version)
            notes = distinct_notifications(change.notifications)
            for note in notes:
                stored = self._outbox.get(note.key)
                if stored is not None and stored.identity != note.identity:
                    raise key_clash(note.key, stored.identity, note.identity)
            self._cases[case.id] = case
            self._events.setdefault(case.id, []).extend(change.events)
            if change.timers is not None:
                self._set_timers(case.id, change.timers)
            for note in notes:
                self._outbox.setdefault(note.key, note)

    def commit_many(self, changes: Sequence[Change]) -> None:
        """Check every change against the versions the ones before it leave, then apply all."""
        with self._lock:
            versions: dict[str, int] = {}
            last_seq: dict[str, int] = {}
            for change in changes:
                case_id = change.case.id
                if case_id not in versions:
                    current = self._cases.get(case_id)
                    versions[case_id] = 0 if current is None else current.version
                    history = self._events.get(case_id, ())
                    last_seq[case_id] = history[-1].seq if history else 0
                seqs = [event.seq for event in change.events]
                if versions[case_id] != change.expected_version or (seqs and (
                        seqs[0] <= last_seq[case_id] or seqs != sorted(set(seqs)))):
                    raise ConflictError(case_id, change.expected_version)
                versions[case_id] = change.case.version
                if seqs:
                    last_seq[case_id] = seqs[-1]
            self._check_keys(changes)
            for change in changes:
                self.commit(change)

    def _check_keys(self, changes: Sequence[Change]) -> None:
        """No outbox key of the batch clashes with a stored row or another row of it."""
        seen: dict[str, Notification] = {}
        for change in changes:
            for note in distinct_notifications(change.notifications):
                stored = seen.get(note.key) or self._outbox.get(note.key)
                if stored is not None and stored.identity != note.identity:
                    raise key_clash(note.key, stored.identity, note.identity)
                seen.setdefault(note.key, note)

    def _set_timers(self, case_id: str, timers: tuple[Timer, ...]) -> None:
        self._timers[case_id] = {timer.clock: timer for timer in timers}
        for timer in timers:
            heapq.heappush(self._heap, (timer.due_at, case_id, timer.clock))

    def _current_timer(self, entry: tuple[datetime, str, str]) -> Timer | None:
        due_at, case_id, clock = entry
        timer = self._timers.get(case_id, {}).get(clock)
        return timer if timer is not None and timer.due_at == due_at else None

    def case_ids(self) -> Iterator[str]:
        """Every case id in insertion order."""
        with self._lock:
            ids = [case.id for case in self._oldest_first()]
        return iter(ids)

    def all_events(self, since: datetime | None = None,
                   until: datetime | None = None) -> Iterator[Event]:
        """Events in the window, ordered by time, case and seq."""
        with self._lock:
            chosen = [event for events in self._events.values() for event in events
                      if (since is None or event.at >= since)
                      and (until is None or event.at < until)]
        chosen.sort(key=lambda event: (event.at, event.case_id, event.seq))
        return iter(chosen)

    def timers(self, case_id: str) -> list[Timer]:
        """The case's timers, earliest first."""
        with self._lock:
            return sorted(self._timers.get(case_id, {}).values(), key=lambda t: t.due_at)

    def next_due_at(self) -> datetime | None:
        """Earliest due time, dropping heap entries that were rewritten since."""
        with self._lock:
            while self._heap and self._current_timer(self._heap[0]) is None:
                heapq.heappop(self._heap)
            return self._heap[0][0] if self._heap else None

    def fire_due(self, now: datetime, limit: int, handler: TimerHandler,
                 stop: threading.Event | None = None) -> list[Event]:
        """Pop due timers in order and commit what the handler returns, one at a time."""
        fired: list[Event] = []
        kept: list[tuple[datetime, str, str]] = []
        handled = 0
        with self._lock:
            while self._heap and handled < limit and self._heap[0][0] <= now:
                if stop is not None and stop.is_set():
                    break
                entry = heapq.heappop(self._heap)
                timer = self._current_timer(entry)
                case = None if timer is None else self._cases.get(timer.case_id)
                if timer is None or case is None:
                    continue
                change = handler(case, timer)
                if isinstance(change, Keep):
                    kept.append(entry)  # back on the heap once this call is done
                    continue
                handled += 1
                if change is None:
                    remaining = {k: t for k, t in self._timers[case.id].items() if t != timer}
                    self._timers[case.id] = remaining
                    continue
                self.commit(change)
                fired.extend(change.events)
            for entry in kept:
                heapq.heappush(self._heap, entry)
        return fired

    def notifications(self, *, status: str | None = None, case_id: str | None = None,
                      limit: int | None = None) -> list[Notification]:
        """Outbox rows in creation order."""
        with self._lock:
            rows = [n for n in self._outbox.values()
                    if (status is None or n.status == status)
                    and (case_id is None or n.case_id == case_id)]
        rows.sort(key=lambda n: (n.created_at, n.key))
        return rows[:limit] if limit is not None else rows

    def claim_notifications(self, now: datetime, limit: int,
                            lease: timedelta) -> list[Notification]:
        """Lease due pending rows: next attempt past the lease, one more attempt and lease id."""
        with self._lock:
            due = [n for n in self._outbox.values()
                   if n.status == "pending" and (n.next_attempt_at or n.created_at) <= now]
            due.sort(key=lambda n: (n.next_attempt_at or n.created_at, n.key))
            claimed = [attrs.evolve(note, next_attempt_at=now + lease, attempts=note.attempts + 1,
                                    lease_id=note.lease_id + 1) for note in due[:limit]]
            for note in claimed:
                self._outbox[note.key] = note
            return claimed

    def update_notification(self, notification: Notification) -> bool:
        """Replace the stored row with the same key, if its lease id still matches."""
        with self._lock:
            stored = self._outbox.get(notification.key)
            if stored is None or stored.lease_id != notification.lease_id:
                return False
            self._outbox[notification.key] = notification
            return True
