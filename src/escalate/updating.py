"""Re-prioritising and re-classifying a case: what an `update` changes and which SLA follows.

`desk.update` records one `updated` event whose data holds the old and new values
(`before`, `after`) and the route that chose the SLA target. The clocks then move to the
new target keeping the business time already used (see `timing.next_clocks`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import inputs
from .errors import InvalidInput
from .model import Case
from .policy import Policy, Route

__all__ = ["attributes_of", "requested", "route_index", "sla_for", "update_data"]

#: Case attributes `update` may change, besides custom fields and the SLA it implies.
ATTRIBUTES = ("priority", "title", "channel", "category")


def requested(*, priority: object, title: object, channel: object, category: object,
              fields: object) -> dict[str, Any]:
    """The changes asked for, checked like `open` checks them (None means "leave as is")."""
    wanted: dict[str, Any] = {}
    for name, value in (("priority", priority), ("title", title), ("channel", channel),
                        ("category", category)):
        if value is not None:
            wanted[name] = inputs.text(value, name)
    if fields is not None:
        custom = inputs.custom_fields(fields)
        if custom:
            wanted["fields"] = custom
    if not wanted:
        raise InvalidInput("update needs at least one change: priority=, title=, channel=, "
                           "category= or fields=")
    return wanted


def attributes_of(case: Case, wanted: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What routes match on: custom fields, then the case attributes (which win on a clash)."""
    wanted = wanted or {}
    fields = {**case.fields, **wanted.get("fields", {})}
    values = {name: wanted.get(name, getattr(case, name)) for name in ATTRIBUTES}
    return {**fields, **values, "customer": case.customer}


def route_index(policy: Policy, route: Route) -> int | None:
    """The position of `route` among the policy's routes (None: chosen by a plugin)."""
    for i, candidate in enumerate(policy.routes):
        if candidate == route:
            return i
    return None


def sla_for(policy: Policy, route: Route, priority: str) -> str | None:
    """The SLA target a route and priority select; InvalidInput when the policy lacks it."""
    name = route.sla or priority
    if policy.sla and name not in policy.sla:
        raise InvalidInput(f"unknown priority {priority!r}; the policy defines "
                           f"{', '.join(policy.sla)}")
    return name if name in policy.sla else None


def update_data(case: Case, wanted: Mapping[str, Any], sla: str | None,
                route: int | None) -> dict[str, Any]:
    """The `updated` event's data: old and new value of every attribute that changes."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name in ATTRIBUTES:
        if name in wanted and wanted[name] != getattr(case, name):
            before[name], after[name] = getattr(case, name), wanted[name]
    changed_fields = {key: value for key, value in wanted.get("fields", {}).items()
                      if case.fields.get(key) != value}
    if changed_fields:
        before["fields"] = {key: case.fields.get(key) for key in changed_fields}
        after["fields"] = changed_fields
    if not after:
        raise InvalidInput(f"update changes nothing: case {case.id!r} already has those values")
    if sla != case.sla:
        before["sla"], after["sla"] = case.sla, sla
    return {"before": before, "after": after, "route": route}
