"""Desk actions: the DESIGN.md walk-through, ownership rules, removals, filters, the trail,
observers and authorization plugins, on both built-in stores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from escalate import (
    Action,
    Agent,
    Case,
    CaseExists,
    Desk,
    Event,
    EventKind,
    InvalidInput,
    ManualClock,
    NotAuthorized,
    Policy,
    Queue,
    Status,
    hookimpl,
)
from escalate.fold import rebuild

ROOT = Path(__file__).resolve().parent.parent
MONDAY_9 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # 09:00 in Bucharest (UTC+2)


@pytest.fixture
def mclock() -> ManualClock:
    return ManualClock(MONDAY_9)


@pytest.fixture
def edesk(example_policy: Policy, url: str, mclock: ManualClock) -> Iterator[Desk]:
    with Desk(example_policy, store=url, clock=mclock, autoload_plugins=False) as desk:
        yield desk


def plugin_desk(policy: Policy, url: str, clock: ManualClock, *plugins: object) -> Desk:
    return Desk(policy, store=url, clock=clock, plugins=plugins, autoload_plugins=False)


def kinds(desk: Desk, case_id: str) -> list[str]:
    return [event.kind.value for event in desk.history(case_id)]


# -- the walk-through of DESIGN.md -------------------------------------------------------------


def test_design_walk_through(edesk: Desk, mclock: ManualClock) -> None:
    desk = edesk

    def step(case: Case, status: str, owner: Agent | Queue, tier: str, transfers: int,
             escalations: int) -> None:
        assert case == desk.get(case.id)
        assert case.status == status and isinstance(case.status, Status)
        assert case.owner == owner
        assert (case.tier, case.transfers, case.escalations) == (tier, transfers, escalations)
        assert case.contact == "ana", "the first agent stays the customer's contact"
        assert case.ladder == "support"

    case = desk.open(title="Invoice is wrong", customer="c-17", channel="phone",
                     priority="normal", by="ana")
    assert (case.title, case.customer, case.channel, case.priority) == (
        "Invoice is wrong", "c-17", "phone", "normal")
    assert case.version == 1 and case.opened_at == MONDAY_9
    step(case, "open", Queue("frontline"), "frontline", 0, 0)
    mclock.advance(timedelta(minutes=5))
    step(desk.claim(case.id, by="ana"), "active", Agent("ana"), "frontline", 0, 0)
    mclock.advance(timedelta(minutes=5))
    moved = desk.transfer(case.id, to="bo", by="ana",
                          note="Customer sent the invoice; needs a credit note")
    step(moved, "open", Agent("bo"), "frontline", 1, 0)
    mclock.advance(timedelta(minutes=5))
    step(desk.escalate(case.id, by="bo", reason="needs billing specialist"), "open",
         Queue("specialists"), "specialists", 1, 1)
    mclock.advance(timedelta(minutes=5))
    responded = desk.respond(case.id, by="cy")
    step(responded, "active", Agent("cy"), "specialists", 1, 1)
    assert responded.first_response_at == MONDAY_9 + timedelta(minutes=20)
    step(desk.wait(case.id, by="cy", reason="asked for account number"), "waiting",
         Agent("cy"), "specialists", 1, 1)
    mclock.advance(timedelta(hours=1))
    step(desk.resume(case.id, by="cy"), "active", Agent("cy"), "specialists", 1, 1)
    resolved = desk.resolve(case.id, by="cy", resolution="credit note issued")
    step(resolved, "resolved", Agent("cy"), "specialists", 1, 1)
    assert resolved.resolution == "credit note issued"
    assert resolved.resolved_at == MONDAY_9 + timedelta(hours=1, minutes=20)
    assert resolved.version == 8

    history = desk.history(case.id)
    assert [e.kind for e in history] == [
        EventKind.OPENED, EventKind.CLAIMED, EventKind.TRANSFERRED, EventKind.ESCALATED,
        EventKind.RESPONDED, EventKind.WAITED, EventKind.RESUMED, EventKind.RESOLVED]
    assert [e.actor for e in history] == ["ana", "ana", "ana", "bo", "cy", "cy", "cy", "cy"]
    transfer = history[2]
    assert transfer.reason == "Customer sent the invoice; needs a credit note"
    assert (transfer.owner_before, transfer.owner_after) == (Agent("ana"), Agent("bo"))
    escalation = history[3]
    assert (escalation.tier_before, escalation.tier_after) == ("frontline", "specialists")
    assert escalation.reason == "needs billing specialist"
    assert rebuild(history) == desk.get(case.id)

    other = desk.open(title="Password reset", customer="c-18", channel="email", by="bo")
    assert list(desk.cases(status="open", tier="frontline")) == [other]
    assert list(desk.cases(status="resolved")) == [desk.get(case.id)]


def test_respond_from_a_queue_takes_the_case(edesk: Desk) -> None:
    case = edesk.open(title="t", customer="c", channel="web")
    assert case.contact is None
    after = edesk.respond(case.id, by="bo", message="looking into it")
    assert after.owner == Agent("bo") and after.status == "active"
    assert after.contact == "bo", "the first agent to act becomes the contact"
    assert edesk.history(case.id)[-1].reason == "looking into it"


def test_respond_on_an_owned_case_keeps_the_owner(edesk: Desk) -> None:
    case = edesk.open(title="t", customer="c", channel="web", by="ana")
    edesk.claim(case.id, by="ana")
    after = edesk.respond(case.id, by="bo")
    assert after.owner == Agent("ana") and after.status == "active"


def test_resolve_from_a_queue_takes_the_case(edesk: Desk) -> None:
    case = edesk.open(title="t", customer="c", channel="web", by="ana")
    after = edesk.resolve(case.id, by="bo", resolution="answered in one go")
    assert after.owner == Agent("bo") and after.status == "resolved"
    assert after.first_response_at == after.resolved_at


def test_reopen_returns_to_the_resolver(edesk: Desk) -> None:
    case = edesk.open(title="t", customer="c", channel="web", by="ana")
    edesk.escalate(case.id, by="ana")
    edesk.claim(case.id, by="dan")
    resolved = edesk.resolve(case.id, by="dan", resolution="fixed")
    assert resolved.owner == Agent("dan")
    reopened = edesk.reopen(case.id, by="ana", reason="still broken")  # the contact may reopen
    assert reopened.status == "open"
    assert reopened.owner == Agent("dan")
    assert reopened.tier == "specialists"
    assert reopened.resolution is None and reopened.resolved_at is None
    closed = edesk.close(edesk.resolve(case.id, by="dan", resolution="really fixed").id,
                         by="dan")
    assert closed.status == "closed" and closed.closed_at is not None
    assert not closed.is_open


def test_assign_by_the_lead(edesk: Desk) -> None:
    case = edesk.open(title="t", customer="c", channel="web", by="ana")
    edesk.escalate(case.id, by="ana")
    edesk.claim(case.id, by="cy")
    after = edesk.assign(case.id, to="dan", by="cy", note="yours")
    assert after.owner == Agent("dan") and after.status == "open"
    assert edesk.history(case.id)[-1].reason == "yours"


def test_transfer_to_a_queue_of_the_same_level(edesk: Desk) -> None:
    case = edesk.open(title="t", customer="c", channel="web", by="ana")
    edesk.claim(case.id, by="ana")
    after = edesk.transfer(case.id, to=Queue("frontline"), by="ana", note="back to the pool")
    assert after.owner == Queue("frontline") and after.transfers == 1


def test_note_changes_nothing_but_the_trail(edesk: Desk) -> None:
    case = edesk.open(title="t", customer="c", channel="web", by="ana")
    after = edesk.note(case.id, "called the customer", by="zed")  # anyone may add a note
    assert (after.status, after.owner, after.tier, after.contact) == (
        case.status, case.owner, case.tier, case.contact)
    assert after.version == 2
    last = edesk.history(case.id)[-1]
    assert last.kind == "noted" and last.reason == "called the customer" and last.actor == "zed"


# -- removing an agent ---------------------------------------------------------------------------


def test_remove_agent_returns_every_unclosed_case(edesk: Desk) -> None:
    desk = edesk

    def opened() -> str:
        return desk.open(title="t", customer="c", channel="web", by="ana").id

    active, waiting, resolved, closed, queued, bos = (opened() for _ in range(6))
    for case_id in (active, waiting, resolved, closed):
        desk.claim(case_id, by="ana")
    desk.wait(waiting, by="ana")
    desk.resolve(resolved, by="ana", resolution="done")
    desk.resolve(closed, by="ana", resolution="done")
    desk.close(closed, by="ana")
    desk.claim(bos, by="bo")
    specialist = opened()
    desk.escalate(specialist, by="ana")
    desk.claim(specialist, by="dan")
    untouched = {case_id: desk.get(case_id) for case_id in (closed, queued, bos, specialist)}
    versions = {case_id: desk.get(case_id).version for case_id in (active, waiting, resolved)}

    events = desk.remove_agent("ana", by="root", reason="left the company")

    assert sorted(e.case_id for e in events) == sorted([active, waiting, resolved])
    for event in events:
        assert event.kind == "returned"
        assert event.owner_before == Agent("ana") and event.owner_after == Queue("frontline")
        assert event.actor == "root" and event.reason == "left the company"
        case = desk.get(event.case_id)
        assert case.owner == Queue("frontline")
        assert case.version == versions[event.case_id] + 1
        assert [e.kind for e in desk.history(event.case_id)].count(EventKind.RETURNED) == 1
    assert desk.get(active).status == "open"
    assert desk.get(waiting).status == "waiting"
    assert desk.get(resolved).status == "resolved"
    for case_id, case in untouched.items():
        assert desk.get(case_id) == case
    assert list(desk.cases(owner="ana", status=("open", "active", "waiting", "resolved"))) == []
    assert desk.remove_agent("ana", by="root") == [], "a second removal has nothing to return"


def test_remove_agent_without_a_reason_uses_a_default_reason(edesk: Desk) -> None:
    case = edesk.open(title="t", customer="c", channel="web", by="ana")
    edesk.claim(case.id, by="ana")
    (event,) = edesk.remove_agent("ana", by="root")
    assert event.actor == "root" and event.reason == "ana was removed"


# -- listing ------------------------------------------------------------------------------------


def test_cases_filters(edesk: Desk, mclock: ManualClock) -> None:
    desk = edesk
    made: list[Case] = []
    for channel, priority in [("phone", "normal"), ("email", "urgent"), ("web", "normal"),
                              ("phone", "urgent"), ("chat", "normal")]:
        made.append(desk.open(title="t", customer=f"c-{len(made)}", channel=channel,
                              priority=priority, by="bo"))
        mclock.advance(timedelta(minutes=1))
    a, b, c, d, e = (case.id for case in made)
    desk.claim(a, by="ana")
    desk.claim(b, by="bo")
    desk.wait(b, by="bo")
    desk.escalate(c, by="ana")
    desk.claim(d, by="ana")
    desk.resolve(d, by="ana", resolution="ok")

    def ids(**filters: Any) -> list[str]:
        return [case.id for case in desk.cases(**filters)]

    assert ids() == [a, b, c, d, e], "oldest first"
    assert ids(status="open") == [c, e]
    assert ids(status=Status.ACTIVE) == [a]
    assert ids(status=["waiting", "resolved"]) == [b, d]
    assert ids(status=("open", Status.WAITING)) == [b, c, e]
    assert ids(status=[]) == []
    assert ids(owner="ana") == [a, d]
    assert ids(owner=Agent("ana")) == [a, d]
    assert ids(owner="agent:bo") == [b]
    assert ids(owner=Queue("frontline")) == [e]
    assert ids(owner="queue:specialists") == [c]
    assert ids(owner="nobody") == []
    assert ids(tier="specialists") == [c]
    assert ids(tier="frontline") == [a, b, d, e]
    assert ids(priority="urgent") == [b, d]
    assert ids(channel="phone") == [a, d]
    assert ids(channel="phone", priority="urgent", owner="ana") == [d]
    assert ids(customer="c-4") == [e]
    assert ids(ladder="support") == [a, b, c, d, e]
    assert ids(limit=2) == [a, b]
    assert ids(limit=0) == []
    assert ids(status="open", limit=1) == [c]


@pytest.mark.parametrize("filters", [{"status": "pending"}, {"status": ["open", "gone"]},
                                     {"owner": ""}, {"owner": 5}, {"limit": -1},
                                     {"limit": "2"}, {"limit": True}])
def test_bad_filter_values(edesk: Desk, filters: dict[str, Any]) -> None:
    edesk.open(title="t", customer="c", channel="web")
    with pytest.raises(InvalidInput):
        list(edesk.cases(**filters))


def test_open_with_a_chosen_id(edesk: Desk) -> None:
    case = edesk.open(title="t", customer="c", channel="web", case_id="TICKET-9")
    assert case.id == "TICKET-9" and edesk.get("TICKET-9") == case
    with pytest.raises(CaseExists, match="already exists"):
        edesk.open(title="other", customer="d", channel="web", case_id="TICKET-9")
    assert edesk.get("TICKET-9") == case and len(edesk.history("TICKET-9")) == 1
    fresh = edesk.open(title="t", customer="c", channel="web")
    assert fresh.id != "TICKET-9"


def test_open_keeps_category_and_custom_fields(edesk: Desk) -> None:
    fields = {"order": 1234, "tags": ["vip", "eu"], "nested": {"ok": True, "none": None}}
    case = edesk.open(title="t", customer="c", channel="web", category="billing",
                      fields=fields)
    stored = edesk.get(case.id)
    assert stored.category == "billing"
    assert dict(stored.fields) == fields


# -- the trail ------------------------------------------------------------------------------------


def test_events_are_numbered_utc_and_attributed(edesk: Desk, mclock: ManualClock) -> None:
    desk = edesk
    first = desk.open(title="a", customer="c", channel="web", by="ana")
    second = desk.open(title="b", customer="c", channel="web", priority="urgent", by="bo")
    desk.claim(first.id, by="ana")
    desk.note(second.id, "calling back", by="bo")
    mclock.advance(timedelta(days=10))  # long past every limit: timers fire
    timer_events = desk.tick()
    assert timer_events, "the tick should have fired timers"
    assert desk.get(first.id).tier == "management", "ten days climb every tier"
    desk.respond(first.id, by="dee")
    desk.note(second.id, "still on it", by="dee")

    timer_kinds = {EventKind.WARNED, EventKind.BREACHED, EventKind.REALERTED,
                   EventKind.ESCALATED}
    for case_id in (first.id, second.id):
        history = desk.history(case_id)
        assert [e.seq for e in history] == list(range(1, len(history) + 1))
        assert [e.at for e in history] == sorted(e.at for e in history)
        for event in history:
            assert event.at.tzinfo is not None and event.at.utcoffset() == timedelta(0)
            assert event.case_id == case_id
            if event.actor is None:
                assert event in timer_events and event.kind in timer_kinds
            else:
                assert event not in timer_events
        assert history[0].actor in ("ana", "bo") and history[-1].actor == "dee"
    assert all(e.actor is None for e in timer_events)
    everything = list(desk.events())
    assert sorted(everything, key=lambda e: (e.at, e.case_id, e.seq)) == everything
    assert len(everything) == len(desk.history(first.id)) + len(desk.history(second.id))


# -- plugins: observers and authorization ---------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, int, str, int]] = []

    @hookimpl
    def escalate_event_committed(self, desk: Desk, case: Case, event: Event) -> None:
        assert case.version == event.seq and case.id == event.case_id
        assert desk.get(case.id).version >= event.seq, "observed before the commit"
        self.seen.append((event.case_id, event.seq, event.kind.value, case.version))


class Exploder:
    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def escalate_event_committed(self, desk: Desk, case: Case, event: Event) -> None:
        self.calls += 1
        raise RuntimeError("observer is broken")


def test_observers_see_each_committed_event_once(example_policy: Policy, url: str,
                                                 mclock: ManualClock) -> None:
    recorder = Recorder()
    with plugin_desk(example_policy, url, mclock, recorder) as desk:
        case = desk.open(title="t", customer="c", channel="web", by="ana")
        desk.claim(case.id, by="ana")
        with pytest.raises(NotAuthorized):
            desk.claim(case.id, by="bo")  # refused: nothing to observe
        mclock.advance(timedelta(days=5))
        desk.tick()
        other = desk.open(title="t2", customer="c", channel="web", by="bo")
        desk.claim(other.id, by="bo")
        desk.remove_agent("bo", by="root")
        stored = [(e.case_id, e.seq, e.kind.value, e.seq) for e in desk.events()]
    assert sorted(recorder.seen) == sorted(stored)
    assert len(recorder.seen) == len(set(recorder.seen))
    assert ("C-1", 2, "claimed", 2) in recorder.seen


def test_a_raising_observer_stops_nothing(example_policy: Policy, url: str,
                                          mclock: ManualClock,
                                          caplog: pytest.LogCaptureFixture) -> None:
    first, broken, last = Recorder(), Exploder(), Recorder()
    with plugin_desk(example_policy, url, mclock, first, broken, last) as desk:
        case = desk.open(title="t", customer="c", channel="web", by="ana")
        after = desk.claim(case.id, by="ana")
        assert after.owner == Agent("ana") and desk.get(case.id) == after
        assert len(desk.history(case.id)) == 2
    assert broken.calls == 2
    assert [s[2] for s in first.seen] == ["opened", "claimed"]
    assert [s[2] for s in last.seen] == ["opened", "claimed"]
    assert "observer is broken" in caplog.text or "failed" in caplog.text


class Gatekeeper:
    def __init__(self, answer: bool | None, only: Action | None = None) -> None:
        self.answer, self.only = answer, only
        self.asked: list[tuple[str | None, str]] = []

    @hookimpl
    def escalate_authorize(self, policy: Policy, case: Case | None, action: Action,
                           actor: str | None) -> bool | None:
        self.asked.append((actor, action.value))
        if self.only is not None and action is not self.only:
            return None
        return self.answer


def test_authorize_plugin_can_refuse(example_policy: Policy, url: str,
                                     mclock: ManualClock) -> None:
    gate = Gatekeeper(False, only=Action.CLAIM)
    with plugin_desk(example_policy, url, mclock, gate) as desk:
        case = desk.open(title="t", customer="c", channel="web", by="ana")
        with pytest.raises(NotAuthorized) as info:
            desk.claim(case.id, by="ana")  # the default rules would allow this
        assert "refused by an authorization plugin" in str(info.value)
        assert desk.get(case.id) == case and len(desk.history(case.id)) == 1
        assert ("ana", "claim") in gate.asked
        desk.note(case.id, "still allowed", by="ana")


def test_authorize_plugin_can_allow_a_stranger(example_policy: Policy, url: str,
                                               mclock: ManualClock) -> None:
    gate = Gatekeeper(True)
    with plugin_desk(example_policy, url, mclock, gate) as desk:
        case = desk.open(title="t", customer="c", channel="web", by="ana")
        after = desk.claim(case.id, by="zed")
        assert after.owner == Agent("zed")
        assert desk.history(case.id)[-1].actor == "zed"


def test_authorize_plugin_returning_none_defers_to_the_default(
        example_policy: Policy, url: str, mclock: ManualClock) -> None:
    gate = Gatekeeper(None)
    with plugin_desk(example_policy, url, mclock, gate) as desk:
        case = desk.open(title="t", customer="c", channel="web", by="ana")
        with pytest.raises(NotAuthorized, match="'zed' may not claim"):
            desk.claim(case.id, by="zed")
        assert desk.claim(case.id, by="bo").owner == Agent("bo")
