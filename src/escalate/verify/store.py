"""Walk a whole store case by case and collect every problem; never raise on a damaged row."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Set
from datetime import datetime, timedelta

import attrs

from ..assignment import away_around
from ..chain import KEYED_PREFIX, chain_key
from ..errors import StorageError
from ..model import Case, Event, Status
from ..policy import Policy
from ..stores.base import AvailabilityChange, Store
from ..stranded import stranded_help
from .anchor import Anchor, compare
from .case import check_case
from .outbox import check_outbox
from .problem import Problem
from .rows import decode_case, decode_events
from .timers import check_timers, overdue

__all__ = ["verify_store"]


@attrs.define
class _Context:
    """What every case's check needs, and what the walk learns about keyed writing."""

    store: Store
    policy: Policy | None
    tiers: Set[str] | None
    key: bytes | None
    overdue_before: datetime | None
    registered: set[str] | None
    roster: list[AvailabilityChange] = attrs.field(factory=list)
    keyed_since: datetime | None = None
    unkeyed: list[tuple[str, datetime]] = attrs.field(factory=list)


def verify_store(store: Store, *, now: datetime | None = None,
                 grace: timedelta = timedelta(minutes=5), tiers: Set[str] | None = None,
                 progress: Callable[[int], None] | None = None, policy: Policy | None = None,
                 key: bytes | None = None, expect: Anchor | None = None) -> Iterator[Problem]:
    """Yield every problem found in the store, case by case, then store-wide ones.

    With `now`, a timer still stored more than `grace` after its due time is reported as
    overdue. With `tiers` (or `policy`), an unclosed case in another tier is reported. With
    `policy`, stored timers and outbox rows are checked against what each case calls for.
    `key` is the chain key (default: `ESCALATE_CHAIN_KEY`); `expect` a digest the store must
    still match. A damaged row is reported as a problem; only a failing database raises.
    """
    if tiers is None and policy is not None:
        tiers = {tier.name for ladder in policy.ladders.values() for tier in ladder.tiers}
    try:
        roster = store.availability()
    except Exception as exc:  # a damaged roster row: report it, judge outbox rows without it
        roster = []
        yield Problem("", "damaged", f"the availability trail could not be read: "
                                     f"{type(exc).__name__}: {exc}")
    context = _Context(store, policy, tiers, key if key is not None else chain_key(),
                       None if now is None else now - grace, store.registered_ids(), roster)
    for count, case_id in enumerate(store.inspect_case_ids(), start=1):
        try:
            yield from _check(context, case_id)
        except StorageError:
            raise
        except Exception as exc:  # a last resort: verify reports, it does not crash
            yield Problem(case_id, "damaged", f"the case could not be checked: "
                                              f"{type(exc).__name__}: {exc}")
        if progress is not None:
            progress(count)
    if context.keyed_since is not None:
        for case_id, last in context.unkeyed:
            if last > context.keyed_since:
                yield Problem(case_id, "unkeyed", "no event of the case is sealed with the "
                              "chain key, yet it has events recorded after keyed sealing began "
                              "in this store: its trail was re-hashed without the key")
    if expect is not None:
        yield from compare(store, expect)


def _check(context: _Context, case_id: str) -> Iterator[Problem]:
    store = context.store
    row = store.inspect_case(case_id)
    case: Case | None = None
    if row is not None:
        case, found = decode_case(case_id, row)
        yield from found
    event_rows = store.inspect_events(case_id)
    events, found = decode_events(case_id, event_rows)
    yield from found
    intact = not found and case is not None
    if row is None:
        if context.registered is not None and case_id in context.registered:
            yield Problem(case_id, "deleted", "the case was stored (the case registry lists "
                                              "it) but its row is gone")
        elif event_rows:
            yield Problem(case_id, "lost", "the case has events but no stored row")
    elif case is not None:
        problems = check_case(case, events, case_id, key=context.key)
        intact = intact and not problems
        yield from problems
        if context.tiers is not None and case.status is not Status.CLOSED \
                and case.tier not in context.tiers:
            yield Problem(case_id, "orphaned", stranded_help(context.policy, case))
        _note_keying(context, case_id, events)
    timer_rows = store.inspect_timers(case_id)
    if row is None or case is not None:
        yield from check_timers(case_id, case, timer_rows, context.policy)
    if context.overdue_before is not None:
        yield from overdue(case_id, timer_rows, context.overdue_before)
    yield from check_outbox(case_id, events, store.inspect_outbox(case_id),
                            context.policy if intact else None,
                            away=lambda at: away_around(context.roster, at))


def _note_keying(context: _Context, case_id: str, events: list[Event]) -> None:
    """Remember when keyed sealing began, and the cases with no keyed event at all."""
    if context.key is None or not events:
        return
    keyed = [e.at for e in events if str(e.hash).startswith(KEYED_PREFIX)]
    if keyed:
        first = min(keyed)
        if context.keyed_since is None or first < context.keyed_since:
            context.keyed_since = first
    else:
        context.unkeyed.append((case_id, max(e.at for e in events)))
