"""A filled SQLite store and raw access to its rows, for the verify tests."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from escalate import Desk, ManualClock, Policy
from escalate.testing import timed_policy

APPEND_ONLY_TRIGGERS = ("events_append_only_update", "events_append_only_delete",
                        "case_registry_append_only_update", "case_registry_append_only_delete")


def filled_desk(path: Path, policy: Policy | None = None) -> Desk:
    """A desk on a new SQLite file with cases in every state, timers and outbox rows."""
    clock = ManualClock()
    desk = Desk(policy or timed_policy(), store=f"sqlite:///{path}", clock=clock,
                autoload_plugins=False)
    first = desk.open(title="Invoice is wrong", customer="c-1", channel="phone", by="ana")
    desk.claim(first.id, by="ana")
    desk.note(first.id, "asked for the invoice", by="ana")
    second = desk.open(title="Login fails", customer="c-2", channel="web")
    desk.claim(second.id, by="bo")
    desk.escalate(second.id, by="bo", reason="needs a specialist")
    third = desk.open(title="Refund", customer="c-3", channel="email", by="bo")
    desk.claim(third.id, by="bo")
    desk.resolve(third.id, by="bo", resolution="refunded")
    desk.open(title="Still queued", customer="c-4", channel="chat")
    clock.advance(timedelta(hours=3))
    desk.tick()
    desk.dispatch()
    desk.note(first.id, "after the warning", by="bo")
    return desk


def raw(path: Path) -> sqlite3.Connection:
    """A plain connection with the append-only triggers dropped, as an attacker would."""
    db = sqlite3.connect(path, isolation_level=None)
    for name in APPEND_ONLY_TRIGGERS:
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
    return db


def kinds(desk: Desk) -> dict[str, set[str]]:
    """Problem kinds by case id."""
    found: dict[str, set[str]] = {}
    for problem in desk.verify(overdue_after=None):
        found.setdefault(problem.case_id, set()).add(problem.kind)
    return found
