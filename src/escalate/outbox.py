"""Delivering the outbox: lease due rows, hand each to the notifier hooks, record the outcome.

A failed attempt is retried with exponential backoff and jitter; after the policy's
`max_attempts` the row is dead-lettered, stays listed, and can be retried by hand.
"""

from __future__ import annotations

import concurrent.futures
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

import attrs

from .policy import NotificationSettings
from .stores.base import Notification, Store

__all__ = ["DEAD", "DELIVERED", "PENDING", "backoff_delay", "deliver_due"]

log = logging.getLogger("escalate.outbox")

PENDING = "pending"
DELIVERED = "delivered"
DEAD = "dead"

#: Delivers one notification: True when done, None when no notifier serves the channel.
Deliver = Callable[[Notification], "bool | None"]

_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="escalate-notify")


def backoff_delay(settings: NotificationSettings, attempts: int, rng: random.Random) -> timedelta:
    """How long to wait after `attempts` failures: doubling from `backoff`, capped, jittered."""
    base = settings.backoff * (2 ** max(attempts - 1, 0))
    capped: timedelta = min(base, settings.max_backoff)
    return capped * (0.5 + rng.random() / 2)


def _attempt(deliver: Deliver, note: Notification, timeout: timedelta) -> str | None:
    """Run one delivery with a time limit; None on success, else the error text."""
    future = _POOL.submit(deliver, note)
    try:
        result = future.result(timeout=timeout.total_seconds())
    except concurrent.futures.TimeoutError:
        return f"notifier did not answer within {timeout.total_seconds():g}s"
    except Exception as exc:
        text = f"{type(exc).__name__}: {exc}"
        return f"permanent: {text}" if getattr(exc, "permanent", False) else text
    if result is None:
        return f"no installed notifier serves channel {note.channel!r}"
    return None


def deliver_due(store: Store, deliver: Deliver, settings: NotificationSettings, now: datetime,
                rng: random.Random, limit: int = 100) -> list[Notification]:
    """Lease and attempt every due row (up to `limit`); returns the rows with their outcome."""
    outcomes: list[Notification] = []
    for note in store.claim_notifications(now, limit, settings.lease):
        error = _attempt(deliver, note, settings.timeout)
        attempts = note.attempts + 1
        if error is None:
            updated = attrs.evolve(note, status=DELIVERED, attempts=attempts,
                                   delivered_at=now, last_error=None)
        elif error.startswith("permanent: ") or attempts >= settings.max_attempts:
            updated = attrs.evolve(note, status=DEAD, attempts=attempts, last_error=error)
            log.error("notification %s dead-lettered after %d attempts: %s", note.key,
                      attempts, error)
        else:
            retry_at = now + backoff_delay(settings, attempts, rng)
            updated = attrs.evolve(note, attempts=attempts, last_error=error,
                                   next_attempt_at=retry_at)
            log.warning("notification %s failed (attempt %d of %d), retry at %s: %s",
                        note.key, attempts, settings.max_attempts, retry_at.isoformat(), error)
        store.update_notification(updated)
        outcomes.append(updated)
    return outcomes
