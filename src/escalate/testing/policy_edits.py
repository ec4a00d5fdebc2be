"""Edited versions of the timed policy, for proving that policy changes silence nothing.

`timed_policy_edits()` returns the timed policy and four edits of it: limits shortened, a
tier renamed, a tier removed and a tier added on top. The lifecycle machine switches
between them (with and without migration) and runs a second desk on the previous one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from ..policy import Policy
from .machine import TIMED_POLICY

__all__ = ["timed_policy_edits"]

_Tiers = list[dict[str, Any]]


def _shortened(data: dict[str, Any], tiers: _Tiers) -> None:
    tiers[0]["escalate_after"] = "2h"
    tiers[1]["escalate_after"] = "1h"
    tiers[2]["realert_every"] = "1h"
    data["sla"]["normal"]["first_response"] = "1h"
    data["sla"]["normal"]["warn_at"] = 0.5


def _renamed(data: dict[str, Any], tiers: _Tiers) -> None:
    tiers[1]["name"] = "experts"


def _removed(data: dict[str, Any], tiers: _Tiers) -> None:
    del tiers[1]


def _added(data: dict[str, Any], tiers: _Tiers) -> None:
    top = tiers[2]
    top.pop("realert_every")
    top.pop("last_resort")
    top["escalate_after"] = "3h"
    tiers.append({"name": "directors", "members": ["dee", "root"], "lead": "root",
                  "realert_every": "2h", "warn_at": 0.5})


def _edit(change: Callable[[dict[str, Any], _Tiers], None]) -> Policy:
    data = copy.deepcopy(TIMED_POLICY)
    change(data, data["ladders"]["support"]["tiers"])
    return Policy.from_dict(data)


def timed_policy_edits() -> list[Policy]:
    """The timed policy, then: limits shortened, a tier renamed, removed, added on top."""
    return [Policy.from_dict(TIMED_POLICY), *map(_edit, (_shortened, _renamed, _removed,
                                                         _added))]
