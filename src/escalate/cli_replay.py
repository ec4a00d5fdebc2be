"""The `escalate replay` and `escalate simulate` commands: import a helpdesk log, ask what-if.

Register them on the main group with `main.add_command(...)` for each of `COMMANDS`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .builtin import sqlite_path
from .cli_common import EXIT_ERROR, db_option, emit, json_option, policy_option, reports_errors
from .desk import Desk
from .errors import ConfigError, StorageError
from .policy import Policy
from .replay import ReplayMapping, check_file, replay_csv, replay_policy
from .replay_mappings import MAPPINGS
from .simulate import simulate

__all__ = ["COMMANDS", "load_mapping", "replay_command", "simulate_command"]


def load_mapping(name: str) -> ReplayMapping:
    """A ready mapping by name (see `replay_mappings.MAPPINGS`), or one read from a TOML file."""
    if name in MAPPINGS:
        return MAPPINGS[name]
    if name.endswith(".toml") or Path(name).is_file():
        return ReplayMapping.from_toml(name)
    raise ConfigError("mapping", f"unknown mapping {name!r}; use one of "
                                 f"{', '.join(MAPPINGS)} or a FILE.toml")


@click.command(name="replay")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mapping", "mapping_name", required=True, metavar="NAME|FILE.toml",
              help=f"How the log's columns read: {', '.join(MAPPINGS)}, or a mapping file.")
@db_option
@json_option
@reports_errors
def replay_command(path: Path, mapping_name: str, db: str, as_json: bool) -> None:
    """Replay a helpdesk log (CSV) into the store as escalate cases and events.

    Rows that cannot be used (malformed, unknown status, refused by the lifecycle) do not
    stop the run: they are counted and listed with their line numbers.
    """
    mapping = load_mapping(mapping_name)
    check_file(path, mapping)  # a bad mapping fails here, before the store is opened
    bar = click.progressbar(length=path.stat().st_size, label=f"replaying {path.name}",
                            file=sys.stderr, show_pos=False)
    with Desk(replay_policy(mapping), store=db) as desk, bar:
        def progress(rows: int, done: int, total: int) -> None:
            bar.update(max(done - bar.pos, 0))

        result = replay_csv(path, mapping, desk.store, progress=progress)
    emit(result.to_dict(), as_json, result.summary)
    if result.mostly_unusable:
        click.echo(f"error: {result.malformed + result.unknown_statuses:,} of "
                   f"{result.rows:,} rows could not be read; check the mapping's columns, "
                   "time format and status_map", err=True)
        sys.exit(EXIT_ERROR)


@click.command(name="simulate")
@db_option
@policy_option
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the random choices (which member takes a case).")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Only the first N cases of the log.")
@json_option
@reports_errors
def simulate_command(db: str, policy_path: str, seed: int, limit: int | None,
                     as_json: bool) -> None:
    """Run the stored cases again under the candidate --policy and compare.

    Each case arrives, is first taken up and is resolved at the times its trail shows; the
    candidate's tier limits and SLA targets fire in between. Prints the candidate's
    escalations, warnings, breaches, notifications and top-tier arrivals beside the log's.
    """
    candidate = Policy.from_toml(policy_path)
    if db.startswith("sqlite:"):
        try:
            file = sqlite_path(db)
        except ValueError as exc:
            raise ConfigError("db", str(exc)) from None
        if file != ":memory:" and not Path(file).is_file():
            raise StorageError(f"no database at {file!r}; replay a log into it first with "
                               "`escalate replay LOG --mapping ... --db ...`")
    with Desk(candidate, store=db) as desk:
        result = simulate(desk.events(), candidate, seed=seed, limit=limit)
    if result.actual.cases == 0 and not result.skipped:
        click.echo(f"error: no cases in {db}; replay a log into it first with "
                   "`escalate replay`", err=True)
        sys.exit(EXIT_ERROR)
    emit(result.to_dict(), as_json, result.table)


#: The commands this module adds to `escalate`.
COMMANDS = (replay_command, simulate_command)
