"""Four worker processes on one PostgreSQL schema re-alert an unclaimed arrival once an interval."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pgschemas import URL, Schemas

from escalate import Desk, ManualClock, Policy

POLICY_TOML = """
[ladders.support]

[[ladders.support.tiers]]
name = "frontline"
members = ["ana", "bo"]

[[ladders.support.tiers]]
name = "specialists"
members = ["cy", "dan"]
lead = "sam"
claim_within = "15m"
realert_every = "8h"
"""

T = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)

WORKER = """
import sys
from datetime import datetime
from escalate import Desk, ManualClock, Policy
policy = Policy.from_toml(sys.argv[2])
moment = datetime.fromisoformat(sys.argv[3])
with Desk(policy, store=sys.argv[1], clock=ManualClock(moment), autoload_plugins=True) as desk:
    print(len(desk.tick()))
"""


def test_four_worker_processes_realert_once_per_interval(schemas: Schemas,
                                                         tmp_path: Path) -> None:
    policy = Policy.from_dict(tomllib.loads(POLICY_TOML))
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(POLICY_TOML, encoding="utf-8")
    url = f"{URL}?schema={schemas.new()}"
    with Desk(policy, store=url, clock=ManualClock(T), autoload_plugins=True) as desk:
        ids = []
        for _ in range(40):
            case = desk.open(title="Server down", customer="c-1", by="ana")
            desk.escalate(case.id, by="ana")
            ids.append(case.id)
    moment = (T + timedelta(minutes=61)).isoformat()
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, url, str(policy_file), moment],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(4)]
    outputs = [worker.communicate(timeout=600) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), [err for _, err in outputs]
    assert sum(int(out) for out, _ in outputs) == 40 * 4
    with Desk(policy, store=url, clock=ManualClock(T), autoload_plugins=True) as desk:
        for case_id in ids:
            alerts = Counter(e.at for e in desk.history(case_id)
                             if e.kind == "realerted" and e.data.get("clock") == "claim")
            assert sorted(alerts) == [T + timedelta(minutes=15 * n) for n in (1, 2, 3, 4)]
            assert set(alerts.values()) == {1}
        assert desk.verify(overdue_after=None) == []
