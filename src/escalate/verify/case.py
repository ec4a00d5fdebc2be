"""The invariants of one case: owned, events gap-free, chain intact, replay equals state."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from ..chain import chain_problem
from ..fold import rebuild
from ..model import Agent, Case, Event, Queue
from .problem import Problem

__all__ = ["check_case"]


def check_case(case: Case | None, events: list[Event], case_id: str, *,
               key: bytes | None = None) -> list[Problem]:
    """The problems of one case given its stored row and its stored events.

    `key` is the chain key (see `escalate.chain`); without it, keyed events are reported as
    not checkable.
    """
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
    broken = chain_problem(events, key)
    if broken:
        found(*broken)
    elif case.last_hash != events[-1].hash:
        found("tampered", "the case row's last_hash is not the hash of its last event: "
                          "events were removed from the end")
    _check_replay(case, events, found)
    return problems


def _check_replay(case: Case, events: list[Event], found: Callable[[str, str], None]) -> None:
    try:
        replayed = rebuild(events)
    except Exception as exc:  # a damaged event must become a problem, whatever it raises
        found("replay", f"events do not replay: {exc}")
        return
    if replayed != case:
        differing = [a.name for a in attrs.fields(Case)
                     if getattr(replayed, a.name) != getattr(case, a.name)]
        found("replay", f"replaying the events differs from the stored case in "
                        f"{', '.join(differing)}")
