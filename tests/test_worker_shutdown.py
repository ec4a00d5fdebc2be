"""`escalate worker` stops within one timer's transaction after SIGTERM/SIGINT.

A worker process starts on a SQLite file with 1,500 overdue cases (one breach timer each). As
soon as it has fired a few of them, it receives the signal. It must exit with code 0, log that
it stopped, and leave almost all of the backlog due: it stops between timers, not after the
backlog. `Desk.dispatch` likewise stops between deliveries.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from escalate import Desk, ManualClock, Notification, Policy, hookimpl

CASES = 1500
#: Timers the worker fires before it is signalled, so that it is in the middle of its tick.
STARTED = 20
#: Timers it may still fire after the last count read before the signal: the one in flight,
#: plus those fired while this process was descheduled between reading and signalling.
#: Without the stop check between timers it fires the whole rest of the backlog (about 1,480).
SLACK = 60
POLICY = """
[calendars.always]
hours = "24x7"

[sla.normal]
first_response = "1h"
calendar = "always"

[ladders.support]
calendar = "always"

[[ladders.support.tiers]]
name = "frontline"
members = ["ana", "bo"]
"""


def breaches(path: Path) -> int:
    db = sqlite3.connect(path, timeout=30)
    try:
        return int(db.execute("SELECT count(*) FROM events WHERE kind = 'breached'"
                              ).fetchone()[0])
    finally:
        db.close()


def due_timers(path: Path) -> int:
    db = sqlite3.connect(path, timeout=30)
    try:
        return int(db.execute("SELECT count(*) FROM timers").fetchone()[0])
    finally:
        db.close()


@pytest.fixture(scope="module")
def backlog(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A policy file and a SQLite file with CASES cases whose first response is years late."""
    folder = tmp_path_factory.mktemp("backlog")
    policy_path = folder / "policy.toml"
    policy_path.write_text(POLICY)
    db = folder / "cases.db"
    clock = ManualClock(datetime(2020, 1, 6, 9, 0, tzinfo=UTC))
    with Desk(Policy.from_toml(policy_path), store=f"sqlite:///{db}", clock=clock,
              autoload_plugins=False) as desk:
        for n in range(CASES):
            desk.open(title=f"case {n}", customer=f"c-{n}", channel="phone", priority="normal")
    assert due_timers(db) == CASES
    return policy_path, db


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_worker_stops_between_timers(backlog: tuple[Path, Path], tmp_path: Path,
                                         signum: signal.Signals) -> None:
    policy_path, original = backlog
    db = tmp_path / "cases.db"
    source = sqlite3.connect(original)
    target = sqlite3.connect(db)
    source.backup(target)
    source.close()
    target.close()
    log = (tmp_path / "worker.log").open("w+")
    worker = subprocess.Popen(
        [sys.executable, "-c", "from escalate.cli import main; main()", "worker",
         "--db", f"sqlite:///{db}", "--policy", str(policy_path)],
        stdout=log, stderr=log, env=dict(os.environ), start_new_session=True)
    try:
        before = breaches(db)
        while before < STARTED and worker.poll() is None:
            time.sleep(0.01)
            before = breaches(db)
        worker.send_signal(signum)
        code = worker.wait(timeout=120)  # a hang guard, not a measurement
    finally:
        if worker.poll() is None:
            worker.kill()
    log.seek(0)
    text = log.read()
    after = breaches(db)
    assert code == 0, text
    assert "worker stopped" in text and signal.Signals(signum).name in text
    assert STARTED <= before <= after <= before + SLACK, (before, after)
    assert due_timers(db) == CASES - after > 0, "the rest of the backlog is left due"


class _StopAfterFirst:
    """A notifier that delivers and then sets `stop`, as a signal arriving mid-dispatch."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.delivered: list[str] = []

    @hookimpl
    def escalate_deliver(self, notification: Notification) -> bool | None:
        self.delivered.append(notification.key)
        self.stop.set()
        return True


def test_dispatch_stops_between_deliveries(policy: Policy) -> None:
    stop = threading.Event()
    notifier = _StopAfterFirst(stop)
    with Desk(policy, store="memory://", clock=ManualClock(), plugins=[notifier],
              autoload_plugins=False) as desk:
        for n in range(5):
            desk.open(title=f"case {n}", customer="c", channel="phone", by="ana")
        pending = len(desk.outbox(status="pending"))
        (done,) = desk.dispatch(stop=stop)
        assert notifier.delivered == [done.key] and done.status == "delivered"
        assert len(desk.outbox(status="pending")) == pending - 1
        assert desk.dispatch(stop=stop) == []
        stop.clear()
        assert len(desk.dispatch()) == pending - 1
