"""Stored timers against the timers each case's clocks call for."""

from __future__ import annotations

from datetime import datetime

from .. import timing
from ..codec import format_time, parse_time
from ..model import Action, Case
from ..policy import Policy
from ..stores.base import RawRow
from .problem import Problem, same_value, shown

__all__ = ["check_timers", "overdue"]


def check_timers(case_id: str, case: Case | None, rows: list[RawRow],
                 policy: Policy | None) -> list[Problem]:
    """Missing, stray, moved or wrong-action timers of one case.

    Without a case row every stored timer is stray. Without a policy only the timers' own
    form is checked (what each case needs depends on the policy's tiers).
    """
    problems: list[Problem] = []
    stored: dict[str, RawRow] = {}
    for row in rows:
        clock = row.columns.get("clock")
        if not isinstance(clock, str) or clock in stored:
            problems.append(Problem(case_id, "stray-timer",
                                    f"a timer row names the clock {shown(clock)} "
                                    "(not one clock, once)"))
            continue
        stored[clock] = row
    if case is None:
        problems += [Problem(case_id, "stray-timer", f"a timer for clock {clock!r} is stored "
                                                     "but the case is not") for clock in stored]
        return problems
    if policy is None:
        return problems + _forms(case_id, stored)
    try:
        expected = {t.clock: t for t in timing.timers_for(policy, case)}
        known_tier = case.tier in {t.name for ladder in policy.ladders.values()
                                   for t in ladder.tiers}
    except Exception as exc:  # a damaged clock state must become a problem
        return [*problems, Problem(case_id, "damaged", f"the case's clocks cannot be read "
                                                       f"({exc}); its timers cannot be checked")]
    for clock in sorted(stored.keys() - expected.keys()):
        problems.append(Problem(case_id, "stray-timer", f"a timer for clock {clock!r} is stored "
                                                        "but no running clock calls for it"))
    for clock, timer in expected.items():
        found = stored.get(clock)
        if found is None:
            problems.append(Problem(case_id, "missing-timer", f"clock {clock!r} calls for a "
                                    f"timer ({timer.action.value}) due "
                                    f"{format_time(timer.due_at)} but none is stored: it would "
                                    "never fire"))
            continue
        if not same_value(found.columns.get("due_at"), timer.due_at):
            problems.append(Problem(case_id, "timer-due", f"the {clock!r} timer is due "
                                    f"{shown(found.columns.get('due_at'))} but the clock says "
                                    f"{format_time(timer.due_at)}"))
        action = found.columns.get("action")
        if known_tier and action != timer.action.value:
            problems.append(Problem(case_id, "timer-action", f"the {clock!r} timer would "
                                    f"{shown(action)} but the case calls for "
                                    f"{timer.action.value}"))
    return problems


def _forms(case_id: str, stored: dict[str, RawRow]) -> list[Problem]:
    problems = []
    for clock, row in stored.items():
        if _time(row.columns.get("due_at")) is None or row.columns.get("action") not in {
                action.value for action in Action}:
            problems.append(Problem(case_id, "timer-due", f"the {clock!r} timer row holds "
                                    f"{shown(dict(row.columns))}, not a due time and action"))
    return problems


def _time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return parse_time(value) if isinstance(value, str) else None
    except ValueError:
        return None


def overdue(case_id: str, rows: list[RawRow], limit: datetime) -> list[Problem]:
    """Timers still stored although they were due before `limit`."""
    problems = []
    for row in rows:
        due = _time(row.columns.get("due_at"))
        if due is not None and due < limit:
            problems.append(Problem(case_id, "overdue", f"timer {row.columns.get('clock')} "
                                    f"({row.columns.get('action')}) was due at "
                                    f"{due.isoformat()} and has not fired; is a worker running?"))
    return problems
