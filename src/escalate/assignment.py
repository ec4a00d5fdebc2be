"""Who gets a case that arrives in a tier's queue, and who is available to be told or given one.

Pure decisions: the desk reads the roster (availability trail) and loads from the store,
then asks these functions who the candidates are and which of them to choose.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from .errors import InvalidInput, NotAuthorized
from .policy import ASSIGN_STRATEGIES, Policy, Tier
from .stores.base import AvailabilityChange

__all__ = ["STRATEGIES", "authorize_availability", "away_around", "candidates", "choose",
           "claim_callees", "unavailable"]

#: How a tier hands out cases that arrive in its queue (tier key `assign`).
STRATEGIES = ASSIGN_STRATEGIES


def unavailable(latest: Mapping[str, AvailabilityChange], at: datetime) -> frozenset[str]:
    """Agents whose latest availability change leaves them unavailable at `at`."""
    return frozenset(name for name, change in latest.items() if not change.available_at(at))


def away_around(trail: list[AvailabilityChange], at: datetime) -> frozenset[str]:
    """Agents unavailable just before or at `at`, by an availability trail (oldest first).

    Both sides of `at` count, so that an event recorded in the same instant as an
    availability change is judged by either state, as the desk may have written it.
    """
    before: dict[str, AvailabilityChange] = {}
    upto: dict[str, AvailabilityChange] = {}
    for change in trail:
        if change.at < at:
            before[change.agent] = change
        if change.at <= at:
            upto[change.agent] = change
    return unavailable(before, at) | unavailable(upto, at)


def candidates(policy: Policy, tier: Tier, at: datetime, away: frozenset[str]) -> list[str]:
    """Who may be given a case of `tier` at `at`: members (on call, with a schedule), present.

    The lead is a candidate only when the tier has no other member, or when the schedule
    puts the lead on call. Order is the tier's member order, so choices are reproducible.
    """
    pool = list(tier.members) or ([tier.lead] if tier.lead else [])
    if tier.on_call is not None:
        called = set(policy.on_call(tier.name, at))
        pool = [name for name in dict.fromkeys([*tier.members, *([tier.lead] if tier.lead
                                                                  else [])])
                if name in called]
    return [name for name in pool if name not in away]


def claim_callees(policy: Policy, tier: Tier, at: datetime, alert: int,
                  away: frozenset[str]) -> list[str]:
    """Whom re-alert number `alert` (1, 2...) of an unclaimed arrival calls.

    The first goes to the next person in the tier's schedule (who comes on call at the next
    hand-off); later ones, or when there is no such person, to the tier lead; with no lead
    present, to every present member. A tier without a schedule calls its members first.
    """
    members = [name for name in tier.members if name not in away]
    lead = [tier.lead] if tier.lead and tier.lead not in away else []
    if alert == 1:
        if tier.on_call is None:
            return members or lead
        schedule = policy.schedules[tier.on_call]
        now_on = set(schedule.on_call(at, policy.calendars))
        handoff = schedule.next_handoff(at, policy.calendars)
        upcoming = [] if handoff is None else schedule.on_call(handoff, policy.calendars)
        following = [name for name in upcoming if name not in now_on and name not in away]
        if following:
            return following
    return lead or members


def choose(strategy: str, pool: list[str], *, turn: Callable[[], int],
           load: Callable[[str], int]) -> str:
    """The candidate `strategy` picks: `turn()` counts round-robin turns, `load(name)` cases."""
    if not pool:
        raise ValueError("no candidate to choose from")
    if strategy == "round_robin":
        return pool[turn() % len(pool)]
    if strategy == "least_loaded":
        loads = {name: load(name) for name in pool}
        return min(pool, key=lambda name: loads[name])  # ties: member order
    raise ValueError(f"unknown assignment strategy {strategy!r}")


def authorize_availability(policy: Policy, name: str, actor: str) -> None:
    """Refuse unless `actor` is `name`, a lead of one of `name`'s tiers, or an administrator."""
    if name not in policy.agents():
        raise InvalidInput(f"unknown agent {name!r}: not a member, lead or administrator in "
                           "the policy")
    if actor == name or actor in policy.admins:
        return
    if any(tier.lead == actor for tier in policy.tiers_of(name)):
        return
    leads = sorted({t.lead for t in policy.tiers_of(name) if t.lead})
    raise NotAuthorized(f"{actor!r} may not change the availability of {name!r}: only "
                        f"{name} themself, their tier lead ({', '.join(leads) or 'none'}) or "
                        "an administrator may", actor=actor, action="set_available")
