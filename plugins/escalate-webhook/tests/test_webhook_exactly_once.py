"""Two dispatchers and a receiver slower than the lease: every notification arrives once.

The receiver answers each request after SLOW_SECONDS (0.5 s); the policy's lease is 0.2 s.
Two dispatchers (threads on one memory store, threads on one SQLite file, and two processes
on one SQLite file) drain the same outbox at the same time. Every row must reach the receiver
exactly once, carry its key in `Idempotency-Key`, and be recorded as delivered on its first
attempt by exactly one dispatcher.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from escalate_webhook import IDEMPOTENCY_HEADER, WebhookNotifier
from webhook_support import SECRET, SLOW_SECONDS, Receiver

from escalate import Desk, Policy

LEASE = 0.2
#: A dispatcher stops after this many seconds even with rows left pending (the assertions
#: then fail): a guard against a livelock, never part of what is checked.
GIVE_UP = 60.0
CASES = 6
POLICY: dict[str, Any] = {
    "ladders": {"support": {"tiers": [{"name": "frontline", "members": ["ana", "bo", "cy"]}]}},
    "notifications": {"channels": ["webhook"], "lease": f"{LEASE}s", "timeout": "5s",
                      "backoff": "0.1s", "max_attempts": 3},
}

#: One dispatcher process: drains the outbox of the SQLite file argv[1] into URL argv[2].
DISPATCHER = """
import sys, time
from escalate import Desk, Policy
from escalate_webhook import WebhookNotifier
policy = Policy.from_dict({policy!r})
notifier = WebhookNotifier(sys.argv[2], secret={secret!r})
with Desk(policy, store="sqlite:///" + sys.argv[1], plugins=[notifier],
          autoload_plugins=False) as desk:
    recorded = 0
    give_up = time.monotonic() + {give_up}
    while desk.outbox(status="pending") and time.monotonic() < give_up:
        done = desk.dispatch(limit=5)
        recorded += len(done)
        if not done:
            time.sleep(0.02)
print(recorded)
"""


def policy() -> Policy:
    return Policy.from_dict(POLICY)


def drain(desk: Desk) -> int:
    """Dispatch until no row is pending; the number of outcomes this dispatcher recorded."""
    recorded = 0
    give_up = time.monotonic() + GIVE_UP
    while desk.outbox(status="pending") and time.monotonic() < give_up:
        done = desk.dispatch(limit=5)
        recorded += len(done)
        if not done:
            time.sleep(0.02)
    return recorded


def fill(url: str) -> int:
    """Open CASES cases; each tells two agents. Returns the number of outbox rows."""
    with Desk(policy(), store=url, autoload_plugins=False) as desk:
        for n in range(CASES):
            desk.open(title=f"printer {n}", customer="c-17", channel="phone", by="ana")
        return len(desk.outbox())


def check_delivered_once(url: str, receiver: Receiver, recorded: list[int]) -> None:
    """Every row delivered once, on attempt 1, recorded by one dispatcher; none sent twice."""
    with Desk(policy(), store=url, autoload_plugins=False) as desk:
        rows = desk.outbox()
    assert len(rows) == 2 * CASES
    sent = Counter(request.headers[IDEMPOTENCY_HEADER] for request in receiver.requests)
    assert sent == Counter(row.key for row in rows), "each message reached the receiver once"
    assert all(r.valid and r.headers["X-Escalate-Key"] == r.headers[IDEMPOTENCY_HEADER]
               for r in receiver.requests)
    assert [(row.status, row.attempts, row.lease_id) for row in rows] == \
        [("delivered", 1, 1)] * len(rows), "one claim, one attempt, per row"
    assert sum(recorded) == len(rows), "each outcome was recorded by exactly one dispatcher"


def two_threads(url: str, receiver: Receiver) -> list[int]:
    recorded: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        notifier = WebhookNotifier(receiver.url("/slow"), secret=SECRET)
        with Desk(policy(), store=url, plugins=[notifier], autoload_plugins=False) as desk:
            count = drain(desk)
        with lock:
            recorded.append(count)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return recorded


def test_the_receiver_is_slower_than_the_lease() -> None:
    assert SLOW_SECONDS > LEASE * 2, "the scenario needs sends that outlive the lease"


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_two_dispatcher_threads_deliver_each_row_once(kind: str, receiver: Receiver,
                                                      tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    if kind == "memory":
        from escalate.stores.memory import MemoryStore
        shared = MemoryStore()
        with Desk(policy(), store=shared, autoload_plugins=False) as desk:
            for n in range(CASES):
                desk.open(title=f"printer {n}", customer="c-17", channel="phone", by="ana")
        url_or_store: Any = shared
    else:
        fill(url)
        url_or_store = url
    recorded = two_threads(url_or_store, receiver)
    check_delivered_once(url_or_store, receiver, recorded)


def test_two_dispatcher_processes_deliver_each_row_once(receiver: Receiver,
                                                        tmp_path: Path) -> None:
    path = tmp_path / "cases.db"
    fill(f"sqlite:///{path}")
    script = DISPATCHER.format(policy=POLICY, secret=SECRET, give_up=GIVE_UP)
    workers = [subprocess.Popen([sys.executable, "-c", script, str(path), receiver.url("/slow")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ))
               for _ in range(2)]
    results = [worker.communicate(timeout=120) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], [err for _, err in results]
    check_delivered_once(f"sqlite:///{path}", receiver, [int(out) for out, _ in results])
