"""A process that races other processes on the same cases: actions, ticks and dispatch.

Usage: pg_actor.py URL SCHEMA SEED ACTIONS CASE_ID...

Prints "ready", waits for one line on stdin (the start signal), then performs ACTIONS
random actions (claim, transfer, escalate, resolve, reopen) on the given cases with the
Desk's default conflict retries, ticking and dispatching now and then with its own clock.
Every action that returned is printed as "ok CASE VERSION KIND ACTOR" (the version of the
case it returned), every event recorded by a tick as "fired CASE SEQ KIND" (from the
committed-event hook, so a tick that fails later still reports what it committed), every
refusal as "refused ERRORTYPE". Ends with "retries N": how many lost races the Desk retried.
"""

from __future__ import annotations

import logging
import random
import sys
from datetime import timedelta

from escalate_postgres import PostgresStore
from pg_cases import T0, policy

from escalate import Case, Desk, EscalateError, Event, ManualClock
from escalate.model import EVENT_OF_ACTION, Action

PEOPLE = {"frontline": ["ana", "bo"], "specialists": ["cy", "dan"], "management": ["dee"]}
#: Escalation is rarer than the rest: a case at the top tier can only be claimed, moved
#: among its members, resolved and reopened, so most cases should stay below it.
ACTIONS = ("claim",) * 3 + ("transfer",) * 3 + ("escalate",) + ("resolve",) * 2 + ("reopen",) * 2


class Retries(logging.Handler):
    """Counts the Desk's "conflict on ..., retrying" messages."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("conflict on "):
            self.count += 1


class TimerEvents:
    """Prints each event a tick of this process committed."""

    def escalate_event_committed(self, desk: Desk, case: Case, event: Event) -> None:
        if event.actor is None:
            print(f"fired {event.case_id} {event.seq} {event.kind.value}", flush=True)


def act(desk: Desk, rng: random.Random, case_id: str) -> tuple[Case, str, str]:
    """One random action; returns the case it left, the event kind and the actor."""
    case = desk.get(case_id)
    members = PEOPLE[case.tier]
    actor = rng.choice([*members, "root"])
    action = rng.choice(ACTIONS)
    if action == "claim":
        after = desk.claim(case_id, by=actor)
    elif action == "transfer":
        after = desk.transfer(case_id, to=rng.choice(members), by=actor,
                              note=f"handoff from {actor}")
    elif action == "escalate":
        after = desk.escalate(case_id, by=actor, reason="needs the next tier")
    elif action == "resolve":
        after = desk.resolve(case_id, by=actor, resolution="fixed")
    else:
        after = desk.reopen(case_id, by=actor, reason="customer came back")
    return after, EVENT_OF_ACTION[Action(action)].value, actor


def main() -> None:
    url, schema, seed, count, *case_ids = sys.argv[1:]
    rng = random.Random(int(seed))
    retries = Retries()
    logging.getLogger("escalate.desk").addHandler(retries)
    logging.getLogger("escalate.desk").setLevel(logging.DEBUG)
    clock = ManualClock(T0)
    store = PostgresStore(url, schema=schema, pool_min=1, pool_max=2)
    desk = Desk(policy("RACING"), store=store, clock=clock, plugins=[TimerEvents()],
                autoload_plugins=False)
    print("ready", flush=True)
    sys.stdin.readline()
    for _ in range(int(count)):
        try:
            case, kind, actor = act(desk, rng, rng.choice(case_ids))
        except EscalateError as exc:
            print(f"refused {type(exc).__name__}", flush=True)
        else:
            print(f"ok {case.id} {case.version} {kind} {actor}", flush=True)
        clock.advance(timedelta(minutes=rng.randint(1, 6)))
        if rng.random() < 0.15:
            try:
                desk.tick(batch=1)
                desk.dispatch(limit=20)
            except EscalateError as exc:
                print(f"refused {type(exc).__name__}", flush=True)
    desk.shutdown()
    print(f"retries {retries.count}", flush=True)


if __name__ == "__main__":
    main()
