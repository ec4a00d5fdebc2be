"""An idle owner's case goes back to the queue, and a case re-prioritised mid-clock.

On an office calendar (Europe/Bucharest, Mon-Thu 09:00-17:00, Fri 09:00-12:00 and
13:00-17:00): Ana claims a case on Friday afternoon and forgets it; on Monday morning the
worker returns it to the frontline queue. On Tuesday a normal case turns out to be an outage: it
becomes urgent three business hours in, keeps the time it used, and the trail says which
tier held the clock. A third case waits on a vendor without stopping its resolution clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from escalate import Desk, ManualClock, Policy

POLICY = """
wait_on = ["vendor"]

[calendars.office]
timezone = "Europe/Bucharest"
[calendars.office.hours]
mon = "09:00-17:00"
tue = "09:00-17:00"
wed = "09:00-17:00"
thu = "09:00-17:00"
fri = ["09:00-12:00", "13:00-17:00"]

[sla.normal]
first_response = "4h"
resolution = "8h"
next_update = "2h"
pause_on = ["customer"]
calendar = "office"

[sla.urgent]
first_response = "1h"
resolution = "4h"
calendar = "office"

[ladders.support]
calendar = "office"

[[ladders.support.tiers]]
name = "frontline"
members = ["ana", "bo"]
lead = "bo"
idle_after = "4h"

[[ladders.support.tiers]]
name = "specialists"
members = ["cy", "dan"]
lead = "cy"
idle_after = "2h"
idle_action = "escalate"

[[ladders.support.tiers]]
name = "management"
members = ["dee"]
realert_every = "4h"
"""

H = timedelta(hours=1)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A January 2026 time in Bucharest (UTC+2), as UTC."""
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC) - 2 * H


def show(at: datetime) -> str:
    return f"{at + 2 * H:%a %H:%M}"


def idle_return(desk: Desk, clock: ManualClock) -> None:
    clock.set(local(9, 15))                                     # Friday 15:00
    case = desk.open(title="Printer offline", customer="c-17", by="ana")
    desk.claim(case.id, by="ana")
    idle = desk.get(case.id).clock("idle")
    assert idle is not None and idle.due_at is not None
    print(f"Ana claims {case.id} on {show(clock.now())}; idle return due {show(idle.due_at)}")
    clock.set(local(12, 11))                                    # Monday 11:00
    for event in desk.tick():
        if event.data.get("clock") == "idle":
            told = sorted({n.recipient for n in desk.outbox() if n.seq == event.seq})
            print(f"  {show(event.at)} {event.kind.value} by {event.actor}: {event.reason}")
            print(f"  now owned by {desk.get(case.id).owner}; told: {', '.join(told)}")


def reprioritise(desk: Desk, clock: ManualClock) -> None:
    clock.set(local(13, 9))                                     # Tuesday 09:00
    case = desk.open(title="Checkout fails", customer="c-42", by="bo")
    desk.claim(case.id, by="bo")
    desk.respond(case.id, by="bo", message="looking into it")
    clock.set(local(13, 11))
    desk.escalate(case.id, by="bo", reason="needs a specialist")
    desk.claim(case.id, by="cy")
    clock.set(local(13, 12))
    desk.update(case.id, by="cy", reason="outage affects all shops", priority="urgent")
    updated = desk.history(case.id)[-1]
    resolution = desk.get(case.id).clock("resolution")
    assert resolution is not None and resolution.due_at is not None
    print(f"\n{case.id} updated {show(updated.at)}: {updated.data['before']} -> "
          f"{updated.data['after']}")
    print(f"  resolution: 3h of 8h used, now {resolution.target // H}h target: "
          f"due {show(resolution.due_at)}")
    clock.set(local(13, 13, 30))
    for event in desk.tick():
        if event.case_id == case.id:
            print(f"  {show(event.at)} {event.kind.value} ({event.data['clock']}): {event.reason}")
    explanation = desk.explain(case.id)
    print(f"  {explanation.route}")
    for share in desk.clock_shares(case.id):
        if share.clock == "resolution":
            print("  " + "\n  ".join(share.lines()))


def vendor_wait(desk: Desk, clock: ManualClock) -> None:
    clock.set(local(14, 9))                                     # Wednesday 09:00
    case = desk.open(title="Card reader firmware", customer="c-7", by="ana")
    desk.claim(case.id, by="ana")
    desk.respond(case.id, by="ana")
    desk.wait(case.id, by="ana", reason="vendor ticket 4711", on="vendor")
    resolution = desk.get(case.id).clock("resolution")
    assert resolution is not None and resolution.due_at is not None
    print(f"\n{case.id} waits on the vendor; its resolution clock still runs: due "
          f"{show(resolution.due_at)}")


def main() -> None:
    clock = ManualClock(local(9, 15))
    desk = Desk(Policy.from_toml_text(POLICY), store="memory://", clock=clock,
                autoload_plugins=False)
    idle_return(desk, clock)
    reprioritise(desk, clock)
    vendor_wait(desk, clock)


if __name__ == "__main__":
    main()
