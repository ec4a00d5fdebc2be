"""Stateful property: random arrivals, moves, availability changes and time under automatic
assignment and an on-call schedule. After every step each case has exactly one owner, and
no automatic assignment ever gave a case to an unavailable agent, a non-member, or (on a
scheduled tier) someone off call; round-robin arrivals are spread evenly."""

from __future__ import annotations

import tempfile
import tomllib
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from escalate import Desk, EscalateError, ManualClock, Policy
from escalate.model import Agent, Queue

POLICY = tomllib.loads("""
admins = ["root"]

[schedules.nights]
timezone = "Europe/Bucharest"
[[schedules.nights.layers]]
members = ["cy", "dan", "eve"]
rotate = "8h"
start = "2026-11-02T09:00"

[ladders.support]

[[ladders.support.tiers]]
name = "frontline"
members = ["ana", "bo", "fay"]
lead = "lee"
assign = "round_robin"
escalate_after = "6h"

[[ladders.support.tiers]]
name = "specialists"
members = ["cy", "dan", "eve"]
lead = "sam"
on_call = "nights"
assign = "least_loaded"
realert_every = "4h"
""")

START = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)
AGENTS = ["ana", "bo", "fay", "cy", "dan", "eve"]


class AssignmentMachine(RuleBasedStateMachine):
    """One desk on SQLite or memory, driven at random."""

    store_url = "memory://"

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(START)
        self.policy = Policy.from_dict(POLICY)
        self.desk = Desk(self.policy, store=self.store_url, clock=self.clock,
                         autoload_plugins=False)
        self.ids: list[str] = []
        self.checked: set[tuple[str, int]] = set()
        self.round_robin: list[str] = []
        self.seen_rows: set[str] = set()

    def teardown(self) -> None:
        self.desk.shutdown()

    @rule(n=st.integers(1, 3))
    def open_cases(self, n: int) -> None:
        for _ in range(n):
            self.ids.append(self.desk.open(title="t", customer="c").id)

    @precondition(lambda self: self.ids)
    @rule(index=st.integers(0, 10_000), data=st.data())
    def act(self, index: int, data: st.DataObject) -> None:
        case = self.desk.get(self.ids[index % len(self.ids)])
        actor = case.owner.name if isinstance(case.owner, Agent) else "root"
        action = data.draw(st.sampled_from(["escalate", "claim", "resolve", "wait", "resume"]))
        try:
            if action == "escalate":
                self.desk.escalate(case.id, by=actor)
            elif action == "claim":
                self.desk.claim(case.id, by=actor)
            elif action == "resolve":
                self.desk.resolve(case.id, by=actor, resolution="done")
            elif action == "wait":
                self.desk.wait(case.id, by=actor)
            else:
                self.desk.resume(case.id, by=actor)
        except EscalateError:
            pass

    @rule(agent=st.sampled_from(AGENTS), available=st.booleans(),
          returning=st.booleans(), hours=st.none() | st.integers(1, 12))
    def availability(self, agent: str, available: bool, returning: bool,
                     hours: int | None) -> None:
        until = None if hours is None else self.clock.now() + timedelta(hours=hours)
        self.desk.set_available(agent, available, by="root", until=until,
                                return_cases=returning)

    @rule(minutes=st.integers(1, 600))
    def advance_and_tick(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))
        self.desk.tick()

    @invariant()
    def one_owner_and_every_assignment_was_fair_game(self) -> None:
        for case_id in self.ids:
            case = self.desk.get(case_id)
            assert isinstance(case.owner, Agent | Queue)
            for event in self.desk.history(case_id):
                key = (case_id, event.seq)
                if key in self.checked or event.kind != "assigned" or event.actor is not None:
                    self.checked.add(key)
                    continue
                self.checked.add(key)
                chosen = event.owner_after.name
                tier = self.policy.tier(event.tier_after)
                assert chosen in tier.members, (chosen, tier.name)
                assert self.desk.available(chosen, at=event.at), (chosen, event.at)
                if tier.on_call is not None:
                    assert chosen in self.policy.on_call(tier.name, event.at)
                if event.data["strategy"] == "round_robin":
                    self.round_robin.append(chosen)

    @invariant()
    def nobody_unavailable_is_told(self) -> None:
        """Rows written since the last step never go to an agent unavailable when written."""
        for row in self.desk.outbox():
            if row.key in self.seen_rows:
                continue
            self.seen_rows.add(row.key)
            if row.recipient in AGENTS:
                assert self.desk.available(row.recipient, at=row.created_at), row


class SqliteAssignmentMachine(AssignmentMachine):
    """The same on a fresh SQLite file for every run."""

    def __init__(self) -> None:
        self.folder = tempfile.TemporaryDirectory()
        self.store_url = f"sqlite:///{Path(self.folder.name) / 'cases.db'}"
        super().__init__()

    def teardown(self) -> None:
        super().teardown()
        self.folder.cleanup()


TestAssignmentOnMemory = AssignmentMachine.TestCase
TestAssignmentOnSqlite = SqliteAssignmentMachine.TestCase
TestAssignmentOnSqlite.settings = settings(max_examples=25, stateful_step_count=30,
                                           deadline=None)


def test_round_robin_with_everyone_present_is_even(tmp_path: Path) -> None:
    with Desk(Policy.from_dict(POLICY), store=f"sqlite:///{tmp_path / 'c.db'}",
              clock=ManualClock(START), autoload_plugins=False) as desk:
        owners = Counter(desk.open(title="t", customer="c").owner.name for _ in range(30))
    assert owners == {"ana": 10, "bo": 10, "fay": 10}
