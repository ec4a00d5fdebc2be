"""Management reports from the event log: figures checked by hand on small histories."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalate import Agent, ConfigError, Desk, EscalateError, EventKind, ManualClock, Policy, Queue
from escalate.chart import render_trends_png
from escalate.report import Compliance, PingPong, Report, build_report

H = timedelta(hours=1)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")

# Office hours Monday to Friday 09:00-17:00 in UTC, so that every business-time figure below
# can be checked with a calendar and no time-zone arithmetic.
POLICY: dict[str, Any] = {
    "calendars": {"office": {"timezone": "UTC", "hours": {d: "09:00-17:00" for d in WEEKDAYS}},
                  "always": {"hours": "24x7"}},
    "sla": {"normal": {"first_response": "4h", "resolution": "16h", "calendar": "office"},
            "urgent": {"first_response": "1h", "resolution": "8h", "calendar": "always"},
            "low": {"resolution": "40h", "calendar": "office"}},
    "ladders": {
        "support": {"calendar": "office", "tiers": [
            {"name": "frontline", "members": ["ana", "bo"], "escalate_after": "8h"},
            {"name": "specialists", "members": ["cy", "dan"], "lead": "cy",
             "escalate_after": "8h"},
            {"name": "management", "members": ["dee"], "lead": "dee", "realert_every": "4h"},
        ]},
        # A second team at the same level as frontline, so that cases can move between teams.
        "billing": {"calendar": "office", "tiers": [{"name": "billing",
                                                      "members": ["eve", "fay"]}]},
    },
    "routes": [{"ladder": "support"}],
}


def at(day: int, hour: int, minute: int = 0, month: int = 3, year: int = 2026) -> datetime:
    """A UTC time in March 2026 by default; 2026-03-02 is a Monday."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def policy() -> Policy:
    return Policy.from_dict(POLICY)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(at(2, 9))


@pytest.fixture
def desk(policy: Policy, clock: ManualClock) -> Iterator[Desk]:
    with Desk(policy, "memory://", clock, autoload_plugins=False) as desk:
        yield desk


@pytest.fixture(params=["memory", "sqlite"])
def any_desk(request: pytest.FixtureRequest, policy: Policy, clock: ManualClock,
             tmp_path: Path) -> Iterator[Desk]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'cases.db'}"
    with Desk(policy, url, clock, autoload_plugins=False) as desk:
        yield desk


def report_of(desk: Desk, **kwargs: Any) -> Report:
    """What Desk.report does: the whole stream up to `until`, the desk's policy."""
    return build_report(desk.events(until=kwargs.get("until")), policy=desk.policy, **kwargs)


def open_case(desk: Desk, channel: str = "phone", priority: str = "normal") -> str:
    return desk.open(title="printer", customer="acme", channel=channel, priority=priority).id


# -- agents --------------------------------------------------------------------------


def weekend_history(desk: Desk, clock: ManualClock) -> tuple[str, str, str]:
    """Three cases: one closed in an hour, two opened on Friday afternoon, solved next week."""
    c1 = open_case(desk, "phone")                           # Mon 2 March 09:00
    desk.claim(c1, by="ana")
    clock.set(at(2, 10))
    desk.resolve(c1, by="ana", resolution="new toner")      # Mon 10:00
    clock.set(at(6, 15))
    c2 = open_case(desk, "email")                           # Fri 6 March 15:00
    desk.claim(c2, by="bo")
    clock.set(at(6, 16))
    c3 = open_case(desk, "web")                             # Fri 16:00
    desk.claim(c3, by="bo")
    clock.set(at(9, 11))
    desk.resolve(c2, by="bo", resolution="credit note")     # Mon 9 March 11:00
    clock.set(at(10, 10))
    desk.resolve(c3, by="bo", resolution="reset")           # Tue 10 March 10:00
    return c1, c2, c3


def test_time_to_resolution_counts_office_hours_across_a_weekend(desk: Desk,
                                                                 clock: ManualClock) -> None:
    weekend_history(desk, clock)
    report = report_of(desk)

    ana = report.agent("ana")
    # c1: Mon 09:00 -> Mon 10:00 is one business hour.
    assert (ana.received, ana.claimed, ana.resolved) == (1, 1, 1)
    assert ana.median_resolution == ana.p90_resolution == H
    assert ana.sla_breaches == 0

    bo = report.agent("bo")
    # c2: Fri 15:00-17:00 (2h) + Mon 09:00-11:00 (2h) = 4h, although 92 wall-clock hours pass.
    # c3: Fri 16:00-17:00 (1h) + Mon 09:00-17:00 (8h) + Tue 09:00-10:00 (1h) = 10h.
    # The median of two values is their mean, (4h + 10h) / 2 = 7h; the 90th percentile is
    # the nearest rank, ceil(0.9 * 2) = 2nd of [4h, 10h] = 10h.
    assert (bo.received, bo.claimed, bo.resolved) == (2, 2, 2)
    assert bo.median_resolution == 7 * H
    assert bo.p90_resolution == 10 * H
    # c3's first response (4h) was due Mon 12:00 (Fri 1h + Mon 3h); nobody responded before
    # the resolution on Tue 10:00, so the clock stopped late while bo owned the case. No
    # worker ran, so there is no `breached` event: the late stop is counted as the breach.
    assert bo.sla_breaches == 1
    assert (bo.escalated_by_hand, bo.escalated_away, bo.transferred, bo.reopened) == (0, 0, 0, 0)


def test_first_response_and_resolution_compliance(desk: Desk, clock: ManualClock) -> None:
    weekend_history(desk, clock)
    report = report_of(desk)
    # First response: c1 stopped at 10:00 (due 13:00, met); c2 stopped at Mon 11:00, which
    # is exactly its due time (Fri 2h + Mon 2h), so met; c3 stopped late (breached).
    assert report.totals.first_response == Compliance(met=2, breached=1, pending=0)
    assert report.totals.first_response.rate == pytest.approx(2 / 3)
    # Resolution (16h): c2 due Tue 15:00, c3 due Tue 16:00; all three resolved in time.
    assert report.totals.resolution == Compliance(met=3, breached=0, pending=0)
    assert [(c.name, c.opened, c.resolved) for c in report.channels] == [
        ("email", 1, 1), ("phone", 1, 1), ("web", 1, 1)]
    web = report.channel("web")
    assert web.first_response == Compliance(0, 1, 0) and web.first_response.rate == 0.0
    assert dict(web.breached_in) == {"frontline": 1}
    assert report.priority("normal").first_response == Compliance(2, 1, 0)
    frontline = report.tier("frontline")
    # Each case's time in frontline, office hours, from opening to resolution: 1h, 4h, 10h.
    assert (frontline.opened, frontline.resolved, frontline.cases_timed) == (3, 3, 3)
    assert frontline.time_total == 15 * H and frontline.time_median == 4 * H
    assert frontline.first_response == Compliance(2, 1, 0)
    assert report.tier("specialists").time_median is None


def test_without_a_policy_durations_are_wall_clock(desk: Desk, clock: ManualClock) -> None:
    weekend_history(desk, clock)
    report = build_report(desk.events(), policy=None)
    # c2: Fri 15:00 -> Mon 11:00 = 68h; c3: Fri 16:00 -> Tue 10:00 = 90h; median 79h.
    assert report.agent("bo").median_resolution == 79 * H
    assert report.agent("bo").p90_resolution == 90 * H
    # Tiers appear in the order first seen; frontline held the cases for 1h + 68h + 90h.
    assert [t.tier for t in report.tiers] == ["frontline"]
    assert report.tier("frontline").time_total == 159 * H


def test_reopen_is_charged_to_whoever_resolved_last(desk: Desk, clock: ManualClock) -> None:
    c1 = open_case(desk)
    desk.claim(c1, by="ana")
    desk.resolve(c1, by="ana", resolution="restarted")
    clock.advance(H)
    desk.reopen(c1, by="ana", reason="still broken")
    desk.transfer(c1, to="bo", by="ana", note="printer driver; logs attached")
    clock.advance(H)
    desk.resolve(c1, by="bo", resolution="new driver")
    clock.advance(H)
    desk.reopen(c1, by="bo", reason="broken again")
    report = report_of(desk)
    assert report.agent("ana").reopened == 1 and report.agent("bo").reopened == 1
    assert report.totals.reopened == 2 and report.totals.resolved == 2
    # ana: 0h (resolved at once); bo: 09:00 -> 11:00 = 2h from the opening.
    assert report.agent("ana").median_resolution == timedelta(0)
    assert report.agent("bo").median_resolution == 2 * H
    # The resolution clock restarted at the reopening and runs: pending again.
    assert report.totals.resolution == Compliance(0, 0, 1)
    assert report.totals.backlog == 1


# -- escalation, by hand and by timer ---------------------------------------------------


def test_escalations_by_hand_and_by_timer(any_desk: Desk, clock: ManualClock) -> None:
    desk = any_desk
    case = open_case(desk)                                  # Mon 2 March 09:00
    desk.claim(case, by="ana")
    # The worker's rounds: by 13:00 the first-response warning (80% of 4h: 12:12) and its
    # breach (13:00) are due; at 17:00 frontline's limit of 8 office hours moves the case up.
    clock.set(at(2, 13))
    assert [e.kind for e in desk.tick()] == [EventKind.WARNED, EventKind.BREACHED]
    clock.set(at(2, 17))
    assert [e.kind for e in desk.tick()] == [EventKind.ESCALATED]
    clock.set(at(3, 9))
    desk.claim(case, by="cy")                               # Tue 09:00
    clock.set(at(3, 10))
    desk.escalate(case, by="cy", reason="contract question")
    clock.set(at(3, 11))
    desk.claim(case, by="dee")
    desk.resolve(case, by="dee", resolution="refund agreed")  # Tue 11:00
    report = report_of(desk)

    t = report.totals
    assert (t.opened, t.resolved, t.escalated, t.escalated_by_hand, t.escalated_by_timer) == (
        1, 1, 2, 1, 1)
    assert (t.breaches_first_response, t.breaches_resolution, t.events) == (1, 0, 9)
    ana, cy, dee = report.agent("ana"), report.agent("cy"), report.agent("dee")
    # The breach and the timer escalation happened while ana owned the case.
    assert (ana.received, ana.claimed, ana.escalated_away, ana.escalated_by_hand) == (1, 1, 1, 0)
    assert ana.sla_breaches == 1
    assert (cy.received, cy.claimed, cy.escalated_by_hand, cy.escalated_away) == (1, 1, 1, 0)
    # dee: Mon 09:00-17:00 (8h) + Tue 09:00-11:00 (2h) = 10 office hours from the opening.
    assert (dee.resolved, dee.median_resolution) == (1, 10 * H)

    front, spec, mgmt = (report.tier(n) for n in ("frontline", "specialists", "management"))
    assert [r.tier for r in report.tiers] == ["frontline", "specialists", "management",
                                              "billing"]
    assert (front.opened, front.escalations_out, front.breaches) == (1, 1, 1)
    assert (spec.entered, spec.escalations_in, spec.escalations_out) == (1, 1, 1)
    assert (mgmt.entered, mgmt.escalations_in, mgmt.resolved) == (1, 1, 1)
    # Time held: frontline Mon 09:00-17:00 = 8h; specialists Mon 17:00 -> Tue 10:00 = 1h
    # (the night does not count); management Tue 10:00-11:00 = 1h.
    assert (front.time_total, spec.time_total, mgmt.time_total) == (8 * H, H, H)
    # frontline used up the first-response clock; management met the resolution target
    # (16h, due Tue 17:00).
    assert front.first_response == Compliance(0, 1, 0)
    assert mgmt.resolution == Compliance(1, 0, 0)
    assert report.priority("normal").breached_in == {"frontline": 1}
    assert (report.shuffling.moves_up, report.shuffling.moves_sideways) == (2, 0)


def test_moves_fall_back_to_event_kinds_for_tiers_the_policy_lacks(desk: Desk) -> None:
    case = open_case(desk)
    desk.claim(case, by="ana")
    desk.transfer(case, to="bo", by="ana", note="needs a credit note")
    desk.escalate(case, by="bo", reason="billing")
    other = Policy.from_dict({"ladders": {"other": {"tiers": [{"name": "x",
                                                               "members": ["z"]}]}}})
    report = build_report(desk.events(), policy=other)
    assert (report.shuffling.moves_up, report.shuffling.moves_sideways) == (1, 1)
    assert [r.tier for r in report.tiers] == ["x", "frontline", "specialists"]


# -- shuffling -----------------------------------------------------------------------


def test_ping_pong_between_agents_and_between_teams(desk: Desk) -> None:
    c1 = open_case(desk)
    desk.claim(c1, by="ana")
    desk.transfer(c1, to="bo", by="ana", note="you know this customer")
    desk.transfer(c1, to="ana", by="bo", note="not mine after all")    # back to ana
    c2 = open_case(desk)
    desk.claim(c2, by="ana")
    desk.transfer(c2, to=Queue("billing"), by="ana", note="invoice question")
    desk.claim(c2, by="eve")
    desk.transfer(c2, to=Queue("frontline"), by="eve", note="not billing")  # back to frontline
    desk.claim(c2, by="bo")
    c3 = open_case(desk)
    desk.claim(c3, by="ana")
    desk.transfer(c3, to="bo", by="ana", note="bo has the logs")
    desk.escalate(c3, by="bo", reason="needs a specialist")
    report = report_of(desk)

    s = report.shuffling
    assert s.ping_pong == (PingPong(c1, "owner", ("ana", "bo", "ana"), 1),
                           PingPong(c2, "tier", ("frontline", "billing", "frontline"), 1))
    assert s.ping_pong[0].route == "ana -> bo -> ana"
    # c2's owners were ana, eve and bo: no agent got it back. Transfers: c1 2, c2 2, c3 1.
    assert dict(s.transfers_per_case) == {0: 0, 1: 1, 2: 2}
    assert (s.moves_up, s.moves_down, s.moves_sideways) == (1, 0, 5)
    assert report.totals.ping_pong_cases == 2 and report.totals.transferred == 5
    ana, bo, eve = report.agent("ana"), report.agent("bo"), report.agent("eve")
    assert (ana.received, ana.transferred) == (4, 3)    # c1 twice, c2, c3
    assert (bo.received, bo.transferred, bo.escalated_by_hand) == (3, 1, 1)
    assert (eve.received, eve.transferred) == (1, 1)
    billing, front = report.tier("billing"), report.tier("frontline")
    assert (billing.entered, billing.transfers_in, billing.transfers_out) == (1, 1, 1)
    assert (front.entered, front.transfers_in, front.transfers_out) == (1, 1, 1)
    assert "ana -> bo -> ana" in report.to_text()


# -- windows -------------------------------------------------------------------------


def two_weeks(desk: Desk, clock: ManualClock) -> tuple[str, str, str]:
    c1 = open_case(desk, "phone")                           # Mon 2 March 09:00
    desk.claim(c1, by="ana")
    clock.set(at(2, 10))
    desk.resolve(c1, by="ana", resolution="toner")
    clock.set(at(3, 9))
    c2 = open_case(desk, "email")                           # Tue 3 March 09:00, never claimed
    clock.set(at(9, 9))
    desk.reopen(c1, by="ana", reason="streaks again")       # Mon 9 March 09:00
    clock.set(at(9, 10))
    c3 = open_case(desk, "web")
    desk.claim(c3, by="bo")
    clock.set(at(9, 11))
    desk.resolve(c3, by="bo", resolution="cable")
    return c1, c2, c3


def test_a_window_counts_activity_inside_it_and_knows_older_cases(desk: Desk,
                                                                  clock: ManualClock) -> None:
    two_weeks(desk, clock)
    report = report_of(desk, since=at(9, 0), until=at(16, 0))
    t = report.totals
    assert (t.events, t.opened, t.resolved, t.reopened) == (4, 1, 1, 1)
    # The reopening is charged to ana, whose resolution happened before the window.
    assert report.agent("ana").reopened == 1 and report.agent("ana").resolved == 0
    assert [a.agent for a in report.agents] == ["ana", "bo"]
    assert [c.name for c in report.channels] == ["web"]
    # Only c3 was opened in the window: it alone makes up the cohort.
    assert dict(report.shuffling.transfers_per_case) == {0: 1}
    assert t.first_response == Compliance(1, 0, 0) and t.resolution == Compliance(1, 0, 0)
    # Time in frontline, clipped to the window (40 office hours): c1 from its reopening to
    # the end (40h), c2 waiting in the queue all week (40h), c3 one hour. c1's first spell
    # (last week) is outside the window.
    front = report.tier("frontline")
    assert (front.cases_timed, front.time_total, front.time_median) == (3, 81 * H, 40 * H)
    assert t.backlog == 2
    assert [(r.period, r.opened) for r in report.trends] == [("2026-W11", 1)]


def test_events_at_or_after_until_are_ignored(desk: Desk, clock: ManualClock) -> None:
    two_weeks(desk, clock)
    # Everything, not just events before `until`: the later ones must not count.
    report = build_report(desk.events(), policy=desk.policy, until=at(9, 0))
    t = report.totals
    assert (t.opened, t.resolved, t.reopened, t.backlog) == (2, 1, 0, 1)
    # c2's first response was due Tue 13:00, but no worker recorded a breach and nobody
    # responded: it is pending.
    assert t.first_response == Compliance(1, 0, 1)
    assert t.resolution == Compliance(1, 0, 1)
    front = report.tier("frontline")
    # c1 1h; c2 from Tue 09:00 to the end of the window, Sunday midnight: 4 days of 8h.
    assert (front.time_total, front.time_median) == (33 * H, timedelta(hours=16, minutes=30))
    assert report.period.end == at(9, 0)


def test_an_empty_window(desk: Desk, clock: ManualClock) -> None:
    two_weeks(desk, clock)
    report = report_of(desk, since=at(20, 0))
    assert report.totals.events == 0 and report.agents == () and report.channels == ()
    # Without `until` the rows end at the last event of the window: there is none.
    assert report.trends == ()
    assert report.totals.backlog == 2
    bounded = report_of(desk, since=at(20, 0), until=at(30, 0))
    assert [(r.period, r.opened) for r in bounded.trends] == [("2026-W12", 0), ("2026-W13", 0)]


def test_bad_arguments_are_refused(desk: Desk) -> None:
    with pytest.raises(EscalateError, match="unknown trend 'year'"):
        build_report([], trend="year")
    with pytest.raises(EscalateError, match="must be before until"):
        build_report([], since=at(9, 0), until=at(2, 0))
    with pytest.raises(ValueError, match="naive"):
        build_report([], since=datetime(2026, 3, 2))


# -- trends --------------------------------------------------------------------------


def year_end(desk: Desk, clock: ManualClock) -> None:
    clock.set(at(28, 10, month=12))                         # Mon 28 Dec 2026
    open_case(desk)
    clock.set(at(31, 10, month=12))                         # Thu 31 Dec 2026
    open_case(desk)
    clock.set(at(1, 10, month=1, year=2027))                # Fri 1 Jan 2027: ISO 2026-W53
    open_case(desk)
    clock.set(at(4, 10, month=1, year=2027))                # Mon 4 Jan 2027: ISO 2027-W01
    last = open_case(desk)
    desk.claim(last, by="ana")
    desk.resolve(last, by="ana", resolution="done")


@pytest.mark.parametrize(("trend", "expected"), [
    ("day", [("2026-12-28", 1, 0), ("2026-12-29", 0, 0), ("2026-12-30", 0, 0),
             ("2026-12-31", 1, 0), ("2027-01-01", 1, 0), ("2027-01-02", 0, 0),
             ("2027-01-03", 0, 0), ("2027-01-04", 1, 1)]),
    ("week", [("2026-W53", 3, 0), ("2027-W01", 1, 1)]),
    ("month", [("2026-12", 2, 0), ("2027-01", 2, 1)]),
])
def test_trend_buckets(desk: Desk, clock: ManualClock, trend: str,
                       expected: list[tuple[str, int, int]]) -> None:
    year_end(desk, clock)
    report = report_of(desk, since=at(28, 0, month=12), until=at(5, 0, month=1, year=2027),
                       trend=trend)
    assert [(r.period, r.opened, r.resolved) for r in report.trends] == expected
    # A row starts on its day, its ISO week's Monday or the first of its month.
    assert report.trends[0].start.isoformat() == ("2026-12-01" if trend == "month"
                                                  else "2026-12-28")
    # The first response of the three cases opened in 2026 was never given: pending; the
    # last case was resolved at once: met.
    last = report.trends[-1]
    assert last.first_response.met == 1
    assert sum(r.first_response.pending for r in report.trends) == 3


def test_trend_rows_count_escalations_and_breaches(desk: Desk, clock: ManualClock) -> None:
    case = open_case(desk, priority="urgent")               # Mon 2 March 09:00, 24x7 SLA
    clock.set(at(3, 12))
    desk.tick()     # first response due 10:00 Mon, resolution 17:00 Mon; frontline Mon 17:00
    report = report_of(desk, trend="day")
    assert [(r.period, r.escalated, r.breached) for r in report.trends] == [
        ("2026-03-02", 1, 2)]
    assert report.trends[0].resolution == Compliance(0, 1, 0)
    assert desk.get(case).tier == "specialists"


# -- renderers -----------------------------------------------------------------------


@pytest.fixture
def busy_report(desk: Desk, clock: ManualClock) -> Report:
    c1, _, _ = weekend_history(desk, clock)
    desk.reopen(c1, by="ana")
    desk.transfer(c1, to="bo", by="ana", note="over to you")
    desk.transfer(c1, to="ana", by="bo", note="back to you")
    clock.set(at(12, 9))
    desk.tick()
    return report_of(desk, trend="week")


def test_json_is_plain_and_stable(busy_report: Report) -> None:
    data = busy_report.to_json()
    assert json.loads(json.dumps(data)) == data
    assert list(data) == ["period", "totals", "agents", "tiers", "channels", "priorities",
                          "shuffling", "trends", "channel_trends", "priority_trends",
                          "clock_shares", "breaches"]
    bo = next(a for a in data["agents"] if a["agent"] == "bo")
    assert bo["median_resolution_seconds"] == 7 * 3600
    assert data["shuffling"]["ping_pong"][0]["path"] == ["ana", "bo", "ana"]
    assert data["shuffling"]["transfers_per_case"] == {"0": 2, "1": 0, "2": 1}
    assert data["totals"]["first_response"] == {"met": 2, "breached": 1, "pending": 0,
                                                "rate": 0.6667}
    assert busy_report.to_json() == data    # the same report renders the same document


def test_csv_sections_parse_with_their_headers(busy_report: Report) -> None:
    text = busy_report.to_csv()
    sections = [list(csv.reader(io.StringIO(part)))
                for part in text.split("\n\n") if part.strip()]
    names = ["period", "totals", "agents", "tiers", "channels", "priorities", "transfers",
             "moves", "ping_pong", "trends", "channel_trends", "priority_trends",
             "clock_shares", "breaches"]
    assert [rows[0][0] for rows in sections] == ["table"] * len(names)
    by_table = dict(zip(names, sections, strict=True))
    for name, rows in by_table.items():
        assert all(row[0] == name for row in rows[1:])
    agents = by_table["agents"]
    assert agents[0] == ["table", "agent", "received", "claimed", "resolved",
                         "escalated_by_hand", "escalated_away", "transferred", "reopened",
                         "median_resolution_seconds", "p90_resolution_seconds",
                         "sla_breaches", "satisfaction_ratings", "satisfaction_mean",
                         "satisfaction_share_satisfied"]
    assert all(len(row) == len(agents[0]) for row in agents)
    assert agents[2][:2] == ["agents", "bo"]
    tiers = by_table["tiers"]
    assert "first_response_rate" in tiers[0] and "time_median_seconds" in tiers[0]
    assert [row[1] for row in tiers[1:]] == ["frontline", "specialists", "management",
                                             "billing"]
    ping = by_table["ping_pong"]
    assert ping[0] == ["table", "case_id", "kind", "path", "returns"]
    assert ping[1][3] == "ana -> bo -> ana"
    trends = by_table["trends"]
    assert [row[1] for row in trends[1:]] == ["2026-W10", "2026-W11"]


def test_text_tables_have_headings_and_aligned_columns(busy_report: Report) -> None:
    text = busy_report.to_text()
    for heading in ("Totals", "Agents", "Tiers", "Channels", "Priorities", "Transfers per case",
                    "Moves", "Ping-pong", "Trends by week"):
        assert f"\n{heading}\n{'-' * len(heading)}\n" in text
    lines = text.splitlines()
    start = lines.index("Agents") + 2
    table = lines[start:lines.index("", start)]
    assert table[0].split()[:3] == ["agent", "received", "claimed"]
    # Right-aligned numbers: every row of the table is as wide as the widest.
    assert len({len(line) for line in table}) == 1
    assert "7h00m" in text      # bo's median time to resolution


def test_the_chart_is_a_png(busy_report: Report, tmp_path: Path) -> None:
    target = render_trends_png(busy_report, tmp_path / "trends.png")
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


def test_the_chart_says_how_to_install_matplotlib(busy_report: Report, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(ConfigError, match=r"escalate\[charts\]"):
        render_trends_png(busy_report, tmp_path / "trends.png")
    assert not (tmp_path / "trends.png").exists()


def test_the_report_on_sqlite_equals_the_one_in_memory(policy: Policy, tmp_path: Path) -> None:
    reports = []
    for url in ("memory://", f"sqlite:///{tmp_path / 'cases.db'}"):
        clock = ManualClock(at(2, 9))
        with Desk(policy, url, clock, autoload_plugins=False) as desk:
            weekend_history(desk, clock)
            clock.set(at(13, 9))
            desk.tick()
            reports.append(report_of(desk, until=at(16, 0)).to_json())
    assert reports[0] == reports[1]


# -- consistency, for any history -------------------------------------------------------

AGENTS = ("ana", "bo", "cy", "dee", "eve")
# Half the actions are taken by someone allowed to ("*": the owner, or the first member of the
# case's tier), on few cases, so that transfers back and forth, resolutions and reopenings
# happen often enough; the rest by anyone, and may be refused.
ACTOR = st.sampled_from(AGENTS) | st.just("*")
CASE = st.integers(0, 2)
STEP = st.one_of(
    st.tuples(st.just("open"), st.sampled_from(["normal", "urgent", "low"]),
              st.sampled_from(["phone", "email", "web"])),
    *[st.tuples(st.sampled_from(["claim", "claim", "respond", "escalate", "wait", "resume",
                                 "resolve", "resolve", "reopen", "bounce", "close"]),
                CASE, ACTOR)] * 3,
    st.tuples(st.just("transfer"), CASE, ACTOR,
              st.sampled_from(["ana", "bo", "cy", "eve", "queue:billing", "queue:frontline"])),
    st.tuples(st.just("wait_hours"), st.integers(1, 30)),
)


def play(desk: Desk, clock: ManualClock, steps: list[tuple[Any, ...]]) -> None:
    cases: list[str] = []
    for step in steps:
        name = step[0]
        try:
            if name == "open":
                cases.append(open_case(desk, step[2], step[1]))
            elif name == "wait_hours":
                clock.advance(timedelta(hours=step[1]))
                desk.tick()
            elif not cases:
                continue
            else:
                case_id = cases[step[1] % len(cases)]
                by = step[2]
                if by == "*":
                    case = desk.get(case_id)
                    by = (case.owner.name if isinstance(case.owner, Agent)
                          else desk.policy.tier(case.tier).members[0])
                if name == "transfer":
                    target = step[3]
                    to = Queue(target[6:]) if target.startswith("queue:") else target
                    desk.transfer(case_id, to=to, by=by, note="handoff")
                elif name == "bounce":     # resolved, and the customer comes back
                    desk.resolve(case_id, by=by, resolution="done")
                    clock.advance(timedelta(minutes=30))
                    desk.reopen(case_id, by=by, reason="still broken")
                else:
                    kwargs = {"resolution": "done"} if name == "resolve" else {}
                    getattr(desk, name)(case_id, by=by, **kwargs)
        except EscalateError:
            pass


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(STEP, min_size=8, max_size=40), since_h=st.integers(0, 200),
       length_h=st.one_of(st.none(), st.integers(1, 300)),
       trend=st.sampled_from(["day", "week", "month"]))
def test_totals_are_consistent_for_any_history(steps: list[tuple[Any, ...]], since_h: int,
                                               length_h: int | None, trend: str) -> None:
    policy = Policy.from_dict(POLICY)
    clock = ManualClock(at(2, 9))
    with Desk(policy, "memory://", clock, autoload_plugins=False) as desk:
        play(desk, clock, steps)
        since = at(2, 9) + timedelta(hours=since_h)
        until = None if length_h is None else since + timedelta(hours=length_h)
        report = report_of(desk, since=since, until=until, trend=trend)
        window = [e for e in desk.events(since=since, until=until)]
        opened = [e for e in window if e.kind is EventKind.OPENED]
        with_first_response = [e for e in opened if e.data["priority"] != "low"]

    t = report.totals
    assert t.events == len(window)
    assert t.opened == len(opened)
    for rows in (report.channels, report.priorities, report.tiers, report.trends):
        assert sum(r.opened for r in rows) == t.opened
        for clock_name in ("first_response", "resolution"):
            assert (sum(getattr(r, clock_name).total for r in rows)
                    == getattr(t, clock_name).total)
    assert t.first_response.total == len(with_first_response)
    assert t.resolution.total == len(opened)
    assert sum(report.shuffling.transfers_per_case.values()) == t.opened
    kinds = [e.kind for e in window]
    assert t.escalated == kinds.count(EventKind.ESCALATED)
    assert t.escalated == t.escalated_by_hand + t.escalated_by_timer
    assert t.resolved == kinds.count(EventKind.RESOLVED) == sum(a.resolved for a in report.agents)
    assert t.transferred == kinds.count(EventKind.TRANSFERRED)
    s = report.shuffling
    assert s.moves_up + s.moves_down + s.moves_sideways == t.escalated + t.transferred
    assert t.breaches_first_response + t.breaches_resolution >= kinds.count(EventKind.BREACHED)
    assert sum(r.breaches for r in report.tiers) == (t.breaches_first_response
                                                     + t.breaches_resolution)
    for group in (*report.channels, *report.priorities):
        assert sum(group.breached_in.values()) == (group.first_response.breached
                                                   + group.resolution.breached)
    assert json.loads(json.dumps(report.to_json())) == report.to_json()


def test_the_stream_is_read_once(desk: Desk, clock: ManualClock) -> None:
    weekend_history(desk, clock)
    events = list(desk.events())
    reads = 0

    def once() -> Iterator[Any]:
        nonlocal reads
        reads += 1
        yield from events

    assert build_report(once(), policy=desk.policy) == build_report(events, policy=desk.policy)
    assert reads == 1


def test_the_demo_report_in_the_docs_is_real_output(tmp_path: Path) -> None:
    from escalate.demo import run_demo

    with run_demo(f"sqlite:///{tmp_path / 'cases.db'}", say=lambda _: None) as desk:
        report = build_report(desk.events(), policy=desk.policy, trend="day")
    page = (Path(__file__).resolve().parent.parent / "docs" / "reports.md").read_text()
    assert report.to_text().rstrip("\n") in page, "paste the demo report into docs/reports.md"


def test_the_chart_labels_legends_and_markers(busy_report: Report) -> None:
    from escalate.chart import trends_figure

    counts, rates = trends_figure(busy_report).axes
    assert counts.get_ylabel() == "events in the period"
    assert [t.get_text() for t in counts.get_legend().get_texts()] == [
        "cases opened", "resolutions", "escalations", "breaches"]
    assert [t.get_text() for t in rates.get_legend().get_texts()] == [
        "first response met", "resolution met"]
    first, second = rates.get_lines()
    assert first.get_marker() != second.get_marker()
    # the two series never sit on the same spot
    assert all(a != b for a, b in zip(first.get_xdata(), second.get_xdata(), strict=True))
    assert rates.get_xlabel() == "week"


def test_a_lone_value_is_drawn_and_an_empty_panel_says_so(desk: Desk,
                                                          clock: ManualClock) -> None:
    from escalate.chart import trends_figure

    c1 = open_case(desk)
    desk.claim(c1, by="ana")
    desk.resolve(c1, by="ana", resolution="ok")
    clock.set(at(23, 9))
    open_case(desk)                                   # pending: no rate in its week
    report = report_of(desk, trend="week")
    _, rates = trends_figure(report).axes
    values = list(rates.get_lines()[0].get_ydata())
    present = [v for v in values if v == v]
    assert present == [100.0] and len(values) == 4     # one value, the rest gaps
    assert rates.get_lines()[0].get_marker() == "o"     # drawn as a dot, not a line only
    quiet = build_report([], policy=desk.policy, since=at(2, 0), until=at(9, 0))
    _, empty = trends_figure(quiet).axes
    assert [t.get_text() for t in empty.texts] == ["no SLA outcome was decided in this window"]
