"""Crash safety: a worker and a stream of actions on SQLite, killed with SIGKILL 50 times.

After each kill the store reopens and every invariant holds: no acknowledged case lost,
every case owned, events gap-free and chained, replay equals state, no timer fired twice,
and every event has the notifications the policy calls for.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from escalate import Desk, EventKind, Policy
from escalate.fold import apply
from escalate.model import Case
from escalate.notify import plan

ROOT = Path(__file__).resolve().parent.parent
CHILD = Path(__file__).resolve().parent / "support" / "crash_child.py"
KILLS = 50
TIMER_KINDS = {EventKind.WARNED, EventKind.BREACHED, EventKind.REALERTED}


def run_and_kill(db: Path, seed: int, rng: random.Random) -> list[str]:
    child = subprocess.Popen([sys.executable, str(CHILD), str(db), str(seed)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready", child.stderr.read() if child.stderr else ""
    # the kill falls at a random moment of real work, however slow a busy machine makes it
    first = child.stdout.readline().strip()
    assert first.startswith("opened "), child.stderr.read() if child.stderr else first
    time.sleep(rng.uniform(0.01, 0.25))
    child.kill()
    out, err = child.communicate()
    assert child.returncode == -9, err
    return [line.split()[1] for line in [first, *out.splitlines()] if line.startswith("opened ")]


def check_notifications(policy: Policy, desk: Desk, case_id: str) -> None:
    stored = {n.key for n in desk.outbox(case_id=case_id)}
    events = desk.history(case_id)
    case: Case | None = None
    for i, event in enumerate(events):
        case = apply(case, event)
        after = events[i + 1] if i + 1 < len(events) else None
        paired = (event.kind is EventKind.BREACHED and after is not None
                  and after.kind is EventKind.ESCALATED and after.at == event.at)
        if paired:
            continue  # rendered with the case after its escalation, in the same transaction
        expected = {n.key for n in plan(policy, case, [event])}
        assert expected <= stored, f"notifications of {case_id} seq {event.seq} are missing"


def test_sigkill_at_random_moments_never_loses_or_doubles(tmp_path: Path) -> None:
    policy = Policy.from_toml(ROOT / "examples" / "escalation.toml")
    db = tmp_path / "cases.db"
    rng = random.Random(7)
    acknowledged: set[str] = set()
    for kill in range(KILLS):
        acknowledged.update(run_and_kill(db, kill, rng))
        with Desk(policy, store=f"sqlite:///{db}", autoload_plugins=False) as desk:
            assert desk.verify(overdue_after=None) == [], f"after kill {kill}"
            stored = {case.id for case in desk.cases()}
            assert acknowledged <= stored, f"lost {acknowledged - stored} after kill {kill}"
            for case_id in stored:
                fired = Counter((e.kind, e.tier_before, e.at, e.reason)
                                for e in desk.history(case_id)
                                if e.actor is None and (e.kind in TIMER_KINDS
                                                        or e.kind is EventKind.ESCALATED))
                assert all(n == 1 for n in fired.values()), f"a timer fired twice: {fired}"
                check_notifications(policy, desk, case_id)
    assert len(acknowledged) >= KILLS, "every child acknowledged work before its kill"
