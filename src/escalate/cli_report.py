"""The `escalate report` and `escalate rate` commands: management figures from the event log
as text, CSV, JSON or an HTML page, and customer ratings.

Register them on the main group with `main.add_command(report)` and `main.add_command(rate)`.
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
    open_reader,
    policy_option,
    printable,
    reports_errors,
)
from .codec import case_to_dict
from .desk import Desk
from .model import Case, Event
from .reporting import TRENDS, Report, build_report

__all__ = ["WhenParam", "rate", "report", "show_html"]


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
@click.option("--format", "fmt", type=click.Choice(("table", "csv", "json", "html")),
              default="table", show_default=True,
              help="Aligned text tables, CSV sections, one JSON document or one HTML page.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report to this file instead of standard output.")
@click.option("--case-pages", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="With --format html: write the timeline page of every breached case "
                   "into this folder and link the report to them.")
@click.option("--chart", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also draw the trends to this PNG file (needs escalate[charts]).")
@json_option
@reports_errors
def report(db: str, policy_path: str, since: datetime | None, until: datetime | None,
           trend: str, fmt: str, output: Path | None, case_pages: Path | None,
           chart: Path | None, as_json: bool) -> None:
    """Per-agent, per-tier, per-channel and per-priority figures, shuffling and trends.

    `--json` is the same as `--format json`. Without a policy file (and without
    --case-pages), durations are wall-clock time and moves are classified by event kind.
    """
    fmt = "json" if as_json else fmt
    if case_pages is not None and fmt != "html":
        raise _OneLineBadParameter("only goes with --format html", param_hint="'--case-pages'")
    if since is not None and until is not None and since >= until:
        raise _OneLineBadParameter(f"must be after --since ({since.isoformat()}), got "
                                   f"{until.isoformat()}", param_hint="'--until'")
    links = None
    if case_pages is not None:  # the timeline pages need the policy's calendars
        with open_desk(db, policy_path) as desk:
            result = build_report(desk.events(until=until), policy=desk.policy, since=since,
                                  until=until, trend=trend)
            base = output.parent if output is not None else Path.cwd()
            links = _write_case_pages(desk, result, case_pages, base)
    else:
        with open_reader(db, policy_path) as (store, policy):
            result = build_report(store.all_events(None, until), policy=policy, since=since,
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
        text = json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n"
    elif fmt == "csv":
        text = result.to_csv()
    elif fmt == "html":
        text = result.to_html(case_links=links)
    else:
        text = result.to_text()
    if output is None:
        click.echo(text, nl=False)
        return
    _write(output, text)
    click.echo(f"wrote the {fmt} report to {output}", err=True)


def _write(path: Path, text: str) -> None:
    """Write `text` to `path`, or exit with one line saying why it could not be written."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        click.echo(f"error: cannot write {str(path)!r}: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_ERROR)


def _write_case_pages(desk: Desk, result: Report, folder: Path, base: Path) -> str:
    """Write one timeline page per breached case; return the report's link format."""
    from .reporting.timeline import write_case_pages

    try:
        write_case_pages(desk, (b.case_id for b in result.breaches), folder)
    except OSError as exc:
        click.echo(f"error: cannot write the case pages into {str(folder)!r}: "
                   f"{exc.strerror or exc}", err=True)
        sys.exit(EXIT_ERROR)
    try:
        prefix = folder.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        prefix = folder.resolve().as_uri()
    return prefix + "/{file}.html"


def show_html(case: Case, history: list[Event], desk: Desk, output: Path | None) -> None:
    """Print or write the timeline page of `case` (`escalate show CASE --format html`)."""
    from .reporting.timeline import render_case_html

    page = render_case_html(case, history, desk.policy, desk.clock.now())
    if output is None:
        click.echo(page, nl=False)
        return
    _write(output, page)
    click.echo(f"wrote the timeline of {case.id} to {output}", err=True)


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
         lambda: printable(f"{case.id}  rated {value}/5" + (f": {comment}" if comment else "")))
