"""A dispatcher that stalls past its claim: its outcome is refused, every attempt is counted."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from escalate import Desk, ManualClock, Notification, Policy, hookimpl
from escalate.outbox import lease_for


class _Overtaken:
    """Delivers, but while it does, a second dispatcher claims the row (the first stalled)."""

    def __init__(self) -> None:
        self.desk: Desk | None = None
        self.taken: list[Notification] = []

    @hookimpl
    def escalate_deliver(self, notification: Notification) -> bool | None:
        assert self.desk is not None
        if not self.taken:
            later = self.desk.clock.now() + lease_for(self.desk.policy.notifications)
            self.taken += self.desk.store.claim_notifications(later, 1, timedelta(minutes=5))
        return True


def test_a_stale_outcome_is_not_recorded_and_both_attempts_count(url: str,
                                                                  policy: Policy) -> None:
    notifier = _Overtaken()
    with Desk(policy, store=url, clock=ManualClock(), plugins=[notifier],
              autoload_plugins=False) as desk:
        notifier.desk = desk
        case = desk.open(title="t", customer="c", channel="phone", by="ana")
        first = desk.outbox(case_id=case.id)[0]
        outcomes = desk.dispatch(limit=1)
        (taken,) = notifier.taken
        assert taken.key == first.key and (taken.attempts, taken.lease_id) == (2, 2)
        assert outcomes == [], "the first dispatcher's outcome was refused"
        stored = next(n for n in desk.outbox() if n.key == first.key)
        assert (stored.status, stored.attempts, stored.lease_id) == ("pending", 2, 2)
        assert desk.store.update_notification(attrs.evolve(taken, status="delivered",
                                                           delivered_at=desk.clock.now()))
        stored = next(n for n in desk.outbox() if n.key == first.key)
        assert (stored.status, stored.attempts) == ("delivered", 2)


def test_a_claim_outlasts_the_attempt_time_limit(policy: Policy) -> None:
    settings = attrs.evolve(policy.notifications, lease=timedelta(seconds=1),
                            timeout=timedelta(seconds=30))
    assert lease_for(settings) == timedelta(minutes=1)
    longer = attrs.evolve(settings, lease=timedelta(minutes=5))
    assert lease_for(longer) == timedelta(minutes=5)


@pytest.mark.parametrize("attempts", [0, 3])
def test_a_revived_dead_letter_keeps_its_lease_id(url: str, policy: Policy,
                                                  attempts: int) -> None:
    with Desk(policy, store=url, clock=ManualClock(), autoload_plugins=False) as desk:
        case = desk.open(title="t", customer="c", channel="phone", by="ana")
        row = desk.outbox(case_id=case.id)[0]
        (claimed,) = desk.store.claim_notifications(desk.clock.now(), 1, timedelta(minutes=5))
        assert desk.store.update_notification(attrs.evolve(claimed, status="dead",
                                                           attempts=claimed.attempts + attempts))
        revived = desk.retry_notification(row.key)
        assert (revived.status, revived.attempts, revived.lease_id) == ("pending", 0, 1)
        stored = next(n for n in desk.outbox() if n.key == row.key)
        assert (stored.status, stored.attempts, stored.lease_id) == ("pending", 0, 1)
