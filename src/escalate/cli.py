"""The `escalate` command line: demo, init, case actions, worker and diagram.

Reading commands live in cli_read, operator commands in cli_ops, `report` in cli_report and
the replay commands in cli_replay; all are registered on `main` here.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from . import __version__, lifecycle
from .cli_common import (
    EXIT_ANCHOR,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    db_option,
    emit,
    fail,
    json_option,
    open_desk,
    policy_option,
    printable,
    reports_errors,
    table,
)
from .cli_oncall import oncall
from .cli_ops import COMMANDS as OPS_COMMANDS
from .cli_read import CASE_HEADERS, case_row
from .cli_read import COMMANDS as READ_COMMANDS
from .cli_replay import COMMANDS as REPLAY_COMMANDS
from .cli_report import rate, report
from .codec import case_to_dict
from .demo import run_demo
from .desk import Desk
from .model import Case, Queue
from .verify import Problem

__all__ = ["main"]

DIAGRAM_START = "```mermaid\n"
DIAGRAM_END = "```\n"


class _Group(click.Group):
    """The `escalate` group: with --json anywhere, a usage error is a JSON object too."""

    def main(self, args: Sequence[str] | None = None, *rest: Any, **extra: Any) -> Any:
        """Run the command line; see click.Group.main."""
        argv = list(sys.argv[1:] if args is None else args)
        if "--json" not in argv or extra.get("standalone_mode") is False:
            return super().main(argv, *rest, **extra)
        try:
            return super().main(argv, *rest, **{**extra, "standalone_mode": False})
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            fail(exc.format_message(), "UsageError", EXIT_USAGE, True)
        except click.Abort:
            fail("aborted", "Abort", 1, True)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="escalate")
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
def main(verbose: int) -> None:
    """Every customer problem has one owner, climbs tiers on time, and leaves a trail.

    Exit codes: 0 success; 1 a refused action or a failed check; 2 bad usage;
    3 a bad policy or setting; 4 a storage failure; 5 the store does not match the
    digest given to `verify --expect`. With --json, an error is one JSON object on stdout:
    {"error": ..., "kind": ..., "exit_code": ...}.
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # the lifecycle library logs every state change at debug level; that is not ours to show
    logging.getLogger("transitions").setLevel(logging.WARNING)


@main.command()
@click.option("--db-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="SQLite file to write (must not exist). Default: a new temporary file.")
@json_option
@reports_errors
def demo(db_file: Path | None, as_json: bool) -> None:
    """Run a simulated working week on a fresh SQLite file and tell its story.

    With --db-file the report is also written as report.html beside the SQLite file; without,
    the file lives in a temporary folder that is removed afterwards.
    With --json, the story is left out and the week's outcome is printed as JSON.
    """
    say = (lambda _line: None) if as_json else click.echo
    if db_file is not None:
        if db_file.exists():
            raise click.UsageError(f"{db_file} exists; the demo needs a fresh file")
        _demo_outcome(run_demo(f"sqlite:///{db_file.resolve()}", say=say,
                               html=db_file.parent / "report.html"), as_json)
        return
    with tempfile.TemporaryDirectory(prefix="escalate-demo-") as folder:
        _demo_outcome(run_demo(f"sqlite:///{Path(folder) / 'cases.db'}", say=say), as_json)


def _demo_outcome(desk: Desk, as_json: bool) -> None:
    with desk:
        if as_json:
            emit({"cases": [case_to_dict(c) for c in desk.cases()],
                  "problems": [str(p) for p in desk.verify()]}, True, str)


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path),
                default=Path("escalation.toml"))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@json_option
@reports_errors
def init(path: Path, force: bool, as_json: bool) -> None:
    """Write a commented example policy to PATH (default escalation.toml)."""
    if path.exists() and not force:
        raise click.UsageError(f"{path} exists; pass --force to overwrite it")
    from .demo import policy_text

    path.write_text(policy_text(), encoding="utf-8")
    emit({"wrote": str(path)}, as_json,
         lambda: f"wrote {path}; edit it, then run `escalate open ...` or `escalate worker`")


def _print_case(case: Case, as_json: bool) -> None:
    emit(case_to_dict(case), as_json, lambda: table(CASE_HEADERS, [case_row(case)]))


def _fields(pairs: tuple[str, ...]) -> dict[str, Any]:
    """`--field k=v` pairs as custom fields; a value that reads as JSON is taken as JSON."""
    fields: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="'--field'")
        try:
            fields[key.strip()] = json.loads(value)
        except ValueError:
            fields[key.strip()] = value
    return fields


@main.command(name="open")
@db_option
@policy_option
@click.option("--title", required=True)
@click.option("--customer", required=True)
@click.option("--channel", default="web", show_default=True)
@click.option("--priority", default="normal", show_default=True)
@click.option("--category", default=None)
@click.option("--by", default=None, help="The agent opening the case (its first contact).")
@click.option("--field", "field_pairs", multiple=True, metavar="KEY=VALUE",
              help="A custom field (repeatable); VALUE is read as JSON when it is JSON.")
@click.option("--case-id", default=None, help="Choose the id (e.g. another system's ticket).")
@json_option
@reports_errors
def open_case(db: str, policy_path: str, title: str, customer: str, channel: str,
              priority: str, category: str | None, by: str | None,
              field_pairs: tuple[str, ...], case_id: str | None, as_json: bool) -> None:
    """Open a case; it goes to the first tier's queue of its ladder."""
    fields = _fields(field_pairs)
    with open_desk(db, policy_path) as desk:
        _print_case(desk.open(title=title, customer=customer, channel=channel,
                              priority=priority, category=category, by=by,
                              fields=fields or None, case_id=case_id), as_json)


def _action_command(name: str, help_text: str, *options: Any) -> None:
    """Register `escalate NAME CASE_ID --by AGENT [options]` for one Desk action."""

    @click.argument("case_id")
    @click.option("--by", required=True, help="The acting agent.")
    @click.option("--expected-version", type=int, default=None,
                  help="Refuse (ConflictError, exit 1) unless the case is at this version.")
    @db_option
    @policy_option
    @json_option
    @reports_errors
    def command(case_id: str, by: str, expected_version: int | None, db: str,
                policy_path: str, as_json: bool, **kwargs: Any) -> None:
        kwargs["expected_version"] = expected_version
        with open_desk(db, policy_path) as desk:
            method = getattr(desk, name)
            if name == "transfer" and kwargs.get("to", "").startswith("queue:"):
                kwargs["to"] = Queue(kwargs["to"][len("queue:"):])
            if name == "note":
                case = method(case_id, kwargs.pop("text"), by=by, **kwargs)
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
for _command in (*READ_COMMANDS, *OPS_COMMANDS, *REPLAY_COMMANDS):
    main.add_command(_command)


@main.command()
@db_option
@policy_option
@click.option("--max-sleep", type=click.FloatRange(min=0.01), default=30.0, show_default=True,
              help="Longest sleep between rounds, in seconds.")
@click.option("--once", is_flag=True, help="Run one round (tick and dispatch) and exit.")
@json_option
@reports_errors
def worker(db: str, policy_path: str, max_sleep: float, once: bool, as_json: bool) -> None:
    """Fire due timers and deliver notifications until SIGINT/SIGTERM."""
    logging.getLogger("escalate").setLevel(min(logging.getLogger().level, logging.INFO))
    with open_desk(db, policy_path) as desk:
        desk.run_worker(max_sleep=max_sleep, iterations=1 if once else None)


@main.command()
@db_option
@policy_option
@json_option
@click.option("--digest", "print_digest", is_flag=True,
              help="Print the store's digest (the head of every case's chain) and exit; keep "
                   "it elsewhere and pass it back with --expect.")
@click.option("--as-of", "as_of", default=None, metavar="ISO-TIME",
              help="With --digest: anchor events up to this aware ISO time (default: now).")
@click.option("--expect", default=None, metavar="DIGEST",
              help=f"Also check that the store still holds what DIGEST anchored; exit "
                   f"{EXIT_ANCHOR} if it does not.")
@reports_errors
def verify(db: str, policy_path: str, as_json: bool, print_digest: bool, as_of: str | None,
           expect: str | None) -> None:
    """Check every case and row: owned, sealed, replayable, timers, outbox, digest."""
    with open_desk(db, policy_path) as desk:
        if print_digest:
            value = desk.digest(_iso_time(as_of))
            emit({"digest": value}, as_json, lambda: value)
            return
        problems = desk.verify(expect=expect)
        total = sum(1 for _ in desk.store.case_ids())  # counts rows without decoding them
    report: dict[str, object] = {"cases": total, "problems": [str(p) for p in problems]}
    if expect is not None:
        report["anchor_ok"] = not _anchor_failed(problems)
    emit(report, as_json, lambda: "\n".join(printable(p) for p in problems) if problems
         else f"ok: {total} cases, all invariants hold")
    if _anchor_failed(problems):
        sys.exit(EXIT_ANCHOR)
    if problems:
        sys.exit(EXIT_PROBLEMS)


def _anchor_failed(problems: list[Problem]) -> bool:
    return any(p.kind == "anchor" for p in problems)


def _iso_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise click.UsageError(f"--as-of {text!r} is not an ISO time such as "
                               "2026-12-01T12:00:00+00:00") from None


main.add_command(oncall)


@main.command()
@click.option("--write", "target", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Replace the mermaid block in this Markdown file.")
@json_option
@reports_errors
def diagram(target: Path | None, as_json: bool) -> None:
    """Print the case lifecycle as a Mermaid state diagram."""
    text = lifecycle.mermaid()
    if target is None:
        if as_json:
            emit({"mermaid": text}, True, str)
        else:
            click.echo(text, nl=False)
        return
    page = target.read_text(encoding="utf-8")
    start = page.index(DIAGRAM_START) + len(DIAGRAM_START)
    end = page.index(DIAGRAM_END, start)
    target.write_text(page[:start] + text + page[end:], encoding="utf-8")
    click.echo(f"updated the diagram in {target}")
