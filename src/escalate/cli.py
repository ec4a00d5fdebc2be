"""The `escalate` command line: demo, init, case actions, worker, verify and diagram."""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from . import __version__, lifecycle
from .cli_common import (
    EXIT_PROBLEMS,
    db_option,
    emit,
    json_option,
    open_desk,
    policy_option,
    printable,
    reports_errors,
)
from .cli_oncall import oncall
from .cli_replay import COMMANDS as REPLAY_COMMANDS
from .cli_report import rate, report, show_html
from .codec import case_to_dict, event_to_dict
from .demo import run_demo
from .model import Case, Queue

__all__ = ["main"]

DIAGRAM_START = "```mermaid\n"
DIAGRAM_END = "```\n"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="escalate")
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
def main(verbose: int) -> None:
    """Every customer problem has one owner, climbs tiers on time, and leaves a trail.

    Exit codes: 0 success; 1 a refused action or a failed check; 2 bad usage;
    3 a bad policy or setting; 4 a storage failure.
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command()
@click.option("--db-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="SQLite file to write (must not exist). Default: a new temporary file.")
@reports_errors
def demo(db_file: Path | None) -> None:
    """Run a simulated working week on a fresh SQLite file and tell its story.

    The report is also written as report.html beside the SQLite file.
    """
    if db_file is None:
        db_file = Path(tempfile.mkdtemp(prefix="escalate-demo-")) / "cases.db"
    elif db_file.exists():
        raise click.UsageError(f"{db_file} exists; the demo needs a fresh file")
    run_demo(f"sqlite:///{db_file.resolve()}", say=click.echo,
             html=db_file.parent / "report.html")


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path),
                default=Path("escalation.toml"))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, force: bool) -> None:
    """Write a commented example policy to PATH (default escalation.toml)."""
    if path.exists() and not force:
        raise click.UsageError(f"{path} exists; pass --force to overwrite it")
    from .demo import policy_text

    path.write_text(policy_text(), encoding="utf-8")
    click.echo(f"wrote {path}; edit it, then run `escalate open ...` or `escalate worker`")


def _case_text(case: Case) -> str:
    """One line per case; text from users is escaped so a terminal shows it as data."""
    return printable(f"{case.id}  {case.status.value:<8} {case.tier:<12} {case.owner!s:<20} "
                     f"{case.priority:<7} {case.channel:<6} {case.title}")


def _print_case(case: Case, as_json: bool) -> None:
    emit(case_to_dict(case), as_json, lambda: _case_text(case))


@main.command(name="open")
@db_option
@policy_option
@click.option("--title", required=True)
@click.option("--customer", required=True)
@click.option("--channel", default="web", show_default=True)
@click.option("--priority", default="normal", show_default=True)
@click.option("--category", default=None)
@click.option("--by", default=None, help="The agent opening the case (its first contact).")
@json_option
@reports_errors
def open_case(db: str, policy_path: str, title: str, customer: str, channel: str,
              priority: str, category: str | None, by: str | None, as_json: bool) -> None:
    """Open a case; it goes to the first tier's queue of its ladder."""
    with open_desk(db, policy_path) as desk:
        _print_case(desk.open(title=title, customer=customer, channel=channel,
                              priority=priority, category=category, by=by), as_json)


def _action_command(name: str, help_text: str, *options: Any) -> None:
    """Register `escalate NAME CASE_ID --by AGENT [options]` for one Desk action."""

    @click.argument("case_id")
    @click.option("--by", required=True, help="The acting agent.")
    @db_option
    @policy_option
    @json_option
    @reports_errors
    def command(case_id: str, by: str, db: str, policy_path: str, as_json: bool,
                **kwargs: Any) -> None:
        with open_desk(db, policy_path) as desk:
            method = getattr(desk, name)
            if name == "transfer" and kwargs.get("to", "").startswith("queue:"):
                kwargs["to"] = Queue(kwargs["to"][len("queue:"):])
            if name == "note":
                case = method(case_id, kwargs.pop("text"), by=by)
            else:
                case = method(case_id, by=by, **kwargs)
            _print_case(case, as_json)

    command.__doc__ = help_text
    for option in reversed(options):
        command = option(command)
    main.command(name=name, help=help_text)(command)


_action_command("claim", "Take a case from the queue.")
_action_command("respond", "Record a response to the customer.",
                click.option("--message", default=None))
_action_command("transfer", "Pass a case sideways with a handoff note (to AGENT or queue:TIER).",
                click.option("--to", required=True), click.option("--note", required=True))
_action_command("escalate", "Move a case up one tier.", click.option("--reason", default=None))
_action_command("assign", "As tier lead, give a case to an agent.",
                click.option("--to", required=True), click.option("--note", default=None))
_action_command("wait", "Put a case on hold, waiting on --on (the policy's pause_on decides "
                "which clocks pause).",
                click.option("--reason", default=None),
                click.option("--on", default="customer", show_default=True,
                             help="Whom the case waits on: customer, third_party or a word "
                                  "the policy lists under wait_on."))
_action_command("update", "Re-prioritise or re-classify a case; the SLA target is chosen again.",
                click.option("--reason", required=True),
                click.option("--priority", default=None), click.option("--title", default=None),
                click.option("--channel", default=None),
                click.option("--category", default=None))
_action_command("resume", "Take a case off hold.", click.option("--reason", default=None))
_action_command("resolve", "Record the resolution.", click.option("--resolution", required=True))
_action_command("reopen", "Reopen a resolved case.", click.option("--reason", default=None))
_action_command("close", "Close a resolved case for good.",
                click.option("--reason", default=None))
_action_command("note", "Add a note to the trail.", click.option("--text", required=True))


main.add_command(report)
main.add_command(rate)
for _command in REPLAY_COMMANDS:
    main.add_command(_command)


@main.command()
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
    """Show a case and its history (--format html: its timeline page)."""
    with open_desk(db, policy_path) as desk:
        case = desk.get(case_id)
        history = desk.history(case_id)
        if fmt == "html":
            show_html(case, history, desk, output)
            return
        as_json = as_json or fmt == "json"
        data = {"case": case_to_dict(case), "events": [event_to_dict(e) for e in history]}

        def text() -> str:
            lines = [_case_text(case), ""]
            for e in history:
                who = e.actor or "escalate"
                lines.append(printable(
                    f"  {e.seq:>3} {e.at:%Y-%m-%d %H:%M} {e.kind.value:<11} {who:<10}"
                    f" -> {e.owner_after} ({e.status_after.value})"
                    + (f": {e.reason}" if e.reason else "")))
            return "\n".join(lines)

        emit(data, as_json, text)


@main.command(name="list")
@db_option
@policy_option
@click.option("--status", multiple=True, help="Filter by status (repeatable).")
@click.option("--owner", default=None)
@click.option("--tier", default=None)
@click.option("--priority", default=None)
@click.option("--channel", default=None)
@click.option("--limit", type=click.IntRange(min=0), default=None)
@json_option
@reports_errors
def list_cases(db: str, policy_path: str, status: tuple[str, ...], owner: str | None,
               tier: str | None, priority: str | None, channel: str | None,
               limit: int | None, as_json: bool) -> None:
    """List cases, oldest first."""
    with open_desk(db, policy_path) as desk:
        cases = desk.cases(status=status or None, owner=owner, tier=tier, priority=priority,
                           channel=channel, limit=limit)
        emit([case_to_dict(c) for c in cases], as_json,
             lambda: "\n".join(_case_text(c) for c in cases) or "no cases")


@main.command()
@db_option
@policy_option
@click.option("--max-sleep", type=click.FloatRange(min=0.01), default=30.0, show_default=True,
              help="Longest sleep between rounds, in seconds.")
@click.option("--once", is_flag=True, help="Run one round (tick and dispatch) and exit.")
@reports_errors
def worker(db: str, policy_path: str, max_sleep: float, once: bool) -> None:
    """Fire due timers and deliver notifications until SIGINT/SIGTERM."""
    logging.getLogger("escalate").setLevel(min(logging.getLogger().level, logging.INFO))
    with open_desk(db, policy_path) as desk:
        desk.run_worker(max_sleep=max_sleep, iterations=1 if once else None)


@main.command()
@db_option
@policy_option
@json_option
@reports_errors
def verify(db: str, policy_path: str, as_json: bool) -> None:
    """Check every case: owned, events gap-free, replay equals state, no overdue timer."""
    with open_desk(db, policy_path) as desk:
        problems = desk.verify()
        total = len(desk.cases())
    emit({"cases": total, "problems": [str(p) for p in problems]}, as_json,
         lambda: "\n".join(printable(p) for p in problems) if problems
         else f"ok: {total} cases, all invariants hold")
    if problems:
        sys.exit(EXIT_PROBLEMS)


main.add_command(oncall)


@main.command()
@click.option("--write", "target", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Replace the mermaid block in this Markdown file.")
def diagram(target: Path | None) -> None:
    """Print the case lifecycle as a Mermaid state diagram."""
    text = lifecycle.mermaid()
    if target is None:
        click.echo(text, nl=False)
        return
    page = target.read_text(encoding="utf-8")
    start = page.index(DIAGRAM_START) + len(DIAGRAM_START)
    end = page.index(DIAGRAM_END, start)
    target.write_text(page[:start] + text + page[end:], encoding="utf-8")
    click.echo(f"updated the diagram in {target}")
