"""Options and helpers every `escalate` command shares: --db, --policy, --json, clean errors."""

from __future__ import annotations

import contextlib
import json
import sys
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click
from click.core import ParameterSource

from .builtin import sqlite_path
from .clock import ManualClock
from .desk import Desk
from .errors import ConfigError, EscalateError, StorageError
from .model import Event, EventKind
from .plugins import make_plugin_manager, open_store
from .policy import Policy
from .stored_policy import load_stored_policy, policy_in
from .stores.base import Store

__all__ = [
    "EXIT_ANCHOR",
    "EXIT_CONFIG",
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_PROBLEMS",
    "EXIT_STORAGE",
    "EXIT_USAGE",
    "actor_label",
    "cell",
    "db_option",
    "emit",
    "fail",
    "json_option",
    "open_desk",
    "open_reader",
    "policy_option",
    "printable",
    "reports_errors",
    "table",
]

#: Exit codes: 0 success, 1 a refused action or failed check, 2 usage, 3 bad config, 4 storage.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
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
                           help="Print machine-readable JSON instead of text (errors too).")


def fail(message: str, kind: str, exit_code: int, as_json: bool) -> None:
    """Report an error as one line on stderr, or one JSON object on stdout, and exit."""
    if as_json:
        click.echo(json.dumps({"error": message, "kind": kind, "exit_code": exit_code},
                              ensure_ascii=False))
    else:
        click.echo(f"error: {printable(message)}", err=True)
    sys.exit(exit_code)


def _exit_code(exc: EscalateError) -> int:
    if isinstance(exc, ConfigError):
        return EXIT_CONFIG
    if isinstance(exc, StorageError):
        return EXIT_STORAGE
    return EXIT_ERROR


def reports_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn escalate's errors into one clear line (or JSON object) and a documented exit code."""
    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        as_json = bool(kwargs.get("as_json")) or kwargs.get("fmt") == "json"
        try:
            return func(*args, **kwargs)
        except EscalateError as exc:
            fail(str(exc), type(exc).__name__, _exit_code(exc), as_json)
        except click.UsageError as exc:
            if not as_json:
                raise
            fail(exc.format_message(), "UsageError", EXIT_USAGE, as_json)
        raise AssertionError("unreachable")  # pragma: no cover
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


def _policy_given() -> bool:
    """True when --policy (or ESCALATE_POLICY) was set rather than left at its default."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return True
    return ctx.get_parameter_source("policy_path") not in (ParameterSource.DEFAULT, None)


@contextlib.contextmanager
def open_reader(db: str, policy_path: str) -> Iterator[tuple[Store, Policy | None]]:
    """The store `db` for reading, and the policy when there is one.

    Read-only commands work without a policy file: the default `escalation.toml` is read when
    it exists; a policy file named with --policy or ESCALATE_POLICY must exist. Without a
    file, the policy kept in the store (by `escalate replay`) is used when there is one.
    """
    policy = None
    if _policy_given() or Path(policy_path).exists():
        policy = Policy.from_toml(policy_path)
    if db.startswith("sqlite:"):
        try:
            path = sqlite_path(db)
        except ValueError as exc:
            raise ConfigError("store", str(exc)) from None
        if path != ":memory:" and not Path(path).is_file():
            raise StorageError(f"no escalate database at {path!r}; check --db (or ESCALATE_DB), "
                               "or open a case first to create one")
    store = open_store(make_plugin_manager(), db)
    try:
        if policy is None:
            policy = load_stored_policy(store)  # kept there by `escalate replay`
        yield store, policy
    finally:
        store.close()


def emit(data: Any, as_json: bool, text: Callable[[], str]) -> None:
    """Print `data` as JSON, or the text `text()` renders."""
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        click.echo(text())


def cell(value: object) -> str:
    """One value as it appears in a text table or line (None as "-")."""
    return "-" if value is None else printable(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Rows under headers, each column as wide as its widest cell; the last is not padded."""
    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    lines = []
    for row in [list(headers), *cells]:
        padded = [v.ljust(w) for v, w in zip(row[:-1], widths, strict=False)]
        lines.append("  ".join([*padded, row[-1]]).rstrip())
    return "\n".join(lines)


def actor_label(event: Event) -> str:
    """Who did it: the actor; "escalate" for the library's own acts; "unknown" when not given."""
    if event.actor is not None:
        return event.actor
    return "unknown" if event.kind is EventKind.OPENED else "escalate"
