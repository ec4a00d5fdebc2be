"""Property: whatever the actions and notifier failures, every notification the policy calls
for is delivered exactly once per dedupe key or dead-lettered, and none disappears."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalate import Desk, EscalateError, ManualClock, Notification, Policy, hookimpl
from escalate.fold import apply
from escalate.model import Case, EventKind
from escalate.notify import plan
from escalate.testing import STANDARD_POLICY

MAX_ATTEMPTS = 4
POLICY = Policy.from_dict({
    **STANDARD_POLICY,
    "notifications": {"channels": ["flaky"], "max_attempts": MAX_ATTEMPTS, "backoff": "1s",
                      "max_backoff": "8s", "timeout": "0.2s"},
})


class Flaky:
    """Fails each recipient's messages a set number of times, in a set way, then delivers."""

    def __init__(self, failures: dict[str, tuple[int, str]]) -> None:
        self.failures = failures
        self.attempts: Counter[str] = Counter()
        self.delivered: Counter[str] = Counter()
        self.lock = threading.Lock()

    @hookimpl
    def escalate_deliver(self, notification: Notification) -> bool | None:
        if notification.channel != "flaky":
            return None
        with self.lock:
            self.attempts[notification.key] += 1
            attempt = self.attempts[notification.key]
        times, how = self.failures.get(notification.recipient, (0, "raise"))
        if attempt <= times:
            if how == "hang":
                time.sleep(0.3)
                return True  # too late: the outbox has already counted a failed attempt
            if how == "decline":
                return None
            raise ConnectionError(f"transport down for {notification.recipient}")
        with self.lock:
            self.delivered[notification.key] += 1
        return True


ACTIONS = st.sampled_from(["open", "claim", "transfer", "escalate", "resolve", "note", "tick"])
PEOPLE = ["ana", "bo", "cy", "dan", "dee"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.tuples(ACTIONS, st.integers(0, 9)), min_size=1, max_size=25),
       failures=st.dictionaries(st.sampled_from(PEOPLE),
                                st.tuples(st.integers(0, MAX_ATTEMPTS + 1),
                                          st.sampled_from(["raise", "decline", "raise",
                                                           "hang"])),
                                max_size=5))
def test_every_notification_is_delivered_once_or_dead_lettered(
        steps: list[tuple[str, int]], failures: dict[str, tuple[int, str]]) -> None:
    hangs = sum(1 for _, how in failures.values() if how == "hang")
    if hangs > 1:
        failures = {k: v for k, v in failures.items() if v[1] != "hang"}
    notifier = Flaky(failures)
    clock = ManualClock()
    desk = Desk(POLICY, store="memory://", clock=clock, plugins=[notifier],
                autoload_plugins=False)
    for action, pick in steps:
        cases = list(desk.cases(status=("open", "active")))
        try:
            if action == "open" or not cases:
                desk.open(title="t", customer="c", channel="phone", by=PEOPLE[pick % 2])
            elif action == "tick":
                desk.tick()
            else:
                case = cases[pick % len(cases)]
                tier = POLICY.tier(case.tier)
                actor = tier.members[pick % len(tier.members)]
                if action == "transfer":
                    desk.transfer(case.id, to=tier.members[(pick + 1) % len(tier.members)],
                                  by=actor, note="handoff")
                elif action == "resolve":
                    desk.resolve(case.id, by=actor, resolution="done")
                elif action == "note":
                    desk.note(case.id, "n", by=actor)
                else:
                    getattr(desk, action)(case.id, by=actor)
        except EscalateError:
            pass
        desk.dispatch()
        clock.advance(timedelta(seconds=pick))
    for _ in range(MAX_ATTEMPTS + 3):  # let every retry fall due
        clock.advance(timedelta(seconds=60))
        desk.dispatch()

    rows = {n.key: n for n in desk.outbox()}
    expected: set[str] = set()
    for case in desk.cases():
        state: Case | None = None
        for event in desk.history(case.id):
            state = apply(state, event)
            if event.kind is not EventKind.BREACHED:
                expected |= {n.key for n in plan(POLICY, state, [event])}
    assert expected <= set(rows), "a notification the policy calls for is missing"
    for key, row in rows.items():
        assert row.status in ("delivered", "dead"), f"{key} is still {row.status}"
        if row.status == "delivered":
            assert notifier.delivered[key] == 1, f"{key} delivered {notifier.delivered[key]}x"
        else:
            assert notifier.delivered[key] == 0
            assert row.attempts == MAX_ATTEMPTS and row.last_error
        times, how = failures.get(row.recipient, (0, "raise"))
        should_die = times >= MAX_ATTEMPTS
        assert (row.status == "dead") == should_die, (key, row.status, times, how)
