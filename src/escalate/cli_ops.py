"""Operator commands: `explain`, `outbox`, `retry`, `remove-agent` and `policy preview/migrate`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from . import inputs
from .cli_common import (
    db_option,
    emit,
    json_option,
    open_desk,
    open_reader,
    policy_option,
    reports_errors,
    table,
)
from .codec import clock_to_dict, event_to_dict, format_time, notification_to_dict
from .errors import InvalidInput
from .explain import ClockExplanation
from .migration import CasePlan
from .outbox import DEAD, DELIVERED, PENDING
from .policy import Policy

__all__ = ["COMMANDS"]


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M}"


def _explanation(item: ClockExplanation) -> dict[str, Any]:
    return {"clock": clock_to_dict(item.clock), "calendar": item.calendar,
            "timezone": item.timezone, "lines": item.lines()}


@click.command()
@click.argument("case_id")
@db_option
@policy_option
@json_option
@reports_errors
def explain(case_id: str, db: str, policy_path: str, as_json: bool) -> None:
    """How each due time of a case was computed: target, calendar, spells and pauses."""
    with open_desk(db, policy_path) as desk:
        items = desk.explain(case_id)
    emit({"case_id": case_id, "clocks": [_explanation(i) for i in items]}, as_json,
         lambda: "\n".join(line for i in items for line in i.lines())
         or f"case {case_id} has no clocks")


@click.command()
@db_option
@policy_option
@click.option("--status", type=click.Choice((PENDING, DELIVERED, DEAD)), default=None,
              help="Only rows with this status (dead: dead letters).")
@click.option("--case", "case_id", default=None, help="Only this case's rows.")
@click.option("--limit", type=click.IntRange(min=0), default=None)
@json_option
@reports_errors
def outbox(db: str, policy_path: str, status: str | None, case_id: str | None,
           limit: int | None, as_json: bool) -> None:
    """List outbox rows (notifications), oldest first; `--status dead` for dead letters."""
    case_id = inputs.filter_text(case_id, "--case")
    with open_reader(db, policy_path) as (store, _policy):
        rows = store.notifications(status=status, case_id=case_id, limit=limit)
    emit([notification_to_dict(n) for n in rows], as_json,
         lambda: table(("KEY", "STATUS", "ATTEMPTS", "NEXT ATTEMPT", "RECIPIENT", "SUBJECT",
                        "LAST ERROR"),
                       [(n.key, n.status, n.attempts, _when(n.next_attempt_at), n.recipient,
                         n.subject, n.last_error) for n in rows])
         if rows else "no notifications")


@click.command()
@click.argument("key")
@db_option
@policy_option
@json_option
@reports_errors
def retry(key: str, db: str, policy_path: str, as_json: bool) -> None:
    """Put a dead-lettered notification back in the queue, due now."""
    with open_desk(db, policy_path) as desk:
        row = desk.retry_notification(key)
    emit(notification_to_dict(row), as_json,
         lambda: f"{row.key}: pending again, due {format_time(row.next_attempt_at)}"
         if row.next_attempt_at else f"{row.key}: pending again")


@click.command(name="remove-agent")
@click.argument("name")
@click.option("--by", required=True,
              help="Who removes the agent: an administrator, or the lead of each case's tier.")
@click.option("--reason", default=None)
@db_option
@policy_option
@json_option
@reports_errors
def remove_agent(name: str, by: str, reason: str | None, db: str, policy_path: str,
                 as_json: bool) -> None:
    """Hand every unclosed case NAME owns back to its tier's queue (one event each)."""
    with open_desk(db, policy_path) as desk:
        events = desk.remove_agent(name, by=by, reason=reason)
    emit([event_to_dict(e) for e in events], as_json,
         lambda: "\n".join(f"{e.case_id}: returned to {e.owner_after}" for e in events)
         or f"{name} owned no unclosed case")


@click.group(name="policy")
def policy_group() -> None:
    """Preview or apply a new policy file to the open cases."""


map_option = click.option(
    "--map", "tier_maps", multiple=True, metavar="OLD=NEW",
    help="Move the cases of a tier the new policy renames or drops into one it has "
         "(repeatable).")


def _plan_data(plan: CasePlan) -> dict[str, Any]:
    return {"case_id": plan.case_id, "tier": plan.tier, "tier_exists": plan.tier_exists,
            "changes": plan.changes, "line": plan.line(),
            "old_due": {k: None if v is None else format_time(v) for k, v in plan.old_due.items()},
            "new_due": {k: None if v is None else format_time(v) for k, v in plan.new_due.items()}}


@policy_group.command(name="preview")
@click.argument("new_policy", type=click.Path(dir_okay=False))
@map_option
@db_option
@policy_option
@json_option
@reports_errors
def policy_preview(new_policy: str, tier_maps: tuple[str, ...], db: str, policy_path: str,
                   as_json: bool) -> None:
    """Show how each unclosed case's due times would move under NEW_POLICY (a dry run)."""
    new = Policy.from_toml(new_policy)
    with open_desk(db, policy_path) as desk:
        plans = desk.preview_policy(new, tier_map=_tier_map(tier_maps))
    moved = [p for p in plans if p.changes]
    emit([_plan_data(p) for p in plans], as_json,
         lambda: "\n".join([p.line() for p in moved]
                           + [f"{len(moved)} of {len(plans)} unclosed cases would change"]))


@policy_group.command(name="migrate")
@click.argument("new_policy", type=click.Path(dir_okay=False))
@map_option
@click.option("--by", default=None, help="Who changes the policy (recorded on the events).")
@click.option("--yes", is_flag=True, help="Do it; without --yes only the preview is shown.")
@db_option
@policy_option
@json_option
@reports_errors
def policy_migrate(new_policy: str, tier_maps: tuple[str, ...], by: str | None, yes: bool,
                   db: str, policy_path: str, as_json: bool) -> None:
    """Recompute unclosed cases' clocks under NEW_POLICY, one `noted` event per changed case.

    Afterwards point --policy / ESCALATE_POLICY (and the workers) at NEW_POLICY.
    """
    if not yes:
        raise InvalidInput("policy migrate changes stored cases; run `escalate policy preview "
                           f"{new_policy}` first, then repeat with --yes")
    new = Policy.from_toml(new_policy)
    with open_desk(db, policy_path) as desk:
        events = desk.change_policy(new, migrate=True, by=by, tier_map=_tier_map(tier_maps))
    emit([event_to_dict(e) for e in events], as_json,
         lambda: "\n".join([f"{e.case_id}: {e.reason}" for e in events]
                           + [f"migrated {len(events)} cases to policy {new.version}; now run "
                              f"the workers and commands with --policy {new_policy}"]))


def _tier_map(pairs: tuple[str, ...]) -> dict[str, str] | None:
    """`--map OLD=NEW` options as the tier_map of change_policy/preview_policy."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise InvalidInput(f"--map {pair!r} must be OLD=NEW, naming a tier of the current "
                               "policy and one of the new policy")
        mapping[old.strip()] = new.strip()
    return mapping or None


COMMANDS = (explain, outbox, retry, remove_agent, policy_group)
