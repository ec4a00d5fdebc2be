"""The outbox: rows written with their event, who is told of what, retries with backoff,
dead letters, time limits, unserved channels and templates, on both stores."""

from __future__ import annotations

import copy
import threading
import tomllib
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from escalate import Change, Desk, Event, ManualClock, Notification, Policy, hookimpl

ROOT = Path(__file__).resolve().parent.parent
MONDAY_9 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # 09:00 in Bucharest


def example_data() -> dict[str, Any]:
    with (ROOT / "examples" / "escalation.toml").open("rb") as file:
        return tomllib.load(file)


def policy_with(**notifications: Any) -> Policy:
    data = copy.deepcopy(example_data())
    data["notifications"] = notifications
    return Policy.from_dict(data)


@pytest.fixture(params=["memory", "sqlite"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'cases.db'}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY_9)


def make_desk(policy: Policy, url: str, clock: ManualClock, *plugins: object) -> Desk:
    return Desk(policy, store=url, clock=clock, plugins=plugins, autoload_plugins=False)


@pytest.fixture
def desk(url: str, clock: ManualClock) -> Iterator[Desk]:
    with make_desk(policy_with(channels=["log"]), url, clock) as made:
        yield made


def told(desk: Desk, case_id: str, seq: int) -> list[str]:
    return sorted(n.recipient for n in desk.outbox(case_id=case_id) if n.seq == seq)


def last_seq(desk: Desk, case_id: str) -> int:
    return desk.get(case_id).version


class Notifier:
    """Serves one channel; fails the first `failures` attempts of each row (or always)."""

    def __init__(self, channel: str = "email", failures: int = 0, *,
                 permanent: bool = False, hang: threading.Event | None = None) -> None:
        self.channel, self.failures, self.permanent, self.hang = (channel, failures,
                                                                  permanent, hang)
        self.attempts: Counter[str] = Counter()
        self.delivered: list[str] = []
        self.lock = threading.Lock()

    @hookimpl
    def escalate_deliver(self, notification: Notification) -> bool | None:
        if notification.channel != self.channel:
            return None
        with self.lock:
            self.attempts[notification.key] += 1
            attempt = self.attempts[notification.key]
        if self.hang is not None and attempt == 1:
            self.hang.wait(10)
        if attempt <= self.failures:
            error = ConnectionError(f"smtp refused attempt {attempt}")
            if self.permanent:
                error.permanent = True  # type: ignore[attr-defined]
            raise error
        with self.lock:
            self.delivered.append(notification.key)
        return True


# -- written with the event ------------------------------------------------------------------------


def test_notifications_are_committed_with_their_event(desk: Desk,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    changes: list[Change] = []
    original = desk.store.commit

    def recording(change: Change) -> None:
        changes.append(change)
        original(change)

    monkeypatch.setattr(desk.store, "commit", recording)
    case = desk.open(title="t", customer="c", channel="phone", by="ana")
    desk.claim(case.id, by="bo")
    desk.escalate(case.id, by="bo")
    assert len(changes) == 3
    for change in changes:
        (event,) = change.events
        assert change.notifications, f"{event.kind} told nobody"
        for row in change.notifications:
            assert (row.case_id, row.seq, row.created_at) == (event.case_id, event.seq,
                                                               event.at)
            assert row.key == f"{row.case_id}:{row.seq}:{row.recipient}:{row.channel}"
    stored = {n.key: n for n in desk.outbox(case_id=case.id)}
    committed = {n.key: n for change in changes for n in change.notifications}
    assert stored == committed
    assert all(n.status == "pending" and n.attempts == 0 for n in stored.values())


def test_a_refused_action_writes_no_notification(desk: Desk) -> None:
    case = desk.open(title="t", customer="c", channel="phone", by="ana")
    before = desk.outbox()
    with pytest.raises(Exception, match="may not claim"):
        desk.claim(case.id, by="zed")
    assert desk.outbox() == before


# -- who is told -------------------------------------------------------------------------------


def test_recipients_per_event_kind(desk: Desk, clock: ManualClock) -> None:
    case = desk.open(title="t", customer="c", channel="phone", by="dan")
    cid = case.id
    # opened: the first tier's team; the opener is the contact but is never told of their
    # own action
    assert told(desk, cid, 1) == ["ana", "bo"]
    desk.claim(cid, by="ana")
    assert told(desk, cid, 2) == ["dan"], "claim: only the contact hears of it"
    desk.transfer(cid, to="bo", by="ana", note="over to bo")
    assert told(desk, cid, 3) == ["bo", "dan"], "transfer: the new owner and the contact"
    desk.escalate(cid, by="bo", reason="needs a specialist")
    # escalation: the new tier (cy, dan and lead cy), the previous owner and the contact;
    # bo acted and is not told
    assert told(desk, cid, 4) == ["cy", "dan"]
    desk.assign(cid, to="dan", by="cy")
    assert told(desk, cid, 5) == ["dan"], "assign: the new owner (also the contact)"
    desk.note(cid, "called the customer", by="zed")
    assert told(desk, cid, 6) == ["dan"], "a note by anyone reaches the contact"
    desk.assign(cid, to="cy", by="root")
    assert told(desk, cid, 7) == ["cy", "dan"], "assign: new owner, previous owner/contact"
    desk.claim(cid, by="cy")
    assert told(desk, cid, 8) == ["dan"]
    desk.wait(cid, by="cy")
    assert told(desk, cid, 9) == ["dan"]
    desk.resume(cid, by="cy")
    assert told(desk, cid, 10) == ["dan"]
    desk.resolve(cid, by="cy", resolution="fixed")
    assert told(desk, cid, 11) == ["dan"]
    desk.reopen(cid, by="dan")
    assert told(desk, cid, 12) == ["cy"], "reopen: back to the owner; the contact acted"
    desk.resolve(cid, by="cy", resolution="fixed again")
    desk.close(cid, by="cy")
    assert told(desk, cid, 14) == ["dan"]


def test_escalation_tells_the_previous_owner_and_contact(desk: Desk) -> None:
    case = desk.open(title="t", customer="c", channel="phone", by="bo")
    desk.claim(case.id, by="ana")
    desk.escalate(case.id, by="root")
    assert told(desk, case.id, 3) == ["ana", "bo", "cy", "dan"]


def test_timer_events_tell_owner_lead_and_contact(desk: Desk, clock: ManualClock) -> None:
    case = desk.open(title="t", customer="c", channel="phone", by="ana")
    desk.escalate(case.id, by="ana")
    desk.claim(case.id, by="dan")
    desk.respond(case.id, by="dan")  # stops the first-response clock
    # specialists warn at 75% of 20h = 15h of office time: Mon 8h, Tue 7h -> Tue 16:00 local
    clock.set(datetime(2026, 3, 3, 14, 0, tzinfo=UTC))
    (warned,) = desk.tick()
    assert warned.kind == "warned"
    assert told(desk, case.id, warned.seq) == ["ana", "cy", "dan"]  # owner, lead, contact


def test_realerts_reach_the_lead_then_the_last_resort(desk: Desk, clock: ManualClock) -> None:
    case = desk.open(title="t", customer="c", channel="phone", by="ana")
    desk.escalate(case.id, by="ana")
    desk.escalate(case.id, by="cy")
    desk.respond(case.id, by="dee")
    # realert_every 4h from Mon 09:00 local: Mon 13:00 and Mon 17:00 local
    clock.set(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    first, second = desk.tick()
    assert told(desk, case.id, first.seq) == ["ana", "dee"]  # lead, contact
    assert told(desk, case.id, second.seq) == ["ana", "dee", "root"], "last resort from #2"


def test_returned_cases_tell_the_tier(desk: Desk) -> None:
    case = desk.open(title="t", customer="c", channel="phone", by="bo")
    desk.claim(case.id, by="ana")
    (returned,) = desk.remove_agent("ana", by="root")
    assert told(desk, case.id, returned.seq) == ["ana", "bo"]


def test_the_actor_is_never_told_of_their_own_action(desk: Desk, clock: ManualClock) -> None:
    ids = []
    for opener in ("ana", "bo", "cy", None):
        case = desk.open(title="t", customer="c", channel="phone", by=opener)
        ids.append(case.id)
        desk.claim(case.id, by="ana")
        desk.respond(case.id, by="bo")
        desk.escalate(case.id, by="bo")
        desk.claim(case.id, by="cy")
        desk.note(case.id, "n", by="cy")
        desk.escalate(case.id, by="cy")
    clock.advance(timedelta(days=3))
    desk.tick()
    events: dict[tuple[str, int], Event] = {(e.case_id, e.seq): e for e in desk.events()}
    rows = desk.outbox()
    assert rows
    for row in rows:
        event = events[(row.case_id, row.seq)]
        assert row.recipient != event.actor, (event.kind, row.recipient)
    for case_id in ids:
        contact = desk.get(case_id).contact
        history = desk.history(case_id)
        for event in history[1:]:
            if event.actor != contact and contact is not None:
                assert contact in told(desk, case_id, event.seq), (
                    f"contact {contact} missed {event.kind.value}")


def test_personal_channels_and_customer_notices(url: str, clock: ManualClock) -> None:
    policy = policy_with(channels=["log", "email"], recipients={"bo": ["sms"]},
                         notify_customer=True, customer_channel="email")
    with make_desk(policy, url, clock) as desk:
        case = desk.open(title="t", customer="c-17", channel="phone")
        rows = {(n.recipient, n.channel) for n in desk.outbox(case_id=case.id)}
        assert rows == {("ana", "log"), ("ana", "email"), ("bo", "sms"), ("c-17", "email")}
        desk.claim(case.id, by="ana")
        assert not any(n.recipient == "c-17" for n in desk.outbox(case_id=case.id)
                       if n.seq == 2), "the customer hears only of customer-facing changes"
        desk.resolve(case.id, by="ana", resolution="fixed")
        assert ("c-17", "email") in {(n.recipient, n.channel)
                                     for n in desk.outbox(case_id=case.id) if n.seq == 3}


# -- delivery -------------------------------------------------------------------------------------


def test_log_channel_is_delivered_by_the_builtin_notifier(desk: Desk,
                                                          caplog: pytest.LogCaptureFixture
                                                          ) -> None:
    case = desk.open(title="Invoice is wrong", customer="c", channel="phone")
    with caplog.at_level("INFO", logger="escalate.notify"):
        outcomes = desk.dispatch()
    assert {n.status for n in outcomes} == {"delivered"}
    assert {n.recipient for n in outcomes} == {"ana", "bo"}
    assert "Invoice is wrong" in caplog.text
    assert desk.outbox(status="pending") == []
    assert all(n.delivered_at == desk.clock.now() and n.attempts == 1
               for n in desk.outbox(case_id=case.id))
    assert desk.dispatch() == []


def test_a_failing_notifier_is_retried_with_growing_backoff(url: str,
                                                            clock: ManualClock) -> None:
    failing = Notifier(failures=3)
    policy = policy_with(channels=["email"], backoff="30s", max_backoff="1h", max_attempts=8)
    with make_desk(policy, url, clock, failing) as desk:
        desk.open(title="t", customer="c", channel="phone", by="ana")
        (row,) = desk.outbox()
        assert row.recipient == "bo"
        delays = []
        for attempt in range(1, 4):
            (outcome,) = desk.dispatch()
            assert outcome.status == "pending" and outcome.attempts == attempt
            assert f"smtp refused attempt {attempt}" in (outcome.last_error or "")
            assert outcome.next_attempt_at is not None
            delay = outcome.next_attempt_at - clock.now()
            base = timedelta(seconds=30) * 2 ** (attempt - 1)
            assert base / 2 <= delay <= base, f"attempt {attempt}: {delay} not in jittered {base}"
            delays.append(delay)
            clock.set(outcome.next_attempt_at - timedelta(microseconds=1))
            assert desk.dispatch() == [], "not due before its next attempt"
            clock.set(outcome.next_attempt_at)
        assert delays[2] > delays[0], "the backoff grows"
        (done,) = desk.dispatch()
        assert done.status == "delivered" and done.attempts == 4 and done.last_error is None
        assert done.delivered_at == clock.now()
        assert failing.delivered == [row.key], "delivered exactly once"
        clock.advance(timedelta(days=1))
        assert desk.dispatch() == []
        assert failing.delivered == [row.key]
        (stored,) = desk.outbox()
        assert stored.status == "delivered" and stored.attempts == 4


def test_backoff_is_capped(url: str, clock: ManualClock) -> None:
    always = Notifier(failures=10**6)
    policy = policy_with(channels=["email"], backoff="1m", max_backoff="3m", max_attempts=20)
    with make_desk(policy, url, clock, always) as desk:
        desk.open(title="t", customer="c", channel="phone", by="ana")
        for _ in range(6):
            (outcome,) = desk.dispatch()
            assert outcome.next_attempt_at is not None
            assert outcome.next_attempt_at - clock.now() <= timedelta(minutes=3)
            clock.set(outcome.next_attempt_at)


def test_an_always_failing_notifier_is_dead_lettered_and_can_be_revived(
        url: str, clock: ManualClock) -> None:
    broken = Notifier(failures=3)  # fails exactly max_attempts times
    policy = policy_with(channels=["email"], backoff="10s", max_backoff="1m", max_attempts=3)
    with make_desk(policy, url, clock, broken) as desk:
        desk.open(title="t", customer="c", channel="phone", by="ana")
        (row,) = desk.outbox()
        statuses = []
        for _ in range(3):
            (outcome,) = desk.dispatch()
            statuses.append(outcome.status)
            if outcome.status == "pending":
                assert outcome.next_attempt_at is not None
                clock.set(outcome.next_attempt_at)
        assert statuses == ["pending", "pending", "dead"]
        (dead,) = desk.outbox(status="dead")
        assert dead.key == row.key and dead.attempts == 3
        assert "smtp refused attempt 3" in (dead.last_error or "")
        clock.advance(timedelta(days=30))
        assert desk.dispatch() == [], "a dead letter is not retried by itself"
        assert desk.outbox(status="dead") == [dead], "and it stays listed"
        assert broken.delivered == []

        revived = desk.retry_notification(row.key)
        assert (revived.status, revived.attempts, revived.next_attempt_at) == (
            "pending", 0, clock.now())
        assert desk.outbox(status="dead") == []
        (done,) = desk.dispatch()
        assert done.status == "delivered" and done.attempts == 1
        assert broken.delivered == [row.key]


def test_a_permanent_error_dead_letters_at_once(url: str, clock: ManualClock) -> None:
    refused = Notifier(failures=1, permanent=True)
    policy = policy_with(channels=["email"], max_attempts=8)
    with make_desk(policy, url, clock, refused) as desk:
        desk.open(title="t", customer="c", channel="phone", by="ana")
        (outcome,) = desk.dispatch()
        assert outcome.status == "dead" and outcome.attempts == 1
        assert (outcome.last_error or "").startswith("permanent: ")


def test_a_hanging_notifier_counts_as_a_failed_attempt(url: str, clock: ManualClock) -> None:
    release = threading.Event()
    slow = Notifier(hang=release)
    policy = policy_with(channels=["email"], timeout="0.2s", backoff="10s", max_attempts=5)
    try:
        with make_desk(policy, url, clock, slow) as desk:
            desk.open(title="t", customer="c", channel="phone", by="ana")
            (outcome,) = desk.dispatch()
            assert outcome.status == "pending" and outcome.attempts == 1
            assert "did not answer within 0.2s" in (outcome.last_error or "")
            assert outcome.next_attempt_at is not None
            assert outcome.next_attempt_at > clock.now()
            release.set()
            clock.set(outcome.next_attempt_at)
            (second,) = desk.dispatch()
            assert second.status == "delivered" and second.attempts == 2
    finally:
        release.set()


def test_a_channel_nobody_serves_is_retried_then_dead_lettered(url: str,
                                                                clock: ManualClock) -> None:
    policy = policy_with(channels=["pager"], backoff="5s", max_backoff="10s", max_attempts=4)
    with make_desk(policy, url, clock) as desk:
        case = desk.open(title="t", customer="c", channel="phone")
        keys = {n.key for n in desk.outbox()}
        assert len(keys) == 2
        for attempt in range(1, 5):
            outcomes = desk.dispatch()
            assert {n.key for n in outcomes} == keys
            assert all(n.attempts == attempt for n in outcomes)
            assert all("no installed notifier serves channel 'pager'" in (n.last_error or "")
                       for n in outcomes)
            assert {n.key for n in desk.outbox(case_id=case.id)} == keys, "never dropped"
            clock.advance(timedelta(seconds=10))
        assert {n.key for n in desk.outbox(status="dead")} == keys
        assert desk.outbox(status="pending") == []


def test_templates_override_subject_and_body(url: str, clock: ManualClock) -> None:
    policy = policy_with(channels=["log"], templates={
        "escalated": {"subject": "UP {case_id} -> {tier}",
                      "body": "Hi {recipient}: {headline}. {reason_line}"},
        "claimed": {"subject": "{actor} has {case_id}"},
    })
    with make_desk(policy, url, clock) as desk:
        case = desk.open(title="Invoice is wrong", customer="c-17", channel="phone", by="ana")
        desk.claim(case.id, by="bo")
        desk.escalate(case.id, by="bo", reason="needs billing")
        rows = {(n.seq, n.recipient): n for n in desk.outbox(case_id=case.id)}
        cy = rows[(3, "cy")]
        assert cy.subject == f"UP {case.id} -> specialists"
        assert cy.body == "Hi cy: escalated to specialists. Note: needs billing\n"
        claimed = rows[(2, "ana")]
        assert claimed.subject == f"bo has {case.id}"
        assert claimed.body.startswith("claimed by bo\n"), "the body keeps the default"
        opened = rows[(1, "bo")]
        assert opened.subject == f"[{case.id}] Invoice is wrong: new case in frontline"
        assert f"Case {case.id} (normal, phone) for customer c-17" in opened.body
