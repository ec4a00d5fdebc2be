"""Import a real helpdesk log: each CSV row becomes escalate events.

A `ReplayMapping` says which columns hold the case id, time, status, owner and team, and how
the source's conventions read (time format and zone, missing-value markers, system accounts,
status names, team tiers, snapshot columns). `replay_csv` streams the file, builds every
case with `escalate.fold.apply` and `escalate.lifecycle.next_status`, commits the events
through the store, and returns a `ReplayResult` with the figures and every row it could
not use, by line number.

Modules: `mapping` (the mapping), `mappings` (ready mappings for public logs), `reader`
(the file), `planner` (rows to events), `runner` (the replay) and `results` (what it reports).
"""

from __future__ import annotations

from .mapping import KEEP_PROBLEMS, REPLAY_ACTIONS, SNAPSHOT_KEYS, ReplayMapping
from .reader import check_file
from .results import ReplayResult, RowProblem, replay_policy
from .runner import Progress, replay_csv

__all__ = [
    "KEEP_PROBLEMS",
    "REPLAY_ACTIONS",
    "SNAPSHOT_KEYS",
    "Progress",
    "ReplayMapping",
    "ReplayResult",
    "RowProblem",
    "check_file",
    "replay_csv",
    "replay_policy",
]
