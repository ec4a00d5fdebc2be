"""A week of a rotating on-call team: round-robin arrivals, on-call escalations, a holiday.

Frontline hands new cases out in turn; cases not resolved within 4 business hours go up to
the specialists, where only whoever is on call that day is called and given the case. On
Tuesday bo goes on holiday until Thursday and hands his cases back; nothing is given to
him or sent to him while he is away.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from escalate import Desk, ManualClock, Policy

POLICY = Path(__file__).with_name("oncall_week.toml")
MONDAY = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # 09:00 in Bucharest
LOCAL = timedelta(hours=2)


def main() -> None:
    rng = random.Random(7)
    clock = ManualClock(MONDAY)
    desk = Desk(Policy.from_toml(POLICY), store="memory://", clock=clock,
                autoload_plugins=False)
    print("Monday to Friday, one line per hand-out (Bucharest time):")
    for _hour in range(5 * 24):
        now = clock.now()
        local = now + LOCAL
        if local.weekday() < 5 and 9 <= local.hour < 17:
            for _ in range(rng.choice([0, 1, 1, 2])):
                case = desk.open(title=f"Problem at {local:%a %H:%M}", customer="c-1",
                                 channel=rng.choice(["phone", "email", "web"]))
                print(f"  {local:%a %H:%M} {case.id:<5} new, given to {case.owner.name}")
        if now == MONDAY + timedelta(days=1, hours=3):
            desk.set_available("bo", False, by="bo", reason="holiday",
                               until=MONDAY + timedelta(days=3), return_cases=True)
            print(f"  {local:%a %H:%M} bo goes on holiday until Thursday 09:00; his cases "
                  "go back to the queue and are handed out again")
        called: dict[str, list[str]] = {}
        for event in desk.tick():
            if event.kind == "escalated":
                called[event.case_id] = event.data.get("on_call", [])
            if event.kind == "assigned" and event.tier_after == "specialists":
                print(f"  {event.at + LOCAL:%a %H:%M} {event.case_id:<5} escalated; on call: "
                      f"{', '.join(called[event.case_id]) or 'nobody'}; given to "
                      f"{event.owner_after.name}")
        for case in desk.cases(status="open"):
            if rng.random() < 0.3 and case.tier == "frontline":
                desk.resolve(case.id, by=case.owner.name, resolution="fixed")
        clock.advance(timedelta(hours=1))

    events = list(desk.events())
    given = Counter(e.owner_after.name for e in events
                    if e.kind == "assigned" and e.actor is None)
    told = Counter(n.recipient for n in desk.outbox())
    holiday = (MONDAY + timedelta(days=1, hours=3), MONDAY + timedelta(days=3))
    during = [e for e in events if e.kind == "assigned" and holiday[0] < e.at < holiday[1]]
    print("\nCases handed out automatically, per agent:")
    for name, count in sorted(given.items()):
        print(f"  {name:<4} {count:>3}   (told of {told.get(name, 0)} events)")
    print(f"\nWhile bo was away, {len(during)} cases were handed out, "
          f"{sum(1 for e in during if e.owner_after.name == 'bo')} of them to bo.")
    assert all(e.owner_after.name != "bo" for e in during)
    assert desk.verify() == []


if __name__ == "__main__":
    main()
