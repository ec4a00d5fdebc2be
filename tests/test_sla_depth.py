"""SLA depth, hand-computed on the office calendar (Europe/Bucharest, UTC+2 in January).

Office hours: Mon-Thu 09:00-17:00, Fri 09:00-12:00 and 13:00-17:00 (local time).
2026-01-09 is a Friday, 2026-01-12 a Monday.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from escalate import Agent, ConfigError, Desk, InvalidInput, ManualClock, Policy, Queue, timing
from escalate.cli import main
from escalate.errors import InvalidTransition, NotAuthorized

H = timedelta(hours=1)
M = timedelta(minutes=1)

OFFICE = {"timezone": "Europe/Bucharest",
          "hours": {"mon": "09:00-17:00", "tue": "09:00-17:00", "wed": "09:00-17:00",
                    "thu": "09:00-17:00", "fri": ["09:00-12:00", "13:00-17:00"]}}

POLICY: dict[str, Any] = {
    "admins": ["root"],
    "wait_on": ["vendor"],
    "calendars": {"office": OFFICE},
    "sla": {
        "normal": {"first_response": "4h", "resolution": "8h", "next_update": "2h",
                   "pause_on": ["customer"], "calendar": "office"},
        "urgent": {"first_response": "1h", "resolution": "4h", "calendar": "office"},
        "gold_urgent": {"first_response": "30m", "resolution": "2h", "calendar": "office"},
    },
    "ladders": {"support": {"calendar": "office", "tiers": [
        {"name": "frontline", "members": ["ana", "bo"], "lead": "bo", "idle_after": "4h"},
        {"name": "specialists", "members": ["cy", "dan"], "lead": "cy", "idle_after": "2h",
         "idle_action": "escalate"},
        {"name": "management", "members": ["dee"], "lead": "dee", "realert_every": "4h"},
    ]}},
    "routes": [
        {"when": {"priority": "urgent", "plan": ["gold", "platinum"]}, "ladder": "support",
         "sla": "gold_urgent"},
        {"ladder": "support"},
    ],
}


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A January 2026 office time given in Bucharest local time (UTC+2), as UTC."""
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC) - 2 * H


def make_desk(at: datetime, policy: dict[str, Any] | None = None) -> tuple[Desk, ManualClock]:
    clock = ManualClock(at)
    return Desk(Policy.from_dict(policy or POLICY), store="memory://", clock=clock,
                autoload_plugins=False), clock


def clock_of(desk: Desk, case_id: str, name: str) -> Any:
    found = desk.get(case_id).clock(name)
    assert found is not None, f"no {name} clock"
    return found


# -- 1. idle owner --------------------------------------------------------------------

def test_friday_evening_idle_return_fires_monday_morning() -> None:
    desk, clock = make_desk(local(9, 15))                       # Friday 15:00
    case = desk.open(title="Printer", customer="c-1")
    desk.claim(case.id, by="ana")
    # 15:00-17:00 Friday is 2h; the other 2h of idle_after run Monday 09:00-11:00
    assert clock_of(desk, case.id, "idle").due_at == local(12, 11)
    def idle_events() -> list[Any]:
        return [e for e in desk.tick() if e.data.get("clock") == "idle"]

    clock.set(local(9, 20))
    assert idle_events() == []
    clock.set(local(12, 10, 59))
    assert idle_events() == []
    clock.set(local(12, 11))
    [returned] = idle_events()
    assert returned.kind == "returned" and returned.actor is None
    assert returned.data["clock"] == "idle"
    assert returned.owner_before == Agent("ana") and returned.owner_after == Queue("frontline")
    assert "4h" in (returned.reason or "") and "ana" in (returned.reason or "")
    after = desk.get(case.id)
    assert after.status == "open" and after.clock("idle") is None
    told = {n.recipient for n in desk.outbox() if n.seq == returned.seq}
    assert {"ana", "bo"} <= told                          # the agent and the tier lead


def test_any_action_by_the_owner_restarts_the_idle_clock_and_waiting_pauses_it() -> None:
    desk, clock = make_desk(local(12, 9))                       # Monday 09:00
    case = desk.open(title="Printer", customer="c-1")
    desk.claim(case.id, by="ana")
    clock.set(local(12, 12))
    desk.note(case.id, "someone else looked", by="bo")          # not the owner: no restart
    assert clock_of(desk, case.id, "idle").due_at == local(12, 13)
    desk.note(case.id, "still on it", by="ana")                 # the owner: restart
    assert clock_of(desk, case.id, "idle").due_at == local(12, 16)
    clock.set(local(12, 13))
    desk.wait(case.id, by="ana", on="customer")                 # restart, then paused
    idle = clock_of(desk, case.id, "idle")
    assert idle.due_at is None and idle.remaining == 4 * H
    clock.set(local(13, 16))
    assert desk.tick() == []                                    # waiting: no idle return
    desk.resume(case.id, by="bo")                               # not the owner: resumes
    assert clock_of(desk, case.id, "idle").due_at == local(14, 12)


def test_idle_escalates_when_the_tier_says_so() -> None:
    desk, clock = make_desk(local(12, 9))
    case = desk.open(title="Disk", customer="c-1")
    desk.escalate(case.id, by="ana", reason="needs a specialist")
    desk.claim(case.id, by="dan")
    clock.set(local(12, 11))
    [escalated] = desk.tick()
    assert escalated.kind == "escalated" and escalated.actor is None
    assert escalated.data["clock"] == "idle" and escalated.tier_after == "management"
    told = {n.recipient for n in desk.outbox() if n.seq == escalated.seq}
    assert {"dan", "cy"} <= told                # the idle agent and the lead of the tier left


# -- 2. next update, 3. data["clock"] ------------------------------------------------

def test_next_update_restarts_on_each_response_and_breaches_with_its_name() -> None:
    desk, clock = make_desk(local(12, 9))
    case = desk.open(title="Mail", customer="c-1")
    assert desk.get(case.id).clock("next_update") is None       # only after a response
    clock.set(local(12, 10))
    desk.respond(case.id, by="ana")
    assert clock_of(desk, case.id, "next_update").due_at == local(12, 12)
    clock.set(local(12, 11))
    desk.respond(case.id, by="ana")
    assert clock_of(desk, case.id, "next_update").due_at == local(12, 13)
    clock.set(local(12, 13))
    fired = desk.tick()
    kinds = [(e.kind.value, e.data["clock"]) for e in fired]
    # 80% of 2h after 11:00 is 12:36 (warning), then the breach at 13:00
    assert ("warned", "next_update") in kinds and ("breached", "next_update") in kinds
    warned = next(e for e in fired if e.kind == "warned" and e.data["clock"] == "next_update")
    assert warned.at == local(12, 12, 36)


def test_warned_and_breached_events_always_name_their_clock() -> None:
    desk, clock = make_desk(local(12, 9))
    case = desk.open(title="Mail", customer="c-1", priority="urgent")
    clock.set(local(16, 17))
    fired = desk.tick()
    assert fired
    for event in fired:
        assert event.data["clock"] in ("first_response", "resolution", "next_update",
                                       "tier", "idle"), event
    assert {e.data["clock"] for e in fired if e.kind == "breached"} == {"first_response",
                                                                         "resolution"}
    assert desk.get(case.id).clock("resolution").breached  # type: ignore[union-attr]


# -- 4. update -------------------------------------------------------------------------

def test_reprioritising_mid_clock_keeps_the_business_time_used() -> None:
    desk, clock = make_desk(local(12, 9))                       # Monday 09:00
    case = desk.open(title="Shop down", customer="c-1")
    desk.claim(case.id, by="ana")
    desk.respond(case.id, by="ana")
    clock.set(local(12, 12))                                    # 3h into 8h resolution
    updated = desk.update(case.id, by="ana", reason="outage affects all shops",
                          priority="urgent")
    assert updated.priority == "urgent" and updated.sla == "urgent"
    resolution = clock_of(desk, case.id, "resolution")
    assert resolution.target == 4 * H and resolution.due_at == local(12, 13)   # 1h left
    assert resolution.started_at == local(12, 9)
    event = desk.history(case.id)[-1]
    assert event.kind == "updated" and event.actor == "ana"
    assert event.data["before"] == {"priority": "normal", "sla": "normal"}
    assert event.data["after"] == {"priority": "urgent", "sla": "urgent"}
    timers = {t.clock: t for t in desk.store.timers(case.id)}
    # the warning comes at 80% of 4h = 3h12m of business time used: 12 minutes from now
    assert timers["resolution"].due_at == local(12, 12, 12)
    assert "next_update" not in {c.name for c in updated.clocks}   # urgent has none


def test_reprioritising_to_a_shorter_target_already_exceeded_breaches_at_the_next_tick() -> None:
    desk, clock = make_desk(local(12, 9))
    case = desk.open(title="Shop down", customer="c-1")
    clock.set(local(12, 12))                                    # 3h, no response yet
    desk.update(case.id, by="bo", reason="outage", priority="urgent")
    first = clock_of(desk, case.id, "first_response")
    assert first.target == H and first.overrun == 2 * H and first.due_at == local(12, 12)
    [breached] = desk.tick()
    assert breached.kind == "breached" and breached.data["clock"] == "first_response"
    assert desk.tick() == []                                    # fired exactly once


def test_update_rules() -> None:
    desk, _ = make_desk(local(12, 9))
    case = desk.open(title="Shop down", customer="c-1")
    with pytest.raises(InvalidInput, match="changes nothing"):
        desk.update(case.id, by="ana", reason="same", priority="normal")
    with pytest.raises(InvalidInput, match="at least one change"):
        desk.update(case.id, by="ana", reason="nothing")
    with pytest.raises(InvalidInput, match="unknown priority"):
        desk.update(case.id, by="ana", reason="typo", priority="urgnet")
    with pytest.raises(NotAuthorized):
        desk.update(case.id, by="zed", reason="stranger", priority="urgent")
    with pytest.raises(InvalidInput):
        desk.update(case.id, by="ana", reason="  ", priority="urgent")
    assert len(desk.history(case.id)) == 1                      # nothing was written
    desk.update(case.id, by="root", reason="admin", title="Shops down")
    desk.claim(case.id, by="ana")
    desk.resolve(case.id, by="ana", resolution="fixed")
    with pytest.raises(InvalidTransition):
        desk.update(case.id, by="ana", reason="late", priority="urgent")


# -- 5. pause rules ------------------------------------------------------------------

def test_a_third_party_wait_does_not_pause_a_customer_only_target() -> None:
    desk, clock = make_desk(local(12, 9))
    case = desk.open(title="Vendor bug", customer="c-1")
    desk.claim(case.id, by="ana")
    clock.set(local(12, 10))
    desk.wait(case.id, by="ana", reason="vendor ticket 4711", on="third_party")
    waiting = desk.get(case.id)
    assert waiting.waiting_on == "third_party"
    assert clock_of(desk, case.id, "resolution").due_at == local(12, 17)   # still running
    assert clock_of(desk, case.id, "idle").due_at is None                  # idle pauses
    clock.set(local(12, 11))
    explained = {e.clock.name: e for e in desk.explain(case.id)}
    assert explained["resolution"].pauses == ()                  # ran through the wait
    assert explained["idle"].pauses == ((local(12, 10), None),)
    clock.set(local(12, 17))
    fired = desk.tick()
    assert [(e.kind.value, e.data["clock"]) for e in fired] == [
        ("warned", "first_response"), ("breached", "first_response"),
        ("warned", "resolution"), ("breached", "resolution")]
    assert all(e.status_after == "waiting" for e in fired)


def test_a_customer_wait_pauses_and_unknown_words_are_refused() -> None:
    desk, _ = make_desk(local(12, 9))
    case = desk.open(title="Vendor bug", customer="c-1")
    desk.claim(case.id, by="ana")
    with pytest.raises(InvalidInput, match="customer, third_party, vendor"):
        desk.wait(case.id, by="ana", on="moon")
    desk.wait(case.id, by="ana", on="vendor")                   # listed by the policy
    assert clock_of(desk, case.id, "resolution").due_at is not None
    desk.resume(case.id, by="ana")
    desk.wait(case.id, by="ana")                                # on the customer: pauses
    assert clock_of(desk, case.id, "resolution").remaining == 8 * H


# -- 6. conditional SLA selection -----------------------------------------------------

def test_routes_match_custom_fields_and_name_the_target_and_are_remade_on_update() -> None:
    desk, clock = make_desk(local(12, 9))
    gold = desk.open(title="Down", customer="c-1", priority="urgent", fields={"plan": "gold"})
    assert gold.sla == "gold_urgent"
    assert clock_of(desk, gold.id, "resolution").target == 2 * H
    plain = desk.open(title="Down", customer="c-2", priority="urgent", fields={"plan": "free"})
    assert plain.sla == "urgent"
    clock.set(local(12, 10))
    moved = desk.update(plain.id, by="ana", reason="upgraded", fields={"plan": "platinum"})
    assert moved.sla == "gold_urgent" and moved.fields["plan"] == "platinum"
    assert clock_of(desk, plain.id, "resolution").due_at == local(12, 11)      # 2h - 1h
    why = desk.explain(plain.id).route
    assert "route 0" in why and "gold_urgent" in why and "plan=platinum" in why
    assert "named by the route" in why and "updated" in why
    assert "the case's priority normal" in desk.explain(
        desk.open(title="x", customer="c-3").id).route


# -- 7. who used the clock ------------------------------------------------------------

def test_clock_shares_split_by_tier_and_agent() -> None:
    desk, clock = make_desk(local(12, 9))
    case = desk.open(title="Disk", customer="c-1")
    clock.set(local(12, 10))
    desk.claim(case.id, by="ana")
    clock.set(local(12, 12))
    desk.escalate(case.id, by="ana", reason="needs a specialist")
    clock.set(local(12, 13))
    desk.claim(case.id, by="cy")
    clock.set(local(12, 14))
    desk.wait(case.id, by="cy", on="customer")                  # paused 14:00-15:00
    clock.set(local(12, 15))
    desk.resume(case.id, by="cy")
    clock.set(local(12, 16))
    shares = {s.clock: s for s in desk.clock_shares(case.id)}
    resolution = shares["resolution"]
    assert resolution.elapsed == 6 * H
    assert dict(resolution.by_tier) == {"frontline": 3 * H, "specialists": 3 * H}
    assert dict(resolution.by_agent) == {"ana": 2 * H, "cy": 2 * H}
    assert resolution.queued == 2 * H
    assert resolution.to_dict()["by_tier"] == {"frontline": 10800.0, "specialists": 10800.0}
    explained = {e.clock.name: e for e in desk.explain(case.id)}
    assert any("tier frontline: 3h" in line for line in explained["resolution"].lines())


# -- config errors -----------------------------------------------------------------------

def bad(mutate: Callable[[dict[str, Any]], object], path: str, fragment: str) -> None:
    data = copy.deepcopy(POLICY)
    mutate(data)
    with pytest.raises(ConfigError) as info:
        Policy.from_dict(data)
    assert info.value.path == path, str(info.value)
    assert fragment in str(info.value)


def tier(data: dict[str, Any], i: int) -> dict[str, Any]:
    return data["ladders"]["support"]["tiers"][i]  # type: ignore[no-any-return]


def test_config_errors_name_every_new_key() -> None:
    bad(lambda d: tier(d, 0).update(idle_after="soon"), "ladders.support.tiers[0].idle_after",
        "soon")
    bad(lambda d: tier(d, 0).update(idle_after="-1h"), "ladders.support.tiers[0].idle_after",
        "")
    bad(lambda d: tier(d, 0).update(idle_action="nap"), "ladders.support.tiers[0].idle_action",
        "'return' or 'escalate'")
    bad(lambda d: d["sla"]["normal"].update(next_update="1 fortnight"),
        "sla.normal.next_update", "fortnight")
    bad(lambda d: d["sla"]["normal"].update(pause_on=["customer", "legal"]),
        "sla.normal.pause_on[1]", "unknown wait 'legal'")
    bad(lambda d: d["sla"]["normal"].update(pause_on="customer "), "sla.normal.pause_on[0]",
        "name")
    bad(lambda d: d.update(wait_on=[3]), "wait_on[0]", "name")
    bad(lambda d: d["routes"][0].update(sla="platinum"), "routes[0].sla",
        "unknown SLA target 'platinum'")
    bad(lambda d: d["routes"][0]["when"].update(seats=2.5), "routes[0].when.seats",
        "whole number")


def test_new_keys_round_trip_through_to_dict() -> None:
    policy = Policy.from_dict(POLICY)
    again = Policy.from_dict(policy.to_dict())
    assert again == policy and again.version == policy.version
    assert again.tier("specialists").idle_action == "escalate"
    assert again.sla["normal"].pause_on == ("customer",)
    assert again.wait_on == ("vendor",)


# -- CLI --------------------------------------------------------------------------------

CLI_POLICY = """
[sla.normal]
resolution = "8h"
pause_on = ["customer"]
[sla.urgent]
resolution = "4h"
[[ladders.support.tiers]]
name = "frontline"
members = ["ana", "bo"]
idle_after = "4h"
"""


def test_cli_update_and_wait_on(tmp_path: Any) -> None:
    import json
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(CLI_POLICY, encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'cases.db'}"
    run = CliRunner()
    base = ["--db", db, "--policy", str(policy_file)]
    opened = run.invoke(main, ["open", *base, "--title", "Down", "--customer", "c-1",
                               "--json"])
    assert opened.exit_code == 0, opened.output
    case_id = json.loads(opened.output)["id"]
    result = run.invoke(main, ["update", case_id, *base, "--priority", "urgent", "--reason",
                               "outage", "--by", "ana", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["sla"] == "urgent"
    refused = run.invoke(main, ["update", case_id, *base, "--priority", "urgent", "--reason",
                                "again", "--by", "ana"])
    assert refused.exit_code == 1 and "changes nothing" in refused.output
    claimed = run.invoke(main, ["claim", case_id, *base, "--by", "ana"])
    assert claimed.exit_code == 0, claimed.output
    waited = run.invoke(main, ["wait", case_id, *base, "--by", "ana", "--on", "third_party",
                               "--json"])
    assert waited.exit_code == 0, waited.output
    assert json.loads(waited.output)["waiting_on"] == "third_party"


# -- the machine's checks fail on planted faults -------------------------------------------

def test_the_machine_checks_catch_planted_faults() -> None:
    import attrs

    from escalate.model import Event, EventKind, Status
    from escalate.testing.sla_checks import check_shares, check_timer_event, check_timers

    desk, clock = make_desk(local(12, 9))
    case = desk.open(title="Disk", customer="c-1")
    desk.claim(case.id, by="ana")
    clock.set(local(12, 10))
    case = desk.get(case.id)
    policy, events = desk.policy, desk.history(case.id)
    check_timers(policy, desk.store, case)
    check_shares(policy, events, case, clock.now())
    no_idle = attrs.evolve(case, clocks=tuple(c for c in case.clocks if c.name != "idle"))
    with pytest.raises(AssertionError, match="timers"):
        check_timers(policy, desk.store, no_idle)              # a timer with no clock
    resolution = case.clock("resolution")
    assert resolution is not None and resolution.due_at is not None
    moved = attrs.evolve(resolution, due_at=resolution.due_at - H)
    skewed = attrs.evolve(case, clocks=tuple(moved if c.name == "resolution" else c
                                             for c in case.clocks))
    with pytest.raises(AssertionError, match="shares add up"):
        check_shares(policy, events, skewed, clock.now())     # a clock that lost an hour
    bad_return = Event(case_id=case.id, seq=9, at=clock.now(), kind=EventKind.RETURNED,
                       actor=None, owner_before=Agent("ana"), owner_after=Queue("frontline"),
                       status_before=Status.WAITING, status_after=Status.WAITING,
                       data={"clock": "idle"})
    with pytest.raises(AssertionError, match="waiting"):
        check_timer_event(bad_return)                         # an idle return while waiting
    unnamed = attrs.evolve(bad_return, kind=EventKind.BREACHED, data={})
    with pytest.raises(AssertionError, match="unnamed clock"):
        check_timer_event(unnamed)


def test_shares_for_every_case_for_the_report() -> None:
    from escalate.shares import clock_shares_by_case

    desk, clock = make_desk(local(12, 9))
    first = desk.open(title="A", customer="c-1")
    second = desk.open(title="B", customer="c-2")
    clock.set(local(12, 10))
    desk.claim(second.id, by="bo")
    clock.set(local(12, 11))
    shares = clock_shares_by_case(desk.policy, desk.events(), clock.now())
    assert set(shares) == {first.id, second.id}
    resolution = {s.clock: s for s in shares[second.id]}["resolution"]
    assert dict(resolution.by_agent) == {"bo": H} and resolution.queued == H
    assert shares[first.id] == desk.clock_shares(first.id)


def test_a_policy_change_that_adds_idle_after_starts_idle_clocks() -> None:
    data = copy.deepcopy(POLICY)
    del tier(data, 0)["idle_after"]
    desk, clock = make_desk(local(12, 9), data)
    working = desk.open(title="A", customer="c-1")
    desk.claim(working.id, by="ana")
    waiting = desk.open(title="B", customer="c-2")
    desk.claim(waiting.id, by="bo")
    desk.wait(waiting.id, by="bo")
    assert desk.get(working.id).clock("idle") is None
    clock.set(local(12, 10))
    desk.change_policy(Policy.from_dict(POLICY), migrate=True)
    assert clock_of(desk, working.id, "idle").due_at == local(12, 14)
    assert clock_of(desk, waiting.id, "idle").remaining == 4 * H
    from escalate.testing.sla_checks import check_timers

    for case_id in (working.id, waiting.id):
        check_timers(desk.policy, desk.store, desk.get(case_id))


# -- properties ------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(start=st.integers(min_value=0, max_value=7 * 24 * 60),
       used=st.integers(min_value=0, max_value=5 * 24 * 60),
       to=st.sampled_from(["urgent", "normal"]), waited=st.booleans())
def test_an_update_keeps_the_business_time_each_sla_clock_used(start: int, used: int, to: str,
                                                               waited: bool) -> None:
    opened = local(12, 0) + start * M
    desk, clock = make_desk(opened)
    case = desk.open(title="x", customer="c-1", priority="urgent" if to == "normal" else "normal")
    desk.claim(case.id, by="ana")
    if waited:
        desk.wait(case.id, by="ana", on="customer")             # pauses everything
    clock.set(opened + used * M)
    counted = {c.name: timedelta(0) if waited else desk.policy.calendar("office").between(
        opened, clock.now()) for c in desk.get(case.id).clocks if c.name != "tier"}
    desk.tick()
    updated = desk.update(case.id, by="ana", reason="re-prioritised", priority=to)
    target = desk.policy.sla[to]
    for name in ("first_response", "resolution"):
        state = updated.clock(name)
        assert state is not None and state.target == getattr(target, name)
        assert timing.elapsed(desk.policy, state, clock.now()) == counted[name]
        left = state.remaining if waited else (
            desk.policy.calendar("office").between(clock.now(), state.due_at)
            if state.due_at is not None else None)
        assert left == max(state.target - counted[name], timedelta(0))
        assert state.overrun == max(counted[name] - state.target, timedelta(0))
    assert {t.clock for t in desk.store.timers(case.id)} == {
        c.name for c in updated.clocks if c.running and not (c.breached and c.name != "tier")}
