"""The built-in plugin: memory and SQLite stores, default authorization, the log notifier.

It registers through the same hooks as outside plugins, so it is also their example.
"""

from __future__ import annotations

import logging

from .authz import default_decision
from .hookspecs import hookimpl
from .model import Action, Case
from .policy import Policy
from .stores.base import Notification, Store
from .stores.memory import MemoryStore
from .stores.sqlite import SqliteStore

__all__ = [
    "escalate_authorize",
    "escalate_deliver",
    "escalate_open_store",
    "sqlite_path",
]

notification_log = logging.getLogger("escalate.notify")


def sqlite_path(url: str) -> str:
    """The file path of a SQLAlchemy-style SQLite URL ("sqlite:///rel.db", "sqlite:////abs.db")."""
    rest = url[len("sqlite:"):]
    if rest in ("", "//", "///:memory:"):
        return ":memory:"
    if not rest.startswith("///"):
        raise ValueError(f"SQLite URL {url!r} must look like sqlite:///relative.db or "
                         "sqlite:////absolute/path.db")
    path = rest[3:]
    return path or ":memory:"


@hookimpl(trylast=True)
def escalate_open_store(url: str) -> Store | None:
    """Serve memory:// and sqlite:/// URLs."""
    if url.startswith("memory:"):
        return MemoryStore(url)
    if url.startswith("sqlite:"):
        return SqliteStore(sqlite_path(url), url=url)
    return None


@hookimpl(trylast=True)
def escalate_authorize(policy: Policy, case: Case | None, action: Action,
                       actor: str | None) -> bool | None:
    """The default rules of escalate.authz."""
    return default_decision(policy, case, action, actor)


@hookimpl(trylast=True)
def escalate_deliver(notification: Notification) -> bool | None:
    """Deliver notifications on the "log" channel to the escalate.notify logger."""
    if notification.channel != "log":
        return None
    notification_log.info("to %s: %s", notification.recipient, notification.subject)
    return True
