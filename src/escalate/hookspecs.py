"""Every hook escalate calls, documented in one place (project name "escalate").

Implement a hook by writing a function with the same name and (a subset of) the same
arguments, decorated with `escalate.hookimpl`, in a module or object you register with
`Desk(..., plugins=[...])` or publish under the `escalate` entry-point group.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .desk import Desk
    from .model import Action, Case, Event
    from .policy import Policy, Route
    from .stores.base import Notification, Store

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("escalate")
hookimpl = pluggy.HookimplMarker("escalate")


@hookspec(firstresult=True)
def escalate_open_store(url: str) -> Store | None:
    """Open the store for `url`.

    Called once when a Desk is created with a store URL. Return a `Store` if this plugin
    serves the URL's scheme (e.g. "postgresql://"), else None. The first non-None result
    wins; the built-in plugin serves "memory://" and "sqlite:///...".
    """


@hookspec(firstresult=True)
def escalate_authorize(policy: Policy, case: Case | None, action: Action,
                       actor: str | None) -> bool | None:
    """Decide whether `actor` may perform `action` on `case` (None while opening).

    Called before every action, after the case is loaded. Return True to allow, False to
    refuse (the desk raises NotAuthorized), or None to leave the decision to the next
    plugin. The first non-None result wins; the built-in default policy answers last.
    """


@hookspec(firstresult=True)
def escalate_route(policy: Policy, attributes: dict[str, Any]) -> Route | None:
    """Choose the ladder (and SLA target) for a new case.

    Called on every `open` and `update` with the case's `priority`, `channel`, `category`,
    `customer`, `title` and its custom fields. Return a `Route` to decide, or None to leave
    it to the policy's routes.
    The first non-None result wins.
    """


@hookspec(firstresult=True)
def escalate_assign(desk: Desk, case: Case, tier: str, candidates: list[str]) -> str | None:
    """Choose who gets a case that arrived in the queue of a tier with automatic assignment.

    Called when a case arrives in the queue of a tier whose `assign` is not "manual", with
    the available candidates (members, on call when the tier has a schedule) in member
    order. Return one of `candidates` (by skills, language, customer affinity...), or None
    to let the tier's strategy choose. A name not among the candidates, or a plugin that
    raises, is logged and the strategy chooses instead. The first non-None result wins.
    """


@hookspec
def escalate_event_committed(desk: Desk, case: Case, event: Event) -> None:
    """Observe an event after it was committed (metrics, logging, search indexing).

    Called once per event, after the transaction that wrote it, with the case as it is
    after the event. The return value is ignored. An observer that raises is logged and
    does not stop the other observers or the action.
    """


@hookspec(firstresult=True)
def escalate_deliver(notification: Notification) -> bool | None:
    """Deliver one notification on `notification.channel`.

    Called by `Desk.dispatch` for each due outbox row. Return True once delivered, or None
    when this plugin does not serve the channel. Raise to report a failed attempt: the row
    is retried with backoff and dead-lettered after the configured number of attempts.
    The first non-None result wins.
    """
