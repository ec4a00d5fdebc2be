"""Small hand-made logs for replay tests: a mapping with New/Active/Resolved/Closed."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from escalate.replay import ReplayMapping, ReplayResult, replay_csv
from escalate.stores.memory import MemoryStore
from escalate.verify import verify_store

HEADER = ["case", "at", "status", "owner", "team"]
STATUS_MAP = {"New": "return", "Active": "claim", "Resolved": "resolve", "Closed": "close"}
TEAMS = {"T1": "frontline", "T2": "frontline", "T3": "specialists", "T4": "management"}


def mapping(**overrides: Any) -> ReplayMapping:
    values: dict[str, Any] = {
        "case_id": "case", "timestamp": "at", "status": "status", "owner": "owner",
        "team": "team", "status_map": STATUS_MAP, "missing": ["", "?"],
        "tiers": ["frontline", "specialists", "management"], "team_tiers": TEAMS,
        "timezone": "UTC", "timestamp_format": "%H:%M",
    }
    values.update(overrides)
    return ReplayMapping.from_dict({k: v for k, v in values.items() if v is not None})


def replay(tmp_path: Path, text: str, *, header: list[str] = HEADER,
           **overrides: Any) -> tuple[ReplayResult, MemoryStore]:
    path = tmp_path / "log.csv"
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(line.split(",") for line in text.strip().splitlines())
    store = MemoryStore()
    result = replay_csv(path, mapping(**overrides), store)
    assert list(verify_store(store)) == []
    return result, store


def trail(store: MemoryStore, case_id: str) -> list[tuple[str, str | None, str, str]]:
    """(kind, actor, owner after, status after) of each event, times as HH:MM."""
    return [(e.kind.value, e.actor, e.owner_after.ref, e.status_after.value)
            for e in store.events(case_id)]
