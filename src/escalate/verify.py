"""Check a store's invariants: every case owned, events gap-free, replay equals state."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Set
from datetime import datetime, timedelta

import attrs

from .chain import check_chain
from .fold import EventOrderError, rebuild
from .model import Agent, Case, Event, Queue, Status
from .stores.base import Store

__all__ = ["Problem", "check_case", "verify_store"]


@attrs.frozen
class Problem:
    """One broken invariant of one case."""

    case_id: str
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.case_id}: {self.kind}: {self.message}"


def check_case(case: Case | None, events: list[Event], case_id: str) -> list[Problem]:
    """The problems of one case given its stored row and its stored events."""
    problems: list[Problem] = []

    def found(kind: str, message: str) -> None:
        problems.append(Problem(case_id, kind, message))

    if case is None:
        found("lost", "the case has events but no stored row")
        return problems
    if not events:
        found("no-events", "the case is stored without any event")
        return problems
    seqs = [event.seq for event in events]
    if seqs != list(range(1, len(events) + 1)):
        found("gap", f"event sequence numbers are {seqs[:20]}, expected 1..{len(events)}")
    if case.version != len(events):
        found("version", f"case version {case.version} but {len(events)} events")
    if not isinstance(case.owner, Agent | Queue) or not case.owner.name:
        found("unowned", f"owner is {case.owner!r}")
    broken = check_chain(events)
    if broken:
        found("tampered", broken)
    try:
        replayed = rebuild(events)
    except (EventOrderError, KeyError, ValueError) as exc:
        found("replay", f"events do not replay: {exc}")
    else:
        if replayed != case:
            differing = [a.name for a in attrs.fields(Case)
                         if getattr(replayed, a.name) != getattr(case, a.name)]
            found("replay", f"replaying the events differs from the stored case in "
                            f"{', '.join(differing)}")
    return problems


def verify_store(store: Store, *, now: datetime | None = None,
                 grace: timedelta = timedelta(minutes=5), tiers: Set[str] | None = None,
                 progress: Callable[[int], None] | None = None) -> Iterator[Problem]:
    """Yield every problem found in the store, case by case.

    With `now`, a timer still stored more than `grace` after its due time is reported as
    overdue (the worker should have acted on it). With `tiers` (the policy's tier names),
    an unclosed case in another tier is reported: its timers no longer fire.
    """
    for count, case_id in enumerate(store.case_ids(), start=1):
        case = store.get(case_id)
        yield from check_case(case, store.events(case_id), case_id)
        if tiers is not None and case is not None and case.status is not Status.CLOSED \
                and case.tier not in tiers:
            yield Problem(case_id, "orphaned", f"tier {case.tier!r} is not in the policy; "
                                               "transfer or escalate the case into a tier")
        if now is not None:
            yield from _overdue(store, case_id, now - grace)
        if progress is not None:
            progress(count)


def _overdue(store: Store, case_id: str, limit: datetime) -> Iterable[Problem]:
    for timer in store.timers(case_id):
        if timer.due_at < limit:
            yield Problem(case_id, "overdue", f"timer {timer.clock} ({timer.action.value}) was "
                                              f"due at {timer.due_at.isoformat()} and has not "
                                              "fired; is a worker running?")
