"""The `escalate report` command: management figures from the event log as text, CSV or JSON.

Register it on the main group with `main.add_command(report)`.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import click

from .cli_common import (
    EXIT_ERROR,
    db_option,
    emit,
    json_option,
    open_desk,
    policy_option,
    reports_errors,
)
from .codec import case_to_dict
from .report import TRENDS, build_report

__all__ = ["WhenParam", "rate", "report"]


class _OneLineBadParameter(click.BadParameter):
    """A bad option value, shown as one line on stderr (exit code 2) like every other error."""

    def show(self, file: IO[Any] | None = None) -> None:
        """Print `error: <message>` and nothing else."""
        click.echo(f"error: {self.format_message()}", file=file, err=file is None)


class WhenParam(click.ParamType[datetime]):
    """An ISO date (midnight) or datetime; a time without a zone is taken as UTC."""

    name = "datetime"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> datetime:
        """Parse the option's text into an aware UTC datetime."""
        if isinstance(value, datetime):
            moment = value
        else:
            try:
                moment = datetime.fromisoformat(str(value).strip())
            except ValueError:
                raise _OneLineBadParameter(
                    f"{value!r} is not an ISO date or datetime; write e.g. 2026-11-23, "
                    "2026-11-23T09:00 (UTC) or 2026-11-23T09:00+02:00",
                    ctx=ctx, param=param) from None
        if moment.tzinfo is None or moment.utcoffset() is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)


@click.command(name="report")
@db_option
@policy_option
@click.option("--since", type=WhenParam(), default=None,
              help="Start of the window, inclusive (ISO date or datetime; UTC if no zone).")
@click.option("--until", type=WhenParam(), default=None,
              help="End of the window, exclusive (ISO date or datetime; UTC if no zone).")
@click.option("--trend", type=click.Choice(TRENDS), default="week", show_default=True,
              help="Period of the trend rows (weeks are ISO weeks, Monday first).")
@click.option("--format", "fmt", type=click.Choice(("table", "csv", "json")), default="table",
              show_default=True, help="Aligned text tables, CSV sections or one JSON document.")
@click.option("--chart", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also draw the trends to this PNG file (needs escalate[charts]).")
@reports_errors
def report(db: str, policy_path: str, since: datetime | None, until: datetime | None,
           trend: str, fmt: str, chart: Path | None) -> None:
    """Per-agent, per-tier, per-channel and per-priority figures, shuffling and trends."""
    if since is not None and until is not None and since >= until:
        raise _OneLineBadParameter(f"must be after --since ({since.isoformat()}), got "
                                   f"{until.isoformat()}", param_hint="'--until'")
    with open_desk(db, policy_path) as desk:
        result = build_report(desk.events(until=until), policy=desk.policy, since=since,
                              until=until, trend=trend)
    if chart is not None:
        from .chart import render_trends_png

        try:
            render_trends_png(result, chart)
        except OSError as exc:
            click.echo(f"error: cannot write the chart to {str(chart)!r}: "
                       f"{exc.strerror or exc}", err=True)
            sys.exit(EXIT_ERROR)
        click.echo(f"wrote the trend chart to {chart}", err=True)
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    elif fmt == "csv":
        click.echo(result.to_csv(), nl=False)
    else:
        click.echo(result.to_text(), nl=False)


@click.command(name="rate")
@click.argument("case_id")
@click.option("--score", required=True, help="The customer's satisfaction, 1 (bad) to 5 (good).")
@click.option("--comment", default=None, help="What the customer said.")
@click.option("--by", default=None,
              help="The agent relaying the rating; leave out when the customer rates.")
@db_option
@policy_option
@json_option
@reports_errors
def rate(case_id: str, score: str, comment: str | None, by: str | None, db: str,
         policy_path: str, as_json: bool) -> None:
    """Record the customer's rating of a resolved or closed case (the last rating counts)."""
    value: object = int(score) if score.strip().lstrip("-").isdigit() else score
    with open_desk(db, policy_path) as desk:
        case = desk.rate(case_id, score=value, comment=comment, by=by)  # type: ignore[arg-type]
    emit(case_to_dict(case), as_json,
         lambda: f"{case.id}  rated {value}/5" + (f": {comment}" if comment else ""))
