"""Delivering the outbox: claim due rows one at a time, hand each to the notifier hooks,
record the outcome.

Each row is claimed just before it is sent, for `lease_for(settings)`: longer than the
attempt's time limit, so no other dispatcher takes a row while its send is in flight. The
claim counts the attempt and bumps the row's lease id, the fencing token that the outcome
must still match to be stored. A failed attempt is retried with exponential backoff and
jitter; after the policy's `max_attempts` the row is dead-lettered, stays listed, and can
be retried by hand.
"""

from __future__ import annotations

import concurrent.futures
import logging
import random
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import attrs

from .policy import NotificationSettings
from .stores.base import Notification, Store

__all__ = ["DEAD", "DELIVERED", "PENDING", "backoff_delay", "deliver_due", "lease_for"]

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


def lease_for(settings: NotificationSettings) -> timedelta:
    """How long one claim holds a row: the `lease`, or twice the `timeout` if that is longer.

    A dispatcher gives up on an attempt after `timeout`, so a row is never handed to another
    dispatcher while a send of it is still awaited, however short the `lease`.
    """
    return max(settings.lease, settings.timeout * 2)


def _outcome(note: Notification, error: str | None, settings: NotificationSettings,
             now: datetime, rng: random.Random) -> Notification:
    """The row after one attempt (already counted in `note.attempts` by the claim)."""
    attempts = note.attempts
    if error is None:
        return attrs.evolve(note, status=DELIVERED, delivered_at=now, last_error=None)
    if error.startswith("permanent: ") or attempts >= settings.max_attempts:
        log.error("notification %s dead-lettered after %d attempts: %s", note.key,
                  attempts, error)
        return attrs.evolve(note, status=DEAD, last_error=error)
    retry_at = now + backoff_delay(settings, attempts, rng)
    log.warning("notification %s failed (attempt %d of %d), retry at %s: %s",
                note.key, attempts, settings.max_attempts, retry_at.isoformat(), error)
    return attrs.evolve(note, last_error=error, next_attempt_at=retry_at)


def deliver_due(store: Store, deliver: Deliver, settings: NotificationSettings,
                now: Callable[[], datetime], rng: random.Random, limit: int = 100,
                stop: threading.Event | None = None) -> list[Notification]:
    """Claim and attempt due rows one at a time (up to `limit`); returns them with their outcome.

    `now` is read before each claim and after each attempt. When `stop` is set, no further
    row is claimed. An outcome the store refuses (the row was claimed again meanwhile, which
    only happens when this dispatcher stalled past its claim) is logged and left out.
    """
    outcomes: list[Notification] = []
    hold = lease_for(settings)
    for _ in range(limit):
        if stop is not None and stop.is_set():
            break
        claimed = store.claim_notifications(now(), 1, hold)
        if not claimed:
            break
        note = claimed[0]
        updated = _outcome(note, _attempt(deliver, note, settings.timeout), settings, now(),
                           rng)
        if not store.update_notification(updated):
            log.warning("notification %s: attempt %d outlived its lease and another "
                        "dispatcher claimed the row; its outcome was not recorded",
                        note.key, note.attempts)
            continue
        outcomes.append(updated)
    return outcomes
