"""Checks shared by the multi-process and crash tests: the trail, timer events, the outbox."""

from __future__ import annotations

from collections import Counter

from escalate import Desk, Event, EventKind, Policy
from escalate.fold import apply
from escalate.model import Case
from escalate.notify import plan

TIMER_KINDS = {EventKind.WARNED, EventKind.BREACHED, EventKind.REALERTED}


def expected_keys(chosen: Policy, events: list[Event]) -> set[str]:
    """The outbox keys the policy calls for, transaction by transaction, for one case's trail.

    A breach and the escalation it causes are one transaction: their rows are rendered
    against the case after both, as the Desk does.
    """
    keys: set[str] = set()
    case: Case | None = None
    i = 0
    while i < len(events):
        together = [events[i]]
        following = events[i + 1] if i + 1 < len(events) else None
        if (events[i].kind is EventKind.BREACHED and following is not None
                and following.kind is EventKind.ESCALATED and following.actor is None
                and following.at == events[i].at):
            together.append(following)
        for event in together:
            case = apply(case, event)
        assert case is not None
        keys |= {n.key for n in plan(chosen, case, together)}
        i += len(together)
    return keys


def trail(desk: Desk) -> dict[str, list[Event]]:
    """Every event of the store by case, in sequence order; fails if a (case, seq) repeats."""
    events = list(desk.events())
    pairs = Counter((e.case_id, e.seq) for e in events)
    doubled = [pair for pair, n in pairs.items() if n > 1]
    assert not doubled, f"events stored twice: {doubled[:10]}"
    by_case: dict[str, list[Event]] = {}
    for event in sorted(events, key=lambda e: (e.case_id, e.seq)):
        by_case.setdefault(event.case_id, []).append(event)
    return by_case


def assert_timer_events_once(by_case: dict[str, list[Event]]) -> None:
    """No timer fired twice: (case, kind, tier before, at) is unique among library events."""
    fired = Counter((e.case_id, e.kind, e.tier_before, e.at)
                    for events in by_case.values() for e in events
                    if e.actor is None and (e.kind in TIMER_KINDS or e.kind is EventKind.ESCALATED))
    doubled = [key for key, n in fired.items() if n > 1]
    assert not doubled, f"timers fired twice: {doubled[:10]}"
