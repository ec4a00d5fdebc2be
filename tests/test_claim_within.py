"""Acknowledgement timeouts: an arrival nobody claims re-alerts, one event per interval."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from escalate import ConfigError, Desk, ManualClock, Policy

POLICY_TOML = """
[schedules.specialists]
timezone = "UTC"
[[schedules.specialists.layers]]
members = ["cy", "dan"]
rotate = "daily"
start = "2026-11-02T00:00"

[ladders.support]

[[ladders.support.tiers]]
name = "frontline"
members = ["ana", "bo"]

[[ladders.support.tiers]]
name = "specialists"
members = ["cy", "dan"]
lead = "sam"
on_call = "specialists"
claim_within = "15m"
realert_every = "8h"
"""

T = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # cy is on call; dan from tomorrow 00:00


def policy() -> Policy:
    return Policy.from_dict(tomllib.loads(POLICY_TOML))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T)


@pytest.fixture
def desk(url: str, clock: ManualClock) -> Iterator[Desk]:
    with Desk(policy(), store=url, clock=clock, autoload_plugins=False) as made:
        yield made


def escalated(desk: Desk) -> str:
    case = desk.open(title="Server down", customer="c-1", by="ana")
    desk.escalate(case.id, by="ana", reason="needs a specialist")
    return case.id


def claim_alerts(desk: Desk, case_id: str) -> list[Any]:
    return [e for e in desk.history(case_id)
            if e.kind == "realerted" and e.data.get("clock") == "claim"]


def told(desk: Desk, case_id: str, seq: int) -> set[str]:
    return {n.recipient for n in desk.outbox(case_id=case_id) if n.seq == seq}


def test_unclaimed_arrival_realerts_the_next_on_call_then_the_lead(desk: Desk,
                                                                  clock: ManualClock) -> None:
    case_id = escalated(desk)
    clock.advance(timedelta(minutes=14))
    assert desk.tick() == []
    clock.advance(timedelta(minutes=1))
    (first,) = desk.tick()
    assert first.kind == "realerted" and first.actor is None
    assert first.data["clock"] == "claim" and first.data["called"] == ["dan"]
    assert "dan" in told(desk, case_id, first.seq)
    clock.advance(timedelta(minutes=15))
    (second,) = desk.tick()
    assert second.data["called"] == ["sam"]
    assert "sam" in told(desk, case_id, second.seq)
    desk.claim(case_id, by="cy")
    clock.advance(timedelta(hours=2))
    assert [e for e in desk.tick() if e.data.get("clock") == "claim"] == []
    assert len(claim_alerts(desk, case_id)) == 2


def test_a_late_tick_records_one_realert_per_interval(desk: Desk, clock: ManualClock) -> None:
    case_id = escalated(desk)
    clock.advance(timedelta(minutes=61))
    desk.tick()
    alerts = claim_alerts(desk, case_id)
    assert [e.at - T for e in alerts] == [timedelta(minutes=15 * n) for n in (1, 2, 3, 4)]
    assert desk.verify() == []


def test_claim_within_config_is_checked() -> None:
    data = tomllib.loads(POLICY_TOML)
    data["ladders"]["support"]["tiers"][1]["claim_within"] = "soon"
    with pytest.raises(ConfigError) as caught:
        Policy.from_dict(data)
    assert caught.value.path == "ladders.support.tiers[1].claim_within"
    assert Policy.from_dict(policy().to_dict()).tier("specialists").claim_within == \
        timedelta(minutes=15)


WORKER = """
import sys
from datetime import datetime
from escalate import Desk, ManualClock, Policy
policy = Policy.from_toml(sys.argv[2])
moment = datetime.fromisoformat(sys.argv[3])
with Desk(policy, store=sys.argv[1], clock=ManualClock(moment), autoload_plugins=False) as desk:
    print(len(desk.tick()))
"""


def test_four_worker_processes_realert_once_per_interval(tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(POLICY_TOML, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    with Desk(policy(), store=url, clock=ManualClock(T), autoload_plugins=False) as desk:
        ids = [escalated(desk) for _ in range(40)]
    moment = (T + timedelta(minutes=61)).isoformat()
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, url, str(policy_file), moment],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(4)]
    outputs = [worker.communicate(timeout=600) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), [err for _, err in outputs]
    assert sum(int(out) for out, _ in outputs) == 40 * 4
    with Desk(policy(), store=url, clock=ManualClock(T), autoload_plugins=False) as desk:
        for case_id in ids:
            alerts = Counter(e.at for e in claim_alerts(desk, case_id))
            assert sorted(alerts) == [T + timedelta(minutes=15 * n) for n in (1, 2, 3, 4)]
            assert set(alerts.values()) == {1}
        assert desk.verify(overdue_after=None) == []
