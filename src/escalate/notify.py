"""Who is told about an event, on which channel, and with what message.

`plan` turns one committed event into outbox rows; the desk writes them in the same
transaction as the event, so an event never exists without its notifications.
"""

from __future__ import annotations

from collections.abc import Iterable

from .model import Agent, Case, Event, EventKind
from .policy import DEFAULT_TEMPLATE, Policy, Tier
from .stores.base import Notification

__all__ = ["HEADLINES", "on_call_data", "outbox_key", "plan", "recipients"]

#: One line per event kind, used as the notification's headline.
HEADLINES: dict[EventKind, str] = {
    EventKind.OPENED: "new case in {tier}",
    EventKind.CLAIMED: "claimed by {actor}",
    EventKind.RESPONDED: "{actor} responded to the customer",
    EventKind.TRANSFERRED: "transferred to {owner} by {actor}",
    EventKind.ESCALATED: "escalated to {tier}",
    EventKind.ASSIGNED: "assigned to {owner} by {actor}",
    EventKind.WAITED: "waiting: {reason}",
    EventKind.RESUMED: "work resumed",
    EventKind.RESOLVED: "resolved: {reason}",
    EventKind.REOPENED: "reopened",
    EventKind.CLOSED: "closed",
    EventKind.NOTED: "note from {actor}",
    EventKind.WARNED: "deadline close: {reason}",
    EventKind.BREACHED: "commitment missed: {reason}",
    EventKind.REALERTED: "{reason}",
    EventKind.RETURNED: "returned to the {tier} queue",
    EventKind.RATED: "rated by the customer: {reason}",
    EventKind.UPDATED: "updated by {actor}: {reason}",
}

_CUSTOMER_KINDS = frozenset({EventKind.OPENED, EventKind.WAITED, EventKind.RESOLVED,
                             EventKind.REOPENED, EventKind.CLOSED})


def _key_part(text: str) -> str:
    """`text` with "%" and ":" percent-encoded, so that it never contains the separator."""
    return text.replace("%", "%25").replace(":", "%3A")


def outbox_key(case_id: str, seq: int, recipient: str, channel: str) -> str:
    """The outbox key of one message: "case:seq:recipient:channel", each part escaped.

    "%" and ":" inside a part are written "%25" and "%3A", so two different messages never
    share a key (case "T" telling "1:bo" and case "T:1" telling "bo" differ). A key whose
    parts hold neither character reads as before the escaping was introduced.
    """
    return ":".join((_key_part(case_id), str(seq), _key_part(recipient), _key_part(channel)))


def _tier(policy: Policy, name: str | None) -> Tier | None:
    if name is None:
        return None
    try:
        return policy.tier(name)
    except KeyError:
        return None


#: Events that call a tier's people to a case; with a schedule, only who is on call is told.
_CALLS = frozenset({EventKind.OPENED, EventKind.RETURNED, EventKind.ESCALATED,
                    EventKind.WARNED, EventKind.BREACHED, EventKind.REALERTED})


def on_call_data(policy: Policy, case: Case, event: Event,
                 away: frozenset[str] = frozenset()) -> dict[str, list[str]]:
    """`{"on_call": [...]}` for an event that calls a scheduled tier, else `{}`.

    The names are who the tier's schedule puts on call at the event's time; the desk stores
    them in the event so the trail says who was called, whatever the schedule says later.
    """
    tier = _tier(policy, case.tier)
    if tier is None or tier.on_call is None or event.kind not in _CALLS:
        return {}
    return {"on_call": [name for name in policy.on_call(tier.name, event.at)
                        if name not in away]}


def _team(tier: Tier | None, event: Event | None = None,
          away: frozenset[str] = frozenset()) -> list[str]:
    """Who a tier's call goes to: whoever is on call, else the lead, else every member."""
    if tier is None:
        return []
    if tier.on_call is not None and event is not None:
        called = list(event.data.get("on_call") or [])
        if not called and tier.lead and tier.lead not in away:
            called = [tier.lead]
        if not called:
            called = list(tier.members)
        return [*called, *tier.notify]
    return [*tier.members, *([tier.lead] if tier.lead else []), *tier.notify]


def _owner_side(policy: Policy, case: Case, event: Event,
                away: frozenset[str] = frozenset()) -> list[str]:
    if isinstance(case.owner, Agent):
        return [case.owner.name]
    return _team(_tier(policy, case.tier), event, away)


def recipients(policy: Policy, case: Case, event: Event,
               away: frozenset[str] = frozenset()) -> list[str]:
    """Agents to tell about `event`: never its actor, never an agent in `away` (unavailable)."""
    kind = event.kind
    names: list[str] = []
    tier = _tier(policy, case.tier)
    if kind in (EventKind.OPENED, EventKind.RETURNED):
        names += _team(tier, event, away)
        if isinstance(event.owner_before, Agent):
            names.append(event.owner_before.name)
    elif kind in (EventKind.ESCALATED, EventKind.TRANSFERRED, EventKind.ASSIGNED):
        names += _owner_side(policy, case, event, away)
        if kind is EventKind.ESCALATED:
            names += _team(tier, event, away)
        if isinstance(event.owner_before, Agent):
            names.append(event.owner_before.name)
        left = _tier(policy, event.tier_before)
        if event.data.get("clock") == "idle" and left is not None and left.lead:
            names.append(left.lead)  # the lead of the tier an idle case left hears of it
    elif kind in (EventKind.WARNED, EventKind.BREACHED, EventKind.UPDATED):
        names += _owner_side(policy, case, event, away)
        if tier is not None and tier.on_call is not None:
            names += _team(tier, event, away)
        elif tier is not None and tier.lead:
            names.append(tier.lead)
    elif kind is EventKind.REALERTED and event.data.get("clock") == "claim":
        names += list(event.data.get("called") or [])
    elif kind is EventKind.REALERTED:
        if tier is not None and tier.on_call is not None:
            names += _team(tier, event, away)
        else:
            names += [tier.lead] if tier is not None and tier.lead else _team(tier)
        clock = case.clock("tier")
        if tier is not None and clock is not None and clock.alerts >= 2:
            names += tier.last_resort
    elif kind is EventKind.REOPENED:
        names += _owner_side(policy, case, event, away)
    if case.contact:
        names.append(case.contact)  # the contact hears of every change
    return [name for name in dict.fromkeys(names)
            if name and name != event.actor and name not in away]


def _fields(case: Case, event: Event, recipient: str) -> dict[str, str]:
    owner = case.owner.name if isinstance(case.owner, Agent) else f"{case.owner.name} queue"
    values = {
        "case_id": case.id, "title": case.title, "kind": event.kind.value,
        "priority": case.priority, "channel": case.channel, "customer": case.customer,
        "status": case.status.value, "owner": owner, "tier": case.tier,
        "at": event.at.isoformat(timespec="minutes"), "actor": event.actor or "escalate",
        "reason": event.reason or "", "recipient": recipient,
        "reason_line": f"Note: {event.reason}" if event.reason else "",
    }
    values["headline"] = HEADLINES[event.kind].format_map(values)
    return values


def _render(policy: Policy, case: Case, event: Event, recipient: str,
            channel: str) -> Notification:
    template = policy.notifications.templates.get(event.kind.value, DEFAULT_TEMPLATE)
    values = _fields(case, event, recipient)
    return Notification(
        key=outbox_key(case.id, event.seq, recipient, channel), case_id=case.id, seq=event.seq,
        recipient=recipient, channel=channel, subject=template.subject.format_map(values),
        body=template.body.format_map(values).rstrip() + "\n", created_at=event.at,
        next_attempt_at=event.at,
    )


def plan(policy: Policy, case: Case, events: Iterable[Event],
         away: frozenset[str] = frozenset()) -> tuple[Notification, ...]:
    """The outbox rows for `events`, rendered against `case` as it is after them.

    Agents in `away` (unavailable now) are not told.
    """
    settings = policy.notifications
    rows: list[Notification] = []
    for event in events:
        for name in recipients(policy, case, event, away):
            rows += [_render(policy, case, event, name, channel)
                     for channel in settings.channels_for(name)]
        if settings.notify_customer and event.kind in _CUSTOMER_KINDS:
            rows.append(_render(policy, case, event, case.customer, settings.customer_channel))
    return tuple(rows)

