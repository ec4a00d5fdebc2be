"""Cases left in a tier the policy does not have: their timers are kept, and verify says so.

A desk fires only the timers of cases whose tier its policy has (docs/policy.md, "Changing
the policy"). A case in another tier, left by a policy edit or written by a desk on a newer
policy during a rolling deploy, keeps its timers stored and unfired. `verify` reports each
such case ("orphaned") with `stranded_help`; the worker logs each timer it kept.
"""

from __future__ import annotations

import logging

from .model import Case
from .policy import Policy

__all__ = ["log_kept", "stranded_help"]

log = logging.getLogger("escalate.desk")


def stranded_help(policy: Policy | None, case: Case) -> str:
    """Why a case in a tier the policy lacks does not fire, and the two ways to move it."""
    admins = policy.admins if policy is not None else ()
    who = (f"an administrator ({', '.join(admins)})" if admins
           else "an administrator (a name in the policy's `admins`)")
    admin = admins[0] if admins else "<admin>"
    version = f" {policy.version}" if policy is not None else ""
    return (f"case {case.id!r} is in tier {case.tier!r}, which policy{version} does "
            f"not have, so its timers are kept unfired; {who} moves it into a tier with "
            f"desk.transfer({case.id!r}, to=Queue('<tier>'), by={admin!r}, note=...), or "
            f"migrate with desk.change_policy(policy, migrate=True, "
            f"tier_map={{{case.tier!r}: '<tier>'}})")


def log_kept(kept: dict[tuple[str, str], Case], policy: Policy) -> None:
    """Say which due timers were left unfired, and why."""
    tiers = {tier.name for ladder in policy.ladders.values() for tier in ladder.tiers}
    for (case_id, clock), case in sorted(kept.items()):
        if case.tier in tiers:
            log.warning("timer %s of case %s kept unfired: it is stored earlier than its "
                        "clock is due; escalate verify reports it", clock, case_id)
        else:
            log.warning("timer %s of case %s kept unfired: tier %r is not in policy %s; a "
                        "desk whose policy has the tier fires it, or move the case (escalate "
                        "verify says how)", clock, case_id, case.tier, policy.version)
