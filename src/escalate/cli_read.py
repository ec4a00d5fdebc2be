"""Read-only commands: `list` and `show`; they work without a policy file."""

from __future__ import annotations

from pathlib import Path

import click

from . import inputs, paging
from .cli_common import (
    actor_label,
    db_option,
    emit,
    json_option,
    open_desk,
    open_reader,
    policy_option,
    reports_errors,
    table,
)
from .cli_report import show_html
from .codec import case_to_dict, event_to_dict
from .errors import CaseNotFound, InvalidInput
from .model import Case
from .stores.base import CaseQuery

__all__ = ["CASE_HEADERS", "COMMANDS", "case_row"]

#: The columns of `escalate list` and the first line of `escalate show`.
CASE_HEADERS = ("ID", "STATUS", "TIER", "OWNER", "PRIORITY", "CHANNEL", "CUSTOMER", "TITLE")


def case_row(case: Case) -> tuple[object, ...]:
    """The cells of one case in a case table."""
    return (case.id, case.status.value, case.tier, case.owner, case.priority, case.channel,
            case.customer, case.title)


@click.command(name="list")
@db_option
@policy_option
@click.option("--status", multiple=True, help="Filter by status (repeatable).")
@click.option("--owner", default=None, help="agent NAME, or queue:TIER.")
@click.option("--tier", default=None)
@click.option("--priority", default=None)
@click.option("--channel", default=None)
@click.option("--customer", default=None)
@click.option("--after", default=None, help="Start after this case id (the last of a page).")
@click.option("--limit", type=click.IntRange(min=0), default=None, help="At most this many.")
@json_option
@reports_errors
def list_cases(db: str, policy_path: str, status: tuple[str, ...], owner: str | None,
               tier: str | None, priority: str | None, channel: str | None,
               customer: str | None, after: str | None, limit: int | None,
               as_json: bool) -> None:
    """List cases, oldest first, in aligned columns (page with --after and --limit)."""
    with open_reader(db, policy_path) as (store, _policy):
        if after is not None and (not inputs.filter_text(after, "--after")
                                  or store.get(after) is None):
            raise InvalidInput(f"--after {after!r} is not the id of a stored case; pass the "
                               "last id of the previous page")
        query = CaseQuery(status=inputs.statuses(status) if status else None,
                          owner=None if owner is None else inputs.owner_ref(owner),
                          tier=inputs.filter_text(tier, "tier"),
                          priority=inputs.filter_text(priority, "priority"),
                          channel=inputs.filter_text(channel, "channel"),
                          customer=inputs.filter_text(customer, "customer"),
                          after=after, limit=limit)
        cases = list(paging.pages(store, query))
    emit([case_to_dict(c) for c in cases], as_json,
         lambda: table(CASE_HEADERS, [case_row(c) for c in cases]) if cases else "no cases")


@click.command()
@click.argument("case_id")
@db_option
@policy_option
@json_option
@click.option("--format", "fmt", type=click.Choice(("text", "json", "html")), default=None,
              help="text (default), json (as --json) or html: the case's timeline page.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --format html: write the page to this file.")
@reports_errors
def show(case_id: str, db: str, policy_path: str, as_json: bool, fmt: str | None,
         output: Path | None) -> None:
    """Show a case and its history (--format html: its timeline page, needs the policy)."""
    if not inputs.encodable(case_id):
        raise CaseNotFound(case_id, "it contains invalid Unicode (a lone surrogate), so no "
                                    "case can have it")
    if fmt == "html":
        with open_desk(db, policy_path) as desk:
            show_html(desk.get(case_id), desk.history(case_id), desk, output)
        return
    with open_reader(db, policy_path) as (store, _policy):
        case = store.get(case_id)
        if case is None:
            raise CaseNotFound(case_id)
        history = store.events(case_id)
    data = {"case": case_to_dict(case), "events": [event_to_dict(e) for e in history]}

    def text() -> str:
        head = table(CASE_HEADERS, [case_row(case)])
        rows = [(e.seq, f"{e.at:%Y-%m-%d %H:%M}", e.kind.value, actor_label(e),
                 f"{e.owner_after} ({e.status_after.value})", e.reason or "")
                for e in history]
        trail = table(("SEQ", "AT (UTC)", "KIND", "BY", "OWNER AFTER", "REASON"), rows)
        return f"{head}\n\n{trail}"

    emit(data, as_json or fmt == "json", text)


COMMANDS = (list_cases, show)
