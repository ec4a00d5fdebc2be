"""Satisfaction, trends by channel and priority, and SLA clock time by tier: figures checked by
hand on small histories (office hours 09:00-17:00 UTC, Monday to Friday)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from escalate import Desk, ManualClock, Policy
from escalate.report import RatedComment, build_report

H = timedelta(hours=1)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
POLICY = {
    "calendars": {"office": {"timezone": "UTC", "hours": {d: "09:00-17:00" for d in WEEKDAYS}},
                  "always": {"hours": "24x7"}},
    "sla": {"normal": {"first_response": "4h", "resolution": "16h", "calendar": "office"},
            "urgent": {"first_response": "1h", "resolution": "8h", "calendar": "always"}},
    "ladders": {"support": {"calendar": "office", "tiers": [
        {"name": "frontline", "members": ["ana", "bo"], "escalate_after": "8h"},
        {"name": "specialists", "members": ["cy", "dan"], "lead": "cy", "escalate_after": "8h"},
        {"name": "management", "members": ["dee"], "lead": "dee", "realert_every": "4h"},
    ]}},
    "routes": [{"ladder": "support"}],
}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A UTC time in March 2026; 2026-03-02 is a Monday."""
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(at(2, 9))


@pytest.fixture
def desk(clock: ManualClock) -> Iterator[Desk]:
    with Desk(Policy.from_dict(POLICY), "memory://", clock, autoload_plugins=False) as desk:
        yield desk


def solved(desk: Desk, agent: str, channel: str, priority: str = "normal") -> str:
    case = desk.open(title="t", customer="c", channel=channel, priority=priority)
    desk.claim(case.id, by=agent)
    desk.resolve(case.id, by=agent, resolution="done")
    return case.id


def test_satisfaction_per_agent_tier_channel_and_period(desk: Desk,
                                                        clock: ManualClock) -> None:
    a1 = solved(desk, "ana", "phone")
    a2 = solved(desk, "ana", "email")
    b1 = solved(desk, "bo", "phone")
    desk.rate(a1, score=2, comment="slow")
    desk.rate(a1, score=5, comment="called back, all good")    # the last rating counts
    desk.rate(a2, score=4)
    clock.set(at(9, 10))                                       # the next ISO week
    desk.rate(b1, score=1, comment="still broken")
    report = desk.report(trend="week")

    t = report.totals.satisfaction
    assert (t.ratings, t.score_total, t.satisfied) == (3, 10, 2)
    assert t.mean == pytest.approx(10 / 3)
    assert t.share_satisfied == pytest.approx(2 / 3)
    assert t.best == (RatedComment(a1, 5, "called back, all good"),)
    assert t.worst == (RatedComment(b1, 1, "still broken"),)

    ana = report.agent("ana").satisfaction
    assert (ana.ratings, ana.mean, ana.share_satisfied) == (2, 4.5, 1.0)
    assert report.agent("bo").satisfaction.mean == 1
    assert report.tier("frontline").satisfaction.ratings == 3
    assert report.tier("specialists").satisfaction.ratings == 0
    assert report.tier("specialists").satisfaction.mean is None
    phone = report.channel("phone").satisfaction
    assert (phone.ratings, phone.mean, phone.share_satisfied) == (2, 3.0, 0.5)
    assert report.channel("email").satisfaction.mean == 4
    assert [(r.period, r.satisfaction.ratings) for r in report.trends] == [
        ("2026-W10", 2), ("2026-W11", 1)]
    assert report.satisfaction_of("agent", "ana") == report.agent("ana").satisfaction
    with pytest.raises(KeyError):
        report.satisfaction_of("agent", "nobody")


def test_a_rating_outside_the_window_is_not_counted(desk: Desk, clock: ManualClock) -> None:
    a1 = solved(desk, "ana", "phone")
    desk.rate(a1, score=5)
    clock.set(at(9, 10))
    events = list(desk.events())
    later = build_report(events, policy=desk.policy, since=at(9, 0))
    assert later.totals.satisfaction.ratings == 0
    desk.rate(a1, score=3)                       # re-rated in the window: counts there
    again = build_report(desk.events(), policy=desk.policy, since=at(9, 0))
    assert again.totals.satisfaction.ratings == 1
    assert again.totals.satisfaction.mean == 3
    assert again.agent("ana").satisfaction.ratings == 1


def test_best_and_worst_keep_three_comments_each(desk: Desk) -> None:
    ids = [solved(desk, "ana", "web") for _ in range(8)]
    for case_id, score in zip(ids, [5, 5, 4, 4, 3, 1, 2, 1], strict=True):
        desk.rate(case_id, score=score, comment=f"said {score}")
    sat = desk.report().totals.satisfaction
    assert [(c.case_id, c.score) for c in sat.best] == [(ids[0], 5), (ids[1], 5), (ids[2], 4)]
    assert [(c.case_id, c.score) for c in sat.worst] == [(ids[5], 1), (ids[7], 1), (ids[6], 2)]


def test_trends_by_channel_and_priority_add_up_to_the_totals(desk: Desk,
                                                             clock: ManualClock) -> None:
    solved(desk, "ana", "phone", "urgent")
    solved(desk, "ana", "email")
    clock.set(at(10, 9))
    case = desk.open(title="t", customer="c", channel="phone")
    desk.escalate(case.id, by="ana", reason="hard")
    report = desk.report(trend="week")
    assert [g.name for g in report.channel_trends] == ["email", "phone"]
    assert [g.name for g in report.priority_trends] == ["normal", "urgent"]
    for groups in (report.channel_trends, report.priority_trends):
        for i, row in enumerate(report.trends):
            parts = [g.rows[i] for g in groups]
            assert all(p.period == row.period for p in parts)
            assert sum(p.opened for p in parts) == row.opened
            assert sum(p.resolved for p in parts) == row.resolved
            assert sum(p.escalated for p in parts) == row.escalated
    phone = {r.period: r for r in report.channel_trends[1].rows}
    assert (phone["2026-W10"].opened, phone["2026-W11"].opened) == (1, 1)
    assert phone["2026-W11"].escalated == 1
    data = report.to_json()
    assert data["channel_trends"][1]["rows"][1]["escalated"] == 1


def test_sla_clock_time_is_split_by_the_tier_holding_the_case(desk: Desk,
                                                              clock: ManualClock) -> None:
    case = desk.open(title="t", customer="c", channel="web")   # Mon 09:00, normal: 4h/16h
    clock.set(at(2, 11))
    desk.claim(case.id, by="ana")                               # first response: not yet
    clock.set(at(2, 12))
    desk.escalate(case.id, by="ana", reason="needs cy")         # 3h in frontline
    clock.set(at(2, 14))
    desk.claim(case.id, by="cy")
    desk.respond(case.id, by="cy")                              # first response after 5h
    clock.set(at(3, 10))
    desk.resolve(case.id, by="cy", resolution="ok")
    report = desk.report()
    shares = {(c.clock, c.tier): c for c in report.clock_shares}
    # first response ran 09:00-12:00 in frontline, 12:00-14:00 in specialists
    assert shares["first_response", "frontline"].time == 3 * H
    assert shares["first_response", "specialists"].time == 2 * H
    assert shares["first_response", "frontline"].share == pytest.approx(0.6)
    # resolution ran 09:00-12:00 in frontline, then 12:00-17:00 and 09:00-10:00 in specialists
    assert shares["resolution", "frontline"].time == 3 * H
    assert shares["resolution", "specialists"].time == 6 * H
    assert shares["resolution", "specialists"].share == pytest.approx(2 / 3)
    assert [c.clock for c in report.clock_shares] == [
        "first_response", "first_response", "resolution", "resolution"]


def test_waiting_time_is_not_charged_to_any_tier(desk: Desk, clock: ManualClock) -> None:
    case = desk.open(title="t", customer="c", channel="web")
    desk.claim(case.id, by="ana")
    desk.respond(case.id, by="ana")
    clock.set(at(2, 10))
    desk.wait(case.id, by="ana", reason="logs")
    clock.set(at(2, 15))
    desk.resume(case.id, by="ana")
    clock.set(at(2, 16))
    desk.resolve(case.id, by="ana", resolution="ok")
    shares = {(c.clock, c.tier): c.time for c in desk.report().clock_shares}
    assert shares == {("resolution", "frontline"): 2 * H}
