"""Options and helpers every `escalate` command shares: --db, --policy, --json, clean errors."""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from .clock import ManualClock
from .desk import Desk
from .errors import ConfigError, EscalateError, StorageError
from .policy import Policy
from .stored_policy import policy_in

__all__ = [
    "EXIT_ANCHOR",
    "EXIT_CONFIG",
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_PROBLEMS",
    "EXIT_STORAGE",
    "db_option",
    "emit",
    "json_option",
    "open_desk",
    "policy_option",
    "printable",
    "reports_errors",
]

#: Exit codes: 0 success, 1 a refused action or failed check, 2 usage, 3 bad config, 4 storage.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_PROBLEMS = 1
EXIT_CONFIG = 3
EXIT_STORAGE = 4
#: `escalate verify --expect DIGEST`: the store no longer holds what the digest anchored.
EXIT_ANCHOR = 5

P = ParamSpec("P")
R = TypeVar("R")

db_option = click.option(
    "--db", "db", envvar="ESCALATE_DB", default="sqlite:///cases.db", show_default=True,
    help="Store URL (sqlite:///path.db, memory://, postgresql://...). Env: ESCALATE_DB.")
policy_option = click.option(
    "--policy", "policy_path", envvar="ESCALATE_POLICY", default="escalation.toml",
    show_default=True, type=click.Path(dir_okay=False),
    help="Policy file (TOML). Env: ESCALATE_POLICY. `escalate init` writes one.")
json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print machine-readable JSON instead of text.")


def reports_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn escalate's errors into one clear line on stderr and a documented exit code."""
    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            click.echo(f"error: {printable(str(exc))}", err=True)
            sys.exit(EXIT_CONFIG)
        except StorageError as exc:
            click.echo(f"error: {printable(str(exc))}", err=True)
            sys.exit(EXIT_STORAGE)
        except EscalateError as exc:
            click.echo(f"error: {printable(str(exc))}", err=True)
            sys.exit(EXIT_ERROR)
    return wrapper


#: Bidirectional-text controls, which can make a terminal show text in another order.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                  "\u2066\u2067\u2068\u2069")


def printable(text: object) -> str:
    """`text` safe to print on a terminal in one piece: control characters (escape
    sequences, newlines, carriage returns, bells), bidirectional controls and lone
    surrogates are shown as Python escapes (\\x1b, \\n, \\u202e); the data is unchanged."""
    value = str(text)
    if value.isprintable():
        return value
    return "".join(_escaped(c) for c in value)


def _escaped(char: str) -> str:
    if char in _BIDI or unicodedata.category(char) in ("Cc", "Cs"):
        return repr(char)[1:-1]
    return char


def open_desk(db: str, policy_path: str, *, manual_clock: ManualClock | None = None) -> Desk:
    """A desk on the store `db` with the policy file at `policy_path`.

    Without that file, the policy kept in the store (by `escalate replay`) is used.
    """
    if not Path(policy_path).is_file():
        stored = policy_in(db)
        if stored is not None:
            return Desk(stored, store=db, clock=manual_clock)
    policy = Policy.from_toml(policy_path)
    return Desk(policy, store=db, clock=manual_clock)


def emit(data: Any, as_json: bool, text: Callable[[], str]) -> None:
    """Print `data` as JSON, or the text `text()` renders."""
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        click.echo(text())
