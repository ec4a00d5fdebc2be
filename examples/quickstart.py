"""Quick start: open a case, move it through its lifecycle, read its trail. Runs in a second."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from escalate import Desk, EscalateError, ManualClock, Policy

POLICY = Path(__file__).with_name("escalation.toml")


def main() -> None:
    policy = Policy.from_toml(POLICY)
    clock = ManualClock()
    db = Path(tempfile.mkdtemp(prefix="escalate-quickstart-")) / "cases.db"
    with Desk(policy, store=f"sqlite:///{db}", clock=clock) as desk:
        case = desk.open(title="Invoice is wrong", customer="c-17", channel="phone",
                         priority="normal", by="ana")
        print(f"opened {case.id}: owner {case.owner}, status {case.status}")
        desk.claim(case.id, by="ana")
        clock.advance(timedelta(minutes=20))
        desk.transfer(case.id, to="bo", by="ana",
                      note="Customer sent the invoice; needs a credit note")
        desk.escalate(case.id, by="bo", reason="needs billing specialist")
        desk.respond(case.id, by="cy")
        desk.wait(case.id, by="cy", reason="asked for account number")
        clock.advance(timedelta(hours=3))
        desk.resume(case.id, by="cy")
        case = desk.resolve(case.id, by="cy", resolution="credit note issued")
        print(f"resolved by {case.owner} in tier {case.tier}; contact stays {case.contact}; "
              f"{case.transfers} transfer, {case.escalations} escalation")

        try:
            desk.escalate(case.id, by="cy")
        except EscalateError as exc:
            print(f"refused, nothing changed: {exc}")

        print("\ntrail:")
        for event in desk.history(case.id):
            print(f"  {event.seq:>2} {event.at:%H:%M} {event.kind:<11} "
                  f"{event.actor or 'escalate':<5} -> {event.owner_after} ({event.status_after})")
        print(f"\nverify: {desk.verify() or 'all invariants hold'}")


if __name__ == "__main__":
    main()
