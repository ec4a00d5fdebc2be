"""The default authorization policy: who may do what to a case.

The owner and the members (and lead) of the case's tier act on it; only the tier lead
assigns; only the tier lead returns an agent's case to the queue (`remove_agent`); the
contact may reopen; administrators may do anything; anyone may add a note or open a case.
The `escalate_authorize` hook can replace or tighten these rules.
"""

from __future__ import annotations

from .lifecycle import SYSTEM_ACTIONS
from .model import Action, Agent, Case, Queue
from .policy import Policy, Tier

__all__ = ["default_decision", "explain_refusal"]



def default_decision(policy: Policy, case: Case | None, action: Action,
                     actor: str | None) -> bool:
    """True when the default rules let `actor` perform `action` on `case`."""
    if action is Action.RETURN:  # remove_agent, set_available: never anonymous
        return actor is not None and (actor in policy.admins or (
            case is not None and (_leads_tier(policy, case, actor)
                                  or case.owner == Agent(actor))))
    if action is Action.OPEN or action in SYSTEM_ACTIONS:
        return True
    if actor is None:  # the timer escalates with no actor; a customer rates with none
        return action in (Action.ESCALATE, Action.RATE)
    if actor in policy.admins or action is Action.NOTE:
        return True
    if case is None:
        return False
    tier_ok = _works_in_tier(policy, case, actor)
    owns = case.owner == Agent(actor)
    if action is Action.CLAIM:
        return owns or (isinstance(case.owner, Queue) and tier_ok)
    if action is Action.ASSIGN:
        return _leads_tier(policy, case, actor)
    if action in (Action.REOPEN, Action.RATE):
        return owns or tier_ok or case.contact == actor
    return owns or tier_ok


def explain_refusal(policy: Policy, case: Case | None, action: Action, actor: str | None) -> str:
    """A sentence saying why `actor` may not act and who may."""
    who = "nobody (no actor given)" if actor is None else repr(actor)
    if case is None:
        return f"{who} may not {action.value}"
    tier = _tier_or_none(policy, case.tier)
    members = ", ".join(tier.members) if tier else ""
    if action is Action.ASSIGN:
        lead = tier.lead if tier and tier.lead else "(no lead defined)"
        return (f"{who} may not assign case {case.id!r}: only the lead of tier {case.tier!r} "
                f"({lead}) or an administrator assigns")
    if action is Action.RETURN:
        lead = tier.lead if tier and tier.lead else "(no lead defined)"
        admins = ", ".join(policy.admins) or "none defined"
        owner = case.owner.name if isinstance(case.owner, Agent) else str(case.owner)
        return (f"{who} may not remove {owner} and return case {case.id!r} to its queue: only "
                f"an administrator ({admins}), the lead of tier {case.tier!r} ({lead}) or "
                "the owner themself may; pass by= one of them")
    if action is Action.CLAIM and isinstance(case.owner, Agent):
        return (f"{who} may not claim case {case.id!r}: it is owned by {case.owner.name}; ask "
                f"them to transfer it, or the tier lead to assign it")
    return (f"{who} may not {action.value} case {case.id!r}: it is owned by {case.owner} in "
            f"tier {case.tier!r}; the owner, the tier's members ({members}) and its lead may")


def _tier_or_none(policy: Policy, name: str) -> Tier | None:
    try:
        return policy.tier(name)
    except KeyError:
        return None


def _works_in_tier(policy: Policy, case: Case, actor: str) -> bool:
    try:
        return policy.tier(case.tier).can_work(actor)
    except KeyError:
        return False


def _leads_tier(policy: Policy, case: Case, actor: str) -> bool:
    try:
        return policy.tier(case.tier).lead == actor
    except KeyError:
        return False
