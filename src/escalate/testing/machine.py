"""The stateful lifecycle machine: random actions, removals, ticks and restarts on a store.

A backend proves itself by running the same Hypothesis machine the built-in stores run::

    from escalate.testing import lifecycle_machine

    def fresh_postgres():            # called once per example: new, empty storage
        schema = make_schema()
        return lambda: PostgresStore(url, schema=schema)   # called at start and each restart

    TestPostgresLifecycle = lifecycle_machine(fresh_postgres).TestCase

Needs `hypothesis` (part of escalate's `dev` extra).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from .. import lifecycle, timing
from ..clock import ManualClock
from ..desk import Desk
from ..errors import EscalateError
from ..model import EVENT_OF_ACTION, Action, Agent, Case, Queue, Status
from ..policy import Policy
from ..stores.base import Store
from ..verify import check_case
from .sla_checks import check_shares, check_timer_event, check_timers, paused_clock_names

__all__ = [
    "ACTORS",
    "SLA_POLICY",
    "STANDARD_POLICY",
    "TIMED_POLICY",
    "StoreFactory",
    "StoreOpener",
    "lifecycle_machine",
    "sla_policy",
    "standard_policy",
    "timed_policy",
]

#: Opens (or reopens, after a restart) the storage of one example.
StoreOpener = Callable[[], Store]
#: Makes fresh, empty storage for one example and returns its opener.
StoreFactory = Callable[[], StoreOpener]

#: The policy the machine runs: three tiers, two transfers allowed, one administrator.
STANDARD_POLICY: dict[str, Any] = {
    "max_transfers": 2,
    "admins": ["root"],
    "ladders": {"support": {"tiers": [
        {"name": "frontline", "members": ["ana", "bo"]},
        {"name": "specialists", "members": ["cy", "dan"], "lead": "cy"},
        {"name": "management", "members": ["dee"], "lead": "dee"},
    ]}},
}

#: The same ladder with time limits: SLA targets, tier limits in office hours, re-alerts.
TIMED_POLICY: dict[str, Any] = {
    **STANDARD_POLICY,
    "calendars": {"office": {"timezone": "Europe/Bucharest",
                             "hours": {"mon": "09:00-17:00", "tue": "09:00-17:00",
                                       "wed": "09:00-17:00", "thu": "09:00-17:00",
                                       "fri": ["09:00-12:00", "13:00-17:00"]},
                             "holidays": ["2026-01-07"]}},
    "sla": {"normal": {"first_response": "4h", "resolution": "2d", "calendar": "office"},
            "urgent": {"first_response": "30m", "resolution": "8h", "warn_at": 0.5,
                       "escalate_on_breach": True}},
    "ladders": {"support": {"calendar": "office", "tiers": [
        {"name": "frontline", "members": ["ana", "bo"], "escalate_after": "6h"},
        {"name": "specialists", "members": ["cy", "dan"], "lead": "cy",
         "escalate_after": "5h", "warn_at": 0.5},
        {"name": "management", "members": ["dee"], "lead": "dee", "realert_every": "2h",
         "last_resort": ["root"]},
    ]}},
}

#: The timed ladder with idle owners, next-update commitments, pause rules and SLA routes.
SLA_POLICY: dict[str, Any] = {
    **TIMED_POLICY,
    "wait_on": ["vendor"],
    "sla": {"normal": {"first_response": "4h", "resolution": "2d", "calendar": "office",
                       "next_update": "3h", "pause_on": ["customer"]},
            "urgent": {"first_response": "30m", "resolution": "8h", "warn_at": 0.5,
                       "escalate_on_breach": True, "next_update": "1h",
                       "pause_on": ["customer", "vendor"]},
            "gold": {"first_response": "15m", "resolution": "4h", "next_update": "30m"}},
    "ladders": {"support": {"calendar": "office", "tiers": [
        {"name": "frontline", "members": ["ana", "bo"], "escalate_after": "6h",
         "idle_after": "2h"},
        {"name": "specialists", "members": ["cy", "dan"], "lead": "cy",
         "escalate_after": "5h", "warn_at": 0.5, "idle_after": "90m", "idle_action": "escalate"},
        {"name": "management", "members": ["dee"], "lead": "dee", "realert_every": "2h",
         "last_resort": ["root"], "idle_after": "3h"},
    ]}},
    "routes": [{"when": {"priority": "urgent", "plan": ["gold", "platinum"]},
                "ladder": "support", "sla": "gold"},
               {"ladder": "support"}],
}

#: Everyone the machine lets act: tier members, leads, an administrator and a stranger.
ACTORS = ("ana", "bo", "cy", "dan", "dee", "root", "zed")

_TEXTS = st.sampled_from([
    "", "   ", "customer sent the invoice; needs a credit note",
    "'); DROP TABLE cases; --", "line\nbreak\ttab\x00nul", "ünïcødé ✓",
]) | st.integers(min_value=200, max_value=5000).map(lambda n: "long " * n)
_PRIORITIES = ("normal", "urgent")
_PLANS = ("free", "gold", "platinum")
_WAITS = ("customer", "third_party", "vendor", "moon")
_USER_ACTIONS = [a for a in Action if a not in lifecycle.SYSTEM_ACTIONS and a is not Action.OPEN]
_TARGETS = st.sampled_from([*ACTORS, "queue:frontline", "queue:specialists",
                            "queue:management", "queue:experts", "queue:directors"])


def standard_policy() -> Policy:
    """The policy the lifecycle machine uses by default."""
    return Policy.from_dict(STANDARD_POLICY)


def timed_policy() -> Policy:
    """The standard ladder with SLA targets, office-hour tier limits and re-alerts."""
    return Policy.from_dict(TIMED_POLICY)


def sla_policy() -> Policy:
    """The timed ladder with every SLA-depth feature: idle, next update, pause_on, routes."""
    return Policy.from_dict(SLA_POLICY)


def lifecycle_machine(factory: StoreFactory, *, policy: Policy | None = None,
                      policy_changes: Sequence[Policy] = ()) -> type[RuleBasedStateMachine]:
    """A RuleBasedStateMachine that runs random actions, removals and restarts on a store.

    After every step it checks: every case ever opened is retrievable; every case has
    exactly one owner that exists in the policy; replaying a case's events gives the stored
    case; event sequence numbers are gap-free; a refused action changed nothing; every
    unclosed case has exactly the timers its clocks call for; per clock, the tiers' shares
    add up to the business time it counted; timer events name their clock, an idle return
    only leaves an agent-owned case that was not waiting, and no passed deadline is silent.

    With `policy_changes`, the machine also switches the desk to one of those policies
    (with migration and a tier map, or without), runs a second desk on the policy it
    replaced against the same store, and lets that desk tick. A case left in a tier the
    current policy lacks must keep its timers and be reported by `desk.verify()`.
    """
    chosen_policy = policy or standard_policy()
    edits = tuple(policy_changes)
    every_policy = (chosen_policy, *edits)

    class LifecycleMachine(RuleBasedStateMachine):
        """Random sequences of every action against one store, with restarts."""

        cases = Bundle("cases")

        @initialize()
        def start(self) -> None:
            self.opener = factory()
            self.clock = ManualClock()
            self.current = chosen_policy
            self.older: Desk | None = None
            self.desk = self._new_desk()
            self.opened: list[str] = []
            self.paused: dict[str, tuple[int, list[Any]]] = {}

        def _new_desk(self) -> Desk:
            return Desk(self.current, store=self.opener(), clock=self.clock,
                        autoload_plugins=False)

        def teardown(self) -> None:
            for desk in (getattr(self, "desk", None), getattr(self, "older", None)):
                if desk is not None:
                    desk.shutdown()

        def _tiers(self) -> set[str]:
            return {t.name for ladder in self.desk.policy.ladders.values() for t in ladder.tiers}

        # -- rules -----------------------------------------------------------------

        @rule(target=cases, title=_TEXTS, priority=st.sampled_from(["normal", "urgent"]),
              channel=st.sampled_from(["phone", "email", "web", "chat", ""]),
              by=st.none() | st.sampled_from(ACTORS))
        def open_case(self, title: str, priority: str, channel: str, by: str | None) -> Any:
            count = len(list(self.desk.cases()))
            try:
                case = self.desk.open(title=title, customer="c-1", channel=channel,
                                      priority=priority, by=by)
            except EscalateError as exc:
                assert str(exc)
                assert len(list(self.desk.cases())) == count, "a refused open wrote a case"
                return multiple()
            assert case.status is Status.OPEN
            assert case.owner == Queue(self.desk.policy.ladders[case.ladder].first.name)
            assert case.contact == by
            self.opened.append(case.id)
            return case.id

        @rule(case_id=cases, action=st.sampled_from(_USER_ACTIONS),
              actor=st.sampled_from(ACTORS), to=_TARGETS, text=_TEXTS)
        def act(self, case_id: str, action: Action, actor: str, to: str,
                text: str) -> None:
            self._checked(case_id, action, actor, to,
                          lambda: self._perform(case_id, action, actor, to, text))

        def _checked(self, case_id: str, action: Action, actor: str, to: str,
                     perform: Callable[[], Case]) -> None:
            """Perform an action: it records one event, or it is refused and changes nothing."""
            before = self.desk.get(case_id)
            seen = len(self.desk.history(case_id))
            try:
                after = perform()
            except EscalateError as exc:
                event(f"{action.value} refused: {type(exc).__name__}")
                assert str(exc)
                assert self.desk.get(case_id) == before, f"refused {action} changed the case"
                assert len(self.desk.history(case_id)) == seen, f"refused {action} wrote events"
                return
            event(f"{action.value} done")
            events = self.desk.history(case_id)
            assert len(events) == seen + 1, f"{action} must record exactly one event"
            last = events[-1]
            assert last.kind is EVENT_OF_ACTION[action]
            assert last.actor == actor
            assert last.status_after is lifecycle.next_status(before.status, action)
            assert after == self.desk.get(case_id)
            self._check_effect(before, after, action, actor, to)

        @rule(case_id=cases, action=st.sampled_from(_USER_ACTIONS),
              pick=st.integers(min_value=0, max_value=9), text=_TEXTS)
        def act_as_someone_entitled(self, case_id: str, action: Action, pick: int,
                                    text: str) -> None:
            """Like `act`, but by the owner, a tier member or the lead, so more actions pass."""
            case = self.desk.get(case_id)
            if case.tier not in self._tiers():  # stranded: only an administrator moves it
                self.act(case_id, action, "root", "bo" if pick % 2 else "queue:frontline", text)
                return
            tier = self.desk.policy.tier(case.tier)
            people = [*tier.members, *([tier.lead] if tier.lead else [])]
            if action is Action.ASSIGN:
                actor = tier.lead or "root"
            elif isinstance(case.owner, Agent) and pick % 2 == 0:
                actor = case.owner.name
            else:
                actor = people[pick % len(people)]
            self.act(case_id, action, actor, people[(pick + 1) % len(people)], text)

        def _perform(self, case_id: str, action: Action, actor: str, target: str,
                     text: str) -> Case:
            desk = self.desk
            to: Any = Queue(target[6:]) if target.startswith("queue:") else target
            calls: dict[Action, Callable[[], Case]] = {
                Action.CLAIM: lambda: desk.claim(case_id, by=actor),
                Action.RESPOND: lambda: desk.respond(case_id, by=actor, message=text or None),
                Action.TRANSFER: lambda: desk.transfer(case_id, to=to, by=actor, note=text),
                Action.ESCALATE: lambda: desk.escalate(case_id, by=actor, reason=text or None),
                Action.ASSIGN: lambda: desk.assign(case_id, to=target, by=actor),
                Action.WAIT: lambda: desk.wait(case_id, by=actor, reason=text or None,
                                               on=_WAITS[len(target) % len(_WAITS)]),
                Action.RESUME: lambda: desk.resume(case_id, by=actor),
                Action.RESOLVE: lambda: desk.resolve(case_id, by=actor, resolution=text),
                Action.REOPEN: lambda: desk.reopen(case_id, by=actor),
                Action.CLOSE: lambda: desk.close(case_id, by=actor),
                Action.NOTE: lambda: desk.note(case_id, text, by=actor),
                Action.RATE: lambda: desk.rate(case_id, score=1 + len(text) % 5,
                                               comment=text or None, by=actor),
                Action.UPDATE: lambda: desk.update(
                    case_id, by=actor, reason=text, priority=_PRIORITIES[len(text) % 2],
                    fields={"plan": _PLANS[len(target) % len(_PLANS)]}),
            }
            return calls[action]()

        def _check_effect(self, before: Case, after: Case, action: Action, actor: str,
                          target: str) -> None:
            current = self.desk.policy
            if before.tier not in self._tiers():
                if action in (Action.TRANSFER, Action.ASSIGN):
                    assert after.tier in self._tiers() and actor in current.admins, \
                        "only an administrator moves a stranded case, and into a tier"
                else:
                    assert after.tier == before.tier
                return
            if action is Action.CLAIM:
                assert after.owner == Agent(actor)
            elif action is Action.ESCALATE:
                ladder = current.ladder_of(before.tier)
                assert ladder.index(after.tier) == ladder.index(before.tier) + 1
                assert after.owner == Queue(after.tier)
                assert after.escalations == before.escalations + 1
            elif action is Action.TRANSFER:
                assert after.transfers == before.transfers + 1
                assert current.max_transfers is None or \
                    after.transfers <= current.max_transfers
                assert current.level(after.tier) == current.level(before.tier)
            elif action is Action.ASSIGN:
                assert after.owner == Agent(target)
                assert current.tier(after.tier).lead == actor or actor in current.admins
            elif action in (Action.NOTE, Action.UPDATE):
                assert (after.status, after.owner, after.tier) == \
                    (before.status, before.owner, before.tier)
            if action is Action.UPDATE:
                data = self.desk.history(after.id)[-1].data
                assert data["after"] and set(data["before"]) == set(data["after"])
                assert {"priority": after.priority, "sla": after.sla}.items() >= \
                    {k: v for k, v in data["after"].items() if k in ("priority", "sla")}.items()
            if action is not Action.NOTE and before.contact is not None:
                assert after.contact == before.contact, "the contact never changes once set"

        @rule(case_id=cases, priority=st.sampled_from(_PRIORITIES),
              plan=st.sampled_from(_PLANS), pick=st.integers(min_value=0, max_value=9))
        def update_case(self, case_id: str, priority: str, plan: str, pick: int) -> None:
            """Re-prioritise or re-classify as someone entitled; the SLA target may change."""
            actor = self._entitled(case_id, pick)
            self._checked(case_id, Action.UPDATE, actor, "", lambda: self.desk.update(
                case_id, by=actor, reason=f"now {priority}, plan {plan}", priority=priority,
                fields={"plan": plan}))

        @rule(case_id=cases, on=st.sampled_from(_WAITS), pick=st.integers(0, 9))
        def wait_on(self, case_id: str, on: str, pick: int) -> None:
            """Put the case on hold waiting on `on`, as its owner or a tier member."""
            actor = self._entitled(case_id, pick)
            self._checked(case_id, Action.WAIT, actor, "", lambda: self.desk.wait(
                case_id, by=actor, reason=f"waiting on {on}", on=on))

        def _entitled(self, case_id: str, pick: int) -> str:
            case = self.desk.get(case_id)
            if isinstance(case.owner, Agent) and pick % 2 == 0:
                return case.owner.name
            if case.tier not in self._tiers():
                return "root"  # stranded: only an administrator moves it
            tier = self.desk.policy.tier(case.tier)
            people = [*tier.members, *([tier.lead] if tier.lead else [])]
            return people[pick % len(people)]

        @rule(minutes=st.integers(min_value=1, max_value=60 * 6))
        def pass_time_and_tick(self, minutes: int) -> None:
            """Move on a little and fire what fell due, so timers fire often."""
            self.advance_clock(minutes)
            self.tick()

        @rule(agent=st.sampled_from(ACTORS))
        def remove_agent(self, agent: str) -> None:
            owned_before = {c.id for c in self.desk.cases(owner=agent)
                            if c.status is not Status.CLOSED}
            events = self.desk.remove_agent(agent, by=chosen_policy.admins[0])
            assert {e.case_id for e in events} == owned_before
            for returned in events:
                assert returned.kind.value == "returned"
                assert returned.owner_after == Queue(returned.tier_after or "")
            left = [c for c in self.desk.cases(owner=agent) if c.status is not Status.CLOSED]
            assert not left, f"{agent} still owns {[c.id for c in left]}"

        @rule(minutes=st.integers(min_value=1, max_value=60 * 24))
        def advance_clock(self, minutes: int) -> None:
            self.clock.advance(timedelta(minutes=minutes))

        @rule()
        def tick(self) -> None:
            """Fire due timers; afterwards no deadline that has passed is left unanswered."""
            now = self.clock.now()
            for fired in self.desk.tick():
                event(f"tick recorded {fired.kind.value} {fired.data.get('clock')}")
                assert fired.actor is None and fired.at <= now
                check_timer_event(fired)
            for case in self.desk.cases(status=("open", "active", "waiting")):
                if case.tier not in self._tiers():
                    continue  # stranded: its timers are kept and verify reports it (invariant)
                for clock in case.clocks:
                    if not clock.running:
                        continue
                    assert clock.due_at is not None
                    silent = clock.due_at <= now and (clock.name == "tier" or not clock.breached)
                    assert not silent, f"silent breach: {case.id} {clock}"
                    if clock.warn_at is not None and not clock.warned:
                        assert clock.warn_at > now, f"missed warning: {case.id} {clock}"

        @precondition(lambda self: hasattr(self, "desk"))
        @rule()
        def restart(self) -> None:
            self.desk.shutdown()
            self.desk = self._new_desk()

        # -- invariants --------------------------------------------------------------

        @invariant()
        def every_case_is_kept_owned_and_replays(self) -> None:
            if not hasattr(self, "desk"):
                return
            stored = {case.id: case for case in self.desk.cases()}
            assert set(stored) == set(self.opened), "a case was lost or appeared from nowhere"
            for case_id in self.opened:
                case = stored[case_id]
                problems = check_case(case, self.desk.history(case_id), case_id)
                assert not problems, problems
                if isinstance(case.owner, Queue):
                    assert case.owner.name == case.tier
                else:
                    assert case.owner.name, "an agent owner needs a name"
                assert case.tier in self._tiers() or edits, f"{case.id} left its policy"
                self._check_paused(case)
                if case.status is not Status.CLOSED and not edits:  # edits: see below
                    check_timers(chosen_policy, self.desk.store, case)
                    check_shares(chosen_policy, self.desk.history(case_id), case,
                                 self.clock.now())

        @invariant()
        def every_case_keeps_the_timers_its_clocks_call_for(self) -> None:
            """No worker dropped a timer; a case in an unknown tier is reported by verify."""
            if not hasattr(self, "desk"):
                return
            stranded = set()
            for case in self.desk.cases():
                stored = {(t.clock, t.due_at) for t in self.desk.store.timers(case.id)}
                planned = {(t.clock, t.due_at)
                           for t in timing.timers_for(self.desk.policy, case)}
                assert stored == planned, f"{case.id}: timers {stored} but clocks call for " \
                                          f"{planned}"
                if case.status is not Status.CLOSED and case.tier not in self._tiers():
                    stranded.add(case.id)
            reported = {p.case_id for p in self.desk.verify(overdue_after=None)
                        if p.kind == "orphaned"}
            assert reported == stranded, f"verify reports {reported}, stranded are {stranded}"
            if stranded:
                event("a case waits in a tier the current policy lacks")

        # -- policy changes and a desk on the older policy ----------------------------

        @precondition(lambda self: bool(edits) and hasattr(self, "desk"))
        @rule(pick=st.integers(min_value=0, max_value=len(edits) or 1), migrate=st.booleans())
        def change_policy(self, pick: int, migrate: bool) -> None:
            """Switch policy (migrating with a tier map, or not); keep a desk on the old one."""
            new = edits[pick % len(edits)]
            old = self.desk.policy
            before = {c.id: c for c in self.desk.cases()}
            tier_map = self._tier_map(new) if migrate else None
            events = self.desk.change_policy(new, migrate=migrate, tier_map=tier_map)
            event(f"policy changed, migrate={migrate}, {len(events)} cases migrated")
            assert len({e.case_id for e in events}) == len(events), "one event per case"
            for migrated in events:
                assert migrated.kind.value == "noted" and migrated.actor is None
                was = before[migrated.case_id].tier
                assert migrated.tier_after == (tier_map or {}).get(was, was)
                assert migrated.tier_after in self._tiers()
            self.current = new
            if self.older is not None:
                self.older.shutdown()
            self.older = Desk(old, store=self.opener(), clock=self.clock,
                              autoload_plugins=False)

        def _tier_map(self, new: Policy) -> dict[str, str]:
            """Send every unclosed case's tier that `new` lacks to the tier at its level."""
            names = {t.name for ladder in new.ladders.values() for t in ladder.tiers}
            ladder = next(iter(new.ladders.values()))
            mapping = {}
            for case in self.desk.cases(status=("open", "active", "waiting", "resolved")):
                if case.tier not in names:
                    level = next(p.level(case.tier) for p in every_policy
                                 if case.tier in {t.name for t in p.ladders[case.ladder].tiers})
                    mapping[case.tier] = ladder.tiers[min(level, len(ladder.tiers) - 1)].name
            return mapping

        @precondition(lambda self: getattr(self, "older", None) is not None)
        @rule(minutes=st.integers(min_value=0, max_value=60 * 24))
        def tick_on_the_older_policy(self, minutes: int) -> None:
            """Some time passes; a worker not yet deployed with the new policy ticks first."""
            assert self.older is not None
            self.clock.advance(timedelta(minutes=minutes))
            now = self.clock.now()
            for fired in self.older.tick():
                event(f"older desk recorded {fired.kind.value}")
                assert fired.actor is None and fired.at <= now

        def _check_paused(self, case: Case) -> None:
            """A case that waits (or is resolved) accrues no business time on paused clocks.

            Waiting pauses every clock except an SLA target's whose `pause_on` does not
            list what the case waits on.
            """
            if case.status not in (Status.WAITING, Status.RESOLVED):
                self.paused.pop(case.id, None)
                return
            names = paused_clock_names(self.desk.policy, case)
            remaining = [(c.name, c.remaining, c.due_at) for c in case.clocks
                         if c.name in names]
            assert all(due is None for _, _, due in remaining), "a paused clock is running"
            seen = self.paused.get(case.id)
            if seen is not None and seen[0] == case.version:
                assert seen[1] == remaining, "a paused clock moved"
            self.paused[case.id] = (case.version, remaining)

    return LifecycleMachine
