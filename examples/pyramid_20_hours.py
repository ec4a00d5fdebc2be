"""The support pyramid with the 20-hour rule: simulated weeks of cases climbing the tiers.

Cases arrive through Monday and Tuesday; frontline resolves most of them; anything not
resolved within 20 business hours moves up to the specialists, and 20 hours later to
management, which never drops a case and re-alerts every 4 business hours.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from escalate import Desk, ManualClock, Policy

POLICY = Path(__file__).with_name("escalation.toml")
MONDAY = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # 09:00 in Bucharest


def main() -> None:
    rng = random.Random(20)
    clock = ManualClock(MONDAY)
    policy = Policy.from_toml(POLICY)
    office = policy.calendar("office")
    desk = Desk(policy, store="memory://", clock=clock, autoload_plugins=False)
    people = {"frontline": ["ana", "bo"], "specialists": ["cy", "dan"], "management": ["dee"]}
    speedup = {"frontline": 1, "specialists": 3, "management": 6}
    arrivals = sorted(MONDAY + timedelta(minutes=rng.randrange(0, 2 * 24 * 60))
                      for _ in range(24))
    effort = {}  # case id -> business hours of frontline work the problem needs
    print("Two weeks, one line per escalation, re-alert and resolution (Bucharest time):")
    local = timedelta(hours=2)
    while clock.now() < MONDAY + timedelta(days=12):
        while arrivals and arrivals[0] <= clock.now():
            arrivals.pop(0)
            case = desk.open(title=f"Problem {len(effort) + 1}", customer="c",
                             channel=rng.choice(["phone", "email", "web"]))
            effort[case.id] = rng.choice([1, 2, 4, 8, 16, 30, 45, 60, 130])
        for case in desk.cases(status=("open", "active")):
            if case.status == "open":
                desk.claim(case.id, by=rng.choice(people[case.tier]))
                continue
            worked = office.between(case.tier_entered_at, clock.now())
            if worked >= timedelta(hours=effort[case.id] / speedup[case.tier]):
                desk.resolve(case.id, by=case.owner.name, resolution="fixed")
                print(f"  {clock.now() + local:%a %H:%M} {case.id:<5} resolved in {case.tier}")
        for event in desk.tick():
            if event.kind.value in ("escalated", "realerted"):
                print(f"  {event.at + local:%a %H:%M} {event.case_id:<5} {event.kind.value} "
                      f"({event.tier_after})")
        clock.advance(timedelta(minutes=30))
    desk.dispatch()

    cases = list(desk.cases())
    events = list(desk.events())
    resolved_in = Counter(c.tier for c in cases if c.status == "resolved")
    still_open = Counter(c.tier for c in cases if c.status in ("open", "active"))
    ups = Counter(e.tier_after for e in events if e.kind.value == "escalated")
    print("\nFigures for the two weeks:")
    print(f"  cases: {len(cases)}; resolved per tier: {dict(sorted(resolved_in.items()))}")
    print(f"  escalations into: {dict(sorted(ups.items()))}")
    print(f"  still open per tier: {dict(sorted(still_open.items()))}")
    print(f"  re-alerts at the top: {sum(e.kind.value == 'realerted' for e in events)}")
    print(f"  notifications delivered: {len(desk.outbox(status='delivered'))}")
    print(f"  verify: {desk.verify() or 'all invariants hold'}")


if __name__ == "__main__":
    main()
